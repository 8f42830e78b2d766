/* Image archives: docker-archive (manifest.json + config + layer tars, as
 * `docker save` writes) and oci-archive (a tarred OCI image layout:
 * oci-layout, index.json, blobs/sha256/...).
 *
 * Loading streams the outer tar (plain or compressed) once: every file goes
 * into the content store under the digest of its bytes, and only then are
 * the archive's own names mapped to those digests, so a name in the archive
 * never decides what a blob is. Blobs the images do not use are removed
 * again at the end.
 */
#pragma once
#include "core/error.h"
#include "image/store.h"

enum archive_format { ARCHIVE_DOCKER, ARCHIVE_OCI };

/* Loads every image in the archive read from fd. ret_loaded gets one line
 * per image for the user ("Loaded image: busybox:latest",
 * "Loaded image ID: sha256:..."). */
int archive_load(struct store *s, int fd, const char *what, char ***ret_loaded, struct error *err);

/* Writes the images (names or ids, as the user gave them) to outfd. */
int archive_save(struct store *s, char *const *images, enum archive_format format, int outfd,
                 struct error *err);
