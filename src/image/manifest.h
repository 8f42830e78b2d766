/* OCI image-spec v1.1 and Docker schema 2 documents: manifests, indexes
 * (manifest lists) and the parts of the image config the store needs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_FOREIGN  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

struct descriptor {
        char *media_type;
        char *digest;
        int64_t size;
        char *os, *arch, *variant; /* platform, in indexes */
        char *ref_name;            /* annotation org.opencontainers.image.ref.name */
};

struct manifest {
        char *media_type;
        struct descriptor config;
        struct descriptor *layers;
        size_t nlayers;
};

void descriptor_free(struct descriptor *d);
void manifest_free(struct manifest *m);
bool media_is_index(const char *mt);
bool media_is_manifest(const char *mt);
bool media_is_layer(const char *mt);

/* Reads a manifest (OCI or Docker v2); refuses foreign layers and bad digests. */
int manifest_parse(const char *what, const char *text, struct manifest *ret, struct error *err);
/* Reads an index or manifest list's "manifests". */
int index_parse(const char *what, const char *text, struct descriptor **ret, size_t *ret_n,
                struct error *err);
/* Tells an index from a manifest when mediaType is missing: 1 index, 0 manifest. */
int doc_is_index(const char *what, const char *text, struct error *err);
/* Picks linux/amd64 (or the host's platform) from an index; returns its position. */
int index_pick(const struct descriptor *d, size_t n, const char *what, size_t *ret,
               struct error *err);

/* From an image config: the layer diffIDs and the creation time. */
int config_parse(const char *what, const char *text, char ***ret_diff_ids, int64_t *ret_created,
                 struct error *err);
/* Parses an RFC 3339 time ("2024-05-01T10:00:00.5Z", "+02:00"); -EINVAL if bad. */
int parse_rfc3339(const char *s, int64_t *ret);
/* Formats t (unix seconds) as RFC 3339 UTC with nanoseconds set to zero. */
void format_rfc3339(int64_t t, char *buf, size_t len);
void free_descriptors(struct descriptor *d, size_t n);
/* The host platform: "amd64", "arm64" ... (GOARCH names). */
const char *host_arch(void);
