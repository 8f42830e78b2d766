/* OCI hooks: each runs with the container's state JSON on stdin, exactly the
 * args and env the config gives, and its timeout. A hook that fails (non-zero
 * exit, killed, timed out, not executable) fails the whole list. */
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "runtime/spec.h"

/* Runs hooks[0..n) in order; phase names them in errors ("prestart"). */
int hooks_run(const struct spec_hook *hooks, size_t n, const char *phase, const char *state_json,
              struct error *err);
