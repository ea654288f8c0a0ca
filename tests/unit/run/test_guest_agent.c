/* The guest agent client against a scripted agent on the other end of its socket:
 * it syncs past stale output, counts as up only after sync and ping, sends commands
 * one at a time, resyncs after a timeout and goes down when the port closes. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "run/guest_agent.h"
#include "run/readiness.h"
#include "util/clock.h"

struct fixture {
        char dir[64], path[128];
        int listen_fd, agent_fd; /* agent_fd: the test's end, playing qemu-ga */
        struct guest_agent *agent;
        int ups, downs;
        unsigned long last_client;
        char last_reply[4096];
        int n_replies;
};

static void on_up(void *u)
{
        ((struct fixture *)u)->ups++;
}

static void on_down(void *u)
{
        ((struct fixture *)u)->downs++;
}

static void on_reply(void *u, unsigned long client, const char *line)
{
        struct fixture *f = u;
        f->last_client = client;
        snprintf(f->last_reply, sizeof(f->last_reply), "%s", line);
        f->n_replies++;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/vl-agent-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->path, sizeof(f->path), "%s/agent.sock", f->dir);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        strcpy(addr.sun_path, f->path);
        f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            listen(f->listen_fd, 1) < 0)
                return -1;
        struct guest_agent_ops ops = {
                .userdata = f, .up = on_up, .down = on_down, .reply = on_reply};
        struct vl_error err = {0};
        if (guest_agent_open(f->path, &ops, &f->agent, &err) < 0)
                return -1;
        f->agent_fd = accept(f->listen_fd, NULL, NULL);
        *state = f;
        return f->agent_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        guest_agent_close(f->agent);
        close(f->agent_fd);
        close(f->listen_fd);
        unlink(f->path);
        rmdir(f->dir);
        free(f);
        return 0;
}

/* Lets the client run once, as the supervisor would after poll. */
static void pump(struct fixture *f)
{
        struct pollfd fds[1];
        size_t n = guest_agent_pollfds(f->agent, fds, 1);
        if (n)
                (void)poll(fds, n, 200);
        guest_agent_dispatch(f->agent, fds, n, vl_monotonic_ms());
}

/* What the client sent the agent since the last call (waits a little for it). */
static void agent_reads(struct fixture *f, char *buf, size_t len)
{
        struct pollfd p = {.fd = f->agent_fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 2000), 1);
        ssize_t n = read(f->agent_fd, buf, len - 1);
        assert_true(n > 0);
        buf[n] = '\0';
}

static void agent_writes(struct fixture *f, const char *text, size_t len)
{
        assert_int_equal(write(f->agent_fd, text, len), (ssize_t)len);
        pump(f);
}

static long long sync_id_in(const char *sent)
{
        const char *id = strstr(sent, "\"id\":");
        assert_non_null(id);
        assert_true((unsigned char)sent[0] == 0xff); /* the delimiter resets qemu-ga's parser */
        return atoll(id + 5);
}

/* Port opens, the agent answers sync (after stale output) and ping: up. */
static void bring_up(struct fixture *f)
{
        char sent[4096], answer[256];
        guest_agent_port_changed(f->agent, true, vl_monotonic_ms());
        agent_reads(f, sent, sizeof(sent));
        long long id = sync_id_in(sent);
        /* A stale reply of an earlier agent, then the delimiter and the sync's answer. */
        int n = snprintf(answer, sizeof(answer), "{\"return\": 12345}\n\xff{\"return\": %lld}\n",
                         id);
        agent_writes(f, answer, (size_t)n);
        assert_int_equal(f->ups, 0); /* synced, not yet pinged */
        agent_reads(f, sent, sizeof(sent));
        assert_non_null(strstr(sent, "guest-ping"));
        agent_writes(f, "{\"return\": {}}\n", 15);
        assert_int_equal(f->ups, 1);
        assert_true(guest_agent_is_up(f->agent));
}

static void test_agent_is_up_only_after_sync_and_ping(void **state)
{
        struct fixture *f = *state;
        assert_false(guest_agent_is_up(f->agent));
        bring_up(f);
}

static void test_wrong_sync_id_is_ignored(void **state)
{
        struct fixture *f = *state;
        char sent[4096], answer[128];
        guest_agent_port_changed(f->agent, true, vl_monotonic_ms());
        agent_reads(f, sent, sizeof(sent));
        long long id = sync_id_in(sent);
        int n = snprintf(answer, sizeof(answer), "\xff{\"return\": %lld}\n", id + 1);
        agent_writes(f, answer, (size_t)n);
        struct pollfd p = {.fd = f->agent_fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 300), 0); /* no ping went out */
        assert_int_equal(f->ups, 0);
}

static void test_commands_are_answered_in_order(void **state)
{
        struct fixture *f = *state;
        bring_up(f);
        char sent[4096];
        struct json_object *cmd = json_tokener_parse("{\"execute\":\"guest-info\"}");
        guest_agent_request(f->agent, 7, cmd, 0, vl_monotonic_ms());
        guest_agent_request(f->agent, 8, cmd, 0, vl_monotonic_ms());
        json_object_put(cmd);
        agent_reads(f, sent, sizeof(sent));
        /* one at a time: the second waits for the first's answer */
        assert_non_null(strstr(sent, "guest-info"));
        assert_null(strstr(strstr(sent, "guest-info") + 1, "guest-info"));
        agent_writes(f, "{\"return\": {\"version\": \"7.2\"}}\n", 31);
        assert_int_equal(f->last_client, 7);
        assert_string_equal(f->last_reply, "{\"return\":{\"version\":\"7.2\"}}");
        agent_reads(f, sent, sizeof(sent));
        agent_writes(f, "{\"error\": {\"class\": \"x\", \"desc\": \"no\"}}\n", 40);
        assert_int_equal(f->last_client, 8);
        assert_non_null(strstr(f->last_reply, "\"desc\":\"no\""));
}

