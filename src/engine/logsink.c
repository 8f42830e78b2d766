/* The log sink: what the monitor writes a container's output with (k8s-file
 * or json-file records, max-size rotation). Apart from logdrv.c so that the
 * small static husk-monitor links it without the engine. See logdrv.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/logdrv.h"

int log_sink_open(struct log_sink *s, const char *path, const struct log_cfg *cfg,
                  struct error *err)
{
        s->fd = -1;
        s->cfg = *cfg;
        s->size = 0;
        free(s->path);
        s->path = xstrdup(path);
        if (strcmp(cfg->driver, "none") == 0)
                return 0;
        s->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (s->fd < 0)
                return error_sys(err, -errno, "open log '%s'", path);
        struct stat st;
        if (fstat(s->fd, &st) == 0)
                s->size = st.st_size;
        return 0;
}

void log_sink_close(struct log_sink *s)
{
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
        free(s->path);
        s->path = NULL;
}

/* PATH -> PATH.1 -> ... -> PATH.(N-1); the oldest goes. A fresh PATH. */
static void rotate(struct log_sink *s)
{
        int n = s->cfg.max_file;
        _cleanup_free_ char *last = xasprintf("%s.%d", s->path, n - 1);
        if (n > 1)
                unlink(last);
        for (int i = n - 2; i >= 1; i--) {
                _cleanup_free_ char *from = xasprintf("%s.%d", s->path, i);
                _cleanup_free_ char *to = xasprintf("%s.%d", s->path, i + 1);
                rename(from, to);
        }
        if (n > 1) {
                _cleanup_free_ char *to = xasprintf("%s.1", s->path);
                rename(s->path, to);
        } else {
                unlink(s->path); /* max-file=1: the old file goes, a new one begins */
        }
        close(s->fd);
        s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        s->size = 0;
}

static void timestamp(char *buf, size_t len)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char base[32];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, len, "%s.%09ldZ", base, ts.tv_nsec);
}

static void put(struct log_sink *s, const char *rec, size_t len)
{
        if (s->cfg.max_size > 0 && s->size > 0 && s->size + (int64_t)len > s->cfg.max_size)
                rotate(s);
        if (s->fd < 0)
                return;
        if (write_all(s->fd, rec, len) == 0)
                s->size += (int64_t)len;
}

/* Appends text as the body of a JSON string, escaped as json-c's
 * json_object_to_json_string_ext(PLAIN | NOSLASHESCAPE) does (the records
 * stay the same as before husk-monitor, which links no JSON library). */
static void json_escape(char **out, size_t *len, size_t *cap, const char *text, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)text[i];
                const char *two = strchr("\b\n\r\t\f\"\\", c);
                char esc[8] = {(char)c};
                size_t k = 1;
                if (c && two) { /* \b \n \r \t \f \" \\ */
                        esc[0] = '\\';
                        esc[1] = "bnrtf\"\\"[two - "\b\n\r\t\f\"\\"];
                        k = 2;
                } else if (c < ' ') {
                        k = (size_t)snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4],
                                             hex[c & 0xf]);
                }
                if (*len + k + 1 > *cap) {
                        *cap = (*len + k + 1) * 2;
                        *out = xrealloc(*out, *cap);
                }
                memcpy(*out + *len, esc, k);
                *len += k;
                (*out)[*len] = '\0';
        }
}

static void append(char **out, size_t *len, size_t *cap, const char *text)
{
        size_t k = strlen(text);
        if (*len + k + 1 > *cap) {
                *cap = (*len + k + 1) * 2;
                *out = xrealloc(*out, *cap);
        }
        memcpy(*out + *len, text, k + 1);
        *len += k;
}

char *log_json_record(const char *text, size_t n, const char *stream, const char *ts)
{
        size_t len = 0, cap = n + 96;
        char *out = xmalloc(cap);
        out[0] = '\0';
        append(&out, &len, &cap, "{\"log\":\"");
        json_escape(&out, &len, &cap, text, n);
        append(&out, &len, &cap, "\",\"stream\":\"");
        json_escape(&out, &len, &cap, stream, strlen(stream));
        append(&out, &len, &cap, "\",\"time\":\"");
        json_escape(&out, &len, &cap, ts, strlen(ts));
        append(&out, &len, &cap, "\"}\n");
        return out;
}

void log_sink_write(struct log_sink *s, bool is_err, const char *buf, size_t len)
{
        if (s->fd < 0)
                return;
        char ts[64];
        timestamp(ts, sizeof(ts));
        const char *stream = is_err ? "stderr" : "stdout";
        bool json = strcmp(s->cfg.driver, "json-file") == 0;
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                size_t n = nl ? (size_t)(nl - buf) : len;
                _cleanup_free_ char *rec = NULL;
                size_t rlen;
                if (json) {
                        /* The text with its newline, as docker's. */
                        rec = log_json_record(buf, n + !!nl, stream, ts);
                        rlen = strlen(rec);
                } else {
                        /* Copied by length, not "%.*s": that stops at a NUL the
                         * container wrote, and the log must keep it. */
                        _cleanup_free_ char *head =
                            xasprintf("%s %s %c ", ts, stream, nl ? 'F' : 'P');
                        size_t hlen = strlen(head);
                        rlen = hlen + n + 1;
                        rec = xmalloc(rlen + 1);
                        memcpy(rec, head, hlen);
                        memcpy(rec + hlen, buf, n);
                        rec[rlen - 1] = '\n';
                        rec[rlen] = '\0';
                }
                put(s, rec, rlen);
                if (!nl)
                        break;
                buf += n + 1;
                len -= n + 1;
        }
}
