#include "image/manifest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/digest.h"
#include "core/json.h"
#include "core/util.h"

void descriptor_free(struct descriptor *d)
{
        free(d->media_type);
        free(d->digest);
        free(d->os);
        free(d->arch);
        free(d->variant);
        free(d->ref_name);
        *d = (struct descriptor){0};
}

void free_descriptors(struct descriptor *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                descriptor_free(&d[i]);
        free(d);
}

void manifest_free(struct manifest *m)
{
        free(m->media_type);
        descriptor_free(&m->config);
        free_descriptors(m->layers, m->nlayers);
        *m = (struct manifest){0};
}

bool media_is_index(const char *mt)
{
        return mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

bool media_is_manifest(const char *mt)
{
        return mt && (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0);
}

bool media_is_layer(const char *mt)
{
        return mt && (strcmp(mt, MT_OCI_LAYER) == 0 || strcmp(mt, MT_OCI_LAYER_GZIP) == 0 ||
                      strcmp(mt, MT_OCI_LAYER_ZSTD) == 0 || strcmp(mt, MT_DOCKER_LAYER) == 0 ||
                      strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0);
}

static int parse_desc(struct json_object *o, const char *path, struct descriptor *d,
                      struct error *err)
{
        int r = jget_str(o, path, "mediaType", &d->media_type, err);
        if (r < 0)
                return r;
        r = jget_str(o, path, "digest", &d->digest, err);
        if (r < 0)
                return r;
        if (r == 0 || !digest_valid(d->digest))
                return error_msg(err, -EINVAL, "%s.digest: %s", path,
                                 r == 0 ? "missing" : "not a sha256 digest");
        r = jget_i64(o, path, "size", &d->size, err);
        if (r < 0)
                return r;
        if (r == 0 || d->size < 0)
                return error_msg(err, -EINVAL, "%s.size: missing or negative", path);
        struct json_object *p = NULL;
        char sub[256];
        jpath(sub, sizeof(sub), path, "platform");
        if ((r = jget_obj(o, path, "platform", &p, err)) < 0)
                return r;
        if (p && ((r = jget_str(p, sub, "os", &d->os, err)) < 0 ||
                  (r = jget_str(p, sub, "architecture", &d->arch, err)) < 0 ||
                  (r = jget_str(p, sub, "variant", &d->variant, err)) < 0))
                return r;
        struct json_object *ann = NULL;
        if ((r = jget_obj(o, path, "annotations", &ann, err)) < 0)
                return r;
        jpath(sub, sizeof(sub), path, "annotations");
        if (ann &&
            (r = jget_str(ann, sub, "org.opencontainers.image.ref.name", &d->ref_name, err)) < 0)
                return r;
        return 0;
}

int doc_is_index(const char *what, const char *text, struct error *err)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = json_parse_string(what, text, &o, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object))
                return error_msg(err, -EINVAL, "%s: not a JSON object", what);
        _cleanup_free_ char *mt = NULL;
        if ((r = jget_str(o, "", "mediaType", &mt, err)) < 0)
                return error_wrap(err, r, "%s", what);
        if (mt)
                return media_is_index(mt) ? 1 : 0;
        return json_object_object_get_ex(o, "manifests", NULL) ? 1 : 0;
}

int manifest_parse(const char *what, const char *text, struct manifest *ret, struct error *err)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = json_parse_string(what, text, &o, err);
        if (r < 0)
                return r;
        struct manifest m = {0};
        struct json_object *cfg = NULL, *layers = NULL;
        int64_t version = 0;
        if ((r = jget_i64(o, "", "schemaVersion", &version, err)) < 0 ||
            (r = jget_str(o, "", "mediaType", &m.media_type, err)) < 0)
                goto fail;
        if (version != 2) {
                r = error_msg(err, -EPROTONOSUPPORT, "schemaVersion %lld is not supported (want 2)",
                              (long long)version);
                goto fail;
        }
        if (m.media_type && !media_is_manifest(m.media_type)) {
                r = error_msg(err, -EPROTONOSUPPORT, "mediaType '%s' is not an image manifest",
                              m.media_type);
                goto fail;
        }
        if (!m.media_type)
                m.media_type = xstrdup(MT_OCI_MANIFEST);
        if ((r = jget_obj(o, "", "config", &cfg, err)) <= 0 ||
            (r = jget_array(o, "", "layers", &layers, err)) <= 0) {
                if (r == 0)
                        r = error_msg(err, -EINVAL, "'config' or 'layers' missing");
                goto fail;
        }
        if ((r = parse_desc(cfg, "config", &m.config, err)) < 0)
                goto fail;
        m.nlayers = json_object_array_length(layers);
        m.layers = xzalloc((m.nlayers + 1) * sizeof(*m.layers));
        for (size_t i = 0; i < m.nlayers; i++) {
                char p[64];
                jpath_index(p, sizeof(p), "layers", i);
                if ((r = parse_desc(json_object_array_get_idx(layers, i), p, &m.layers[i], err)) <
                    0)
                        goto fail;
                const char *mt = m.layers[i].media_type;
                if (mt && (strcmp(mt, MT_DOCKER_FOREIGN) == 0 || strstr(mt, "nondistributable"))) {
                        r = error_msg(err, -EPROTONOSUPPORT,
                                      "%s: foreign layer '%s' is not supported", p, mt);
                        goto fail;
                }
                if (mt && !media_is_layer(mt)) {
                        r = error_msg(err, -EPROTONOSUPPORT, "%s: unknown layer media type '%s'", p,
                                      mt);
                        goto fail;
                }
        }
        *ret = m;
        return 0;
