/* gaps: a container's name in the hosts files follows `husk rename`. */
#include <errno.h>
#include <string.h>

#include "core/db.h"
#include "engine/network-internal.h"

int net_rename_container(struct net_ctx *ctx, const char *container_id, const char *name,
                         struct error *err)
{
        if (!net_valid_hostname(name, strlen(name)))
                return error_msg(err, -EINVAL, "invalid container name '%s' for a hosts file",
                                 name);
        /* Not attached anywhere: nothing to rewrite, and no claim on the host's
         * link prefix and nft table to take (the lock would). */
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db, "SELECT 1 FROM network_allocations WHERE container_id = ?1",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, container_id, -1, SQLITE_TRANSIENT);
        if ((r = db_step(ctx->db, st, err)) <= 0)
                return r;
        if ((r = net_lock(ctx, err)) < 0)
                return r;
        r = db_run(ctx->db, "UPDATE network_allocations SET name = ?2 WHERE container_id = ?1", err,
                   2, container_id, name);
        if (r == 0)
                r = net_hosts_refresh(ctx, err);
        net_unlock(ctx);
        return r;
}
