#include "image/stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>

#include "core/util.h"

#define BOMB_FLOOR (1ull << 30)
#define BOMB_RATIO 1000

struct ustream {
        struct archive *a;
        char *what;
        struct digester d;
        uint64_t out, max;
        bool eof, digested;
};

static int arch_err(struct ustream *s, struct error *err, const char *doing)
{
        const char *m = archive_error_string(s->a);
        int e = archive_errno(s->a);
        return error_msg(err, e > 0 ? -e : -EINVAL, "%s: %s: %s", s->what, doing,
                         m ? m : "unknown libarchive error");
}

int ustream_open(int fd, const char *what, uint64_t max_bytes, struct ustream **ret,
                 struct error *err)
{
        _cleanup_(ustream_freep) struct ustream *s = xzalloc(sizeof(*s));
        s->what = xstrdup(what);
        s->max = max_bytes;
        digester_init(&s->d);
        s->a = archive_read_new();
        if (!s->a)
                return error_msg(err, -ENOMEM, "%s: out of memory", what);
        archive_read_support_filter_gzip(s->a);
        archive_read_support_filter_zstd(s->a);
        archive_read_support_filter_xz(s->a);
        archive_read_support_filter_bzip2(s->a);
        archive_read_support_format_raw(s->a);
        if (archive_read_open_fd(s->a, fd, 256 * 1024) != ARCHIVE_OK) {
                /* libarchive refuses a stream with no bytes at all: that is empty data. */
                if (archive_filter_bytes(s->a, -1) > 0)
                        return arch_err(s, err, "open");
                s->eof = true;
                *ret = TAKE_PTR(s);
                return 0;
        }
        struct archive_entry *e;
        int r = archive_read_next_header(s->a, &e);
        if (r == ARCHIVE_EOF) {
                s->eof = true; /* empty input */
        } else if (r < ARCHIVE_WARN) {
                /* The raw format refuses an empty stream; treat that as empty data. */
                if (archive_filter_bytes(s->a, -1) == 0) {
                        s->eof = true;
                } else {
                        return arch_err(s, err, "read");
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

ssize_t ustream_read(struct ustream *s, const void **buf, struct error *err)
{
        if (s->eof)
                return 0;
        size_t len = 0;
        la_int64_t off = 0;
        int r = archive_read_data_block(s->a, buf, &len, &off);
        if (r == ARCHIVE_EOF) {
                s->eof = true;
                return 0;
        }
        if (r < ARCHIVE_WARN)
                return arch_err(s, err, "decompress");
        s->out += len;
        digester_update(&s->d, *buf, len);
        uint64_t in = (uint64_t)archive_filter_bytes(s->a, -1);
        if (s->max && s->out > s->max)
                return error_msg(err, -EFBIG,
                                 "%s: uncompressed data exceeds the limit of %llu bytes", s->what,
                                 (unsigned long long)s->max);
        if (s->out > BOMB_FLOOR && in && s->out / in > BOMB_RATIO)
                return error_msg(err, -EFBIG,
                                 "%s: refusing a decompression bomb (%llu bytes from %llu, ratio "
                                 "above %d:1)",
                                 s->what, (unsigned long long)s->out, (unsigned long long)in,
                                 BOMB_RATIO);
        return (ssize_t)len;
}

uint64_t ustream_bytes(struct ustream *s)
{
        return s->out;
}

bool ustream_compressed(struct ustream *s)
{
        return archive_filter_count(s->a) > 1;
}

const char *ustream_filter(struct ustream *s)
{
        if (archive_filter_count(s->a) <= 1)
                return "none";
        return archive_filter_name(s->a, 0);
}

void ustream_digest(struct ustream *s, char out[DIGEST_STR_MAX])
{
        digester_final(&s->d, out);
        s->digested = true;
}

void ustream_free(struct ustream *s)
{
        if (!s)
                return;
        if (s->a)
                archive_read_free(s->a);
        if (!s->digested)
                digester_free(&s->d);
        free(s->what);
        free(s);
}
