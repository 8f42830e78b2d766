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
#include "engine/nft-comment.h"

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

/* Networks with rules: those with an attachment, and (speed) those whose
 * bridge is up without one: an idle bridge keeps its rules as it stays up
 * itself (see reconcile in network.c), so the table does not change when a
 * lone container comes and goes. */
static int active_networks(struct net_ctx *ctx, struct active_net **ret, size_t *ret_n,
                           struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT id, bridge, subnet, internal, id IN (SELECT network_id FROM "
                           "network_allocations) FROM networks ORDER BY bridge",
                           &st, err);
        if (r < 0)
                return r;
        struct nl nl = {.fd = -1};
        struct active_net *v = NULL;
        size_t n = 0;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                if (!sqlite3_column_int(st, 4)) {
                        if (nl.fd < 0 && (r = nl_open(&nl, -1, NULL, err)) < 0)
                                break;
                        const char *br = (const char *)sqlite3_column_text(st, 1);
                        if (!br || nl_link_index(&nl, br) <= 0)
                                continue;
                }
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n].id = db_col_str(st, 0);
                v[n].bridge = db_col_str(st, 1);
                v[n].subnet = db_col_str(st, 2);
                v[n].internal = sqlite3_column_int(st, 3) != 0;
                n++;
        }
        nl_close(&nl);
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

/* FNV-1a, 64 bits: tells one generated ruleset from another (not a MAC:
 * the table is root's, and only husk writes it). */
static uint64_t fnv1a(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        return h;
}

int net_nft_sync(struct net_ctx *ctx, struct error *err)
{
        struct active_net *v = NULL;
        size_t n = 0;
        int r = active_networks(ctx, &v, &n, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *body = NULL;
        size_t blen = 0;
        if (n > 0) {
                FILE *bf = open_memstream(&body, &blen);
                if (!bf)
                        abort();
                r = table_text(ctx, bf, v, n, err);
                fclose(bf);
        }
        active_free(v, n);
        if (r < 0)
                return r;
        /* speed: the table's comment holds a hash of the ruleset it was made
         * from; when the table is already what we would write (or absent and
         * nothing needs it) there is no batch at all. */
        char want[32] = "", have[64];
        if (body)
                snprintf(want, sizeof(want), "husk:%016llx", (unsigned long long)fnv1a(body));
        int q = nft_table_comment(ctx->table, have, sizeof(have));
        if ((q == -ENOENT && !body) || (q == 0 && body && strcmp(have, want) == 0)) {
                explain_note("nftables table 'ip %s' is up to date (%s): not rewritten", ctx->table,
                             body ? want : "absent");
                return 0;
        }
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                abort();
        fprintf(f, "add table ip %s\ndelete table ip %s\n", ctx->table, ctx->table);
        if (body) {
                /* The comment goes in as the table block's first line. */
                const char *nl1 = strchr(body, '\n');
                fprintf(f, "%.*s\tcomment \"%s\"\n%s", (int)(nl1 - body + 1), body, want, nl1 + 1);
        }
        fclose(f);
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
