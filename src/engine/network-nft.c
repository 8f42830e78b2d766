/* husk's nftables table, rebuilt from the database in one atomic batch.
 *
 * Rules are a function of the database alone, so a change is "write the
 * whole table again": `add table; delete table; table { ... }` in one
 * transaction (the add makes the delete safe when the table is absent). No
 * other table is ever named. Connections already set up keep their NAT
 * mapping in conntrack, so a rewrite does not disturb them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/sys.h"
#include "core/util.h"
#include "engine/network-internal.h"
#include "engine/lib-nft.h"

struct active_net {
        char *id, *bridge, *subnet;
        bool internal;
};

static void active_free(struct active_net *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].id);
                free(v[i].bridge);
                free(v[i].subnet);
        }
        free(v);
}

/* Networks with at least one attachment: the only ones with rules. */
static int active_networks(struct net_ctx *ctx, struct active_net **ret, size_t *ret_n,
                           struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT id, bridge, subnet, internal FROM networks WHERE id IN (SELECT "
                           "network_id FROM network_allocations) ORDER BY bridge",
                           &st, err);
        if (r < 0)
                return r;
        struct active_net *v = NULL;
        size_t n = 0;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n].id = db_col_str(st, 0);
                v[n].bridge = db_col_str(st, 1);
                v[n].subnet = db_col_str(st, 2);
                v[n].internal = sqlite3_column_int(st, 3) != 0;
                n++;
        }
        if (r < 0) {
                active_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int port_rules(struct net_ctx *ctx, FILE *f, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT p.host_ip, p.host_port, p.proto, a.address, p.container_port "
                           "FROM network_ports p JOIN network_allocations a ON a.network_id = "
                           "p.network_id AND a.container_id = p.container_id "
                           "ORDER BY p.proto, p.host_port, p.host_ip",
                           &st, err);
        if (r < 0)
                return r;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                const char *hip = (const char *)sqlite3_column_text(st, 0);
                int hport = sqlite3_column_int(st, 1);
                const char *proto = (const char *)sqlite3_column_text(st, 2);
                const char *addr = (const char *)sqlite3_column_text(st, 3);
                int cport = sqlite3_column_int(st, 4);
                if (!hip || !proto || !addr)
                        continue;
                fprintf(f, "\t\t");
                if (strcmp(hip, "0.0.0.0") != 0)
                        fprintf(f, "ip daddr %s ", hip);
                fprintf(f, "%s dport %d dnat to %s:%d\n", proto, hport, addr, cport);
        }
        return r;
}

static bool has_ports(struct net_ctx *ctx, const char *network_id)
{
        struct error e;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (db_prepare(ctx->db, "SELECT 1 FROM network_ports WHERE network_id = ?1 LIMIT 1", &st,
                       &e) < 0)
                return true; /* the rule is harmless; leaving it out would break 127.0.0.1 */
        sqlite3_bind_text(st, 1, network_id, -1, SQLITE_TRANSIENT);
        return db_step(ctx->db, st, &e) != 0;
}

