/* A decompressing byte stream over an fd: gzip, zstd, xz, bzip2 or plain,
 * detected from the first bytes.
 *
 * gzip (every layer a registry or `docker save` hands out) is inflated with
 * ISA-L's igzip, several times faster than zlib; zstd, xz and bzip2 go
 * through libarchive's read filters. Concatenated gzip members are one
 * stream; anything else after the last member is refused.
 *
 * Every byte handed out is also fed to a SHA-256 digester, so callers get
 * the digest of the uncompressed stream (a layer's diffID) without a
 * temporary copy; the input bytes get one too (a compressed layer's blob
 * digest). A guard refuses decompression bombs: past 1 GiB of output, a
 * ratio above 1000:1 is an error, as is output past max_bytes.
 *
 * When fd is a regular file of 1 MiB or more, reading, hashing and
 * decompressing run in a helper thread a few MiB ahead of the caller (the
 * caller's own work, writing files, overlaps with it on another core);
 * smaller inputs are done before a thread would pay off. The thread is started
 * by ustream_open() and is always joined by the end of the stream, an
 * error, or ustream_free(): no thread outlives the stream, so a process
 * that later calls clone() has none left. It blocks every signal. Pipes and
 * other fds are read in the caller's thread, as a thread blocked in read()
 * on a pipe could not be stopped.
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
/* The same, and every uncompressed byte is also written to tee_fd (by the
 * helper thread when there is one) before it is handed out: an import keeps
 * the uncompressed tar as a blob in the same pass that unpacks it. */
int ustream_open_tee(int fd, const char *what, uint64_t max_bytes, int tee_fd, struct ustream **ret,
                     struct error *err);
/* Next block of uncompressed data (pointer valid until the next call):
 * returns its length, 0 at end of stream, or a negative errno. */
ssize_t ustream_read(struct ustream *s, const void **buf, struct error *err);
/* Uncompressed bytes handed out so far (all of them once ustream_read()
 * returned 0), and whether the input was compressed. */
uint64_t ustream_bytes(struct ustream *s);
bool ustream_compressed(struct ustream *s);
/* Name of the compression ("gzip", "zstd", "none"...). */
const char *ustream_filter(struct ustream *s);
/* Digest of the uncompressed data; valid once ustream_read() returned 0. */
void ustream_digest(struct ustream *s, char out[DIGEST_STR_MAX]);
/* Digest of every input byte read from fd (the same as ustream_digest()
 * for uncompressed input); valid once ustream_read() returned 0. */
void ustream_input_digest(struct ustream *s, char out[DIGEST_STR_MAX]);
void ustream_free(struct ustream *s);
DEFINE_FREEP(struct ustream, ustream_free)
