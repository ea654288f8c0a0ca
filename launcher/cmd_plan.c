/* vmlaunch plan: what `run` would do, changing nothing: the host steps and the QEMU
 * command line, for people (one option and its value per line, ready to paste into a
 * shell) or for scripts (--json).
 * Files the definition names are only warned about, so a definition can be planned
 * on another machine. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hostprep/hostprep.h"
#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/plan_text.h"
#include "util/exit_codes.h"
#include "util/macro.h"
#include "run/host_facts.h"
#include "run/runstate.h"
#include "qemu/qemu_argv.h"
#include "qemu/qemu_platform.h"
#include "util/cleanup.h"

static void plan_usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch plan [OPTIONS] NAME|FILE\n\n"
                "Prints what `vmlaunch run` would do, changing nothing: the host steps in\n"
                "order and the QEMU command line, one option and its value per line,\n"
                "ready to paste into a shell.\n"
                "Missing files (disk images, firmware, ROM files) are only warned about.\n\n"
                "Options:\n"
                "  -h, --help            show this help\n"
                "      --brief           leave the QEMU command line out (one line says how\n"
                "                        many options it has)\n"
                "      --json            print one JSON object: {\"name\", \"definition\",\n"
                "                        \"qemu\": {\"binary\", \"argv\"}, \"steps\", \"warnings\"}\n"
                "                        (argv[0] is the binary)\n"
                "      --topology FILE|DESC  pin against an hwloc XML file or synthetic\n"
                "                        description instead of this host's CPUs\n" VL_CLI_DEF_OPTIONS_HELP
                "\nExit status: 0 OK, 1 unexpected error, 2 usage, 3 invalid or unsafe definition.\n");
}

/* What the plan is made of besides the definition: the facts `run` reads from the
 * host (shared with run through host_facts) and the host steps prepare would take. */
struct plan_facts {
        struct host_facts host;
        /* What prepare would change, or why this host could not be inspected (the
         * plan still shows the command line: a definition can be planned anywhere). */
        struct hostprep_plan steps;
        char *steps_unavailable;
};

static void plan_facts_free(struct plan_facts *f)
{
        host_facts_free(&f->host);
        hostprep_plan_free(&f->steps);
        free(f->steps_unavailable);
        *f = (struct plan_facts){0};
}

static int plan_resolve_facts(struct vm_def *def, const struct host_facts_opts *hopts,
                              struct plan_facts *f, struct vmdef_diags *diags, struct vl_error *err)
{
        int r = host_facts_resolve(def, hopts, &f->host, diags, err);
        if (r < 0)
                return r;

        struct hostprep_options opts = {.run_dir = f->host.run_dir};
        struct vl_error host_err = {0};
        r = hostprep_plan(def, &opts, &f->steps, &host_err);
        if (r == -ENOMEM)
                return vl_error_set(err, ENOMEM, "planning the host steps");
        if (r < 0 && asprintf(&f->steps_unavailable, "cannot plan the host steps on this host: %s",
                              host_err.msg) < 0) {
                f->steps_unavailable = NULL;
                return vl_error_set(err, ENOMEM, "planning the host steps");
        }
        return 0;
}

static void print_cpulist(const char *label, const struct vmdef_cpulist *l)
{
        char buf[1024];
        vmdef_cpulist_format(l->cpus, l->count, buf, sizeof(buf));
        printf("  %-14s CPUs %s\n", label, buf);
}

/* The pins run will apply after QEMU starts and before the guest runs. */
static void print_pins(const struct vm_def *def)
{
        if (!def->vcpu_pin.count && !def->emulator_pin.count)
                return;
        printf("\nPinning (applied before the guest runs):\n");
        for (size_t i = 0; i < def->vcpu_pin.count; i++)
                printf("  vCPU %-9zu CPU %u\n", i, def->vcpu_pin.cpus[i]);
        if (def->emulator_pin.count)
                print_cpulist("emulator", &def->emulator_pin);
        for (size_t i = 0; i < def->n_iothreads; i++) {
                if (!def->iothreads[i].pin.count)
                        continue;
                char label[80];
                snprintf(label, sizeof(label), "iothread %s", def->iothreads[i].id);
                print_cpulist(label, &def->iothreads[i].pin);
        }
}

