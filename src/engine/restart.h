/* Restart policies (`--restart`), as docker's: no, on-failure[:N], always,
 * unless-stopped. The policy lives in the container's config as
 * HostConfig.RestartPolicy {Name, MaximumRetryCount}; the monitor applies it.
 *
 * Two small files in ROOT/containers/ID/ carry what the DB row does not:
 *   restart-count    how often the monitor restarted it since the last
 *                    `start` (inspect's .RestartCount)
 *   stop-requested   written by stop/kill/rm before they signal: the monitor
 *                    does not restart a container a user stopped (docker's
 *                    "manually stopped"); cleared by the next start. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "engine/engine.h"

struct json_object;

/* Parses a --restart value into *ret_name ("no", "on-failure", "always",
 * "unless-stopped", static) and *ret_max (on-failure's retry limit, 0: none). */
int restart_parse(const char *s, const char **ret_name, int *ret_max, struct error *err);

/* Whether the monitor restarts after an exit with status, the count-th
 * restart so far, given the container's config document; *ret_delay_ms gets
 * the backoff (docker's: 100 ms doubling per restart up to 1 min, back to
 * 100 ms after a run of 10 s or more, which also resets prev_delay). */
bool restart_decide(struct json_object *doc, int status, int count, int64_t ran_ms,
                    int64_t *prev_delay_ms, int64_t *ret_delay_ms);

void restart_request_stop(struct engine *e, const char *id);
bool restart_stop_requested(struct engine *e, const char *id);
/* A fresh start: forgets the stop request and the count. */
void restart_reset(struct engine *e, const char *id);
int restart_count(struct engine *e, const char *id);
void restart_set_count(struct engine *e, const char *id, int n);
