/* Scope-bound cleanup, after systemd's cleanup-fundamental.h.
 *
 *   _cleanup_free_ char *s = xstrdup("x");      freed at end of scope
 *   _cleanup_close_ int fd = -EBADF;            closed if >= 0
 *   return TAKE_PTR(s);                         hand ownership out
 */
#pragma once
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
        free(*(void **)p);
}
static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -EBADF;                                                                     \
                _fd;                                                                               \
        })

/* Declares `void name##p(type **p)` calling `fn(*p)` when non-NULL. */
#define DEFINE_FREEP(type, fn)                                                                     \
        static inline void fn##p(type **p)                                                         \
        {                                                                                          \
                if (*p)                                                                            \
                        fn(*p);                                                                    \
        }

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
