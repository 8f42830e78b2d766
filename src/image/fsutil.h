/* File-tree helpers for the image store: fd-based, never following symlinks. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

/* Removes name (a file, or a directory and everything below) inside dirfd.
 * Symlinks are removed, never followed. A missing name is not an error. */
int rm_rf_at(int dirfd, const char *name);
/* Makes a fresh, uniquely named directory "PREFIX-XXXXXX" inside dirfd;
 * the name is written to ret_name (at least 64 bytes). */
int mkdtemp_at(int dirfd, const char *prefix, char *ret_name, size_t len);
/* Sums the sizes of regular files below dirfd (for sizes of unpacked layers). */
int tree_size_at(int dirfd, uint64_t *ret);
