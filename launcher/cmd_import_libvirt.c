/* vmlaunch import-libvirt [--name NAME] [--hooks DIR] DOMAIN.xml|-: a libvirt domain
 * (`virsh dumpxml NAME`) as a vmlaunch definition on stdout, and what of the domain's
 * hook scripts vmlaunch now does itself. The mapping is importer/; this file reads the
 * input, asks sysfs which device is the GPU, and prints. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostprep/sysroot.h"
#include "importer/importer.h"
#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "util/cleanup.h"
#include "util/exit_codes.h"
#include "util/macro.h"

#define HOOK_DEPTH_MAX 4
#define HOOK_FILES_MAX 256

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch import-libvirt [--name NAME] [--hooks DIR] DOMAIN.xml|-\n\n"
                "Prints a vmlaunch definition made from a libvirt domain's XML (a file, or - for\n"
                "stdin: `virsh dumpxml win10 | vmlaunch import-libvirt -`). Every element it\n"
                "cannot express is kept as a `# not imported: ELEMENT: why` line and said on\n"
                "stderr. Changes nothing; save the output as /etc/vmlaunch/NAME.ini.\n\n"
                "Options:\n"
                "  -h, --help     show this help\n"
                "  --name NAME    the VM's name (default: the domain's <name>)\n"
                "  --hooks DIR    the domain's libvirt hook scripts (e.g.\n"
                "                 /etc/libvirt/hooks/qemu.d/win10): says which of their\n"
                "                 commands vmlaunch now does itself and which remain\n"
                "\nExit status: 0 printed (warnings or not), 1 a hook folder cannot be read or\n"
                "libxml2 is missing, 2 usage, 3 the input cannot be read, is not well-formed\n"
                "XML or not a domain.\n");
}

enum {
        OPT_NAME = VL_CLI_OPT_VERB,
        OPT_HOOKS,
};

static const struct option import_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"name", required_argument, NULL, OPT_NAME},
        {"hooks", required_argument, NULL, OPT_HOOKS},
        {0},
};

/* Reads all of fd, refusing more than max bytes. Returns 0 or -errno (-EFBIG). */
static int read_all(int fd, size_t max, char **out, size_t *len)
{
        size_t cap = 65536, used = 0;
        char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (used == cap) {
                        if (cap > max) {
                                free(buf);
                                return -EFBIG;
                        }
                        cap *= 2;
                        char *n = realloc(buf, cap + 1);
                        if (!n) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = n;
                }
                ssize_t r = read(fd, buf + used, cap - used);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        int e = errno;
                        free(buf);
                        return -e;
                }
                if (r == 0)
                        break;
                used += (size_t)r;
        }
        if (used > max) {
                free(buf);
                return -EFBIG;
        }
        buf[used] = '\0';
        *out = buf;
        *len = used;
        return 0;
}

static int pci_class_from_sysfs(const char *addr, unsigned *pci_class, void *userdata)
{
        (void)userdata;
        char path[256], line[32];
        if (sysroot_path(path, sizeof(path), "/sys/bus/pci/devices/%s/class", addr) < 0)
                return -ENAMETOOLONG;
        int r = sysroot_read_line(path, line, sizeof(line));
        if (r < 0)
                return r;
        char *end;
        unsigned long v = strtoul(line, &end, 16);
        if (end == line)
                return -EINVAL;
        *pci_class = (unsigned)v;
        return 0;
}

/* The stage a hook's path names, as vmlaunch runs it ("prepare/begin"), or NULL. DIR
 * may be the domain's folder (prepare/begin/x.sh) or one above it
 * (qemu.d/win10/prepare/begin/x.sh). */
static const char *vmlaunch_stage(const char *rel)
{
        static const char *const stages[] = {"prepare/begin/", "started/begin/", "release/end/"};
        static const char *const names[] = {"prepare/begin", "started/begin", "release/end"};
        for (size_t i = 0; i < ELEMENTSOF(stages); i++) {
                const char *at = strstr(rel, stages[i]);
                if (at && (at == rel || at[-1] == '/'))
                        return names[i];
        }
        return NULL;
}

struct hooks_scan {
        const char *vm;
        unsigned files, done, remain;
        int error;
};

static void report_hook(struct hooks_scan *scan, const char *rel, const char *text)
{
        struct importer_hook_report rep = {0};
        if (importer_hook_classify(text, &rep) < 0) {
                scan->error = -ENOMEM;
                importer_hook_report_free(&rep);
                return;
        }
        const char *stage = vmlaunch_stage(rel);
        printf("#\n# %s%s%s:\n", rel, stage ? "" : " (a stage vmlaunch does not run: ",
               stage ? "" : "prepare/begin, started/begin and release/end)");
        for (size_t i = 0; i < rep.done.count; i++)
                printf("#   done by vmlaunch: %s\n", rep.done.items[i]);
        for (size_t i = 0; i < rep.remain.count; i++)
                printf("#   remains: %s\n", rep.remain.items[i]);
        if (rep.remain.count)
                printf("#   -> keep these in an executable of /etc/vmlaunch/hooks/%s/%s/\n",
                       scan->vm, stage ? stage : "prepare/begin");
        fprintf(stderr,
                "vmlaunch import-libvirt: hook %s: %zu command(s) done by vmlaunch, %zu remain\n",
                rel, rep.done.count, rep.remain.count);
        scan->files++;
        scan->done += (unsigned)rep.done.count;
        scan->remain += (unsigned)rep.remain.count;
        importer_hook_report_free(&rep);
}

