/* vmlaunch events [--json] NAME: follow a running VM's events until its run ends. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/event_line.h"
#include "launcher/events_client.h"
#include "util/exit_codes.h"
#include "util/macro.h"

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch events [--json] NAME\n\n"
                     "Follow a running VM: first its state now, then one line per event (host\n"
                     "steps, QEMU, the guest, the agent, stopping, restoring) until its run ends\n"
                     "with \"exited\". --json prints the lines as the run sends them, one JSON\n"
                     "object each (vmlaunch(1), EVENTS). Exits 0 after \"exited\", 15 when the\n"
                     "VM is not running, 1 when the stream ends otherwise (its vmlaunch died,\n"
                     "or this listener read too slowly and was dropped).\n");
}

enum events_outcome {
        EVENTS_FOLLOWING,
        EVENTS_EXITED,   /* "exited" came: the run is over */
        EVENTS_LAGGED,   /* dropped as too slow */
        EVENTS_REFUSED,  /* the run answered with an error line */
        EVENTS_BAD_LINE, /* not JSON */
};

/* Prints one line; what it means for the stream. */
static enum events_outcome print_line(const char *line, bool json, char *why, size_t why_len)
{
        struct json_object *event = json_tokener_parse(line);
        enum events_outcome outcome = EVENTS_FOLLOWING;
        if (!event || !json_object_is_type(event, json_type_object)) {
                snprintf(why, why_len, "not an event line: %.200s", line);
                json_object_put(event);
                return EVENTS_BAD_LINE;
        }
        const char *name = event_name(event);
        if (json) {
                fputs(line, stdout);
                fputc('\n', stdout);
        } else if (name) {
                char text[4096];
                event_text(event, text, sizeof(text));
                puts(text);
        }
        /* Scripts read this as it comes (`| while read`): one line, one flush. */
        fflush(stdout);
        if (!name) {
                const char *error = event_field(event, "error");
                snprintf(why, why_len, "%s", error ? error : line);
                outcome = EVENTS_REFUSED;
        } else if (streq(name, "exited")) {
                outcome = EVENTS_EXITED;
        } else if (streq(name, "lagged")) {
                struct json_object *dropped = NULL;
                json_object_object_get_ex(event, "dropped", &dropped);
                snprintf(
                        why, why_len,
                        "dropped by the run: this listener read too slowly (%d event(s) missed); run `vmlaunch events` again to follow on",
                        dropped ? json_object_get_int(dropped) : 1);
                outcome = EVENTS_LAGGED;
        }
        json_object_put(event);
        return outcome;
}

static int follow(const char *name, struct events_stream *s, bool json)
{
        struct vl_error err = {0};
        char why[512] = "";
        enum events_outcome outcome = EVENTS_FOLLOWING;
        for (;;) {
                const char *line;
                while (outcome == EVENTS_FOLLOWING && (line = events_stream_next_line(s)))
                        outcome = print_line(line, json, why, sizeof(why));
                if (ferror(stdout)) {
                        fprintf(stderr, "vmlaunch events: write the events: %s\n", strerror(errno));
                        return VL_EXIT_FAILURE;
                }
                if (s->eof || outcome != EVENTS_FOLLOWING)
                        break;
                struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
                if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                        fprintf(stderr, "vmlaunch events: poll: %s\n", strerror(errno));
                        return VL_EXIT_FAILURE;
                }
                if (events_stream_read(s, &err) < 0) {
                        fprintf(stderr, "vmlaunch events: %s: %s\n", name, err.msg);
                        return VL_EXIT_FAILURE;
                }
        }
        switch (outcome) {
        case EVENTS_EXITED:
                return VL_EXIT_OK;
        case EVENTS_FOLLOWING:
                fprintf(stderr,
                        "vmlaunch events: %s: the stream ended without \"exited\": its vmlaunch died? (`vmlaunch status %s`)\n",
                        name, name);
                return VL_EXIT_FAILURE;
        default:
                fprintf(stderr, "vmlaunch events: %s: %s\n", name, why);
                return VL_EXIT_FAILURE;
        }
}

int cmd_events(int argc, char **argv)
{
        bool json;
        const char *name;
        int ex = vl_cli_name_and_json("events", argc, argv, usage, &name, &json);
        if (ex >= 0)
                return ex;

        struct vl_error err = {0};
        struct runstate st;
        struct events_stream s;
        int r = events_stream_open(name, -1, &s, &st, &err);
        if (r < 0) {
                fprintf(stderr, "vmlaunch events: %s\n", err.msg);
                return r == -ESRCH ? VL_EXIT_NOT_RUNNING : VL_EXIT_FAILURE;
        }
        ex = follow(name, &s, json);
        events_stream_close(&s);
        return ex;
}
