/* From an image and user flags to a container's config, and from that to an
 * OCI config.json.
 *
 * ctr_config_make() merges the image's config (Entrypoint, Cmd, Env,
 * WorkingDir, User, StopSignal) with the flags into the Docker-shaped
 * document {"Config": {...}, "HostConfig": {...}} stored with the container
 * (and shown by inspect). ctr_oci_spec() turns that document into the
 * runtime's config.json with Docker's defaults: its default capability set,
 * masked and readonly paths, /dev, /dev/pts, /dev/shm, /dev/mqueue, sysfs and
 * cgroup read-only, no_new_privs off, hostname and /etc/hosts, a new network
 * namespace with only loopback (brought up by the monitor), no rlimits (the
 * container inherits the monitor's, which never exceed what the host allows),
 * and the cgroup nested under husk's own ("husk-ID", relative).
 */
#pragma once
#include <json-c/json.h>
#include <stdint.h>

#include "core/error.h"
#include "engine/engine.h"

/* image_cfg: the image config's "config" object (may be NULL). */
int ctr_config_make(struct json_object *image_cfg, const struct ctr_create_opts *o, const char *id,
                    const char *image_name, struct json_object **ret, struct error *err);

/* The OCI config for a container. rootfd: its mounted root (to resolve
 * user names in its /etc/passwd and /etc/group); ctr_dir: ROOT/containers/ID. */
int ctr_oci_spec(struct json_object *doc, const char *id, int rootfd, const char *rootfs,
                 const char *ctr_dir, struct json_object **ret, struct error *err);

/* Resolves USER[:GROUP] (names or numbers) in the root's /etc/passwd and
 * /etc/group; ret_home (may be NULL) gets the user's home when named there. */
int ctr_resolve_user(int rootfd, const char *spec, uint32_t *ret_uid, uint32_t *ret_gid,
                     char **ret_home, struct error *err);

/* The init for --init: catatonit or tini-static (static, bound into the
 * container at /dev/init). NULL when none is installed. */
const char *ctr_init_binary(void);

/* Parses "512m", "1g", "1024" (bytes) as docker's RAMInBytes; -EINVAL when bad. */
int ctr_parse_bytes(const char *s, int64_t *ret);
/* Parses "1.5" cpus into nano cpus. */
int ctr_parse_cpus(const char *s, int64_t *ret);
