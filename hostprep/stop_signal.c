#include "hostprep/stop_signal.h"

#include <signal.h>
#include <sys/signalfd.h>

static void stop_signals(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGHUP);
}

bool stop_signal_pending(void)
{
        sigset_t pending, stops;
        if (sigpending(&pending) < 0)
                return false;
        stop_signals(&stops);
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&stops, sig) == 1 && sigismember(&pending, sig) == 1)
                        return true;
        return false;
}

int stop_signal_fd_open(void)
{
        sigset_t stops;
        stop_signals(&stops);
        return signalfd(-1, &stops, SFD_CLOEXEC | SFD_NONBLOCK);
}
