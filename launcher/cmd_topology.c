/* vmlaunch topology: the host's CPU layout, a pinning suggestion, a pinning check. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "topology/topology.h"
#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "util/exit_codes.h"

#define DEFAULT_IOTHREADS 1

static void topology_usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch topology [OPTIONS]\n\n"
                "Shows the host's CPU layout (packages, NUMA nodes, L3 domains, cores and their\n"
                "sibling threads, core kinds) and suggests or checks vCPU pinning. Changes nothing.\n\n"
                "Options:\n"
                "  -h, --help            show this help\n"
                "  --topology FILE|DESC  plan for another machine: FILE is an XML file written by\n"
                "                        `lstopo --of xml`; when no such file exists and the\n"
                "                        argument looks like \"pack:1 l3:2 core:3 pu:2\", it is\n"
                "                        an hwloc synthetic description\n"
                "  --synthetic DESC      an hwloc synthetic description, always\n"
                "  --suggest N           print a [cpu]/[iothreads] block pinning N vCPUs, ready\n"
                "                        to paste into a definition, each choice explained\n"
                "  --iothreads K         iothreads to place with --suggest (default %d)\n"
                "  --json                with --suggest: print {\"vcpus\", \"emulator\",\n"
                "                        \"iothreads\", \"topology\", \"reasons\"} as JSON;\n"
                "                        with --check: {\"definition\", \"source\", \"fits\",\n"
                "                        \"vcpus\", \"auto_reasons\", \"findings\"}\n"
                "  --check NAME|FILE     check a definition's vcpu_pin, emulator_pin and\n"
                "                        iothread pins against the topology\n" VL_CLI_DEF_OPTIONS_HELP
                "\nhwloc's HWLOC_XMLFILE and HWLOC_SYNTHETIC environment variables work too.\n"
                "Exit status: 0 OK, 1 the topology cannot be read, 2 usage, 3 invalid definition,\n4 the pinning cannot work on this topology (--check).\n",
                DEFAULT_IOTHREADS);
}

struct topology_args {
        enum topology_origin origin;
        const char *source;
        unsigned suggest; /* 0: no suggestion */
        unsigned iothreads;
        bool json;
        const char *check;
        struct vl_cli_def_opts dopts;
};

static int parse_count(const char *opt, const char *s, unsigned min, unsigned *out)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || !*s || *end || s[0] == '-' || v < min || v > 4096) {
                fprintf(stderr, "vmlaunch topology: %s '%s': expected a number from %u to 4096\n",
                        opt, s, min);
                return -1;
        }
        *out = v;
        return 0;
}

enum {
        OPT_TOPOLOGY = VL_CLI_OPT_VERB,
        OPT_SYNTHETIC,
        OPT_SUGGEST,
        OPT_IOTHREADS,
        OPT_JSON,
        OPT_CHECK,
};

static const struct option topology_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        {"synthetic", required_argument, NULL, OPT_SYNTHETIC},
        {"suggest", required_argument, NULL, OPT_SUGGEST},
        {"iothreads", required_argument, NULL, OPT_IOTHREADS},
        {"json", no_argument, NULL, OPT_JSON},
        {"check", required_argument, NULL, OPT_CHECK},
        VL_CLI_DEF_LONG_OPTIONS,
        {0},
};

static const char *long_option_name(int val)
{
        for (const struct option *o = topology_options; o->name; o++)
                if (o->val == val)
                        return o->name;
        return "?";
}

/* Returns 1 after --help (printed), 0, or -1 on a usage error (printed). */
static int parse_args(int argc, char **argv, struct topology_args *a)
{
        struct vl_cli_parser p = vl_cli_parser("topology", argc, argv, "-:h", topology_options);
        const char *v;
        for (int opt; (opt = vl_cli_next(&p, &v)) != VL_CLI_END;) {
                int r = vl_cli_def_option(opt, v, &a->dopts, "topology");
                if (r < 0)
                        return -1;
                if (r > 0)
                        continue;
                if (opt == 'h') {
                        topology_usage(stdout);
                        return 1;
                }
                if (opt == VL_CLI_WORD) {
                        fprintf(stderr,
                                "vmlaunch topology: unknown argument '%s'; see `vmlaunch topology --help`\n",
                                v);
                        return -1;
                }
                if (opt == VL_CLI_ERROR)
                        return -1;
                if (opt != OPT_JSON && (!v || !*v)) {
                        fprintf(stderr,
                                "vmlaunch topology: --%s needs a value; see `vmlaunch topology --help`\n",
                                long_option_name(opt));
                        return -1;
                }
                struct stat st;
                switch (opt) {
                case OPT_TOPOLOGY:
                        /* An existing file wins; otherwise it must read as synthetic. */
                        if (stat(v, &st) == 0 || !topology_looks_synthetic(v))
                                a->origin = TOPOLOGY_XML;
                        else
                                a->origin = TOPOLOGY_SYNTHETIC;
                        a->source = v;
                        break;
                case OPT_SYNTHETIC:
                        a->origin = TOPOLOGY_SYNTHETIC;
                        a->source = v;
                        break;
                case OPT_SUGGEST:
                        if (parse_count("--suggest", v, 1, &a->suggest) < 0)
                                return -1;
                        break;
                case OPT_IOTHREADS:
                        if (parse_count("--iothreads", v, 0, &a->iothreads) < 0)
                                return -1;
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case OPT_CHECK:
                        a->check = v;
                        break;
                }
        }
        if (a->json && !a->suggest && !a->check) {
                fprintf(stderr, "vmlaunch topology: --json goes with --suggest N or --check\n");
                return -1;
        }
        if (a->check && a->suggest) {
                fprintf(stderr, "vmlaunch topology: use either --suggest or --check\n");
                return -1;
        }
        return 0;
}

