#include "image/import.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/json.h"
#include "core/util.h"
#include "image/image.h"
#include "image/manifest.h"

static struct json_object *strv_json(char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (; v && *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

/* JSON form ["a","b"] or shell form "a b" -> ["/bin/sh","-c","a b"]. */
static int parse_command(const char *ins, const char *arg, struct json_object **ret,
                         struct error *err)
{
        if (*arg == '[') {
                struct json_object *a = NULL;
                struct error e = {0};
                if (json_parse_string(ins, arg, &a, &e) == 0 &&
                    json_object_is_type(a, json_type_array)) {
                        for (size_t i = 0; i < json_object_array_length(a); i++)
                                if (!json_object_is_type(json_object_array_get_idx(a, i),
                                                         json_type_string)) {
                                        json_object_put(a);
                                        return error_msg(err, -EINVAL,
                                                         "%s: JSON form must be an array of "
                                                         "strings",
                                                         ins);
                                }
                        *ret = a;
                        return 0;
                }
                json_object_put(a);
        }
        char *sh[] = {"/bin/sh", "-c", (char *)arg, NULL};
        *ret = strv_json(sh);
        return 0;
}

static struct json_object *obj_child(struct json_object *o, const char *key)
{
        struct json_object *c = NULL;
        if (!json_object_object_get_ex(o, key, &c) || !json_object_is_type(c, json_type_object)) {
                c = json_object_new_object();
                json_object_object_add(o, key, c);
        }
        return c;
}

/* "K=V K2=V2" or "K V..." pairs into an object (LABEL) or "K=V" array (ENV). */
static int parse_pairs(const char *ins, const char *arg, struct json_object *cfg, bool env,
                       struct error *err)
{
        struct json_object *target = NULL;
        if (env) {
                if (!json_object_object_get_ex(cfg, "Env", &target) ||
                    !json_object_is_type(target, json_type_array)) {
                        target = json_object_new_array();
                        json_object_object_add(cfg, "Env", target);
                }
        } else {
                target = obj_child(cfg, "Labels");
        }
        _cleanup_strv_ char **pairs = NULL;
        const char *eq = strchr(arg, '=');
        const char *sp = arg + strcspn(arg, " \t");
        if (!eq || eq > sp) {
                /* Old form: "KEY value with spaces". */
                if (!*sp)
                        return error_msg(err, -EINVAL, "%s '%s': want KEY=VALUE", ins, arg);
                const char *v = sp + strspn(sp, " \t");
                pairs = strv_push(pairs, xasprintf("%.*s=%s", (int)(sp - arg), arg, v));
        } else {
                /* KEY=VALUE KEY2="quoted value" ... */
                const char *p = arg;
                while (*p) {
                        p += strspn(p, " \t");
                        if (!*p)
                                break;
                        char buf[4096];
                        size_t o = 0;
                        char q = 0;
                        for (; *p && (q || !isspace((unsigned char)*p)); p++) {
                                if (q && *p == q) {
                                        q = 0;
                                } else if (!q && (*p == '"' || *p == '\'')) {
                                        q = *p;
                                } else if (*p == '\\' && p[1] && q != '\'') {
                                        if (o < sizeof(buf) - 1)
                                                buf[o++] = *++p;
                                } else if (o < sizeof(buf) - 1) {
                                        buf[o++] = *p;
                                }
                        }
                        buf[o] = '\0';
                        if (q)
                                return error_msg(err, -EINVAL, "%s '%s': unterminated quote", ins,
                                                 arg);
                        if (!strchr(buf, '=') || buf[0] == '=')
                                return error_msg(err, -EINVAL, "%s '%s': '%s' is not KEY=VALUE",
                                                 ins, arg, buf);
                        pairs = strv_push(pairs, xstrdup(buf));
                }
        }
        for (char **kv = pairs; kv && *kv; kv++) {
                char *e = strchr(*kv, '=');
                if (env) {
                        /* Replace an existing KEY=. */
                        size_t klen = (size_t)(e - *kv) + 1;
                        size_t n = json_object_array_length(target);
                        bool done = false;
                        for (size_t i = 0; i < n; i++) {
                                const char *cur =
                                    json_object_get_string(json_object_array_get_idx(target, i));
                                if (cur && strncmp(cur, *kv, klen) == 0) {
                                        json_object_array_put_idx(target, i,
                                                                  json_object_new_string(*kv));
                                        done = true;
                                }
                        }
                        if (!done)
                                json_object_array_add(target, json_object_new_string(*kv));
                } else {
                        *e = '\0';
                        json_object_object_add(target, *kv, json_object_new_string(e + 1));
                }
        }
        return 0;
}

int config_apply_change(struct json_object *cfg, const char *change, struct error *err)
{
        const char *p = change + strspn(change, " \t");
        size_t n = strcspn(p, " \t");
        char ins[16];
        if (n == 0 || n >= sizeof(ins))
                return error_msg(err, -EINVAL,
                                 "change '%s': want an instruction (CMD, ENTRYPOINT, "
                                 "ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, "
                                 "STOPSIGNAL)",
                                 change);
        for (size_t i = 0; i < n; i++)
                ins[i] = (char)toupper((unsigned char)p[i]);
        ins[n] = '\0';
        const char *arg = p + n + strspn(p + n, " \t");
        _cleanup_free_ char *trimmed = xstrdup(arg);
        for (size_t l = strlen(trimmed); l && isspace((unsigned char)trimmed[l - 1]); l--)
                trimmed[l - 1] = '\0';
        arg = trimmed;
        if (!*arg)
                return error_msg(err, -EINVAL, "change '%s': %s needs an argument", change, ins);
        struct json_object *v = NULL;
        int r;
        if (strcmp(ins, "CMD") == 0 || strcmp(ins, "ENTRYPOINT") == 0) {
                if ((r = parse_command(ins, arg, &v, err)) < 0)
                        return r;
                json_object_object_add(cfg, strcmp(ins, "CMD") == 0 ? "Cmd" : "Entrypoint", v);
        } else if (strcmp(ins, "ENV") == 0 || strcmp(ins, "LABEL") == 0) {
                if ((r = parse_pairs(ins, arg, cfg, ins[0] == 'E', err)) < 0)
                        return error_wrap(err, r, "change '%s'", change);
        } else if (strcmp(ins, "EXPOSE") == 0) {
                struct json_object *ports = obj_child(cfg, "ExposedPorts");
                _cleanup_free_ char *copy = xstrdup(arg);
                char *save = NULL;
                for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                        uint64_t port;
                        char *slash = strchr(t, '/');
                        if (slash)
                                *slash = '\0';
                        const char *proto = slash ? slash + 1 : "tcp";
                        if (parse_u64(t, &port) < 0 || port == 0 || port > 65535 ||
                            (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
                                return error_msg(err, -EINVAL,
                                                 "change '%s': '%s' is not PORT[/tcp|udp|sctp]",
                                                 change, t);
                        char key[32];
                        snprintf(key, sizeof(key), "%llu/%s", (unsigned long long)port, proto);
                        json_object_object_add(ports, key, json_object_new_object());
                }
        } else if (strcmp(ins, "VOLUME") == 0) {
                struct json_object *vols = obj_child(cfg, "Volumes");
                if (*arg == '[') {
                        if ((r = parse_command(ins, arg, &v, err)) < 0)
                                return r;
                        for (size_t i = 0; i < json_object_array_length(v); i++)
                                json_object_object_add(
                                    vols, json_object_get_string(json_object_array_get_idx(v, i)),
                                    json_object_new_object());
                        json_object_put(v);
                } else {
                        _cleanup_free_ char *copy = xstrdup(arg);
                        char *save = NULL;
                        for (char *t = strtok_r(copy, " \t", &save); t;
                             t = strtok_r(NULL, " \t", &save))
                                json_object_object_add(vols, t, json_object_new_object());
                }
        } else if (strcmp(ins, "USER") == 0 || strcmp(ins, "WORKDIR") == 0 ||
                   strcmp(ins, "STOPSIGNAL") == 0) {
                const char *key = ins[0] == 'U'   ? "User"
                                  : ins[0] == 'W' ? "WorkingDir"
                                                  : "StopSignal";
                json_object_object_add(cfg, key, json_object_new_string(arg));
        } else {
                return error_msg(
                    err, -EINVAL,
                    "change '%s': unknown instruction '%s' (want CMD, ENTRYPOINT, ENV, "
                    "EXPOSE, LABEL, USER, VOLUME, WORKDIR or STOPSIGNAL)",
                    change, ins);
        }
        return 0;
}

static int import_locked(struct store *s, int fd, const struct import_opts *o,
                         char ret_id[DIGEST_STR_MAX], struct error *err)
{
        const char *source = o->source ? o->source : "-";
        struct json_object *changes_cfg = json_object_new_object();
        _cleanup_json_ struct json_object *cfg_holder = changes_cfg;
        for (char *const *c = o->changes; c && *c; c++) {
                int r = config_apply_change(changes_cfg, *c, err);
                if (r < 0)
                        return r;
        }
        /* One pass: unpack, and keep the uncompressed tar as the layer's blob. */
        char diff[DIGEST_STR_MAX];
        struct layer_stats st;
        int r = store_layer_import(s, fd, source, diff, &st, err);
        if (r < 0)
                return error_wrap(err, r, "import '%s'", source);

        char now[64];
        format_rfc3339((int64_t)time(NULL), now, sizeof(now));
        _cleanup_json_ struct json_object *config = json_object_new_object();
        json_object_object_add(config, "architecture", json_object_new_string(host_arch()));
        json_object_object_add(config, "os", json_object_new_string("linux"));
        json_object_object_add(config, "created", json_object_new_string(now));
        json_object_object_add(config, "config", json_object_get(changes_cfg));
        struct json_object *rootfs = json_object_new_object();
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        char *ids[] = {diff, NULL};
        json_object_object_add(rootfs, "diff_ids", strv_json(ids));
        json_object_object_add(config, "rootfs", rootfs);
        struct json_object *hist = json_object_new_object();
        json_object_object_add(hist, "created", json_object_new_string(now));
        _cleanup_free_ char *by = xasprintf("husk import %s", source);
        json_object_object_add(hist, "created_by", json_object_new_string(by));
        _cleanup_free_ char *comment =
            o->message ? xstrdup(o->message) : xasprintf("Imported from %s", source);
        json_object_object_add(hist, "comment", json_object_new_string(comment));
        struct json_object *history = json_object_new_array();
        json_object_array_add(history, hist);
        json_object_object_add(config, "history", history);
        const char *ctext = json_compact(config);
        char cdigest[DIGEST_STR_MAX];
        if ((r = blob_put(s, ctext, strlen(ctext), cdigest, err)) < 0)
                return r;

        struct stat sb;
        _cleanup_close_ int lfd = -EBADF;
        if ((r = blob_open(s, diff, &lfd, err)) < 0)
                return r;
        if (fstat(lfd, &sb) < 0)
                return error_sys(err, -errno, "stat blob %s", diff);
        _cleanup_free_ char *mtext = xasprintf(
            "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
            "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":"
            "\"%s\",\"size\":%lld}]}",
            MT_OCI_MANIFEST, MT_OCI_CONFIG, cdigest, strlen(ctext), MT_OCI_LAYER, diff,
            (long long)sb.st_size);
        char mdigest[DIGEST_STR_MAX];
        if ((r = blob_put(s, mtext, strlen(mtext), mdigest, err)) < 0)
                return r;
        return image_register(s, mdigest, o->names, ret_id, err);
}

int image_import(struct store *s, int fd, const struct import_opts *o, char ret_id[DIGEST_STR_MAX],
                 struct error *err)
{
        int r = store_lock(s, false, err);
        if (r < 0)
                return r;
        r = import_locked(s, fd, o, ret_id, err);
        if (r < 0)
                store_discard_created(s);
        else
                store_forget_created(s);
        store_unlock(s);
        return r;
}
