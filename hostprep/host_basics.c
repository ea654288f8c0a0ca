/* The host's basics for `check`: IOMMU, KVM, vfio, cgroup v2 cpuset, memory. */
#include "hostprep/host_basics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostprep/sysroot.h"
#include "util/cleanup.h"
#include "util/macro.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

static struct hostprep_basic *add(struct hostprep_basic *out, size_t *n, const char *name,
                                  enum hostprep_basic_level level)
{
        struct hostprep_basic *b = &out[(*n)++];
        b->name = name;
        b->level = level;
        b->line[0] = '\0';
        return b;
}

static size_t dir_count(const char *path)
{
        struct vl_strv entries = {0};
        size_t n = sysroot_list_dir(path, &entries) == 0 ? entries.count : 0;
        vl_strv_free(&entries);
        return n;
}

/* "GenuineIntel", "AuthenticAMD" or "" from /proc/cpuinfo. */
static void cpu_vendor(char *buf, size_t len)
{
        _cleanup_free_ char *info = NULL;
        buf[0] = '\0';
        if (sysroot_read_file("/proc/cpuinfo", &info) < 0)
                return;
        const char *p = strstr(info, "vendor_id");
        if (p && (p = strchr(p, ':')))
                sscanf(p + 1, " %63s", buf);
        (void)len;
}

static void check_iommu(const struct vm_def *def, struct hostprep_basic *out, size_t *n)
{
        size_t groups = dir_count("/sys/kernel/iommu_groups");
        size_t units = dir_count("/sys/class/iommu");
        if (groups) {
                snprintf(add(out, n, "iommu", HOSTPREP_BASIC_OK)->line, sizeof(out->line),
                         "IOMMU: on (%zu IOMMU group%s%s)", groups, groups == 1 ? "" : "s",
                         units ? "" : ", no IOMMU unit in /sys/class/iommu");
                return;
        }
        if (!def->has_gpu) {
                snprintf(add(out, n, "iommu", HOSTPREP_BASIC_OK)->line, sizeof(out->line),
                         "IOMMU: off (not needed: this VM passes no device through)");
                return;
        }
        char vendor[64];
        cpu_vendor(vendor, sizeof(vendor));
        const char *params, *firmware;
        if (streq(vendor, "AuthenticAMD")) {
                params = "amd_iommu=on iommu=pt";
                firmware = "AMD-Vi (\"IOMMU\" in most firmware setups)";
        } else if (streq(vendor, "GenuineIntel")) {
                params = "intel_iommu=on iommu=pt";
                firmware = "VT-d";
        } else {
                params = "intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD)";
                firmware = "VT-d (Intel) or AMD-Vi (AMD)";
        }
        _cleanup_free_ char *cmdline = NULL;
        sysroot_read_file("/proc/cmdline", &cmdline);
        bool asked =
                cmdline && (strstr(cmdline, "intel_iommu=on") || strstr(cmdline, "amd_iommu=on"));
        char *line = add(out, n, "iommu", HOSTPREP_BASIC_ERROR)->line;
        if (!asked)
                snprintf(
                        line, sizeof(out->line),
                        "IOMMU: off (no IOMMU groups in /sys/kernel/iommu_groups): %s. Enable %s in the firmware setup and add %s to the kernel command line (GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then update-grub) and reboot",
                        "the GPU cannot be passed through", firmware, params);
        else
                snprintf(
                        line, sizeof(out->line),
                        "IOMMU: off although the kernel command line asks for it: %s. Enable %s in the firmware setup and reboot",
                        "the GPU cannot be passed through", firmware);
}

static void check_kvm(const struct vm_def *def, struct hostprep_basic *out, size_t *n)
{
        char path[PATH_MAX];
        bool wants_kvm = def->accel != VMDEF_ACCEL_TCG;
        if (sysroot_path(path, sizeof(path), "/dev/kvm") == 0) {
                _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
                if (fd >= 0) {
                        snprintf(add(out, n, "kvm", HOSTPREP_BASIC_OK)->line, sizeof(out->line),
                                 "KVM: /dev/kvm opens");
                        return;
                }
                int e = errno;
                snprintf(
                        add(out, n, "kvm",
                            def->accel == VMDEF_ACCEL_KVM    ? HOSTPREP_BASIC_ERROR
                            : def->accel == VMDEF_ACCEL_AUTO ? HOSTPREP_BASIC_WARNING
                                                             : HOSTPREP_BASIC_OK)
                                ->line,
                        sizeof(out->line), "KVM: %s: %s%s",
                        e == ENOENT ? "no /dev/kvm" : "/dev/kvm does not open",
                        e == ENOENT
                                ? "enable virtualization (VT-x or AMD-V/SVM) in the firmware setup and load kvm_intel or kvm_amd"
                                : strerror(e),
                        !wants_kvm ? " (not needed: accel = tcg)"
                        : def->accel != VMDEF_ACCEL_KVM
                                ? " (accel = auto falls back to TCG, far slower)"
                                : "");
        }
}

