/* The kernel's words for a GPU function leaving while the guest holds it: /dev/kmsg
 * records of vfio-pci's device request, and "remove" uevents (run/gpu_signals.h). The
 * records are the kernel's own format (Debian 6.1, as seen in the emulated host). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "run/gpu_signals.h"

static const char *const group[] = {"0000:00:02.0", "0000:00:02.1", "0000:00:02.2"};
#define N_GROUP 3

static const char *kmsg(const char *record)
{
        return gpu_signal_kmsg(record, strlen(record), group, N_GROUP);
}

static void test_a_device_request_to_qemu_names_the_function_being_removed(void **state)
{
        (void)state;
        const char *got = kmsg("5,1093,215031443,-;vfio-pci 0000:00:02.0: Relaying device "
                               "request to user (#0)\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:02.0\n");
        assert_non_null(got);
        assert_string_equal(got, "0000:00:02.0");
        /* the repeats every 10 s say the same */
        got = kmsg("5,1101,235031443,-;vfio-pci 0000:00:02.1: Relaying device request to user "
                   "(#10)\n");
        assert_non_null(got);
        assert_string_equal(got, "0000:00:02.1");
        /* no request channel (a user that never registered one): blocked all the same */
        got = kmsg("4,1200,3000,-;vfio-pci 0000:00:02.2: No device request channel registered, "
                   "blocked until released by user\n");
        assert_non_null(got);
        assert_string_equal(got, "0000:00:02.2");
}

static void test_other_kernel_messages_and_other_devices_are_not_a_lost_gpu(void **state)
{
        (void)state;
        /* another VM's device */
        assert_null(kmsg("5,1,2,-;vfio-pci 0000:06:00.0: Relaying device request to user (#0)\n"));
        /* vfio's everyday messages about our GPU */
        assert_null(kmsg("4,1,2,-;vfio-pci 0000:00:02.0: vgaarb: changed VGA decodes\n"));
        assert_null(kmsg("6,1,2,-;vfio-pci 0000:00:02.0: enabling device (0000 -> 0003)\n"));
        /* the text in another driver's mouth, or quoted in the dictionary only */
        assert_null(kmsg("5,1,2,-;idxd 0000:00:02.0: Relaying device request to user (#0)\n"));
        assert_null(kmsg("6,1,2,-;something else\n MSG=vfio-pci 0000:00:02.0: Relaying device\n"));
        /* not a record: no header, or cut short */
        assert_null(kmsg("vfio-pci 0000:00:02.0: Relaying device request to user (#0)\n"));
        assert_null(kmsg("5,1,2,-;vfio-pci 0000:00:02"));
        assert_null(gpu_signal_kmsg("5,1,2,-;vfio-pci 0000:00:02.0: Relaying", 38, group, N_GROUP));
}

static const char *uevent(const char *const *fields)
{
        static char buf[2048];
        size_t len = 0;
        for (size_t i = 0; fields[i]; i++) {
                size_t l = strlen(fields[i]) + 1;
                memcpy(buf + len, fields[i], l);
                len += l;
        }
        return gpu_signal_uevent(buf, len, group, N_GROUP);
}

static void test_a_remove_uevent_of_a_group_function_names_it(void **state)
{
        (void)state;
        const char *got = uevent(
                (const char *const[]){"remove@/devices/pci0000:00/0000:00:02.0", "ACTION=remove",
                                      "DEVPATH=/devices/pci0000:00/0000:00:02.0", "SUBSYSTEM=pci",
                                      "DRIVER=vfio-pci", "PCI_CLASS=30000", "PCI_ID=1234:1111",
                                      "PCI_SLOT_NAME=0000:00:02.0", "SEQNUM=2210", NULL});
        assert_non_null(got);
        assert_string_equal(got, "0000:00:02.0");
}

static void test_other_uevents_are_not_a_lost_gpu(void **state)
{
        (void)state;
        /* an unbind, a bind, an add: the device is still there */
        assert_null(uevent((const char *const[]){"unbind@/devices/pci0000:00/0000:00:02.0",
                                                 "ACTION=unbind", "SUBSYSTEM=pci",
                                                 "PCI_SLOT_NAME=0000:00:02.0", NULL}));
        assert_null(
                uevent((const char *const[]){"add@/devices/pci0000:00/0000:00:02.0", "ACTION=add",
                                             "SUBSYSTEM=pci", "PCI_SLOT_NAME=0000:00:02.0", NULL}));
        /* a device outside the group, and a child of our device in another subsystem */
        assert_null(uevent((const char *const[]){"remove@/devices/pci0000:00/0000:00:1f.3",
                                                 "ACTION=remove", "SUBSYSTEM=pci",
                                                 "PCI_SLOT_NAME=0000:00:1f.3", NULL}));
        assert_null(uevent((const char *const[]){
                "remove@/devices/pci0000:00/0000:00:02.0/drm/card0", "ACTION=remove",
                "SUBSYSTEM=drm", "DEVNAME=dri/card0", NULL}));
        /* udev's re-broadcast has no ACTION@DEVPATH header */
        assert_null(uevent((const char *const[]){"libudev", "ACTION=remove", "SUBSYSTEM=pci",
                                                 "PCI_SLOT_NAME=0000:00:02.0", NULL}));
        /* a slot name that only starts like ours */
        assert_null(uevent((const char *const[]){"remove@/x", "ACTION=remove", "SUBSYSTEM=pci",
                                                 "PCI_SLOT_NAME=0000:00:02.00", NULL}));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_device_request_to_qemu_names_the_function_being_removed),
                cmocka_unit_test(test_other_kernel_messages_and_other_devices_are_not_a_lost_gpu),
                cmocka_unit_test(test_a_remove_uevent_of_a_group_function_names_it),
                cmocka_unit_test(test_other_uevents_are_not_a_lost_gpu),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
