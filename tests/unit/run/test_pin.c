/* Parsing QEMU's thread lists and the pin log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <string.h>

#include "run/pin.h"

static void test_query_cpus_fast_reply_is_sorted_by_cpu_index(void **state)
{
        (void)state;
        struct json_object *ret = json_tokener_parse(
                "[{\"cpu-index\": 1, \"thread-id\": 1235, \"qom-path\": \"/m/u[1]\"}, {\"cpu-index\": 0, \"thread-id\": 1234, \"qom-path\": \"/m/u[0]\"}]");
        struct pin_report r = {0};
        struct vl_error err = {0};
        assert_int_equal(pin_parse_vcpus(ret, &r, &err), 0);
        assert_int_equal(r.count, 2);
        assert_int_equal(r.threads[0].kind, PIN_VCPU);
        assert_int_equal(r.threads[0].vcpu, 0);
        assert_int_equal(r.threads[0].tid, 1234);
        assert_int_equal(r.threads[1].vcpu, 1);
        assert_int_equal(r.threads[1].tid, 1235);
        pin_report_free(&r);
        json_object_put(ret);
}

static void test_vcpu_without_thread_id_is_an_error(void **state)
{
        (void)state;
        struct json_object *ret = json_tokener_parse("[{\"cpu-index\": 0}]");
        struct pin_report r = {0};
        struct vl_error err = {0};
        assert_true(pin_parse_vcpus(ret, &r, &err) < 0);
        assert_non_null(strstr(err.msg, "thread-id"));
        pin_report_free(&r);
        json_object_put(ret);
}

static void test_query_iothreads_reply_gives_ids_and_tids(void **state)
{
        (void)state;
        struct json_object *ret = json_tokener_parse(
                "[{\"id\": \"io1\", \"thread-id\": 1240, \"poll-max-ns\": 32768}]");
        struct pin_report r = {0};
        struct vl_error err = {0};
        assert_int_equal(pin_parse_iothreads(ret, &r, &err), 0);
        assert_int_equal(r.count, 1);
        assert_int_equal(r.threads[0].kind, PIN_IOTHREAD);
        assert_string_equal(r.threads[0].id, "io1");
        assert_int_equal(r.threads[0].tid, 1240);
        pin_report_free(&r);
        json_object_put(ret);
}

static void test_cpu_sets_are_written_as_ranges(void **state)
{
        (void)state;
        cpu_set_t set;
        char buf[64];
        CPU_ZERO(&set);
        pin_format_cpus(&set, buf, sizeof(buf));
        assert_string_equal(buf, "none");
        CPU_SET(0, &set);
        CPU_SET(3, &set);
        CPU_SET(5, &set);
        CPU_SET(6, &set);
        CPU_SET(7, &set);
        pin_format_cpus(&set, buf, sizeof(buf));
        assert_string_equal(buf, "0,3,5-7");
}

static void test_log_lines_name_thread_tid_and_cpus(void **state)
{
        (void)state;
        char buf[128];
        struct pin_thread vcpu = {.kind = PIN_VCPU, .vcpu = 3, .tid = 1234, .pinned = true};
        CPU_SET(3, &vcpu.actual);
        pin_describe(&vcpu, buf, sizeof(buf));
        assert_string_equal(buf, "vCPU 3 (tid 1234) -> CPU 3");

        struct pin_thread io = {.kind = PIN_IOTHREAD, .id = "io1", .tid = 1240, .pinned = true};
        CPU_SET(0, &io.actual);
        CPU_SET(1, &io.actual);
        pin_describe(&io, buf, sizeof(buf));
        assert_string_equal(buf, "iothread io1 (tid 1240) -> CPUs 0,1");

        struct pin_thread emu = {.kind = PIN_EMULATOR, .tid = 1200, .pinned = true};
        CPU_SET(0, &emu.actual);
        CPU_SET(3, &emu.actual);
        pin_describe(&emu, buf, sizeof(buf));
        assert_string_equal(buf, "emulator (pid 1200) -> CPUs 0,3");

        emu.pinned = false;
        pin_describe(&emu, buf, sizeof(buf));
        assert_string_equal(buf, "emulator (pid 1200) -> CPUs 0,3 (unpinned)");
}

static void test_cpu_beyond_cpu_setsize_is_refused(void **state)
{
        (void)state;
        unsigned cpus[] = {0, CPU_SETSIZE};
        struct vmdef_cpulist l = {.count = 2, .cpus = cpus};
        cpu_set_t set;
        struct vl_error err = {0};
        assert_true(pin_cpulist_to_set(&l, &set, &err) < 0);
        assert_non_null(strstr(err.msg, "beyond"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_query_cpus_fast_reply_is_sorted_by_cpu_index),
                cmocka_unit_test(test_vcpu_without_thread_id_is_an_error),
                cmocka_unit_test(test_query_iothreads_reply_gives_ids_and_tids),
                cmocka_unit_test(test_cpu_sets_are_written_as_ranges),
                cmocka_unit_test(test_log_lines_name_thread_tid_and_cpus),
                cmocka_unit_test(test_cpu_beyond_cpu_setsize_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
