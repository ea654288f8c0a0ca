/* vmlaunch reads CPUs only: hwloc must not dlopen its I/O and libxml plugins (a third
 * of vmlaunch's start), and must not leave its environment variable for QEMU or hooks.
 * A process of its own, since hwloc loads plugins once per process. */
#include <glob.h>
#include <unistd.h>

#include "topology_testlib.h"

/* Loads a topology with HWLOC_PLUGINS_VERBOSE=1 and returns what hwloc said about its
 * plugins on stderr (malloc'd). */
static char *load_and_capture_hwloc_messages(enum topology_origin origin, const char *arg)
{
        FILE *capture = tmpfile();
        assert_non_null(capture);
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
        setenv("HWLOC_PLUGINS_VERBOSE", "1", 1);
        struct topology *t = NULL;
        struct vl_error err = {0};
        int r = topology_load(origin, arg, &t, &err);
        unsetenv("HWLOC_PLUGINS_VERBOSE");
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        assert_int_equal(r, 0);
        assert_true(t->n_cpus > 0);
        topology_free(t);
        char *text = calloc(1, 65536);
        assert_non_null(text);
        rewind(capture);
        size_t n = fread(text, 1, 65535, capture);
        text[n] = '\0';
        fclose(capture);
        return text;
}

static void test_loading_topologies_loads_no_hwloc_plugin(void **state)
{
        (void)state;
        glob_t g;
        if (glob("/usr/lib/*/hwloc/hwloc_*.so", 0, NULL, &g) != 0) {
                print_message(
                        "skipped: hwloc's plugins (libhwloc-plugins) are not installed, so there is nothing to keep out\n");
                skip();
        }
        globfree(&g);
        unsetenv("HWLOC_PLUGINS_PATH");
        char *said = load_and_capture_hwloc_messages(TOPOLOGY_HOST, NULL);
        fprintf(stderr, "hwloc said:\n%s", said);
        assert_null(strstr(said, "Plugin descriptor"));
        assert_null(getenv("HWLOC_PLUGINS_PATH"));
        free(said);
        /* lstopo's XML is read by hwloc's built-in parser */
        struct topology *t = load_fixture("Intel-Skylake-2xXeon6140.xml");
        assert_int_equal(t->n_cpus, 72);
        topology_free(t);
}

static void test_a_plugin_path_the_user_set_is_kept(void **state)
{
        (void)state;
        setenv("HWLOC_PLUGINS_PATH", "/nonexistent/hwloc-plugins", 1);
        struct topology *t = load_synthetic(RYZEN_1600);
        topology_free(t);
        assert_string_equal(getenv("HWLOC_PLUGINS_PATH"), "/nonexistent/hwloc-plugins");
        unsetenv("HWLOC_PLUGINS_PATH");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_loading_topologies_loads_no_hwloc_plugin),
                cmocka_unit_test(test_a_plugin_path_the_user_set_is_kept),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
