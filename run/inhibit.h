/* The host must not suspend while its GPU is in a VM (it would come back without a
 * display, and the VM's devices would not survive): a logind inhibitor lock
 * (org.freedesktop.login1.Manager.Inhibit, what "sleep:idle", mode "block") held from
 * before the first host change until the restore is done. The lock is a descriptor:
 * closing it releases the lock, so a killed vmlaunch releases it too. */
#pragma once

/* Takes the lock for VM name. Returns its descriptor, or -1 after logging a warning
 * (no logind, no system bus: the run goes on without it). */
int inhibit_sleep_take(const char *name);
/* Closes *fd (when >= 0), logs that the lock is released, sets *fd to -1. */
void inhibit_sleep_release(int *fd);
