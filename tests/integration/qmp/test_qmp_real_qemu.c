/* The QMP client against a real QEMU started paused (-S) under TCG: connect while
 * it starts, handshake, query it, see real events, quit. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "qmp/qmp.h"

#define QEMU_BINARY "qemu-system-x86_64"
#define TIMEOUT_MS  20000 /* TCG under ASan on 2 cores is slow to start */

extern char **environ;

struct qemu {
        char dir[64];
        char socket_path[128];
        pid_t pid;
        int pidfd;
        struct qmp_client *qmp;
        char events[16][32];
        size_t n_events;
};

static void log_event(const char *event, struct json_object *data, struct json_object *timestamp,
                      void *userdata)
{
        (void)data;
        (void)timestamp;
        struct qemu *q = userdata;
        if (q->n_events < 16)
                snprintf(q->events[q->n_events++], sizeof(q->events[0]), "%s", event);
}

/* The directory of QEMU_BINARY in PATH, for the skip decision. */
static bool qemu_in_path(void)
{
        const char *path = getenv("PATH");
        char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
        bool found = false;
        for (char *dir = strtok_r(copy, ":", &save); dir && !found;
             dir = strtok_r(NULL, ":", &save)) {
                char file[4096];
                snprintf(file, sizeof(file), "%s/%s", dir, QEMU_BINARY);
                found = access(file, X_OK) == 0;
        }
        free(copy);
        return found;
}

static int start_qemu(void **state)
{
        struct qemu *q = calloc(1, sizeof(*q));
        snprintf(q->dir, sizeof(q->dir), "/tmp/test-qmp-qemu-XXXXXX");
        if (!mkdtemp(q->dir))
                return -1;
        snprintf(q->socket_path, sizeof(q->socket_path), "%s/qmp.sock", q->dir);
        char qmp_arg[256];
        snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", q->socket_path);
        char *argv[] = {QEMU_BINARY,     "-S", "-nodefaults", "-display", "none",  "-machine",
                        "q35,accel=tcg", "-m", "64",          "-qmp",     qmp_arg, NULL};
        if (posix_spawnp(&q->pid, QEMU_BINARY, NULL, NULL, argv, environ) != 0)
                return -1;
        q->pidfd = pidfd_open(q->pid, 0);
        *state = q;
        return q->pidfd < 0 ? -1 : 0;
}

static int stop_qemu(void **state)
{
        struct qemu *q = *state;
        qmp_close(q->qmp);
        if (waitpid(q->pid, NULL, WNOHANG) == 0) { /* still running: the test failed */
                kill(q->pid, SIGKILL);
                waitpid(q->pid, NULL, 0);
        }
        close(q->pidfd);
        unlink(q->socket_path);
        rmdir(q->dir);
        free(q);
        return 0;
}

static const char *string_member(struct json_object *obj, const char *key)
{
        struct json_object *value = NULL;
        if (!json_object_object_get_ex(obj, key, &value))
                return NULL;
        return json_object_get_string(value);
}

/* Waits for QMP input and dispatches it until the event has been seen. */
static void wait_for_event(struct qemu *q, const char *event)
{
        for (;;) {
                for (size_t i = 0; i < q->n_events; i++)
                        if (strcmp(q->events[i], event) == 0)
                                return;
                struct pollfd pfd = {.fd = qmp_fd(q->qmp), .events = POLLIN};
                assert_int_equal(poll(&pfd, 1, TIMEOUT_MS), 1);
                struct vl_error err = {0};
                assert_int_equal(qmp_dispatch(q->qmp, &err), 0);
        }
}

static void test_real_qemu_handshake_query_and_quit(void **state)
{
        struct qemu *q = *state;
        struct vl_error err = {0};
        if (qmp_connect(q->socket_path, q->pidfd, TIMEOUT_MS, &q->qmp, &err) < 0)
                fail_msg("%s", err.msg);
        qmp_set_event_handler(q->qmp, log_event, q);
        if (qmp_handshake(q->qmp, TIMEOUT_MS, &err) < 0)
                fail_msg("%s", err.msg);
        assert_true(qmp_qemu_version(q->qmp) >= 20000);
        print_message("QEMU %u\n", qmp_qemu_version(q->qmp));

        struct json_object *ret = NULL;
        assert_int_equal(qmp_execute(q->qmp, "query-status", NULL, TIMEOUT_MS, &ret, &err), 0);
        assert_string_equal(string_member(ret, "status"), "prelaunch");
        struct json_object *running = NULL;
        assert_true(json_object_object_get_ex(ret, "running", &running));
        assert_false(json_object_get_boolean(running));
        json_object_put(ret);

        assert_int_equal(qmp_execute(q->qmp, "query-cpus-fast", NULL, TIMEOUT_MS, &ret, &err), 0);
        assert_true(json_object_is_type(ret, json_type_array));
        assert_int_equal(json_object_array_length(ret), 1);
        struct json_object *thread_id = NULL;
        assert_true(json_object_object_get_ex(json_object_array_get_idx(ret, 0), "thread-id",
                                              &thread_id));
        assert_true(json_object_get_int(thread_id) > 0);
        json_object_put(ret);

        /* A real error reply. */
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "id", json_object_new_string("no-such-device"));
        assert_int_equal(qmp_execute(q->qmp, "device_del", args, TIMEOUT_MS, NULL, &err),
                         -EREMOTEIO);
        json_object_put(args);
        assert_non_null(strstr(err.msg, "DeviceNotFound"));

        /* Real events: cont runs the (diskless) guest, stop pauses it again. */
        assert_int_equal(qmp_execute(q->qmp, "cont", NULL, TIMEOUT_MS, NULL, &err), 0);
        wait_for_event(q, "RESUME");
        assert_int_equal(qmp_execute(q->qmp, "stop", NULL, TIMEOUT_MS, NULL, &err), 0);
        wait_for_event(q, "STOP");

        /* quit: the reply, a SHUTDOWN event, then the socket closes. */
        int r = qmp_execute(q->qmp, "quit", NULL, TIMEOUT_MS, NULL, &err);
        if (r < 0 && r != -EPIPE) /* QEMU may close before its reply is read */
                fail_msg("quit: %s", err.msg);
        for (;;) {
                struct pollfd pfd = {.fd = qmp_fd(q->qmp), .events = POLLIN};
                assert_int_equal(poll(&pfd, 1, TIMEOUT_MS), 1);
                r = qmp_dispatch(q->qmp, &err);
                if (r < 0)
                        break;
        }
        assert_int_equal(r, -EPIPE);
        assert_string_equal(q->events[q->n_events - 1], "SHUTDOWN");
        int status;
        assert_int_equal(waitpid(q->pid, &status, 0), q->pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        for (size_t i = 0; i < q->n_events; i++)
                print_message("event %s\n", q->events[i]);
}

int main(void)
{
        if (!qemu_in_path()) {
                printf("skipped: %s is not installed (Debian package qemu-system-x86)\n",
                       QEMU_BINARY);
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_real_qemu_handshake_query_and_quit, start_qemu,
                                                stop_qemu),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
