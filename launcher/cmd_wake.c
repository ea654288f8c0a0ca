/* vmlaunch wake: started by vmlaunch-wake.socket (systemd socket activation, UDP port
 * 9) with the socket as fd 3; reads the Wake-on-LAN magic packets queued there, starts
 * vmlaunch@NAME.service for the definition with [session] wake_on_lan = yes whose
 * [net.ID] mac the packet names, and exits once no packet came for --exit-idle-time.
 * systemd keeps the socket open meanwhile and starts it again on the next packet: no
 * resident daemon. `vmlaunch wake --mac MAC` does the same for one MAC, by hand. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostprep/dl_systemd.h"
#include "hostprep/sysroot.h"
#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/magic_packet.h"
#include "launcher/systemd_start.h"
#include "run/runlog.h"
#include "util/exit_codes.h"
#include "util/strv.h"

#define DEFAULT_EXIT_IDLE_S 10
/* Distinct messages about ignored packets remembered, each logged once per process. */
#define IGNORED_REMEMBERED 64

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch wake [--exit-idle-time SECONDS] [OPTIONS]\n"
                "       vmlaunch wake --mac MAC [OPTIONS]\n\n"
                "Run by vmlaunch-wake.socket (UDP port 9): read the Wake-on-LAN magic packets\n"
                "on the socket systemd passes (fd 3) and start vmlaunch@NAME.service for the\n"
                "definition with [session] wake_on_lan = yes whose [net.ID] mac the packet\n"
                "names; anything else is ignored and logged once. Exits after SECONDS without\n"
                "a packet (default 10; systemd starts it again on the next one).\n"
                "--mac MAC does the same for one MAC, without a packet.\n\n"
                "Options:\n"
                "  -h, --help            show this help\n" VL_CLI_DEF_OPTIONS_HELP
                "\nExit status: 0 done (packets handled; with --mac: the unit's start is queued),\n"
                "1 no definition with wake_on_lan = yes has that MAC (--mac) or an error, 2 usage\n"
                "(also: no socket passed and no --mac).\n");
}

struct waker {
        const char *config_dir;
        struct vmdef_load_opts lopts;
        struct vl_strv ignored; /* messages already logged: each one once */
        struct vl_strv started; /* units whose start this process queued */
};

/* Logs a line about an ignored packet or definition once per process: Wake-on-LAN
 * senders repeat their packets, and junk should not flood the journal. */