static bool modules_dep_has(const char *file)
{
        char release[128], path[PATH_MAX];
        _cleanup_free_ char *dep = NULL;
        if (sysroot_read_line("/proc/sys/kernel/osrelease", release, sizeof(release)) < 0)
                return false;
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", release);
        return sysroot_read_file(path, &dep) == 0 && strstr(dep, file);
}

static void check_vfio(const struct vm_def *def, struct hostprep_basic *out, size_t *n)
{
        const char *how = NULL;
        if (sysroot_exists("/sys/module/vfio_pci/refcnt"))
                how = "loaded";
        else if (sysroot_exists("/sys/module/vfio_pci"))
                how = "built into the kernel";
        else if (modules_dep_has("/vfio-pci.ko"))
                how = "available as a module (vmlaunch loads it for the run)";
        if (!how && !def->has_gpu)
                how = "not found (not needed: this VM passes no device through)";
        if (how) {
                snprintf(add(out, n, "vfio", HOSTPREP_BASIC_OK)->line, sizeof(out->line),
                         "vfio-pci: %s", how);
                return;
        }
        snprintf(
                add(out, n, "vfio", def->has_gpu ? HOSTPREP_BASIC_ERROR : HOSTPREP_BASIC_OK)->line,
                sizeof(out->line),
                "vfio-pci: neither loaded, built in, nor in this kernel's modules.dep: install the kernel's modules package (Debian: linux-image-amd64 ships vfio-pci)");
}

static void check_cgroup(const struct vm_def *def, struct hostprep_basic *out, size_t *n)
{
        char controllers[512];
        if (sysroot_read_line("/sys/fs/cgroup/cgroup.controllers", controllers,
                              sizeof(controllers)) < 0) {
                snprintf(
                        add(out, n, "cgroup",
                            def->isolate_cpus ? HOSTPREP_BASIC_ERROR : HOSTPREP_BASIC_OK)
                                ->line,
                        sizeof(out->line),
                        "cgroup v2: not mounted on /sys/fs/cgroup (a v1 or hybrid hierarchy): [host] isolate_cpus needs the unified hierarchy (systemd.unified_cgroup_hierarchy=1)");
                return;
        }
        bool cpuset = false;
        char *save = NULL;
        for (char *w = strtok_r(controllers, " ", &save); w; w = strtok_r(NULL, " ", &save))
                cpuset |= streq(w, "cpuset");
        if (cpuset)
                snprintf(add(out, n, "cgroup", HOSTPREP_BASIC_OK)->line, sizeof(out->line),
                         "cgroup v2: mounted, with the cpuset controller");
        else
                snprintf(
                        add(out, n, "cgroup",
                            def->isolate_cpus ? HOSTPREP_BASIC_ERROR : HOSTPREP_BASIC_OK)
                                ->line,
                        sizeof(out->line),
                        "cgroup v2: mounted without the cpuset controller, which [host] isolate_cpus needs");
}

static uint64_t meminfo_kb(const char *info, const char *key)
{
        const char *p = strstr(info, key);
        unsigned long long kb = 0;
        if (p)
                sscanf(p + strlen(key), ": %llu", &kb);
        return kb;
}

static void check_memory(const struct vm_def *def, struct hostprep_basic *out, size_t *n)
{
        _cleanup_free_ char *info = NULL;
        if (sysroot_read_file("/proc/meminfo", &info) < 0)
                return;
        uint64_t need_mib = def->memory_bytes >> 20;
        uint64_t avail_mib = meminfo_kb(info, "MemAvailable") >> 10;
        uint64_t free_huge_mib =
                meminfo_kb(info, "HugePages_Free") * meminfo_kb(info, "Hugepagesize") >> 10;
        if (!def->hugepage_bytes) {
                snprintf(add(out, n, "memory",
                             avail_mib >= need_mib ? HOSTPREP_BASIC_OK : HOSTPREP_BASIC_WARNING)
                                 ->line,
                         sizeof(out->line),
                         "memory: %" PRIu64 " MiB available, the VM uses %" PRIu64 " MiB",
                         avail_mib, need_mib);
                return;
        }
        bool fits = avail_mib + free_huge_mib >= need_mib;
        snprintf(
                add(out, n, "memory", fits ? HOSTPREP_BASIC_OK : HOSTPREP_BASIC_WARNING)->line,
                sizeof(out->line),
                "memory: %" PRIu64 " MiB available and %" PRIu64
                " MiB in free hugepages, the VM needs %" PRIu64 " MiB in %" PRIu64
                " KiB hugepages%s",
                avail_mib, free_huge_mib, need_mib, def->hugepage_bytes >> 10,
                fits ? ""
                     : ": close programs first, or reserve the pages at boot (hugepages= on the kernel command line)");
}

size_t hostprep_host_basics(const struct vm_def *def, struct hostprep_basic *out)
{
        size_t n = 0;
        check_iommu(def, out, &n);
        check_kvm(def, out, &n);
        check_vfio(def, out, &n);
        check_cgroup(def, out, &n);
        check_memory(def, out, &n);
        return n;
}
