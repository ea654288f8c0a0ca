/* display = vnc=...: loopback by default, any other address only with a password file,
 * and that file read as root reads a secret. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmdefs/vmdef.h"

struct display_case {
        const char *qemu; /* lines of [qemu] */
        const char *host; /* expected vnc_host; NULL: an error */
        unsigned display;
        bool loopback;
        const char *error; /* part of the first error when host is NULL */
};

static const struct display_case cases[] = {
        {"display = vnc=:1", "127.0.0.1", 1, true, NULL},
        {"display = vnc=127.0.0.1:2", "127.0.0.1", 2, true, NULL},
        {"display = vnc=127.1.2.3:99", "127.1.2.3", 99, true, NULL},
        {"display = vnc=::1:3", "::1", 3, true, NULL},
        {"display = vnc=[::1]:4", "::1", 4, true, NULL},
        {"display = vnc=[0:0::1]:5", "::1", 5, true, NULL},
        {"display = vnc=0.0.0.0:1\nvnc_password_file = /etc/vmlaunch/t.vncpw", "0.0.0.0", 1, false,
         NULL},
        {"display = vnc=[::]:1\nvnc_password_file = /etc/vmlaunch/t.vncpw", "::", 1, false, NULL},
        {"display = vnc=192.168.1.5:0\nvnc_password_file = /etc/vmlaunch/t.vncpw", "192.168.1.5", 0,
         false, NULL},
        {"display = vnc=127.0.0.1:1\nvnc_password_file = /etc/vmlaunch/t.vncpw", "127.0.0.1", 1,
         true, NULL},
        {"display = vnc=0.0.0.0:1", NULL, 0, false,
         "t.ini:3: [qemu] display: VNC on 0.0.0.0 listens beyond this host and has no password; expected a loopback address (vnc=:N listens on 127.0.0.1 only) or [qemu] vnc_password_file"},
        {"display = vnc=[::]:1", NULL, 0, false, "VNC on :: listens beyond this host"},
        {"display = vnc=10.0.0.1:1", NULL, 0, false, "VNC on 10.0.0.1 listens beyond this host"},
        {"display = vnc=localhost:1", NULL, 0, false,
         "\"localhost\" is not an IP address; expected vnc=:N (127.0.0.1) or vnc=ADDR:N"},
        {"display = vnc=1.2.3:1", NULL, 0, false, "\"1.2.3\" is not an IP address"},
        {"display = vnc=:100", NULL, 0, false, "N from 0 to 99"},
        {"display = vnc=:", NULL, 0, false, "N from 0 to 99"},
        {"display = vnc=127.0.0.1", NULL, 0, false, "N from 0 to 99"},
        {"display = vnc=:1,password=on", NULL, 0, false, "N from 0 to 99"},
        {"display = vnc", NULL, 0, false, "expected none, gtk, sdl, vnc=:N or vnc=ADDR:N"},
        {"display = vnc=:1\nvnc_password_file = t.vncpw", NULL, 0, false,
         "[qemu] vnc_password_file: \"t.vncpw\": not an absolute path"},
};

static void test_vnc_listens_on_loopback_unless_a_password_file_is_given(void **state)
{
        (void)state;
        size_t failures = 0;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct display_case *c = &cases[i];
                char text[512];
                snprintf(text, sizeof(text), "[qemu]\naccel = tcg\n%s\n[cpu]\nmodel = max\n",
                         c->qemu);
                struct vm_def *def = NULL;
                struct vmdef_diags diags = {0};
                int r = vmdef_parse_string("/etc/vmlaunch/t.ini", text, strlen(text), &def, &diags);
                char line[1024] = "";
                if (diags.count)
                        vmdef_diag_format(&diags.items[0], "t.ini", line, sizeof(line));
                bool ok = c->host ? r == 0 && def && def->vnc_host &&
                                            !strcmp(def->vnc_host, c->host) &&
                                            def->vnc_display == c->display &&
                                            def->vnc_loopback == c->loopback
                                  : r == -EINVAL && strstr(line, c->error);
                if (!ok) {
                        failures++;
                        print_error("[qemu] %s\n  expected: %s\n  got: %s %s\n", c->qemu,
                                    c->host ? c->host : c->error,
                                    def && def->vnc_host ? def->vnc_host : "-", line);
                }
                vmdef_diags_free(&diags);
                vmdef_free(def);
        }
        assert_int_equal(failures, 0);
}

