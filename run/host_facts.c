#include "run/host_facts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostprep/hostprep.h"
#include "hostprep/sysroot.h"
#include "qemu/kvm_usable.h"
#include "run/firmware_dirs.h"
#include "run/runstate.h"
#include "util/macro.h"

static enum vmdef_severity severity_of(const struct host_facts_opts *opts)
{
        return opts->mode == HOST_FACTS_PLAN ? VMDEF_WARNING : VMDEF_ERROR;
}

/* accel = auto means KVM when a test vCPU works the way QEMU will use it, TCG
 * otherwise; accel = kvm on a host where it does not is this host's problem, not
 * the definition's. */
static void resolve_accel(const struct vm_def *def, const struct host_facts_opts *opts,
                          struct host_facts *f, struct vmdef_diags *diags)
{
        if (def->accel == VMDEF_ACCEL_TCG) {
                f->accel = VMDEF_ACCEL_TCG;
                snprintf(f->accel_reason, sizeof(f->accel_reason), "as defined");
                return;
        }
        bool host_features =
                def->cpu_model && (streq(def->cpu_model, "host") || streq(def->cpu_model, "max"));
        char why[128] = "";
        bool usable = kvm_usable("/dev/kvm", host_features, why, sizeof(why));
        if (def->accel == VMDEF_ACCEL_KVM) {
                f->accel = VMDEF_ACCEL_KVM;
                snprintf(f->accel_reason, sizeof(f->accel_reason), "as defined");
                if (!usable)
                        vmdef_diag_add(
                                diags, severity_of(opts), vmdef_key_line(def, "qemu", "accel"),
                                "qemu", "accel",
                                "kvm, but KVM is not usable here (%s); enable virtualization in the firmware and load kvm_intel or kvm_amd, or use accel = auto",
                                why);
                return;
        }
        f->accel = usable ? VMDEF_ACCEL_KVM : VMDEF_ACCEL_TCG;
        snprintf(f->accel_reason, sizeof(f->accel_reason), "auto: %s",
                 usable ? "KVM is usable" : why);
}

/* The firmware: which descriptor, and whether the VM's vars can do what it asks. A
 * missing OVMF build is this host's problem, like a missing KVM. */
static int resolve_firmware(struct vm_def *def, const struct host_facts_opts *opts,
                            struct host_facts *f, struct vmdef_diags *diags)
{
        static const char *const dirs[] = FIRMWARE_DIRS_SYSTEM;
        struct vl_error err = {0};
        int r = firmware_choice_resolve(def, dirs, ELEMENTSOF(dirs), &f->firmware, &err);
        if (r == 0)
                r = firmware_choice_check_vars(def, &err);
        if (r == -ENOMEM)
                return r;
        /* validate.c catches a vars that is the given template; this one the
         * descriptor named. */
        if (r == 0 && def->ovmf_vars && def->ovmf_vars_template &&
            streq(def->ovmf_vars, def->ovmf_vars_template))
                vmdef_diag_add(
                        diags, VMDEF_ERROR, vmdef_key_line(def, "firmware", "vars"), "firmware",
                        "vars",
                        "is the template itself, the VM would write into it; expected a per-VM copy such as /var/lib/vmlaunch/%s/OVMF_VARS.fd",
                        def->name);
        if (r < 0) {
                const char *key = def->secure_boot ? "secure_boot" : "type";
                vmdef_diag_add(diags, severity_of(opts), vmdef_key_line(def, "firmware", key),
                               "firmware", key, "%s", err.msg);
        }
        return 0;
}

