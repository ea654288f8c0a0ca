/* The QMP client against a fake QEMU playing scripts over a socketpair. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "fake_qmp_server.h"
#include "qmp/qmp.h"

#define TEST_TIMEOUT_MS      5000
#define SLOW_PEER_TIMEOUT_MS 60000

struct event_log {
        char names[16][32];
        char data[16][128];
        bool has_timestamp[16];
        size_t n;
};

static void log_event(const char *event, struct json_object *data, struct json_object *timestamp,
                      void *userdata)
{
        struct event_log *log = userdata;
        if (log->n >= 16)
                return;
        snprintf(log->names[log->n], sizeof(log->names[0]), "%s", event);
        snprintf(log->data[log->n], sizeof(log->data[0]), "%s",
                 data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN) : "");
        log->has_timestamp[log->n] = timestamp != NULL;
        log->n++;
}

struct reply_log {
        char command[64];
        char ret[128];
        char error[256];
        size_t n;
};

static void log_reply(const char *command, struct json_object *ret, const char *error,
                      void *userdata)
{
        struct reply_log *log = userdata;
        snprintf(log->command, sizeof(log->command), "%s", command);
        snprintf(log->ret, sizeof(log->ret), "%s",
                 ret ? json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN) : "");
        snprintf(log->error, sizeof(log->error), "%s", error ? error : "");
        log->n++;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct qmp_client *client_on(int fd)
{
        struct qmp_client *c = NULL;
        struct vl_error err = {0};
        assert_int_equal(qmp_client_new(fd, &c, &err), 0);
        return c;
}

static void finish(struct fake_server *srv)
{
        const char *failure = fake_server_finish(srv);
        if (failure)
                fail_msg("fake QEMU: %s", failure);
}

static void test_handshake_reads_greeting_version_and_negotiates_capabilities(void **state)
{
        (void)state;
        static const struct fake_step script[] = {HANDSHAKE};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};

        assert_int_equal(qmp_qemu_version(c), 0);
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);
        assert_int_equal(qmp_qemu_version(c), 70201);

        qmp_close(c);
        finish(&srv);
        assert_int_equal(srv.n_commands, 1);
        assert_string_equal(srv.commands[0], "{\"execute\":\"qmp_capabilities\",\"id\":1}");
}

static void test_execute_sends_arguments_and_returns_the_reply_value(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,
                EXPECT("query-status"),
                SEND("{\"return\": {\"status\": \"prelaunch\", \"running\": false}, \"id\": $ID}\r\n"),
                EXPECT("device_del"),
                SEND(FAKE_EMPTY_REPLY),
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        struct json_object *ret = NULL, *status = NULL;
        assert_int_equal(qmp_execute(c, "query-status", NULL, TEST_TIMEOUT_MS, &ret, &err), 0);
        assert_true(json_object_object_get_ex(ret, "status", &status));
        assert_string_equal(json_object_get_string(status), "prelaunch");
        json_object_put(ret);

        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "id", json_object_new_string("gpu/\"0\""));
        assert_int_equal(qmp_execute(c, "device_del", args, TEST_TIMEOUT_MS, NULL, &err), 0);
        json_object_put(args);

        qmp_close(c);
        finish(&srv);
        assert_int_equal(srv.n_commands, 3);
        assert_string_equal(
                srv.commands[2],
                "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"gpu/\\\"0\\\"\"},\"id\":3}");
}

static void test_events_arriving_before_the_reply_are_delivered_in_order(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,
                EXPECT("system_reset"),
                SEND("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 5}, \"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-system-reset\"}}\r\n"),
                SEND("{\"event\": \"STOP\"}\r\n{\"event\": \"RESUME\"}\r\n"),
                /* The reply and an event after it in one write. */
                SEND("{\"return\": {}, \"id\": $ID}\r\n{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"gpu0\"}}\r\n"),
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct event_log log = {0};
        qmp_set_event_handler(c, log_event, &log);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        assert_int_equal(qmp_execute(c, "system_reset", NULL, TEST_TIMEOUT_MS, NULL, &err), 0);

        assert_int_equal(log.n, 4);
        assert_string_equal(log.names[0], "RESET");
        assert_string_equal(log.data[0], "{\"guest\":false,\"reason\":\"host-qmp-system-reset\"}");
        assert_true(log.has_timestamp[0]);
        assert_string_equal(log.names[1], "STOP");
        assert_string_equal(log.data[1], "");
        assert_false(log.has_timestamp[1]);
        assert_string_equal(log.names[2], "RESUME");
        assert_string_equal(log.names[3], "DEVICE_DELETED");
        assert_string_equal(log.data[3], "{\"device\":\"gpu0\"}");

        qmp_close(c);
        finish(&srv);
}

