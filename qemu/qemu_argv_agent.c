/* [guest] agent: a virtio-serial controller with one port named
 * org.qemu.guest_agent.0, backed by the listening socket QEMU inherits at
 * QEMU_ARGV_FD_AGENT (vmlaunch connects to RUN_DIR/agent.sock as its client). */
#include <errno.h>

#include "qemu/qemu_argv_internal.h"

int argv_add_guest_agent(struct argv_builder *b)
{
        if (!b->def->guest_agent)
                return 0;
        struct optstr controller = {0};
        optstr_begin(&controller, "virtio-serial-pci,id=agent-serial");
        int r = argv_push_option(b, "-device", &controller);
        if (r < 0)
                return r;
        struct optstr chardev = {0};
        optstr_begin(&chardev, "socket,id=agent");
        optstr_addf(&chardev, "fd=%d,server=on,wait=off", QEMU_ARGV_FD_AGENT);
        r = argv_push_option(b, "-chardev", &chardev);
        if (r < 0)
                return r;
        struct optstr port = {0};
        optstr_begin(&port, "virtserialport,id=" QEMU_ARGV_AGENT_PORT_ID
                            ",bus=agent-serial.0,chardev=agent");
        optstr_addf(&port, "name=%s", QEMU_ARGV_AGENT_PORT);
        return argv_push_option(b, "-device", &port);
}
