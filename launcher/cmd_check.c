/* vmlaunch check: is the definition valid, and does this host have what it needs?
 * Changes nothing, like virt-host-validate. Stages run in order; each adds
 * diagnostics; any error makes the exit code 4. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "hostprep/gpu_lost.h"
#include "hostprep/gpu_reset.h"
#include "hostprep/host_basics.h"
#include "hostprep/drm.h"
#include "hostprep/hostprep.h"
#include "launcher/cli_common.h"
#include "run/runstate.h"
#include "util/cleanup.h"
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
                "The host comes first, one line each: IOMMU (and the kernel parameters that turn\n"
                "it on), KVM, vfio-pci, cgroup v2 with cpuset, memory for the hugepages; then how\n"
                "each function of the GPU's group resets (reset_method, FLR, vendor-reset).\n\n"
                "Options:\n"
                "  -h, --help            show this help\n"
                "      --json            print the result as one JSON object (host, gpu_reset,\n"
                "                        diagnostics) on stdout; the exit status is the same\n" VL_CLI_DEF_OPTIONS_HELP
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

/* What the host and GPU stages found, for the text and JSON output. */
static struct {
        struct hostprep_basic basics[HOSTPREP_BASICS_MAX];
        size_t n_basics;
        struct hostprep_reset_info *resets;
        size_t n_resets;
        char (*reset_warnings)[1024]; /* "" when none, one per resets[i] */
        struct hostprep_vendor_reset vendor_reset;
} check_found;

/* The host first (issue 15): on a host without an IOMMU that is the first thing said,
 * not the nine problems it causes; then a GPU left on vfio-pci by an earlier run. */
static int check_host_first(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags)
{
        (void)facts;
        check_found.n_basics = hostprep_host_basics(def, check_found.basics);
        for (size_t i = 0; i < check_found.n_basics; i++) {
                const struct hostprep_basic *b = &check_found.basics[i];
                if (b->level != HOSTPREP_BASIC_OK)
                        vmdef_diag_add(diags,
                                       b->level == HOSTPREP_BASIC_ERROR ? VMDEF_ERROR
                                                                        : VMDEF_WARNING,
                                       0, "", "this host", "%s", b->line);
        }
        _cleanup_free_ char *run_dir = NULL;
        struct vl_error err = {0};
        if (runstate_dir(def->name, &run_dir, &err) == 0 &&
            hostprep_gpu_lost_blocks(run_dir, def, false, &err) > 0)
                vmdef_diag_add(diags, VMDEF_ERROR, 0, "", "this host", "%s", err.msg);
        return 0;
}

/* How each function of the GPU's group resets, and a warning when it may not come
 * back after the VM. */
static int check_gpu_reset(struct vm_def *def, struct host_facts *facts, struct vmdef_diags *diags)
{
        (void)facts;
        if (hostprep_reset_infos(def, &check_found.resets, &check_found.n_resets) < 0)
                return -ENOMEM;
        hostprep_vendor_reset_read(&check_found.vendor_reset);
        check_found.reset_warnings = calloc(check_found.n_resets ? check_found.n_resets : 1, 1024);
        if (!check_found.reset_warnings)
                return -ENOMEM;
        bool set = def->gpu_reset_method != NULL;
        unsigned line = vmdef_key_line(def, "gpu", set ? "reset_method" : "address");
        for (size_t i = 0; i < check_found.n_resets; i++)
                if (hostprep_reset_advice(&check_found.resets[i], &check_found.vendor_reset,
                                          def->gpu_reset_method, check_found.reset_warnings[i],
                                          1024))
                        vmdef_diag_add(diags, VMDEF_WARNING, line, "gpu",
                                       set ? "reset_method" : "address", "%s",
                                       check_found.reset_warnings[i]);
        return 0;
}

static void check_found_free(void)
{
        free(check_found.resets);
        free(check_found.reset_warnings);
        check_found.resets = NULL;
        check_found.reset_warnings = NULL;
}

static const char *const basic_levels[] = {"ok", "warning", "error"};