static void test_shutdown_is_answered_once_sent(void **state)
{
        struct fixture *f = *state;
        bring_up(f);
        char sent[4096];
        struct json_object *cmd = json_tokener_parse("{\"execute\":\"guest-shutdown\"}");
        guest_agent_request(f->agent, 3, cmd, 0, vl_monotonic_ms());
        json_object_put(cmd);
        agent_reads(f, sent, sizeof(sent));
        assert_non_null(strstr(sent, "guest-shutdown"));
        assert_int_equal(f->last_client, 3);
        assert_string_equal(f->last_reply, "{\"return\":{}}");
        assert_true(guest_agent_shutdown(f->agent, vl_monotonic_ms()));
        agent_reads(f, sent, sizeof(sent));
        assert_non_null(strstr(sent, "\"mode\":\"powerdown\""));
}

static void test_timed_out_command_is_answered_and_the_agent_resynced(void **state)
{
        struct fixture *f = *state;
        bring_up(f);
        char sent[4096];
        struct json_object *cmd = json_tokener_parse("{\"execute\":\"guest-fsfreeze-freeze\"}");
        guest_agent_request(f->agent, 4, cmd, 100, vl_monotonic_ms());
        json_object_put(cmd);
        agent_reads(f, sent, sizeof(sent));
        long long deadline = guest_agent_deadline_ms(f->agent);
        assert_true(deadline > 0);
        guest_agent_dispatch(f->agent, NULL, 0, deadline);
        assert_int_equal(f->last_client, 4);
        assert_non_null(strstr(f->last_reply, "did not answer in time"));
        /* a new sync goes out so that the late answer is not taken for the next one's */
        agent_reads(f, sent, sizeof(sent));
        sync_id_in(sent);
}

static void test_closed_port_is_down_and_answers_what_waits(void **state)
{
        struct fixture *f = *state;
        bring_up(f);
        struct json_object *cmd = json_tokener_parse("{\"execute\":\"guest-info\"}");
        guest_agent_request(f->agent, 9, cmd, 0, vl_monotonic_ms());
        json_object_put(cmd);
        guest_agent_port_changed(f->agent, false, vl_monotonic_ms());
        assert_int_equal(f->downs, 1);
        assert_int_equal(f->last_client, 9);
        assert_non_null(strstr(f->last_reply, "went away"));
        cmd = json_tokener_parse("{\"execute\":\"guest-info\"}");
        guest_agent_request(f->agent, 10, cmd, 0, vl_monotonic_ms());
        json_object_put(cmd);
        assert_int_equal(f->last_client, 10);
        assert_non_null(strstr(f->last_reply, "not up"));
}

static void test_malformed_command_is_refused(void **state)
{
        struct fixture *f = *state;
        bring_up(f);
        struct json_object *cmd = json_tokener_parse("{\"exec\":\"guest-info\"}");
        guest_agent_request(f->agent, 11, cmd, 0, vl_monotonic_ms());
        json_object_put(cmd);
        assert_int_equal(f->last_client, 11);
        assert_non_null(strstr(f->last_reply, "expected a guest agent command"));
}

static void test_address_prefers_ipv4_and_skips_loopback_and_link_local(void **state)
{
        (void)state;
        char addr[64];
        const char *reply =
                "{\"return\":[{\"name\":\"lo\",\"ip-addresses\":[{\"ip-address-type\":\"ipv4\",\"ip-address\":\"127.0.0.1\"}]},"
                "{\"name\":\"eth0\",\"ip-addresses\":[{\"ip-address-type\":\"ipv6\",\"ip-address\":\"fe80::1\"},"
                "{\"ip-address-type\":\"ipv6\",\"ip-address\":\"fd00::5\"},"
                "{\"ip-address-type\":\"ipv4\",\"ip-address\":\"169.254.3.4\"},"
                "{\"ip-address-type\":\"ipv4\",\"ip-address\":\"192.168.1.50\"}]}]}";
        assert_true(readiness_pick_address(reply, addr, sizeof(addr)));
        assert_string_equal(addr, "192.168.1.50");
        const char *v6_only =
                "{\"return\":[{\"name\":\"eth0\",\"ip-addresses\":[{\"ip-address-type\":\"ipv6\",\"ip-address\":\"fe80::1\"},"
                "{\"ip-address-type\":\"ipv6\",\"ip-address\":\"fd00::5\"}]}]}";
        assert_true(readiness_pick_address(v6_only, addr, sizeof(addr)));
        assert_string_equal(addr, "fd00::5");
        assert_false(readiness_pick_address("{\"return\":[]}", addr, sizeof(addr)));
        assert_false(readiness_pick_address("{\"error\":{}}", addr, sizeof(addr)));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_agent_is_up_only_after_sync_and_ping, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wrong_sync_id_is_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commands_are_answered_in_order, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_shutdown_is_answered_once_sent, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_timed_out_command_is_answered_and_the_agent_resynced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_closed_port_is_down_and_answers_what_waits,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_command_is_refused, setup, teardown),
                cmocka_unit_test(test_address_prefers_ipv4_and_skips_loopback_and_link_local),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
