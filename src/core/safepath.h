/* Resolving paths inside a root without escaping it.
 *
 * Paths that a config, an image or a tar entry supplies are resolved with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) against a directory fd
 * that stands for the root: "..", absolute paths and symlinks all stay inside
 * it, and a rename race can't carry the walk out. Work is then done through
 * the returned fd (or /proc/self/fd/N), never through a joined path string.
 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

/* Opens path inside root (flags as open(2); O_CLOEXEC is added). */
int safe_open(int rootfd, const char *path, int flags, mode_t mode, int *ret_fd);
/* Opens path inside root only if no component is a symlink (RESOLVE_NO_SYMLINKS):
 * -ELOOP when one is. On success the file is exactly at the path as written
 * (after "." / ".." clamping), which saves re-reading where it landed. */
int safe_open_literal(int rootfd, const char *path, int flags, int *ret_fd);
/* True when path has no ".", ".." or empty components (so it names one place). */
bool safe_path_is_clean(const char *path);
/* Creates every missing directory of path inside root; returns an O_PATH fd of the last. */
int safe_mkdir_p(int rootfd, const char *path, mode_t mode, int *ret_fd);
/* Creates (if missing) the file at path inside root and its parents; returns an O_PATH fd. */
int safe_touch(int rootfd, const char *path, mode_t mode, int *ret_fd);
/* Writes "/proc/self/fd/N" into buf (at least 32 bytes). */
const char *fd_proc_path(int fd, char *buf);
/* Like safe_open, but refuses every symlink on the way (ELOOP), including a
 * trailing one unless flags has O_PATH|O_NOFOLLOW (then the link itself is
 * opened), and never crosses a mount: for trees that must not redirect
 * anything, such as an image layer being unpacked. */
int safe_open_nosymlinks(int rootfd, const char *path, int flags, mode_t mode, int *ret_fd);