static char *one_megabyte_reply(void)
{
        const size_t blob_bytes = 1024 * 1024;
        const char *head = "{\"return\": {\"blob\": \"", *tail = "\"}, \"id\": $ID}\r\n";
        char *text = malloc(strlen(head) + blob_bytes + strlen(tail) + 1);
        strcpy(text, head);
        memset(text + strlen(head), 'x', blob_bytes);
        strcpy(text + strlen(head) + blob_bytes, tail);
        return text;
}

static void test_reply_of_one_megabyte_is_read_whole(void **state)
{
        (void)state;
        char *big = one_megabyte_reply();
        const struct fake_step script[] = {HANDSHAKE, EXPECT("query-qmp-schema"), SEND(big)};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        struct json_object *ret = NULL, *blob = NULL;
        assert_int_equal(qmp_execute(c, "query-qmp-schema", NULL, TEST_TIMEOUT_MS, &ret, &err), 0);
        assert_true(json_object_object_get_ex(ret, "blob", &blob));
        assert_int_equal(json_object_get_string_len(blob), 1024 * 1024);
        json_object_put(ret);

        qmp_close(c);
        finish(&srv);
        free(big);
}

static void test_message_over_the_size_cap_is_emsgsize(void **state)
{
        (void)state;
        char *big = one_megabyte_reply();
        const struct fake_step script[] = {HANDSHAKE, EXPECT("query-qmp-schema"), SEND(big)};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        qmp_set_max_message_bytes(c, 4096);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        assert_int_equal(qmp_execute(c, "query-qmp-schema", NULL, TEST_TIMEOUT_MS, NULL, &err),
                         -EMSGSIZE);
        assert_non_null(strstr(err.msg, "exceeds 4096 bytes"));

        qmp_close(c); /* the fake may be blocked writing: closing releases it */
        fake_server_finish(&srv);
        free(big);
}

static void test_replies_split_byte_by_byte_are_reassembled(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                SEND_BYTEWISE(FAKE_GREETING),
                EXPECT("qmp_capabilities"),
                SEND_BYTEWISE(FAKE_EMPTY_REPLY),
                EXPECT("query-status"),
                SEND_BYTEWISE(
                        "{\"event\": \"STOP\"}\r\n{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": $ID}\r\n"),
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct event_log log = {0};
        qmp_set_event_handler(c, log_event, &log);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);
        assert_int_equal(qmp_qemu_version(c), 70201);

        struct json_object *ret = NULL, *status = NULL;
        assert_int_equal(qmp_execute(c, "query-status", NULL, TEST_TIMEOUT_MS, &ret, &err), 0);
        assert_true(json_object_object_get_ex(ret, "status", &status));
        assert_string_equal(json_object_get_string(status), "paused");
        json_object_put(ret);
        assert_int_equal(log.n, 1);
        assert_string_equal(log.names[0], "STOP");

        qmp_close(c);
        finish(&srv);
}

static void test_error_reply_is_eremoteio_with_class_and_desc(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,
                EXPECT("device_del"),
                SEND("{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'gpu0' not found\"}, \"id\": $ID}\r\n"),
                EXPECT("query-status"),
                SEND("{\"return\": {\"status\": \"running\"}, \"id\": $ID}\r\n"),
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        struct json_object *ret = (struct json_object *)&err; /* must be reset to NULL */
        assert_int_equal(qmp_execute(c, "device_del", NULL, TEST_TIMEOUT_MS, &ret, &err),
                         -EREMOTEIO);
        assert_null(ret);
        assert_int_equal(err.errnum, EREMOTEIO);
        assert_non_null(strstr(err.msg, "DeviceNotFound: Device 'gpu0' not found"));
        assert_non_null(strstr(err.msg, "device_del"));

        /* An error reply does not break the connection. */
        assert_int_equal(qmp_execute(c, "query-status", NULL, TEST_TIMEOUT_MS, NULL, &err), 0);

        qmp_close(c);
        finish(&srv);
}

