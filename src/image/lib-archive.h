/* libarchive, opened on first use (see core/lazylib.h): include this instead of
 * <archive.h> and <archive_entry.h>; calls read as usual. A function husk starts
 * to use must be added to both lists below. */
#pragma once
#include <archive.h>
#include <archive_entry.h>

#include "core/lazylib.h"

#ifndef HUSK_SONAME_ARCHIVE
#define HUSK_SONAME_ARCHIVE "libarchive.so.13"
#endif

#define ARCHIVE_LAZY_FNS(X)                                                                        \
        X(archive_entry_atime)                                                                     \
        X(archive_entry_atime_is_set)                                                              \
        X(archive_entry_atime_nsec)                                                                \
        X(archive_entry_copy_stat)                                                                 \
        X(archive_entry_filetype)                                                                  \
        X(archive_entry_free)                                                                      \
        X(archive_entry_gid)                                                                       \
        X(archive_entry_hardlink)                                                                  \
        X(archive_entry_mtime)                                                                     \
        X(archive_entry_mtime_nsec)                                                                \
        X(archive_entry_new)                                                                       \
        X(archive_entry_pathname)                                                                  \
        X(archive_entry_perm)                                                                      \
        X(archive_entry_rdev)                                                                      \
        X(archive_entry_rdevmajor)                                                                 \
        X(archive_entry_rdevminor)                                                                 \
        X(archive_entry_set_filetype)                                                              \
        X(archive_entry_set_gname)                                                                 \
        X(archive_entry_set_hardlink)                                                              \
        X(archive_entry_set_mtime)                                                                 \
        X(archive_entry_set_pathname)                                                              \
        X(archive_entry_set_perm)                                                                  \
        X(archive_entry_set_size)                                                                  \
        X(archive_entry_set_symlink)                                                               \
        X(archive_entry_set_uname)                                                                 \
        X(archive_entry_size)                                                                      \
        X(archive_entry_symlink)                                                                   \
        X(archive_entry_uid)                                                                       \
        X(archive_entry_xattr_add_entry)                                                           \
        X(archive_entry_xattr_next)                                                                \
        X(archive_entry_xattr_reset)                                                               \
        X(archive_errno)                                                                           \
        X(archive_error_string)                                                                    \
        X(archive_filter_count)                                                                    \
        X(archive_filter_name)                                                                     \
        X(archive_read_data_block)                                                                 \
        X(archive_read_data_into_fd)                                                               \
        X(archive_read_free)                                                                       \
        X(archive_read_new)                                                                        \
        X(archive_read_next_header)                                                                \
        X(archive_read_open)                                                                       \
        X(archive_read_open_fd)                                                                    \
        X(archive_read_support_filter_all)                                                         \
        X(archive_read_support_filter_bzip2)                                                       \
        X(archive_read_support_filter_gzip)                                                        \
        X(archive_read_support_filter_xz)                                                          \
        X(archive_read_support_filter_zstd)                                                        \
        X(archive_read_support_format_raw)                                                         \
        X(archive_read_support_format_tar)                                                         \
        X(archive_set_error)                                                                       \
        X(archive_write_close)                                                                     \
        X(archive_write_data)                                                                      \
        X(archive_write_free)                                                                      \
        X(archive_write_header)                                                                    \
        X(archive_write_new)                                                                       \
        X(archive_write_open)                                                                      \
        X(archive_write_open_fd)                                                                   \
        X(archive_write_set_bytes_in_last_block)                                                   \
        X(archive_write_set_format_pax_restricted)

struct lib_archive_fns {
#define ARCHIVE_LAZY_FIELD(f) __typeof__(f) *f;
        ARCHIVE_LAZY_FNS(ARCHIVE_LAZY_FIELD)
#undef ARCHIVE_LAZY_FIELD
};
extern struct lazylib lib_archive;
extern struct lib_archive_fns lib_archive_fns;

/* 0 when libarchive.so.13 is (or can now be) loaded; otherwise an error naming it. */
int lib_archive_need(struct error *err);

