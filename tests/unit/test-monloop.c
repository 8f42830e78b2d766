/* The monitor's loop pieces (engine/monloop.c, engine/logsink.c):
 * json-file records as json-c writes them, the state across execve, and an
 * attach client that stops reading. */
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/attach.h"
#include "engine/monloop.h"
#include "unit.h"

/* What log_sink_write wrote with json-c before husk-monitor. */
static char *jsonc_record(const char *text, size_t n, const char *stream, const char *ts)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "log", json_object_new_string_len(text, (int)n));
        json_object_object_add(o, "stream", json_object_new_string(stream));
        json_object_object_add(o, "time", json_object_new_string(ts));
        char *rec =
            xasprintf("%s\n", json_object_to_json_string_ext(
                                  o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return rec;
}

TEST(json_record_matches_jsonc_for_every_byte)
{
        const char *ts = "2026-12-06T04:00:00.000000000Z";
        for (int c = 0; c < 256; c++) {
                char text[3] = {'a', (char)c, 'z'};
                char *mine = log_json_record(text, sizeof(text), "stdout", ts);
                char *ref = jsonc_record(text, sizeof(text), "stdout", ts);
                CHECK_STR(mine, ref);
                free(mine);
                free(ref);
        }
        const char *s = "tab\there \"quoted\" back\\slash /path \xc3\xa9t\xc3\xa9\n";
        char *mine = log_json_record(s, strlen(s), "stderr", ts);
        char *ref = jsonc_record(s, strlen(s), "stderr", ts);
        CHECK_STR(mine, ref);
        free(mine);
        free(ref);
}

TEST(state_survives_save_and_load)
{
        int out[2], sv[2];
        CHECK(pipe2(out, O_CLOEXEC) == 0);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        struct monloop a = MONLOOP_INIT;
        a.out_fd = out[0];
        a.sig_fd = out[1]; /* any open fd will do here */
        a.init = 4242;
        a.tty = true;
        a.sink.path = xstrdup("/x/ctr.log");
        snprintf(a.sink.cfg.driver, sizeof(a.sink.cfg.driver), "json-file");
        a.sink.cfg.max_size = 10240;
        a.sink.cfg.max_file = 3;
        a.sink.size = 77;
        monloop_add_client(&a, sv[0], true);
        a.clients[0].hello_done = a.clients[0].stdin_client = true;
        a.clients[0].reading = false;
        char **argv = strv_push(NULL, xstrdup("husk-monitor"));
        monloop_save(&a, &argv);
        CHECK((fcntl(out[0], F_GETFD) & FD_CLOEXEC) == 0); /* kept across execve */
        CHECK((fcntl(sv[1], F_GETFD) & FD_CLOEXEC) != 0);  /* not named: closed by execve */
        struct monloop b = MONLOOP_INIT;
        struct error err = {0};
        for (char **w = argv + 1; *w; w++)
                CHECK(monloop_load_word(&b, *w, &err) == 1);
        CHECK(monloop_load_check(&b, &err) == 0);
        CHECK(b.out_fd == out[0] && b.sig_fd == out[1] && b.err_fd == -1 && b.pty == -1);
        CHECK(b.init == 4242 && b.tty && !b.exited);
        CHECK_STR(b.sink.path, "/x/ctr.log");
        CHECK_STR(b.sink.cfg.driver, "json-file");
        CHECK(b.sink.cfg.max_size == 10240 && b.sink.cfg.max_file == 3 && b.sink.size == 77);
        CHECK(b.n_clients == 1 && b.clients[0].fd == sv[0] && b.clients[0].hello_done &&
              b.clients[0].stdin_client && !b.clients[0].reading && b.clients[0].output);
        CHECK(monloop_load_word(&b, "status=137", &err) == 1 && b.exited && b.status == 137);
        CHECK(monloop_load_word(&b, "delay=5", &err) == 0); /* not the loop's */
        CHECK(monloop_load_word(&b, "init=abc", &err) < 0);
        error_clear(&err);
        CHECK(monloop_load_word(&b, "client=9999:o", &err) < 0); /* not an open fd */
        error_clear(&err);
        CHECK(monloop_load_word(&b, "client=0:x", &err) < 0);
        error_clear(&err);
        strv_free(argv);
        free(a.sink.path);
        close(sv[1]);
        b.sig_fd = -1; /* out[1], closed below */
        monloop_close(&b);
        close(out[1]);
}

struct reader {
        int fd;
        size_t got;
        char last[6];
};

/* Reads a socket until EOF, counting, keeping the last 6 bytes. */
static void *read_all_of(void *arg)
{
        struct reader *r = arg;
        char buf[1 << 16];
        ssize_t n;
        while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
                for (ssize_t i = 0; i < n; i++) {
                        memmove(r->last, r->last + 1, 5);
                        r->last[5] = buf[i];
                }
                __atomic_add_fetch(&r->got, (size_t)n, __ATOMIC_SEQ_CST);
        }
        return NULL;
}