static void test_peer_closing_before_the_greeting_is_epipe(void **state)
{
        (void)state;
        static const struct fake_step script[] = {CLOSE};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};

        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), -EPIPE);
        assert_non_null(strstr(err.msg, "closed"));

        qmp_close(c);
        finish(&srv);
}

static void test_peer_closing_mid_reply_is_epipe_and_stays_broken(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,
                EXPECT("query-status"),
                SEND("{\"return\": {\"status\": \"runn"),
                CLOSE,
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        assert_int_equal(qmp_execute(c, "query-status", NULL, TEST_TIMEOUT_MS, NULL, &err), -EPIPE);
        assert_non_null(strstr(err.msg, "in the middle of a message"));
        assert_non_null(strstr(err.msg, "query-status"));

        /* Later calls fail at once the same way (and raise no SIGPIPE). */
        assert_int_equal(qmp_execute(c, "cont", NULL, TEST_TIMEOUT_MS, NULL, &err), -EPIPE);
        assert_int_equal(qmp_send(c, "cont", NULL, &err), -EPIPE);
        assert_int_equal(qmp_dispatch(c, &err), -EPIPE);

        qmp_close(c);
        finish(&srv);
}

static void test_writing_to_a_closed_peer_is_epipe_not_sigpipe(void **state)
{
        (void)state;
        static const struct fake_step script[] = {HANDSHAKE, CLOSE};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);
        finish(&srv); /* the fake's end is closed now */

        assert_int_equal(qmp_send(c, "system_powerdown", NULL, &err), -EPIPE);
        qmp_close(c);
}

static void test_missing_greeting_times_out_within_the_deadline(void **state)
{
        (void)state;
        static const struct fake_step script[] = {WAIT_FOR_CLOSE};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};

        int64_t start = now_ms();
        assert_int_equal(qmp_handshake(c, 200, &err), -ETIMEDOUT);
        int64_t elapsed = now_ms() - start;
        assert_true(elapsed >= 190);
        assert_true(elapsed < 3000);
        assert_non_null(strstr(err.msg, "no greeting"));

        qmp_close(c);
        finish(&srv);
}

static void test_missing_reply_times_out_and_the_late_reply_goes_to_the_reply_handler(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,      EXPECT("query-status"),
                AWAIT_GO,       SEND("{\"return\": {\"status\": \"running\"}, \"id\": $ID}\r\n"),
                WAIT_FOR_CLOSE,
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct reply_log replies = {0};
        qmp_set_reply_handler(c, log_reply, &replies);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        int64_t start = now_ms();
        assert_int_equal(qmp_execute(c, "query-status", NULL, 200, NULL, &err), -ETIMEDOUT);
        assert_true(now_ms() - start < 3000);
        assert_non_null(strstr(err.msg, "query-status"));

        fake_server_go(&srv);
        struct pollfd pfd = {.fd = qmp_fd(c), .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, TEST_TIMEOUT_MS), 1);
        assert_int_equal(qmp_dispatch(c, &err), 0);
        assert_int_equal(replies.n, 1);
        assert_string_equal(replies.command, "query-status");
        assert_string_equal(replies.ret, "{\"status\":\"running\"}");
        assert_string_equal(replies.error, "");

        qmp_close(c);
        finish(&srv);
}

static void test_reply_with_another_id_before_the_right_one_is_skipped(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,
                EXPECT("query-status"),
                SEND("{\"return\": {\"status\": \"wrong\"}, \"id\": 4242}\r\n"),
                SEND("{\"return\": {\"status\": \"no id\"}}\r\n"),
                SEND("{\"return\": {\"status\": \"right\"}, \"id\": $ID}\r\n"),
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct reply_log replies = {0};
        qmp_set_reply_handler(c, log_reply, &replies);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        struct json_object *ret = NULL, *status = NULL;
        assert_int_equal(qmp_execute(c, "query-status", NULL, TEST_TIMEOUT_MS, &ret, &err), 0);
        assert_true(json_object_object_get_ex(ret, "status", &status));
        assert_string_equal(json_object_get_string(status), "right");
        json_object_put(ret);
        assert_int_equal(replies.n, 0); /* ids we never sent are dropped */

        qmp_close(c);
        finish(&srv);
}

