/* A container's root: an overlay of an image's layers plus an upper dir.
 *
 * snapshot_mount() joins the unpacked layers of a chain (chain IDs, bottom
 * first) under upper/work at target. One overlay mount takes a limited
 * number of lower dirs (the option string must fit in a page; the kernel
 * stacks at most 500): when the chain is longer, the bottom of it is merged
 * once into a flattened directory (hardlinks, whiteouts applied), cached in
 * the store by chain ID and used as the lowest lower dir.
 *
 * Every step goes through core/sys.h, so --explain shows it as
 *   cd /var/lib/husk/image/layers
 *   mount -t overlay overlay -o lowerdir=HEX/diff:...,upperdir=...,workdir=... TARGET
 */
#pragma once
#include "core/error.h"
#include "image/store.h"

struct snapshot_opts {
        unsigned max_lowers; /* lower dirs per mount, 0 = as many as fit */
        /* speed: overlay's "volatile": no sync of the upper dir, on unmount
         * either, for a container whose upper dir is thrown away (--rm). */
        bool volatile_upper;
};

int snapshot_mount(struct store *s, char *const *layers, const char *upper, const char *work,
                   const char *target, const struct snapshot_opts *o, struct error *err);
int snapshot_unmount(const char *target, struct error *err);

/* Merges the layers (bottom first) into the directory destfd (empty). */
int snapshot_flatten(struct store *s, char *const *layers, size_t n, int destfd, struct error *err);
