/* Hugepages per NUMA node: a VM whose vCPUs sit on one node gets its pages from that
 * node's pool and gives back exactly what it took from it; a VM spread over nodes
 * uses the global pool. Pages someone else reserved are never freed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hostprep_defs.h"
#include "hostprep_fixture.h"

#define NODE1_POOL  "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"
#define NODE0_POOL  "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
#define GLOBAL_POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

/* DEF_RTX2060 with other pins: 1 GiB = 512 x 2M pages. */
#define DEF_PINNED(vcpus)                                                                          \
        "[vm]\nname = win10\n"                                                                     \
        "[memory]\nsize = 1G\nhugepages = 2M\nallocate_hugepages = yes\n"                          \
        "[cpu]\ncores = 2\nthreads = 1\nvcpu_pin = " vcpus "\nemulator_pin = 0\n"                  \
        "[gpu]\naddress = 06:00.0\n"                                                               \
        "[host]\nstop_units = display-manager.service\n"

static char log_text[4096];

static void capture_log(void *userdata, int priority, const char *line)
{
        (void)userdata;
        (void)priority;
        size_t used = strlen(log_text);
        snprintf(log_text + used, sizeof(log_text) - used, "%s\n", line);
}

static char *plan_text(struct fixture *f)
{
        struct hostprep_plan plan;
        struct vl_error err = {0};
        assert_int_equal(hostprep_plan(f->def, &f->opts, &plan, &err), 0);
        char *text = fixture_plan_text(&plan);
        hostprep_plan_free(&plan);
        return text;
}

static void assert_pool(struct fixture *f, const char *path, const char *expected)
{
        char buf[64];
        fixture_read(f, path, buf, sizeof(buf));
        if (strcmp(buf, expected) != 0)
                fprintf(stderr, "%s = %s, expected %s\n", path, buf, expected);
        assert_string_equal(buf, expected);
}

static int restore(struct fixture *f)
{
        struct hostprep_report report;
        struct vl_error err = {0};
        int r = hostprep_restore(&f->opts, &report, &err);
        if (r < 0)
                fprintf(stderr, "restore: %s\n", err.msg);
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        return r;
}

static void test_plan_of_vcpus_pinned_to_node_1_reserves_on_node_1(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-2node", DEF_PINNED("2-3"));
        char *text = plan_text(&f);
        const char *line =
                "hugepages: reserve 512 x 2048 kB pages on NUMA node 1 (the vCPUs' node): " NODE1_POOL
                " 64 -> 576\n";
        if (!strstr(text, line))
                fprintf(stderr, "plan:\n%s", text);
        assert_non_null(strstr(text, line));
        free(text);
        fixture_teardown(&f);
}

static void test_plan_of_vcpus_spanning_both_nodes_uses_the_global_pool(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-2node", DEF_PINNED("1-2"));
        char *text = plan_text(&f);
        const char *line =
                "hugepages: reserve 512 x 2048 kB pages from all 2 NUMA nodes (the vCPUs are not on one): " GLOBAL_POOL
                " 64 -> 576\n";
        if (!strstr(text, line))
                fprintf(stderr, "plan:\n%s", text);
        assert_non_null(strstr(text, line));
        free(text);
        fixture_teardown(&f);
}

static void test_prepare_on_node_1_then_restore_gives_back_exactly_node_1s_pages(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-2node", DEF_PINNED("2-3"));
        char *before = fixture_snapshot(&f);
        struct hostprep_report report;
        struct vl_error err = {0};
        int r = hostprep_prepare(f.def, &f.opts, &report, &err);
        if (r < 0)
                fprintf(stderr, "prepare: %s\n", err.msg);
        assert_int_equal(r, 0);
        hostprep_report_free(&report);
        assert_pool(&f, NODE1_POOL, "576");
        assert_pool(&f, NODE0_POOL, "0"); /* node 0 untouched */
        assert_pool(&f, GLOBAL_POOL, "576");
        assert_int_equal(restore(&f), 0);
        assert_pool(&f, NODE1_POOL, "64"); /* the other VM's pages stay */
        assert_pool(&f, GLOBAL_POOL, "64");
        char *after = fixture_snapshot(&f);
        if (strcmp(before, after) != 0)
                fixture_print_diff(before, after);
        assert_string_equal(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void test_prepare_spanning_both_nodes_reserves_and_restores_the_global_pool(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-2node", DEF_PINNED("1-2"));
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_int_equal(hostprep_prepare(f.def, &f.opts, &report, &err), 0);
        hostprep_report_free(&report);
        assert_pool(&f, GLOBAL_POOL, "576");
        assert_pool(&f, NODE1_POOL, "64");
        assert_int_equal(restore(&f), 0);
        assert_pool(&f, GLOBAL_POOL, "64");
        fixture_teardown(&f);
}

static void test_shortfall_on_node_1_says_reserved_n_of_m_pages_on_node_1(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-2node", DEF_PINNED("2-3"));
        fixture_write_tmp(&f, "fake/hugepages_obtainable", "100");
        char *before = fixture_snapshot(&f);
        struct hostprep_report report;
        struct vl_error err = {0};
        int r = hostprep_prepare(f.def, &f.opts, &report, &err);
        fprintf(stderr, "%s\n", err.msg);
        assert_true(r < 0);
        assert_non_null(strstr(err.msg, "reserved 100 of 512 pages on node 1 (2048 kB each"));
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        assert_pool(&f, NODE1_POOL, "64"); /* only our 100 were freed again */
        char *after = fixture_snapshot(&f);
        assert_string_equal(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void test_restore_frees_only_our_pages_when_someone_reserved_more_meanwhile(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-2node", DEF_PINNED("2-3"));
        f.opts.log = capture_log;
        log_text[0] = '\0';
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_int_equal(hostprep_prepare(f.def, &f.opts, &report, &err), 0);
        hostprep_report_free(&report);
        /* while the VM runs, another VM takes 32 more pages on node 1 */
        fixture_write_tmp(&f, "root" NODE1_POOL, "608\n");
        assert_int_equal(restore(&f), 0);
        assert_pool(&f, NODE1_POOL, "96"); /* 64 from before + the other VM's 32 */
        assert_non_null(strstr(
                log_text,
                "someone else reserved 32 more pages while the VM ran; freed only our 512 (608 -> 96)"));
        /* restoring again changes nothing */
        fixture_write_tmp(&f, "run/vm/journal",
                          "vmlaunch-journal 1 vm=win10\n"
                          "hugepages desc=again path=" NODE1_POOL " pages=64 added=512\n");
        assert_int_equal(restore(&f), 0);
        assert_pool(&f, NODE1_POOL, "96");
        fixture_teardown(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_of_vcpus_pinned_to_node_1_reserves_on_node_1),
                cmocka_unit_test(test_plan_of_vcpus_spanning_both_nodes_uses_the_global_pool),
                cmocka_unit_test(
                        test_prepare_on_node_1_then_restore_gives_back_exactly_node_1s_pages),
                cmocka_unit_test(
                        test_prepare_spanning_both_nodes_reserves_and_restores_the_global_pool),
                cmocka_unit_test(test_shortfall_on_node_1_says_reserved_n_of_m_pages_on_node_1),
                cmocka_unit_test(
                        test_restore_frees_only_our_pages_when_someone_reserved_more_meanwhile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
