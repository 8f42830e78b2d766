/* ps: whether running containers are paused, for many of them in a row.
 *
 * Paused is what the runtime's pause wrote: the container's freezer cgroup
 * (runtime/cgroup-stats.c: the v1 hierarchy holding the freezer, else the v2
 * cgroup.freeze) is frozen. Its directory is in the runtime's state.json, but
 * reading and parsing that for each row of `ps` cost ~30 us a container.
 * Every container the engine makes has the cgroup leaf "husk-ID"
 * (ctr-config.c: cgroupsPath), so once one container's freezer directory is
 * known, the others' are very likely its siblings: a freezer file in
 * PARENT/husk-ID can only be that container's (the id is unique, and the
 * file exists only in a freezer hierarchy). When the guess finds no such
 * directory, the state.json is read as before.
 */
#include "engine/ctr-paused.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "runtime/state.h"

struct ctr_freezer {
        char *parent;     /* the directory the last freezer cgroup found was in */
        const char *file; /* its freezer file: "freezer.state" (v1) or "cgroup.freeze" (v2) */
};

static const char *const freezer_files[] = {"freezer.state", "cgroup.freeze"};

/* 1 frozen, 0 not (or FREEZING), -errno when path can't be read. */
static int read_frozen(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        char buf[32];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        int r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        buf[n] = '\0';
        if (str_endswith(path, "/cgroup.freeze"))
                return buf[0] == '1';
        return strncmp(buf, "FROZEN", 6) == 0;
}

/* The freezer of the dirs in state.json: v1 first, as the runtime's pause. */
static int frozen_from_state(struct engine *e, const struct ctr *c, struct ctr_freezer *f)
{
        _cleanup_(state_freep) struct container_state *st = NULL;
        struct error ign = {0};
        int r = e->rt_rootfd >= 0 ? 0 : state_open_root(e->rt_root, &e->rt_rootfd, &ign);
        if (r == 0)
                r = state_load(e->rt_rootfd, c->id, false, &st, &ign);
        error_clear(&ign);
        if (r < 0 || st->pid <= 0)
                return 0;
        _cleanup_free_ char *leaf = xasprintf("husk-%s", c->id);
        for (size_t k = 0; k < ARRAY_SIZE(freezer_files); k++)
                for (char **d = st->cgroup_dirs; d && *d; d++) {
                        _cleanup_free_ char *path = xasprintf("%s/%s", *d, freezer_files[k]);
                        r = read_frozen(path);
                        if (r < 0)
                                continue;
                        const char *slash = strrchr(*d, '/');
                        if (slash && slash != *d && strcmp(slash + 1, leaf) == 0) {
                                free(f->parent);
                                f->parent = xstrndup(*d, (size_t)(slash - *d));
                                f->file = freezer_files[k];
                        }
                        return r;
                }
        return 0;
}

bool ctr_paused(struct engine *e, const struct ctr *c)
{
        if (c->pid <= 0) /* monitor2: between restarts */
                return false;
        if (!e->freezer)
                e->freezer = xzalloc(sizeof(*e->freezer));
        struct ctr_freezer *f = e->freezer;
        if (f->parent) {
                char path[4096];
                int n = snprintf(path, sizeof(path), "%s/husk-%s/%s", f->parent, c->id, f->file);
                int r = n > 0 && (size_t)n < sizeof(path) ? read_frozen(path) : -ENAMETOOLONG;
                if (r >= 0)
                        return r > 0;
        }
        return frozen_from_state(e, c, f) > 0;
}

void ctr_freezer_free(struct ctr_freezer *f)
{
        if (!f)
                return;
        free(f->parent);
        free(f);
}
