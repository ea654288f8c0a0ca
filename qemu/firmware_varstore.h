/* What a UEFI variable store (an OVMF VARS file) holds: enough to tell whether Secure
 * Boot keys are enrolled. Pure: a buffer in, an answer out. */
#pragma once

#include <stddef.h>

/* 1 when buf (a whole OVMF VARS file) holds a live Platform Key (PK: the variable
 * whose presence puts UEFI in user mode, where Secure Boot is enforced), 0 when it
 * does not, -EINVAL when it is not an OVMF firmware volume with an authenticated
 * variable store (then no key can be enrolled either). */
int firmware_varstore_has_pk(const unsigned char *buf, size_t len);
