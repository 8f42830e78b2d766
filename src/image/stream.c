#include "image/stream.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "core/lib-crypto.h"
#include "image/lib-archive.h"
#include "image/lib-isal.h"

#define BOMB_FLOOR (1ull << 30)
#define BOMB_RATIO 1000
/* Input is read in IN_SIZE pieces; output handed out in SLOT_SIZE blocks,
 * NSLOTS of them in flight between the helper thread and the caller. Big
 * blocks let the tar reader hand whole files to write() at once. */
#define IN_SIZE   (256u << 10)
#define SLOT_SIZE (1u << 20)
#define NSLOTS    4
/* Smaller inputs are done before a thread would pay off. */
#define THREAD_MIN (1u << 20)

enum kind { KIND_PLAIN, KIND_GZIP, KIND_ARCHIVE };

static size_t min_size(size_t a, size_t b)
{
        return a < b ? a : b;
}

struct ustream {
        int fd, tee_fd;
        char *what;
        enum kind kind;
        uint64_t max;
        /* Producer side: only the helper thread touches these while it runs. */
        struct digester d, din; /* uncompressed, input */
        uint64_t in, out;
        unsigned char *inbuf;
        size_t in_pos, in_len; /* unconsumed input is inbuf[in_pos, in_len) */
        bool in_eof, prod_done;
        struct inflate_state *inf;
        struct archive *a;
        const unsigned char *a_blk; /* rest of the last libarchive block */
        size_t a_len;
        bool a_empty; /* libarchive found no data at all */
        char diff[DIGEST_STR_MAX], input[DIGEST_STR_MAX];
        /* Hand-over between producer and consumer. */
        unsigned char *slot[NSLOTS];
        size_t slot_len[NSLOTS];
        unsigned long produced, consumed; /* slots filled / released */
        bool holding;                     /* the caller holds slot consumed % NSLOTS */
        bool done, stop;                  /* producer finished / asked to stop */
        int result;                       /* producer's final status: 0 or negative errno */
        struct error perr;
        bool threaded, running;
        uint64_t handed; /* bytes handed to the caller: the caller's own count */
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t cv;
};

/* ---- input ---- */

