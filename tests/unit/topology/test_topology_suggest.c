/* Pinning suggestions on synthetic machines, starting with the guide's Ryzen 5 1600. */
#include "topology_testlib.h"

static struct topology_pin_plan suggest(const struct topology *t, unsigned n, unsigned iothreads)
{
        struct topology_pin_plan p;
        struct topology_pin_request req = {.n_vcpus = n, .n_iothreads = iothreads};
        struct vl_error err = {0};
        int r = topology_pin_suggest(t, &req, &p, &err);
        if (r < 0)
                fail_msg("suggest %u: %s", n, err.msg);
        assert_plan_well_formed(t, &p, n);
        return p;
}

static void format(const struct vmdef_cpulist *l, char *buf, size_t len)
{
        vmdef_cpulist_format(l->cpus, l->count, buf, len);
}

static void test_ryzen1600_reads_as_two_ccx_of_three_smt_cores(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        assert_int_equal(t->n_packages, 1);
        assert_int_equal(t->n_l3s, 2);
        assert_int_equal(t->n_cores, 6);
        assert_int_equal(t->n_cpus, 12);
        assert_int_equal(t->threads_per_core, 2);
        assert_int_equal(t->cores[0].n_cpus, 2);
        assert_int_equal(t->cores[0].cpus[0], 0);
        assert_int_equal(t->cores[0].cpus[1], 1);
        assert_int_equal(t->cores[2].l3, 0);
        assert_int_equal(t->cores[3].l3, 1);
        assert_int_equal(topology_housekeeping_core(t), 0);
        topology_free(t);
}

