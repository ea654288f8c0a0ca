/* Pinning validation: the guide's own pinning, bad pins, `vcpu_pin = auto`. */
#include "topology_testlib.h"

static struct topology_pin_findings check(const struct topology *t, const struct vm_def *d)
{
        struct topology_pin_findings f;
        assert_int_equal(topology_pin_check(t, d, &f), 0);
        print_findings(&f);
        return f;
}

/* The guide: 1 socket, 4 cores, 2 threads; vCPUs 0-7 on CPUs 0-7; emulator on 0,3. */
static struct vm_def *guide_definition(void)
{
        struct vm_def *d = def_new(1, 4, 2);
        cpulist_set(&d->vcpu_pin, CPUS(0, 1, 2, 3, 4, 5, 6, 7));
        cpulist_set(&d->emulator_pin, CPUS(0, 3));
        return d;
}

static void test_guide_pinning_flags_emulator_overlap_and_ccx_split(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = guide_definition();
        struct topology_pin_findings f = check(t, d);

        assert_int_equal(f.n_errors, 0);
        const struct vmdef_diag *emu =
                find_finding(&f, VMDEF_WARNING, "emulator_pin", "CPUs 0,3", "vCPUs 0,3");
        assert_non_null(emu);
        assert_string_equal(emu->section, "cpu");
        assert_non_null(strstr(emu->msg, "CPUs 8,9 of core 4")); /* a core without vCPUs */
        const struct vmdef_diag *ccx =
                find_finding(&f, VMDEF_WARNING, "vcpu_pin", "span 2 L3 domains", "vcpu_pin = 4-11");
        assert_non_null(ccx);
        assert_non_null(strstr(ccx->msg, "L3 domain 0 (CPUs 0-5): vCPUs 0-5"));
        assert_non_null(strstr(ccx->msg, "L3 domain 1 (CPUs 6-11): vCPUs 6,7"));
        /* Core 0 holds vCPUs 0-1: called out as the housekeeping core. */
        assert_non_null(
                find_finding(&f, VMDEF_WARNING, "vcpu_pin", "vCPUs 0,1 run on core 0", NULL));
        /* The sibling pairing itself is right: vCPUs 2k, 2k+1 share a host core. */
        assert_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin", "form one guest core", NULL));
        topology_pin_findings_free(&f);
        def_free(d);
        topology_free(t);
}

static void test_pin_to_a_cpu_that_does_not_exist_is_an_error_naming_it(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(1, 2, 2);
        cpulist_set(&d->vcpu_pin, CPUS(6, 7, 14, 15));
        cpulist_set(&d->emulator_pin, CPUS(2));
        def_add_iothread(d, "io1", CPUS(40));
        struct topology_pin_findings f = check(t, d);

        assert_int_equal(f.n_errors, 2);
        const struct vmdef_diag *e =
                find_finding(&f, VMDEF_ERROR, "vcpu_pin", "CPUs 14,15 do not exist", "0-11");
        assert_non_null(e);
        e = find_finding(&f, VMDEF_ERROR, "io1", "CPU 40 does not exist", NULL);
        assert_non_null(e);
        assert_string_equal(e->section, "iothreads");
        assert_int_equal(e->line, 30);
        topology_pin_findings_free(&f);
        def_free(d);
        topology_free(t);
}

static void test_guest_siblings_on_different_host_cores_warn_naming_both(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(1, 2, 2);
        /* vCPUs 0,1 are one guest core but go to CPU 6 (core 3) and CPU 8 (core 4). */
        cpulist_set(&d->vcpu_pin, CPUS(6, 8, 7, 9));
        cpulist_set(&d->emulator_pin, CPUS(2, 3));
        struct topology_pin_findings f = check(t, d);

        assert_int_equal(f.n_errors, 0);
        const struct vmdef_diag *w =
                find_finding(&f, VMDEF_WARNING, "vcpu_pin", "vCPUs 0 and 1 form one guest core",
                             "CPU 6 (host core 3) and CPU 8 (host core 4)");
        assert_non_null(w);
        assert_non_null(strstr(w->msg, "CPUs 6,7 of core 3"));
        topology_pin_findings_free(&f);
        def_free(d);
        topology_free(t);
}

static void test_separate_guest_cores_on_host_siblings_suggest_threads(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(1, 4, 1);
        cpulist_set(&d->vcpu_pin, CPUS(6, 7, 8, 9));
        cpulist_set(&d->emulator_pin, CPUS(2));
        struct topology_pin_findings f = check(t, d);
        assert_non_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin",
                                     "vCPUs 0 and 1 are separate guest cores", "threads = 2"));
        topology_pin_findings_free(&f);
        def_free(d);
        topology_free(t);
}

