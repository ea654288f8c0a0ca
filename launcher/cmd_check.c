/* vmlaunch check: is the definition valid, and does this host have what it needs?
 * Changes nothing, like virt-host-validate. Stages run in order; each adds
 * diagnostics; any error makes the exit code 4. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostprep/drm.h"
#include "hostprep/hostprep.h"
#include "launcher/cli_common.h"
#include "run/confinement.h"
#include "run/host_facts.h"
#include "run/trust.h"
#include "qemu/kvm_probe.h"
#include "launcher/commands.h"
#include "util/exit_codes.h"

static void check_usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch check [OPTIONS] NAME|FILE\n\n"
                "Validates the VM definition, the files it needs and this host (KVM, the GPU's\n"
                "IOMMU group and drivers, CPU pins, hugepages); changes nothing.\n"
                "NAME reads CONFIG_DIR/NAME.ini; a FILE is any path with a '/' or ending in .ini.\n\n"
                "Options:\n"
                "  -h, --help            show this help\n" VL_CLI_DEF_OPTIONS_HELP
                "\nExit status: 0 OK, 2 usage, 3 invalid or unsafe definition (also: hooks, their folders or\n"
                "the UEFI vars folder not root's or writable by others), 4 the host lacks something\n"
                "(e.g. a missing disk image).\n");
}

/* One host check: adds diagnostics for what this host lacks. Returns < 0 only when
 * it could not look (out of memory). */
struct check_stage {
        const char *name;
        int (*run)(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags);
};

static int check_files(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags)
{
        (void)facts;
        vmdef_check_files(def, VMDEF_ERROR, diags);
        return 0;
}

/* Accelerator, the GPU's IOMMU group, pins against the CPU topology. */
static int check_facts(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags)
{
        struct host_facts_opts opts = {.mode = HOST_FACTS_STRICT, .topology_origin = TOPOLOGY_HOST};
        struct vl_error err = {0};
        return host_facts_resolve(def, &opts, facts, diags, &err);
}

static int check_hyperv(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags)
{
        struct vl_error err = {0};
        if (facts->accel == VMDEF_ACCEL_KVM && kvm_probe_hyperv("/dev/kvm", &def->hyperv, &err) < 0)
                vmdef_diag_add(diags, VMDEF_ERROR, 0, "", "this host", "%s", err.msg);
        return 0;
}

/* What prepare would find: group contents, who holds the GPU, hugepages obtainable.
 * Skipped when the GPU's group could not be read (that was said once already). */
static int check_host_steps(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags)
{
        if (def->has_gpu && !facts->n_gpu_group)
                return 0;
        return host_facts_check_steps(def, facts, diags);
}

/* QEMU's binary, its seccomp support for the sandbox, and its user. */
static int check_confinement(struct vm_def *def, struct host_facts *facts,
                             struct vmdef_diags *diags)
{
        (void)facts;
        struct qemu_binary_info qemu;
        struct vl_account user;
        /* No cache: check writes nothing, not even under /run. */
        int r = confinement_check(def, NULL, &qemu, &user, diags);
        vl_account_free(&user);
        return r;
}

/* A warning only: a GPU whose outputs all say "disconnected" renders to nothing a
 * stream can capture unless the guest has a dummy plug or a virtual display. */
static int check_monitor(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags)
{
        (void)facts;
        return drm_check_monitor(def, diags);
}

static const struct check_stage check_stages[] = {
        {"files", check_files},           {"QEMU and its confinement", check_confinement},
        {"host facts", check_facts},      {"hyperv", check_hyperv},
        {"host steps", check_host_steps}, {"GPU monitor", check_monitor},
};

static const struct option check_options[] = {
        {"help", no_argument, NULL, 'h'},
        VL_CLI_DEF_LONG_OPTIONS,
        {0},
};

int cmd_check(int argc, char **argv)
{
        struct vl_cli_def_opts dopts = {0};
        const char *target = NULL;

        struct vl_cli_parser p = vl_cli_parser("check", argc, argv, "-:h", check_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                int r = vl_cli_def_option(opt, arg, &dopts, "check");
                if (r < 0)
                        return VL_EXIT_USAGE;
                if (r > 0)
                        continue;
                switch (opt) {
                case 'h':
                        check_usage(stdout);
                        return VL_EXIT_OK;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("check", "NAME|FILE", arg, &target) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!target) {
                check_usage(stderr);
                return VL_EXIT_USAGE;
        }

        struct vm_def *def = NULL;
        int ex = vl_cli_load_def(target, &dopts, &def);
        if (ex != VL_EXIT_OK)
                return ex;

        struct vmdef_diags diags = {0};
        struct host_facts facts = {0};
        /* What root would run or open for it first: an unsafe definition is refused
         * (exit 3) whatever the host has. */
        int untrusted = trust_check(def, &diags);
        if (untrusted != 0) {
                vl_cli_print_diags(&diags, def->path);
                if (untrusted > 0)
                        fprintf(stderr,
                                "%s: refused: root cannot trust what it would run or open for it\n",
                                def->name);
                vmdef_diags_free(&diags);
                vmdef_free(def);
                return untrusted < 0 ? VL_EXIT_FAILURE : VL_EXIT_DEFINITION;
        }
        for (size_t s = 0; s < sizeof(check_stages) / sizeof(check_stages[0]); s++) {
                if (check_stages[s].run(def, &facts, &diags) < 0) {
                        fprintf(stderr, "vmlaunch check: %s: out of memory\n",
                                check_stages[s].name);
                        ex = VL_EXIT_FAILURE;
                        break;
                }
        }
        vl_cli_print_diags(&diags, def->path);
        if (ex != VL_EXIT_OK) {
                /* already said */
        } else if (diags.n_errors) {
                fprintf(stderr, "%s: this host cannot run it (%zu problem%s)\n", def->name,
                        diags.n_errors, diags.n_errors == 1 ? "" : "s");
                ex = VL_EXIT_HOST_CHECK;
        } else {
                printf("%s: definition OK (%u vCPUs, %llu MiB, %zu disk%s%s)\n", def->name,
                       vmdef_vcpu_count(def), (unsigned long long)(def->memory_bytes >> 20),
                       def->n_disks, def->n_disks == 1 ? "" : "s",
                       def->has_gpu ? ", GPU passthrough" : "");
                if (facts.firmware.reason[0])
                        printf("  firmware: %s\n", facts.firmware.reason);
        }
        host_facts_free(&facts);
        vmdef_diags_free(&diags);
        vmdef_free(def);
        return ex;
}
