/* Detach key sequences: parsing docker's syntax and matching it in terminal input. */
#include "cli/detach-keys.h"

#include <errno.h>
#include <string.h>

void detach_keys_default(struct detach_keys *k)
{
        *k = (struct detach_keys){.seq = {0x10, 0x11}, .len = 2};
}

int detach_keys_parse(const char *s, struct detach_keys *k, struct error *err)
{
        struct detach_keys r = {0};
        const char *p = s;
        while (*p) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);
                int c = -1;
                if (n == 1) {
                        c = (unsigned char)p[0];
                } else if (n == 6 && strncmp(p, "ctrl-", 5) == 0) {
                        char x = p[5];
                        if (x >= 'a' && x <= 'z')
                                c = x - 'a' + 1;
                        else if (x == '@')
                                c = 0;
                        else if (x >= '[' && x <= '_')
                                c = x - '[' + 27;
                }
                if (c < 0)
                        return error_msg(err, -EINVAL,
                                         "--detach-keys '%s': invalid key '%.*s' (want a "
                                         "character or ctrl-X with X one of a-z @ [ \\ ] ^ _)",
                                         s, (int)n, p);
                if (r.len == DETACH_KEYS_MAX)
                        return error_msg(err, -EINVAL, "--detach-keys '%s': more than %d keys", s,
                                         DETACH_KEYS_MAX);
                r.seq[r.len++] = (unsigned char)c;
                if (!comma)
                        break;
                if (!comma[1])
                        return error_msg(err, -EINVAL, "--detach-keys '%s': empty key after ','",
                                         s);
                p = comma + 1;
        }
        *k = r;
        return 0;
}

bool detach_keys_filter(struct detach_keys *k, const char *in, size_t n, char *out, size_t *out_n)
{
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)in[i];
                if (k->len == 0) {
                        out[o++] = (char)c;
                        continue;
                }
                if (c == k->seq[k->matched]) {
                        if (++k->matched == k->len) {
                                k->matched = 0;
                                *out_n = o;
                                return true;
                        }
                        continue;
                }
                /* Not the sequence after all: what was held back goes out. */
                memcpy(out + o, k->seq, k->matched);
                o += k->matched;
                k->matched = 0;
                if (c == k->seq[0]) {
                        if (k->len == 1) {
                                *out_n = o;
                                return true;
                        }
                        k->matched = 1;
                } else {
                        out[o++] = (char)c;
                }
        }
        *out_n = o;
        return false;
}
