/* Images in the store: registering a stored manifest as an image, names
 * (tags), lookup by name or id, listing and removal.
 *
 * An image's id is its config digest, as in Docker. Names are full
 * normalized references ("docker.io/library/busybox:latest"); a name
 * belongs to one image at a time, and giving it to a new image leaves the
 * old one without it ("dangling" when it had no other).
 */
#pragma once
#include <stdint.h>

#include "image/store.h"

struct image {
        char *id;
        char *manifest_digest;
        char *manifest_type;
        char *top_layer; /* NULL for an image without layers */
        int64_t created, size, added;
        char **names;  /* full references, sorted */
        char **layers; /* chain ids, bottom first */
};
void image_free(struct image *img);
void image_free_array(struct image *imgs, size_t n);

/* Unpacks the layers of the stored manifest and records the image under
 * names (may be NULL). All its blobs must be in the store. */
int image_register(struct store *s, const char *manifest_digest, char *const *names,
                   char ret_id[DIGEST_STR_MAX], struct error *err);

/* Finds an image by name ("busybox", "x:1", "x@sha256:..."), full id or
 * unique id prefix. ret_name gets the full name when it matched by name. */
int image_lookup(struct store *s, const char *what, struct image *ret, char **ret_name,
                 struct error *err);
int image_get(struct store *s, const char *id, struct image *ret, struct error *err);
int image_list(struct store *s, struct image **ret, size_t *ret_n, struct error *err);

/* Gives name (any reference; normalized here) to the image. */
int image_tag(struct store *s, const char *id, const char *name, struct error *err);
/* Removes a full name; -ENOENT when there was none. */
int image_untag(struct store *s, const char *full_name, struct error *err);
/* Removes the image record (names, layers, blob references). */
int image_delete(struct store *s, const char *id, struct error *err);

/* The stored manifest and config documents (verified against their digests). */
int image_read_manifest(struct store *s, const struct image *img, char **ret, struct error *err);
int image_read_config(struct store *s, const struct image *img, char **ret, struct error *err);
