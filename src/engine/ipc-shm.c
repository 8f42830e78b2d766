/* /dev/shm per IPC mode (see ipc-shm.h). */
#include "engine/ipc-shm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "engine/ctr-store.h"

static char *shm_dir(struct engine *e, const char *id)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, id);
        return xasprintf("%s/shm", dir);
}

static bool is_mountpoint(const char *path)
{
        struct stat a, b;
        _cleanup_free_ char *parent = xasprintf("%s/..", path);
        return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static struct json_object *shm_mount(struct json_object *spec, size_t *ret_idx)
{
        struct json_object *mounts;
        if (!json_object_object_get_ex(spec, "mounts", &mounts))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                struct json_object *m = json_object_array_get_idx(mounts, i), *d;
                if (json_object_object_get_ex(m, "destination", &d) &&
                    !strcmp(json_object_get_string(d), "/dev/shm")) {
                        *ret_idx = i;
                        return m;
                }
        }
        return NULL;
}

static void make_bind(struct json_object *m, const char *source)
{
        json_object_object_add(m, "type", json_object_new_string("bind"));
        json_object_object_add(m, "source", json_object_new_string(source));
        struct json_object *o = json_object_new_array();
        const char *opts[] = {"rbind", "rprivate", "nosuid", "noexec", "nodev"};
        for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
                json_object_array_add(o, json_object_new_string(opts[i]));
        json_object_object_add(m, "options", o);
}

/* The tmpfs of a shareable container, with the size its spec asks for. */
static int mount_shareable(struct engine *e, const char *id, struct json_object *m,
                           struct error *err)
{
        const char *size = "size=65536k";
        struct json_object *opts;
        if (json_object_object_get_ex(m, "options", &opts))
                for (size_t i = 0; i < json_object_array_length(opts); i++) {
                        const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
                        if (str_startswith(o, "size="))
                                size = o;
                }
        _cleanup_free_ char *dir = shm_dir(e, id);
        /* A monitor killed with it mounted: start from a clean mount point. */
        umount2(dir, MNT_DETACH);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return error_sys(err, -errno, "--ipc shareable: create '%s'", dir);
        _cleanup_free_ char *data = xasprintf("mode=1777,%s", size);
        explain("mount -t tmpfs -o nosuid,nodev,noexec,%s shm %s", data, shq(dir));
        if (mount("shm", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0)
                return error_sys(err, -errno, "--ipc shareable: mount a tmpfs on '%s'", dir);
        make_bind(m, dir);
        return 0;
}

/* X's /dev/shm for container:X: its host-side tmpfs, or the host's for --ipc host. */
static int bind_other(struct engine *e, const char *mode, struct json_object *m, struct error *err)
{
        struct ctr x = {0};
        int r = engine_lookup(e, mode + 10, &x, err);
        if (r < 0)
                return error_wrap(err, r, "--ipc '%s'", mode);
        _cleanup_json_ struct json_object *doc = NULL;
        struct json_object *hc, *v;
        const char *xmode = "";
        if (json_parse_string("config", x.config, &doc, err) == 0 &&
            json_object_object_get_ex(doc, "HostConfig", &hc) &&
            json_object_object_get_ex(hc, "IpcMode", &v))
                xmode = json_object_get_string(v);
        _cleanup_free_ char *dir = shm_dir(e, x.id);
        _cleanup_free_ char *xname = xstrdup(x.name);
        ctr_free(&x);
        if (!strcmp(xmode, "host")) {
                make_bind(m, "/dev/shm");
                return 0;
        }
        if (strcmp(xmode, "shareable") != 0)
                return error_msg(err, -EINVAL,
                                 "--ipc '%s': container %s has a non-shareable IPC namespace "
                                 "(its --ipc is '%s'; run it with --ipc shareable)",
                                 mode, xname, *xmode ? xmode : "private");
        if (!is_mountpoint(dir))
                return error_msg(err, -EINVAL, "--ipc '%s': container %s is not running", mode,
                                 xname);
        make_bind(m, dir);
        return 0;
}

int ipc_shm_apply(struct engine *e, const char *id, struct json_object *hc,
                  struct json_object *spec, struct error *err)
{
        struct json_object *v;
        const char *mode =
            json_object_object_get_ex(hc, "IpcMode", &v) && v ? json_object_get_string(v) : "";
        size_t idx = 0;
        struct json_object *m = shm_mount(spec, &idx);
        if (!m)
                return 0;
        if (!strcmp(mode, "none")) {
                struct json_object *mounts;
                json_object_object_get_ex(spec, "mounts", &mounts);
                json_object_array_del_idx(mounts, idx, 1);
                return 0;
        }
        if (!strcmp(mode, "shareable"))
                return mount_shareable(e, id, m, err);
        if (str_startswith(mode, "container:"))
                return bind_other(e, mode, m, err);
        return 0;
}

void ipc_shm_release(struct engine *e, const char *id)
{
        _cleanup_free_ char *dir = shm_dir(e, id);
        if (umount2(dir, MNT_DETACH) == 0)
                explain("umount -l %s", shq(dir));
        rmdir(dir);
}
