/* Shared between rootfs.c and rootfs-dev.c; not a public interface. */
#pragma once
#include "core/error.h"
#include "runtime/rootfs.h"

/* Creates the default devices and linux.devices under rootfd, then /dev/ptmx,
 * /dev/fd and the stdio symlinks. */
int rootfs_dev_populate(const struct rootfs_ctx *ctx, int rootfd, struct error *err);
/* Binds ctx->console_path onto /dev/console. */
int rootfs_dev_console(const struct rootfs_ctx *ctx, int rootfd, struct error *err);