static void log_once(struct waker *w, int priority, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void log_once(struct waker *w, int priority, const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (vl_strv_contains(&w->ignored, line))
                return;
        if (w->ignored.count >= IGNORED_REMEMBERED) {
                vl_strv_free(&w->ignored);
                runlog(LOG_NOTICE,
                       "more distinct packets ignored than remembered; forgetting them");
        }
        vl_strv_push(&w->ignored, line);
        runlog(priority, "%s", line);
}

/* The definitions with wake_on_lan = yes whose [net.ID] mac is mac: *name set to
 * the first one (malloc'd). Every definition is loaded by the normal loader, so one
 * that is not root's, or invalid, is refused (and logged once). Returns 1 when
 * found, 0 when not. */
static int find_definition(struct waker *w, const uint8_t mac[6], char **name)
{
        *name = NULL;
        char text[18];
        mac_format(mac, text);
        struct vl_strv files = {0};
        int r = list_dir_sorted(w->config_dir, &files);
        if (r < 0) {
                log_once(w, LOG_ERR, "cannot list %s: %s", w->config_dir, strerror(-r));
                return 0;
        }
        const char *without_wol = NULL;
        char *without_wol_name = NULL;
        for (size_t i = 0; i < files.count && !*name; i++) {
                const char *f = files.items[i];
                size_t len = strlen(f);
                if (len < 5 || strcmp(f + len - 4, ".ini") != 0 || f[0] == '.')
                        continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", w->config_dir, f);
                struct vm_def *def = NULL;
                struct vmdef_diags diags = {0};
                r = vmdef_load(path, &w->lopts, &def, &diags);
                if (r < 0) {
                        char first[512] = "";
                        if (diags.count)
                                vmdef_diag_format(&diags.items[0], path, first, sizeof(first));
                        log_once(w, LOG_WARNING, "%s: refused, not considered for Wake-on-LAN: %s",
                                 path, first[0] ? first : strerror(-r));
                        vmdef_diags_free(&diags);
                        continue;
                }
                vmdef_diags_free(&diags);
                for (size_t n = 0; n < def->n_nets; n++) {
                        uint8_t have[6];
                        if (!def->nets[n].mac || mac_parse(def->nets[n].mac, have) < 0 ||
                            memcmp(have, mac, 6) != 0)
                                continue;
                        if (def->wake_on_lan)
                                *name = strdup(def->name);
                        else if (!without_wol_name)
                                without_wol_name = strdup(def->name);
                        break;
                }
                vmdef_free(def);
        }
        vl_strv_free(&files);
        without_wol = without_wol_name;
        if (!*name && without_wol)
                log_once(
                        w, LOG_NOTICE,
                        "magic packet for %s ignored: it is the MAC of %s, which does not have [session] wake_on_lan = yes",
                        text, without_wol);
        else if (!*name)
                log_once(
                        w, LOG_NOTICE,
                        "magic packet for %s ignored: no definition in %s with wake_on_lan = yes has this MAC",
                        text, w->config_dir);
        free(without_wol_name);
        return *name != NULL;
}

/* Queues the start of NAME's unit (--no-block: a start waits for the guest, and
 * packets keep coming). Returns 0 or -1 after logging why. */
static int wake_vm(struct waker *w, const char *name, const char *mac_text, const char *from)
{
        char unit[128];
        snprintf(unit, sizeof(unit), "vmlaunch@%s.service", name);
        if (vl_strv_contains(&w->started, unit))
                return 0; /* a repeat of the same wake-up */
        struct unit_start_result res;
        struct vl_error err = {0};
        if (unit_start(unit, true, -1, &res, &err) < 0) {
                runlog(LOG_ERR, "magic packet for %s%s%s: %s", mac_text, from ? " from " : "",
                       from ? from : "", err.msg);
                return -1;
        }
        vl_strv_push(&w->started, unit);
        runlog(LOG_NOTICE, "magic packet for %s%s%s: %s %s", mac_text, from ? " from " : "",
               from ? from : "", res.already_active ? "already running:" : "starting", unit);
        return 0;
}

static void sender_text(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size)
{
        snprintf(buf, size, "an unnamed socket");
        if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
                inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)size);
        } else if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
                /* ListenDatagram=9 is one dual-stack socket: IPv4 senders come as
                 * ::ffff:a.b.c.d, shown as a.b.c.d */
                if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
                        inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, (socklen_t)size);
                else
                        inet_ntop(AF_INET6, &in6->sin6_addr, buf, (socklen_t)size);
        } else if (ss->ss_family == AF_UNIX) {
                snprintf(buf, size, "a local socket");
        }
}

/* Handles every datagram that arrives until none came for idle_ms. */
static int serve(struct waker *w, int fd, int idle_ms)
{
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int n = poll(&pfd, 1, idle_ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        runlog(LOG_ERR, "waiting for magic packets: %s", strerror(errno));
                        return VL_EXIT_FAILURE;
                }
                if (n == 0)
                        return VL_EXIT_OK; /* idle: systemd starts us again on the next one */
                uint8_t buf[512];
                struct sockaddr_storage ss = {0};
                socklen_t ss_len = sizeof(ss);
                /* MSG_TRUNC: the datagram's real length, so an oversized one is junk */
                ssize_t len = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
                                       (struct sockaddr *)&ss, &ss_len);
                if (len < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (len < 0) {
                        runlog(LOG_ERR, "reading a magic packet: %s", strerror(errno));
                        return VL_EXIT_FAILURE;
                }
                char from[INET6_ADDRSTRLEN + 16];
                sender_text(&ss, ss_len, from, sizeof(from));
                uint8_t mac[6];
                const char *why;
                if (magic_packet_parse(buf,
                                       (size_t)len > sizeof(buf) ? sizeof(buf) + 1 : (size_t)len,
                                       mac, &why) < 0) {
                        log_once(w, LOG_NOTICE,
                                 "ignored a packet from %s that is no magic packet (%zd bytes): %s",
                                 from, len, why);
                        continue;
                }
                char mac_text[18];
                mac_format(mac, mac_text);
                char *name = NULL;
                if (find_definition(w, mac, &name))
                        wake_vm(w, name, mac_text, from);
                free(name);
        }
}

