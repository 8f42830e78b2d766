/* Errors as a value that gathers context on the way up.
 *
 * Library functions return 0 (or a count) on success and a negative errno on
 * failure; on failure they fill *err. Callers add context with error_wrap(),
 * which prefixes: "create 'web': mount '/proc': Permission denied". The CLI
 * prints err->msg once. The library never prints and never exits.
 */
#pragma once
#include <stdarg.h>

struct error {
        int code;       /* negative errno, 0 when unset */
        char msg[2048]; /* the whole chain, outermost context first */
};

/* Sets err to "FMT: strerror(-code)" and returns code (a negative errno). */
int error_sys(struct error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets err to "FMT" alone and returns code. */
int error_msg(struct error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes err with "FMT: " and returns code (err->code when code is 0). */
int error_wrap(struct error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void error_clear(struct error *err);