/* Moves unconsumed input to the front and reads more once (or sees EOF). */
static int refill(struct ustream *s, struct error *err)
{
        if (s->in_pos) {
                memmove(s->inbuf, s->inbuf + s->in_pos, s->in_len - s->in_pos);
                s->in_len -= s->in_pos;
                s->in_pos = 0;
        }
        if (s->in_len == IN_SIZE)
                return 0; /* full: nothing to read into (callers refill when nearly empty) */
        for (;;) {
                ssize_t n = read(s->fd, s->inbuf + s->in_len, IN_SIZE - s->in_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_sys(err, -errno, "%s: read", s->what);
                if (n == 0)
                        s->in_eof = true;
                digester_update(&s->din, s->inbuf + s->in_len, (size_t)n);
                s->in += (uint64_t)n;
                s->in_len += (size_t)n;
                return 0;
        }
}

/* libarchive's read callback: what is buffered first, then the fd. */
static la_ssize_t archive_read_cb(struct archive *a, void *client, const void **buf)
{
        struct ustream *s = client;
        if (s->in_pos == s->in_len) {
                s->in_pos = s->in_len = 0;
                if (!s->in_eof) {
                        int r = refill(s, &s->perr);
                        if (r < 0) {
                                archive_set_error(a, -r, "%s", s->perr.msg);
                                return -1;
                        }
                }
        }
        *buf = s->inbuf + s->in_pos;
        size_t n = s->in_len - s->in_pos;
        s->in_pos = s->in_len;
        return (la_ssize_t)n;
}

static int arch_err(struct ustream *s, struct error *err, const char *doing)
{
        const char *m = archive_error_string(s->a);
        int e = archive_errno(s->a);
        return error_msg(err, e > 0 ? -e : -EINVAL, "%s: %s: %s", s->what, doing,
                         m ? m : "unknown libarchive error");
}

static int archive_begin(struct ustream *s, struct error *err)
{
        s->a = archive_read_new();
        if (!s->a)
                return error_msg(err, -ENOMEM, "%s: out of memory", s->what);
        archive_read_support_filter_zstd(s->a);
        archive_read_support_filter_xz(s->a);
        archive_read_support_filter_bzip2(s->a);
        archive_read_support_format_raw(s->a);
        if (archive_read_open(s->a, s, NULL, archive_read_cb, NULL) != ARCHIVE_OK)
                return arch_err(s, err, "open");
        struct archive_entry *e;
        int r = archive_read_next_header(s->a, &e);
        if (r == ARCHIVE_EOF)
                s->a_empty = true;
        else if (r < ARCHIVE_WARN)
                return arch_err(s, err, "read");
        return 0;
}

/* ---- producing uncompressed data ---- */

static int gzip_error(struct ustream *s, int code, struct error *err)
{
        const char *why = code == ISAL_INVALID_WRAPPER      ? "not a valid gzip header"
                          : code == ISAL_UNSUPPORTED_METHOD ? "unsupported compression method"
                          : code == ISAL_INCORRECT_CHECKSUM
                              ? "checksum mismatch (the data is corrupt)"
                              : "corrupt deflate data";
        return error_msg(err, -EBADMSG, "%s: decompress: gzip: %s", s->what, why);
}

/* Inflates into out until it is full or the last member ends. */
static ssize_t gzip_fill(struct ustream *s, unsigned char *out, size_t cap, struct error *err)
{
        struct inflate_state *st = s->inf;
        st->next_out = out;
        st->avail_out = (uint32_t)cap;
        while (st->avail_out) {
                if (st->block_state == ISAL_BLOCK_FINISH) {
                        /* End of a member: another one follows, or the input ends. */
                        size_t left = s->in_len - s->in_pos;
                        if (left < 2 && !s->in_eof) {
                                int r = refill(s, err);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (left == 0) {
                                s->prod_done = true;
                                break;
                        }
                        const unsigned char *p = s->inbuf + s->in_pos;
                        if (left < 2 || p[0] != 0x1f || p[1] != 0x8b)
                                return error_msg(err, -EBADMSG,
                                                 "%s: decompress: gzip: data after the end of the "
                                                 "compressed stream",
                                                 s->what);
                        unsigned char *next_out = st->next_out;
                        uint32_t avail_out = st->avail_out;
                        isal_inflate_reset(st);
                        st->crc_flag = ISAL_GZIP;
                        st->next_out = next_out;
                        st->avail_out = avail_out;
                        continue;
                }
                if (s->in_pos == s->in_len) {
                        if (s->in_eof)
                                return error_msg(err, -EBADMSG,
                                                 "%s: decompress: gzip: truncated input (the "
                                                 "compressed stream ends early)",
                                                 s->what);
                        int r = refill(s, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                st->next_in = s->inbuf + s->in_pos;
                st->avail_in = (uint32_t)(s->in_len - s->in_pos);
                uint32_t before_in = st->avail_in, before_out = st->avail_out;
                int r = isal_inflate(st);
                s->in_pos = s->in_len - st->avail_in;
                if (r < 0)
                        return gzip_error(s, r, err);
                if (st->avail_in == before_in && st->avail_out == before_out &&
                    st->block_state != ISAL_BLOCK_FINISH)
                        return gzip_error(s, ISAL_INVALID_BLOCK, err);
        }
        return (ssize_t)(cap - st->avail_out);
}

static ssize_t plain_fill(struct ustream *s, unsigned char *out, size_t cap, struct error *err)
{
        size_t n = 0;
        /* What detection read first. */
        if (s->in_pos < s->in_len) {
                n = min_size(cap, s->in_len - s->in_pos);
                memcpy(out, s->inbuf + s->in_pos, n);
                s->in_pos += n;
        }
        while (n < cap) {
                ssize_t r = read(s->fd, out + n, cap - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return error_sys(err, -errno, "%s: read", s->what);
                if (r == 0) {
                        s->prod_done = true;
                        break;
                }
                digester_update(&s->din, out + n, (size_t)r);
                s->in += (uint64_t)r;
                n += (size_t)r;
        }
        return (ssize_t)n;
}

static ssize_t archive_fill(struct ustream *s, unsigned char *out, size_t cap, struct error *err)
{
        size_t n = 0;
        if (s->a_empty) {
                s->prod_done = true;
                return 0;
        }
        while (n < cap) {
                if (!s->a_len) {
                        const void *buf;
                        size_t len = 0;
                        la_int64_t off = 0;
                        int r = archive_read_data_block(s->a, &buf, &len, &off);
                        if (r == ARCHIVE_EOF) {
                                s->prod_done = true;
                                break;
                        }
                        if (r < ARCHIVE_WARN)
                                return arch_err(s, err, "decompress");
                        s->a_blk = buf;
                        s->a_len = len;
                }
                size_t k = min_size(cap - n, s->a_len);
                memcpy(out + n, s->a_blk, k);
                s->a_blk += k;
                s->a_len -= k;
                n += k;
        }
        return (ssize_t)n;
}

/* Reads what is left of the input after the end of the data, so the input
 * digest covers the whole of it (libarchive may stop short of the end). */
static int drain_input(struct ustream *s, struct error *err)
{
        while (!s->in_eof) {
                s->in_pos = s->in_len = 0;
                int r = refill(s, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The next block of uncompressed data into out: its length, 0 at the end,
 * or a negative errno. Hashes it and applies the size limits. */
static ssize_t produce(struct ustream *s, unsigned char *out, size_t cap, struct error *err)
{
        if (s->prod_done)
                return 0;
        ssize_t n = s->kind == KIND_GZIP    ? gzip_fill(s, out, cap, err)
                    : s->kind == KIND_PLAIN ? plain_fill(s, out, cap, err)
                                            : archive_fill(s, out, cap, err);
        if (n < 0)
                return n;
        if (s->kind != KIND_PLAIN) /* plain input is hashed as it is read */
                digester_update(&s->d, out, (size_t)n);
        if (s->tee_fd >= 0 && n > 0) {
                int r = write_all(s->tee_fd, out, (size_t)n);
                if (r < 0)
                        return error_sys(err, r, "%s: write the uncompressed copy", s->what);
        }
        s->out += (uint64_t)n;
        if (s->max && s->out > s->max)
                return error_msg(err, -EFBIG,
                                 "%s: uncompressed data exceeds the limit of %llu bytes", s->what,
                                 (unsigned long long)s->max);
        if (s->out > BOMB_FLOOR && s->in && s->out / s->in > BOMB_RATIO)
                return error_msg(err, -EFBIG,
                                 "%s: refusing a decompression bomb (%llu bytes from %llu, ratio "
                                 "above %d:1)",
                                 s->what, (unsigned long long)s->out, (unsigned long long)s->in,
                                 BOMB_RATIO);
        if (n == 0 || s->prod_done) {
                if (s->kind == KIND_ARCHIVE) {
                        int r = drain_input(s, err);
                        if (r < 0)
                                return r;
                }
                digester_final(&s->din, s->input);
                if (s->kind == KIND_PLAIN)
                        memcpy(s->diff, s->input, sizeof(s->diff));
                else
                        digester_final(&s->d, s->diff);
        }
        return n;
}

/* ---- the helper thread ---- */

static void *producer_main(void *arg)
{
        struct ustream *s = arg;
        for (;;) {
                pthread_mutex_lock(&s->mu);
                while (!s->stop && s->produced - s->consumed == NSLOTS)
                        pthread_cond_wait(&s->cv, &s->mu);
                bool stop = s->stop;
                pthread_mutex_unlock(&s->mu);
                if (stop)
                        break;
                /* This slot is neither held by the caller nor handed out yet. */
                unsigned i = (unsigned)(s->produced % NSLOTS);
                ssize_t n = produce(s, s->slot[i], SLOT_SIZE, &s->perr);
                pthread_mutex_lock(&s->mu);
                if (n > 0) {
                        s->slot_len[i] = (size_t)n;
                        s->produced++;
                }
                if (n <= 0 || s->prod_done) {
                        s->done = true;
                        s->result = n < 0 ? (int)n : 0;
                }
                bool done = s->done;
                pthread_cond_broadcast(&s->cv);
                pthread_mutex_unlock(&s->mu);
                if (done)
                        break;
        }
        return NULL;
}

static int start_thread(struct ustream *s, struct error *err)
{
        for (unsigned i = 0; i < NSLOTS; i++)
                s->slot[i] = xmalloc(SLOT_SIZE);
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        s->threaded = true;
        /* Signals stay with the caller's thread. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(&s->thread, NULL, producer_main, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return error_sys(err, -r, "%s: start the decompression thread", s->what);
        s->running = true;
        return 0;
}

static void stop_thread(struct ustream *s)
{
        if (!s->running)
                return;
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->running = false;
}

/* ---- public ---- */

static bool has_magic(const unsigned char *p, size_t n, const char *magic, size_t len)
{
        return n >= len && memcmp(p, magic, len) == 0;
}

int ustream_open(int fd, const char *what, uint64_t max_bytes, struct ustream **ret,
                 struct error *err)
{
        return ustream_open_tee(fd, what, max_bytes, -1, ret, err);
}

int ustream_open_tee(int fd, const char *what, uint64_t max_bytes, int tee_fd, struct ustream **ret,
                     struct error *err)
{
        /* Every layer needs digests and libarchive; gzip ones libisal. */
        if (lib_crypto_need(err) < 0 || lib_archive_need(err) < 0 || lib_isal_need(err) < 0)
                return err->code;
        _cleanup_(ustream_freep) struct ustream *s = xzalloc(sizeof(*s));
        s->fd = fd;
        s->tee_fd = tee_fd;
        s->what = xstrdup(what);
        s->max = max_bytes;
        s->inbuf = xmalloc(IN_SIZE);
        digester_init(&s->d);
        digester_init(&s->din);
        /* Enough bytes to tell the formats apart (a pipe may give fewer at a time). */
        while (s->in_len < 6 && !s->in_eof) {
                int r = refill(s, err);
                if (r < 0)
                        return r;
        }
        const unsigned char *p = s->inbuf;
        size_t n = s->in_len;
        if (has_magic(p, n, "\x1f\x8b", 2)) {
                s->kind = KIND_GZIP;
                s->inf = xmalloc(sizeof(*s->inf));
                isal_inflate_init(s->inf);
                s->inf->crc_flag = ISAL_GZIP;
        } else if (has_magic(p, n, "\x28\xb5\x2f\xfd", 4) ||
                   has_magic(p, n,
                             "\xfd"
                             "7zXZ\0",
                             6) ||
                   has_magic(p, n, "BZh", 3)) {
                s->kind = KIND_ARCHIVE;
                int r = archive_begin(s, err);
                if (r < 0)
                        return r;
        } else {
                s->kind = KIND_PLAIN;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= THREAD_MIN) {
                int r = start_thread(s, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

ssize_t ustream_read(struct ustream *s, const void **buf, struct error *err)
{
        if (!s->threaded) {
                if (!s->slot[0])
                        s->slot[0] = xmalloc(SLOT_SIZE);
                if (s->done)
                        return s->result < 0 ? error_msg(err, s->result, "%s", s->perr.msg) : 0;
                ssize_t n = produce(s, s->slot[0], SLOT_SIZE, &s->perr);
                if (n <= 0) {
                        s->done = true;
                        s->result = (int)n;
                        return n < 0 ? error_msg(err, (int)n, "%s", s->perr.msg) : 0;
                }
                *buf = s->slot[0];
                s->handed += (uint64_t)n;
                return n;
        }
        pthread_mutex_lock(&s->mu);
        if (s->holding) {
                s->consumed++;
                s->holding = false;
                pthread_cond_broadcast(&s->cv);
        }
        while (s->produced == s->consumed && !s->done)
                pthread_cond_wait(&s->cv, &s->mu);
        if (s->produced != s->consumed) {
                unsigned i = (unsigned)(s->consumed % NSLOTS);
                s->holding = true;
                *buf = s->slot[i];
                ssize_t n = (ssize_t)s->slot_len[i];
                pthread_mutex_unlock(&s->mu);
                s->handed += (uint64_t)n;
                return n;
        }
        pthread_mutex_unlock(&s->mu);
        /* Everything handed out and the producer is done: it has exited or is about to. */
        stop_thread(s);
        if (s->result < 0)
                return error_msg(err, s->result, "%s", s->perr.msg);
        return 0;
}

uint64_t ustream_bytes(struct ustream *s)
{
        return s->handed;
}

bool ustream_compressed(struct ustream *s)
{
        return s->kind != KIND_PLAIN;
}

const char *ustream_filter(struct ustream *s)
{
        if (s->kind == KIND_GZIP)
                return "gzip";
        if (s->kind == KIND_PLAIN || archive_filter_count(s->a) <= 1)
                return "none";
        return archive_filter_name(s->a, 0);
}

void ustream_digest(struct ustream *s, char out[DIGEST_STR_MAX])
{
        memcpy(out, s->diff, DIGEST_STR_MAX);
}

void ustream_input_digest(struct ustream *s, char out[DIGEST_STR_MAX])
{
        memcpy(out, s->input, DIGEST_STR_MAX);
}

void ustream_free(struct ustream *s)
{
        if (!s)
                return;
        stop_thread(s);
        if (s->threaded) {
                pthread_mutex_destroy(&s->mu);
                pthread_cond_destroy(&s->cv);
        }
        if (s->a)
                archive_read_free(s->a);
        digester_free(&s->d);
        digester_free(&s->din);
        for (unsigned i = 0; i < NSLOTS; i++)
                free(s->slot[i]);
        free(s->inf);
        free(s->inbuf);
        free(s->what);
        free(s);
}