static json_object *cpus_json(const struct vmdef_cpulist *l)
{
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < l->count; i++)
                json_object_array_add(arr, json_object_new_int64(l->cpus[i]));
        return arr;
}

static int print_suggestion_json(const struct topology *topo, const struct topology_pin_plan *p)
{
        json_object *root = json_object_new_object();
        json_object *io = json_object_new_array();
        json_object *guest = json_object_new_object();
        json_object *reasons = json_object_new_array();
        if (!root || !io || !guest || !reasons) {
                json_object_put(root);
                json_object_put(io);
                json_object_put(guest);
                json_object_put(reasons);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_iothreads; i++)
                json_object_array_add(io, cpus_json(&p->iothreads[i]));
        json_object_object_add(guest, "sockets", json_object_new_int(p->sockets));
        json_object_object_add(guest, "dies", json_object_new_int(p->dies));
        json_object_object_add(guest, "cores", json_object_new_int(p->cores));
        json_object_object_add(guest, "threads", json_object_new_int(p->threads));
        const char *whys[] = {p->why_topology, p->why_vcpus, p->why_emulator, p->why_iothreads};
        for (size_t i = 0; i < sizeof(whys) / sizeof(whys[0]); i++)
                if (whys[i])
                        json_object_array_add(reasons, json_object_new_string(whys[i]));
        for (size_t i = 0; i < p->notes.count; i++)
                json_object_array_add(reasons, json_object_new_string(p->notes.items[i]));

        json_object_object_add(root, "source", json_object_new_string(topo->source));
        json_object_object_add(root, "vcpus", cpus_json(&p->vcpus));
        json_object_object_add(root, "emulator", cpus_json(&p->emulator));
        json_object_object_add(root, "iothreads", io);
        json_object_object_add(root, "topology", guest);
        json_object_object_add(root, "reasons", reasons);
        printf("%s\n", json_object_to_json_string_ext(
                               root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
}

static json_object *strings_json(const struct vl_strv *l)
{
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < l->count; i++)
                json_object_array_add(arr, json_object_new_string(l->items[i]));
        return arr;
}

/* One finding as {"severity", "line", "section", "key", "message"}; line is null
 * when the key was not written (its default was checked). */
static json_object *finding_json(const struct vm_def *def, const struct vmdef_diag *d)
{
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        unsigned line = d->line ? d->line : vmdef_key_line(def, d->section, d->key);
        json_object_object_add(
                o, "severity",
                json_object_new_string(d->severity == VMDEF_ERROR ? "error" : "warning"));
        json_object_object_add(o, "line", line ? json_object_new_int64(line) : NULL);
        json_object_object_add(o, "section", json_object_new_string(d->section));
        json_object_object_add(o, "key", json_object_new_string(d->key));
        json_object_object_add(o, "message", json_object_new_string(d->msg));
        return o;
}

static int print_check_json(const struct topology *topo, const struct vm_def *def, const char *path,
                            const struct vl_strv *reasons,
                            const struct topology_pin_findings *findings)
{
        json_object *root = json_object_new_object();
        json_object *list = json_object_new_array();
        if (!root || !list) {
                json_object_put(root);
                json_object_put(list);
                return -ENOMEM;
        }
        for (size_t i = 0; i < findings->count; i++)
                json_object_array_add(list, finding_json(def, &findings->items[i]));
        json_object_object_add(root, "definition", json_object_new_string(path));
        json_object_object_add(root, "source", json_object_new_string(topo->source));
        json_object_object_add(root, "fits", json_object_new_boolean(findings->n_errors == 0));
        json_object_object_add(root, "vcpus", cpus_json(&def->vcpu_pin));
        json_object_object_add(root, "auto_reasons", strings_json(reasons));
        json_object_object_add(root, "findings", list);
        printf("%s\n", json_object_to_json_string_ext(
                               root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
}

static void print_lines(const struct vl_strv *lines)
{
        for (size_t i = 0; i < lines->count; i++)
                printf("%s\n", lines->items[i]);
}

static int run_suggest(const struct topology *topo, const struct topology_args *a)
{
        struct topology_pin_request req = {.n_vcpus = a->suggest, .n_iothreads = a->iothreads};
        struct topology_pin_plan plan;
        struct vl_error err = {0};
        if (topology_pin_suggest(topo, &req, &plan, &err) < 0) {
                fprintf(stderr, "vmlaunch topology: %s\n", err.msg);
                return err.errnum == ENOMEM ? VL_EXIT_FAILURE : VL_EXIT_USAGE;
        }
        int r;
        if (a->json) {
                r = print_suggestion_json(topo, &plan);
        } else {
                struct vl_strv lines = {0};
                r = topology_pin_plan_ini(&plan, &lines);
                if (r >= 0) {
                        printf("# `vmlaunch topology --suggest %u` for %s\n", a->suggest,
                               topo->source);
                        print_lines(&lines);
                }
                vl_strv_free(&lines);
        }
        topology_pin_plan_free(&plan);
        if (r < 0) {
                fprintf(stderr, "vmlaunch topology: out of memory\n");
                return VL_EXIT_FAILURE;
        }
        return VL_EXIT_OK;
}

static int run_check(const struct topology *topo, const struct topology_args *a)
{
        struct vm_def *def = NULL;
        int ex = vl_cli_load_def(a->check, &a->dopts, &def);
        if (ex != VL_EXIT_OK)
                return ex;
        const char *path = def->path ? def->path : a->check;
        struct vl_strv reasons = {0};
        struct vl_error err = {0};
        struct topology_pin_findings findings = {0};
        int r = topology_apply_auto_pin(topo, def, &reasons, &err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, err.msg);
                ex = r == -ENOMEM ? VL_EXIT_FAILURE : VL_EXIT_HOST_CHECK;
                goto out;
        }
        if (topology_pin_check(topo, def, &findings) < 0 ||
            (a->json && print_check_json(topo, def, path, &reasons, &findings) < 0)) {
                fprintf(stderr, "vmlaunch topology: out of memory\n");
                ex = VL_EXIT_FAILURE;
                goto out;
        }
        ex = findings.n_errors ? VL_EXIT_HOST_CHECK : VL_EXIT_OK;
        if (a->json)
                goto out;
        for (size_t i = 0; i < reasons.count; i++)
                printf("%s: vcpu_pin = auto: %s\n", path, reasons.items[i]);
        char line[1024];
        for (size_t i = 0; i < findings.count; i++) {
                struct vmdef_diag d = findings.items[i];
                d.line = d.line ? d.line : vmdef_key_line(def, d.section, d.key);
                vmdef_diag_format(&d, path, line, sizeof(line));
                fprintf(stderr, "%s\n", line);
        }
        if (findings.count == 0)
                printf("%s: pinning fits %s\n", path, topo->source);
out:
        topology_pin_findings_free(&findings);
        vl_strv_free(&reasons);
        vmdef_free(def);
        return ex;
}

int cmd_topology(int argc, char **argv)
{
        struct topology_args a = {.origin = TOPOLOGY_HOST, .iothreads = DEFAULT_IOTHREADS};
        int r = parse_args(argc, argv, &a);
        if (r != 0)
                return r > 0 ? VL_EXIT_OK : VL_EXIT_USAGE;

        struct topology *topo = NULL;
        struct vl_error err = {0};
        if (topology_load(a.origin, a.source, &topo, &err) < 0) {
                fprintf(stderr, "vmlaunch topology: %s\n", err.msg);
                return a.origin == TOPOLOGY_HOST ? VL_EXIT_FAILURE : VL_EXIT_USAGE;
        }
        int ex;
        if (a.suggest) {
                ex = run_suggest(topo, &a);
        } else if (a.check) {
                ex = run_check(topo, &a);
        } else {
                struct vl_strv lines = {0};
                ex = VL_EXIT_OK;
                if (topology_describe(topo, &lines) < 0) {
                        fprintf(stderr, "vmlaunch topology: out of memory\n");
                        ex = VL_EXIT_FAILURE;
                } else {
                        print_lines(&lines);
                }
                vl_strv_free(&lines);
        }
        topology_free(topo);
        return ex;
}
