#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static void (*log_sink)(const char *, const char *);

void log_set_sink(void (*sink)(const char *level, const char *msg))
{
        log_sink = sink;
}

static void emit(const char *level, const char *fmt, va_list ap)
{
        if (!log_sink)
                return;
        char buf[2048];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        log_sink(level, buf);
}

void log_warn(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        emit("warning", fmt, ap);
        va_end(ap);
}

void log_debug(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        emit("debug", fmt, ap);
        va_end(ap);
}
