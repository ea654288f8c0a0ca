#include "util/stop_signal.h"

#include <sys/signalfd.h>

void vl_stop_signals_add(sigset_t *set)
{
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGHUP);
}

bool vl_stop_signal_pending(void)
{
        sigset_t pending;
        if (sigpending(&pending) < 0)
                return false;
        return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
               sigismember(&pending, SIGHUP) == 1;
}

int vl_stop_signal_fd_open(void)
{
        sigset_t stops;
        sigemptyset(&stops);
        vl_stop_signals_add(&stops);
        return signalfd(-1, &stops, SFD_CLOEXEC | SFD_NONBLOCK);
}
