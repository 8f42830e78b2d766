/* husk import: a root filesystem tarball becomes a one-layer image. */
#pragma once
#include "core/digest.h"
#include "core/json.h"
#include "core/error.h"
#include "image/store.h"

struct import_opts {
        char *const *changes; /* Dockerfile instructions: CMD, ENTRYPOINT, ENV, ... */
        const char *message;  /* history comment */
        const char *source;   /* names the input in errors and history */
        char *const *names;   /* full references, may be NULL */
};

/* Reads the tarball (plain or compressed) from fd. */
int image_import(struct store *s, int fd, const struct import_opts *o, char ret_id[DIGEST_STR_MAX],
                 struct error *err);

/* Applies one Dockerfile-style instruction ("CMD [\"sh\"]", "ENV A=1") to an
 * image config's "config" object. */
int config_apply_change(struct json_object *cfg, const char *change, struct error *err);
