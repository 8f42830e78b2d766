#include "runtime/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "runtime/resources.h"

#define OCI_VERSION "1.2.0"

const char *status_name(enum container_status s)
{
        switch (s) {
        case STATUS_CREATING:
                return "creating";
        case STATUS_CREATED:
                return "created";
        case STATUS_RUNNING:
                return "running";
        case STATUS_PAUSED:
                return "paused";
        case STATUS_STOPPED:
                return "stopped";
        }
        return "unknown";
}

int state_check_id(const char *id, struct error *err)
{
        if (!id || !*id)
                return error_msg(err, -EINVAL, "container id must not be empty");
        if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 1024)
                return error_msg(err, -EINVAL, "invalid container id '%s'", id);
        for (const char *p = id; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-",
                            *p))
                        return error_msg(err, -EINVAL,
                                         "invalid container id '%s': only letters, digits and "
                                         "'_+.-' are allowed",
                                         id);
        return 0;
}

int state_open_root(const char *root, int *ret_fd, struct error *err)
{
        int fd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                /* mkdir -p: the parent may be missing too (e.g. $XDG_RUNTIME_DIR/husk-runtime). */
                char buf[4096];
                snprintf(buf, sizeof(buf), "%s", root);
                for (char *p = buf + 1; *p; p++)
                        if (*p == '/') {
                                *p = '\0';
                                mkdir(buf, 0700);
                                *p = '/';
                        }
                if (mkdir(root, 0700) < 0 && errno != EEXIST)
                        return error_sys(err, -errno, "create state root '%s'", root);
                fd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0)
                return error_sys(err, -errno, "open state root '%s'", root);
        *ret_fd = fd;
        return 0;
}

int state_create_dir(int rootfd, const char *id, int *ret_dirfd, struct error *err)
{
        if (mkdirat(rootfd, id, 0711) < 0) {
                if (errno == EEXIST)
                        return error_msg(err, -EEXIST, "container '%s' already exists", id);
                return error_sys(err, -errno, "create state directory for '%s'", id);
        }
        int fd = openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                int r = -errno;
                unlinkat(rootfd, id, AT_REMOVEDIR);
                return error_sys(err, r, "open state directory for '%s'", id);
        }
        flock(fd, LOCK_EX);
        *ret_dirfd = fd;
        return 0;
}

int state_remove_dir(int rootfd, const char *id)
{
        _cleanup_close_ int fd =
            openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        DIR *d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF; /* owned by d now */
        struct dirent *e;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        return unlinkat(rootfd, id, AT_REMOVEDIR) < 0 ? -errno : 0;
}

void state_free(struct container_state *st)
{
        if (!st)
                return;
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        free(st->owner);
        strv_free(st->cgroup_dirs);
        for (size_t i = 0; i < st->n_annotations; i++) {
                free(st->annotations[i].key);
                free(st->annotations[i].value);
        }
        free(st->annotations);
        if (st->dirfd >= 0)
                close(st->dirfd);
        free(st);
}

