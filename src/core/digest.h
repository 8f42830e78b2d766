/* SHA-256 digests ("sha256:<64 hex>") over OpenSSL libcrypto's EVP API.
 *
 *   struct digester d;
 *   digester_init(&d);  digester_update(&d, buf, n); ...
 *   char out[DIGEST_STR_MAX];  digester_final(&d, out);
 *
 * A digester that was initialized must be finalized or freed (digester_free
 * is safe on a finalized or zeroed digester).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DIGEST_STR_MAX 72

struct digester {
        void *ctx; /* EVP_MD_CTX */
        uint64_t bytes;
};

void digester_init(struct digester *d);
void digester_update(struct digester *d, const void *buf, size_t len);
/* Writes "sha256:HEX" into out and frees the context. */
void digester_final(struct digester *d, char out[DIGEST_STR_MAX]);
void digester_free(struct digester *d);

/* One-shot digest of a buffer. */
void digest_buffer(const void *buf, size_t len, char out[DIGEST_STR_MAX]);
/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool digest_valid(const char *s);
/* The hex part of a valid digest (pointer into s). */
const char *digest_hex(const char *s);
/* The chain ID of a layer on top of parent (NULL for the first layer):
 * chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). */
void digest_chain(const char *parent_chain, const char *diff_id, char out[DIGEST_STR_MAX]);
