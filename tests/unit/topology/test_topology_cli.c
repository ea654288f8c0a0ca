/* `vmlaunch topology` run as a program: JSON and INI suggestions, bad arguments. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "topology_testlib.h"

extern char **environ;

struct run_result {
        int exit_code;
        char out[65536];
};

/* Runs $VMLAUNCH with argv, collects stdout; stderr goes to the test log. */
static void run_vmlaunch(struct run_result *res, const char *const *args)
{
        const char *exe = getenv("VMLAUNCH");
        if (!exe)
                skip();
        char *argv[32] = {(char *)exe};
        size_t n = 1;
        for (; args[n - 1] && n < 31; n++)
                argv[n] = (char *)args[n - 1];
        argv[n] = NULL;

        int pipefd[2];
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        pid_t pid;
        assert_int_equal(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        size_t used = 0;
        ssize_t r;
        while ((r = read(pipefd[0], res->out + used, sizeof(res->out) - 1 - used)) > 0)
                used += r;
        res->out[used] = '\0';
        close(pipefd[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        res->exit_code = WEXITSTATUS(status);
}

static void fixture_path(char *buf, size_t len, const char *name)
{
        const char *root = getenv("SOURCE_ROOT");
        snprintf(buf, len, "%s/tests/fixtures/hwloc/%s", root ? root : ".", name);
}

static void test_suggest_json_for_an_xml_machine_has_every_field(void **state)
{
        (void)state;
        char path[4096];
        fixture_path(path, sizeof(path), "Intel-Skylake-2xXeon6140.xml");
        struct run_result *res = calloc(1, sizeof(*res));
        assert_non_null(res);
        run_vmlaunch(res, (const char *[]){"topology", "--topology", path, "--suggest", "8",
                                           "--json", NULL});
        assert_int_equal(res->exit_code, 0);
        json_object *root = json_tokener_parse(res->out);
        if (!root)
                fail_msg("not JSON: %s", res->out);

        json_object *vcpus, *emulator, *iothreads, *topo, *reasons, *v;
        assert_true(json_object_object_get_ex(root, "vcpus", &vcpus));
        assert_true(json_object_object_get_ex(root, "emulator", &emulator));
        assert_true(json_object_object_get_ex(root, "iothreads", &iothreads));
        assert_true(json_object_object_get_ex(root, "topology", &topo));
        assert_true(json_object_object_get_ex(root, "reasons", &reasons));
        assert_int_equal(json_object_array_length(vcpus), 8);
        /* Guest core k = host siblings: CPU n and n+36 on this machine. */
        for (size_t i = 0; i < 8; i += 2)
                assert_int_equal(json_object_get_int(json_object_array_get_idx(vcpus, i)) + 36,
                                 json_object_get_int(json_object_array_get_idx(vcpus, i + 1)));
        assert_true(json_object_array_length(emulator) > 0);
        for (size_t e = 0; e < json_object_array_length(emulator); e++)
                for (size_t i = 0; i < 8; i++)
                        assert_int_not_equal(
                                json_object_get_int(json_object_array_get_idx(emulator, e)),
                                json_object_get_int(json_object_array_get_idx(vcpus, i)));
        assert_int_equal(json_object_array_length(iothreads), 1);
        assert_true(json_object_is_type(json_object_array_get_idx(iothreads, 0), json_type_array));
        assert_true(json_object_object_get_ex(topo, "sockets", &v));
        assert_int_equal(json_object_get_int(v), 1);
        assert_true(json_object_object_get_ex(topo, "dies", &v));
        assert_int_equal(json_object_get_int(v), 1);
        assert_true(json_object_object_get_ex(topo, "cores", &v));
        assert_int_equal(json_object_get_int(v), 4);
        assert_true(json_object_object_get_ex(topo, "threads", &v));
        assert_int_equal(json_object_get_int(v), 2);
        assert_true(json_object_array_length(reasons) >= 3);
        json_object_put(root);
        free(res);
}

static void test_suggest_ini_for_the_guides_ryzen_is_ready_to_paste(void **state)
{
        (void)state;
        struct run_result *res = calloc(1, sizeof(*res));
        assert_non_null(res);
        run_vmlaunch(res, (const char *[]){"topology", "--topology", RYZEN_1600, "--suggest", "8",
                                           NULL});
        assert_int_equal(res->exit_code, 0);
        assert_non_null(strstr(res->out, "\n[cpu]\n"));
        assert_non_null(strstr(res->out, "\nthreads = 2\n"));
        assert_non_null(strstr(res->out, "\nvcpu_pin = 4-11\n"));
        assert_non_null(strstr(res->out, "\nemulator_pin = 2\n"));
        assert_non_null(strstr(res->out, "\n[iothreads]\n"));
        assert_non_null(strstr(res->out, "\nio1 = 3\n"));
        free(res);
}

static void test_describe_an_xml_machine(void **state)
{
        (void)state;
        char path[4096];
        fixture_path(path, sizeof(path), "AMD-19h-Zen3-2xEpyc-7763.xml");
        struct run_result *res = calloc(1, sizeof(*res));
        assert_non_null(res);
        run_vmlaunch(res, (const char *[]){"topology", "--topology", path, NULL});
        assert_int_equal(res->exit_code, 0);
        assert_non_null(strstr(res->out, "2 packages, 2 NUMA nodes, 16 L3 domains, 128 cores"));
        assert_non_null(strstr(res->out, "package 1:"));
        free(res);
}

static void test_bad_arguments_exit_with_usage(void **state)
{
        (void)state;
        struct run_result *res = calloc(1, sizeof(*res));
        assert_non_null(res);
        run_vmlaunch(res, (const char *[]){"topology", "--topology", RYZEN_1600, "--suggest", "13",
                                           NULL});
        assert_int_equal(res->exit_code, 2);
        run_vmlaunch(res, (const char *[]){"topology", "--suggest", "zero", NULL});
        assert_int_equal(res->exit_code, 2);
        run_vmlaunch(res, (const char *[]){"topology", "--topology", "/nonexistent.xml", NULL});
        assert_int_equal(res->exit_code, 2);
        run_vmlaunch(res, (const char *[]){"topology", "--json", NULL});
        assert_int_equal(res->exit_code, 2);
        free(res);
}

/* Writes a definition into a fresh temporary folder; returns its path. */
static void write_definition(char *path, size_t len, const char *text)
{
        char dir[] = "/tmp/vl-topology-XXXXXX";
        assert_non_null(mkdtemp(dir));
        snprintf(path, len, "%s/guide.ini", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void remove_definition(const char *path)
{
        unlink(path);
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        rmdir(dir);
}

/* Writes a definition, runs `vmlaunch topology --topology RYZEN_1600 --check` on it
 * (with --json when asked), removes it; path keeps where it was. */
static void check_on_ryzen(struct run_result *res, const char *ini, bool json, char *path,
                           size_t len)
{
        write_definition(path, len, ini);
        run_vmlaunch(res, (const char *[]){"topology", "--topology", RYZEN_1600, "--check", path,
                                           "--allow-unsafe-owner", json ? "--json" : NULL, NULL});
        remove_definition(path);
}

#define GUIDE_PINNING                                                                              \
        "[cpu]\nsockets = 1\ncores = 4\nthreads = 2\nvcpu_pin = 0-7\nemulator_pin = 0,3\n"
#define MISSING_CPUS "[cpu]\nsockets = 1\ncores = 4\nthreads = 2\nvcpu_pin = 4-10,14\n"

static void test_check_reports_warnings_and_fails_on_missing_cpus(void **state)
{
        (void)state;
        char path[4096];
        struct run_result *res = calloc(1, sizeof(*res));
        assert_non_null(res);
        /* The guide's pinning: warnings only, exit 0. */
        check_on_ryzen(res, GUIDE_PINNING, false, path, sizeof(path));
        assert_int_equal(res->exit_code, 0);
        /* A CPU the machine does not have: exit 4, the host cannot run it. */
        check_on_ryzen(res, MISSING_CPUS, false, path, sizeof(path));
        assert_int_equal(res->exit_code, 4);
        /* vcpu_pin = auto is filled in and explained. */
        check_on_ryzen(res, "[cpu]\nsockets = 1\ncores = 4\nthreads = 2\nvcpu_pin = auto\n", false,
                       path, sizeof(path));
        assert_int_equal(res->exit_code, 0);
        assert_non_null(strstr(res->out, "vcpu_pin = auto: vcpu_pin: 8 vCPUs on 4 whole cores"));
        free(res);
}

/* The finding of section/key in a --check --json report, or NULL. */
static json_object *finding_of(json_object *findings, const char *key)
{
        for (size_t i = 0; i < json_object_array_length(findings); i++) {
                json_object *f = json_object_array_get_idx(findings, i), *k;
                if (json_object_object_get_ex(f, "key", &k) &&
                    !strcmp(json_object_get_string(k), key))
                        return f;
        }
        return NULL;
}

static const char *field_string(json_object *o, const char *name)
{
        json_object *v;
        return json_object_object_get_ex(o, name, &v) ? json_object_get_string(v) : NULL;
}

static void test_check_json_gives_each_finding_with_its_line(void **state)
{
        (void)state;
        char path[4096];
        struct run_result *res = calloc(1, sizeof(*res));
        assert_non_null(res);
        check_on_ryzen(res, GUIDE_PINNING, true, path, sizeof(path));
        assert_int_equal(res->exit_code, 0);
        json_object *root = json_tokener_parse(res->out), *v, *findings;
        assert_non_null(root);
        assert_string_equal(field_string(root, "definition"), path);
        assert_true(json_object_object_get_ex(root, "fits", &v) && json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(root, "vcpus", &v));
        assert_int_equal(json_object_array_length(v), 8);
        assert_true(json_object_object_get_ex(root, "findings", &findings));
        json_object *emulator = finding_of(findings, "emulator_pin");
        assert_non_null(emulator);
        assert_string_equal(field_string(emulator, "severity"), "warning");
        assert_string_equal(field_string(emulator, "section"), "cpu");
        assert_true(json_object_object_get_ex(emulator, "line", &v));
        assert_int_equal(json_object_get_int(v), 6);
        assert_non_null(strstr(field_string(emulator, "message"), "shares CPUs 0,3 with vCPUs"));
        json_object_put(root);

        /* CPUs 12 and 14 do not exist on a 12-thread Ryzen: it does not fit, exit 4 */
        check_on_ryzen(res, MISSING_CPUS, true, path, sizeof(path));
        assert_int_equal(res->exit_code, 4);
        root = json_tokener_parse(res->out);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "fits", &v) && !json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(root, "findings", &findings));
        json_object *pin = finding_of(findings, "vcpu_pin");
        assert_non_null(pin);
        assert_string_equal(field_string(pin, "severity"), "error");
        json_object_put(root);
        free(res);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_suggest_json_for_an_xml_machine_has_every_field),
                cmocka_unit_test(test_suggest_ini_for_the_guides_ryzen_is_ready_to_paste),
                cmocka_unit_test(test_describe_an_xml_machine),
                cmocka_unit_test(test_bad_arguments_exit_with_usage),
                cmocka_unit_test(test_check_reports_warnings_and_fails_on_missing_cpus),
                cmocka_unit_test(test_check_json_gives_each_finding_with_its_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