/* A client that never reads: broadcasting never blocks, the client is
 * dropped once MON_CLIENT_BUF_MAX is queued, a reading client gets it all;
 * the starter (foreground run) stays, without the output it could not take,
 * and still gets the exit frame. */
TEST(slow_client_is_dropped_not_waited_for)
{
        int slow[2], fast[2], starter[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, starter) == 0);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, slow) == 0);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fast) == 0);
        struct monloop l = MONLOOP_INIT;
        monloop_add_client(&l, starter[0], true);
        monloop_add_client(&l, slow[0], false);
        monloop_add_client(&l, fast[0], false);
        l.clients[1].output = l.clients[2].output = true; /* said hello */
        struct reader fr = {.fd = fast[1]};
        pthread_t ft;
        CHECK(pthread_create(&ft, NULL, read_all_of, &fr) == 0);
        alarm(20); /* a blocking write would hang here */
        char chunk[65536];
        memset(chunk, 'x', sizeof(chunk));
        size_t sent = 0;
        for (int i = 0; i < 64; i++) {
                monloop_broadcast(&l, FRAME_STDOUT, chunk, sizeof(chunk));
                sent += sizeof(chunk) + 5;
                /* The fast one reads as the output comes (its socket emptied). */
                for (int w = 0;
                     w < 2000 && !l.clients[2].dead &&
                     __atomic_load_n(&fr.got, __ATOMIC_SEQ_CST) < sent - l.clients[2].pend_len;
                     w++)
                        usleep(1000);
        }
        CHECK(l.clients[1].dead); /* 4 MiB sent, never read: dropped */
        CHECK(!l.clients[0].dead && l.clients[0].pend_len <= MON_CLIENT_BUF_MAX);
        monloop_broadcast(&l, FRAME_EXIT, "0", 1);
        sent += 6;
        /* Now the starter reads too: it gets what was queued, then the exit frame. */
        struct reader sr = {.fd = starter[1]};
        pthread_t st;
        CHECK(pthread_create(&st, NULL, read_all_of, &sr) == 0);
        monloop_flush(&l, 10000);
        alarm(0);
        CHECK(!l.clients[0].dead && !l.clients[2].dead); /* both kept up in the end */
        monloop_close(&l);
        pthread_join(ft, NULL);
        pthread_join(st, NULL);
        CHECK(fr.got == sent);
        CHECK(sr.got < sent && sr.got >= MON_CLIENT_BUF_MAX / 2);
        CHECK(memcmp(fr.last,
                     "x\x01\0\0\0"
                     "0",
                     6) == 0);
        CHECK(memcmp(sr.last,
                     "x\x01\0\0\0"
                     "0",
                     6) == 0);
        close(starter[1]);
        close(slow[1]);
        close(fast[1]);
}

UNIT_MAIN()
