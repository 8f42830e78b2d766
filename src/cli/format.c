#include "cli/format.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/util.h"

enum node_kind { N_TEXT, N_ACTION };

struct node {
        enum node_kind kind;
        char *text;  /* N_TEXT */
        char *func;  /* N_ACTION: NULL, "json", "upper", "lower", "len", "join" */
        char **path; /* field path, NULL = "." */
        char *arg;   /* join separator */
};

struct tmpl {
        struct node *nodes;
        size_t n;
};

void tmpl_free(struct tmpl *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++) {
                free(t->nodes[i].text);
                free(t->nodes[i].func);
                strv_free(t->nodes[i].path);
                free(t->nodes[i].arg);
        }
        free(t->nodes);
        free(t);
}
DEFINE_FREEP(struct tmpl, tmpl_free)

static struct node *add_node(struct tmpl *t)
{
        t->nodes = xrealloc(t->nodes, (t->n + 1) * sizeof(*t->nodes));
        t->nodes[t->n] = (struct node){0};
        return &t->nodes[t->n++];
}

/* "\t" and "\n" as typed on a shell command line. */
static char *unescape(const char *s)
{
        char *out = xmalloc(strlen(s) + 1), *o = out;
        for (; *s; s++) {
                if (s[0] == '\\' && (s[1] == 't' || s[1] == 'n')) {
                        *o++ = s[1] == 't' ? '\t' : '\n';
                        s++;
                } else {
                        *o++ = *s;
                }
        }
        *o = '\0';
        return out;
}

static int parse_path(const char *tok, char ***ret, struct error *err, const char *action)
{
        if (tok[0] != '.')
                return error_msg(err, -EINVAL,
                                 "template: in '{{%s}}': '%s' is not a field (want "
                                 ".Name)",
                                 action, tok);
        if (strcmp(tok, ".") == 0) {
                *ret = NULL;
                return 0;
        }
        char **v = NULL;
        const char *p = tok + 1;
        while (*p) {
                size_t n = strcspn(p, ".");
                if (n == 0) {
                        strv_free(v);
                        return error_msg(err, -EINVAL, "template: in '{{%s}}': bad field '%s'",
                                         action, tok);
                }
                for (size_t i = 0; i < n; i++)
                        if (!isalnum((unsigned char)p[i]) && p[i] != '_') {
                                strv_free(v);
                                return error_msg(err, -EINVAL,
                                                 "template: in '{{%s}}': bad field '%s'", action,
                                                 tok);
                        }
                v = strv_push(v, xstrndup(p, n));
                p += n;
                if (*p == '.')
                        p++;
        }
        *ret = v;
        return 0;
}

static int parse_action(struct tmpl *t, const char *a, struct error *err)
{
        _cleanup_strv_ char **words = NULL;
        const char *p = a;
        while (*p) {
                p += strspn(p, " \t");
                if (!*p)
                        break;
                if (*p == '"') {
                        const char *e = strchr(p + 1, '"');
                        if (!e)
                                return error_msg(err, -EINVAL,
                                                 "template: in '{{%s}}': unterminated string", a);
                        _cleanup_free_ char *q = xstrndup(p + 1, (size_t)(e - p - 1));
                        words = strv_push(words, unescape(q));
                        p = e + 1;
                } else {
                        size_t n = strcspn(p, " \t");
                        words = strv_push(words, xstrndup(p, n));
                        p += n;
                }
        }
        size_t nw = strv_len(words);
        if (nw == 0)
                return error_msg(err, -EINVAL, "template: empty action '{{}}'");
        struct node *nd = add_node(t);
        nd->kind = N_ACTION;
        if (words[0][0] == '.') {
                if (nw != 1)
                        return error_msg(err, -EINVAL, "template: in '{{%s}}': unexpected '%s'", a,
                                         words[1]);
                return parse_path(words[0], &nd->path, err, a);
        }
        static const char *const funcs[] = {"json", "upper", "lower", "len", "join", "title"};
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(funcs); i++)
                known |= strcmp(words[0], funcs[i]) == 0;
        if (!known)
                return error_msg(err, -EINVAL,
                                 "template: in '{{%s}}': function '%s' not defined (have json, "
                                 "upper, lower, title, len, join)",
                                 a, words[0]);
        nd->func = xstrdup(words[0]);
        size_t want = strcmp(words[0], "join") == 0 ? 3 : 2;
        if (nw != want)
                return error_msg(err, -EINVAL, "template: in '{{%s}}': %s takes %zu argument%s", a,
                                 words[0], want - 1, want == 2 ? "" : "s");
        if (want == 3)
                nd->arg = xstrdup(words[2]);
        return parse_path(words[1], &nd->path, err, a);
}

