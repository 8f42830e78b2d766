/* Containers in the metadata database (table `containers`, schema
 * migration 2 in core/db.c).
 *
 * A row is the whole record of a container: its id (64 hex), its unique
 * name, the image it was made from, the Docker-shaped config document it
 * was created with, its times, its state and who holds it. Writers take the
 * database's write lock (db_begin), so many husk processes at once never
 * hand out one name twice (the UNIQUE index is the last word).
 *
 * States: "created" (never started, or made by `create`), "running" (a
 * monitor holds it), "exited". owner_pid/owner_start name the monitor of a
 * running container; a row whose monitor is gone is stale, and
 * engine_refresh() (engine.h) turns it into "exited".
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/db.h"
#include "core/error.h"

#define CTR_ID_LEN 64

struct ctr {
        char *id, *name, *image_id, *image_name;
        char *config; /* {"Config": {...}, "HostConfig": {...}} as JSON text */
        int64_t created, started, finished; /* unix nanoseconds, 0 = never */
        char *state;                        /* "created", "running", "exited" */
        int exit_code;
        char *error; /* why the last start failed or the monitor vanished, "" when none */
        pid_t pid;   /* the init, on the host, while running */
        pid_t owner_pid;
        uint64_t owner_start; /* /proc/PID/stat start time of owner_pid */
        char *runtime;        /* extruntime: the external runtime's absolute path; "" = built-in */
};
void ctr_free(struct ctr *c);
void ctr_free_array(struct ctr *l, size_t n);

/* A fresh random id (64 lowercase hex) into buf[CTR_ID_LEN + 1]. */
int ctr_new_id(char buf[CTR_ID_LEN + 1], struct error *err);
/* A docker-style random name ("admiring_turing"). */
char *ctr_random_name(void);
/* Checks a user-given name as docker does: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
int ctr_check_name(const char *name, struct error *err);

/* Inserts c (state, times, config set by the caller). With c->name NULL a
 * random name is picked (and retried on collision); a taken given name is
 * -EEXIST "the container name '/x' is already in use by ...". */
int ctr_insert(struct db *db, struct ctr *c, struct error *err);
/* Finds a container by full id, name, or unique id prefix. -ENOENT "no such
 * container: X"; -EINVAL when a prefix matches several. */
int ctr_lookup(struct db *db, const char *what, struct ctr *ret, struct error *err);
int ctr_get(struct db *db, const char *id, struct ctr *ret, struct error *err);
/* All containers, newest first. */
int ctr_list(struct db *db, struct ctr **ret, size_t *ret_n, struct error *err);
/* ps: ctr_list, but each config holds only what ps shows or filters on:
 * {"Config": {"Entrypoint", "Cmd", "Labels"}, "HostConfig": {"NetworkMode"}}
 * (SQLite's JSON functions pick them out far faster than a parse of the
 * whole document); "" when the stored one is not JSON. */
int ctr_list_ps(struct db *db, struct ctr **ret, size_t *ret_n, struct error *err);
/* Writes back state, times, exit code, error, pids of c. -ENOENT when the row is gone. */
int ctr_update(struct db *db, const struct ctr *c, struct error *err);
int ctr_delete(struct db *db, const char *id, struct error *err);
/* Replaces the stored config document (network connect/disconnect). */
int ctr_set_config(struct db *db, const char *id, const char *config, struct error *err);
/* Renames; -EEXIST when the new name is taken. */
int ctr_rename(struct db *db, const char *id, const char *name, struct error *err);
/* How many containers use the image. */
int ctr_count_by_image(struct db *db, const char *image_id, int *ret, struct error *err);
