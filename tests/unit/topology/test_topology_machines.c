/* Real machines' topologies (hwloc's own test data, tests/fixtures/hwloc/): numbering that
 * is not consecutive, several NUMA nodes, dies, hybrid core kinds, offline CPUs. */
#include "topology_testlib.h"

static struct topology_pin_plan suggest(const struct topology *t, unsigned n)
{
        struct topology_pin_plan p;
        struct topology_pin_request req = {.n_vcpus = n, .n_iothreads = 1};
        struct vl_error err = {0};
        if (topology_pin_suggest(t, &req, &p, &err) < 0)
                fail_msg("suggest %u on %s: %s", n, t->source, err.msg);
        assert_plan_well_formed(t, &p, n);
        return p;
}

static void assert_list(const struct vmdef_cpulist *l, const char *expected)
{
        char buf[1024];
        vmdef_cpulist_format(l->cpus, l->count, buf, sizeof(buf));
        assert_string_equal(buf, expected);
}

static void test_skylake_siblings_are_36_apart_and_pairs_stay_together(void **state)
{
        (void)state;
        struct topology *t = load_fixture("Intel-Skylake-2xXeon6140.xml");
        assert_int_equal(t->n_packages, 2);
        assert_int_equal(t->n_l3s, 2);
        assert_int_equal(t->n_cores, 36);
        assert_int_equal(t->n_cpus, 72);
        /* Core 0 = CPU 0 + CPU 36; package 1's first core = CPU 1 + CPU 37. */
        assert_int_equal(t->cores[0].cpus[0], 0);
        assert_int_equal(t->cores[0].cpus[1], 36);
        assert_int_equal(t->cores[18].cpus[0], 1);
        assert_int_equal(t->cores[18].cpus[1], 37);
        assert_int_equal(t->cores[18].package, 1);

        /* 8 vCPUs: 4 whole cores in the package without the housekeeping core, each
         * guest core on a sibling pair (OS numbers, not consecutive). */
        struct topology_pin_plan p = suggest(t, 8);
        assert_int_equal(p.threads, 2);
        assert_list(&p.vcpus, "1,37,3,39,5,41,7,43");
        for (size_t v = 0; v < 8; v += 2)
                assert_int_equal(p.vcpus.cpus[v] + 36, p.vcpus.cpus[v + 1]);
        assert_list(&p.emulator, "9");
        assert_list(&p.iothreads[0], "45");
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_skylake_consecutive_pins_are_flagged_as_split_guest_cores(void **state)
{
        (void)state;
        /* Copying "0-7" from a guide written for a Ryzen puts guest siblings on CPUs 0
         * and 1, which are different cores in different packages here. */
        struct topology *t = load_fixture("Intel-Skylake-2xXeon6140.xml");
        struct vm_def *d = def_new(1, 4, 2);
        cpulist_set(&d->vcpu_pin, CPUS(0, 1, 2, 3, 4, 5, 6, 7));
        struct topology_pin_findings f;
        assert_int_equal(topology_pin_check(t, d, &f), 0);
        print_findings(&f);
        assert_non_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin",
                                     "vCPUs 0 and 1 form one guest core", "3 more guest cores"));
        assert_non_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin", "span 2 L3 domains",
                                     "e.g. vcpu_pin = "));
        topology_pin_findings_free(&f);
        def_free(d);
        topology_free(t);
}

