/* vl_dl_open: all symbols or none, and a missing library names its Debian package. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/dl.h"
#include "util/macro.h"

static __typeof__(getpid) *sym_getpid;
static __typeof__(getppid) *sym_getppid;

static void test_missing_library_names_its_package(void **state)
{
        (void)state;
        void *handle = NULL;
        const struct vl_dl_symbol syms[] = {VL_DL_SYMBOL(getpid)};
        struct vl_error err = {0};
        assert_int_equal(vl_dl_open(&handle, "libvmlaunch-absent.so.7", "libvmlaunch-absent7", syms,
                                    ELEMENTSOF(syms), &err),
                         -ENOPKG);
        assert_null(handle);
        assert_non_null(strstr(err.msg, "libvmlaunch-absent.so.7"));
        assert_non_null(strstr(err.msg, "install the Debian package libvmlaunch-absent7"));
}

static void test_missing_symbol_resolves_none(void **state)
{
        (void)state;
        void *handle = NULL;
        void *sym_vmlaunch_absent_function = NULL;
        const struct vl_dl_symbol syms[] = {
                VL_DL_SYMBOL(getpid), {"vmlaunch_absent_function", &sym_vmlaunch_absent_function}};
        struct vl_error err = {0};
        assert_int_equal(vl_dl_open(&handle, "libc.so.6", "libc6", syms, ELEMENTSOF(syms), &err),
                         -ENOPKG);
        assert_null(handle);
        assert_null(sym_getpid);
        assert_non_null(strstr(err.msg, "vmlaunch_absent_function"));
}

static void test_loaded_symbols_are_the_library_functions(void **state)
{
        (void)state;
        void *handle = NULL;
        const struct vl_dl_symbol syms[] = {VL_DL_SYMBOL(getpid), VL_DL_SYMBOL(getppid)};
        assert_int_equal(vl_dl_open(&handle, "libc.so.6", "libc6", syms, ELEMENTSOF(syms), NULL),
                         0);
        assert_non_null(handle);
        assert_int_equal(sym_getpid(), getpid());
        assert_int_equal(sym_getppid(), getppid());
        void *first = handle;
        assert_int_equal(vl_dl_open(&handle, "libc.so.6", "libc6", syms, ELEMENTSOF(syms), NULL),
                         0);
        assert_ptr_equal(handle, first); /* loaded once */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_missing_library_names_its_package),
                cmocka_unit_test(test_missing_symbol_resolves_none),
                cmocka_unit_test(test_loaded_symbols_are_the_library_functions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
