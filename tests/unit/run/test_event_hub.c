/* The events socket: every listener gets the hello line and every event in order;
 * one that never reads is cut off with a "lagged" line instead of blocking the
 * publisher; requests reach the handler and get exactly one answer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "run/event_hub.h"
#include "util/clock.h"

struct fixture {
        char dir[64], path[128];
        struct event_hub *hub;
        unsigned long asked_client;
        char asked[256];
};

static char *hello(void *userdata)
{
        (void)userdata;
        return strdup("{\"event\":\"hello\"}");
}

static void on_request(void *userdata, unsigned long client, struct json_object *request)
{
        struct fixture *f = userdata;
        f->asked_client = client;
        snprintf(f->asked, sizeof(f->asked), "%s",
                 json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN));
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/vl-hub-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->path, sizeof(f->path), "%s/events.sock", f->dir);
        struct event_hub_handlers h = {.userdata = f, .hello = hello, .request = on_request};
        struct vl_error err = {0};
        if (event_hub_open(f->path, &h, &f->hub, &err) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        event_hub_close(f->hub);
        rmdir(f->dir);
        free(f);
        return 0;
}

static int client(struct fixture *f, const char *request)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        strcpy(addr.sun_path, f->path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
        assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
        event_hub_serve(f->hub);
        return fd;
}

/* Reads what is there without blocking, appending to buf (grown by doubling: the
 * listeners take megabytes). */
struct received {
        char *buf;
        size_t len, cap;
};

static void drain(int fd, struct received *r)
{
        for (;;) {
                if (r->cap - r->len < 65536 + 1) {
                        r->cap = r->cap ? r->cap * 2 : 1 << 20;
                        r->buf = realloc(r->buf, r->cap);
                        assert_non_null(r->buf);
                }
                ssize_t n = recv(fd, r->buf + r->len, r->cap - r->len - 1, MSG_DONTWAIT);
                if (n <= 0)
                        return;
                r->len += (size_t)n;
                r->buf[r->len] = '\0';
        }
}

static size_t count_lines(const char *buf)
{
        size_t n = 0;
        for (; buf && *buf; buf++)
                n += *buf == '\n';
        return n;
}

static void test_listeners_get_everything_and_a_non_reader_is_cut_off(void **state)
{
        struct fixture *f = *state;
        int a = client(f, "{\"request\":\"events\"}\n");
        int b = client(f, "{\"request\":\"events\"}\n");
        int stuck = client(f, "{\"request\":\"events\"}\n");
        struct received got_a = {0}, got_b = {0}, got_stuck = {0};
        char line[1100];
        memset(line, 'x', sizeof(line) - 1);
        line[sizeof(line) - 1] = '\0';
        memcpy(line, "{\"n\":\"", 6);
        const size_t events = 2000; /* 2 MB: far beyond a listener's buffer and the socket's */
        for (size_t i = 0; i < events; i++) {
                snprintf(line + sizeof(line) - 16, 16, "%06zu\"}", i);
                /* never waits on the one that does not read: a blocking send would
                 * hang here, and meson's timeout would fail the test */
                event_hub_publish(f->hub, line);
                drain(a, &got_a);
                drain(b, &got_b);
        }
        /* The one that did not read starts reading: it gets what was queued for it,
         * then "lagged", then EOF, while the others still follow. */
        event_hub_publish(f->hub, "{\"event\":\"after the cut\"}");
        for (long long end = vl_monotonic_ms() + 5000; vl_monotonic_ms() < end;) {
                struct pollfd p = {.fd = stuck, .events = POLLIN};
                if (poll(&p, 1, 50) < 0)
                        break;
                char peek;
                if (p.revents && recv(stuck, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
                        break; /* EOF: the hub closed it after "lagged" */
                drain(stuck, &got_stuck);
                event_hub_serve(f->hub);
        }
        drain(a, &got_a);
        drain(b, &got_b);
        event_hub_close(f->hub); /* the run ends: every stream ends */
        f->hub = NULL;
        struct pollfd p[] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        while (poll(p, 2, 100) > 0 && (p[0].revents || p[1].revents)) {
                size_t before = got_a.len + got_b.len;
                drain(a, &got_a);
                drain(b, &got_b);
                if (got_a.len + got_b.len == before)
                        break;
        }
        assert_int_equal(count_lines(got_a.buf), events + 2);
        assert_int_equal(count_lines(got_b.buf), events + 2);
        assert_true(strstr(got_a.buf, "{\"event\":\"hello\"}\n") == got_a.buf);
        assert_non_null(strstr(got_b.buf, "000000\"}\n"));
        assert_non_null(strstr(got_b.buf, "001999\"}\n"));
        /* the non-reader got what fit, then "lagged", then EOF: never all of it */
        assert_true(count_lines(got_stuck.buf) < events);
        assert_non_null(strstr(got_stuck.buf, "\"event\":\"lagged\""));
        assert_null(strstr(got_stuck.buf, "after the cut"));
        close(a);
        close(b);
        close(stuck);
        free(got_a.buf);
        free(got_b.buf);
        free(got_stuck.buf);
}

static void test_request_gets_one_answer_then_eof(void **state)
{
        struct fixture *f = *state;
        int c = client(f, "{\"request\":\"guest\",\"command\":{\"execute\":\"guest-ping\"}}\n");
        assert_non_null(strstr(f->asked, "guest-ping"));
        event_hub_publish(f->hub, "{\"event\":\"not for requests\"}");
        event_hub_reply(f->hub, f->asked_client, "{\"return\":{}}");
        char buf[256] = "";
        struct pollfd p = {.fd = c, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 2000), 1);
        ssize_t n = read(c, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        assert_string_equal(buf, "{\"return\":{}}\n");
        assert_int_equal(read(c, buf, sizeof(buf)), 0); /* closed after its answer */
        close(c);
}

static void test_bad_request_is_answered_with_an_error(void **state)
{
        struct fixture *f = *state;
        const char *bad[] = {"not json\n", "[1,2]\n", "{\"request\":3}\n"};
        for (size_t i = 0; i < 3; i++) {
                int c = client(f, bad[i]);
                char buf[256] = "";
                struct pollfd p = {.fd = c, .events = POLLIN};
                assert_int_equal(poll(&p, 1, 2000), 1);
                assert_true(read(c, buf, sizeof(buf) - 1) > 0);
                assert_non_null(strstr(buf, "\"error\""));
                close(c);
        }
        assert_int_equal(f->asked_client, 0);
}

/* A listener that says its request and shuts its sending side still listens. */
static void test_half_closed_listener_keeps_listening(void **state)
{
        struct fixture *f = *state;
        int c = client(f, "{\"request\":\"events\"}");
        shutdown(c, SHUT_WR);
        event_hub_serve(f->hub);
        event_hub_publish(f->hub, "{\"event\":\"one\"}");
        char buf[256] = "";
        size_t len = 0;
        struct pollfd p = {.fd = c, .events = POLLIN};
        while (!strstr(buf, "one") && poll(&p, 1, 2000) == 1) {
                ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        assert_string_equal(buf, "{\"event\":\"hello\"}\n{\"event\":\"one\"}\n");
        close(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_listeners_get_everything_and_a_non_reader_is_cut_off, setup, teardown),
                cmocka_unit_test_setup_teardown(test_request_gets_one_answer_then_eof, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_bad_request_is_answered_with_an_error, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_half_closed_listener_keeps_listening, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
