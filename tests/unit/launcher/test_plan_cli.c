/* `vmlaunch plan` as a user runs it: the binary from $VMLAUNCH on a private copy
 * of an example (ours, mode 0644: the checkout's owner is anybody). Tests run as
 * root, where --allow-unsafe-owner is ignored; unprivileged, it accepts the copy. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

extern char **environ;

struct run_result {
        int exit_code;
        char *out; /* stdout, NUL-terminated */
        size_t len;
};

static char tmp_dir[] = "/tmp/vmlaunch-plan-test.XXXXXX";

/* Runs argv (NULL-terminated; argv[0] looked up in $PATH), stdout captured, stderr
 * passed through. */
static struct run_result run_program(const char *const *argv)
{
        int pipe_fds[2];
        assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
        pid_t pid;
        assert_int_equal(posix_spawnp(&pid, argv[0], &actions, NULL, (char *const *)argv, environ),
                         0);
        posix_spawn_file_actions_destroy(&actions);
        close(pipe_fds[1]);

        struct run_result res = {0};
        size_t cap = 0;
        for (;;) {
                if (res.len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 16384;
                        res.out = realloc(res.out, cap);
                        assert_non_null(res.out);
                }
                ssize_t got = read(pipe_fds[0], res.out + res.len, cap - res.len - 1);
                if (got < 0 && errno == EINTR)
                        continue;
                assert_true(got >= 0);
                if (got == 0)
                        break;
                res.len += (size_t)got;
        }
        res.out[res.len] = '\0';
        close(pipe_fds[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        res.exit_code = WEXITSTATUS(status);
        return res;
}

/* Runs $VMLAUNCH with args (NULL-terminated). */
static struct run_result run_vmlaunch(const char *const *args)
{
        const char *exe = getenv("VMLAUNCH");
        assert_non_null(exe);
        const char *argv[16] = {exe};
        size_t n = 1;
        for (; args[n - 1]; n++)
                argv[n] = args[n - 1];
        argv[n] = NULL;
        return run_program(argv);
}

/* Copies SOURCE_ROOT/relative to the temp dir as a 0644 file owned by us. */
static char *private_copy(const char *relative, const char *name)
{
        const char *root = getenv("SOURCE_ROOT");
        char src[4096], *dst = NULL;
        snprintf(src, sizeof(src), "%s/%s", root ? root : ".", relative);
        assert_true(asprintf(&dst, "%s/%s", tmp_dir, name) > 0);
        FILE *in = fopen(src, "re"), *out = fopen(dst, "we");
        assert_non_null(in);
        assert_non_null(out);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
                assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
        assert_int_equal(fclose(out), 0);
        assert_int_equal(chmod(dst, 0644), 0);
        return dst;
}

static int setup(void **state)
{
        (void)state;
        if (!getenv("VMLAUNCH")) {
                printf("skipped: VMLAUNCH is not set (run through meson test)\n");
                exit(77);
        }
        if (!mkdtemp(tmp_dir))
                return -1;
        char run[4096];
        snprintf(run, sizeof(run), "%s/run", tmp_dir);
        setenv("VMLAUNCH_RUNTIME_DIR", run, 1);
        setenv("VMLAUNCH_CONFIG_DIR", tmp_dir, 1);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        const char *files[] = {"win10.ini", "demo.ini", "broken.ini",
                               "auto.ini",  "odd.ini",  "tpm.ini"};
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", tmp_dir, files[i]);
                unlink(path);
        }
        rmdir(tmp_dir);
        return 0;
}

static struct json_object *field(struct json_object *obj, const char *key, json_type type)
{
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(obj, key, &v))
                fail_msg("no \"%s\" in the plan", key);
        assert_int_equal(json_object_get_type(v), type);
        return v;
}

