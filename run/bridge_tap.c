#include "run/bridge_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"

/* The kernel picks the number, like libvirt's vnet%d. */
#define TAP_NAME_PATTERN "vmlaunch%d"

static void ifreq_name(struct ifreq *ifr, const char *name)
{
        memset(ifr, 0, sizeof(*ifr));
        snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

static int tap_create(struct bridge_tap *tap, struct vl_error *err)
{
        tap->tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (tap->tap_fd < 0)
                return vl_error_set(err, errno, "open /dev/net/tun (is the tun module loaded?)");
        struct ifreq ifr;
        ifreq_name(&ifr, TAP_NAME_PATTERN);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        if (ioctl(tap->tap_fd, TUNSETIFF, &ifr) < 0)
                return vl_error_set(err, errno, "create a tap device");
        snprintf(tap->ifname, sizeof(tap->ifname), "%s", ifr.ifr_name);
        return 0;
}

static int tap_join_bridge(int sock, const char *bridge, const char *ifname, struct vl_error *err)
{
        unsigned index = if_nametoindex(ifname);
        if (!index)
                return vl_error_set(err, errno, "find the tap %s", ifname);
        struct ifreq ifr;
        /* A frame bigger than the bridge's MTU would be dropped on the way out. */
        ifreq_name(&ifr, bridge);
        if (ioctl(sock, SIOCGIFMTU, &ifr) < 0)
                return vl_error_set(err, errno,
                                    "bridge %s: does it exist? (`ip link add %s type bridge`)",
                                    bridge, bridge);
        int mtu = ifr.ifr_mtu;
        ifreq_name(&ifr, ifname);
        ifr.ifr_mtu = mtu;
        if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
                return vl_error_set(err, errno, "set the MTU of tap %s to bridge %s's (%d)", ifname,
                                    bridge, mtu);
        ifreq_name(&ifr, bridge);
        ifr.ifr_ifindex = (int)index;
        if (ioctl(sock, SIOCBRADDIF, &ifr) < 0)
                return vl_error_set(err, errno, "add tap %s to %s (is %s a bridge?)", ifname,
                                    bridge, bridge);
        ifreq_name(&ifr, ifname);
        if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
                return vl_error_set(err, errno, "read the flags of tap %s", ifname);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
                return vl_error_set(err, errno, "set tap %s up", ifname);
        return 0;
}

int bridge_tap_open(const char *bridge, bool want_vhost, struct bridge_tap *tap,
                    struct vl_error *err)
{
        *tap = (struct bridge_tap)BRIDGE_TAP_NONE;
        if (strlen(bridge) >= IFNAMSIZ)
                return vl_error_set(err, ENAMETOOLONG, "bridge %s: not an interface name", bridge);
        _cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return vl_error_set(err, errno, "open a socket to configure bridge %s", bridge);
        int r = tap_create(tap, err);
        if (r >= 0)
                r = tap_join_bridge(sock, bridge, tap->ifname, err);
        if (r >= 0 && want_vhost) {
                tap->vhost_fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
                if (tap->vhost_fd < 0)
                        r = vl_error_set(err, errno,
                                         "open /dev/vhost-net for bridge %s (modprobe vhost_net)",
                                         bridge);
        }
        if (r < 0)
                bridge_tap_close(tap); /* the kernel removes the tap with its last fd */
        return r;
}

void bridge_tap_close(struct bridge_tap *tap)
{
        if (tap->tap_fd >= 0)
                close(tap->tap_fd);
        if (tap->vhost_fd >= 0)
                close(tap->vhost_fd);
        tap->tap_fd = tap->vhost_fd = -1;
}
