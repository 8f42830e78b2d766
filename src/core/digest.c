#include "core/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib-crypto.h"
#include <nettle/sha2.h>

static void hex_out(const unsigned char *md, char out[DIGEST_STR_MAX])
{
        static const char hex[] = "0123456789abcdef";
        memcpy(out, "sha256:", 7);
        for (int i = 0; i < 32; i++) {
                out[7 + 2 * i] = hex[md[i] >> 4];
                out[8 + 2 * i] = hex[md[i] & 15];
        }
        out[7 + 64] = '\0';
}

void digester_init(struct digester *d)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                abort(); /* only on out-of-memory */
        d->ctx = ctx;
        d->bytes = 0;
}

void digester_update(struct digester *d, const void *buf, size_t len)
{
        if (len && EVP_DigestUpdate(d->ctx, buf, len) != 1)
                abort();
        d->bytes += len;
}

void digester_final(struct digester *d, char out[DIGEST_STR_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1 || n != 32)
                abort();
        hex_out(md, out);
        digester_free(d);
}

void digester_free(struct digester *d)
{
        if (d->ctx)
                EVP_MD_CTX_free(d->ctx);
        d->ctx = NULL;
}

/* speed: buffers up to this size (image configs, manifests: read on every
 * `husk run`) are hashed with nettle, linked statically: libcrypto's load
 * and init take ~4 ms; layer streams keep libcrypto's faster SHA-256. */
#define SMALL_BUFFER (1u << 20)

void digest_buffer(const void *buf, size_t len, char out[DIGEST_STR_MAX])
{
        if (len <= SMALL_BUFFER) {
                struct sha256_ctx c;
                unsigned char md[SHA256_DIGEST_SIZE];
                sha256_init(&c);
                sha256_update(&c, len, buf);
                sha256_digest(&c, sizeof(md), md);
                hex_out(md, out);
                return;
        }
        struct digester d;
        digester_init(&d);
        digester_update(&d, buf, len);
        digester_final(&d, out);
}

bool digest_valid(const char *s)
{
        if (!s || strncmp(s, "sha256:", 7) != 0)
                return false;
        s += 7;
        size_t n = 0;
        for (; s[n]; n++)
                if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
                        return false;
        return n == DIGEST_HEX_LEN;
}

const char *digest_hex(const char *s)
{
        return strncmp(s, "sha256:", 7) == 0 ? s + 7 : s;
}

void digest_chain(const char *parent_chain, const char *diff_id, char out[DIGEST_STR_MAX])
{
        if (!parent_chain) {
                snprintf(out, DIGEST_STR_MAX, "%s", diff_id);
                return;
        }
        char buf[2 * DIGEST_STR_MAX + 2];
        int n = snprintf(buf, sizeof(buf), "%s %s", parent_chain, diff_id);
        digest_buffer(buf, (size_t)n, out);
}
