#include "engine/logs.h"

#include <stdlib.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

#include <json-c/json.h>

static void line(struct log_reader *r, const char *l, size_t len, struct log_msg **msgs, size_t *n);

void log_msg_free_array(struct log_msg *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(m[i].ts);
                free(m[i].text);
        }
        free(m);
}

static void emit(struct log_msg **msgs, size_t *n, char *ts, bool is_err, char *text, size_t len)
{
        *msgs = xrealloc(*msgs, (*n + 1) * sizeof(**msgs));
        (*msgs)[(*n)++] = (struct log_msg){.ts = ts, .is_err = is_err, .text = text, .len = len};
}

/* monitor2: a json-file record, {"log":"text\n","stream":"stdout","time":"..."}; a
 * text without its newline is a piece of the next. */
static void json_line(struct log_reader *r, const char *l, size_t len, struct log_msg **msgs,
                      size_t *n)
{
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = json_tokener_parse_ex(tok, l, (int)len);
        json_tokener_free(tok);
        struct json_object *jl, *js, *jt;
        if (!o || !json_object_object_get_ex(o, "log", &jl) ||
            !json_object_object_get_ex(o, "stream", &js) ||
            !json_object_object_get_ex(o, "time", &jt)) {
                json_object_put(o);
                return;
        }
        const char *stream = json_object_get_string(js);
        bool is_err = strcmp(stream, "stderr") == 0;
        if (!is_err && strcmp(stream, "stdout") != 0) {
                json_object_put(o);
                return;
        }
        const char *text = json_object_get_string(jl);
        size_t tlen = (size_t)json_object_get_string_len(jl);
        bool whole = tlen > 0 && text[tlen - 1] == '\n';
        /* As a k8s-file record, then the same joining of pieces. The text is
         * copied by length: a \u0000 in it is a NUL the container wrote. */
        _cleanup_free_ char *head =
            xasprintf("%s %s %c ", json_object_get_string(jt), stream, whole ? 'F' : 'P');
        size_t hlen = strlen(head), blen = whole ? tlen - 1 : tlen;
        _cleanup_free_ char *rec = xmalloc(hlen + blen + 1);
        memcpy(rec, head, hlen);
        memcpy(rec + hlen, text, blen);
        rec[hlen + blen] = '\0';
        json_object_put(o);
        line(r, rec, hlen + blen, msgs, n);
}

static void line(struct log_reader *r, const char *l, size_t len, struct log_msg **msgs, size_t *n)
{
        if (len > 0 && l[0] == '{') {
                json_line(r, l, len, msgs, n);
                return;
        }
        const char *sp1 = memchr(l, ' ', len);
        if (!sp1)
                return;
        const char *stream = sp1 + 1;
        size_t rest = len - (size_t)(stream - l);
        bool is_err;
        if (rest >= 7 && memcmp(stream, "stdout ", 7) == 0)
                is_err = false;
        else if (rest >= 7 && memcmp(stream, "stderr ", 7) == 0)
                is_err = true;
        else
                return;
        const char *tag = stream + 7;
        rest -= 7;
        if (rest < 1 || (tag[0] != 'F' && tag[0] != 'P') || (rest > 1 && tag[1] != ' '))
                return;
        const char *text = rest > 1 ? tag + 2 : tag + 1;
        size_t tlen = rest > 1 ? rest - 2 : 0;
        int s = is_err;
        /* By length, not xstrndup/strlen: the text may hold NULs. */
        size_t old = r->part[s] ? r->part_len[s] : 0;
        if (!r->part[s])
                r->part_ts[s] = xstrndup(l, (size_t)(sp1 - l));
        r->part[s] = xrealloc(r->part[s], old + tlen + 1);
        memcpy(r->part[s] + old, text, tlen);
        r->part[s][old + tlen] = '\0';
        r->part_len[s] = old + tlen;
        if (tag[0] == 'F') {
                emit(msgs, n, r->part_ts[s], is_err, r->part[s], r->part_len[s]);
                r->part[s] = NULL;
                r->part_ts[s] = NULL;
        }
}

void log_reader_feed(struct log_reader *r, const char *buf, size_t len, struct log_msg **msgs,
                     size_t *n)
{
        r->pending = xrealloc(r->pending, r->n_pending + len + 1);
        memcpy(r->pending + r->n_pending, buf, len);
        r->n_pending += len;
        size_t start = 0;
        for (size_t i = 0; i < r->n_pending; i++) {
                if (r->pending[i] != '\n')
                        continue;
                line(r, r->pending + start, i - start, msgs, n);
                start = i + 1;
        }
        memmove(r->pending, r->pending + start, r->n_pending - start);
        r->n_pending -= start;
}

void log_reader_flush(struct log_reader *r, struct log_msg **msgs, size_t *n)
{
        for (int s = 0; s < 2; s++)
                if (r->part[s]) {
                        emit(msgs, n, r->part_ts[s], s == 1, r->part[s], r->part_len[s]);
                        r->part[s] = NULL;
                        r->part_ts[s] = NULL;
                }
}

void log_reader_done(struct log_reader *r)
{
        free(r->pending);
        for (int i = 0; i < 2; i++) {
                free(r->part[i]);
                free(r->part_ts[i]);
        }
        memset(r, 0, sizeof(*r));
}

int64_t log_ts_ns(const char *ts)
{
        struct tm tm = {0};
        const char *rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!rest)
                return -1;
        int64_t ns = 0;
        if (*rest == '.') {
                int digits = 0;
                for (rest++; isdigit((unsigned char)*rest); rest++, digits++)
                        if (digits < 9)
                                ns = ns * 10 + (*rest - '0');
                for (; digits < 9; digits++)
                        ns *= 10;
        }
        if (*rest != 'Z' || rest[1])
                return -1;
        return (int64_t)timegm(&tm) * 1000000000LL + ns;
}

static int parse_duration(const char *s, int64_t *ret)
{
        int64_t total = 0;
        if (!*s)
                return -EINVAL;
        while (*s) {
                char *end;
                errno = 0;
                double v = strtod(s, &end);
                if (end == s || errno || v < 0)
                        return -EINVAL;
                int64_t unit;
                if (*end == 'h')
                        unit = 3600000000000LL;
                else if (*end == 'm' && end[1] == 's')
                        unit = 1000000LL, end++;
                else if (*end == 'm')
                        unit = 60000000000LL;
                else if (*end == 's')
                        unit = 1000000000LL;
                else
                        return -EINVAL;
                total += (int64_t)(v * (double)unit);
                s = end + 1;
        }
        *ret = total;
        return 0;
}

int log_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns)
{
        int64_t d;
        if (parse_duration(s, &d) == 0) {
                *ret_ns = now_ns - d;
                return 0;
        }
        char *end;
        errno = 0;
        double secs = strtod(s, &end);
        if (end != s && !*end && !errno && secs >= 0 && strchr(s, '-') == NULL) {
                *ret_ns = (int64_t)(secs * 1e9);
                return 0;
        }
        int64_t t = log_ts_ns(s);
        if (t < 0) {
                /* A date alone means its midnight, UTC. */
                _cleanup_free_ char *full = xasprintf("%sT00:00:00Z", s);
                if (strlen(s) == 10)
                        t = log_ts_ns(full);
        }
        if (t < 0)
                return -EINVAL;
        *ret_ns = t;
        return 0;
}
