/* Health of a PCI function before it goes back to its host driver. */
#include "hostprep/gpu_health.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "hostprep/sysroot.h"
#include "util/cleanup.h"
#include "util/macro.h"

#define PCI_COMMAND_RESERVED 0xf800u /* bits 11-15 of the command register read as 0 */

static unsigned le16(const uint8_t *p)
{
        return (unsigned)p[0] | (unsigned)p[1] << 8;
}

unsigned pci_config_find_cap(const uint8_t *config, size_t len, unsigned id)
{
        if (len < PCI_CONFIG_HEADER_LEN || !(le16(config + 6) & 0x10)) /* status: cap list */
                return 0;
        unsigned at = config[0x34] & 0xfc;
        for (int hops = 0; at >= PCI_CONFIG_HEADER_LEN && at + 2 <= len && hops < 48; hops++) {
                if (config[at] == id)
                        return at;
                at = config[at + 1] & 0xfc;
        }
        return 0;
}

int pci_config_pcie_type(const uint8_t *config, size_t len)
{
        unsigned at = pci_config_find_cap(config, len, PCI_CAP_ID_EXP);
        if (!at || at + 4 > len)
                return -1;
        return (config[at + 2] >> 4) & 0xf;
}

bool gpu_health_judge(const uint8_t *config, size_t len, const char *link_width, char *why,
                      size_t why_len)
{
        if (len < PCI_CONFIG_HEADER_LEN) {
                snprintf(why, why_len, "config space unreadable (%zu bytes)", len);
                return false;
        }
        unsigned vendor = le16(config), device = le16(config + 2);
        unsigned command = le16(config + 4), status = le16(config + 6);
        if (vendor == 0xffff || device == 0xffff) {
                snprintf(why, why_len, "config space reads %04x:%04x (the device does not answer)",
                         vendor, device);
                return false;
        }
        if (command == 0xffff || status == 0xffff || (command & PCI_COMMAND_RESERVED)) {
                snprintf(why, why_len, "command/status registers read %04x/%04x", command, status);
                return false;
        }
        int type = pci_config_pcie_type(config, len);
        if ((type == 0 || type == 1) && link_width && streq(link_width, "0")) {
                snprintf(why, why_len, "PCIe link down (width x0)");
                return false;
        }
        return true;
}

ssize_t pci_config_read(const char *addr, uint8_t *buf, size_t len)
{
        char path[PATH_MAX];
        if (sysroot_path(path, sizeof(path), "/sys/bus/pci/devices/%s/config", addr) < 0)
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t got = 0;
        while (got < len) {
                ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return got ? (ssize_t)got : -errno;
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

bool gpu_health_check(const char *addr, char *why, size_t why_len)
{
        char path[PATH_MAX], width[32];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
        if (!sysroot_exists(path)) {
                snprintf(why, why_len, "gone from the PCI bus");
                return false;
        }
        uint8_t config[PCI_CONFIG_LEN];
        ssize_t n = pci_config_read(addr, config, sizeof(config));
        if (n < 0) {
                snprintf(why, why_len, "config space unreadable: %s", strerror((int)-n));
                return false;
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/current_link_width", addr);
        bool has_link = sysroot_read_line(path, width, sizeof(width)) == 0;
        return gpu_health_judge(config, (size_t)n, has_link ? width : NULL, why, why_len);
}
