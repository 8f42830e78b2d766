#include "core/json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

static void line_col(const char *text, size_t off, int *line, int *col)
{
        *line = 1;
        *col = 1;
        for (size_t i = 0; i < off && text[i]; i++) {
                if (text[i] == '\n') {
                        (*line)++;
                        *col = 1;
                } else {
                        (*col)++;
                }
        }
}

int json_parse_string(const char *what, const char *text, struct json_object **ret,
                      struct error *err)
{
        struct json_tokener *tok = json_tokener_new();
        if (!tok)
                return error_msg(err, -ENOMEM, "%s: out of memory", what);
        size_t len = strlen(text);
        struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t off = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o || jerr != json_tokener_success) {
                int line, col;
                line_col(text, off, &line, &col);
                if (o)
                        json_object_put(o);
                return error_msg(err, -EINVAL, "%s: invalid JSON at line %d column %d: %s", what,
                                 line, col,
                                 jerr == json_tokener_success ? "unexpected end of input"
                                                              : json_tokener_error_desc(jerr));
        }
        /* Trailing garbage after the value is an error too. */
        while (off < len && strchr(" \t\r\n", text[off]))
                off++;
        if (off < len) {
                int line, col;
                line_col(text, off, &line, &col);
                json_object_put(o);
                return error_msg(err, -EINVAL,
                                 "%s: invalid JSON at line %d column %d: trailing data", what, line,
                                 col);
        }
        *ret = o;
        return 0;
}

int json_parse_file(const char *path, struct json_object **ret, struct error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s'", path);
        return json_parse_string(path, text, ret, err);
}

void jpath(char *buf, size_t len, const char *parent, const char *key)
{
        snprintf(buf, len, "%s%s%s", parent ? parent : "", parent && *parent ? "." : "", key);
}

void jpath_index(char *buf, size_t len, const char *parent, size_t index)
{
        snprintf(buf, len, "%s[%zu]", parent ? parent : "", index);
}

static int get(struct json_object *o, const char *key, struct json_object **v)
{
        if (!o || !json_object_object_get_ex(o, key, v) || !*v)
                return 0; /* absent, or null: treated as absent as runc does */
        return 1;
}

static int type_error(struct error *err, const char *path, const char *key, const char *what)
{
        char p[512];
        jpath(p, sizeof(p), path, key);
        return error_msg(err, -EINVAL, "%s: expected %s", p, what);
}

int jget_obj(struct json_object *o, const char *path, const char *key, struct json_object **ret,
             struct error *err)
{
        struct json_object *v;
        if (!get(o, key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_object))
                return type_error(err, path, key, "an object");
        *ret = v;
        return 1;
}

int jget_array(struct json_object *o, const char *path, const char *key, struct json_object **ret,
               struct error *err)
{
        struct json_object *v;
        if (!get(o, key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return type_error(err, path, key, "an array");
        *ret = v;
        return 1;
}

int jval_str(struct json_object *v, const char *path, char **ret, struct error *err)
{
        if (!json_object_is_type(v, json_type_string))
                return error_msg(err, -EINVAL, "%s: expected a string", path);
        free(*ret);
        *ret = xstrdup(json_object_get_string(v));
        return 1;
}

int jget_str(struct json_object *o, const char *path, const char *key, char **ret,
             struct error *err)
{
        struct json_object *v;
        if (!get(o, key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return type_error(err, path, key, "a string");
        free(*ret);
        *ret = xstrdup(json_object_get_string(v));
        return 1;
}

int jget_bool(struct json_object *o, const char *path, const char *key, bool *ret,
              struct error *err)
{
        struct json_object *v;
        if (!get(o, key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return type_error(err, path, key, "a boolean");
        *ret = json_object_get_boolean(v);
        return 1;
}

int jval_u64(struct json_object *v, const char *path, uint64_t *ret, struct error *err)
{
        if (!json_object_is_type(v, json_type_int))
                return error_msg(err, -EINVAL, "%s: expected an unsigned integer", path);
        errno = 0;
        int64_t s = json_object_get_int64(v);
        if (s < 0)
                return error_msg(err, -EINVAL, "%s: expected an unsigned integer, got %" PRId64,
                                 path, s);
        *ret = json_object_get_uint64(v);
        return 1;
}

int jget_u64(struct json_object *o, const char *path, const char *key, uint64_t *ret,
             struct error *err)
{
        struct json_object *v;
        if (!get(o, key, &v))
                return 0;
        char p[512];
        jpath(p, sizeof(p), path, key);
        return jval_u64(v, p, ret, err);
}

int jget_i64(struct json_object *o, const char *path, const char *key, int64_t *ret,
             struct error *err)
{
        struct json_object *v;
        if (!get(o, key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_int))
                return type_error(err, path, key, "an integer");
        errno = 0;
        int64_t x = json_object_get_int64(v);
        if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
                return type_error(err, path, key, "an integer in the signed 64-bit range");
        *ret = x;
        return 1;
}

int jget_u32(struct json_object *o, const char *path, const char *key, uint32_t *ret,
             struct error *err)
{
        uint64_t x;
        int r = jget_u64(o, path, key, &x, err);
        if (r <= 0)
                return r;
        if (x > UINT32_MAX)
                return type_error(err, path, key, "an unsigned 32-bit integer");
        *ret = (uint32_t)x;
        return 1;
}

int jget_i32(struct json_object *o, const char *path, const char *key, int32_t *ret,
             struct error *err)
{
        int64_t x;
        int r = jget_i64(o, path, key, &x, err);
        if (r <= 0)
                return r;
        if (x < INT32_MIN || x > INT32_MAX)
                return type_error(err, path, key, "a 32-bit integer");
        *ret = (int32_t)x;
        return 1;
}

int jget_strv(struct json_object *o, const char *path, const char *key, char ***ret,
              struct error *err)
{
        struct json_object *a;
        int r = jget_array(o, path, key, &a, err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(a);
        char **v = xzalloc((n + 1) * sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string)) {
                        char p[512], q[512];
                        jpath(p, sizeof(p), path, key);
                        jpath_index(q, sizeof(q), p, i);
                        strv_free(v);
                        return error_msg(err, -EINVAL, "%s: expected a string", q);
                }
                v[i] = xstrdup(json_object_get_string(e));
        }
        strv_free(*ret);
        *ret = v;
        return 1;
}

const char *json_compact(struct json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
}

const char *json_pretty(struct json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
}
