/* image/stream.h: gzip through ISA-L (one or several members, truncated,
 * corrupt, trailing data), zstd and plain input, both from a regular file
 * (helper thread) and from a pipe (caller's thread). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/util.h"
#include "image/stream.h"
#include "unit.h"

struct buf {
        unsigned char *p;
        size_t n;
};

/* Compressible but not trivial: words from a small PRNG. */
static struct buf sample(size_t n, unsigned seed)
{
        struct buf b = {xmalloc(n), n};
        static const char *words[] = {"layer ", "tar ", "gzip ", "husk ", "\n", "0123 ", "zz "};
        size_t o = 0;
        while (o < n) {
                seed = seed * 1103515245u + 12345u;
                const char *w = words[(seed >> 16) % 7];
                size_t k = strlen(w);
                if (k > n - o)
                        k = n - o;
                memcpy(b.p + o, w, k);
                o += k;
                if ((seed >> 8) % 5 == 0 && o < n)
                        b.p[o++] = (unsigned char)(seed >> 3);
        }
        return b;
}

/* Compresses with libarchive's writer (zlib's gzip, libzstd's zstd). */
static struct buf compress(const struct buf *in, const char *filter)
{
        struct archive *a = archive_write_new();
        archive_write_set_format_raw(a);
        if (strcmp(filter, "gzip") == 0)
                archive_write_add_filter_gzip(a);
        else
                archive_write_add_filter_zstd(a);
        size_t cap = in->n + (1 << 16), used = 0;
        unsigned char *out = xmalloc(cap);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open_memory(a, out, cap, &used) != ARCHIVE_OK)
                abort();
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "x");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)in->n);
        archive_write_header(a, e);
        archive_write_data(a, in->p, in->n);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        return (struct buf){out, used};
}

static struct buf concat(const struct buf *a, const struct buf *b)
{
        struct buf r = {xmalloc(a->n + b->n + 1), a->n + b->n};
        if (a->n)
                memcpy(r.p, a->p, a->n);
        if (b->n)
                memcpy(r.p + a->n, b->p, b->n);
        return r;
}

static char *write_tmp(const struct buf *b)
{
        char *path = xstrdup("/tmp/husk-stream-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0 || write_all(fd, b->p, b->n) < 0)
                abort();
        close(fd);
        return path;
}

/* A pipe a child fills with b (as `husk import -` reads stdin). */
static int pipe_of(const struct buf *b, pid_t *ret_pid)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                abort();
        pid_t pid = fork();
        if (pid == 0) {
                close(p[0]);
                signal(SIGPIPE, SIG_DFL);
                write_all(p[1], b->p, b->n);
                _exit(0);
        }
        close(p[1]);
        *ret_pid = pid;
        return p[0];
}

/* Threads of this process, from /proc/self/task. */
static int threads(void)
{
        int n = 0;
        DIR *d = opendir("/proc/self/task");
        for (struct dirent *e; d && (e = readdir(d));)
                n += e->d_name[0] != '.';
        if (d)
                closedir(d);
        return n;
}

struct result {
        int r;
        int threads_while, threads_after; /* during the first read, after free */
        struct buf out;
        char diff[DIGEST_STR_MAX], input[DIGEST_STR_MAX];
        char filter[16];
        struct error err;
};