static void test_garbage_input_is_eproto(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,
                EXPECT("query-status"),
                SEND("Segmentation fault (core dumped)\r\n"),
                WAIT_FOR_CLOSE,
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        assert_int_equal(qmp_execute(c, "query-status", NULL, TEST_TIMEOUT_MS, NULL, &err),
                         -EPROTO);
        assert_non_null(strstr(err.msg, "invalid JSON"));

        qmp_close(c);
        finish(&srv);
}

static void test_json_that_is_not_an_object_is_eproto(void **state)
{
        (void)state;
        static const struct fake_step script[] = {SEND("[1, 2, 3]\r\n"), WAIT_FOR_CLOSE};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};

        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), -EPROTO);
        assert_non_null(strstr(err.msg, "expected a JSON object"));

        qmp_close(c);
        finish(&srv);
}

static void test_first_message_that_is_not_a_greeting_is_eproto(void **state)
{
        (void)state;
        static const struct fake_step script[] = {SEND("{\"event\": \"STOP\"}\r\n"),
                                                  WAIT_FOR_CLOSE};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};

        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), -EPROTO);
        assert_non_null(strstr(err.msg, "not a QMP greeting"));

        qmp_close(c);
        finish(&srv);
}

static void test_send_then_dispatch_passes_the_reply_to_the_reply_handler(void **state)
{
        (void)state;
        static const struct fake_step script[] = {
                HANDSHAKE,
                EXPECT("system_powerdown"),
                SEND("{\"event\": \"POWERDOWN\"}\r\n{\"error\": {\"class\": \"GenericError\", \"desc\": \"no ACPI\"}, \"id\": $ID}\r\n"),
                EXPECT("quit"),
                SEND(FAKE_EMPTY_REPLY),
                SEND("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n"),
                CLOSE,
        };
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct reply_log replies = {0};
        struct event_log events = {0};
        qmp_set_reply_handler(c, log_reply, &replies);
        qmp_set_event_handler(c, log_event, &events);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        assert_int_equal(qmp_send(c, "system_powerdown", NULL, &err), 0);
        while (replies.n < 1) {
                struct pollfd pfd = {.fd = qmp_fd(c), .events = POLLIN};
                assert_int_equal(poll(&pfd, 1, TEST_TIMEOUT_MS), 1);
                assert_int_equal(qmp_dispatch(c, &err), 0);
        }
        assert_string_equal(replies.command, "system_powerdown");
        assert_string_equal(replies.error, "GenericError: no ACPI");
        assert_int_equal(events.n, 1);
        assert_string_equal(events.names[0], "POWERDOWN");

        /* The peer closing is reported after what it sent before closing. */
        assert_int_equal(qmp_send(c, "quit", NULL, &err), 0);
        int r;
        do {
                struct pollfd pfd = {.fd = qmp_fd(c), .events = POLLIN};
                assert_int_equal(poll(&pfd, 1, TEST_TIMEOUT_MS), 1);
                r = qmp_dispatch(c, &err);
        } while (r == 0);
        assert_int_equal(r, -EPIPE);
        assert_int_equal(replies.n, 2);
        assert_string_equal(replies.command, "quit");
        assert_string_equal(replies.ret, "{}");
        assert_int_equal(events.n, 2);
        assert_string_equal(events.names[1], "SHUTDOWN");

        qmp_close(c);
        finish(&srv);
}

struct burst_check {
        int next;
        bool out_of_order;
};

static void check_burst_event(const char *event, struct json_object *data,
                              struct json_object *timestamp, void *userdata)
{
        (void)event;
        (void)timestamp;
        struct burst_check *check = userdata;
        struct json_object *seq = NULL;
        json_object_object_get_ex(data, "seq", &seq);
        if (!seq || json_object_get_int(seq) != check->next)
                check->out_of_order = true;
        check->next++;
}

#define BURST_EVENTS 5000

static void test_dispatch_delivers_a_burst_of_events_in_order(void **state)
{
        (void)state;
#define ONE_EVENT "{\"event\": \"BLOCK_JOB_PENDING\", \"data\": {\"seq\": %d}}\r\n"
        size_t size = BURST_EVENTS * (sizeof(ONE_EVENT) + 8) + 1, off = 0;
        char *burst = malloc(size);
        for (int i = 0; i < BURST_EVENTS; i++)
                off += (size_t)snprintf(burst + off, size - off, ONE_EVENT, i);
        const struct fake_step script[] = {HANDSHAKE, SEND(burst), WAIT_FOR_CLOSE};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct burst_check check = {0};
        qmp_set_event_handler(c, check_burst_event, &check);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        while (check.next < BURST_EVENTS) {
                struct pollfd pfd = {.fd = qmp_fd(c), .events = POLLIN};
                assert_int_equal(poll(&pfd, 1, TEST_TIMEOUT_MS), 1);
                assert_int_equal(qmp_dispatch(c, &err), 0);
        }
        assert_int_equal(check.next, BURST_EVENTS);
        assert_false(check.out_of_order);

        qmp_close(c);
        finish(&srv);
        free(burst);
}