static int resolve_gpu_group(const struct vm_def *def, const struct host_facts_opts *opts,
                             struct host_facts *f, struct vmdef_diags *diags)
{
        struct vl_error err = {0};
        int r = hostprep_gpu_group(def, &f->gpu_group, &f->n_gpu_group, &err);
        if (r == -ENOMEM)
                return r;
        const char *fallback = opts->mode == HOST_FACTS_PLAN && def->n_gpu_group
                                       ? "; planning with the definition's group"
                                       : "";
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        if (r == -ENOENT)
                vmdef_diag_add(
                        diags, severity_of(opts), vmdef_key_line(def, "gpu", "address"), "gpu",
                        "address",
                        "%s is not a PCI device of this host; expected an address `lspci -D` lists%s",
                        addr, fallback);
        else if (r < 0)
                vmdef_diag_add(diags, severity_of(opts), vmdef_key_line(def, "gpu", "address"),
                               "gpu", "address", "%s%s", err.msg, fallback);
        return 0;
}

/* A pin on a CPU this machine lacks is an error for run, a warning for a plan made on
 * another machine. */
static void add_findings(const struct vm_def *def, const struct topology_pin_findings *found,
                         const struct host_facts_opts *opts, struct vmdef_diags *diags)
{
        for (size_t i = 0; i < found->count; i++) {
                const struct vmdef_diag *d = &found->items[i];
                enum vmdef_severity sev = d->severity;
                if (opts->mode == HOST_FACTS_PLAN && opts->topology_origin == TOPOLOGY_HOST)
                        sev = VMDEF_WARNING;
                unsigned line = d->line ? d->line : vmdef_key_line(def, d->section, d->key);
                vmdef_diag_add(diags, sev, line, d->section, d->key, "%s", d->msg);
        }
}

/* vcpu_pin = auto needs a topology to mean anything; without one, plan says so and
 * the command line shows the guest unpinned. */
static int resolve_pins(struct vm_def *def, const struct host_facts_opts *opts,
                        struct host_facts *f, struct vmdef_diags *diags)
{
        bool has_pins = def->vcpu_pin_auto || def->vcpu_pin.count || def->emulator_pin.count;
        for (size_t i = 0; i < def->n_iothreads && !has_pins; i++)
                has_pins = def->iothreads[i].pin.count > 0;
        if (!has_pins)
                return 0;

        struct topology *topo = NULL;
        struct vl_error err = {0};
        int r = topology_load(opts->topology_origin, opts->topology_arg, &topo, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                vmdef_diag_add(diags, def->vcpu_pin_auto ? severity_of(opts) : VMDEF_WARNING,
                               vmdef_key_line(def, "cpu", "vcpu_pin"), "cpu", "vcpu_pin",
                               "cannot read the CPU topology (%s); %s", err.msg,
                               def->vcpu_pin_auto ? "auto needs it to choose the CPUs"
                                                  : "the pins were not checked");
                return 0;
        }
        r = topology_apply_auto_pin(topo, def, &f->pin_reasons, &err);
        if (r == -EINVAL)
                vmdef_diag_add(diags, VMDEF_ERROR, vmdef_key_line(def, "cpu", "vcpu_pin"), "cpu",
                               "vcpu_pin", "%s", err.msg);
        if (r == 0) {
                struct topology_pin_findings found = {0};
                r = topology_pin_check(topo, def, &found);
                if (r == 0)
                        add_findings(def, &found, opts, diags);
                topology_pin_findings_free(&found);
        }
        topology_free(topo);
        return r == -ENOMEM ? r : 0;
}

/* [smbios] mode = host: the host's DMI strings, as the kernel shows them. The serial
 * and UUID files are root's only: `plan` as a user warns and plans without them. */
static int read_smbios(const struct vm_def *def, struct host_facts *f, struct vmdef_diags *diags)
{
        if (def->smbios_mode != VMDEF_SMBIOS_HOST)
                return 0;
        f->has_smbios_host = true;
        for (size_t i = 0; i < QEMU_SMBIOS_N_FIELDS; i++) {
                char path[128], value[256];
                snprintf(path, sizeof(path), "/sys/class/dmi/id/%s",
                         qemu_smbios_fields[i].dmi_file);
                int r = sysroot_read_line(path, value, sizeof(value));
                if (r == -ENOENT || r == -ENAMETOOLONG)
                        continue; /* not every firmware fills every field */
                if (r < 0) {
                        vmdef_diag_add(diags, VMDEF_WARNING, vmdef_key_line(def, "smbios", "mode"),
                                       "smbios", "mode",
                                       "cannot read %s (%s); the guest gets QEMU's value instead",
                                       path, strerror(-r));
                        continue;
                }
                if (!(f->smbios_host[i] = strdup(value)))
                        return -ENOMEM;
        }
        return 0;
}

