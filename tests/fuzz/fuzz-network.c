/* libFuzzer harness: the network option parsers (-p specs, subnets,
 * --add-host) on arbitrary bytes, and the hosts file rendered from what they
 * accept. Build with `make fuzz`, run with
 * `build/fuzz/fuzz/fuzz-network -max_total_time=120 CORPUS_DIR`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "engine/network-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = xmalloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        struct error err = {0};
        struct net_port *v = NULL;
        size_t n = 0;
        if (net_port_parse(text, &v, &n, &err) == 0) {
                for (size_t i = 0; i < n; i++)
                        if (v[i].container_port == 0 || strlen(v[i].host_ip) > 15 ||
                            (strcmp(v[i].proto, "tcp") && strcmp(v[i].proto, "udp")))
                                abort();
        } else if (err.msg[0] == '\0' || err.code >= 0 || n != 0) {
                abort(); /* every failure must say why, and add nothing */
        }
        free(v);
        struct in_addr a;
        unsigned len = 0;
        err = (struct error){0};
        if (net_parse_subnet(text, &a, &len, &err) == 0) {
                if (len < 8 || len > 30 || (ntohl(a.s_addr) & ~net_mask(len)))
                        abort();
        } else if (err.msg[0] == '\0') {
                abort();
        }
        err = (struct error){0};
        if (net_check_extra_host(text, &err) == 0) {
                char *extra[] = {text, NULL};
                char *hosts = net_hosts_render(extra, "10.0.0.1", NULL);
                /* An accepted entry is exactly one line. */
                size_t lines = 0;
                for (char *p = hosts; *p; p++)
                        lines += *p == '\n';
                if (lines != 7)
                        abort();
                free(hosts);
        } else if (err.msg[0] == '\0') {
                abort();
        }
        free(text);
        return 0;
}
