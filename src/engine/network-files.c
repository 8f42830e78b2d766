/* A container's /etc/hosts and /etc/resolv.conf. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/network-internal.h"

static bool is_loopback(const char *ip)
{
        struct in_addr a;
        struct in6_addr a6;
        if (inet_pton(AF_INET, ip, &a) == 1)
                return (ntohl(a.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, ip, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

static bool valid_ip(const char *ip)
{
        struct in_addr a;
        struct in6_addr a6;
        return inet_pton(AF_INET, ip, &a) == 1 || inet_pton(AF_INET6, ip, &a6) == 1;
}

int net_write_resolv_conf(const char *path, const char *host_path, char *const *dns,
                          struct error *err)
{
        for (size_t i = 0; dns && dns[i]; i++)
                if (!valid_ip(dns[i]))
                        return error_msg(err, -EINVAL, "invalid --dns '%s': not an IP address",
                                         dns[i]);
        _cleanup_free_ char *host = NULL;
        int r = read_file_at(AT_FDCWD, host_path, 1 << 20, &host, NULL);
        if (r < 0 && r != -ENOENT)
                return error_sys(err, r, "read '%s'", host_path);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        if (!f)
                abort();
        size_t servers = 0;
        /* Keep search, options and the rest; name servers only when not overridden
         * and reachable from the container. */
        for (char *line = host, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char ns[128];
                if (sscanf(line, " nameserver %127s", ns) == 1) {
                        if (dns || is_loopback(ns))
                                continue;
                        servers++;
                }
                fprintf(f, "%s\n", line);
        }
        for (size_t i = 0; dns && dns[i]; i++, servers++)
                fprintf(f, "nameserver %s\n", dns[i]);
        if (servers == 0)
                /* As docker: the host only had loopback resolvers. */
                fprintf(f, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        fclose(f);
        _cleanup_close_ int fd =
            open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        r = fd < 0 ? -errno : write_all(fd, out, len);
        free(out);
        if (r < 0)
                return error_sys(err, r, "write '%s'", path);
        return 0;
}

char *net_hosts_render(char *const *extra_hosts, const char *gateway, char *const *entries)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        if (!f)
                abort();
        fprintf(f, "127.0.0.1\tlocalhost\n"
                   "::1\tlocalhost ip6-localhost ip6-loopback\n"
                   "fe00::0\tip6-localnet\n"
                   "ff00::0\tip6-mcastprefix\n"
                   "ff02::1\tip6-allnodes\n"
                   "ff02::2\tip6-allrouters\n");
        for (size_t i = 0; extra_hosts && extra_hosts[i]; i++) {
                const char *c = strchr(extra_hosts[i], ':');
                if (!c)
                        continue;
                const char *ip = c + 1;
                if (strcmp(ip, "host-gateway") == 0 && gateway)
                        ip = gateway;
                fprintf(f, "%s\t%.*s\n", ip, (int)(c - extra_hosts[i]), extra_hosts[i]);
        }
        for (size_t i = 0; entries && entries[i]; i++)
                fprintf(f, "%s\n", entries[i]);
        fclose(f);
        return out;
}

bool net_valid_hostname(const char *s, size_t len)
{
        if (len == 0 || len > 253 || s[0] == '-' || s[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
                        return false;
        return true;
}

int net_check_extra_host(const char *s, struct error *err)
{
        const char *c = strchr(s, ':');
        if (!c)
                return error_msg(err, -EINVAL, "invalid --add-host '%s': expected NAME:IP", s);
        if (!net_valid_hostname(s, (size_t)(c - s)))
                return error_msg(err, -EINVAL,
                                 "invalid --add-host '%s': '%.*s' is not a valid host name", s,
                                 (int)(c - s), s);
        if (strcmp(c + 1, "host-gateway") != 0 && !valid_ip(c + 1))
                return error_msg(err, -EINVAL,
                                 "invalid --add-host '%s': '%s' is not an IP address or "
                                 "host-gateway",
                                 s, c + 1);
        return 0;
}

/* gaps: line plus each --network-alias not on it yet (takes line). */
static char *with_aliases(char *line, const char *aliases)
{
        _cleanup_free_ char *copy = xstrdup(aliases ? aliases : "");
        char *save = NULL;
        for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
                _cleanup_free_ char *words = xasprintf("%s ", line);
                for (char *p = words; *p; p++)
                        if (*p == '\t')
                                *p = ' ';
                _cleanup_free_ char *word = xasprintf(" %s ", a);
                if (strstr(words, word))
                        continue;
                char *t = xasprintf("%s %s", line, a);
                free(line);
                line = t;
        }
        return line;
}

/* One line per attachment on a network the hosts file's owner is on. */
static int peer_entries(struct net_ctx *ctx, const char *container_id, char ***ret,
                        struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT DISTINCT p.address, p.name, p.hostname, p.container_id, "
                           "p.container_id = ?1 AS self, p.aliases FROM network_allocations p "
                           "WHERE "
                           "p.network_id IN (SELECT network_id FROM network_allocations WHERE "
                           "container_id = ?1) ORDER BY self DESC, p.created, p.address",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, container_id, -1, SQLITE_TRANSIENT);
        char **v = NULL;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                const char *addr = (const char *)sqlite3_column_text(st, 0);
                const char *name = (const char *)sqlite3_column_text(st, 1);
                const char *host = (const char *)sqlite3_column_text(st, 2);
                const char *id = (const char *)sqlite3_column_text(st, 3);
                /* IP  hostname name shortid, each once (the short id is the default hostname). */
                bool with_name = name && (!host || strcmp(name, host) != 0);
                bool with_id = !(host && strlen(host) == 12 && strncmp(host, id, 12) == 0);
                char *line =
                    xasprintf("%s\t%s%s%s%s%.12s", addr, host ? host : "",
                              host && with_name ? " " : "", with_name ? name : "",
                              with_id && (host || with_name) ? " " : "", with_id ? id : "");
                v = strv_push(v, with_aliases(line, (const char *)sqlite3_column_text(st, 5)));
        }
        if (r < 0) {
                strv_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

int net_hosts_refresh(struct net_ctx *ctx, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT a.hosts_path, a.container_id, a.extra_hosts, n.gateway FROM "
                           "network_allocations a JOIN networks n ON n.id = a.network_id WHERE "
                           "a.hosts_path IS NOT NULL GROUP BY a.hosts_path",
                           &st, err);
        if (r < 0)
                return r;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                const char *path = (const char *)sqlite3_column_text(st, 0);
                const char *id = (const char *)sqlite3_column_text(st, 1);
                const char *extra = (const char *)sqlite3_column_text(st, 2);
                const char *gw = (const char *)sqlite3_column_text(st, 3);
                _cleanup_strv_ char **entries = NULL, **extras = NULL;
                r = peer_entries(ctx, id, &entries, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *ex = xstrdup(extra ? extra : "");
                char *save = NULL;
                for (char *tok = strtok_r(ex, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
                        extras = strv_push(extras, xstrdup(tok));
                _cleanup_free_ char *text = net_hosts_render(extras, gw, entries);
                /* In place, not by rename: the file is bind-mounted into the container,
                 * and a rename would leave the mount on the old inode. A file the
                 * engine has removed is not brought back. */
                _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue;
                        return error_sys(err, -errno, "write hosts file '%s'", path);
                }
                r = write_all(fd, text, strlen(text));
                if (r < 0)
                        return error_sys(err, r, "write hosts file '%s'", path);
        }
        return r;
}
