/* The one thin layer every kernel-facing step goes through.
 *
 * Each wrapper performs one step and, when --explain is on, first prints it
 * as the shell command a person could type to do the same thing by hand
 * ("$ mount -t proc proc /proc"). The printed command must be accurate: it
 * names the real source, target, flags and values. `shown` arguments are the
 * paths as a person would see them (a target may be reached through
 * /proc/self/fd/N for safety; the explanation names the real place).
 *
 * All wrappers return 0 or a negative errno and never print errors.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Turns explanations on, written to fd (which the caller keeps open). */
void explain_enable(int fd);
bool explain_on(void);
/* Prints one explanation line "$ CMD" (fmt is the command). */
void explain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a "# TEXT" comment line: context for the commands that follow. */
void explain_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Passes on explanations another process (husk's container monitor) wrote, as they are. */
void explain_forward(const char *buf, size_t len);
/* Returns s quoted for a POSIX shell when it needs quoting, in a static ring buffer. */
const char *shq(const char *s);

/* Renders MS_* flags and data as mount(8) -o options into buf. */
void mount_flags_string(unsigned long flags, const char *data, char *buf, size_t len);

int sys_mount(const char *src, const char *target, const char *shown_target, const char *type,
              unsigned long flags, const char *data);
int sys_umount(const char *target, const char *shown, int flags);
int sys_pivot_root(const char *new_root, const char *put_old, const char *shown);
int sys_unshare(int flags);
int sys_setns(int fd, int nstype, const char *shown_path);
int sys_sethostname(const char *name);
int sys_setdomainname(const char *name);
/* Writes value to the file (O_WRONLY|O_TRUNC, no create), shown as echo VALUE > shown. */
int sys_write_file_at(int dirfd, const char *path, const char *shown, const char *value);
int sys_mkdir_at(int dirfd, const char *path, const char *shown, mode_t mode);
int sys_rmdir_at(int dirfd, const char *path, const char *shown);
int sys_mknod_at(int dirfd, const char *path, const char *shown, mode_t mode, dev_t dev);
int sys_symlink_at(const char *target, int dirfd, const char *path, const char *shown);
int sys_chdir(const char *path);
int sys_chroot(const char *path);
/* Describes a clone of the container's first process with CLONE_NEW* flags. */
void explain_clone(int ns_flags, const char *what);
/* Names of CLONE_NEW* flags as unshare(1) long options ("--mount --pid ..."). */
void ns_flags_string(int flags, char *buf, size_t len);

/* Added for the rootfs setup. */
int sys_fchdir(int fd, const char *shown);
int sys_unlink_at(int dirfd, const char *path, const char *shown);
int sys_chown_at(int dirfd, const char *path, const char *shown, uid_t uid, gid_t gid);
/* Attributes for a detached bind mount (new mount API). */
struct sys_mount_attr {
        uint64_t attr_set, attr_clr; /* MOUNT_ATTR_*, applied to the whole cloned tree */
        int userns_fd;               /* >= 0: idmap the mount with this user namespace */
        bool idmap_recursive;        /* idmap submounts too (AT_RECURSIVE) */
        const char *idmap_shown;     /* the mapping as mount(8) X-mount.idmap= text */
};
/* Clones the tree at src (open_tree OPEN_TREE_CLONE, AT_RECURSIVE when recursive),
 * applies a's attributes to the detached clone (mount_setattr), then attaches it
 * at target (move_mount). Explained as the mount(8) bind command that does the
 * same with the new mount API ("mount --bind -o X-mount.idmap=... src dst"). */
int sys_mount_bind_attr(const char *src, const char *target, const char *shown_target,
                        bool recursive, const struct sys_mount_attr *a);
/* mount_setattr() on an attached mount (AT_RECURSIVE when recursive). */
int sys_mount_setattr(const char *target, const char *shown, bool recursive, uint64_t attr_set,
                      uint64_t attr_clr);