int state_load(int rootfd, const char *id, bool lock, struct container_state **ret,
               struct error *err)
{
        int r = state_check_id(id, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = xzalloc(sizeof(*st));
        st->dirfd = openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (st->dirfd < 0) {
                if (errno == ENOENT)
                        return error_msg(err, -ENOENT, "container '%s' does not exist", id);
                return error_sys(err, -errno, "open state of '%s'", id);
        }
        if (lock)
                flock(st->dirfd, LOCK_EX);
        _cleanup_free_ char *text = NULL;
        r = read_file_at(st->dirfd, "state.json", 0, &text, NULL);
        if (r == -ENOENT)
                /* Deleted while we waited for the lock, or still being created. */
                return error_msg(err, -ENOENT, "container '%s' does not exist", id);
        if (r < 0)
                return error_sys(err, r, "read state of '%s'", id);
        _cleanup_json_ struct json_object *o = NULL;
        r = json_parse_string("state.json", text, &o, err);
        if (r < 0)
                return r;
        int64_t pid = 0;
        uint64_t stime = 0;
        if (jget_str(o, "", "id", &st->id, err) < 0 || jget_i64(o, "", "pid", &pid, err) < 0 ||
            jget_u64(o, "", "start_time", &stime, err) < 0 ||
            jget_str(o, "", "bundle", &st->bundle, err) < 0 ||
            jget_str(o, "", "rootfs", &st->rootfs, err) < 0 ||
            jget_str(o, "", "created", &st->created, err) < 0 ||
            jget_str(o, "", "owner", &st->owner, err) < 0 ||
            jget_strv(o, "", "cgroup_dirs", &st->cgroup_dirs, err) < 0 ||
            jget_bool(o, "", "rootless", &st->rootless, err) < 0)
                return error_wrap(err, -EINVAL, "state of '%s' is corrupt", id);
        st->pid = (pid_t)pid;
        st->start_time = stime;
        struct json_object *ann = NULL;
        if (jget_obj(o, "", "annotations", &ann, err) > 0) {
                st->n_annotations = json_object_object_length(ann);
                st->annotations = xzalloc(st->n_annotations * sizeof(struct spec_kv) + 1);
                size_t i = 0;
                json_object_object_foreach(ann, k, v)
                {
                        st->annotations[i].key = xstrdup(k);
                        st->annotations[i].value = xstrdup(json_object_get_string(v));
                        i++;
                }
        }
        if (!st->id)
                st->id = xstrdup(id);
        *ret = TAKE_PTR(st);
        return 0;
}

int state_save(const struct container_state *st, struct error *err)
{
        _cleanup_json_ struct json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(st->id));
        json_object_object_add(o, "pid", json_object_new_int64(st->pid));
        json_object_object_add(o, "start_time", json_object_new_uint64(st->start_time));
        json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
        json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
        json_object_object_add(o, "created", json_object_new_string(st->created));
        json_object_object_add(o, "owner", json_object_new_string(st->owner ? st->owner : ""));
        json_object_object_add(o, "rootless", json_object_new_boolean(st->rootless));
        struct json_object *cg = json_object_new_array();
        for (size_t i = 0; st->cgroup_dirs && st->cgroup_dirs[i]; i++)
                json_object_array_add(cg, json_object_new_string(st->cgroup_dirs[i]));
        json_object_object_add(o, "cgroup_dirs", cg);
        if (st->n_annotations) {
                struct json_object *a = json_object_new_object();
                for (size_t i = 0; i < st->n_annotations; i++)
                        json_object_object_add(a, st->annotations[i].key,
                                               json_object_new_string(st->annotations[i].value));
                json_object_object_add(o, "annotations", a);
        }
        const char *text = json_compact(o);
        int r = write_file_atomic(st->dirfd, "state.json", text, strlen(text), 0600);
        if (r < 0)
                return error_sys(err, r, "write state of '%s'", st->id);
        return 0;
}

uint64_t proc_start_time(pid_t pid)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        /* The comm field may hold spaces and parentheses: fields start after the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return 0;
        p += 2;
        if (*p == 'Z' || *p == 'X')
                return 0;
        /* Field 3 is the state; start time is field 22. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return 0;
                p++;
        }
        return strtoull(p, NULL, 10);
}

enum container_status state_status(const struct container_state *st)
{
        if (st->pid <= 0)
                return STATUS_STOPPED;
        uint64_t t = proc_start_time(st->pid);
        if (t == 0 || t != st->start_time)
                return STATUS_STOPPED;
        if (faccessat(st->dirfd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return STATUS_CREATED;
        /* A frozen cgroup means paused (the freezer belongs to the resources work). */
        if (cgroup_frozen(st->cgroup_dirs) > 0)
                return STATUS_PAUSED;
        return STATUS_RUNNING;
}

struct json_object *state_to_oci(const struct container_state *st, enum container_status s)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "ociVersion", json_object_new_string(OCI_VERSION));
        json_object_object_add(o, "id", json_object_new_string(st->id));
        json_object_object_add(o, "pid", json_object_new_int(s == STATUS_STOPPED ? 0 : st->pid));
        json_object_object_add(o, "status", json_object_new_string(status_name(s)));
        json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
        json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
        json_object_object_add(o, "created", json_object_new_string(st->created));
        json_object_object_add(o, "owner", json_object_new_string(st->owner ? st->owner : ""));
        if (st->n_annotations) {
                struct json_object *a = json_object_new_object();
                for (size_t i = 0; i < st->n_annotations; i++)
                        json_object_object_add(a, st->annotations[i].key,
                                               json_object_new_string(st->annotations[i].value));
                json_object_object_add(o, "annotations", a);
        }
        return o;
}

char *now_rfc3339(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char b[64];
        strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", b, ts.tv_nsec);
}

int state_load_config(const struct container_state *st, struct spec **ret, struct error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(st->dirfd, "config.json", 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "read the config of '%s'", st->id);
        return spec_parse(text, "config.json", ret, err);
}