static void test_epyc_7763_fills_one_ccx_of_eight_cores(void **state)
{
        (void)state;
        struct topology *t = load_fixture("AMD-19h-Zen3-2xEpyc-7763.xml");
        assert_int_equal(t->n_packages, 2);
        assert_int_equal(t->n_numa_nodes, 2);
        assert_int_equal(t->n_l3s, 16);
        assert_int_equal(t->n_cores, 128);
        assert_int_equal(t->threads_per_core, 1);
        assert_int_equal(t->cores[64].cpus[0], 64);
        assert_int_equal(t->cores[64].package, 1);
        assert_int_equal(t->cores[64].numa, 1);

        /* CCX 0 lost core 0 to the host, so 8 vCPUs take all of CCX 1. */
        struct topology_pin_plan p = suggest(t, 8);
        assert_list(&p.vcpus, "8-15");
        assert_int_equal(p.threads, 1);
        assert_int_equal(p.cores, 8);
        assert_list(&p.emulator, "1");
        assert_list(&p.iothreads[0], "2");
        topology_pin_plan_free(&p);

        /* 16 vCPUs: two whole CCXs of one package/NUMA node, the one without the
         * housekeeping core; the emulator stays on that node, next to guest memory. */
        p = suggest(t, 16);
        assert_list(&p.vcpus, "64-79");
        assert_int_equal(p.sockets, 1);
        assert_list(&p.emulator, "80");
        topology_pin_plan_free(&p);

        /* 128 vCPUs need both packages: one guest socket per host package, and the
         * host has to share its core. */
        p = suggest(t, 128);
        assert_int_equal(p.sockets, 2);
        assert_int_equal(p.cores, 64);
        assert_true(p.notes.count > 0);
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_haswell_packages_interleave_even_and_odd_cpus(void **state)
{
        (void)state;
        struct topology *t = load_fixture("Intel-Haswell-2xXeon-E5-2680v3.xml");
        assert_int_equal(t->n_packages, 2);
        assert_int_equal(t->n_l3s, 4);
        assert_int_equal(t->cores[1].cpus[0], 2);
        assert_int_equal(t->cores[12].cpus[0], 1);
        struct topology_pin_plan p = suggest(t, 6);
        /* The first whole L3 domain without the housekeeping core: package 0's second. */
        assert_list(&p.vcpus, "12,14,16,18,20,22");
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_qemu_2p3d3c2t_has_dies_each_with_its_own_l3(void **state)
{
        (void)state;
        struct topology *t = load_fixture("Intel-CPUID.1F-Qemu-2p3d3c2t.xml");
        assert_int_equal(t->n_packages, 2);
        assert_int_equal(t->n_dies, 6);
        assert_int_equal(t->n_l3s, 6);
        assert_int_equal(t->n_cores, 18);
        assert_int_equal(t->threads_per_core, 2);
        struct topology_pin_plan p = suggest(t, 6);
        assert_list(&p.vcpus, "6-11");
        assert_int_equal(p.cores, 3);
        assert_int_equal(p.threads, 2);
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_opteron_6272_has_eight_numa_nodes_and_stays_in_one(void **state)
{
        (void)state;
        struct topology *t = load_fixture("AMD-15h-Bulldozer-4xOpteron-6272.xml");
        assert_int_equal(t->n_packages, 4);
        assert_int_equal(t->n_numa_nodes, 8);
        assert_int_equal(t->n_l3s, 8);
        assert_int_equal(t->n_cores, 64);
        struct topology_pin_plan p = suggest(t, 8);
        assert_list(&p.vcpus, "8-15");
        topology_pin_plan_free(&p);
        /* 16 vCPUs: one package (two NUMA nodes), not two half-used packages. */
        p = suggest(t, 16);
        for (size_t v = 0; v < 16; v++)
                assert_int_equal(t->cores[core_of(t, p.vcpus.cpus[v])].package,
                                 t->cores[core_of(t, p.vcpus.cpus[0])].package);
        assert_true(p.notes.count > 0); /* the NUMA split is called out */
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_hybrid_kinds_are_read_and_efficiency_cores_called_out(void **state)
{
        (void)state;
        struct topology *t = load_fixture("fakecpukinds.xml");
        assert_int_equal(t->n_kinds, 3);
        assert_string_equal(t->kinds[0].name, "MySmallCore");
        assert_false(t->kinds[0].performance);
        assert_string_equal(t->kinds[2].name, "IntelCore");
        assert_true(t->kinds[2].performance);
        /* Siblings 0+2 and 1+3; every core holds a small-core CPU. */
        assert_int_equal(t->cores[0].cpus[1], 2);
        assert_int_equal(t->cores[1].cpus[0], 1);
        assert_true(t->cores[0].efficiency);
        assert_true(t->cores[1].efficiency);
        assert_int_equal(t->cpus[3].kind, 2);

        struct vm_def *d = def_new(1, 1, 2);
        cpulist_set(&d->vcpu_pin, CPUS(1, 3));
        cpulist_set(&d->emulator_pin, CPUS(0));
        struct topology_pin_findings f;
        assert_int_equal(topology_pin_check(t, d, &f), 0);
        print_findings(&f);
        assert_non_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin",
                                     "vCPUs 0,1 run on efficiency cores", "IntelCore: CPUs 3"));
        topology_pin_findings_free(&f);
        def_free(d);

        struct topology_pin_plan p = suggest(t, 2);
        assert_list(&p.vcpus, "1,3");
        assert_non_null(strstr(p.notes.items[0], "efficiency cores"));
        topology_pin_plan_free(&p);

        struct vl_strv lines = {0};
        assert_int_equal(topology_describe(t, &lines), 0);
        bool kinds = false;
        for (size_t i = 0; i < lines.count; i++)
                kinds = kinds || strstr(lines.items[i], "IntelCore (performance): CPUs 3");
        assert_true(kinds);
        vl_strv_free(&lines);
        topology_free(t);
}

static void test_offline_and_disallowed_cpus_are_errors(void **state)
{
        (void)state;
        struct topology *t = load_fixture("offline4-disallowed3-2c2t.xml");
        assert_int_equal(t->n_offline, 1);
        assert_int_equal(t->offline[0], 4);
        assert_false(topology_find_cpu(t, 3)->allowed);
        assert_false(t->cores[1].usable);

        struct vm_def *d = def_new(1, 1, 1);
        cpulist_set(&d->vcpu_pin, CPUS(3));
        cpulist_set(&d->emulator_pin, CPUS(4));
        struct topology_pin_findings f;
        assert_int_equal(topology_pin_check(t, d, &f), 0);
        print_findings(&f);
        assert_int_equal(f.n_errors, 2);
        assert_non_null(find_finding(&f, VMDEF_ERROR, "emulator_pin", "CPU 4 is offline",
                                     "/sys/devices/system/cpu/cpu4/online"));
        assert_non_null(find_finding(&f, VMDEF_ERROR, "vcpu_pin", "CPU 3 is outside", "cgroup"));
        topology_pin_findings_free(&f);
        def_free(d);

        /* The suggestion avoids the core with a CPU outside our cpuset. */
        struct topology_pin_plan p = suggest(t, 2);
        assert_list(&p.vcpus, "0,2");
        topology_pin_plan_free(&p);
        topology_free(t);
}

static void test_missing_xml_file_is_an_error_naming_it(void **state)
{
        (void)state;
        struct topology *t = NULL;
        struct vl_error err = {0};
        assert_true(topology_load(TOPOLOGY_XML, "/nonexistent/box.xml", &t, &err) < 0);
        assert_non_null(strstr(err.msg, "/nonexistent/box.xml"));
        assert_non_null(strstr(err.msg, "lstopo --of xml"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_skylake_siblings_are_36_apart_and_pairs_stay_together),
                cmocka_unit_test(test_skylake_consecutive_pins_are_flagged_as_split_guest_cores),
                cmocka_unit_test(test_epyc_7763_fills_one_ccx_of_eight_cores),
                cmocka_unit_test(test_haswell_packages_interleave_even_and_odd_cpus),
                cmocka_unit_test(test_qemu_2p3d3c2t_has_dies_each_with_its_own_l3),
                cmocka_unit_test(test_opteron_6272_has_eight_numa_nodes_and_stays_in_one),
                cmocka_unit_test(test_hybrid_kinds_are_read_and_efficiency_cores_called_out),
                cmocka_unit_test(test_offline_and_disallowed_cpus_are_errors),
                cmocka_unit_test(test_missing_xml_file_is_an_error_naming_it),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
