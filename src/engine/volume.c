/* Named volumes: the `volumes` table, ROOT/volumes/NAME/_data, and how
 * -v / --mount turn into a container's mounts. See volume.h. */
#include "engine/volume.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/safepath.h"
#include "core/util.h"
#include "engine/ctr-config.h"
#include "image/fsutil.h"

static void add(struct json_object *o, const char *key, struct json_object *v)
{
        json_object_object_add(o, key, v);
}

static struct json_object *jget(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;
        if (o && json_object_is_type(o, json_type_object))
                json_object_object_get_ex(o, key, &v);
        return v;
}

static const char *jstr(struct json_object *o, const char *key)
{
        struct json_object *v = jget(o, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

void volume_free(struct volume *v)
{
        if (!v)
                return;
        free(v->name);
        free(v->driver);
        free(v->labels);
        memset(v, 0, sizeof(*v));
}

void volume_free_array(struct volume *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                volume_free(&v[i]);
        free(v);
}

int volume_check_name(const char *name, struct error *err)
{
        bool ok = strlen(name) >= 2 && isalnum((unsigned char)name[0]);
        for (const char *p = name + 1; ok && *p; p++)
                ok = isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-';
        if (!ok)
                return error_msg(err, -EINVAL,
                                 "volume name '%s' includes invalid characters for a local volume "
                                 "name, only '[a-zA-Z0-9][a-zA-Z0-9_.-]' are allowed (at least 2 "
                                 "characters)",
                                 name);
        return 0;
}

char *volume_mountpoint(struct engine *e, const char *name)
{
        return xasprintf("%s/volumes/%s/_data", e->root, name);
}

static int random_name(char buf[65], struct error *err)
{
        unsigned char raw[32];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
                return error_sys(err, -errno, "getrandom");
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(buf + 2 * i, 3, "%02x", raw[i]);
        return 0;
}

static void row_to_volume(sqlite3_stmt *st, struct volume *v)
{
        v->name = db_col_str(st, 0);
        v->driver = db_col_str(st, 1);
        v->created = sqlite3_column_int64(st, 2);
        v->labels = db_col_str(st, 3);
        v->anonymous = sqlite3_column_int(st, 4) != 0;
}

#define VOL_COLS "name, driver, created, labels, anonymous"

int volume_get(struct engine *e, const char *name, struct volume *ret, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r =
            db_prepare(e->store->db, "SELECT " VOL_COLS " FROM volumes WHERE name = ?1", &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        r = db_step(e->store->db, st, err);
        if (r < 0)
                return r;
        if (r == 0)
                return error_msg(err, -ENOENT, "no such volume: %s", name);
        row_to_volume(st, ret);
        return 0;
}

int volume_list(struct engine *e, struct volume **ret, size_t *ret_n, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r =
            db_prepare(e->store->db, "SELECT " VOL_COLS " FROM volumes ORDER BY name", &st, err);
        if (r < 0)
                return r;
        struct volume *l = NULL;
        size_t n = 0;
        while ((r = db_step(e->store->db, st, err)) == 1) {
                l = xrealloc(l, (n + 1) * sizeof(*l));
                memset(&l[n], 0, sizeof(*l));
                row_to_volume(st, &l[n++]);
        }
        if (r < 0) {
                volume_free_array(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static int labels_json(char *const *labels, char **ret, struct error *err)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        for (char *const *l = labels; l && *l; l++) {
                const char *eq = strchr(*l, '=');
                _cleanup_free_ char *k = eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
                if (!*k)
                        return error_msg(err, -EINVAL, "--label '%s': no key", *l);
                add(o, k, json_object_new_string(eq ? eq + 1 : ""));
        }
        *ret = xstrdup(json_compact(o));
        return 0;
}

static int mkdir_if_missing(const char *path, mode_t mode)
{
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int volume_create(struct engine *e, const char *name, char *const *labels, bool anonymous,
                  struct volume *ret, struct error *err)
{
        char rnd[65];
        int r;
        if (!name) {
                if ((r = random_name(rnd, err)) < 0)
                        return r;
                name = rnd;
        } else if ((r = volume_check_name(name, err)) < 0) {
                return r;
        }
        _cleanup_free_ char *lj = NULL;
        if ((r = labels_json(labels, &lj, err)) < 0)
                return r;
        struct db *db = e->store->db;
        if ((r = db_begin(db, err)) < 0)
                return r;
        struct volume v = {0};
        r = volume_get(e, name, &v, err);
        if (r == 0) {
                db_rollback(db);
                *ret = v;
                return 0;
        }
        if (r != -ENOENT) {
                db_rollback(db);
                return r;
        }
        error_clear(err);
        _cleanup_free_ char *top = xasprintf("%s/volumes", e->root);
        _cleanup_free_ char *dir = xasprintf("%s/%s", top, name);
        _cleanup_free_ char *data = xasprintf("%s/_data", dir);
        if ((r = mkdir_if_missing(top, 0701)) < 0 || (r = mkdir_if_missing(dir, 0701)) < 0 ||
            (r = mkdir_if_missing(data, 0755)) < 0) {
                db_rollback(db);
                return error_sys(err, r, "create volume directory '%s'", data);
        }
        _cleanup_free_ char *created = xasprintf("%lld", (long long)time(NULL));
        r = db_run(db,
                   "INSERT INTO volumes (name, driver, created, labels, anonymous) VALUES (?1, "
                   "'local', ?2, ?3, ?4)",
                   err, 4, name, created, lj, anonymous ? "1" : "0");
        if (r == 0)
                r = db_commit(db, err);
        else
                db_rollback(db);
        if (r < 0) {
                _cleanup_close_ int tfd = open(top, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (tfd >= 0)
                        rm_rf_at(tfd, name);
                return r;
        }
        return volume_get(e, name, ret, err);
}

int volume_users(struct engine *e, const char *name, char ***ret, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(e->store->db,
                           "SELECT DISTINCT c.name FROM containers c, json_each(c.config, "
                           "'$.Mounts') m WHERE json_extract(m.value, '$.Type') = 'volume' AND "
                           "json_extract(m.value, '$.Name') = ?1 ORDER BY c.name",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        char **names = NULL;
        while ((r = db_step(e->store->db, st, err)) == 1)
                names = strv_push(names, db_col_str(st, 0));
        if (r < 0) {
                strv_free(names);
                return r;
        }
        *ret = names;
        return 0;
}

static int remove_locked(struct engine *e, const char *name, bool force, struct error *err)
{
        struct db *db = e->store->db;
        int r = db_begin(db, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **users = NULL;
        if ((r = volume_users(e, name, &users, err)) < 0) {
                db_rollback(db);
                return r;
        }
        if (users) {
                db_rollback(db);
                _cleanup_free_ char *list = strv_join(users, ", ");
                return error_msg(err, -EBUSY, "remove %s: volume is in use - [%s]", name, list);
        }
        if ((r = db_run(db, "DELETE FROM volumes WHERE name = ?1", err, 1, name)) < 0) {
                db_rollback(db);
                return r;
        }
        if (db_changes(db) == 0) {
                db_rollback(db);
                if (force)
                        return 0;
                return error_msg(err, -ENOENT, "no such volume: %s", name);
        }
        if ((r = db_commit(db, err)) < 0)
                return r;
        _cleanup_free_ char *top = xasprintf("%s/volumes", e->root);
        _cleanup_close_ int tfd = open(top, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (tfd >= 0 && (r = rm_rf_at(tfd, name)) < 0)
                return error_sys(err, r, "remove volume directory '%s/%s'", top, name);
        return 0;
}

int volume_remove(struct engine *e, const char *name, bool force, struct error *err)
{
        return remove_locked(e, name, force, err);
}

uint64_t volume_size(struct engine *e, const char *name)
{
        _cleanup_free_ char *mp = volume_mountpoint(e, name);
        _cleanup_close_ int fd = open(mp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        uint64_t bytes = 0;
        if (fd >= 0)
                tree_size_at(fd, &bytes);
        return bytes;
}

int volume_prune(struct engine *e, bool all, char ***ret_names, uint64_t *ret_bytes,
                 struct error *err)
{
        struct volume *l = NULL;
        size_t n = 0;
        int r = volume_list(e, &l, &n, err);
        if (r < 0)
                return r;
        char **names = NULL;
        uint64_t bytes = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (!all && !l[i].anonymous)
                        continue;
                uint64_t sz = volume_size(e, l[i].name);
                r = remove_locked(e, l[i].name, false, err);
                if (r == -EBUSY || r == -ENOENT) {
                        error_clear(err);
                        r = 0;
                        continue;
                }
                if (r == 0) {
                        names = strv_push(names, xstrdup(l[i].name));
                        bytes += sz;
                }
        }
        volume_free_array(l, n);
        if (r < 0) {
                strv_free(names);
                return r;
        }
        *ret_names = names;
        *ret_bytes = bytes;
        return 0;
}

/* ------------------------------------------------------------ -v, --mount */

bool volume_spec_is_volume(const char *spec)
{
        /* "/path" alone is an anonymous volume; "NAME:/path..." a named one. */
        if (spec[0] == '/')
                return strchr(spec, ':') == NULL;
        return spec[0] != '.' && strchr(spec, ':') != NULL;
}

static bool has_dest(struct json_object *dests, const char *d)
{
        return jget(dests, d) != NULL;
}

static int claim_dest(struct json_object *dests, const char *what, const char *d, struct error *err)
{
        if (d[0] != '/')
                return error_msg(err, -EINVAL, "%s: the container path '%s' is not absolute", what,
                                 d);
        if (strcmp(d, "/") == 0)
                return error_msg(err, -EINVAL, "%s: the container path cannot be '/'", what);
        if (has_dest(dests, d))
                return error_msg(err, -EINVAL, "%s: duplicate mount point: %s", what, d);
        add(dests, d, json_object_new_boolean(1));
        return 0;
}

/* Mode of -v: comma-separated ro, rw, nocopy (docker also takes z, Z and
 * propagation modes; those are refused by name). */
static int check_mode(const char *spec, const char *mode, bool *ret_ro, struct error *err)
{
        _cleanup_free_ char *m = xstrdup(mode);
        char *save = NULL;
        int rw = 0;
        for (char *t = strtok_r(m, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "ro") == 0 || strcmp(t, "rw") == 0) {
                        if (rw++)
                                return error_msg(err, -EINVAL,
                                                 "--volume '%s': invalid mode: %s (ro and rw "
                                                 "both given)",
                                                 spec, mode);
                        *ret_ro = strcmp(t, "ro") == 0;
                } else if (strcmp(t, "nocopy") != 0) {
                        return error_msg(err, -EINVAL,
                                         "--volume '%s': invalid mode: %s (want ro, rw or nocopy)",
                                         spec, mode);
                }
        }
        return 0;
}

static int config_volume_spec(const char *spec, struct json_object *binds, struct json_object *anon,
                              struct json_object *dests, struct error *err)
{
        _cleanup_free_ char *what = xasprintf("--volume '%s'", spec);
        if (spec[0] == '/') {
                int r = claim_dest(dests, what, spec, err);
                if (r < 0)
                        return r;
                add(anon, spec, json_object_new_object());
                return 0;
        }
        _cleanup_free_ char *copy = xstrdup(spec);
        char *dst = strchr(copy, ':');
        *dst++ = '\0';
        char *mode = strchr(dst, ':');
        if (mode)
                *mode++ = '\0';
        int r = volume_check_name(copy, err);
        if (r < 0)
                return error_wrap(err, r, "%s", what);
        bool ro = false;
        if (mode && (r = check_mode(spec, mode, &ro, err)) < 0)
                return r;
        if ((r = claim_dest(dests, what, dst, err)) < 0)
                return r;
        json_object_array_add(binds, json_object_new_string(spec));
        return 0;
}

static bool parse_bool(const char *v, bool *ret)
{
        if (!v || !strcmp(v, "1") || !strcasecmp(v, "true")) {
                *ret = true;
                return true;
        }
        if (!strcmp(v, "0") || !strcasecmp(v, "false")) {
                *ret = false;
                return true;
        }
        return false;
}

/* One --mount value: docker's comma-separated key=value fields. */
static int config_mount_spec(const char *spec, struct json_object *hmounts,
                             struct json_object *dests, struct error *err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        const char *type = "volume", *src = NULL, *dst = NULL, *prop = NULL;
        bool ro = false, nocopy = false;
        int64_t size = 0;
        long tmode = -1;
        _cleanup_json_ struct json_object *vlabels = json_object_new_object();
        char *save = NULL;
        for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
                char *v = strchr(f, '=');
                if (v)
                        *v++ = '\0';
                for (char *c = f; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                if (!strcmp(f, "readonly") || !strcmp(f, "ro")) {
                        if (!parse_bool(v, &ro))
                                return error_msg(err, -EINVAL,
                                                 "--mount '%s': invalid value for %s: %s", spec, f,
                                                 v);
                        continue;
                }
                if (!strcmp(f, "volume-nocopy")) {
                        if (!parse_bool(v, &nocopy))
                                return error_msg(err, -EINVAL,
                                                 "--mount '%s': invalid value for %s: %s", spec, f,
                                                 v);
                        continue;
                }
                if (!v)
                        return error_msg(err, -EINVAL,
                                         "--mount '%s': invalid field '%s' must be a key=value "
                                         "pair",
                                         spec, f);
                if (!strcmp(f, "type"))
                        type = v;
                else if (!strcmp(f, "source") || !strcmp(f, "src"))
                        src = v;
                else if (!strcmp(f, "target") || !strcmp(f, "destination") || !strcmp(f, "dst"))
                        dst = v;
                else if (!strcmp(f, "bind-propagation"))
                        prop = v;
                else if (!strcmp(f, "volume-label")) {
                        char *eq = strchr(v, '=');
                        _cleanup_free_ char *k = eq ? xstrndup(v, (size_t)(eq - v)) : xstrdup(v);
                        add(vlabels, k, json_object_new_string(eq ? eq + 1 : ""));
                } else if (!strcmp(f, "tmpfs-size")) {
                        if (ctr_parse_bytes(v, &size) < 0 || size <= 0)
                                return error_msg(err, -EINVAL,
                                                 "--mount '%s': invalid tmpfs-size '%s'", spec, v);
                } else if (!strcmp(f, "tmpfs-mode")) {
                        char *end = NULL;
                        errno = 0;
                        tmode = strtol(v, &end, 8);
                        if (errno || !*v || *end || tmode < 0 || tmode > 07777)
                                return error_msg(err, -EINVAL,
                                                 "--mount '%s': invalid tmpfs-mode '%s' (want "
                                                 "octal, e.g. 1777)",
                                                 spec, v);
                } else if (!strcmp(f, "consistency")) {
                        continue;
                } else {
                        return error_msg(err, -EINVAL,
                                         "--mount '%s': unexpected key '%s' in '%s=%s'", spec, f, f,
                                         v);
                }
        }
        bool is_bind = !strcmp(type, "bind"), is_vol = !strcmp(type, "volume"),
             is_tmpfs = !strcmp(type, "tmpfs");
        if (!is_bind && !is_vol && !is_tmpfs)
                return error_msg(err, -EINVAL,
                                 "--mount '%s': invalid mount type '%s' (want bind, volume or "
                                 "tmpfs)",
                                 spec, type);
        if (!dst || !*dst)
                return error_msg(err, -EINVAL, "--mount '%s': target is required", spec);
        if (!is_tmpfs && (size || tmode >= 0))
                return error_msg(err, -EINVAL,
                                 "--mount '%s': invalid mount config for type \"%s\": tmpfs "
                                 "options are only for type=tmpfs",
                                 spec, type);
        if (!is_bind && prop)
                return error_msg(err, -EINVAL,
                                 "--mount '%s': invalid mount config for type \"%s\": "
                                 "bind-propagation is only for type=bind",
                                 spec, type);
        if (!is_vol && (nocopy || json_object_object_length(vlabels)))
                return error_msg(err, -EINVAL,
                                 "--mount '%s': invalid mount config for type \"%s\": volume "
                                 "options are only for type=volume",
                                 spec, type);
        struct json_object *m = json_object_new_object();
        _cleanup_json_ struct json_object *hold = m;
        add(m, "Type", json_object_new_string(type));
        char host[PATH_MAX];
        if (is_bind) {
                if (!src || !*src)
                        return error_msg(err, -EINVAL,
                                         "--mount '%s': invalid mount config for type \"bind\": "
                                         "field Source must not be empty",
                                         spec);
                if (!realpath(src, host))
                        return error_sys(err, -errno,
                                         "--mount '%s': invalid mount config for type \"bind\": "
                                         "bind source path does not exist: %s",
                                         spec, src);
                static const char *const props[] = {"private", "rprivate", "shared",
                                                    "rshared", "slave",    "rslave"};
                bool okp = !prop;
                for (size_t i = 0; prop && i < ARRAY_SIZE(props); i++)
                        okp = okp || !strcmp(prop, props[i]);
                if (!okp)
                        return error_msg(err, -EINVAL,
                                         "--mount '%s': invalid bind-propagation '%s'", spec, prop);
                add(m, "Source", json_object_new_string(host));
                if (prop) {
                        struct json_object *bo = json_object_new_object();
                        add(bo, "Propagation", json_object_new_string(prop));
                        add(m, "BindOptions", bo);
                }
        } else if (is_vol) {
                if (src && *src) {
                        int r = volume_check_name(src, err);
                        if (r < 0)
                                return error_wrap(err, r, "--mount '%s'", spec);
                }
                add(m, "Source", json_object_new_string(src ? src : ""));
                struct json_object *vo = json_object_new_object();
                add(vo, "NoCopy", json_object_new_boolean(nocopy));
                add(vo, "Labels", json_object_get(vlabels));
                add(m, "VolumeOptions", vo);
        } else {
                if (src && *src)
                        return error_msg(err, -EINVAL,
                                         "--mount '%s': invalid mount config for type "
                                         "\"tmpfs\": source must not be specified",
                                         spec);
                struct json_object *to = json_object_new_object();
                if (size)
                        add(to, "SizeBytes", json_object_new_int64(size));
                if (tmode >= 0)
                        add(to, "Mode", json_object_new_int64(tmode));
                add(m, "TmpfsOptions", to);
        }
        add(m, "Target", json_object_new_string(dst));
        add(m, "ReadOnly", json_object_new_boolean(ro));
        _cleanup_free_ char *what = xasprintf("--mount '%s'", spec);
        int r = claim_dest(dests, what, dst, err);
        if (r < 0)
                return r;
        json_object_array_add(hmounts, TAKE_PTR(hold));
        return 0;
}

int volume_config(char *const *volumes, char *const *mounts, struct json_object *image_volumes,
                  struct json_object *doc, struct error *err)
{
        struct json_object *cfg = jget(doc, "Config"), *hc = jget(doc, "HostConfig");
        if (!cfg || !hc)
                return error_msg(err, -EINVAL, "volume_config: no Config/HostConfig");
        _cleanup_json_ struct json_object *dests = json_object_new_object();
        struct json_object *binds = jget(hc, "Binds");
        if (!binds || !json_object_is_type(binds, json_type_array)) {
                binds = json_object_new_array();
                add(hc, "Binds", binds);
        }
        /* Host binds already there claim their destinations first. */
        for (size_t i = 0; i < json_object_array_length(binds); i++) {
                const char *b = json_object_get_string(json_object_array_get_idx(binds, i));
                const char *d = strchr(b, ':');
                if (!d)
                        continue;
                _cleanup_free_ char *dst = xstrdup(d + 1);
                char *c = strchr(dst, ':');
                if (c)
                        *c = '\0';
                _cleanup_free_ char *what = xasprintf("--volume '%s'", b);
                int r = claim_dest(dests, what, dst, err);
                if (r < 0)
                        return r;
        }
        struct json_object *anon = json_object_new_object();
        add(cfg, "Volumes", anon);
        for (char *const *v = volumes; v && *v; v++) {
                if (!volume_spec_is_volume(*v))
                        continue;
                int r = config_volume_spec(*v, binds, anon, dests, err);
                if (r < 0)
                        return r;
        }
        struct json_object *hm = json_object_new_array();
        add(hc, "Mounts", hm);
        for (char *const *m = mounts; m && *m; m++) {
                int r = config_mount_spec(*m, hm, dests, err);
                if (r < 0)
                        return r;
        }
        /* The image's VOLUMEs: anonymous volumes where the user put nothing. */
        if (image_volumes && json_object_is_type(image_volumes, json_type_object)) {
                json_object_object_foreach(image_volumes, path, unused)
                {
                        (void)unused;
                        if (path[0] == '/' && strcmp(path, "/") != 0 && !has_dest(dests, path)) {
                                add(dests, path, json_object_new_boolean(1));
                                add(anon, path, json_object_new_object());
                        }
                }
        }
        if (json_object_object_length(anon) == 0)
                add(cfg, "Volumes", NULL);
        return 0;
}

/* ------------------------------------------------------------ at create */

static struct json_object *mount_point(const char *type, const char *name, const char *src,
                                       const char *dst, const char *mode, bool rw, const char *prop)
{
        struct json_object *m = json_object_new_object();
        add(m, "Type", json_object_new_string(type));
        if (name)
                add(m, "Name", json_object_new_string(name));
        add(m, "Source", json_object_new_string(src));
        add(m, "Destination", json_object_new_string(dst));
        if (name)
                add(m, "Driver", json_object_new_string("local"));
        add(m, "Mode", json_object_new_string(mode));
        add(m, "RW", json_object_new_boolean(rw));
        add(m, "Propagation", json_object_new_string(prop));
        return m;
}

static int use_volume(struct engine *e, const char *name, char *const *labels, const char *dst,
                      const char *mode, bool rw, struct json_object *out, struct error *err)
{
        struct volume v = {0};
        int r = volume_create(e, name && *name ? name : NULL, labels, !(name && *name), &v, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *mp = volume_mountpoint(e, v.name);
        json_object_array_add(out, mount_point("volume", v.name, mp, dst, mode, rw, ""));
        volume_free(&v);
        return 0;
}

int volume_prepare(struct engine *e, struct json_object *doc, struct error *err)
{
        struct json_object *cfg = jget(doc, "Config"), *hc = jget(doc, "HostConfig");
        struct json_object *out = json_object_new_array();
        add(doc, "Mounts", out);
        struct json_object *binds = jget(hc, "Binds");
        int r = 0;
        for (size_t i = 0; binds && r >= 0 && i < json_object_array_length(binds); i++) {
                _cleanup_free_ char *b =
                    xstrdup(json_object_get_string(json_object_array_get_idx(binds, i)));
                char *dst = strchr(b, ':');
                if (!dst)
                        continue;
                *dst++ = '\0';
                char *mode = strchr(dst, ':');
                if (mode)
                        *mode++ = '\0';
                bool rw = !mode || !strstr(mode, "ro");
                if (b[0] == '/')
                        json_object_array_add(out, mount_point("bind", NULL, b, dst,
                                                               mode ? mode : "", rw, "rprivate"));
                else
                        r = use_volume(e, b, NULL, dst, mode ? mode : "z", rw, out, err);
        }
        struct json_object *anon = jget(cfg, "Volumes");
        if (anon && json_object_is_type(anon, json_type_object)) {
                json_object_object_foreach(anon, dst, unused)
                {
                        (void)unused;
                        if (r >= 0)
                                r = use_volume(e, NULL, NULL, dst, "", true, out, err);
                }
        }
        struct json_object *hm = jget(hc, "Mounts");
        for (size_t i = 0; hm && r >= 0 && i < json_object_array_length(hm); i++) {
                struct json_object *m = json_object_array_get_idx(hm, i);
                const char *type = jstr(m, "Type"), *dst = jstr(m, "Target");
                bool rw = !json_object_get_boolean(jget(m, "ReadOnly"));
                if (!strcmp(type, "volume")) {
                        struct json_object *lab = jget(jget(m, "VolumeOptions"), "Labels");
                        _cleanup_strv_ char **labels = NULL;
                        if (lab) {
                                json_object_object_foreach(lab, k, v) labels = strv_push(
                                    labels, xasprintf("%s=%s", k, json_object_get_string(v)));
                        }
                        r = use_volume(e, jstr(m, "Source"), labels, dst, "z", rw, out, err);
                } else if (!strcmp(type, "bind")) {
                        const char *p = jstr(jget(m, "BindOptions"), "Propagation");
                        json_object_array_add(out, mount_point("bind", NULL, jstr(m, "Source"), dst,
                                                               "", rw, p ? p : "rprivate"));
                } else {
                        json_object_array_add(out, mount_point("tmpfs", NULL, "", dst, "", rw, ""));
                }
        }
        if (r < 0) {
                /* Undo the anonymous volumes made so far. */
                struct error ign = {0};
                volume_remove_anonymous(e, json_compact(doc), &ign);
                error_clear(&ign);
        }
        return r;
}

int volume_remove_anonymous(struct engine *e, const char *config, struct error *err)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r = json_parse_string("config", config, &doc, err);
        if (r < 0)
                return r;
        struct json_object *ms = jget(doc, "Mounts");
        int first = 0;
        for (size_t i = 0; ms && i < json_object_array_length(ms); i++) {
                struct json_object *m = json_object_array_get_idx(ms, i);
                const char *name = jstr(m, "Name");
                if (!name || strcmp(jstr(m, "Type"), "volume") != 0)
                        continue;
                struct volume v = {0};
                struct error ign = {0};
                if (volume_get(e, name, &v, &ign) < 0) {
                        error_clear(&ign);
                        continue;
                }
                bool anon = v.anonymous;
                volume_free(&v);
                if (!anon)
                        continue;
                r = remove_locked(e, name, true, first ? &ign : err);
                if (r < 0 && !first)
                        first = r;
                error_clear(&ign);
        }
        return first;
}

/* ------------------------------------------------------------ at start */

static int copy_meta(int dfd, const char *name, const struct stat *st, bool is_link,
                     const struct volume_owner *own)
{
        if (fchownat(dfd, name, own ? own->uid : st->st_uid, own ? own->gid : st->st_gid,
                     AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!is_link && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
                return -errno;
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static int copy_file(int sfd, const char *sname, int dfd, const char *name, const struct stat *st)
{
        _cleanup_close_ int in = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return -errno;
        _cleanup_close_ int out =
            openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                if (write_all(out, buf, (size_t)n) < 0)
                        return -errno;
        }
        (void)st;
        return 0;
}

int volume_copy_entry(int sfd, const char *sname, int dfd, const char *name,
                      const struct volume_owner *own)
{
        struct stat st;
        if (fstatat(sfd, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        int r = 0;
        bool link = false;
        if (S_ISDIR(st.st_mode)) {
                if (mkdirat(dfd, name, 0700) < 0)
                        return -errno;
                _cleanup_close_ int s2 =
                    openat(sfd, sname, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int d2 =
                    openat(dfd, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (s2 < 0 || d2 < 0)
                        return -errno;
                if ((r = volume_copy_tree(s2, d2, own)) < 0)
                        return r;
        } else if (S_ISREG(st.st_mode)) {
                r = copy_file(sfd, sname, dfd, name, &st);
        } else if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(sfd, sname, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                link = true;
                if (symlinkat(target, dfd, name) < 0)
                        return -errno;
        } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0)
                        return -errno;
        } else {
                return 0; /* sockets: nothing to copy */
        }
        if (r < 0)
                return r;
        return copy_meta(dfd, name, &st, link, own);
}

/* Copies what is in directory sfd into directory dfd; fd-based, never
 * following a symlink of the source. */
int volume_copy_tree(int sfd, int dfd, const struct volume_owner *own)
{
        int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        DIR *d = fdopendir(dup_fd);
        if (!d) {
                close(dup_fd);
                return -errno;
        }
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                r = volume_copy_entry(sfd, de->d_name, dfd, de->d_name, own);
        }
        closedir(d);
        return r;
}

static bool dir_is_empty(int fd)
{
        int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return false;
        DIR *d = fdopendir(dup_fd);
        if (!d) {
                close(dup_fd);
                return false;
        }
        bool empty = true;
        struct dirent *de;
        while (empty && (de = readdir(d)))
                empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
        closedir(d);
        return empty;
}

/* Docker's copy-up: an empty volume mounted over a directory of the image
 * gets that directory's content, ownership and mode. */
static int prefill(int rootfd, const char *dst, const char *data, struct error *err)
{
        _cleanup_close_ int dfd = open(data, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "volume directory '%s'", data);
        if (!dir_is_empty(dfd))
                return 0;
        int sfd = -1;
        int r = safe_open(rootfd, dst, O_DIRECTORY | O_RDONLY, 0, &sfd);
        if (r < 0)
                return 0; /* nothing (or no directory) there in the image */
        _cleanup_close_ int sfd_c = sfd;
        struct stat st;
        if (fstat(sfd, &st) < 0)
                return error_sys(err, -errno, "stat '%s' in the container", dst);
        if ((r = volume_copy_tree(sfd, dfd, NULL)) < 0)
                return error_sys(err, r, "copy '%s' of the image into volume '%s'", dst, data);
        if (fchown(dfd, st.st_uid, st.st_gid) < 0 || fchmod(dfd, st.st_mode & 07777) < 0)
                return error_sys(err, -errno, "volume directory '%s'", data);
        return 0;
}

static struct json_object *oci_mount(const char *dst, const char *type, const char *src,
                                     struct json_object *opts)
{
        struct json_object *m = json_object_new_object();
        add(m, "destination", json_object_new_string(dst));
        add(m, "type", json_object_new_string(type));
        add(m, "source", json_object_new_string(src));
        add(m, "options", opts);
        return m;
}

static struct json_object *bind_opts(bool ro, const char *prop)
{
        struct json_object *o = json_object_new_array();
        json_object_array_add(o, json_object_new_string("rbind"));
        json_object_array_add(o, json_object_new_string(prop && *prop ? prop : "rprivate"));
        if (ro)
                json_object_array_add(o, json_object_new_string("ro"));
        return o;
}

int volume_oci_mounts(struct json_object *doc, int rootfd, struct json_object *mounts,
                      struct error *err)
{
        struct json_object *ms = jget(doc, "Mounts");
        struct json_object *hm = jget(jget(doc, "HostConfig"), "Mounts");
        for (size_t i = 0; ms && i < json_object_array_length(ms); i++) {
                struct json_object *m = json_object_array_get_idx(ms, i);
                if (strcmp(jstr(m, "Type"), "volume") != 0)
                        continue;
                const char *src = jstr(m, "Source"), *dst = jstr(m, "Destination");
                const char *mode = jstr(m, "Mode");
                bool nocopy = mode && strstr(mode, "nocopy");
                for (size_t j = 0; hm && j < json_object_array_length(hm); j++) {
                        struct json_object *h = json_object_array_get_idx(hm, j);
                        if (!strcmp(jstr(h, "Target"), dst) &&
                            json_object_get_boolean(jget(jget(h, "VolumeOptions"), "NoCopy")))
                                nocopy = true;
                }
                if (access(src, F_OK) < 0)
                        return error_sys(err, -errno, "volume '%s' (for %s) is gone",
                                         jstr(m, "Name"), dst);
                if (!nocopy) {
                        int r = prefill(rootfd, dst, src, err);
                        if (r < 0)
                                return r;
                }
                bool ro = !json_object_get_boolean(jget(m, "RW"));
                json_object_array_add(mounts, oci_mount(dst, "bind", src, bind_opts(ro, NULL)));
        }
        for (size_t j = 0; hm && j < json_object_array_length(hm); j++) {
                struct json_object *h = json_object_array_get_idx(hm, j);
                const char *type = jstr(h, "Type"), *dst = jstr(h, "Target");
                bool ro = json_object_get_boolean(jget(h, "ReadOnly"));
                if (!strcmp(type, "bind")) {
                        const char *p = jstr(jget(h, "BindOptions"), "Propagation");
                        _cleanup_free_ char *rp = p && p[0] != 'r' ? xasprintf("r%s", p) : NULL;
                        json_object_array_add(mounts, oci_mount(dst, "bind", jstr(h, "Source"),
                                                                bind_opts(ro, rp ? rp : p)));
                } else if (!strcmp(type, "tmpfs")) {
                        struct json_object *o = json_object_new_array();
                        static const char *const defaults[] = {"nosuid", "nodev", "noexec"};
                        for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
                                json_object_array_add(o, json_object_new_string(defaults[i]));
                        struct json_object *to = jget(h, "TmpfsOptions");
                        if (jget(to, "SizeBytes")) {
                                _cleanup_free_ char *t = xasprintf(
                                    "size=%lld",
                                    (long long)json_object_get_int64(jget(to, "SizeBytes")));
                                json_object_array_add(o, json_object_new_string(t));
                        }
                        if (jget(to, "Mode")) {
                                _cleanup_free_ char *t = xasprintf(
                                    "mode=%llo",
                                    (unsigned long long)json_object_get_int64(jget(to, "Mode")));
                                json_object_array_add(o, json_object_new_string(t));
                        }
                        if (ro)
                                json_object_array_add(o, json_object_new_string("ro"));
                        json_object_array_add(mounts, oci_mount(dst, "tmpfs", "tmpfs", o));
                }
        }
        return 0;
}