int tmpl_parse(const char *text, struct tmpl **ret, struct error *err)
{
        _cleanup_(tmpl_freep) struct tmpl *t = xzalloc(sizeof(*t));
        _cleanup_free_ char *s = unescape(text);
        const char *p = s;
        while (*p) {
                const char *open = strstr(p, "{{");
                size_t tlen = open ? (size_t)(open - p) : strlen(p);
                if (open && open[2] == '-')
                        while (tlen && isspace((unsigned char)p[tlen - 1]))
                                tlen--;
                if (tlen) {
                        struct node *nd = add_node(t);
                        nd->kind = N_TEXT;
                        nd->text = xstrndup(p, tlen);
                }
                if (!open)
                        break;
                const char *start = open + 2;
                if (*start == '-' && isspace((unsigned char)start[1]))
                        start++;
                const char *close = strstr(start, "}}");
                if (!close)
                        return error_msg(err, -EINVAL, "template: unclosed action at '%.20s'",
                                         open);
                const char *end = close;
                bool trim_right = end > start && end[-1] == '-' && isspace((unsigned char)end[-2]);
                if (trim_right)
                        end--;
                _cleanup_free_ char *action = xstrndup(start, (size_t)(end - start));
                int r = parse_action(t, action, err);
                if (r < 0)
                        return r;
                p = close + 2;
                if (trim_right)
                        while (isspace((unsigned char)*p))
                                p++;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

struct buf {
        char *s;
        size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
        buf_add(b, s, strlen(s));
}

static int cmp_keys(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Go's fmt %v for JSON-ish values. */
static void print_value(struct buf *b, struct json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                buf_str(b, "<no value>");
                break;
        case json_type_string:
                buf_add(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
                break;
        case json_type_array:
                buf_str(b, "[");
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        if (i)
                                buf_str(b, " ");
                        struct json_object *e = json_object_array_get_idx(v, i);
                        if (!e)
                                buf_str(b, "<nil>");
                        else
                                print_value(b, e);
                }
                buf_str(b, "]");
                break;
        case json_type_object: {
                char **keys = NULL;
                json_object_object_foreach(v, k, val)
                {
                        (void)val;
                        keys = strv_push(keys, xstrdup(k));
                }
                size_t n = strv_len(keys);
                if (n)
                        qsort(keys, n, sizeof(*keys), cmp_keys);
                buf_str(b, "map[");
                for (size_t i = 0; i < n; i++) {
                        struct json_object *e = json_object_object_get(v, keys[i]);
                        buf_str(b, i ? " " : "");
                        buf_str(b, keys[i]);
                        buf_str(b, ":");
                        if (!e)
                                buf_str(b, "<nil>");
                        else
                                print_value(b, e);
                }
                buf_str(b, "]");
                strv_free(keys);
                break;
        }
        default:
                buf_str(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        }
}

static int lookup(struct json_object *v, char **path, struct json_object **ret, bool *missing,
                  struct error *err)
{
        *missing = false;
        for (char **p = path; p && *p; p++) {
                if (!v) {
                        *missing = true;
                        break;
                }
                if (!json_object_is_type(v, json_type_object))
                        return error_msg(err, -EINVAL,
                                         "template: can't evaluate field '%s' in a non-object", *p);
                struct json_object *next = NULL;
                if (!json_object_object_get_ex(v, *p, &next))
                        return error_msg(err, -EINVAL, "template: can't evaluate field '%s'", *p);
                v = next;
        }
        *ret = v;
        return 0;
}

int tmpl_render(const struct tmpl *t, struct json_object *v, char **ret, struct error *err)
{
        struct buf b = {0};
        buf_str(&b, "");
        for (size_t i = 0; i < t->n; i++) {
                const struct node *nd = &t->nodes[i];
                if (nd->kind == N_TEXT) {
                        buf_str(&b, nd->text);
                        continue;
                }
                struct json_object *x = NULL;
                bool missing;
                int r = lookup(v, nd->path, &x, &missing, err);
                if (r < 0) {
                        free(b.s);
                        return r;
                }
                if (!nd->func) {
                        print_value(&b, x);
                } else if (strcmp(nd->func, "json") == 0) {
                        buf_str(&b, x ? json_compact(x) : "null");
                } else if (strcmp(nd->func, "len") == 0) {
                        char n[32];
                        size_t len = json_object_is_type(x, json_type_array)
                                         ? json_object_array_length(x)
                                     : json_object_is_type(x, json_type_object)
                                         ? (size_t)json_object_object_length(x)
                                     : json_object_is_type(x, json_type_string)
                                         ? (size_t)json_object_get_string_len(x)
                                         : 0;
                        snprintf(n, sizeof(n), "%zu", len);
                        buf_str(&b, n);
                } else if (strcmp(nd->func, "join") == 0) {
                        if (x && !json_object_is_type(x, json_type_array)) {
                                free(b.s);
                                return error_msg(err, -EINVAL, "template: join needs a list");
                        }
                        for (size_t k = 0; x && k < json_object_array_length(x); k++) {
                                if (k)
                                        buf_str(&b, nd->arg);
                                print_value(&b, json_object_array_get_idx(x, k));
                        }
                } else {
                        struct buf tmp = {0};
                        buf_str(&tmp, "");
                        print_value(&tmp, x);
                        for (size_t k = 0; k < tmp.len; k++) {
                                char c = tmp.s[k];
                                if (nd->func[0] == 'u')
                                        c = (char)toupper((unsigned char)c);
                                else if (nd->func[0] == 'l')
                                        c = (char)tolower((unsigned char)c);
                                else if (k == 0 || isspace((unsigned char)tmp.s[k - 1]))
                                        c = (char)toupper((unsigned char)c);
                                tmp.s[k] = c;
                        }
                        buf_str(&b, tmp.s);
                        free(tmp.s);
                }
        }
        *ret = b.s;
        return 0;
}

/* The header line of a table template: each action becomes its header. */
static char *header_line(const struct tmpl *t, const struct fmt_header *headers)
{
        struct buf b = {0};
        buf_str(&b, "");
        for (size_t i = 0; i < t->n; i++) {
                const struct node *nd = &t->nodes[i];
                if (nd->kind == N_TEXT) {
                        buf_str(&b, nd->text);
                        continue;
                }
                const char *field = nd->path ? nd->path[strv_len(nd->path) - 1] : "";
                const char *h = NULL;
                for (const struct fmt_header *x = headers; x && x->field; x++)
                        if (nd->path && strv_len(nd->path) == 1 && strcmp(x->field, field) == 0)
                                h = x->header;
                if (h) {
                        buf_str(&b, h);
                } else {
                        for (const char *c = field; *c; c++) {
                                char u = (char)toupper((unsigned char)*c);
                                buf_add(&b, &u, 1);
                        }
                }
        }
        return b.s;
}

static size_t utf8_width(const char *s, size_t n)
{
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        w++;
        return w;
}

void table_print(FILE *out, char **lines)
{
        /* Column widths over all lines (every cell but a line's last ends in a tab). */
        size_t widths[64] = {0};
        for (char **l = lines; l && *l; l++) {
                const char *p = *l;
                for (size_t c = 0; c < 64; c++) {
                        const char *tab = strchr(p, '\t');
                        if (!tab)
                                break;
                        size_t w = utf8_width(p, (size_t)(tab - p)) + 3;
                        if (w < 10)
                                w = 10;
                        if (w > widths[c])
                                widths[c] = w;
                        p = tab + 1;
                }
        }
        for (char **l = lines; l && *l; l++) {
                const char *p = *l;
                size_t c = 0;
                for (;;) {
                        const char *tab = strchr(p, '\t');
                        if (!tab || c >= 64) {
                                fputs(p, out);
                                break;
                        }
                        size_t w = utf8_width(p, (size_t)(tab - p));
                        fwrite(p, 1, (size_t)(tab - p), out);
                        for (; w < widths[c]; w++)
                                fputc(' ', out);
                        p = tab + 1;
                        c++;
                }
                fputc('\n', out);
        }
}

int format_print(FILE *out, const char *format, const char *default_table,
                 const struct fmt_header *headers, struct json_object **rows, size_t n,
                 struct error *err)
{
        if (!format || !*format || strcmp(format, "table") == 0)
                format = default_table;
        if (strcmp(format, "json") == 0) {
                for (size_t i = 0; i < n; i++)
                        fprintf(out, "%s\n", json_compact(rows[i]));
                return 0;
        }
        bool table = str_startswith(format, "table ") || str_startswith(format, "table\t");
        _cleanup_(tmpl_freep) struct tmpl *t = NULL;
        int r = tmpl_parse(table ? format + 6 : format, &t, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **lines = NULL;
        if (table)
                lines = strv_push(lines, header_line(t, headers));
        for (size_t i = 0; i < n; i++) {
                char *line = NULL;
                r = tmpl_render(t, rows[i], &line, err);
                if (r < 0)
                        return r;
                lines = strv_push(lines, line);
        }
        if (table) {
                table_print(out, lines);
        } else {
                for (char **l = lines; l && *l; l++)
                        fprintf(out, "%s\n", *l);
        }
        return 0;
}

void format_since(int64_t then, int64_t now, char *buf, size_t len)
{
        if (then <= 0) {
                snprintf(buf, len, "N/A");
                return;
        }
        long long d = (long long)(now - then), hours = (d + 1800) / 3600;
        if (d < 1)
                snprintf(buf, len, "Less than a second ago");
        else if (d == 1)
                snprintf(buf, len, "1 second ago");
        else if (d < 60)
                snprintf(buf, len, "%lld seconds ago", d);
        else if (d / 60 == 1)
                snprintf(buf, len, "About a minute ago");
        else if (d / 60 < 60)
                snprintf(buf, len, "%lld minutes ago", d / 60);
        else if (hours == 1)
                snprintf(buf, len, "About an hour ago");
        else if (hours < 48)
                snprintf(buf, len, "%lld hours ago", hours);
        else if (hours < 24 * 7 * 2)
                snprintf(buf, len, "%lld days ago", hours / 24);
        else if (hours < 24 * 30 * 2)
                snprintf(buf, len, "%lld weeks ago", hours / 24 / 7);
        else if (hours < 24 * 365 * 2)
                snprintf(buf, len, "%lld months ago", hours / 24 / 30);
        else
                snprintf(buf, len, "%lld years ago", d / 3600 / 24 / 365);
}

void format_size(int64_t bytes, char *buf, size_t len)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
        double v = (double)bytes;
        size_t u = 0;
        while (v >= 1000 && u < ARRAY_SIZE(units) - 1) {
                v /= 1000;
                u++;
        }
        /* %.3g, as Go's %.*g with precision 3 */
        snprintf(buf, len, "%.3g%s", v, units[u]);
}
