/* Layer tars -> overlay-ready directories, and back.
 *
 * layer_unpack() reads a layer stream (tar, tar+gzip, tar+zstd) and writes
 * its entries into an empty directory, turning OCI whiteouts into overlayfs
 * ones: ".wh.NAME" becomes a 0:0 character device NAME, ".wh..wh..opq"
 * sets trusted.overlay.opaque=y (user.overlay.opaque when not root) on its
 * directory. The diffID (sha256 of the uncompressed tar) and the digest of
 * the input as read (the blob, compressed or not) are computed while
 * streaming and checked against the expected ones.
 *
 * Every entry is placed relative to the layer directory fd with an fd-based
 * walk that refuses "..", symlinks on the way and hardlinks to anything
 * outside the layer; absolute names are taken relative to the layer root.
 * Any bad entry stops the unpack with an error naming the entry; the caller
 * removes the partial directory (the store does).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/digest.h"
#include "core/error.h"

struct layer_unpack_opts {
        const char *expect_diff_id; /* NULL: not checked */
        const char *expect_blob;    /* digest of the input bytes; NULL: not checked */
        uint64_t max_bytes;         /* limit on the uncompressed tar, 0 = none */
        const char *what;           /* names the layer in errors */
        bool tee;                   /* also write the uncompressed tar to tee_fd */
        int tee_fd;
};

struct layer_stats {
        char diff_id[DIGEST_STR_MAX];
        uint64_t size;     /* bytes of regular files written */
        uint64_t tar_size; /* bytes of the uncompressed tar */
        uint64_t entries;
};

int layer_unpack(int fd, int destfd, const struct layer_unpack_opts *o, struct layer_stats *ret,
                 struct error *err);

/* Writes the tree at srcfd (an overlay upper dir) as an uncompressed OCI
 * layer tar to outfd: overlay whiteouts (0:0 char devices) become
 * ".wh.NAME", opaque directories get ".wh..wh..opq". Entries are sorted
 * so the same tree gives the same tar. ret gets the tar's digest (its diffID)
 * and size. */
int layer_diff(int srcfd, int outfd, struct layer_stats *ret, struct error *err);
/* The same, leaving out the empty regular files named in skip_empty
 * ("etc/hosts": paths relative to srcfd), such as the mount points a
 * runtime made in a container's upper dir. */
int layer_diff_skip(int srcfd, int outfd, char *const *skip_empty, struct layer_stats *ret,
                    struct error *err);
