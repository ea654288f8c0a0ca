/* Value parsers: sizes, CPU lists, PCI addresses, booleans. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmdefs/vmdef.h"

static uint64_t size_of(const char *s)
{
        uint64_t b = 0;
        char why[256];
        assert_int_equal(vmdef_parse_size(s, &b, why, sizeof(why)), 0);
        return b;
}

static void size_error(const char *s, const char *expected_why)
{
        uint64_t b = 42;
        char why[256] = "";
        assert_int_equal(vmdef_parse_size(s, &b, why, sizeof(why)), -EINVAL);
        assert_string_equal(why, expected_why);
        assert_int_equal(b, 42);
}

static void test_size_accepts_units_and_bytes(void **state)
{
        (void)state;
        assert_int_equal(size_of("12G"), 12ull << 30);
        assert_int_equal(size_of("12288M"), 12ull << 30);
        assert_int_equal(size_of("12GiB"), 12ull << 30);
        assert_int_equal(size_of("12884901888"), 12ull << 30);
        assert_int_equal(size_of("12g"), 12ull << 30);
        assert_int_equal(size_of("2M"), 2ull << 20);
        assert_int_equal(size_of("1T"), 1ull << 40);
        assert_int_equal(size_of("4096K"), 4ull << 20);
        assert_int_equal(size_of("4096KiB"), 4ull << 20);
        assert_int_equal(size_of("512B"), 512);
        assert_int_equal(size_of("0"), 0);
}

static void test_size_rejects_garbage_with_reason(void **state)
{
        (void)state;
        size_error("", "empty; expected a size like 12G, 12288M, 12GiB or a number of bytes");
        size_error("G",
                   "not a number; expected a size like 12G, 12288M, 12GiB or a number of bytes");
        size_error("-1G",
                   "not a number; expected a size like 12G, 12288M, 12GiB or a number of bytes");
        size_error(
                "12X",
                "unknown unit \"X\"; expected a size like 12G, 12288M, 12GiB or a number of bytes");
        size_error(
                "12 G",
                "unknown unit \" G\"; expected a size like 12G, 12288M, 12GiB or a number of bytes");
        size_error("12GB", "unit \"GB\" is ambiguous; write G or GiB (powers of 1024)");
        size_error(
                "1.5G",
                "fractions are not supported; write a whole number in a smaller unit, e.g. 1536M instead of 1.5G");
        size_error("99999999999999999999",
                   "too large; expected a size like 12G, 12288M, 12GiB or a number of bytes");
        size_error("17179869184G",
                   "too large; expected a size like 12G, 12288M, 12GiB or a number of bytes");
}

static void assert_cpulist(const char *s, size_t n, const unsigned *expected)
{
        struct vmdef_cpulist l = {0};
        char why[256];
        assert_int_equal(vmdef_parse_cpulist(s, &l, why, sizeof(why)), 0);
        assert_int_equal(l.count, n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(l.cpus[i], expected[i]);
        vmdef_cpulist_free(&l);
}

static void cpulist_error(const char *s, const char *expected_why)
{
        struct vmdef_cpulist l = {0};
        char why[256] = "";
        assert_int_equal(vmdef_parse_cpulist(s, &l, why, sizeof(why)), -EINVAL);
        assert_string_equal(why, expected_why);
        assert_null(l.cpus);
}

static void test_cpulist_keeps_the_written_order(void **state)
{
        (void)state;
        assert_cpulist("0-3,8,10-11", 7, (unsigned[]){0, 1, 2, 3, 8, 10, 11});
        assert_cpulist("6,7,0,1", 4, (unsigned[]){6, 7, 0, 1});
        assert_cpulist("3", 1, (unsigned[]){3});
        assert_cpulist(" 0-1, 4 ,5", 4, (unsigned[]){0, 1, 4, 5});
        assert_cpulist("1023", 1, (unsigned[]){1023});
}

static void test_cpulist_rejects_bad_lists(void **state)
{
        (void)state;
        const char *exp = "expected host CPU numbers and ranges like 0-3,8,10-11";
        char buf[256];
        snprintf(buf, sizeof(buf), "empty; %s", exp);
        cpulist_error("", buf);
        snprintf(buf, sizeof(buf), "\"x\" is not a CPU number; %s", exp);
        cpulist_error("x", buf);
        snprintf(buf, sizeof(buf), "empty list element; %s", exp);
        cpulist_error("1,,2", buf);
        cpulist_error("1,", buf);
        snprintf(buf, sizeof(buf), "\"(nothing)\" is not a CPU number; %s", exp);
        cpulist_error("1-", buf);
        cpulist_error("3-1", "range 3-1 goes backwards; write ranges from low to high, e.g. 1-3");
        cpulist_error("0-3,2", "CPU 2 is listed twice; expected each CPU once");
        cpulist_error("1024", "CPU number too large; CPUs 0 to 1023 are supported");
        cpulist_error("99999999999999999999999",
                      "CPU number too large; CPUs 0 to 1023 are supported");
        snprintf(buf, sizeof(buf), "unexpected \";3\"; %s", exp);
        cpulist_error("1;3", buf);
}

static struct vmdef_pci_addr pci_of(const char *s)
{
        struct vmdef_pci_addr a;
        char why[256];
        assert_int_equal(vmdef_parse_pci_addr(s, &a, why, sizeof(why)), 0);
        return a;
}

static void pci_error(const char *s, const char *expected_why)
{
        struct vmdef_pci_addr a;
        char why[256] = "";
        assert_int_equal(vmdef_parse_pci_addr(s, &a, why, sizeof(why)), -EINVAL);
        assert_string_equal(why, expected_why);
}

static void test_pci_address_with_or_without_domain(void **state)
{
        (void)state;
        struct vmdef_pci_addr a = pci_of("06:00.0");
        assert_int_equal(a.domain, 0);
        assert_int_equal(a.bus, 6);
        assert_int_equal(a.slot, 0);
        assert_int_equal(a.function, 0);
        a = pci_of("0000:06:00.1");
        assert_int_equal(a.bus, 6);
        assert_int_equal(a.function, 1);
        a = pci_of("1:0A:1f.7");
        assert_int_equal(a.domain, 1);
        assert_int_equal(a.bus, 10);
        assert_int_equal(a.slot, 31);
        assert_int_equal(a.function, 7);
        char buf[16];
        vmdef_pci_addr_format(&a, buf);
        assert_string_equal(buf, "0001:0a:1f.7");
}

static void test_pci_address_rejects_malformed(void **state)
{
        (void)state;
        const char *bad = "not a PCI address; expected a PCI address like 06:00.0 or 0000:06:00.0";
        pci_error("", "empty; expected a PCI address like 06:00.0 or 0000:06:00.0");
        pci_error("06:00", bad);
        pci_error("06.00.0", bad);
        pci_error("g6:00.0", bad);
        pci_error("006:00.0", bad);
        pci_error("00000:06:00.0", bad);
        pci_error("0:0:06:00.0", bad);
        pci_error("06:00.0 ", bad);
        pci_error("06:20.0", "slot 20 is out of range; slots go from 00 to 1f");
        pci_error("06:00.8", "function 8 is out of range; functions go from 0 to 7");
}

static void test_bool_words(void **state)
{
        (void)state;
        const char *yes[] = {"yes", "on", "true", "1", "YES", "On"};
        const char *no[] = {"no", "off", "false", "0", "No", "FALSE"};
        char why[128];
        for (size_t i = 0; i < 6; i++) {
                bool b = false;
                assert_int_equal(vmdef_parse_bool(yes[i], &b, why, sizeof(why)), 0);
                assert_true(b);
                assert_int_equal(vmdef_parse_bool(no[i], &b, why, sizeof(why)), 0);
                assert_false(b);
        }
        const char *bad[] = {"", "y", "2", "enabled", "yes "};
        for (size_t i = 0; i < 5; i++) {
                bool b = true;
                assert_int_equal(vmdef_parse_bool(bad[i], &b, why, sizeof(why)), -EINVAL);
                assert_string_equal(why,
                                    "not a boolean; expected yes/no, on/off, true/false or 1/0");
        }
}

static void test_aio_native_fits_only_the_o_direct_cache_modes(void **state)
{
        (void)state;
        assert_true(vmdef_disk_aio_fits_cache(VMDEF_AIO_NATIVE, VMDEF_CACHE_NONE));
        assert_true(vmdef_disk_aio_fits_cache(VMDEF_AIO_NATIVE, VMDEF_CACHE_DIRECTSYNC));
        assert_false(vmdef_disk_aio_fits_cache(VMDEF_AIO_NATIVE, VMDEF_CACHE_WRITEBACK));
        assert_false(vmdef_disk_aio_fits_cache(VMDEF_AIO_NATIVE, VMDEF_CACHE_WRITETHROUGH));
        assert_false(vmdef_disk_aio_fits_cache(VMDEF_AIO_NATIVE, VMDEF_CACHE_UNSAFE));
        assert_true(vmdef_disk_aio_fits_cache(VMDEF_AIO_THREADS, VMDEF_CACHE_WRITEBACK));
        assert_true(vmdef_disk_aio_fits_cache(VMDEF_AIO_IO_URING, VMDEF_CACHE_UNSAFE));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size_accepts_units_and_bytes),
                cmocka_unit_test(test_size_rejects_garbage_with_reason),
                cmocka_unit_test(test_cpulist_keeps_the_written_order),
                cmocka_unit_test(test_cpulist_rejects_bad_lists),
                cmocka_unit_test(test_pci_address_with_or_without_domain),
                cmocka_unit_test(test_pci_address_rejects_malformed),
                cmocka_unit_test(test_bool_words),
                cmocka_unit_test(test_aio_native_fits_only_the_o_direct_cache_modes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