/* The GPU group's 64-bit BARs decide the PCI window OVMF must open; a BAR the device
 * could resize is worth a line, since the guest cannot resize it itself: QEMU's
 * vfio-pci drops the Resizable BAR capability from what the guest sees
 * (vfio_add_ext_cap in hw/vfio/pci.c: "Can't expose read-only", QEMU 7.2). */
static void read_gpu_bars(const struct vm_def *def, struct host_facts *f, struct vmdef_diags *diags)
{
        for (size_t i = 0; i < f->n_gpu_group; i++) {
                char addr[16];
                struct hostprep_pci_bars bars;
                vmdef_pci_addr_format(&f->gpu_group[i], addr);
                if (hostprep_pci_bars_read(addr, &bars) < 0)
                        continue; /* no resource file: nothing to size */
                f->gpu_bar64_bytes += bars.mem64_prefetch_bytes;
                for (unsigned bar = 0; bar < HOSTPREP_PCI_BARS; bar++)
                        if (bars.resizable & (1u << bar))
                                vmdef_diag_add(
                                        diags, VMDEF_WARNING, vmdef_key_line(def, "gpu", "address"),
                                        "gpu", "address",
                                        "note: %s BAR %u supports Resizable BAR, but QEMU's vfio-pci hides that capability from the guest: the guest keeps the %llu MiB the host set, so resize it on the host (resource%u_resize) before the VM starts for a larger one",
                                        addr, bar, (unsigned long long)(bars.bytes[bar] >> 20),
                                        bar);
        }
}

int host_facts_resolve(struct vm_def *def, const struct host_facts_opts *opts,
                       struct host_facts *facts, struct vmdef_diags *diags, struct vl_error *err)
{
        *facts = (struct host_facts){.numa_node = -1};
        int r = runstate_dir(def->name, &facts->run_dir, err);
        if (r < 0)
                return r;
        resolve_accel(def, opts, facts, diags);
        r = resolve_firmware(def, opts, facts, diags);
        if (r == 0)
                r = resolve_gpu_group(def, opts, facts, diags);
        if (r == 0)
                r = resolve_pins(def, opts, facts, diags);
        if (r == 0)
                r = read_smbios(def, facts, diags);
        if (r == 0)
                read_gpu_bars(def, facts, diags);
        int n_nodes = 0;
        facts->numa_node = hostprep_vcpu_numa_node(def, &n_nodes);
        if (r < 0)
                return vl_error_set(err, -r, "%s: reading the host", def->name);
        return 0;
}

void host_facts_free(struct host_facts *facts)
{
        free(facts->run_dir);
        free(facts->gpu_group);
        vl_strv_free(&facts->pin_reasons);
        for (size_t i = 0; i < QEMU_SMBIOS_N_FIELDS; i++)
                free(facts->smbios_host[i]);
        *facts = (struct host_facts){.numa_node = -1};
}

int host_facts_check_steps(const struct vm_def *def, const struct host_facts *facts,
                           struct vmdef_diags *diags)
{
        struct hostprep_options opts = {.run_dir = facts->run_dir};
        struct hostprep_report report = {0};
        struct vl_error err = {0};
        int r = hostprep_check(def, &opts, &report, &err);
        for (size_t i = 0; i < report.n_failures; i++)
                vmdef_diag_add(diags, VMDEF_ERROR, 0, "", "this host", "%s", report.failures[i]);
        if (r < 0 && r != -ENOMEM && !report.n_failures)
                vmdef_diag_add(diags, VMDEF_ERROR, 0, "", "this host", "%s", err.msg);
        hostprep_report_free(&report);
        return r == -ENOMEM ? r : 0;
}
