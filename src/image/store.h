/* The image store: content-addressed blobs, unpacked layers, metadata DB.
 *
 *   ROOT/husk.db                       SQLite metadata (core/db.h)
 *   ROOT/image/blobs/sha256/HEX        blobs, named by the digest of their bytes
 *   ROOT/image/layers/HEX/diff         unpacked layer, HEX = its chain ID
 *   ROOT/image/layers/HEX/info.json    diffID and sizes of that layer
 *   ROOT/image/tmp/                    unpacks in progress (a crash leaves them; gc removes)
 *   ROOT/image/lock                    flock: shared while adding content, exclusive for gc
 *
 * Blobs are verified (digest and size) while they are written, and become
 * visible only by an atomic link of an O_TMPFILE: no partial blob is ever
 * found under its name. A digest is the only way to name a blob; paths
 * from users or archives never are.
 *
 * Operations that add content remember what they created; on failure
 * store_discard_created() removes it again (if nothing else took it up),
 * so a failed import/load leaves nothing behind.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cleanup.h"
#include "core/db.h"
#include "core/digest.h"
#include "core/error.h"
#include "image/layer.h"

struct store {
        char *root;
        int rootfd, imagefd, blobsfd, layersfd, tmpfd, lockfd;
        int lock_state; /* 0, LOCK_SH or LOCK_EX */
        struct db *db;
        char **created_blobs;
        char **created_layers;
};

int store_open(const char *root, struct store **ret, struct error *err);
void store_close(struct store *s);
DEFINE_FREEP(struct store, store_close)
#define _cleanup_store_ _cleanup_(store_closep)

/* Shared: adding content. Exclusive: garbage collection. */
int store_lock(struct store *s, bool exclusive, struct error *err);
void store_unlock(struct store *s);
/* After a failed operation: removes blobs and layers it created that no image uses. */
void store_discard_created(struct store *s);
void store_forget_created(struct store *s);

struct blob_writer {
        struct store *s;
        int fd;
        struct digester d;
        uint64_t size;
};
int blob_writer_begin(struct store *s, struct blob_writer *w, struct error *err);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct error *err);
/* Checks digest (expect, when not NULL) and size (expect_size >= 0), then
 * links the blob in. out (may be NULL) gets its digest. Ends the writer. */
int blob_writer_commit(struct blob_writer *w, const char *expect, int64_t expect_size,
                       char out[DIGEST_STR_MAX], struct error *err);
void blob_writer_abort(struct blob_writer *w);
/* Links the blob in under digest, which the caller computed over exactly the
 * bytes it wrote to w->fd itself (not through blob_writer_write). Ends the writer. */
int blob_writer_commit_known(struct blob_writer *w, const char *digest, struct error *err);

int blob_put(struct store *s, const void *buf, size_t len, char out[DIGEST_STR_MAX],
             struct error *err);
/* Copies a stream in, reading until EOF or, when size >= 0, exactly size bytes. */
int blob_put_fd(struct store *s, int fd, const char *expect, int64_t size, char out[DIGEST_STR_MAX],
                struct error *err);
bool blob_exists(struct store *s, const char *digest);
int blob_open(struct store *s, const char *digest, int *ret_fd, struct error *err);
/* Reads a small blob (at most max bytes) and checks its digest. */
int blob_read(struct store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
              struct error *err);

/* Makes sure the layer with this diffID on top of parent_chain (NULL for the
 * first) is unpacked, unpacking blob if not. ret_chain gets its chain ID,
 * st its sizes. */
int store_layer_ensure(struct store *s, const char *parent_chain, const char *blob,
                       const char *diff_id, char ret_chain[DIGEST_STR_MAX], struct layer_stats *st,
                       struct error *err);
/* An import: unpacks the layer stream on fd (plain or compressed) as a
 * first layer and keeps its uncompressed tar as a blob, both in one pass
 * over the data. ret_diff gets its diffID, which is also the blob's digest
 * and the layer's chain ID; what names the input in errors. */
int store_layer_import(struct store *s, int fd, const char *what, char ret_diff[DIGEST_STR_MAX],
                       struct layer_stats *st, struct error *err);
/* "ROOT/image/layers/HEX/diff" */
char *store_layer_dir(struct store *s, const char *chain_id);
int store_layer_open(struct store *s, const char *chain_id, int *ret_fd, struct error *err);

struct gc_stats {
        uint64_t blobs, layers, bytes;
};
/* Removes blobs and layers no image references, and stale temp dirs. */
int store_gc(struct store *s, struct gc_stats *ret, struct error *err);