static void test_suggested_pinning_passes_its_own_check(void **state)
{
        (void)state;
        const char *machines[] = {RYZEN_1600, "pack:1 l3:1 core:8 pu:2", "pack:2 core:8 pu:2",
                                  "pack:2 l3:2 core:4 pu:2"};
        for (size_t m = 0; m < sizeof(machines) / sizeof(machines[0]); m++) {
                struct topology *t = load_synthetic(machines[m]);
                struct vm_def *d = def_new(1, 3, 2);
                d->vcpu_pin_auto = true;
                def_add_iothread(d, "io1", 0, NULL);
                struct vl_error err = {0};
                assert_int_equal(topology_apply_auto_pin(t, d, NULL, &err), 0);
                struct topology_pin_findings f = check(t, d);
                assert_int_equal(f.n_errors, 0);
                assert_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin", "guest core", NULL));
                assert_null(find_finding(&f, VMDEF_WARNING, "emulator_pin", NULL, NULL));
                assert_null(find_finding(&f, VMDEF_WARNING, "io1", NULL, NULL));
                assert_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin", "L3", NULL));
                topology_pin_findings_free(&f);
                def_free(d);
                topology_free(t);
        }
}

static void test_auto_pin_fills_vcpu_emulator_and_iothread_pins(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(1, 4, 2);
        d->vcpu_pin_auto = true;
        def_add_iothread(d, "io1", 0, NULL);
        def_add_iothread(d, "disks", CPUS(5));
        struct vl_strv reasons = {0};
        struct vl_error err = {0};
        assert_int_equal(topology_apply_auto_pin(t, d, &reasons, &err), 0);
        char buf[64];
        vmdef_cpulist_format(d->vcpu_pin.cpus, d->vcpu_pin.count, buf, sizeof(buf));
        assert_string_equal(buf, "4-11");
        assert_int_equal(d->emulator_pin.count, 1);
        assert_int_equal(d->emulator_pin.cpus[0], 2);
        assert_int_equal(d->iothreads[0].pin.count, 1);
        assert_int_equal(d->iothreads[0].pin.cpus[0], 3);
        /* A hand-written iothread pin is kept. */
        assert_int_equal(d->iothreads[1].pin.count, 1);
        assert_int_equal(d->iothreads[1].pin.cpus[0], 5);
        assert_true(reasons.count >= 2);
        assert_non_null(strstr(reasons.items[0], "vcpu_pin: "));
        vl_strv_free(&reasons);
        def_free(d);
        topology_free(t);
}

static void test_auto_pin_keeps_an_explicit_emulator_pin(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(1, 3, 2);
        d->vcpu_pin_auto = true;
        cpulist_set(&d->emulator_pin, CPUS(0, 1));
        struct vl_error err = {0};
        assert_int_equal(topology_apply_auto_pin(t, d, NULL, &err), 0);
        assert_int_equal(d->vcpu_pin.count, 6);
        assert_int_equal(d->emulator_pin.count, 2);
        assert_int_equal(d->emulator_pin.cpus[0], 0);
        def_free(d);
        topology_free(t);
}

static void test_auto_pin_does_nothing_without_auto(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(1, 4, 2);
        struct vl_error err = {0};
        assert_int_equal(topology_apply_auto_pin(t, d, NULL, &err), 0);
        assert_int_equal(d->vcpu_pin.count, 0);
        assert_int_equal(d->emulator_pin.count, 0);
        def_free(d);
        topology_free(t);
}

static void test_auto_pin_that_cannot_fit_says_so(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(2, 4, 2);
        d->vcpu_pin_auto = true;
        struct vl_error err = {0};
        assert_int_equal(topology_apply_auto_pin(t, d, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "vcpu_pin = auto"));
        assert_non_null(strstr(err.msg, "16 vCPUs"));
        def_free(d);
        topology_free(t);
}

static void test_every_core_busy_warns_to_leave_one_to_the_host(void **state)
{
        (void)state;
        struct topology *t = load_synthetic(RYZEN_1600);
        struct vm_def *d = def_new(1, 6, 2);
        cpulist_set(&d->vcpu_pin, CPUS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
        struct topology_pin_findings f = check(t, d);
        assert_non_null(find_finding(&f, VMDEF_WARNING, "vcpu_pin", "every core runs a vCPU",
                                     "core 0: CPUs 0,1"));
        topology_pin_findings_free(&f);
        def_free(d);
        topology_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_guide_pinning_flags_emulator_overlap_and_ccx_split),
                cmocka_unit_test(test_pin_to_a_cpu_that_does_not_exist_is_an_error_naming_it),
                cmocka_unit_test(test_guest_siblings_on_different_host_cores_warn_naming_both),
                cmocka_unit_test(test_separate_guest_cores_on_host_siblings_suggest_threads),
                cmocka_unit_test(test_suggested_pinning_passes_its_own_check),
                cmocka_unit_test(test_auto_pin_fills_vcpu_emulator_and_iothread_pins),
                cmocka_unit_test(test_auto_pin_keeps_an_explicit_emulator_pin),
                cmocka_unit_test(test_auto_pin_does_nothing_without_auto),
                cmocka_unit_test(test_auto_pin_that_cannot_fit_says_so),
                cmocka_unit_test(test_every_core_busy_warns_to_leave_one_to_the_host),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
