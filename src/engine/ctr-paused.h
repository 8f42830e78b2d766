/* ps: whether a running container is paused (its freezer cgroup frozen),
 * cheap enough to ask for every row of `ps`. See ctr-paused.c. */
#pragma once
#include <stdbool.h>

#include "engine/engine.h"

/* For a container whose monitor runs it (engine_refresh): its freezer
 * cgroup is frozen. Built-in runtime only (engine_is_paused asks an
 * external runtime itself). */
bool ctr_paused(struct engine *e, const struct ctr *c);
void ctr_freezer_free(struct ctr_freezer *f);
