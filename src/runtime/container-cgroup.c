#include "runtime/container-cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup.h"
#include "runtime/resources.h"
#include "runtime/state.h"

static int load(const char *root, const char *id, bool lock, int *ret_rootfd,
                struct container_state **ret, struct error *err)
{
        int r = state_open_root(root, ret_rootfd, err);
        if (r < 0)
                return r;
        return state_load(*ret_rootfd, id, lock, ret, err);
}

static int set_frozen(const char *root, const char *id, bool frozen, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        _cleanup_(state_freep) struct container_state *st = NULL;
        int r = load(root, id, true, &rootfd, &st, err);
        if (r < 0)
                return r;
        enum container_status s = state_status(st);
        if (frozen && s != STATUS_RUNNING)
                return error_msg(err, -EINVAL, "cannot pause container '%s': it is %s", id,
                                 status_name(s));
        if (!frozen && s != STATUS_PAUSED)
                return error_msg(err, -EINVAL, "cannot resume container '%s': it is %s", id,
                                 status_name(s));
        if (!st->cgroup_dirs || !st->cgroup_dirs[0])
                return error_msg(err, -EOPNOTSUPP,
                                 "cannot %s container '%s': it has no cgroup of its own (it was "
                                 "created unprivileged where cgroups are not delegated), and "
                                 "pausing needs the freezer cgroup",
                                 frozen ? "pause" : "resume", id);
        r = cgroup_freeze(st->cgroup_dirs, frozen, err);
        if (r < 0)
                return error_wrap(err, r, "%s container '%s'", frozen ? "pause" : "resume", id);
        return 0;
}

int container_pause(const char *root, const char *id, struct error *err)
{
        return set_frozen(root, id, true, err);
}

int container_resume(const char *root, const char *id, struct error *err)
{
        return set_frozen(root, id, false, err);
}

/* Merges src into dst: objects key by key, everything else replaced. */
static void merge(struct json_object *dst, struct json_object *src)
{
        json_object_object_foreach(src, k, v)
        {
                struct json_object *d = NULL;
                if (json_object_object_get_ex(dst, k, &d) &&
                    json_object_is_type(d, json_type_object) &&
                    json_object_is_type(v, json_type_object)) {
                        merge(d, v);
                        continue;
                }
                struct json_object *copy = NULL;
                json_object_deep_copy(v, &copy, NULL);
                json_object_object_add(dst, k, copy);
        }
}

static unsigned groups_of(struct json_object *res)
{
        static const struct {
                const char *key;
                unsigned bit;
        } map[] = {
            {"memory", RES_MEMORY},
            {"cpu", RES_CPU},
            {"pids", RES_PIDS},
            {"blockIO", RES_BLKIO},
            {"hugepageLimits", RES_HUGETLB},
            {"network", RES_NETWORK},
            {"devices", RES_DEVICES},
            {"rdma", RES_RDMA},
            {"unified", RES_UNIFIED},
        };
        unsigned w = 0;
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (json_object_object_get_ex(res, map[i].key, NULL))
                        w |= map[i].bit;
        return w;
}