static void test_ryzen1600_8_vcpus_get_four_whole_cores_three_in_one_ccx(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct topology_pin_plan p = suggest(t, 8, 1);
        char buf[256];

        /* 4 whole cores: 3 fill CCX 1 (CPUs 6-11), 1 in CCX 0, core 0 left alone. */
        format(&p.vcpus, buf, sizeof(buf));
        assert_string_equal(buf, "4-11");
        size_t per_l3[2] = {0};
        for (size_t v = 0; v < 8; v++)
                per_l3[t->cores[core_of(t, p.vcpus.cpus[v])].l3]++;
        assert_int_equal(per_l3[1], 6);
        assert_int_equal(per_l3[0], 2);
        assert_false(list_has(&p.vcpus, 0));
        assert_false(list_has(&p.vcpus, 1));
        /* The guest mirrors the host: 1 socket, 4 cores, 2 threads. */
        assert_int_equal(p.sockets, 1);
        assert_int_equal(p.dies, 1);
        assert_int_equal(p.cores, 4);
        assert_int_equal(p.threads, 2);
        /* Emulator and iothread on core 1, the host core that shares CCX 0 with vCPUs
         * and is not the housekeeping core. */
        format(&p.emulator, buf, sizeof(buf));
        assert_string_equal(buf, "2");
        assert_int_equal(p.n_iothreads, 1);
        format(&p.iothreads[0], buf, sizeof(buf));
        assert_string_equal(buf, "3");
        assert_non_null(strstr(p.why_vcpus, "core 0 (CPUs 0,1) stays with the host"));
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_ryzen1600_6_vcpus_get_one_whole_ccx(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct topology_pin_plan p = suggest(t, 6, 1);
        char buf[256];
        format(&p.vcpus, buf, sizeof(buf));
        assert_string_equal(buf, "6-11");
        assert_int_equal(p.cores, 3);
        assert_int_equal(p.threads, 2);
        format(&p.emulator, buf, sizeof(buf));
        assert_string_equal(buf, "2"); /* core 1: the host keeps core 0 for itself */
        assert_non_null(strstr(p.why_vcpus, "one L3 domain"));
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_ryzen1600_4_vcpus_stay_in_the_ccx_without_the_housekeeping_core(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct topology_pin_plan p = suggest(t, 4, 1);
        char buf[256];
        format(&p.vcpus, buf, sizeof(buf));
        assert_string_equal(buf, "6-9");
        format(&p.emulator, buf, sizeof(buf));
        assert_string_equal(buf, "10"); /* the free core of the same CCX */
        format(&p.iothreads[0], buf, sizeof(buf));
        assert_string_equal(buf, "11");
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_odd_vcpu_count_gives_single_thread_guest_cores(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct topology_pin_plan p = suggest(t, 5, 0);
        assert_int_equal(p.threads, 1);
        assert_int_equal(p.cores, 5);
        assert_non_null(strstr(p.why_topology, "not a multiple"));
        assert_int_equal(p.n_iothreads, 0);
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_all_cpus_as_vcpus_notes_that_nothing_is_left_to_the_host(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct topology_pin_plan p = suggest(t, 12, 1);
        assert_true(p.notes.count > 0);
        assert_non_null(strstr(p.notes.items[0], "no whole core is left to the host"));
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_more_vcpus_than_cpus_is_refused_with_the_reason(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct topology_pin_plan p;
        struct topology_pin_request req = {.n_vcpus = 13};
        struct vl_error err = {0};
        assert_int_equal(topology_pin_suggest(t, &req, &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "13 vCPUs"));
        assert_non_null(strstr(err.msg, "12 usable CPUs"));
        topology_free(t);
}

static void test_vcpus_spill_within_one_package_before_another(void **state)
{
        (void)state;
        /* 2 packages x 2 L3 x 2 cores x 2 threads: 10 vCPUs need 5 cores; package 1
         * holds 4 free cores, so it is 4 there and 1 in package 0 (not 2+2+1). */
        struct topology *t = load_synthetic("pack:2 l3:2 core:2 pu:2");
        struct topology_pin_plan p = suggest(t, 8, 0);
        for (size_t v = 0; v < 8; v++)
                assert_int_equal(t->cores[core_of(t, p.vcpus.cpus[v])].package, 1);
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_plan_renders_as_ini_with_a_reason_per_choice(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct topology_pin_plan p = suggest(t, 8, 2);
        struct vl_strv lines = {0};
        assert_int_equal(topology_pin_plan_ini(&p, &lines), 0);
        const char *expect[] = {
                "[cpu]",           "sockets = 1",        "dies = 1",    "cores = 4", "threads = 2",
                "vcpu_pin = 4-11", "emulator_pin = 2,3", "[iothreads]", "io1 = 2",   "io2 = 3"};
        for (size_t e = 0; e < sizeof(expect) / sizeof(expect[0]); e++) {
                bool found = false;
                for (size_t i = 0; i < lines.count; i++)
                        found = found || !strcmp(lines.items[i], expect[e]);
                if (!found)
                        fail_msg("no line \"%s\" in the INI block", expect[e]);
        }
        /* Each key line is preceded by its reason. */
        for (size_t i = 1; i < lines.count; i++)
                if (!strncmp(lines.items[i], "vcpu_pin", 8) ||
                    !strncmp(lines.items[i], "emulator_pin", 12))
                        assert_true(lines.items[i - 1][0] == '#');
        vl_strv_free(&lines);
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_describe_lists_ccxs_with_sibling_pairs(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vl_strv lines = {0};
        assert_int_equal(topology_describe(t, &lines), 0);
        bool ccx0 = false, ccx1 = false;
        for (size_t i = 0; i < lines.count; i++) {
                ccx0 = ccx0 || strstr(lines.items[i], "CPUs 0-5, cores 0-2: 0+1 2+3 4+5");
                ccx1 = ccx1 || strstr(lines.items[i], "CPUs 6-11, cores 3-5: 6+7 8+9 10+11");
        }
        assert_true(ccx0);
        assert_true(ccx1);
        assert_non_null(
                strstr(lines.items[0], "1 package, 1 NUMA node, 2 L3 domains, 6 cores, 12 CPUs"));
        vl_strv_free(&lines);
        topology_free(t);
}

static void test_cpulist_format_folds_ascending_runs_and_keeps_order(void **state)
{
        (void)state;
        char buf[64];
        vmdef_cpulist_format((unsigned[]){2, 3, 4, 8, 1, 6, 7}, 7, buf, sizeof(buf));
        assert_string_equal(buf, "2-4,8,1,6,7");
        vmdef_cpulist_format((unsigned[]){0, 36, 2, 38}, 4, buf, sizeof(buf));
        assert_string_equal(buf, "0,36,2,38");
        vmdef_cpulist_format(NULL, 0, buf, sizeof(buf));
        assert_string_equal(buf, "");
}

static void test_synthetic_descriptions_are_told_from_paths(void **state)
{
        (void)state;
        assert_true(topology_looks_synthetic(RYZEN_1600));
        assert_true(topology_looks_synthetic("pack:2 core:4 pu:2"));
        assert_false(topology_looks_synthetic("ryzen.xml"));
        assert_false(topology_looks_synthetic("/tmp/pack:1.xml"));
}

static void test_invalid_synthetic_description_is_an_error_with_an_example(void **state)
{
        (void)state;
        struct topology *t = NULL;
        struct vl_error err = {0};
        assert_true(topology_load(TOPOLOGY_SYNTHETIC, "pack:x banana:3", &t, &err) < 0);
        assert_null(t);
        assert_non_null(strstr(err.msg, "pack:1 l3:2 core:3 pu:2"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ryzen1600_reads_as_two_ccx_of_three_smt_cores),
                cmocka_unit_test(test_ryzen1600_8_vcpus_get_four_whole_cores_three_in_one_ccx),
                cmocka_unit_test(test_ryzen1600_6_vcpus_get_one_whole_ccx),
                cmocka_unit_test(
                        test_ryzen1600_4_vcpus_stay_in_the_ccx_without_the_housekeeping_core),
                cmocka_unit_test(test_odd_vcpu_count_gives_single_thread_guest_cores),
                cmocka_unit_test(test_all_cpus_as_vcpus_notes_that_nothing_is_left_to_the_host),
                cmocka_unit_test(test_more_vcpus_than_cpus_is_refused_with_the_reason),
                cmocka_unit_test(test_vcpus_spill_within_one_package_before_another),
                cmocka_unit_test(test_plan_renders_as_ini_with_a_reason_per_choice),
                cmocka_unit_test(test_describe_lists_ccxs_with_sibling_pairs),
                cmocka_unit_test(test_cpulist_format_folds_ascending_runs_and_keeps_order),
                cmocka_unit_test(test_synthetic_descriptions_are_told_from_paths),
                cmocka_unit_test(test_invalid_synthetic_description_is_an_error_with_an_example),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
