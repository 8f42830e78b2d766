/* Commands that act on a container's cgroup while it lives: pause and
 * resume (the freezer), update (new limits), stats and events. Each takes
 * the runtime root (--root) and a container id, like container.h. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>

#include "core/error.h"

int container_pause(const char *root, const char *id, struct error *err);
int container_resume(const char *root, const char *id, struct error *err);

/* Applies res (a linux.resources object: only the groups it names are
 * written) on top of the container's stored config, which keeps the merged
 * result. Ignored fields are returned as warnings (owned strv, may be NULL). */
int container_update(const char *root, const char *id, struct json_object *res,
                     char ***ret_warnings, struct error *err);

/* The container's cgroup statistics, runc's "data" object of `events --stats`. */
int container_stats(const char *root, const char *id, struct json_object **ret, struct error *err);

/* Calls emit with each event object ({"type":"stats"|"oom","id":ID[,"data":..]}):
 * stats every interval_ms, an "oom" event as soon as the kernel OOM-kills
 * a process in the container. Returns 0 when the container stops, or a
 * negative errno when emit does. */
int container_events(const char *root, const char *id, int interval_ms,
                     int (*emit)(struct json_object *ev, void *opaque), void *opaque,
                     struct error *err);
