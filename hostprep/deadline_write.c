#include "hostprep/deadline_write.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostprep/sysroot.h"
#include "util/poll_extra.h"
#include "util/cleanup.h"
#include "util/clock.h"

/* What the helper sends back through its pipe. */
struct helper_answer {
        int result;
        struct vl_error err;
};

static void write_all_or_exit(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(1);
                p += n;
                len -= (size_t)n;
        }
}

int deadline_run(const char *what, int (*fn)(void *arg, struct vl_error *err), void *arg,
                 unsigned timeout_ms, struct vl_error *err)
{
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return vl_error_set(err, errno, "%s: pipe", what);
        _cleanup_close_ int rd = fds[0];
        _cleanup_close_ int wr = fds[1];

        pid_t pid = fork();
        if (pid < 0)
                return vl_error_set(err, errno, "%s: fork", what);
        if (pid == 0) {
                struct helper_answer answer = {0};
                answer.result = fn(arg, &answer.err);
                write_all_or_exit(wr, &answer, sizeof(answer));
                _exit(0);
        }
        close(TAKE_FD(wr));

        struct helper_answer answer;
        size_t got = 0;
        long long deadline =
                vl_monotonic_ms() + (timeout_ms ? timeout_ms : DEADLINE_DEFAULT_TIMEOUT_MS);
        while (got < sizeof(answer)) {
                long long left = deadline - vl_monotonic_ms();
                struct pollfd pfd = {.fd = rd, .events = POLLIN};
                int r = left > 0 ? vl_poll(&pfd, 1, (int)left) : 0;
                if (r < 0 && errno == EINTR)
                        continue;
                if (r == 0) {
                        /* SIGKILL only takes effect if the helper ever leaves the kernel;
                         * it stays a zombie until we exit, which is the price of not hanging. */
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, WNOHANG);
                        return vl_error_set(
                                err, ETIMEDOUT,
                                "%s did not finish within %u ms (helper process %d is stuck in the kernel); going on without it",
                                what, timeout_ms ? timeout_ms : DEADLINE_DEFAULT_TIMEOUT_MS,
                                (int)pid);
                }
                if (r < 0)
                        break;
                ssize_t n = read(rd, (char *)&answer + got, sizeof(answer) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (got < sizeof(answer))
                return vl_error_set(err, EIO, "%s: helper process died without an answer", what);
        if (answer.result < 0 && err)
                *err = answer.err;
        return answer.result;
}

struct write_request {
        const char *path;
        const char *value;
};

static int write_in_helper(void *arg, struct vl_error *err)
{
        const struct write_request *req = arg;
        return sysroot_write(req->path, req->value, err);
}

int deadline_write(const char *path, const char *value, unsigned timeout_ms, struct vl_error *err)
{
        char what[512];
        snprintf(what, sizeof(what), "writing '%s' to %s", value, path);
        struct write_request req = {path, value};
        return deadline_run(what, write_in_helper, &req, timeout_ms, err);
}
