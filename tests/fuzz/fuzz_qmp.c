/* Fuzzes the QMP client with arbitrary bytes from the peer: a writer thread plays
 * QEMU on the other end of a SOCK_SEQPACKET socketpair, so every chunk it writes is
 * one recv() on the client side and messages split across reads are exercised. Unless
 * it floods, the writer closes its side when done, so the client ends with -EPIPE at
 * worst and never waits for a deadline; a hang is a bug.
 *
 * Input: byte 0 picks the chunk size, the message size cap, the handlers and whether
 * the peer sends the rest once or over and over until the client gives up (a QEMU that
 * floods: the client must still keep its deadlines). The client then runs
 * handshake, two commands, a qmp_send and qmp_dispatch until the stream ends, with
 * handlers that read what they are given. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qmp/qmp.h"
#include "tests/fuzz/fuzz.h"

/* Deadlines never expire in a correct run (the peer always closes): short enough
 * that a client stuck waiting shows up as slow, long enough for a loaded machine. */
#define FUZZ_TIMEOUT_MS 2000
/* A flooding peer keeps the client busy until its deadlines: keep those short. */
#define FUZZ_FLOOD_TIMEOUT_MS 20

struct peer {
        int fd;
        const uint8_t *data;
        size_t size, chunk;
        bool forever;
};

/* Floods: the input repeated to fill 64 KiB, sent in chunks over and over until the
 * client closes. Chunks of 64 KiB keep the socket full even when the writer gets
 * little CPU. */
static void flood(struct peer *p)
{
        size_t len = 0, cap = 65536 > p->size ? 65536 : p->size;
        uint8_t *buf = malloc(cap);
        if (!buf)
                abort();
        while (len + p->size <= cap) {
                memcpy(buf + len, p->data, p->size);
                len += p->size;
        }
        for (size_t off = 0;;) {
                size_t n = len - off < p->chunk ? len - off : p->chunk;
                ssize_t w = send(p->fd, buf + off, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break; /* the client gave up and closed */
                off = (off + (size_t)w) % len;
        }
        free(buf);
}

static void *peer_main(void *arg)
{
        struct peer *p = arg;
        if (p->forever && p->size) {
                flood(p);
                shutdown(p->fd, SHUT_WR);
                return NULL;
        }
        for (size_t off = 0; off < p->size;) {
                size_t n = p->size - off < p->chunk ? p->size - off : p->chunk;
                ssize_t w = send(p->fd, p->data + off, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break; /* the client gave up and closed */
                off += (size_t)w;
        }
        shutdown(p->fd, SHUT_WR);
        return NULL;
}

static size_t touched;

static void on_event(const char *event, struct json_object *data, struct json_object *timestamp,
                     void *userdata)
{
        (void)userdata;
        touched += strlen(event);
        if (data)
                touched += strlen(json_object_to_json_string(data));
        if (timestamp)
                touched += strlen(json_object_to_json_string(timestamp));
}

static void on_reply(const char *command, struct json_object *ret, const char *error,
                     void *userdata)
{
        (void)userdata;
        touched += strlen(command);
        if (ret)
                touched += strlen(json_object_to_json_string(ret));
        if (error)
                touched += strlen(error);
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every call must keep its deadline, whatever the peer sends. The slack is for a
 * loaded machine and ASan; a missed deadline is a hang, so abort like one. */
static void check_deadline(int64_t start_ms, int timeout_ms)
{
        if (now_ms() - start_ms > timeout_ms + 1000)
                abort();
}

static void run_client(struct qmp_client *c, int timeout_ms, int dispatch_rounds)
{
        struct vl_error err;
        struct json_object *ret = NULL;
        int64_t start = now_ms();
        int r = qmp_handshake(c, timeout_ms, &err);
        check_deadline(start, timeout_ms);
        if (r < 0)
                return;
        (void)qmp_qemu_version(c);
        start = now_ms();
        r = qmp_execute(c, "query-status", NULL, timeout_ms, &ret, &err);
        check_deadline(start, timeout_ms);
        if (r == 0 && ret)
                touched += strlen(json_object_to_json_string(ret));
        json_object_put(ret);
        ret = NULL;
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "device", json_object_new_string("vfio0"));
        qmp_send(c, "device_del", args, &err);
        start = now_ms();
        if (qmp_execute(c, "query-pci", args, timeout_ms, &ret, &err) == 0)
                json_object_put(ret);
        check_deadline(start, timeout_ms);
        json_object_put(args);
        /* Bounded: each call either consumes input or fails for good at EOF. */
        for (int i = 0; i < dispatch_rounds; i++)
                if (qmp_dispatch(c, &err) < 0)
                        break;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const size_t chunks[8] = {65536, 1, 2, 3, 7, 64, 4096, 65536};
        static const size_t caps[4] = {QMP_DEFAULT_MAX_MESSAGE_BYTES, 16, 100, 4096};
        if (size < 1)
                return 0;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        bool forever = data[0] & 0x80;
        struct peer p = {.fd = sv[1],
                         .data = data + 1,
                         .size = size - 1,
                         .chunk = chunks[data[0] & 7],
                         .forever = forever};
        pthread_t writer;
        if (pthread_create(&writer, NULL, peer_main, &p) != 0)
                abort();

        struct qmp_client *c = NULL;
        struct vl_error err;
        if (qmp_client_new(sv[0], &c, &err) == 0) {
                qmp_set_max_message_bytes(c, caps[(data[0] >> 3) & 3]);
                if (data[0] & 0x20)
                        qmp_set_event_handler(c, on_event, NULL);
                if (data[0] & 0x40)
                        qmp_set_reply_handler(c, on_reply, NULL);
                run_client(c, forever ? FUZZ_FLOOD_TIMEOUT_MS : FUZZ_TIMEOUT_MS,
                           forever ? 8 : 4096);
                qmp_close(c); /* unblocks a writer still sending */
        }
        pthread_join(writer, NULL);
        close(sv[1]);
        return 0;
}