#ifndef LAZYLIB_IMPL
#define ARCHIVE_LAZY                          LAZYLIB_TABLE(lib_archive, lib_archive_fns)
#define archive_entry_atime                   (ARCHIVE_LAZY->archive_entry_atime)
#define archive_entry_atime_is_set            (ARCHIVE_LAZY->archive_entry_atime_is_set)
#define archive_entry_atime_nsec              (ARCHIVE_LAZY->archive_entry_atime_nsec)
#define archive_entry_copy_stat               (ARCHIVE_LAZY->archive_entry_copy_stat)
#define archive_entry_filetype                (ARCHIVE_LAZY->archive_entry_filetype)
#define archive_entry_free                    (ARCHIVE_LAZY->archive_entry_free)
#define archive_entry_gid                     (ARCHIVE_LAZY->archive_entry_gid)
#define archive_entry_hardlink                (ARCHIVE_LAZY->archive_entry_hardlink)
#define archive_entry_mtime                   (ARCHIVE_LAZY->archive_entry_mtime)
#define archive_entry_mtime_nsec              (ARCHIVE_LAZY->archive_entry_mtime_nsec)
#define archive_entry_new                     (ARCHIVE_LAZY->archive_entry_new)
#define archive_entry_pathname                (ARCHIVE_LAZY->archive_entry_pathname)
#define archive_entry_perm                    (ARCHIVE_LAZY->archive_entry_perm)
#define archive_entry_rdev                    (ARCHIVE_LAZY->archive_entry_rdev)
#define archive_entry_rdevmajor               (ARCHIVE_LAZY->archive_entry_rdevmajor)
#define archive_entry_rdevminor               (ARCHIVE_LAZY->archive_entry_rdevminor)
#define archive_entry_set_filetype            (ARCHIVE_LAZY->archive_entry_set_filetype)
#define archive_entry_set_gname               (ARCHIVE_LAZY->archive_entry_set_gname)
#define archive_entry_set_hardlink            (ARCHIVE_LAZY->archive_entry_set_hardlink)
#define archive_entry_set_mtime               (ARCHIVE_LAZY->archive_entry_set_mtime)
#define archive_entry_set_pathname            (ARCHIVE_LAZY->archive_entry_set_pathname)
#define archive_entry_set_perm                (ARCHIVE_LAZY->archive_entry_set_perm)
#define archive_entry_set_size                (ARCHIVE_LAZY->archive_entry_set_size)
#define archive_entry_set_symlink             (ARCHIVE_LAZY->archive_entry_set_symlink)
#define archive_entry_set_uname               (ARCHIVE_LAZY->archive_entry_set_uname)
#define archive_entry_size                    (ARCHIVE_LAZY->archive_entry_size)
#define archive_entry_symlink                 (ARCHIVE_LAZY->archive_entry_symlink)
#define archive_entry_uid                     (ARCHIVE_LAZY->archive_entry_uid)
#define archive_entry_xattr_add_entry         (ARCHIVE_LAZY->archive_entry_xattr_add_entry)
#define archive_entry_xattr_next              (ARCHIVE_LAZY->archive_entry_xattr_next)
#define archive_entry_xattr_reset             (ARCHIVE_LAZY->archive_entry_xattr_reset)
#define archive_errno                         (ARCHIVE_LAZY->archive_errno)
#define archive_error_string                  (ARCHIVE_LAZY->archive_error_string)
#define archive_filter_count                  (ARCHIVE_LAZY->archive_filter_count)
#define archive_filter_name                   (ARCHIVE_LAZY->archive_filter_name)
#define archive_read_data_block               (ARCHIVE_LAZY->archive_read_data_block)
#define archive_read_data_into_fd             (ARCHIVE_LAZY->archive_read_data_into_fd)
#define archive_read_free                     (ARCHIVE_LAZY->archive_read_free)
#define archive_read_new                      (ARCHIVE_LAZY->archive_read_new)
#define archive_read_next_header              (ARCHIVE_LAZY->archive_read_next_header)
#define archive_read_open                     (ARCHIVE_LAZY->archive_read_open)
#define archive_read_open_fd                  (ARCHIVE_LAZY->archive_read_open_fd)
#define archive_read_support_filter_all       (ARCHIVE_LAZY->archive_read_support_filter_all)
#define archive_read_support_filter_bzip2     (ARCHIVE_LAZY->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip      (ARCHIVE_LAZY->archive_read_support_filter_gzip)
#define archive_read_support_filter_xz        (ARCHIVE_LAZY->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd      (ARCHIVE_LAZY->archive_read_support_filter_zstd)
#define archive_read_support_format_raw       (ARCHIVE_LAZY->archive_read_support_format_raw)
#define archive_read_support_format_tar       (ARCHIVE_LAZY->archive_read_support_format_tar)
#define archive_set_error                     (ARCHIVE_LAZY->archive_set_error)
#define archive_write_close                   (ARCHIVE_LAZY->archive_write_close)
#define archive_write_data                    (ARCHIVE_LAZY->archive_write_data)
#define archive_write_free                    (ARCHIVE_LAZY->archive_write_free)
#define archive_write_header                  (ARCHIVE_LAZY->archive_write_header)
#define archive_write_new                     (ARCHIVE_LAZY->archive_write_new)
#define archive_write_open                    (ARCHIVE_LAZY->archive_write_open)
#define archive_write_open_fd                 (ARCHIVE_LAZY->archive_write_open_fd)
#define archive_write_set_bytes_in_last_block (ARCHIVE_LAZY->archive_write_set_bytes_in_last_block)
#define archive_write_set_format_pax_restricted                                                    \
        (ARCHIVE_LAZY->archive_write_set_format_pax_restricted)
#endif