static void test_a_password_file_without_vnc_is_a_warning(void **state)
{
        (void)state;
        const char *text = "[qemu]\naccel = tcg\nvnc_password_file = /x\n[cpu]\nmodel = max\n";
        struct vm_def *def = NULL;
        struct vmdef_diags diags = {0};
        assert_int_equal(
                vmdef_parse_string("/etc/vmlaunch/t.ini", text, strlen(text), &def, &diags), 0);
        assert_int_equal(diags.count, 1);
        assert_int_equal(diags.items[0].severity, VMDEF_WARNING);
        assert_null(def->vnc_host);
        vmdef_diags_free(&diags);
        vmdef_free(def);
}

/* ---- reading the password file ---- */

static char dir[64];

static int make_dir(void **state)
{
        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/vmlaunch-vncpw-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
        (void)state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd);
}

/* Writes FILE in the test dir with content, mode and owner; returns its path. */
static const char *password_file(const char *name, const char *content, mode_t mode, uid_t uid)
{
        static char path[128];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(fchown(fd, uid, 0), 0);
        close(fd);
        return path;
}

static void expect_refused(const char *path, const char *reason)
{
        char pw[VMDEF_VNC_PASSWORD_MAX + 1] = "x", why[384] = "";
        assert_int_equal(vmdef_read_vnc_password(path, pw, why, sizeof(why)), -EINVAL);
        if (!strstr(why, reason))
                fail_msg("%s: expected \"%s\" in \"%s\"", path, reason, why);
        assert_string_equal(pw, "");
}

static void test_vnc_password_file_must_be_root_only_and_at_most_8_characters(void **state)
{
        (void)state;
        if (geteuid() != 0) {
                print_message("skipped: needs root to create files owned by other users\n");
                skip();
        }
        char pw[VMDEF_VNC_PASSWORD_MAX + 1], why[384];
        assert_int_equal(vmdef_read_vnc_password(password_file("ok", "s3cr3t!\n", 0600, 0), pw, why,
                                                 sizeof(why)),
                         0);
        assert_string_equal(pw, "s3cr3t!");
        assert_int_equal(vmdef_read_vnc_password(password_file("eight", "12345678", 0400, 0), pw,
                                                 why, sizeof(why)),
                         0);
        assert_string_equal(pw, "12345678");

        expect_refused(password_file("nine", "123456789\n", 0600, 0),
                       "holds 9 characters, but VNC passwords are at most 8");
        expect_refused(password_file("empty", "\n", 0600, 0), "is empty");
        expect_refused(password_file("two-lines", "abc\ndef\n", 0600, 0), "not printable ASCII");
        expect_refused(password_file("group-readable", "abc", 0640, 0),
                       "readable or writable by its group or others (uid 0, mode 0640)");
        expect_refused(password_file("other-readable", "abc", 0604, 0),
                       "readable or writable by its group or others");
        expect_refused(password_file("user-owned", "abc", 0600, 65534),
                       "not owned by root (uid 65534, mode 0600)");
        char link[160];
        snprintf(link, sizeof(link), "%s/link", dir);
        assert_int_equal(symlink(password_file("target", "abc", 0600, 0), link), 0);
        expect_refused(link, "is a symbolic link");
        snprintf(link, sizeof(link), "%s/absent", dir);
        expect_refused(link, "No such file or directory");
        expect_refused(dir, "not a regular file");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vnc_listens_on_loopback_unless_a_password_file_is_given),
                cmocka_unit_test(test_a_password_file_without_vnc_is_a_warning),
                cmocka_unit_test(test_vnc_password_file_must_be_root_only_and_at_most_8_characters),
        };
        return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