static void test_plan_json_of_win10_has_name_definition_qemu_steps_and_warnings(void **state)
{
        (void)state;
        char *path = private_copy("examples/win10.ini", "win10.ini");
        const char *args[] = {"plan", "--json", "--allow-unsafe-owner", path, NULL};
        struct run_result res = run_vmlaunch(args);
        assert_int_equal(res.exit_code, 0);

        struct json_object *plan = json_tokener_parse(res.out);
        if (!plan)
                fail_msg("not JSON:\n%s", res.out);
        assert_string_equal(json_object_get_string(field(plan, "name", json_type_string)), "win10");
        assert_string_equal(json_object_get_string(field(plan, "definition", json_type_string)),
                            path);
        struct json_object *qemu = field(plan, "qemu", json_type_object);
        const char *binary = json_object_get_string(field(qemu, "binary", json_type_string));
        struct json_object *argv = field(qemu, "argv", json_type_array);
        assert_true(json_object_array_length(argv) > 40);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(argv, 0)), binary);
        bool paused = false, vfio = false;
        for (size_t i = 0; i < json_object_array_length(argv); i++) {
                const char *a = json_object_get_string(json_object_array_get_idx(argv, i));
                paused |= !strcmp(a, "-S");
                vfio |= !strncmp(a, "vfio-pci,host=0000:06:00.0", 26);
        }
        assert_true(paused);
        assert_true(vfio);
        /* each host step as {"step", "description"} (which ones depends on the host) */
        struct json_object *steps = field(plan, "steps", json_type_array);
        for (size_t i = 0; i < json_object_array_length(steps); i++) {
                struct json_object *step = json_object_array_get_idx(steps, i);
                assert_int_equal(json_object_get_type(step), json_type_object);
                field(step, "step", json_type_string);
                field(step, "description", json_type_string);
        }
        /* every step by name, in the order run takes them (hostprep/steps.c) */
        struct json_object *order = field(plan, "step_order", json_type_array);
        const char *expected[] = {"checks",  "hugepages",    "governor",    "isolation",
                                  "units",   "vtconsoles",   "framebuffer", "modules",
                                  "vfio",    "reset_method", "gpu_health",  "hooks",
                                  "handover"};
        assert_int_equal(json_object_array_length(order), sizeof(expected) / sizeof(expected[0]));
        for (size_t i = 0; i < json_object_array_length(order); i++)
                assert_string_equal(json_object_get_string(json_object_array_get_idx(order, i)),
                                    expected[i]);
        /* the guide's disk image is not on this machine: a warning, not an error */
        struct json_object *warnings = field(plan, "warnings", json_type_array);
        bool disk_warned = false;
        for (size_t i = 0; i < json_object_array_length(warnings); i++)
                disk_warned |=
                        strstr(json_object_get_string(json_object_array_get_idx(warnings, i)),
                               "win10.qcow2") != NULL;
        assert_true(disk_warned);
        json_object_put(plan);
        free(res.out);
        free(path);
}

static char *write_definition(const char *name, const char *text);

/* The QEMU command line of the text plan: what follows its heading. */
static const char *command_block(const char *plan_text)
{
        const char *heading = "\nQEMU command line:\n";
        const char *block = strstr(plan_text, heading);
        if (!block)
                fail_msg("no QEMU command line in:\n%s", plan_text);
        return block + strlen(heading);
}

static void test_plan_text_shows_one_option_and_its_value_per_line(void **state)
{
        (void)state;
        char *path = private_copy("examples/demo.ini", "demo.ini");
        const char *args[] = {"plan", "--allow-unsafe-owner", path, NULL};
        struct run_result res = run_vmlaunch(args);
        assert_int_equal(res.exit_code, 0);
        assert_non_null(strstr(res.out, "VM demo ("));
        assert_non_null(strstr(res.out, "\nHost steps:\n"));
        /* every line but the last ends in " \", the last is the last option */
        const char *line = command_block(res.out);
        size_t lines = 0;
        for (const char *nl; (nl = strchr(line, '\n')); line = nl + 1, lines++) {
                bool last = nl[1] == '\0';
                bool continued = nl - line >= 2 && !strncmp(nl - 2, " \\", 2);
                assert_true(last != continued);
        }
        assert_true(lines > 15);
        assert_non_null(strstr(res.out, "\nqemu-system-x86_64 \\\n    -name guest=demo,"));
        assert_non_null(strstr(res.out, "\n    -S \\\n"));
        assert_non_null(strstr(res.out, "\n    -cpu max \\\n"));
        assert_non_null(strstr(res.out, "\n    -m 512M \\\n"));
        assert_non_null(strstr(res.out, "\n    -nodefaults \\\n"));
        assert_non_null(strstr(res.out, "\n    -serial chardev:serial0\n"));
        free(res.out);
        free(path);
}

/* Pastes the text plan's command line into bash, with printf in front of it, and
 * checks the words bash gets are exactly the argv of `plan --json`. */
