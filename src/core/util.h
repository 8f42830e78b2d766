/* Small helpers: allocation that aborts on OOM, NULL-terminated string
 * vectors (strv), whole-file reads and writes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cleanup.h"
#include "core/error.h"

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strv: NULL-terminated array of owned strings. NULL is the empty vector. */
size_t strv_len(char *const *v);
void strv_free(char **v);
char **strv_copy(char *const *v);
/* Appends an owned string, returns the (maybe moved) vector. */
char **strv_push(char **v, char *s);
bool strv_contains(char *const *v, const char *s);
/* A new vector with copies of a's strings, then b's. */
char **strv_concat(char *const *a, char *const *b);
/* The strings joined by sep, as one owned string ("" for none). */
char *strv_join(char *const *v, const char *sep);
DEFINE_FREEP(char *, strv_free)
#define _cleanup_strv_ _cleanup_(strv_freep)

bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);
/* Parses a whole decimal string into *ret; -EINVAL/-ERANGE on failure. */
int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);

/* Reads a whole file (at most max bytes, 0 = 16 MiB) into a NUL-terminated buffer. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
/* Writes all of buf; retries on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
/* Reads exactly len bytes unless EOF comes first; returns bytes read or -errno. */
ssize_t read_all(int fd, void *buf, size_t len);
/* Reads fd (a child's pipe) to EOF or an error, keeping the first size - 1
 * bytes in out, NUL-terminated (the rest is read and dropped, so the writer
 * never blocks); returns the length kept. */
size_t read_to_eof(int fd, char *out, size_t size);
/* FNV-1a of s[0..n): a cheap name for cache entries, not a checksum. */
uint64_t hash_fnv1a(const char *s, size_t n);
/* Writes a file atomically: temp file in the same directory, fsync-free rename. */
int write_file_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode);

/* Monotonic milliseconds, for timeouts. */
int64_t now_ms(void);
