/* Automatic cleanup with gcc's cleanup attribute, systemd style. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void vl_freep(void *p)
{
        free(*(void **)p);
}
static inline void vl_closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
static inline void vl_fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(vl_freep)
#define _cleanup_close_  _cleanup_(vl_closep)
#define _cleanup_fclose_ _cleanup_(vl_fclosep)

/* Hands ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -1;                                                                         \
                _fd;                                                                               \
        })