/* What the guest's firmware is told about the host: the 64-bit PCI window sized for
 * the GPU's BARs and the SMBIOS strings copied from the host. */
static void print_platform(const struct vm_def *def, const struct plan_facts *facts)
{
        uint64_t mb = def->firmware == VMDEF_FIRMWARE_UEFI
                              ? qemu_pci_mmio64_mb(facts->host.gpu_bar64_bytes)
                              : 0;
        if (mb)
                printf("  64-bit PCI window: %llu MiB (-fw_cfg opt/ovmf/X-PciMmio64Mb): the GPU group's 64-bit BARs take %llu MiB, more than OVMF's default %llu MiB holds\n",
                       (unsigned long long)mb,
                       (unsigned long long)(facts->host.gpu_bar64_bytes >> 20),
                       (unsigned long long)(QEMU_OVMF_MMIO64_DEFAULT_BYTES >> 20));
        if (def->smbios_mode == VMDEF_SMBIOS_HOST) {
                size_t n = 0;
                for (size_t i = 0; i < QEMU_SMBIOS_N_FIELDS; i++)
                        n += facts->host.smbios_host[i] && *facts->host.smbios_host[i];
                printf("  SMBIOS: the host's (%zu of %d strings read from /sys/class/dmi/id)\n", n,
                       QEMU_SMBIOS_N_FIELDS);
        }
}

static int print_text(const struct vm_def *def, const struct plan_facts *facts,
                      const struct vmdef_diags *diags, const struct vl_strv *argv, bool brief)
{
        struct vl_strv lines = {0};
        if (plan_text_command_lines(argv, &lines) < 0) {
                vl_strv_free(&lines);
                fprintf(stderr, "vmlaunch plan: out of memory\n");
                return VL_EXIT_FAILURE;
        }
        vl_cli_print_diags(diags, def->path);
        printf("VM %s (%s)\n", def->name, def->path);
        if (def->description && *def->description)
                printf("  %s\n", def->description);
        printf("  accelerator: %s (%s)\n", facts->host.accel == VMDEF_ACCEL_TCG ? "tcg" : "kvm",
               facts->host.accel_reason);
        if (facts->host.firmware.reason[0])
                printf("  firmware: %s\n", facts->host.firmware.reason);
        if (facts->host.pin_reasons.count)
                printf("  vcpu_pin = auto:\n");
        for (size_t i = 0; i < facts->host.pin_reasons.count; i++)
                printf("    %s\n", facts->host.pin_reasons.items[i]);
        printf("  QEMU runs as: %s%s\n", def->qemu_user,
               streq(def->qemu_user, "root") ? " (every capability: not confined)"
               : def->qemu_sandbox           ? " (no capabilities, no_new_privs, seccomp sandbox)"
                                   : " (no capabilities, no_new_privs, no seccomp sandbox)");
        print_platform(def, facts);
        if (def->tpm_enabled)
                printf("  TPM 2.0: tpm-crb on swtpm, run as %s (%s); state in %s/state, made by swtpm_setup on the first run and kept\n",
                       def->qemu_user,
                       streq(def->qemu_user, "root") ? "every capability, swtpm's seccomp"
                                                     : "no capabilities, no_new_privs, seccomp",
                       def->tpm_state_dir);
        print_pins(def);
        printf("\nHost steps:\n");
        if (facts->steps_unavailable)
                printf("  (%s)\n", facts->steps_unavailable);
        else if (!facts->steps.count)
                printf("  (none: this VM changes nothing on the host)\n");
        for (size_t i = 0; i < facts->steps.count; i++)
                printf("  %zu. [%s] %s\n", i + 1, facts->steps.items[i].step,
                       facts->steps.items[i].description);
        if (brief)
                /* the first line is the binary, each other one option */
                printf("\nQEMU command line: %s with %zu options (`vmlaunch plan` without --brief shows them)\n",
                       argv->items[0], lines.count - 1);
        else
                printf("\nQEMU command line:\n");
        for (size_t i = 0; !brief && i < lines.count; i++)
                printf("%s\n", lines.items[i]);
        vl_strv_free(&lines);
        return VL_EXIT_OK;
}

