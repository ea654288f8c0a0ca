/* event_line: cutting the events socket's byte stream into lines, and the words
 * `vmlaunch events` prints for each event. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "launcher/event_line.h"

static void feed(struct event_lines *l, const char *text)
{
        assert_int_equal(event_lines_feed(l, text, strlen(text)), 0);
}

static void test_lines_come_out_whole_however_the_bytes_arrive(void **state)
{
        (void)state;
        struct event_lines l = {0};
        feed(&l, "{\"event\":\"he");
        assert_null(event_lines_next(&l));
        feed(&l, "llo\"}\n{\"event\":\"running\"}\n{\"ev");
        assert_string_equal(event_lines_next(&l), "{\"event\":\"hello\"}");
        assert_string_equal(event_lines_next(&l), "{\"event\":\"running\"}");
        assert_null(event_lines_next(&l));
        assert_int_equal(event_lines_pending(&l), 4);
        feed(&l, "ent\":\"exited\"}\n");
        assert_string_equal(event_lines_next(&l), "{\"event\":\"exited\"}");
        assert_null(event_lines_next(&l));
        assert_int_equal(event_lines_pending(&l), 0);
        event_lines_free(&l);
}

static void test_a_line_may_be_as_long_as_a_listener_buffer(void **state)
{
        (void)state;
        struct event_lines l = {0};
        size_t len = EVENT_LINE_MAX_BYTES - 1;
        char *big = malloc(len + 1);
        assert_non_null(big);
        memset(big, 'x', len);
        big[len] = '\n';
        for (size_t off = 0; off <= len; off += 4096) {
                size_t n = len + 1 - off < 4096 ? len + 1 - off : 4096;
                assert_int_equal(event_lines_feed(&l, big + off, n), 0);
        }
        const char *line = event_lines_next(&l);
        assert_non_null(line);
        assert_int_equal(strlen(line), len);
        free(big);
        event_lines_free(&l);
}

static void test_a_line_without_end_is_refused_beyond_the_bound(void **state)
{
        (void)state;
        struct event_lines l = {0};
        char chunk[4096];
        memset(chunk, 'x', sizeof(chunk));
        int r = 0;
        for (size_t fed = 0; r == 0 && fed <= EVENT_LINE_MAX_BYTES; fed += sizeof(chunk))
                r = event_lines_feed(&l, chunk, sizeof(chunk));
        assert_int_equal(r, -E2BIG);
        event_lines_free(&l);
}

/* The text of one event line. */
static char *text_of(const char *line)
{
        static char buf[512];
        struct json_object *event = json_tokener_parse(line);
        assert_non_null(event);
        event_text(event, buf, sizeof(buf));
        json_object_put(event);
        return buf;
}

/* 1764601445 is 2026-12-01 15:04:05 UTC; TZ=UTC is set in main. */
#define T "\"time\":1764601445.25,\"vm\":\"win10\","

static void test_each_event_reads_as_one_line_of_words(void **state)
{
        (void)state;
        assert_string_equal(text_of("{" T "\"event\":\"running\",\"state\":\"running\"}"),
                            "15:04:05 running");
        assert_string_equal(
                text_of("{" T "\"event\":\"preparing\",\"state\":\"preparing\",\"step\":\"vfio\"}"),
                "15:04:05 preparing vfio");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"step-undone\",\"state\":\"restoring\",\"step\":\"vfio\",\"change\":\"0000:06:00.0 vfio-pci -> nvidia\"}"),
                "15:04:05 step-undone vfio: 0000:06:00.0 vfio-pci -> nvidia");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"qemu-started\",\"state\":\"starting\",\"qemu_pid\":4242}"),
                "15:04:05 qemu-started pid 4242");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"shutdown\",\"state\":\"stopping\",\"guest\":false,\"reason\":\"host-qmp-quit\"}"),
                "15:04:05 shutdown by the host (host-qmp-quit)");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"stopping\",\"state\":\"stopping\",\"reason\":\"SIGTERM\"}"),
                "15:04:05 stopping (SIGTERM)");
        assert_string_equal(
                text_of("{" T "\"event\":\"restored\",\"state\":\"restoring\",\"ok\":false}"),
                "15:04:05 restored with failures");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"exited\",\"state\":\"stopped\",\"exit_code\":0,\"reason\":\"the guest powered off\"}"),
                "15:04:05 exited 0 (the guest powered off)");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"exited\",\"state\":\"stopped\",\"exit_code\":8,\"reason\":\"stopped on request\",\"detail\":\"stopped on request: QEMU exited with status 0\"}"),
                "15:04:05 exited 8 (stopped on request: QEMU exited with status 0)");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"exited\",\"state\":\"stopped\",\"exit_code\":8,\"reason\":\"stopped on request\",\"detail\":null}"),
                "15:04:05 exited 8 (stopped on request)");
}

static void test_the_hello_reads_as_the_state_now(void **state)
{
        (void)state;
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"hello\",\"state\":\"preparing\",\"step\":\"hugepages\",\"pid\":7,\"guest\":null,\"agent\":null,\"ready\":false}"),
                "15:04:05 state preparing hugepages");
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"hello\",\"state\":\"running\",\"step\":null,\"pid\":7,\"guest\":\"paused\",\"agent\":\"up\",\"ready\":true}"),
                "15:04:05 state running, guest paused, agent up, ready");
}

static void test_fields_without_words_are_shown_as_key_value(void **state)
{
        (void)state;
        assert_string_equal(
                text_of("{" T
                        "\"event\":\"panicked\",\"state\":\"running\",\"action\":\"pause\",\"info\":{\"type\":\"hyper-v\"}}"),
                "15:04:05 panicked action=pause info={\"type\":\"hyper-v\"}");
        assert_string_equal(text_of("{\"event\":\"lagged\",\"dropped\":3}"),
                            "--:--:-- lagged dropped=3");
        assert_string_equal(text_of("{\"error\":\"too many clients\"}"),
                            "--:--:-- error: too many clients");
}

static void test_a_short_buffer_truncates_without_overflow(void **state)
{
        (void)state;
        struct json_object *event = json_tokener_parse(
                "{" T "\"event\":\"preparing\",\"state\":\"preparing\",\"step\":\"vfio\"}");
        char buf[12];
        memset(buf, '#', sizeof(buf));
        event_text(event, buf, 10);
        assert_string_equal(buf, "15:04:05 ");
        assert_int_equal(buf[10], '#');
        json_object_put(event);
}

int main(void)
{
        setenv("TZ", "UTC", 1);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lines_come_out_whole_however_the_bytes_arrive),
                cmocka_unit_test(test_a_line_may_be_as_long_as_a_listener_buffer),
                cmocka_unit_test(test_a_line_without_end_is_refused_beyond_the_bound),
                cmocka_unit_test(test_each_event_reads_as_one_line_of_words),
                cmocka_unit_test(test_the_hello_reads_as_the_state_now),
                cmocka_unit_test(test_fields_without_words_are_shown_as_key_value),
                cmocka_unit_test(test_a_short_buffer_truncates_without_overflow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
