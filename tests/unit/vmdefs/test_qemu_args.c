/* [qemu] args: what vmlaunch owns is refused in every spelling QEMU accepts; a user's
 * own devices and chardevs pass. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmdefs/vmdef.h"

struct args_case {
        const char *args;
        const char *refusal; /* a part of the message; NULL: accepted */
};

static const struct args_case cases[] = {
        /* monitors, in every spelling */
        {"-monitor stdio", "-monitor is not allowed, vmlaunch owns QEMU's monitors"},
        {"--monitor stdio", "--monitor is not allowed"},
        {"-monitor=stdio", "-monitor=stdio is not allowed"},
        {"-mon chardev=c", "-mon is not allowed"},
        {"-qmp unix:/tmp/q,server=on", "-qmp is not allowed"},
        {"-qmp-pretty tcp::4444", "-qmp-pretty is not allowed"},
        {"-readconfig /tmp/q.cfg", "-readconfig is not allowed"},
        /* who QEMU is and how it runs */
        {"-sandbox off", "-sandbox is not allowed, vmlaunch sets it from [qemu] sandbox"},
        {"-run-with user=root", "-run-with is not allowed"},
        {"-runas root", "-runas is not allowed"},
        {"-chroot /", "-chroot is not allowed"},
        {"-daemonize", "-daemonize is not allowed"},
        {"-pidfile /tmp/p", "-pidfile is not allowed"},
        {"-add-fd fd=3,set=1", "-add-fd is not allowed"},
        {"-S", "-S is not allowed"},
        {"-name x", "-name is not allowed"},
        /* what vmlaunch sets from keys */
        {"-accel kvm", "-accel is not allowed, use [qemu] accel"},
        {"-enable-kvm", "-enable-kvm is not allowed"},
        {"-machine pc", "-machine is not allowed, use [qemu] machine"},
        {"-M pc", "-M is not allowed"},
        {"-cpu host", "-cpu is not allowed"},
        {"-m 8G", "-m is not allowed"},
        {"-smp 8", "-smp is not allowed"},
        {"-mem-path /dev/hugepages", "-mem-path is not allowed"},
        {"-display gtk", "-display is not allowed"},
        {"-vnc :0", "-vnc is not allowed"},
        {"-nographic", "-nographic is not allowed"},
        {"-vga std", "-vga is not allowed"},
        {"-bios /tmp/b", "-bios is not allowed"},
        {"-kernel /boot/vmlinuz", "-kernel is not allowed, use [boot] kernel"},
        {"-gdb tcp::1234", "-gdb is not allowed"},
        {"-s", "-s is not allowed"},
        /* chardevs: vmlaunch's ids are taken, others are the user's */
        {"-chardev socket,id=qmp,path=/tmp/q", "the chardev id \"qmp\" is vmlaunch's own"},
        {"-chardev socket,path=/tmp/q,id=ctl", "the chardev id \"ctl\" is vmlaunch's own"},
        {"--chardev file,id=serial0,path=/tmp/s", "the chardev id \"serial0\" is vmlaunch's own"},
        {"-chardev=pty,id=qmp", "the chardev id \"qmp\" is vmlaunch's own"},
        {"-set chardev.qmp.path=/tmp/x", "the chardev id \"qmp\" is vmlaunch's own"},
        {"-set mon.x.mode=readline", "vmlaunch owns QEMU's monitors"},
        {"-chardev socket,id=qmpx,path=/tmp/q", NULL},
        {"-chardev socket,id=lg,path=/tmp/q,,id=qmp", NULL}, /* ",," is inside the path */
        {"-device virtio-serial-pci -chardev socket,id=vdagent,path=/tmp/a,server=on,wait=off "
         "-device virtserialport,chardev=vdagent,name=com.redhat.spice.0",
         NULL},
        {"-object memory-backend-file,id=lg,share=on,mem-path=/dev/shm/looking-glass,size=32M "
         "-device ivshmem-plain,memdev=lg",
         NULL},
        {"-set device.gpu0.x-vga=on", NULL},
        {"-global kvm-pit.lost_tick_policy=discard -serial pty -spice port=5930,addr=127.0.0.1",
         NULL},
        {"-fw_cfg name=opt/-S,string=-monitor", NULL}, /* values are not options */
};

static void test_qemu_args_refuse_what_vmlaunch_owns_and_pass_the_rest(void **state)
{
        (void)state;
        size_t failures = 0;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[1024];
                snprintf(text, sizeof(text), "[qemu]\naccel = tcg\nargs = %s\n[cpu]\nmodel = max\n",
                         cases[i].args);
                struct vm_def *def = NULL;
                struct vmdef_diags diags = {0};
                int r = vmdef_parse_string("/etc/vmlaunch/t.ini", text, strlen(text), &def, &diags);
                char line[1024] = "";
                if (diags.count)
                        vmdef_diag_format(&diags.items[0], "t.ini", line, sizeof(line));
                bool ok = cases[i].refusal ? r == -EINVAL && diags.n_errors == 1 &&
                                                     strstr(line, "t.ini:3: [qemu] args: ") &&
                                                     strstr(line, cases[i].refusal)
                                           : r == 0 && diags.n_errors == 0;
                if (!ok) {
                        failures++;
                        print_error("args = %s\n  expected: %s\n  got (%d errors): %s\n",
                                    cases[i].args, cases[i].refusal ? cases[i].refusal : "accepted",
                                    (int)diags.n_errors, line);
                }
                vmdef_diags_free(&diags);
                vmdef_free(def);
        }
        assert_int_equal(failures, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_qemu_args_refuse_what_vmlaunch_owns_and_pass_the_rest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
