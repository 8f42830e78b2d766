/* Log drivers (`--log-driver`, `--log-opt`), as docker's:
 *   k8s-file   (the default) "TIMESTAMP stdout|stderr F|P text" lines, logs.h
 *   json-file  {"log":"text\n","stream":"stdout","time":"TIMESTAMP"} lines
 *   none       nothing is kept; `husk logs` says so
 * Options for k8s-file and json-file: max-size=SIZE (10k, 5m, bytes) and
 * max-file=N (default 1, needs max-size). A file that would grow past
 * max-size is renamed to PATH.1 (PATH.1 to PATH.2 ... up to PATH.(N-1),
 * the oldest dropped) and a new PATH begun: never truncated in place.
 * The choice lives in the config as HostConfig.LogConfig {Type, Config}. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct json_object;

struct log_cfg {
        char driver[16];  /* "k8s-file", "json-file", "none" */
        int64_t max_size; /* bytes, 0: no limit */
        int max_file;     /* >= 1 */
};

/* Checks --log-driver and the --log-opt K=V list; *ret gets the LogConfig object. */
int logdrv_make_config(const char *driver, char *const *opts, struct json_object **ret,
                       struct error *err);
/* The log config of a container's config document (defaults when absent). */
void logdrv_get_config(struct json_object *doc, struct log_cfg *ret);

struct log_sink {
        int fd; /* -1: none */
        char *path;
        struct log_cfg cfg;
        int64_t size;
};
int log_sink_open(struct log_sink *s, const char *path, const struct log_cfg *cfg,
                  struct error *err);
/* Writes what a stream produced, as records (a piece without newline as a partial one). */
void log_sink_write(struct log_sink *s, bool is_err, const char *buf, size_t len);
void log_sink_close(struct log_sink *s);
/* One json-file record: {"log":TEXT,"stream":STREAM,"time":TS} and a newline
 * (escaped as json-c does; monitor-small: husk-monitor links no JSON library). */
char *log_json_record(const char *text, size_t n, const char *stream, const char *ts);

/* The files of a log, oldest first: PATH.(N-1) ... PATH.1, PATH (those that exist). */
char **logdrv_files(const char *path, const struct log_cfg *cfg);