static void expect_pasted_command_line_is_the_json_argv(const char *path)
{
        const char *text_args[] = {"plan", "--allow-unsafe-owner", path, NULL};
        struct run_result text = run_vmlaunch(text_args);
        assert_int_equal(text.exit_code, 0);
        const char *json_args[] = {"plan", "--json", "--allow-unsafe-owner", path, NULL};
        struct run_result json = run_vmlaunch(json_args);
        assert_int_equal(json.exit_code, 0);

        char *script = NULL;
        assert_true(asprintf(&script, "printf '%%s\\0' %s", command_block(text.out)) > 0);
        const char *bash[] = {"bash", "-c", script, NULL};
        struct run_result words = run_program(bash);
        assert_int_equal(words.exit_code, 0);

        struct json_object *plan = json_tokener_parse(json.out);
        assert_non_null(plan);
        struct json_object *qemu = field(plan, "qemu", json_type_object);
        struct json_object *argv = field(qemu, "argv", json_type_array);
        size_t at = 0, n = json_object_array_length(argv);
        for (size_t i = 0; i < n; i++) {
                const char *want = json_object_get_string(json_object_array_get_idx(argv, i));
                if (at >= words.len)
                        fail_msg("bash got %zu words, plan --json has %zu", i, n);
                assert_string_equal(words.out + at, want);
                at += strlen(words.out + at) + 1;
        }
        assert_int_equal(at, words.len); /* and no word more */
        json_object_put(plan);
        free(words.out);
        free(script);
        free(json.out);
        free(text.out);
}

static void test_plan_text_pasted_into_a_shell_runs_exactly_the_json_argv(void **state)
{
        (void)state;
        char *demo = private_copy("examples/demo.ini", "demo.ini");
        expect_pasted_command_line_is_the_json_argv(demo);
        char *win10 = private_copy("examples/win10.ini", "win10.ini");
        expect_pasted_command_line_is_the_json_argv(win10);
        /* words a shell would expand, split or end on, and values starting with '-' */
        char *odd = write_definition(
                "odd.ini",
                "[vm]\nname = odd\n"
                "[qemu]\naccel = tcg\n"
                "args = -snapshot -fw_cfg \"name=opt/x,string=it's $HOME `id` \\\\ * | & (x)\" "
                "-smbios '-x  \"two\"  spaces' -rtc -1 -boot ''\n"
                "[cpu]\nmodel = max\n"
                "[hyperv]\nenabled = no\n");
        expect_pasted_command_line_is_the_json_argv(odd);
        free(odd);
        free(win10);
        free(demo);
}

static void test_plan_of_an_invalid_definition_exits_3_and_prints_nothing(void **state)
{
        (void)state;
        char *path = NULL;
        assert_true(asprintf(&path, "%s/broken.ini", tmp_dir) > 0);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs("[memory]\nsize = lots\n", f);
        fclose(f);
        chmod(path, 0644);
        const char *args[] = {"plan", "--json", "--allow-unsafe-owner", path, NULL};
        struct run_result res = run_vmlaunch(args);
        assert_int_equal(res.exit_code, 3);
        assert_string_equal(res.out, "");
        free(res.out);
        free(path);
}

static void test_plan_without_a_definition_is_a_usage_error(void **state)
{
        (void)state;
        const char *args[] = {"plan", "--json", NULL};
        struct run_result res = run_vmlaunch(args);
        assert_int_equal(res.exit_code, 2);
        free(res.out);
}

/* Writes text as TMP/name, mode 0644, and returns the path. */
static char *write_definition(const char *name, const char *text)
{
        char *path = NULL;
        assert_true(asprintf(&path, "%s/%s", tmp_dir, name) > 0);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, 0644), 0);
        return path;
}

