#include "fake_qmp_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

static void record_failure(struct fake_server *srv, const char *fmt, ...)
{
        if (srv->failure[0])
                return; /* keep the first cause */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(srv->failure, sizeof(srv->failure), fmt, ap);
        va_end(ap);
}

/* text with every "$ID" replaced by the id of the last command received. */
static char *substitute_id(const struct fake_server *srv, const char *text)
{
        size_t id_len = strlen(srv->last_id), n = 0;
        for (const char *p = strstr(text, "$ID"); p; p = strstr(p + 3, "$ID"))
                n++;
        char *out = malloc(strlen(text) + n * id_len + 1), *o = out;
        for (const char *p = text; *p;) {
                if (strncmp(p, "$ID", 3) == 0) {
                        memcpy(o, srv->last_id, id_len);
                        o += id_len;
                        p += 3;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        return out;
}

static bool send_bytes(struct fake_server *srv, const char *text, size_t chunk)
{
        char *data = substitute_id(srv, text);
        size_t len = strlen(data), off = 0;
        while (off < len) {
                size_t n = len - off < chunk ? len - off : chunk;
                ssize_t w = send(srv->fd, data + off, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        record_failure(srv, "send: %s", strerror(errno));
                        free(data);
                        return false;
                }
                off += (size_t)w;
        }
        free(data);
        return true;
}

/* Reads one JSON object from the client, byte by byte so nothing after it is lost,
 * then the newline the client sends with it (left unread, closing our end would
 * reset the connection instead of closing it). */
static struct json_object *read_command(struct fake_server *srv)
{
        struct json_tokener *tok = json_tokener_new();
        struct json_object *obj = NULL;
        bool started = false;
        for (;;) {
                char ch;
                ssize_t r = read(srv->fd, &ch, 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                if (!started && (ch == '\n' || ch == '\r' || ch == ' '))
                        continue;
                started = true;
                obj = json_tokener_parse_ex(tok, &ch, 1);
                enum json_tokener_error jerr = json_tokener_get_error(tok);
                if (jerr == json_tokener_success || jerr != json_tokener_continue)
                        break;
        }
        json_tokener_free(tok);
        char newline;
        if (obj && recv(srv->fd, &newline, 1, MSG_DONTWAIT | MSG_PEEK) == 1 && newline == '\n')
                (void)!read(srv->fd, &newline, 1);
        return obj;
}

static bool expect_command(struct fake_server *srv, const char *name)
{
        struct json_object *cmd = read_command(srv);
        if (!cmd) {
                record_failure(srv, "expected command %s, got EOF or bad JSON", name);
                return false;
        }
        const char *text = json_object_to_json_string_ext(
                cmd, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (srv->n_commands < FAKE_MAX_COMMANDS)
                snprintf(srv->commands[srv->n_commands++], sizeof(srv->commands[0]), "%s", text);
        struct json_object *execute = NULL, *id = NULL;
        json_object_object_get_ex(cmd, "execute", &execute);
        json_object_object_get_ex(cmd, "id", &id);
        bool ok = execute && strcmp(json_object_get_string(execute), name) == 0;
        if (!ok)
                record_failure(srv, "expected command %s, got %s", name, text);
        snprintf(srv->last_id, sizeof(srv->last_id), "%s",
                 id ? json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN) : "null");
        json_object_put(cmd);
        return ok;
}

static void *play_script(void *arg)
{
        struct fake_server *srv = arg;
        for (size_t i = 0; i < srv->n_steps; i++) {
                const struct fake_step *step = &srv->steps[i];
                bool ok = true;
                char buf[4096], go;
                switch (step->kind) {
                case FAKE_SEND:
                        ok = send_bytes(srv, step->text, SIZE_MAX);
                        break;
                case FAKE_SEND_BYTEWISE:
                        ok = send_bytes(srv, step->text, 1);
                        break;
                case FAKE_EXPECT:
                        ok = expect_command(srv, step->text);
                        break;
                case FAKE_AWAIT_GO:
                        ok = read(srv->go_pipe[0], &go, 1) == 1;
                        break;
                case FAKE_CLOSE:
                        close(srv->fd);
                        srv->fd = -1;
                        break;
                case FAKE_WAIT_FOR_CLOSE:
                        while (read(srv->fd, buf, sizeof(buf)) > 0)
                                ;
                        break;
                }
                if (!ok)
                        break;
        }
        if (srv->fd >= 0)
                close(srv->fd);
        srv->fd = -1;
        return NULL;
}

void fake_server_start_on_fd(struct fake_server *srv, int fd, const struct fake_step *steps,
                             size_t n_steps)
{
        *srv = (struct fake_server){.fd = fd, .steps = steps, .n_steps = n_steps};
        if (pipe2(srv->go_pipe, O_CLOEXEC) < 0)
                abort();
        if (pthread_create(&srv->thread, NULL, play_script, srv) != 0)
                abort();
}

void fake_server_start(struct fake_server *srv, const struct fake_step *steps, size_t n_steps,
                       int *client_fd)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        *client_fd = sv[0];
        fake_server_start_on_fd(srv, sv[1], steps, n_steps);
}

void fake_server_go(struct fake_server *srv)
{
        if (write(srv->go_pipe[1], "g", 1) != 1)
                abort();
}

const char *fake_server_finish(struct fake_server *srv)
{
        /* A script still waiting for "go" is released by the closed pipe. */
        close(srv->go_pipe[1]);
        pthread_join(srv->thread, NULL);
        close(srv->go_pipe[0]);
        return srv->failure[0] ? srv->failure : NULL;
}