static int table_text(struct net_ctx *ctx, FILE *f, const struct active_net *v, size_t n,
                      struct error *err)
{
        const char *t = ctx->table;
        fprintf(f, "table ip %s {\n", t);
        fprintf(f, "\tchain forward {\n"
                   "\t\ttype filter hook forward priority filter; policy accept;\n");
        /* An internal network talks to nothing but itself. */
        for (size_t i = 0; i < n; i++)
                if (v[i].internal)
                        fprintf(f,
                                "\t\tiifname \"%s\" oifname != \"%s\" drop\n"
                                "\t\toifname \"%s\" iifname != \"%s\" drop\n",
                                v[i].bridge, v[i].bridge, v[i].bridge, v[i].bridge);
        /* Replies, and connections to published ports (also from other networks). */
        fprintf(f, "\t\tct state established,related accept\n"
                   "\t\tct status dnat accept\n");
        /* Isolation: nothing new from one husk bridge to another. */
        for (size_t i = 0; n > 1 && i < n; i++) {
                fprintf(f, "\t\tiifname \"%s\" oifname { ", v[i].bridge);
                bool first = true;
                for (size_t j = 0; j < n; j++)
                        if (j != i) {
                                fprintf(f, "%s\"%s\"", first ? "" : ", ", v[j].bridge);
                                first = false;
                        }
                fprintf(f, " } drop\n");
        }
        for (size_t i = 0; i < n; i++)
                if (!v[i].internal)
                        fprintf(f, "\t\tiifname \"%s\" accept\n", v[i].bridge);
        fprintf(f, "\t}\n");
        fprintf(f, "\tchain ports {\n");
        int r = port_rules(ctx, f, err);
        if (r < 0)
                return r;
        fprintf(f, "\t}\n");
        fprintf(f, "\tchain prerouting {\n"
                   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                   "\t\tfib daddr type local jump ports\n"
                   "\t}\n");
        /* Connections from the host itself (127.0.0.1 among them) pass output, not prerouting. */
        fprintf(f, "\tchain output {\n"
                   "\t\ttype nat hook output priority -100; policy accept;\n"
                   "\t\tfib daddr type local jump ports\n"
                   "\t}\n");
        fprintf(f, "\tchain postrouting {\n"
                   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        for (size_t i = 0; i < n; i++) {
                if (!v[i].internal)
                        fprintf(f, "\t\tip saddr %s oifname != \"%s\" masquerade\n", v[i].subnet,
                                v[i].bridge);
                if (has_ports(ctx, v[i].id))
                        /* 127.0.0.1 cannot be a source on the bridge (the container could
                         * not answer it); a container reaching its own network's published
                         * port through the host must see the gateway, not itself. */
                        fprintf(f,
                                "\t\toifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n"
                                "\t\toifname \"%s\" ip saddr %s ct status dnat masquerade\n",
                                v[i].bridge, v[i].bridge, v[i].subnet);
        }
        fprintf(f, "\t}\n}\n");
        return 0;
}

static int nft_apply(const char *text, const char *what, struct error *err)
{
        int lr = lib_nft_need(err);
        if (lr < 0)
                return error_wrap(err, lr, "%s", what);
        explain("nft -f - <<'EOF'\n%sEOF", text);
        struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!nft)
                return error_msg(err, -ENOMEM, "%s: nft_ctx_new failed", what);
        nft_ctx_buffer_output(nft);
        nft_ctx_buffer_error(nft);
        int rc = nft_run_cmd_from_buffer(nft, text);
        int r = 0;
        if (rc != 0) {
                const char *e = nft_ctx_get_error_buffer(nft);
                _cleanup_free_ char *msg = xstrdup(e && *e ? e : "failed");
                size_t l = strlen(msg);
                while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
                        msg[--l] = '\0';
                r = error_msg(err, -EIO, "%s: %s", what, msg);
        }
        nft_ctx_free(nft);
        return r;
}

int net_nft_sync(struct net_ctx *ctx, struct error *err)
{
        struct active_net *v = NULL;
        size_t n = 0;
        int r = active_networks(ctx, &v, &n, err);
        if (r < 0)
                return r;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                abort();
        fprintf(f, "add table ip %s\ndelete table ip %s\n", ctx->table, ctx->table);
        if (n > 0)
                r = table_text(ctx, f, v, n, err);
        fclose(f);
        active_free(v, n);
        if (r < 0) {
                free(text);
                return r;
        }
        _cleanup_free_ char *what = xasprintf("update nftables table 'ip %s'", ctx->table);
        r = nft_apply(text, what, err);
        free(text);
        return r;
}

int net_nft_delete(struct net_ctx *ctx, struct error *err)
{
        _cleanup_free_ char *text =
            xasprintf("add table ip %s\ndelete table ip %s\n", ctx->table, ctx->table);
        _cleanup_free_ char *what = xasprintf("delete nftables table 'ip %s'", ctx->table);
        return nft_apply(text, what, err);
}
