/* Named volumes (`husk volume`, `-v NAME:/path`, `-v /path`, `--mount`).
 *
 * A volume is a row of the `volumes` table plus a directory
 * ROOT/volumes/NAME/_data that is bound into the containers using it.
 * Which containers use a volume is read from the containers' own documents
 * (the top-level "Mounts" array written at create time, docker's container
 * inspect shape), so no second table can drift from them.
 *
 * Flow: ctr_config_make() calls volume_config() to turn -v/--mount specs
 * into HostConfig.Binds / Config.Volumes / HostConfig.Mounts as docker
 * stores them; engine_create() calls volume_prepare() which creates (or
 * finds) the volumes, names anonymous ones and writes doc.Mounts; the
 * monitor's ctr_oci_spec() calls volume_oci_mounts() which pre-fills new
 * volumes from the image and adds the OCI mounts.
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "engine/engine.h"

struct volume {
        char *name, *driver;
        int64_t created; /* unix seconds */
        char *labels;    /* a JSON object as text */
        bool anonymous;
};
void volume_free(struct volume *v);
void volume_free_array(struct volume *v, size_t n);

/* Checks a volume name as docker's local driver does. */
int volume_check_name(const char *name, struct error *err);
/* Creates a volume (name NULL: a random 64-hex one). An existing one of that
 * name is returned as it is (docker's create is idempotent). labels: K=V. */
int volume_create(struct engine *e, const char *name, char *const *labels, bool anonymous,
                  struct volume *ret, struct error *err);
int volume_get(struct engine *e, const char *name, struct volume *ret, struct error *err);
int volume_list(struct engine *e, struct volume **ret, size_t *ret_n, struct error *err);
/* ROOT/volumes/NAME/_data */
char *volume_mountpoint(struct engine *e, const char *name);
/* The names of the containers using the volume (NULL-terminated; NULL when none). */
int volume_users(struct engine *e, const char *name, char ***ret, struct error *err);
/* Removes a volume; one a container uses is refused (-EBUSY) naming the
 * containers, even with force; force makes a missing volume no error. */
int volume_remove(struct engine *e, const char *name, bool force, struct error *err);
/* Removes unused volumes (only anonymous ones unless all); their names
 * into *ret_names, bytes freed into *ret_bytes. */
int volume_prune(struct engine *e, bool all, char ***ret_names, uint64_t *ret_bytes,
                 struct error *err);
/* Bytes under a volume's _data. */
uint64_t volume_size(struct engine *e, const char *name);

/* -v specs that are volumes (named, anonymous) and --mount specs into the
 * stored document; host-path -v specs are left to ctr-config.c. */
bool volume_spec_is_volume(const char *spec);
int volume_config(char *const *volumes, char *const *mounts, struct json_object *image_volumes,
                  struct json_object *doc, struct error *err);
/* At create: makes the volumes the document names, writes doc["Mounts"]. */
int volume_prepare(struct engine *e, struct json_object *doc, struct error *err);
/* Removes the anonymous volumes of a container that is gone (rm -v, --rm). */
int volume_remove_anonymous(struct engine *e, const char *config, struct error *err);
/* At start: pre-fills new empty volumes from the image (rootfd: the
 * container's root) and appends the volume, --mount bind and tmpfs mounts. */
int volume_oci_mounts(struct json_object *doc, int rootfd, struct json_object *mounts,
                      struct error *err);

/* Who copies belong to; NULL where one is taken: keep the source's. */
struct volume_owner {
        uid_t uid;
        gid_t gid;
};
/* Copies sfd/sname to dfd/name (a directory with all below it, a file, a
 * symlink as a symlink, a device or fifo) with mode, times and owner (own,
 * or the source's); never follows a symlink of the source. name must not
 * exist yet. */
int volume_copy_entry(int sfd, const char *sname, int dfd, const char *name,
                      const struct volume_owner *own);
/* Copies everything in directory sfd into directory dfd. */
int volume_copy_tree(int sfd, int dfd, const struct volume_owner *own);