static void print_check_json(const struct vm_def *def, const struct vmdef_diags *diags, int ex)
{
        struct json_object *o = json_object_new_object(), *host = json_object_new_array();
        json_object_object_add(o, "name", json_object_new_string(def->name));
        json_object_object_add(o, "ok", json_object_new_boolean(ex == VL_EXIT_OK));
        json_object_object_add(o, "exit", json_object_new_int(ex));
        for (size_t i = 0; i < check_found.n_basics; i++) {
                const struct hostprep_basic *b = &check_found.basics[i];
                struct json_object *e = json_object_new_object();
                json_object_object_add(e, "check", json_object_new_string(b->name));
                json_object_object_add(e, "level", json_object_new_string(basic_levels[b->level]));
                json_object_object_add(e, "message", json_object_new_string(b->line));
                json_object_array_add(host, e);
        }
        json_object_object_add(o, "host", host);
        struct json_object *vr = json_object_new_object();
        json_object_object_add(vr, "installed",
                               json_object_new_boolean(check_found.vendor_reset.installed));
        json_object_object_add(vr, "loaded",
                               json_object_new_boolean(check_found.vendor_reset.loaded));
        json_object_object_add(o, "vendor_reset", vr);
        struct json_object *resets = json_object_new_array();
        for (size_t i = 0; i < check_found.n_resets; i++) {
                const struct hostprep_reset_info *r = &check_found.resets[i];
                struct json_object *e = json_object_new_object();
                char id[8];
                json_object_object_add(e, "address", json_object_new_string(r->addr));
                snprintf(id, sizeof(id), "%04x", r->vendor);
                json_object_object_add(e, "vendor", json_object_new_string(id));
                snprintf(id, sizeof(id), "%04x", r->device);
                json_object_object_add(e, "device", json_object_new_string(id));
                struct json_object *methods = NULL;
                if (r->has_method_file) {
                        methods = json_object_new_array();
                        char copy[sizeof(r->methods)], *save = NULL;
                        snprintf(copy, sizeof(copy), "%s", r->methods);
                        for (char *m = strtok_r(copy, " ", &save); m;
                             m = strtok_r(NULL, " ", &save))
                                json_object_array_add(methods, json_object_new_string(m));
                }
                json_object_object_add(e, "reset_method", methods);
                json_object_object_add(e, "flr", json_object_new_boolean(r->flr));
                json_object_object_add(e, "vendor_reset_family",
                                       r->vendor_reset_family
                                               ? json_object_new_string(r->vendor_reset_family)
                                               : NULL);
                const char *w = check_found.reset_warnings[i];
                json_object_object_add(e, "warning", w[0] ? json_object_new_string(w) : NULL);
                json_object_array_add(resets, e);
        }
        json_object_object_add(o, "gpu_reset", resets);
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < diags->count; i++) {
                const struct vmdef_diag *d = &diags->items[i];
                struct json_object *e = json_object_new_object();
                json_object_object_add(
                        e, "severity",
                        json_object_new_string(d->severity == VMDEF_WARNING ? "warning" : "error"));
                json_object_object_add(e, "line", json_object_new_int((int)d->line));
                json_object_object_add(e, "section", json_object_new_string(d->section));
                json_object_object_add(e, "key", json_object_new_string(d->key));
                json_object_object_add(e, "message", json_object_new_string(d->msg));
                json_object_array_add(arr, e);
        }
        json_object_object_add(o, "diagnostics", arr);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_SPACED));
        json_object_put(o);
}

/* Text, after the diagnostics (the host's problems are the first of them) and the
 * "definition OK" line: the host's other lines and how the GPU resets. Nothing on
 * stdout when the host cannot run the VM. */
static void print_check_details(void)
{
        char line[1024];
        for (size_t i = 0; i < check_found.n_basics; i++)
                if (check_found.basics[i].level == HOSTPREP_BASIC_OK)
                        printf("  this host: %s\n", check_found.basics[i].line);
        for (size_t i = 0; i < check_found.n_resets; i++) {
                hostprep_reset_describe(&check_found.resets[i], line, sizeof(line));
                printf("  GPU reset: %s\n", line);
        }
}

static const struct check_stage check_stages[] = {
        {"host", check_host_first},
        {"files", check_files},
        {"QEMU and its confinement", check_confinement},
        {"host facts", check_facts},
        {"hyperv", check_hyperv},
        {"host steps", check_host_steps},
        {"GPU monitor", check_monitor},
        {"GPU reset", check_gpu_reset},
};

enum { OPT_JSON = VL_CLI_OPT_VERB };

static const struct option check_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        VL_CLI_DEF_LONG_OPTIONS,
        {0},
};

int cmd_check(int argc, char **argv)
{
        struct vl_cli_def_opts dopts = {0};
        const char *target = NULL;
        bool json = false;

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
                case OPT_JSON:
                        json = true;
                        break;
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
        if (json) {
                print_check_json(def, &diags,
                                 ex == VL_EXIT_OK && diags.n_errors ? VL_EXIT_HOST_CHECK : ex);
                if (ex == VL_EXIT_OK && diags.n_errors)
                        ex = VL_EXIT_HOST_CHECK;
                check_found_free();
                host_facts_free(&facts);
                vmdef_diags_free(&diags);
                vmdef_free(def);
                return ex;
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
                print_check_details();
        }
        check_found_free();
        host_facts_free(&facts);
        vmdef_diags_free(&diags);
        vmdef_free(def);
        return ex;
}