static struct json_object *blob_arguments(size_t bytes)
{
        char *blob = malloc(bytes + 1);
        memset(blob, 'y', bytes);
        blob[bytes] = '\0';
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "blob", json_object_new_string(blob));
        free(blob);
        return args;
}

static void test_command_larger_than_the_socket_buffer_is_written_whole(void **state)
{
        (void)state;
        static const struct fake_step script[] = {HANDSHAKE, EXPECT("human-monitor-command"),
                                                  SEND(FAKE_EMPTY_REPLY)};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        /* The fake reads a byte at a time, so the client meets a full socket buffer.
         * Half a million reads take seconds under ASan on a busy machine: the bound
         * here is against hanging, not a measure of speed. */
        struct json_object *args = blob_arguments(512 * 1024);
        assert_int_equal(
                qmp_execute(c, "human-monitor-command", args, SLOW_PEER_TIMEOUT_MS, NULL, &err), 0);
        json_object_put(args);

        qmp_close(c);
        finish(&srv);
}

static void test_send_to_a_peer_that_never_reads_times_out(void **state)
{
        (void)state;
        static const struct fake_step script[] = {HANDSHAKE, AWAIT_GO};
        struct fake_server srv;
        int fd;
        START_FAKE(&srv, script, &fd);
        struct qmp_client *c = client_on(fd);
        struct vl_error err = {0};
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);

        struct json_object *args = blob_arguments(8 * 1024 * 1024);
        int64_t start = now_ms();
        assert_int_equal(qmp_send(c, "human-monitor-command", args, &err), -ETIMEDOUT);
        int64_t elapsed = now_ms() - start;
        json_object_put(args);
        assert_true(elapsed >= QMP_SEND_TIMEOUT_MS - 10);
        assert_true(elapsed < QMP_SEND_TIMEOUT_MS + 3000);
        assert_non_null(strstr(err.msg, "stopped reading"));
        /* Half a command went out: the connection cannot be used any more. */
        assert_int_equal(qmp_send(c, "cont", NULL, &err), -ETIMEDOUT);

        qmp_close(c);
        finish(&srv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_handshake_reads_greeting_version_and_negotiates_capabilities),
                cmocka_unit_test(test_execute_sends_arguments_and_returns_the_reply_value),
                cmocka_unit_test(test_events_arriving_before_the_reply_are_delivered_in_order),
                cmocka_unit_test(test_reply_of_one_megabyte_is_read_whole),
                cmocka_unit_test(test_message_over_the_size_cap_is_emsgsize),
                cmocka_unit_test(test_replies_split_byte_by_byte_are_reassembled),
                cmocka_unit_test(test_error_reply_is_eremoteio_with_class_and_desc),
                cmocka_unit_test(test_peer_closing_before_the_greeting_is_epipe),
                cmocka_unit_test(test_peer_closing_mid_reply_is_epipe_and_stays_broken),
                cmocka_unit_test(test_writing_to_a_closed_peer_is_epipe_not_sigpipe),
                cmocka_unit_test(test_missing_greeting_times_out_within_the_deadline),
                cmocka_unit_test(
                        test_missing_reply_times_out_and_the_late_reply_goes_to_the_reply_handler),
                cmocka_unit_test(test_reply_with_another_id_before_the_right_one_is_skipped),
                cmocka_unit_test(test_garbage_input_is_eproto),
                cmocka_unit_test(test_json_that_is_not_an_object_is_eproto),
                cmocka_unit_test(test_first_message_that_is_not_a_greeting_is_eproto),
                cmocka_unit_test(test_send_then_dispatch_passes_the_reply_to_the_reply_handler),
                cmocka_unit_test(test_dispatch_delivers_a_burst_of_events_in_order),
                cmocka_unit_test(test_command_larger_than_the_socket_buffer_is_written_whole),
                cmocka_unit_test(test_send_to_a_peer_that_never_reads_times_out),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
