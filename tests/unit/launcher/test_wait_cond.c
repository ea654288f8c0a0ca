/* wait_cond: the conditions of `vmlaunch wait` and the event lines that make them hold. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "launcher/wait_cond.h"

static struct wait_cond parse_ok(const char *text)
{
        struct wait_cond c;
        char why[256] = "";
        assert_int_equal(wait_cond_parse(text, &c, why, sizeof(why)), 0);
        return c;
}

/* The message for a refused condition. */
static char *refusal(const char *text)
{
        static char why[256];
        struct wait_cond c;
        assert_int_equal(wait_cond_parse(text, &c, why, sizeof(why)), -EINVAL);
        return why;
}

static void test_plain_conditions_are_named(void **state)
{
        (void)state;
        assert_int_equal(parse_ok("running").kind, WAIT_RUNNING);
        assert_int_equal(parse_ok("stopped").kind, WAIT_STOPPED);
        assert_int_equal(parse_ok("agent").kind, WAIT_AGENT);
        assert_int_equal(parse_ok("ready").kind, WAIT_READY);
}

static void test_tcp_takes_a_host_and_a_port(void **state)
{
        (void)state;
        struct wait_cond c = parse_ok("tcp:127.0.0.1:47989");
        assert_int_equal(c.kind, WAIT_TCP);
        assert_string_equal(c.host, "127.0.0.1");
        assert_string_equal(c.port, "47989");
        c = parse_ok("tcp:gaming-vm.lan:1");
        assert_string_equal(c.host, "gaming-vm.lan");
        assert_string_equal(c.port, "1");
        c = parse_ok("tcp:[fe80::1]:65535");
        assert_string_equal(c.host, "fe80::1");
        assert_string_equal(c.port, "65535");
}

static void test_unknown_conditions_are_refused_naming_the_choices(void **state)
{
        (void)state;
        assert_string_equal(
                refusal("runing"),
                "'runing': unknown condition; expected running, stopped, agent, ready or tcp:HOST:PORT");
        refusal("");
        refusal("RUNNING");
        refusal("tcp");
}

static void test_tcp_without_a_valid_port_is_refused(void **state)
{
        (void)state;
        assert_string_equal(refusal("tcp:host"), "'tcp:host': no port; expected tcp:HOST:PORT");
        assert_string_equal(refusal("tcp:host:"), "'tcp:host:': no port; expected tcp:HOST:PORT");
        assert_string_equal(refusal("tcp:host:0"),
                            "'tcp:host:0': port '0': expected a number from 1 to 65535");
        assert_string_equal(refusal("tcp:host:65536"),
                            "'tcp:host:65536': port '65536': expected a number from 1 to 65535");
        refusal("tcp:host:99999");
        refusal("tcp:host:-1");
        refusal("tcp:host:+80");
        refusal("tcp:host:8o");
        refusal("tcp:host:080000");
        assert_string_equal(refusal("tcp::80"), "'tcp::80': no host; expected tcp:HOST:PORT");
        refusal("tcp:[::1]80");
        refusal("tcp:[::1:80");
        assert_string_equal(refusal("tcp:::1:80"),
                            "'tcp:::1:80': put an IPv6 address in brackets: tcp:[ADDRESS]:PORT");
}

static void test_a_host_name_too_long_is_refused(void **state)
{
        (void)state;
        char text[WAIT_HOST_MAX + 16];
        memset(text, 'a', sizeof(text));
        memcpy(text, "tcp:", 4);
        memcpy(text + sizeof(text) - 4, ":80", 4);
        refusal(text);
}

static bool held(const char *cond, const char *line)
{
        struct json_object *event = json_tokener_parse(line);
        assert_non_null(event);
        struct wait_cond c = parse_ok(cond);
        bool r = wait_cond_held_by(&c, event);
        json_object_put(event);
        return r;
}

static void test_running_holds_in_state_running_only(void **state)
{
        (void)state;
        assert_true(held("running", "{\"event\":\"hello\",\"state\":\"running\"}"));
        assert_true(held("running", "{\"event\":\"running\",\"state\":\"running\"}"));
        assert_true(held("running", "{\"event\":\"paused\",\"state\":\"running\"}"));
        assert_false(held("running", "{\"event\":\"hello\",\"state\":\"preparing\"}"));
        assert_false(held("running", "{\"event\":\"qemu-started\",\"state\":\"starting\"}"));
        assert_false(held("running", "{\"event\":\"stopping\",\"state\":\"stopping\"}"));
        assert_false(held("running", "{\"event\":\"lagged\",\"dropped\":1}"));
        assert_false(held("running", "{\"error\":\"too many clients\"}"));
}

static void test_agent_holds_by_hello_or_agent_up(void **state)
{
        (void)state;
        assert_true(held("agent", "{\"event\":\"hello\",\"state\":\"running\",\"agent\":\"up\"}"));
        assert_true(held("agent", "{\"event\":\"agent-up\",\"state\":\"running\"}"));
        assert_false(
                held("agent", "{\"event\":\"hello\",\"state\":\"running\",\"agent\":\"down\"}"));
        assert_false(held("agent", "{\"event\":\"hello\",\"state\":\"running\",\"agent\":null}"));
        assert_false(held("agent", "{\"event\":\"agent-down\",\"state\":\"running\"}"));
        assert_false(held("agent", "{\"event\":\"running\",\"state\":\"running\"}"));
}

static void test_ready_holds_by_hello_or_ready_event(void **state)
{
        (void)state;
        assert_true(held("ready", "{\"event\":\"hello\",\"state\":\"running\",\"ready\":true}"));
        assert_true(held("ready", "{\"event\":\"ready\",\"state\":\"running\"}"));
        assert_false(held("ready", "{\"event\":\"hello\",\"state\":\"running\",\"ready\":false}"));
        assert_false(held("ready", "{\"event\":\"running\",\"state\":\"running\"}"));
}

static void test_stopped_holds_by_exited(void **state)
{
        (void)state;
        assert_true(
                held("stopped", "{\"event\":\"exited\",\"state\":\"stopped\",\"exit_code\":0}"));
        assert_true(held("stopped",
                         "{\"event\":\"exited\",\"state\":\"needs-restore\",\"exit_code\":9}"));
        assert_false(held("stopped", "{\"event\":\"restored\",\"state\":\"restoring\"}"));
        assert_false(held("stopped", "{\"event\":\"hello\",\"state\":\"stopping\"}"));
}

static void test_tcp_is_probed_only_while_the_guest_runs(void **state)
{
        (void)state;
        assert_false(held("tcp:127.0.0.1:80", "{\"event\":\"running\",\"state\":\"running\"}"));
        assert_true(wait_cond_probe_in_state("running"));
        assert_false(wait_cond_probe_in_state("preparing"));
        assert_false(wait_cond_probe_in_state("starting"));
        assert_false(wait_cond_probe_in_state("stopping"));
        assert_false(wait_cond_probe_in_state(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_conditions_are_named),
                cmocka_unit_test(test_tcp_takes_a_host_and_a_port),
                cmocka_unit_test(test_unknown_conditions_are_refused_naming_the_choices),
                cmocka_unit_test(test_tcp_without_a_valid_port_is_refused),
                cmocka_unit_test(test_a_host_name_too_long_is_refused),
                cmocka_unit_test(test_running_holds_in_state_running_only),
                cmocka_unit_test(test_agent_holds_by_hello_or_agent_up),
                cmocka_unit_test(test_ready_holds_by_hello_or_ready_event),
                cmocka_unit_test(test_stopped_holds_by_exited),
                cmocka_unit_test(test_tcp_is_probed_only_while_the_guest_runs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
