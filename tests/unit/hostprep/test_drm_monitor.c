/* `check` warns when none of the passed GPU's DRM connectors has a monitor: read
 * through the sysroot from fixture trees (/sys/class/drm/cardN, its device link and
 * cardN-CONNECTOR/status). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hostprep/drm.h"
#include "hostprep_fixture.h"

#define DEF_RTX2060 "[vm]\nname = t\n[cpu]\nmodel = max\n[gpu]\naddress = 06:00.0\n"
#define DEF_NO_GPU  "[vm]\nname = t\n[cpu]\nmodel = max\n"

/* The diagnostics check_monitor adds for tree, joined with "\n" into buf. */
static size_t monitor_diags(const char *tree, const char *ini, char *buf, size_t len)
{
        struct fixture f;
        fixture_setup(&f, tree, ini);
        struct vmdef_diags diags = {0};
        assert_int_equal(drm_check_monitor(f.def, &diags), 0);
        buf[0] = '\0';
        for (size_t i = 0; i < diags.count; i++) {
                char line[1024];
                vmdef_diag_format(&diags.items[i], "t.ini", line, sizeof(line));
                size_t used = strlen(buf);
                snprintf(buf + used, len - used, "%s%s", i ? "\n" : "", line);
        }
        size_t n = diags.count;
        assert_int_equal(diags.n_errors, 0);
        vmdef_diags_free(&diags);
        fixture_teardown(&f);
        return n;
}

static void test_gpu_with_every_connector_disconnected_is_warned_about(void **state)
{
        (void)state;
        char text[2048];
        assert_int_equal(monitor_diags("rtx2060-4fn-headless", DEF_RTX2060, text, sizeof(text)), 1);
        assert_non_null(strstr(text, "[gpu] address: no monitor is connected to GPU "
                                     "0000:06:00.0 (card0: DP-1, DP-2, HDMI-A-1 disconnected); "
                                     "a headless session needs a dummy plug or a virtual display "
                                     "driver in the guest"));
        assert_non_null(strstr(text, "t.ini:6: ")); /* the line of [gpu] address */
}

static void test_gpu_with_a_monitor_on_one_connector_is_fine(void **state)
{
        (void)state;
        char text[2048];
        assert_int_equal(monitor_diags("rtx2060-4fn-monitor", DEF_RTX2060, text, sizeof(text)), 0);
}

static void test_gpu_without_drm_card_says_nothing(void **state)
{
        (void)state;
        char text[2048];
        /* no /sys/class/drm at all */
        assert_int_equal(monitor_diags("rtx2060-4fn", DEF_RTX2060, text, sizeof(text)), 0);
        /* another card's outputs are disconnected, the GPU has no card (vfio-pci) */
        assert_int_equal(monitor_diags("rtx2060-igpu-headless", DEF_RTX2060, text, sizeof(text)),
                         0);
}

static void test_vm_without_gpu_says_nothing(void **state)
{
        (void)state;
        char text[2048];
        assert_int_equal(monitor_diags("rtx2060-4fn-headless", DEF_NO_GPU, text, sizeof(text)), 0);
}

static void test_drm_card_read_names_the_card_and_its_connectors(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn-monitor", DEF_RTX2060);
        struct drm_card card;
        assert_int_equal(drm_card_read("0000:06:00.0", &card), 0);
        assert_string_equal(card.name, "card0");
        assert_int_equal(card.connectors.count, 3);
        assert_int_equal(card.n_disconnected, 2);
        drm_card_free(&card);
        assert_int_equal(drm_card_read("0000:06:00.1", &card), 0);
        assert_string_equal(card.name, "");
        drm_card_free(&card);
        fixture_teardown(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gpu_with_every_connector_disconnected_is_warned_about),
                cmocka_unit_test(test_gpu_with_a_monitor_on_one_connector_is_fine),
                cmocka_unit_test(test_gpu_without_drm_card_says_nothing),
                cmocka_unit_test(test_vm_without_gpu_says_nothing),
                cmocka_unit_test(test_drm_card_read_names_the_card_and_its_connectors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
