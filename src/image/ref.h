/* Image references, parsed and normalized as Docker does.
 *
 *   busybox                     -> docker.io/library/busybox:latest
 *   localhost:5000/a/b:v1       -> localhost:5000/a/b:v1
 *   alpine@sha256:<hex>         -> docker.io/library/alpine@sha256:<hex>
 *
 * A bad reference is an error that names the part that is wrong.
 */
#pragma once
#include <stdbool.h>

#include "core/cleanup.h"
#include "core/error.h"

struct image_ref {
        char *domain; /* "docker.io", "localhost:5000" */
        char *path;   /* "library/busybox" */
        char *tag;    /* NULL when none was given (and a digest was) */
        char *digest; /* "sha256:..." or NULL */
};

/* Parses s. When it has neither tag nor digest, tag "latest" is filled in
 * unless no_default_tag is set. */
int image_ref_parse(const char *s, bool no_default_tag, struct image_ref *ret, struct error *err);
void image_ref_free(struct image_ref *r);
static inline void image_ref_freep(struct image_ref *r)
{
        image_ref_free(r);
}
#define _cleanup_ref_ _cleanup_(image_ref_freep)

/* "docker.io/library/busybox" */
char *image_ref_repo(const struct image_ref *r);
/* The full normalized form: repo[:tag][@digest]. */
char *image_ref_string(const struct image_ref *r);
/* The short form Docker prints: "busybox:latest", "me/app:v1", "quay.io/x/y:z". */
char *image_ref_familiar(const struct image_ref *r);
/* Familiar form of a full repository name ("docker.io/library/busybox" -> "busybox"). */
const char *image_repo_familiar(const char *repo);
