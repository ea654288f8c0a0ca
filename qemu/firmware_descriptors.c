#include "qemu/firmware_descriptors.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util/macro.h"

static const char *string_member(struct json_object *obj, const char *key)
{
        struct json_object *v;
        if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static struct json_object *member_of_type(struct json_object *obj, const char *key,
                                          enum json_type type)
{
        struct json_object *v;
        if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

static bool array_has_string(struct json_object *array, const char *s)
{
        size_t n = array ? json_object_array_length(array) : 0;
        for (size_t i = 0; i < n; i++) {
                struct json_object *v = json_object_array_get_idx(array, i);
                if (json_object_is_type(v, json_type_string) && streq(json_object_get_string(v), s))
                        return true;
        }
        return false;
}

static int dup_or_null(char **field, const char *s)
{
        *field = s ? strdup(s) : NULL;
        return !s || *field ? 0 : -ENOMEM;
}

static int read_mapping(struct json_object *mapping, struct fwdesc *d)
{
        const char *device = string_member(mapping, "device");
        d->flash = device && streq(device, "flash");
        if (!d->flash)
                return 0; /* memory (SEV) and kernel mappings are not pflash: never chosen */
        struct json_object *exe = member_of_type(mapping, "executable", json_type_object);
        struct json_object *tmpl = member_of_type(mapping, "nvram-template", json_type_object);
        int r = dup_or_null(&d->executable, exe ? string_member(exe, "filename") : NULL);
        return r < 0 ? r
                     : dup_or_null(&d->nvram_template,
                                   tmpl ? string_member(tmpl, "filename") : NULL);
}

static int read_targets(struct json_object *targets, struct fwdesc *d)
{
        size_t n = json_object_array_length(targets);
        for (size_t i = 0; i < n; i++) {
                struct json_object *t = json_object_array_get_idx(targets, i);
                const char *arch = json_object_is_type(t, json_type_object)
                                           ? string_member(t, "architecture")
                                           : NULL;
                if (!arch || !streq(arch, "x86_64"))
                        continue;
                struct json_object *machines = member_of_type(t, "machines", json_type_array);
                size_t m = machines ? json_object_array_length(machines) : 0;
                for (size_t j = 0; j < m; j++) {
                        struct json_object *g = json_object_array_get_idx(machines, j);
                        if (json_object_is_type(g, json_type_string) &&
                            vl_strv_push(&d->x86_64_machines, json_object_get_string(g)) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

int fwdesc_parse(const char *path, const char *name, const char *text, struct fwdesc *out,
                 struct vl_error *err)
{
        *out = (struct fwdesc){0};
        enum json_tokener_error jerr = json_tokener_success;
        struct json_object *root = json_tokener_parse_verbose(text, &jerr);
        if (!root || !json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return vl_error_set_plain(
                        err, EINVAL,
                        "firmware descriptor %s: %s; expected a JSON object as in QEMU's docs/interop/firmware.json",
                        path, root ? "not a JSON object" : json_tokener_error_desc(jerr));
        }
        struct json_object *types = member_of_type(root, "interface-types", json_type_array);
        struct json_object *mapping = member_of_type(root, "mapping", json_type_object);
        struct json_object *targets = member_of_type(root, "targets", json_type_array);
        const char *missing = !types     ? "interface-types"
                              : !mapping ? "mapping"
                              : !targets ? "targets"
                                         : NULL;
        int r = 0;
        if (missing) {
                r = vl_error_set_plain(
                        err, EINVAL,
                        "firmware descriptor %s: no \"%s\"; expected the members QEMU's docs/interop/firmware.json requires",
                        path, missing);
                goto out;
        }
        struct json_object *features = member_of_type(root, "features", json_type_array);
        out->uefi = array_has_string(types, "uefi");
        out->secure_boot = array_has_string(features, "secure-boot");
        out->enrolled_keys = array_has_string(features, "enrolled-keys");
        out->requires_smm = array_has_string(features, "requires-smm");
        if (dup_or_null(&out->path, path) < 0 || dup_or_null(&out->name, name) < 0 ||
            read_mapping(mapping, out) < 0 || read_targets(targets, out) < 0)
                r = vl_error_set(err, ENOMEM, "firmware descriptor %s", path);
        else if (out->flash && !out->executable)
                r = vl_error_set_plain(
                        err, EINVAL,
                        "firmware descriptor %s: mapping device flash without executable filename",
                        path);
out:
        json_object_put(root);
        if (r < 0)
                fwdesc_free(out);
        return r;
}

void fwdesc_free(struct fwdesc *d)
{
        free(d->path);
        free(d->name);
        free(d->executable);
        free(d->nvram_template);
        vl_strv_free(&d->x86_64_machines);
        *d = (struct fwdesc){0};
}

bool fwdesc_machine_matches(const struct fwdesc *d, const char *machine)
{
        /* The aliases stand for the newest machine of their family; a glob such as
         * pc-q35-* covers it, one pinned to old versions (pc-q35-2.*) does not. */
        const char *name = machine;
        if (streq(machine, "q35"))
                name = "pc-q35-9999.0";
        else if (streq(machine, "pc"))
                name = "pc-i440fx-9999.0";
        for (size_t i = 0; i < d->x86_64_machines.count; i++)
                if (fnmatch(d->x86_64_machines.items[i], name, 0) == 0)
                        return true;
        return false;
}

/* A descriptor vmlaunch can run at all: UEFI on pflash for this machine. */
static bool usable(const struct fwdesc *d, const char *machine)
{
        return d->uefi && d->flash && d->nvram_template && fwdesc_machine_matches(d, machine);
}

static bool fits(const struct fwdesc *d, const struct fwdesc_request *req, bool plain_only)
{
        if (req->secure_boot)
                return d->secure_boot && d->enrolled_keys;
        /* Without Secure Boot asked for, never enrolled keys (they would turn it on);
         * plain_only also avoids SMM, as libvirt prefers. */
        return !d->enrolled_keys && (!plain_only || !d->requires_smm);
}

static const struct fwdesc *find(const struct fwdesc *list, size_t n,
                                 const struct fwdesc_request *req, bool plain_only)
{
        for (size_t i = 0; i < n; i++)
                if (usable(&list[i], req->machine) && fits(&list[i], req, plain_only))
                        return &list[i];
        return NULL;
}

static const struct fwdesc *find_by_executable(const struct fwdesc *list, size_t n,
                                               const char *code)
{
        for (size_t i = 0; i < n; i++)
                if (list[i].flash && list[i].executable && streq(list[i].executable, code))
                        return &list[i];
        return NULL;
}

int fwdesc_select(const struct fwdesc *list, size_t n, const struct fwdesc_request *req,
                  struct fwdesc_choice *out, struct vl_error *err)
{
        *out = (struct fwdesc_choice){0};
        const char *sb = req->secure_boot ? "secure_boot = yes" : "secure_boot = no";
        if (req->code && req->vars_template) {
                out->code = req->code;
                out->vars_template = req->vars_template;
                const struct fwdesc *d = find_by_executable(list, n, req->code);
                out->secure = req->secure_boot || (d && d->requires_smm);
                snprintf(out->reason, sizeof(out->reason),
                         "none: code and vars_template given in the definition (%s)", sb);
                return 0;
        }
        if (req->code) {
                /* The template must belong to that code (same build, same size): take
                 * it from the descriptor of that executable, never from another one. */
                const struct fwdesc *d = find_by_executable(list, n, req->code);
                if (!d || !d->nvram_template)
                        return vl_error_set_plain(
                                err, ENOENT,
                                "no firmware descriptor names %s as its executable; give its vars_template too",
                                req->code);
                out->desc = d;
                out->code = req->code;
                out->vars_template = d->nvram_template;
                out->secure = req->secure_boot || d->requires_smm;
                snprintf(out->reason, sizeof(out->reason),
                         "%s: its executable is the given code; vars_template from it (%s)",
                         d->path, sb);
                return 0;
        }
        const struct fwdesc *d = find(list, n, req, true);
        bool fallback = false;
        if (!d && !req->secure_boot) {
                d = find(list, n, req, false);
                fallback = d != NULL;
        }
        if (!d) {
                if (req->secure_boot)
                        return vl_error_set_plain(
                                err, ENOENT,
                                "no firmware descriptor offers UEFI with secure-boot and enrolled-keys for x86_64 machine %s (%zu read); install one (Debian: package ovmf, /usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json) or give [firmware] code and vars_template",
                                req->machine, n);
                return vl_error_set_plain(
                        err, ENOENT,
                        "no firmware descriptor offers UEFI on pflash without enrolled keys for x86_64 machine %s (%zu read); install one (Debian: package ovmf) or give [firmware] code and vars_template",
                        req->machine, n);
        }
        out->desc = d;
        out->code = d->executable;
        out->vars_template = req->vars_template ? req->vars_template : d->nvram_template;
        out->secure = d->requires_smm || req->secure_boot;
        snprintf(out->reason, sizeof(out->reason), "%s: first by name %s for %s (%s)%s", d->path,
                 req->secure_boot ? "with secure-boot and enrolled-keys"
                 : fallback       ? "without enrolled-keys (none without requires-smm)"
                                  : "without enrolled-keys or requires-smm",
                 req->machine, sb, req->vars_template ? "; vars_template as given" : "");
        return 0;
}