/* Reads the whole stream; stop_after > 0 frees it after that many blocks. */
static struct result run(const struct buf *in, bool use_pipe, int stop_after)
{
        struct result res = {0};
        pid_t pid = -1;
        int fd;
        char *path = NULL;
        if (use_pipe) {
                fd = pipe_of(in, &pid);
        } else {
                path = write_tmp(in);
                fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        struct ustream *s = NULL;
        res.r = ustream_open(fd, "test", 0, &s, &res.err);
        size_t cap = 0;
        int blocks = 0;
        while (res.r == 0) {
                const void *p;
                ssize_t n = ustream_read(s, &p, &res.err);
                if (n < 0) {
                        res.r = (int)n;
                        break;
                }
                if (n == 0) {
                        ustream_digest(s, res.diff);
                        ustream_input_digest(s, res.input);
                        snprintf(res.filter, sizeof(res.filter), "%s", ustream_filter(s));
                        if (ustream_bytes(s) != res.out.n)
                                res.r = -EPROTO;
                        break;
                }
                if (res.out.n + (size_t)n > cap) {
                        cap = 2 * (res.out.n + (size_t)n);
                        res.out.p = xrealloc(res.out.p, cap);
                }
                memcpy(res.out.p + res.out.n, p, (size_t)n);
                res.out.n += (size_t)n;
                if (!res.threads_while)
                        res.threads_while = threads();
                if (stop_after && ++blocks == stop_after)
                        break;
        }
        ustream_free(s);
        res.threads_after = threads();
        close(fd);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        if (path) {
                unlink(path);
                free(path);
        }
        return res;
}

static bool same(const struct buf *a, const struct buf *b)
{
        return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

static void digest_of(const struct buf *b, char out[DIGEST_STR_MAX])
{
        digest_buffer(b->p, b->n, out);
}

TEST(stream_gzip_file_and_pipe)
{
        struct buf data = sample(5 << 20, 1); /* several 1 MiB blocks */
        struct buf gz = compress(&data, "gzip");
        char want_diff[DIGEST_STR_MAX], want_in[DIGEST_STR_MAX];
        digest_of(&data, want_diff);
        digest_of(&gz, want_in);
        CHECK(gz.n > (1 << 20)); /* big enough for the helper thread */
        for (int pipe = 0; pipe < 2; pipe++) {
                struct result r = run(&gz, pipe, 0);
                CHECK(r.r == 0);
                CHECK(same(&r.out, &data));
                CHECK_STR(r.diff, want_diff);
                CHECK_STR(r.input, want_in);
                CHECK_STR(r.filter, "gzip");
                /* A file gets the helper thread, a pipe does not; none is left after. */
                CHECK(r.threads_while == (pipe ? 1 : 2));
                CHECK(r.threads_after == 1);
                free(r.out.p);
        }
        free(gz.p);
        free(data.p);
}

TEST(stream_gzip_members_are_one_stream)
{
        struct buf a = sample(1 << 20, 2), b = sample(300000, 3), empty = {xmalloc(1), 0};
        struct buf ga = compress(&a, "gzip"), gb = compress(&b, "gzip"),
                   ge = compress(&empty, "gzip");
        struct buf gab = concat(&ga, &gb), gabe = concat(&gab, &ge), ab = concat(&a, &b);
        for (int pipe = 0; pipe < 2; pipe++) {
                struct result r = run(&gabe, pipe, 0);
                CHECK(r.r == 0);
                CHECK(same(&r.out, &ab));
                free(r.out.p);
        }
        /* A member of nothing at all is an empty stream. */
        struct result r = run(&ge, false, 0);
        CHECK(r.r == 0 && r.out.n == 0);
        CHECK_STR(r.diff,
                  "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        free(r.out.p);
        free(a.p), free(b.p), free(empty.p), free(ga.p), free(gb.p), free(ge.p);
        free(gab.p), free(gabe.p), free(ab.p);
}

static void expect_error(int *unit_failed, const struct buf *in, const char *what)
{
        for (int pipe = 0; pipe < 2; pipe++) {
                struct result r = run(in, pipe, 0);
                CHECK(r.r < 0);
                if (!strstr(r.err.msg, what)) {
                        printf("  error '%s' lacks '%s'\n", r.err.msg, what);
                        *unit_failed = 1;
                }
                CHECK(strncmp(r.err.msg, "test: ", 6) == 0);
                free(r.out.p);
        }
}

TEST(stream_gzip_bad_input)
{
        struct buf data = sample(2 << 20, 4);
        struct buf gz = compress(&data, "gzip");
        /* Cut short: in the middle, and just before the trailer's last byte. */
        struct buf cut = {gz.p, gz.n / 2};
        expect_error(unit_failed, &cut, "truncated");
        cut.n = gz.n - 1;
        expect_error(unit_failed, &cut, "truncated");
        /* The CRC in the trailer does not match. */
        struct buf bad = concat(&gz, &(struct buf){NULL, 0});
        bad.p[bad.n - 8] ^= 1;
        expect_error(unit_failed, &bad, "checksum mismatch");
        /* Garbage in the deflate data. */
        memcpy(bad.p, gz.p, gz.n);
        memset(bad.p + 100, 0xff, 64);
        expect_error(unit_failed, &bad, "decompress: gzip:");
        /* Anything but another member after the end. */
        struct buf junk = concat(&gz, &(struct buf){(unsigned char *)"junk", 4});
        expect_error(unit_failed, &junk, "data after the end");
        struct buf one = concat(&gz, &(struct buf){(unsigned char *)"\x1f", 1});
        expect_error(unit_failed, &one, "data after the end");
        /* gzip's magic, then no deflate method. */
        struct buf hdr = {(unsigned char *)"\x1f\x8b not really gzip", 19};
        expect_error(unit_failed, &hdr, "unsupported compression method");
        free(data.p), free(gz.p), free(bad.p), free(junk.p), free(one.p);
}

TEST(stream_zstd_and_plain)
{
        struct buf data = sample(3 << 20, 5);
        struct buf zs = compress(&data, "zstd");
        char want[DIGEST_STR_MAX], want_in[DIGEST_STR_MAX];
        digest_of(&data, want);
        digest_of(&zs, want_in);
        for (int pipe = 0; pipe < 2; pipe++) {
                struct result r = run(&zs, pipe, 0);
                CHECK(r.r == 0);
                CHECK(same(&r.out, &data));
                CHECK_STR(r.diff, want);
                CHECK_STR(r.input, want_in);
                CHECK_STR(r.filter, "zstd");
                free(r.out.p);
                r = run(&data, pipe, 0);
                CHECK(r.r == 0);
                CHECK(same(&r.out, &data));
                CHECK_STR(r.diff, want);
                CHECK_STR(r.input, want);
                CHECK_STR(r.filter, "none");
                free(r.out.p);
        }
        struct buf empty = {NULL, 0};
        struct result r = run(&empty, false, 0);
        CHECK(r.r == 0 && r.out.n == 0);
        CHECK_STR(r.input,
                  "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        free(r.out.p);
        free(zs.p), free(data.p);
}

TEST(stream_free_midway_stops_the_thread)
{
        /* The helper thread is blocked on full slots; free must stop and join it. */
        struct buf data = sample(12 << 20, 6);
        struct buf gz = compress(&data, "gzip");
        struct result r = run(&gz, false, 1);
        CHECK(r.r == 0 && r.out.n > 0 && r.out.n < data.n);
        CHECK(gz.n > (1 << 20) && r.threads_while == 2 && r.threads_after == 1);
        CHECK(memcmp(r.out.p, data.p, r.out.n) == 0);
        free(r.out.p), free(gz.p), free(data.p);
}

UNIT_MAIN()
