/* A container's filesystem, turned outward: export (the whole merged tree
 * as a tar), diff (what the container changed) and commit (those changes as
 * a new image layer on top of the container's image).
 *
 * The merged view of a container that does not run (and, for diff, of its
 * image alone) is a read-only overlay made with the new mount API
 * (fsopen/fsconfig "lowerdir+"/fsmount) and never attached anywhere: it is
 * read through its fd and vanishes when the fd is closed, so a crash leaves
 * no mount behind. A running container's own root mount is read instead
 * (its upper dir may not also be a lower dir of a second overlay).
 *
 * The mount points the runtime makes in the upper dir for the engine's
 * bind mounts (/etc/hostname, /etc/hosts: empty files) are no change of the
 * container's: diff and commit leave them out, as Docker's init layer does.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/digest.h"
#include "core/error.h"
#include "engine/engine.h"

/* Writes the container's merged root filesystem to outfd as a tar (no
 * whiteouts; /proc, /sys and other mounts of the container not included). */
int engine_export(struct engine *e, const struct ctr *c, int outfd, struct error *err);

struct ctr_change {
        char kind; /* 'A' added, 'C' changed, 'D' deleted */
        char *path;
};
void ctr_changes_free(struct ctr_change *v, size_t n);
/* The changes in the container's upper dir against its image, sorted by path. */
int engine_diff(struct engine *e, const struct ctr *c, struct ctr_change **ret, size_t *ret_n,
                struct error *err);

struct commit_opts {
        const char *author;   /* NULL: none */
        const char *message;  /* history comment, NULL: none */
        char *const *changes; /* Dockerfile instructions (image/import.h) */
        bool pause;           /* freeze a running container while its layer is read */
        char *const *names;   /* full references, may be NULL */
};
/* Makes a new image: the container image's layers plus one layer of the
 * container's changes, its config, and the changes applied. A failure
 * leaves nothing new in the store. */
int engine_commit(struct engine *e, const struct ctr *c, const struct commit_opts *o,
                  char ret_id[DIGEST_STR_MAX], struct error *err);