static void expect_cpus(struct json_object *array, const int *cpus, size_t n)
{
        assert_int_equal(json_object_array_length(array), n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(json_object_get_int(json_object_array_get_idx(array, i)), cpus[i]);
}

/* The guide's Ryzen 5 1600 (two 3-core CCXs): auto puts 8 vCPUs on 4 whole cores,
 * leaves core 0 to the host, and plan shows the pins run will apply. */
static void test_plan_resolves_vcpu_pin_auto_against_a_given_topology(void **state)
{
        (void)state;
        char *path = write_definition("auto.ini", "[vm]\nname = auto\n"
                                                  "[qemu]\naccel = tcg\n"
                                                  "[cpu]\nmodel = max\ncores = 4\nthreads = 2\n"
                                                  "vcpu_pin = auto\n"
                                                  "[hyperv]\nenabled = no\n"
                                                  "[iothreads]\nio1 =\n");
        const char *args[] = {
                "plan", "--json", "--allow-unsafe-owner", "--topology", "pack:1 l3:2 core:3 pu:2",
                path,   NULL};
        struct run_result res = run_vmlaunch(args);
        assert_int_equal(res.exit_code, 0);
        struct json_object *plan = json_tokener_parse(res.out);
        assert_non_null(plan);
        struct json_object *pins = field(plan, "pins", json_type_object);
        const int vcpus[] = {4, 5, 6, 7, 8, 9, 10, 11}, emulator[] = {2}, io1[] = {3};
        expect_cpus(field(pins, "vcpus", json_type_array), vcpus, 8);
        expect_cpus(field(pins, "emulator", json_type_array), emulator, 1);
        expect_cpus(field(field(pins, "iothreads", json_type_object), "io1", json_type_array), io1,
                    1);
        assert_true(json_object_array_length(field(plan, "pin_reasons", json_type_array)) > 0);
        assert_string_equal(json_object_get_string(field(plan, "accel", json_type_string)), "tcg");
        json_object_put(plan);
        free(res.out);
        free(path);
}

/* [tpm]: plan says there is a TPM and where its state lives, in text and JSON. */
static void test_plan_names_the_tpm_and_its_state_dir(void **state)
{
        (void)state;
        char *path = write_definition("tpm.ini", "[vm]\nname = tpm\n"
                                                 "[qemu]\naccel = tcg\n"
                                                 "[cpu]\nmodel = max\n"
                                                 "[hyperv]\nenabled = no\n"
                                                 "[tpm]\nenabled = yes\n");
        const char *json_args[] = {"plan", "--json", "--allow-unsafe-owner", path, NULL};
        struct run_result res = run_vmlaunch(json_args);
        assert_int_equal(res.exit_code, 0);
        struct json_object *plan = json_tokener_parse(res.out);
        assert_non_null(plan);
        struct json_object *tpm = field(plan, "tpm", json_type_object);
        assert_true(json_object_get_boolean(field(tpm, "enabled", json_type_boolean)));
        assert_string_equal(json_object_get_string(field(tpm, "model", json_type_string)),
                            "tpm-crb");
        assert_string_equal(json_object_get_string(field(tpm, "state_dir", json_type_string)),
                            "/var/lib/vmlaunch/tpm/tpm");
        json_object_put(plan);
        free(res.out);

        const char *text_args[] = {"plan", "--allow-unsafe-owner", path, NULL};
        res = run_vmlaunch(text_args);
        assert_int_equal(res.exit_code, 0);
        assert_non_null(strstr(res.out, "  TPM 2.0: tpm-crb on swtpm, run as vmlaunch-qemu "));
        assert_non_null(strstr(res.out, "state in /var/lib/vmlaunch/tpm/tpm/state"));
        assert_non_null(strstr(res.out, "-tpmdev emulator,id=tpm0,chardev=chrtpm"));
        free(res.out);
        free(path);
}

/* 16 vCPUs cannot get whole cores on 6 cores: plan refuses with the reason. */
static void test_plan_refuses_vcpu_pin_auto_that_does_not_fit(void **state)
{
        (void)state;
        char *path = write_definition("auto.ini", "[vm]\nname = auto\n"
                                                  "[qemu]\naccel = tcg\n"
                                                  "[cpu]\nmodel = max\ncores = 8\nthreads = 2\n"
                                                  "vcpu_pin = auto\n"
                                                  "[hyperv]\nenabled = no\n");
        const char *args[] = {"plan",       "--allow-unsafe-owner",
                              "--topology", "pack:1 l3:2 core:3 pu:2",
                              path,         NULL};
        struct run_result res = run_vmlaunch(args);
        assert_int_equal(res.exit_code, 3);
        free(res.out);
        free(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(
                        test_plan_json_of_win10_has_name_definition_qemu_steps_and_warnings),
                cmocka_unit_test(test_plan_text_shows_one_option_and_its_value_per_line),
                cmocka_unit_test(test_plan_text_pasted_into_a_shell_runs_exactly_the_json_argv),
                cmocka_unit_test(test_plan_of_an_invalid_definition_exits_3_and_prints_nothing),
                cmocka_unit_test(test_plan_without_a_definition_is_a_usage_error),
                cmocka_unit_test(test_plan_resolves_vcpu_pin_auto_against_a_given_topology),
                cmocka_unit_test(test_plan_refuses_vcpu_pin_auto_that_does_not_fit),
                cmocka_unit_test(test_plan_names_the_tpm_and_its_state_dir),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
