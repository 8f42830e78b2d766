/* JSON helpers over json-c whose errors name the JSON path.
 *
 * Every getter takes the path of the parent object ("process.rlimits[1]")
 * and a key; a wrong type is an error like
 *   "process.rlimits[1].hard: expected an unsigned integer".
 * Getters return 1 when the key was present, 0 when absent (outputs left
 * untouched), or a negative errno with *err set.
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cleanup.h"
#include "core/error.h"

DEFINE_FREEP(struct json_object, json_object_put)
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Parses a file; a syntax error names the file, line and column. */
int json_parse_file(const char *path, struct json_object **ret, struct error *err);
int json_parse_string(const char *what, const char *text, struct json_object **ret,
                      struct error *err);

/* Joins a parent path and a key ("a.b" + "c" -> "a.b.c"; "" + "c" -> "c"). */
void jpath(char *buf, size_t len, const char *parent, const char *key);
void jpath_index(char *buf, size_t len, const char *parent, size_t index);

int jget_obj(struct json_object *o, const char *path, const char *key, struct json_object **ret,
             struct error *err);
int jget_array(struct json_object *o, const char *path, const char *key, struct json_object **ret,
               struct error *err);
int jget_str(struct json_object *o, const char *path, const char *key, char **ret,
             struct error *err);
int jget_bool(struct json_object *o, const char *path, const char *key, bool *ret,
              struct error *err);
int jget_u64(struct json_object *o, const char *path, const char *key, uint64_t *ret,
             struct error *err);
int jget_i64(struct json_object *o, const char *path, const char *key, int64_t *ret,
             struct error *err);
int jget_u32(struct json_object *o, const char *path, const char *key, uint32_t *ret,
             struct error *err);
int jget_i32(struct json_object *o, const char *path, const char *key, int32_t *ret,
             struct error *err);
/* An array of strings into a strv (NULL-terminated, owned). */
int jget_strv(struct json_object *o, const char *path, const char *key, char ***ret,
              struct error *err);

/* Value checks for an element already fetched (array items). */
int jval_u64(struct json_object *v, const char *path, uint64_t *ret, struct error *err);
int jval_str(struct json_object *v, const char *path, char **ret, struct error *err);

/* Serializes compactly (no slash escaping), as runc prints JSON. */
const char *json_compact(struct json_object *o);
const char *json_pretty(struct json_object *o);