static void scan_hooks(struct hooks_scan *scan, const char *dir, const char *rel, int depth)
{
        struct vl_strv names = {0};
        int r = list_dir_sorted(dir, &names);
        if (r < 0) {
                fprintf(stderr, "vmlaunch import-libvirt: --hooks: %s: %s\n", dir, strerror(-r));
                scan->error = r;
                return;
        }
        for (size_t i = 0; i < names.count && !scan->error; i++) {
                _cleanup_free_ char *path = NULL, *sub = NULL;
                if (asprintf(&path, "%s/%s", dir, names.items[i]) < 0 ||
                    asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", names.items[i]) < 0) {
                        scan->error = -ENOMEM;
                        break;
                }
                struct stat st;
                if (stat(path, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (depth < HOOK_DEPTH_MAX)
                                scan_hooks(scan, path, sub, depth + 1);
                        continue;
                }
                if (!S_ISREG(st.st_mode) || scan->files >= HOOK_FILES_MAX)
                        continue;
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                _cleanup_free_ char *text = NULL;
                size_t len;
                r = fd < 0 ? -errno : read_all(fd, IMPORTER_HOOK_MAX_BYTES, &text, &len);
                if (r < 0) {
                        fprintf(stderr, "vmlaunch import-libvirt: --hooks: %s: %s\n", path,
                                r == -EFBIG ? "larger than 1 MiB, not read" : strerror(-r));
                        continue;
                }
                /* A NUL ends the text: a binary is no script to read. */
                report_hook(scan, sub, text);
        }
        vl_strv_free(&names);
}

int cmd_import_libvirt(int argc, char **argv)
{
        const char *name = NULL, *hooks = NULL, *input = NULL, *v;
        struct vl_cli_parser p = vl_cli_parser("import-libvirt", argc, argv, "-:h", import_options);
        for (int opt; (opt = vl_cli_next(&p, &v)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_NAME:
                case OPT_HOOKS:
                        if (!v || !*v) {
                                fprintf(stderr, "vmlaunch import-libvirt: --%s needs a value\n",
                                        opt == OPT_NAME ? "name" : "hooks");
                                return VL_EXIT_USAGE;
                        }
                        *(opt == OPT_NAME ? &name : &hooks) = v;
                        break;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("import-libvirt", "DOMAIN.xml", v, &input) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default:
                        return VL_EXIT_USAGE;
                }
        }
        if (!input) {
                fprintf(stderr, "vmlaunch import-libvirt: which domain? give DOMAIN.xml, or - "
                                "for stdin; see `vmlaunch import-libvirt --help`\n");
                return VL_EXIT_USAGE;
        }
        _cleanup_close_ int fd = streq(input, "-") ? dup(STDIN_FILENO)
                                                   : open(input, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *xml = NULL;
        size_t len = 0;
        int r = fd < 0 ? -errno : read_all(fd, IMPORTER_XML_MAX_BYTES, &xml, &len);
        if (r < 0) {
                fprintf(stderr, "vmlaunch import-libvirt: %s: %s\n",
                        streq(input, "-") ? "stdin" : input,
                        r == -EFBIG ? "larger than 4 MiB: not a libvirt domain" : strerror(-r));
                return r == -ENOMEM ? VL_EXIT_FAILURE : VL_EXIT_DEFINITION;
        }
        struct importer_options opts = {.name = name, .pci_class = pci_class_from_sysfs};
        struct importer_result res = {0};
        struct vl_error err = {0};
        r = importer_libvirt_domain(xml, len, &opts, &res, &err);
        if (r == -EINVAL) {
                fprintf(stderr, "vmlaunch import-libvirt: %s\n", err.msg);
                return VL_EXIT_USAGE;
        }
        if (r == -EBADMSG) {
                fprintf(stderr, "vmlaunch import-libvirt: %s: %s\n",
                        streq(input, "-") ? "stdin" : input, err.msg);
                return VL_EXIT_DEFINITION;
        }
        if (r < 0) { /* libxml2 missing, out of memory */
                fprintf(stderr, "vmlaunch import-libvirt: %s\n", err.msg);
                return VL_EXIT_FAILURE;
        }
        fputs(res.ini, stdout);
        fputc('\n', stdout);
        for (size_t i = 0; i < res.warnings.count; i++)
                fprintf(stderr, "vmlaunch import-libvirt: warning: %s\n", res.warnings.items[i]);
        if (!res.has_gpu)
                fprintf(stderr, "vmlaunch import-libvirt: warning: the domain passes no GPU "
                                "through: the definition runs the VM without one\n");
        int ex = VL_EXIT_OK;
        if (hooks) {
                struct hooks_scan scan = {.vm = res.name};
                printf("\n# libvirt hook scripts in %s, line by line:\n", hooks);
                scan_hooks(&scan, hooks, "", 0);
                if (!scan.error && !scan.files)
                        printf("#   (no scripts)\n");
                if (scan.error)
                        ex = VL_EXIT_FAILURE;
        }
        importer_result_free(&res);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "vmlaunch import-libvirt: writing the definition: %s\n",
                        strerror(errno));
                return VL_EXIT_FAILURE;
        }
        return ex;
}