fail:
        manifest_free(&m);
        return error_wrap(err, r, "%s", what);
}

int index_parse(const char *what, const char *text, struct descriptor **ret, size_t *ret_n,
                struct error *err)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = json_parse_string(what, text, &o, err);
        if (r < 0)
                return r;
        struct json_object *arr = NULL;
        if ((r = jget_array(o, "", "manifests", &arr, err)) < 0)
                return error_wrap(err, r, "%s", what);
        if (r == 0)
                return error_msg(err, -EINVAL, "%s: 'manifests' missing", what);
        size_t n = json_object_array_length(arr);
        struct descriptor *d = xzalloc((n + 1) * sizeof(*d));
        for (size_t i = 0; i < n; i++) {
                char p[64];
                jpath_index(p, sizeof(p), "manifests", i);
                r = parse_desc(json_object_array_get_idx(arr, i), p, &d[i], err);
                if (r < 0) {
                        free_descriptors(d, n);
                        return error_wrap(err, r, "%s", what);
                }
        }
        *ret = d;
        *ret_n = n;
        return 0;
}

const char *host_arch(void)
{
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#else
        return "unknown";
#endif
}

int index_pick(const struct descriptor *d, size_t n, const char *what, size_t *ret,
               struct error *err)
{
        const char *arch = host_arch();
        ssize_t best = -1;
        for (size_t i = 0; i < n; i++) {
                if (d[i].media_type && !media_is_manifest(d[i].media_type))
                        continue;
                if (!d[i].os && !d[i].arch && n == 1) {
                        best = (ssize_t)i; /* a single manifest without a platform */
                        break;
                }
                if (!d[i].os || !d[i].arch || strcmp(d[i].os, "linux") != 0 ||
                    strcmp(d[i].arch, arch) != 0)
                        continue;
                /* Variants (amd64 v2, v3...): the plain one first, then the lowest. */
                if (best < 0 || (d[best].variant &&
                                 (!d[i].variant || strcmp(d[i].variant, d[best].variant) < 0)))
                        best = (ssize_t)i;
        }
        if (best < 0) {
                char have[512] = "";
                size_t o = 0;
                for (size_t i = 0; i < n && o < sizeof(have) - 64; i++)
                        o += snprintf(have + o, sizeof(have) - o, "%s%s/%s%s%s", i ? ", " : "",
                                      d[i].os ? d[i].os : "?", d[i].arch ? d[i].arch : "?",
                                      d[i].variant ? "/" : "", d[i].variant ? d[i].variant : "");
                return error_msg(err, -ENOENT, "%s: no image for linux/%s (has: %s)", what, arch,
                                 n ? have : "none");
        }
        *ret = (size_t)best;
        return 0;
}

int parse_rfc3339(const char *s, int64_t *ret)
{
        struct tm tm = {0};
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.')
                for (p++; isdigit((unsigned char)*p); p++)
                        ;
        int64_t off = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int hh, mm;
                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                        return -EINVAL;
                off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
                p += 6;
        } else {
                return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        *ret = (int64_t)timegm(&tm) - off;
        return 0;
}

void format_rfc3339(int64_t t, char *buf, size_t len)
{
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int config_parse(const char *what, const char *text, char ***ret_diff_ids, int64_t *ret_created,
                 struct error *err)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = json_parse_string(what, text, &o, err);
        if (r < 0)
                return r;
        struct json_object *rootfs = NULL;
        _cleanup_free_ char *created = NULL, *type = NULL;
        _cleanup_strv_ char **ids = NULL;
        if ((r = jget_obj(o, "", "rootfs", &rootfs, err)) < 0 ||
            (r = jget_str(o, "", "created", &created, err)) < 0)
                return error_wrap(err, r, "%s", what);
        if (!rootfs)
                return error_msg(err, -EINVAL, "%s: 'rootfs' missing", what);
        if ((r = jget_str(rootfs, "rootfs", "type", &type, err)) < 0 ||
            (r = jget_strv(rootfs, "rootfs", "diff_ids", &ids, err)) < 0)
                return error_wrap(err, r, "%s", what);
        if (!type || strcmp(type, "layers") != 0)
                return error_msg(err, -EINVAL, "%s: rootfs.type must be 'layers'", what);
        for (size_t i = 0; ids && ids[i]; i++)
                if (!digest_valid(ids[i]))
                        return error_msg(err, -EINVAL,
                                         "%s: rootfs.diff_ids[%zu]: '%s' is not a "
                                         "sha256 digest",
                                         what, i, ids[i]);
        int64_t t = 0;
        if (created && parse_rfc3339(created, &t) < 0)
                return error_msg(err, -EINVAL, "%s: created: '%s' is not an RFC 3339 time", what,
                                 created);
        *ret_diff_ids = TAKE_PTR(ids);
        if (ret_created)
                *ret_created = t;
        return 0;
}
