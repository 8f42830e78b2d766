/* A decompressing byte stream over an fd: gzip, zstd, xz, bzip2 or plain,
 * detected from the data (libarchive's read filters, "raw" format).
 *
 * Every byte handed out is also fed to a SHA-256 digester, so callers get
 * the digest of the uncompressed stream (a layer's diffID) without a
 * temporary copy. A guard refuses decompression bombs: past 1 GiB of
 * output, a ratio above 1000:1 is an error, as is output past max_bytes.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cleanup.h"
#include "core/digest.h"
#include "core/error.h"

struct ustream;

/* what names the stream in errors ("layer sha256:..."). */
int ustream_open(int fd, const char *what, uint64_t max_bytes, struct ustream **ret,
                 struct error *err);
/* Next block of uncompressed data (pointer valid until the next call):
 * returns its length, 0 at end of stream, or a negative errno. */
ssize_t ustream_read(struct ustream *s, const void **buf, struct error *err);
/* Total uncompressed bytes so far, and whether the input was compressed. */
uint64_t ustream_bytes(struct ustream *s);
bool ustream_compressed(struct ustream *s);
/* Name of the compression ("gzip", "zstd", "none"...). */
const char *ustream_filter(struct ustream *s);
/* Digest of everything read so far; call once, at end of stream. */
void ustream_digest(struct ustream *s, char out[DIGEST_STR_MAX]);
void ustream_free(struct ustream *s);
DEFINE_FREEP(struct ustream, ustream_free)