int container_update(const char *root, const char *id, struct json_object *res,
                     char ***ret_warnings, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        _cleanup_(state_freep) struct container_state *st = NULL;
        int r = load(root, id, true, &rootfd, &st, err);
        if (r < 0)
                return r;
        enum container_status s = state_status(st);
        if (s == STATUS_STOPPED)
                return error_msg(err, -EINVAL, "cannot update container '%s': it has stopped", id);
        /* Check the new values alone first, so errors name the given field. */
        _cleanup_(resources_freep) struct resources *given = NULL;
        if ((r = resources_parse(res, "resources", &given, err)) < 0)
                return r;
        _cleanup_free_ char *text = NULL;
        if ((r = read_file_at(st->dirfd, "config.json", 0, &text, NULL)) < 0)
                return error_sys(err, r, "read the config of '%s'", id);
        _cleanup_json_ struct json_object *cfg = NULL;
        if ((r = json_parse_string("config.json", text, &cfg, err)) < 0)
                return r;
        struct json_object *linux_ = NULL, *cur = NULL;
        if (!json_object_object_get_ex(cfg, "linux", &linux_) ||
            !json_object_is_type(linux_, json_type_object)) {
                linux_ = json_object_new_object();
                json_object_object_add(cfg, "linux", linux_);
        }
        if (!json_object_object_get_ex(linux_, "resources", &cur) ||
            !json_object_is_type(cur, json_type_object)) {
                cur = json_object_new_object();
                json_object_object_add(linux_, "resources", cur);
        }
        merge(cur, res);
        _cleanup_(resources_freep) struct resources *merged = NULL;
        if ((r = resources_parse(cur, "resources", &merged, err)) < 0)
                return r;
        struct res_apply_opts o = {
            .what = groups_of(res),
            .update = true,
            .path = "resources",
            .unavailable = st->rootless ? CGROUP_ROOTLESS_UNAVAILABLE : NULL,
        };
        r = resources_apply(st->cgroup_dirs, merged, &o, err);
        if (ret_warnings)
                *ret_warnings = o.warnings;
        else
                strv_free(o.warnings);
        if (r < 0)
                return error_wrap(err, r, "update container '%s'", id);
        const char *out = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
        if ((r = write_file_atomic(st->dirfd, "config.json", out, strlen(out), 0600)) < 0)
                return error_sys(err, r, "save the updated config of '%s'", id);
        return 0;
}

int container_stats(const char *root, const char *id, struct json_object **ret, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        _cleanup_(state_freep) struct container_state *st = NULL;
        int r = load(root, id, false, &rootfd, &st, err);
        if (r < 0)
                return r;
        if (state_status(st) == STATUS_STOPPED)
                return error_msg(err, -EINVAL, "container '%s' is not running", id);
        *ret = cgroup_stats(st->cgroup_dirs);
        return 0;
}

static struct json_object *event(const char *type, const char *id, struct json_object *data)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(o, "id", json_object_new_string(id));
        if (data)
                json_object_object_add(o, "data", data);
        return o;
}

static int emit_one(int (*emit)(struct json_object *, void *), void *opaque, struct json_object *ev)
{
        int r = emit(ev, opaque);
        json_object_put(ev);
        return r;
}

int container_events(const char *root, const char *id, int interval_ms,
                     int (*emit)(struct json_object *ev, void *opaque), void *opaque,
                     struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        _cleanup_(state_freep) struct container_state *st = NULL;
        int r = load(root, id, false, &rootfd, &st, err);
        if (r < 0)
                return r;
        if (state_status(st) == STATUS_STOPPED)
                return error_msg(err, -EINVAL, "container '%s' is not running", id);
        struct oom_watch w;
        struct error e = {0};
        bool watching = cgroup_oom_watch(st->cgroup_dirs, &w, &e) == 0;
        int64_t next = now_ms() + interval_ms;
        r = 0;
        while (r >= 0) {
                int64_t left = next - now_ms();
                if (left <= 0) {
                        if (state_status(st) == STATUS_STOPPED)
                                break;
                        r = emit_one(emit, opaque,
                                     event("stats", id, cgroup_stats(st->cgroup_dirs)));
                        next = now_ms() + interval_ms;
                        continue;
                }
                /* Wake at least every 100 ms to notice the container stopping. */
                struct pollfd p = {.fd = watching ? w.fd : -1, .events = POLLIN};
                int n = poll(&p, 1, left < 100 ? (int)left : 100);
                if (n < 0 && errno != EINTR) {
                        r = error_sys(err, -errno, "poll");
                        break;
                }
                if (watching) {
                        int k = cgroup_oom_check(&w);
                        for (int i = 0; i < k && r >= 0; i++)
                                r = emit_one(emit, opaque, event("oom", id, NULL));
                        if (k == -ENOENT)
                                break;
                }
                if (state_status(st) == STATUS_STOPPED)
                        break;
        }
        if (watching)
                cgroup_oom_unwatch(&w);
        return r < 0 ? r : 0;
}
