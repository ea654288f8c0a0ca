/* Unbind the VT consoles that draw on a framebuffer of the GPU's group, so the
 * framebuffer (and the GPU behind it) can be let go; bind them again on restore.
 * Consoles fbcon draws on another card (the iGPU's) stay with the host (fbcon.h).
 * A framebuffer console that is unbound before the VM stays unbound after it, although
 * loading the GPU's driver again makes the kernel bind it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/fbcon.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "vmdefs/vmdef.h"
#include "util/macro.h"

#define VTCON_DIR "/sys/class/vtconsole"

struct vtcon_state {
        struct vl_strv names;     /* vtcon1 ... bound to a framebuffer console */
        struct vl_strv descs;     /* their "name" attribute */
        struct vl_strv unbound;   /* framebuffer consoles already unbound: kept so */
        struct fbcon_place place; /* unbind only when on_gpu */
};

static int vtcon_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        if (ctx->def && (ctx->def->vtconsoles == VMDEF_OFF || !ctx->def->has_gpu))
                return 0;
        struct vl_strv entries;
        if (sysroot_list_dir(VTCON_DIR, &entries) < 0)
                return 0; /* no VT subsystem (CONFIG_VT=n): nothing to unbind */
        struct vtcon_state *s = calloc(1, sizeof(*s));
        if (!s) {
                vl_strv_free(&entries);
                return vl_error_set(err, ENOMEM, "vtconsoles");
        }
        int r = 0;
        for (size_t i = 0; i < entries.count && r == 0; i++) {
                const char *vtcon = entries.items[i];
                if (strncmp(vtcon, "vtcon", 5) != 0)
                        continue;
                char path[PATH_MAX], name[256], bind[16];
                snprintf(path, sizeof(path), VTCON_DIR "/%s/name", vtcon);
                if (sysroot_read_line(path, name, sizeof(name)) < 0)
                        continue;
                snprintf(path, sizeof(path), VTCON_DIR "/%s/bind", vtcon);
                if (sysroot_read_line(path, bind, sizeof(bind)) < 0)
                        continue;
                /* "(M) frame buffer device" is fbcon; "(S) dummy device" stays */
                if (strstr(name, "frame buffer") && streq(bind, "1")) {
                        r = vl_strv_push(&s->names, vtcon);
                        if (r == 0)
                                r = vl_strv_push(&s->descs, name);
                } else if (strstr(name, "frame buffer") && streq(bind, "0")) {
                        r = vl_strv_push(&s->unbound, vtcon);
                }
        }
        vl_strv_free(&entries);
        if (r == 0 && s->names.count)
                r = fbcon_locate(ctx->def, &s->place);
        if (r < 0 || s->names.count + s->unbound.count == 0) {
                vl_strv_free(&s->names);
                vl_strv_free(&s->descs);
                vl_strv_free(&s->unbound);
                free(s);
                return r < 0 ? vl_error_set(err, -r, "vtconsoles") : 0;
        }
        *state = s;
        return 0;
}

static int vtcon_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct vtcon_state *s = state;
        for (size_t i = 0; i < s->names.count; i++) {
                int r = s->place.on_gpu
                                ? plan_add(plan, "vtconsoles", "unbind %s (%s)", s->names.items[i],
                                           s->descs.items[i])
                                : plan_add(plan, "vtconsoles", "keep %s (%s): %s",
                                           s->names.items[i], s->descs.items[i], s->place.why);
                if (r < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < s->unbound.count; i++)
                if (plan_add(plan, "vtconsoles", "keep %s unbound after the VM (it is unbound now)",
                             s->unbound.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int vtcon_write_bind(const char *vtcon, const char *value, struct vl_error *err)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), VTCON_DIR "/%s/bind", vtcon);
        return sysroot_write(path, value, err);
}

static int vtcon_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        struct vtcon_state *s = state;
        /* no change now: the record says what the console must be after the VM */
        for (size_t i = 0; i < s->unbound.count; i++) {
                char desc[128];
                snprintf(desc, sizeof(desc), "keep %s unbound", s->unbound.items[i]);
                int r = step_journal(
                        ctx, desc,
                        (const char *const[]){"vtcon", s->unbound.items[i], "bind", "0", NULL},
                        err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->names.count && s->place.on_gpu; i++) {
                const char *vtcon = s->names.items[i];
                char desc[128];
                snprintf(desc, sizeof(desc), "rebind %s", vtcon);
                int r = step_journal(ctx, desc, (const char *const[]){"vtcon", vtcon, NULL}, err);
                if (r == 0)
                        r = vtcon_write_bind(vtcon, "0", err);
                if (r < 0)
                        return r;
                step_log(ctx, LOG_INFO, "unbound %s (%s): %s", vtcon, s->descs.items[i],
                         s->place.why);
        }
        return 0;
}

static int vtcon_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                      struct vl_error *err)
{
        const char *vtcon = journal_record_get(rec, "vtcon");
        if (!vtcon || strchr(vtcon, '/'))
                return vl_error_set(err, EINVAL, "vtconsoles record without a valid vtcon");
        /* records without bind= are consoles this step unbound */
        const char *want = journal_record_get(rec, "bind");
        bool rebind = !want || !streq(want, "0");
        char path[PATH_MAX], bind[16];
        snprintf(path, sizeof(path), VTCON_DIR "/%s/bind", vtcon);
        if (sysroot_read_line(path, bind, sizeof(bind)) == 0 && streq(bind, rebind ? "1" : "0"))
                return 0; /* already so (undo is idempotent) */
        if (!rebind && !sysroot_exists(path))
                return 0; /* gone with its framebuffer: nothing is bound to it */
        int r = vtcon_write_bind(vtcon, rebind ? "1" : "0", err);
        if (r == 0 && rebind)
                step_log(ctx, LOG_INFO, "rebound %s", vtcon);
        else if (r == 0)
                step_log(ctx, LOG_INFO, "unbound %s again, as before the VM", vtcon);
        return r;
}

static void vtcon_free(void *state)
{
        struct vtcon_state *s = state;
        vl_strv_free(&s->names);
        vl_strv_free(&s->descs);
        vl_strv_free(&s->unbound);
        free(s);
}

const struct hostprep_step step_vtconsoles = {
        .name = "vtconsoles",
        .inspect = vtcon_inspect,
        .describe = vtcon_describe,
        .apply = vtcon_apply,
        .undo = vtcon_undo,
        .free_state = vtcon_free,
};
