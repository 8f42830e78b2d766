#include "core/error.h"

#include <stdio.h>
#include <string.h>

static int set(struct error *err, int code, const char *suffix, const char *fmt, va_list ap)
{
        if (!err)
                return code;
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        if (suffix && n >= 0 && (size_t)n < sizeof(err->msg))
                snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", suffix);
        err->code = code;
        return code;
}

int error_sys(struct error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = set(err, code, strerror(code < 0 ? -code : code), fmt, ap);
        va_end(ap);
        return r;
}

int error_msg(struct error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = set(err, code, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int error_wrap(struct error *err, int code, const char *fmt, ...)
{
        if (!err)
                return code;
        char prefix[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        if (n < 0)
                n = 0;
        if ((size_t)n >= sizeof(prefix))
                n = sizeof(prefix) - 1;
        size_t old = strnlen(err->msg, sizeof(err->msg) - 1);
        size_t add = (size_t)n + 2;
        if (add + old >= sizeof(err->msg))
                old = sizeof(err->msg) - 1 - add;
        memmove(err->msg + add, err->msg, old);
        memcpy(err->msg, prefix, n);
        memcpy(err->msg + n, ": ", 2);
        err->msg[add + old] = '\0';
        if (code)
                err->code = code;
        return err->code;
}

void error_clear(struct error *err)
{
        if (err) {
                err->code = 0;
                err->msg[0] = '\0';
        }
}