static int json_add_string(struct json_object *obj, const char *key, const char *value)
{
        struct json_object *s = json_object_new_string(value);
        if (!s || json_object_object_add(obj, key, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_bool(struct json_object *obj, const char *key, bool value)
{
        struct json_object *b = json_object_new_boolean(value);
        if (!b || json_object_object_add(obj, key, b) < 0) {
                json_object_put(b);
                return -ENOMEM;
        }
        return 0;
}

static int json_array_add_string(struct json_object *array, const char *value)
{
        struct json_object *s = json_object_new_string(value);
        if (!s || json_object_array_add(array, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_object(struct json_object *obj, const char *key, struct json_object *child)
{
        if (!child || json_object_object_add(obj, key, child) < 0) {
                json_object_put(child);
                return -ENOMEM;
        }
        return 0;
}

static struct json_object *json_step_order(void)
{
        struct json_object *order = json_object_new_array();
        for (size_t i = 0; order && hostprep_step_name(i); i++)
                if (json_array_add_string(order, hostprep_step_name(i)) < 0) {
                        json_object_put(order);
                        return NULL;
                }
        return order;
}

static struct json_object *json_steps(const struct hostprep_plan *steps)
{
        struct json_object *array = json_object_new_array();
        int r = array ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i < steps->count; i++) {
                struct json_object *item = json_object_new_object();
                r = item ? 0 : -ENOMEM;
                if (r == 0)
                        r = json_add_string(item, "step", steps->items[i].step);
                if (r == 0)
                        r = json_add_string(item, "description", steps->items[i].description);
                if (r == 0 && json_object_array_add(array, item) < 0)
                        r = -ENOMEM;
                if (r < 0)
                        json_object_put(item);
        }
        if (r < 0) {
                json_object_put(array);
                return NULL;
        }
        return array;
}

static struct json_object *json_cpus(const struct vmdef_cpulist *l)
{
        struct json_object *array = json_object_new_array();
        for (size_t i = 0; array && i < l->count; i++) {
                struct json_object *n = json_object_new_int64(l->cpus[i]);
                if (!n || json_object_array_add(array, n) < 0) {
                        json_object_put(n);
                        json_object_put(array);
                        return NULL;
                }
        }
        return array;
}

/* {"vcpus": [CPU of vCPU 0, ...], "emulator": [...], "iothreads": {"io1": [...]}} */
static struct json_object *json_pins(const struct vm_def *def)
{
        struct json_object *pins = json_object_new_object();
        struct json_object *iothreads = json_object_new_object();
        int r = pins && iothreads ? 0 : -ENOMEM;
        if (r == 0)
                r = json_add_object(pins, "vcpus", json_cpus(&def->vcpu_pin));
        if (r == 0)
                r = json_add_object(pins, "emulator", json_cpus(&def->emulator_pin));
        for (size_t i = 0; r == 0 && i < def->n_iothreads; i++)
                r = json_add_object(iothreads, def->iothreads[i].id,
                                    json_cpus(&def->iothreads[i].pin));
        if (r == 0) {
                r = json_add_object(pins, "iothreads", iothreads);
                iothreads = NULL;
        }
        json_object_put(iothreads);
        if (r < 0) {
                json_object_put(pins);
                return NULL;
        }
        return pins;
}

/* Which OVMF build and why; descriptor is null when code and vars_template were given. */
static struct json_object *json_firmware(const struct vm_def *def,
                                         const struct firmware_choice *choice)
{
        struct json_object *fw = json_object_new_object();
        int r = fw ? 0 : -ENOMEM;
        if (r == 0 && choice->descriptor[0])
                r = json_add_string(fw, "descriptor", choice->descriptor);
        else if (r == 0)
                r = json_object_object_add(fw, "descriptor", NULL) < 0 ? -ENOMEM : 0;
        if (r == 0)
                r = json_add_string(fw, "reason", choice->reason);
        if (r == 0)
                r = json_add_bool(fw, "secure_boot", def->secure_boot);
        if (r == 0)
                r = json_add_bool(fw, "smm", choice->secure);
        static const char *const keys[] = {"code", "vars_template", "vars"};
        const char *values[] = {def->ovmf_code, def->ovmf_vars_template, def->ovmf_vars};
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(keys); i++)
                if (values[i])
                        r = json_add_string(fw, keys[i], values[i]);
        if (r < 0) {
                json_object_put(fw);
                return NULL;
        }
        return fw;
}

static struct json_object *json_plan(const struct vm_def *def, const struct plan_facts *facts,
                                     const struct vmdef_diags *diags, const struct vl_strv *argv)
{
        struct json_object *root = json_object_new_object();
        struct json_object *qemu = json_object_new_object();
        struct json_object *args = json_object_new_array();
        struct json_object *warnings = json_object_new_array();
        int r = root && qemu && args && warnings ? 0 : -ENOMEM;

        for (size_t i = 0; r == 0 && i < argv->count; i++)
                r = json_array_add_string(args, argv->items[i]);
        for (size_t i = 0; r == 0 && i < diags->count; i++) {
                char line[1024];
                vmdef_diag_format(&diags->items[i], def->path, line, sizeof(line));
                r = json_array_add_string(warnings, line);
        }
        if (r == 0 && facts->steps_unavailable)
                r = json_array_add_string(warnings, facts->steps_unavailable);
        if (r == 0)
                r = json_add_string(qemu, "binary", argv->items[0]);
        if (r == 0)
                r = json_add_string(qemu, "user", def->qemu_user);
        if (r == 0)
                r = json_add_bool(qemu, "sandbox", def->qemu_sandbox);
        if (r == 0) {
                r = json_add_object(qemu, "argv", args);
                args = NULL;
        }
        if (r == 0)
                r = json_add_string(root, "name", def->name);
        if (r == 0)
                r = json_add_string(root, "definition", def->path);
        if (r == 0)
                r = json_add_string(root, "accel",
                                    facts->host.accel == VMDEF_ACCEL_TCG ? "tcg" : "kvm");
        if (r == 0 && def->firmware == VMDEF_FIRMWARE_UEFI)
                r = json_add_object(root, "firmware", json_firmware(def, &facts->host.firmware));
        if (r == 0)
                r = json_add_object(root, "pins", json_pins(def));
        if (r == 0) {
                struct json_object *tpm = json_object_new_object();
                r = tpm ? json_add_bool(tpm, "enabled", def->tpm_enabled) : -ENOMEM;
                if (r == 0 && def->tpm_enabled)
                        r = json_add_string(tpm, "model", "tpm-crb");
                if (r == 0 && def->tpm_enabled)
                        r = json_add_string(tpm, "state_dir", def->tpm_state_dir);
                if (r == 0)
                        r = json_add_object(root, "tpm", tpm);
                else
                        json_object_put(tpm);
        }
        if (r == 0 && facts->host.pin_reasons.count) {
                struct json_object *reasons = json_object_new_array();
                r = reasons ? 0 : -ENOMEM;
                for (size_t i = 0; r == 0 && i < facts->host.pin_reasons.count; i++)
                        r = json_array_add_string(reasons, facts->host.pin_reasons.items[i]);
                if (r == 0)
                        r = json_add_object(root, "pin_reasons", reasons);
                else
                        json_object_put(reasons);
        }
        if (r == 0) {
                r = json_add_object(root, "qemu", qemu);
                qemu = NULL;
        }
        if (r == 0)
                r = json_add_object(root, "steps", json_steps(&facts->steps));
        if (r == 0) /* every step, so scripts (and tests) can walk them all */
                r = json_add_object(root, "step_order", json_step_order());
        if (r == 0) {
                r = json_add_object(root, "warnings", warnings);
                warnings = NULL;
        }
        json_object_put(args);
        json_object_put(qemu);
        json_object_put(warnings);
        if (r < 0) {
                json_object_put(root);
                return NULL;
        }
        return root;
}

static int print_json(const struct vm_def *def, const struct plan_facts *facts,
                      const struct vmdef_diags *diags, const struct vl_strv *argv)
{
        struct json_object *root = json_plan(def, facts, diags, argv);
        if (!root) {
                fprintf(stderr, "vmlaunch plan: out of memory\n");
                return VL_EXIT_FAILURE;
        }
        printf("%s\n", json_object_to_json_string_ext(
                               root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return VL_EXIT_OK;
}

enum { OPT_JSON = VL_CLI_OPT_VERB, OPT_TOPOLOGY, OPT_BRIEF };

static const struct option plan_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"brief", no_argument, NULL, OPT_BRIEF},
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        VL_CLI_DEF_LONG_OPTIONS,
        {0},
};

int cmd_plan(int argc, char **argv)
{
        struct vl_cli_def_opts dopts = {0};
        const char *target = NULL;
        bool json = false, brief = false;
        struct host_facts_opts hopts = {.mode = HOST_FACTS_PLAN, .topology_origin = TOPOLOGY_HOST};

        struct vl_cli_parser p = vl_cli_parser("plan", argc, argv, "-:h", plan_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                int r = vl_cli_def_option(opt, arg, &dopts, "plan");
                if (r < 0)
                        return VL_EXIT_USAGE;
                if (r > 0)
                        continue;
                switch (opt) {
                case 'h':
                        plan_usage(stdout);
                        return VL_EXIT_OK;
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_BRIEF:
                        brief = true;
                        break;
                case OPT_TOPOLOGY:
                        if (!arg || !*arg) {
                                fprintf(stderr,
                                        "vmlaunch plan: --topology needs FILE or a synthetic description\n");
                                return VL_EXIT_USAGE;
                        }
                        hopts.topology_arg = arg;
                        hopts.topology_origin =
                                access(arg, F_OK) == 0 || !topology_looks_synthetic(arg)
                                        ? TOPOLOGY_XML
                                        : TOPOLOGY_SYNTHETIC;
                        break;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("plan", "NAME|FILE", arg, &target) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!target) {
                plan_usage(stderr);
                return VL_EXIT_USAGE;
        }
        if (brief && json) {
                fprintf(stderr,
                        "vmlaunch plan: --brief is for people; --json always has the whole argv\n");
                return VL_EXIT_USAGE;
        }

        struct vm_def *def = NULL;
        struct vmdef_diags diags = {0};
        struct plan_facts facts = {0};
        struct vl_strv qemu_argv = {0};
        struct vl_error err = {0};
        /* The diagnostics are kept: warnings go into the plan (its JSON). */
        int ex = vl_cli_load_def_keep_diags(target, &dopts, &def, &diags);
        if (ex != VL_EXIT_OK)
                goto out;
        vmdef_check_files(def, VMDEF_WARNING, &diags);

        if (plan_resolve_facts(def, &hopts, &facts, &diags, &err) < 0) {
                fprintf(stderr, "vmlaunch plan: %s\n", err.msg);
                ex = err.errnum == ENOMEM ? VL_EXIT_FAILURE : VL_EXIT_DEFINITION;
                goto out;
        }
        if (diags.n_errors) { /* e.g. vcpu_pin = auto does not fit this host */
                vl_cli_print_diags(&diags, def->path);
                ex = VL_EXIT_DEFINITION;
                goto out;
        }
        struct qemu_argv_opts opts = {
                .gpu_group = facts.host.gpu_group,
                .n_gpu_group = facts.host.n_gpu_group,
                .accel = facts.host.accel,
                .bind_numa_node = facts.host.numa_node >= 0,
                .firmware_secure = facts.host.firmware.secure,
                .numa_node = facts.host.numa_node >= 0 ? (unsigned)facts.host.numa_node : 0,
                .smbios_host = facts.host.has_smbios_host
                                       ? (const char *const *)facts.host.smbios_host
                                       : NULL,
                .gpu_bar64_bytes = facts.host.gpu_bar64_bytes,
        };
        if (qemu_argv_build(def, &opts, &qemu_argv, &err) < 0) {
                fprintf(stderr, "vmlaunch plan: %s: %s\n", def->path, err.msg);
                ex = err.errnum == ENOMEM ? VL_EXIT_FAILURE : VL_EXIT_DEFINITION;
                goto out;
        }
        if (json) {
                ex = print_json(def, &facts, &diags, &qemu_argv);
        } else {
                ex = print_text(def, &facts, &diags, &qemu_argv, brief);
        }
out:
        vl_strv_free(&qemu_argv);
        plan_facts_free(&facts);
        vmdef_diags_free(&diags);
        vmdef_free(def);
        return ex;
}
