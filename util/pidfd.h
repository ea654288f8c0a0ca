/* pidfds (Linux >= 5.3): a process handle that never refers to a recycled pid. The raw
 * syscalls (glibc has wrappers only since 2.36); -1 with errno set on failure. */
#pragma once

#include <sys/types.h>

int vl_pidfd_open(pid_t pid);
int vl_pidfd_send_signal(int pidfd, int sig);