/* The one datagram socket systemd passed (LISTEN_FDS), or -1 after saying why. */
static int passed_socket(void)
{
        struct vl_error err = {0};
        if (dl_systemd_open(&err) < 0) {
                fprintf(stderr, "vmlaunch wake: %s\n", err.msg);
                return -1;
        }
        int n = sym_sd_listen_fds(1);
        if (n != 1) {
                fprintf(stderr,
                        "vmlaunch wake: %s; it is started by vmlaunch-wake.socket (`systemctl enable --now vmlaunch-wake.socket`), or give --mac MAC\n",
                        n < 0    ? "cannot read LISTEN_FDS"
                        : n == 0 ? "no socket was passed (LISTEN_FDS)"
                                 : "more than one socket was passed (LISTEN_FDS); expected one");
                return -1;
        }
        int type = 0;
        socklen_t type_len = sizeof(type);
        if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0 ||
            type != SOCK_DGRAM) {
                fprintf(stderr,
                        "vmlaunch wake: fd 3 is not a datagram socket; expected ListenDatagram= in the socket unit\n");
                return -1;
        }
        return SD_LISTEN_FDS_START;
}

enum { OPT_MAC = VL_CLI_OPT_VERB, OPT_EXIT_IDLE };

static const struct option wake_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"mac", required_argument, NULL, OPT_MAC},
        {"exit-idle-time", required_argument, NULL, OPT_EXIT_IDLE},
        VL_CLI_DEF_LONG_OPTIONS,
        {0},
};

int cmd_wake(int argc, char **argv)
{
        struct vl_cli_def_opts dopts = {0};
        const char *mac_arg = NULL;
        long idle_s = DEFAULT_EXIT_IDLE_S;
        struct vl_cli_parser p = vl_cli_parser("wake", argc, argv, "-:h", wake_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                int r = vl_cli_def_option(opt, arg, &dopts, "wake");
                if (r < 0)
                        return VL_EXIT_USAGE;
                if (r > 0)
                        continue;
                char *end;
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_MAC:
                        mac_arg = arg ? arg : "";
                        break;
                case OPT_EXIT_IDLE:
                        errno = 0;
                        idle_s = arg ? strtol(arg, &end, 10) : -1;
                        if (!arg || !*arg || *end || errno || idle_s < 0 || idle_s > 3600) {
                                fprintf(stderr,
                                        "vmlaunch wake: --exit-idle-time '%s': expected seconds from 0 to 3600\n",
                                        arg ? arg : "");
                                return VL_EXIT_USAGE;
                        }
                        break;
                case VL_CLI_WORD:
                        fprintf(stderr,
                                "vmlaunch wake: unexpected '%s'; the packet names the VM (or --mac MAC)\n",
                                arg);
                        return VL_EXIT_USAGE;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        uint8_t mac[6];
        if (mac_arg && mac_parse(mac_arg, mac) < 0) {
                fprintf(stderr,
                        "vmlaunch wake: --mac '%s': expected a MAC like 52:54:00:12:34:56\n",
                        mac_arg);
                return VL_EXIT_USAGE;
        }
        struct waker w = {
                .config_dir = vl_cli_config_dir(&dopts),
                .lopts = {.allow_unsafe_owner = dopts.allow_unsafe_owner,
                          .config_dir = vl_cli_config_dir(&dopts)},
        };
        int ex;
        if (mac_arg) {
                char mac_text[18], *name = NULL;
                mac_format(mac, mac_text);
                if (!find_definition(&w, mac, &name))
                        ex = VL_EXIT_FAILURE;
                else
                        ex = wake_vm(&w, name, mac_text, NULL) < 0 ? VL_EXIT_FAILURE : VL_EXIT_OK;
                free(name);
        } else {
                int fd = passed_socket();
                ex = fd < 0 ? VL_EXIT_USAGE : serve(&w, fd, (int)idle_s * 1000);
        }
        vl_strv_free(&w.ignored);
        vl_strv_free(&w.started);
        return ex;
}
