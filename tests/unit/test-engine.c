/* Unit tests for the engine's pure logic: the k8s-file log reader, size and
 * cpu parsing, names, ids, signals, the container config merge. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/attach.h"
#include "engine/ctr-config.h"
#include "engine/ctr-store.h"
#include "engine/engine.h"
#include "engine/logs.h"
#include "unit.h"

TEST(log_reader_joins_partials_and_splits_streams)
{
        struct log_reader r = {0};
        struct log_msg *m = NULL;
        size_t n = 0;
        const char *text = "2026-01-01T00:00:00.000000001Z stdout F one\n"
                           "2026-01-01T00:00:00.000000002Z stdout P par\n"
                           "2026-01-01T00:00:00.000000003Z stderr F err line\n"
                           "2026-01-01T00:00:00.000000004Z stdout F tial\n"
                           "garbage line\n"
                           "2026-01-01T00:00:00.000000005Z stdout F \n"
                           "2026-01-01T00:00:00.000000006Z stdout F inc";
        /* Fed in two pieces that cut a record in half. */
        log_reader_feed(&r, text, 60, &m, &n);
        log_reader_feed(&r, text + 60, strlen(text) - 60, &m, &n);
        CHECK(n == 4);
        if (n == 4) {
                CHECK_STR(m[0].text, "one");
                CHECK(!m[0].is_err);
                CHECK_STR(m[1].text, "err line");
                CHECK(m[1].is_err);
                CHECK_STR(m[2].text, "partial");
                CHECK_STR(m[2].ts, "2026-01-01T00:00:00.000000002Z");
                CHECK_STR(m[3].text, "");
        }
        /* The unterminated last record comes with its newline. */
        log_reader_feed(&r, "omplete\n", 8, &m, &n);
        CHECK(n == 5 && strcmp(m[4].text, "incomplete") == 0);
        log_msg_free_array(m, n);
        log_reader_done(&r);
}

TEST(parse_bytes_and_cpus)
{
        int64_t v;
        CHECK(ctr_parse_bytes("512m", &v) == 0 && v == 512LL * 1024 * 1024);
        CHECK(ctr_parse_bytes("1g", &v) == 0 && v == 1024LL * 1024 * 1024);
        CHECK(ctr_parse_bytes("1GB", &v) == 0 && v == 1024LL * 1024 * 1024);
        CHECK(ctr_parse_bytes("400MiB", &v) == 0 && v == 400LL * 1024 * 1024);
        CHECK(ctr_parse_bytes("1024", &v) == 0 && v == 1024);
        CHECK(ctr_parse_bytes("1.5k", &v) == 0 && v == 1536);
        CHECK(ctr_parse_bytes("", &v) < 0);
        CHECK(ctr_parse_bytes("12x", &v) < 0);
        CHECK(ctr_parse_bytes("-1m", &v) < 0);
        CHECK(ctr_parse_bytes("1mm", &v) < 0);
        CHECK(ctr_parse_cpus("1.5", &v) == 0 && v == 1500000000);
        CHECK(ctr_parse_cpus("0.01", &v) == 0 && v == 10000000);
        CHECK(ctr_parse_cpus("0", &v) < 0);
        CHECK(ctr_parse_cpus("abc", &v) < 0);
}

TEST(names_ids_signals)
{
        struct error err = {0};
        CHECK(ctr_check_name("web", &err) == 0);
        CHECK(ctr_check_name("/web-1.a_b", &err) == 0);
        CHECK(ctr_check_name("-web", &err) < 0);
        CHECK(ctr_check_name("a b", &err) < 0 && strstr(err.msg, "'a b'"));
        CHECK(ctr_check_name("", &err) < 0);
        for (int i = 0; i < 50; i++) {
                char *n = ctr_random_name();
                CHECK(strchr(n, '_') && ctr_check_name(n, &err) == 0);
                free(n);
        }
        char id[CTR_ID_LEN + 1], id2[CTR_ID_LEN + 1];
        CHECK(ctr_new_id(id, &err) == 0 && ctr_new_id(id2, &err) == 0);
        CHECK(strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64);
        CHECK(strcmp(id, id2) != 0);
        CHECK(engine_parse_signal("TERM") == SIGTERM);
        CHECK(engine_parse_signal("SIGKILL") == SIGKILL);
        CHECK(engine_parse_signal("usr1") == SIGUSR1);
        CHECK(engine_parse_signal("9") == 9);
        CHECK(engine_parse_signal("RTMIN+1") == SIGRTMIN + 1);
        CHECK(engine_parse_signal("NOPE") < 0);
        CHECK(engine_parse_signal("0") < 0);
}

TEST(config_merge_with_image)
{
        struct error err = {0};
        struct json_object *img = NULL;
        CHECK(json_parse_string("img",
                                "{\"Env\":[\"PATH=/bin\",\"A=img\"],\"Cmd\":[\"sh\"],"
                                "\"Entrypoint\":[\"/init\"],\"WorkingDir\":\"/w\","
                                "\"User\":\"daemon\"}",
                                &img, &err) == 0);
        char *env[] = {"A=flag", "B=2", NULL};
        char *cmd[] = {"echo", "hi", NULL};
        struct ctr_create_opts o = {.env = env, .cmd = cmd, .memory = 1 << 20};
        struct json_object *doc = NULL;
        const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        CHECK(ctr_config_make(img, &o, id, "bb", &doc, &err) == 0);
        if (doc) {
                const char *s = json_compact(doc);
                CHECK(strstr(s, "\"Env\":[\"PATH=/bin\",\"A=flag\",\"B=2\"]") != NULL);
                CHECK(strstr(s, "\"Cmd\":[\"echo\",\"hi\"]") != NULL);
                CHECK(strstr(s, "\"Entrypoint\":[\"/init\"]") != NULL);
                CHECK(strstr(s, "\"Hostname\":\"0123456789ab\"") != NULL);
                CHECK(strstr(s, "\"User\":\"daemon\"") != NULL);
                CHECK(strstr(s, "\"WorkingDir\":\"/w\"") != NULL);
                CHECK(strstr(s, "\"Memory\":1048576") != NULL);
                json_object_put(doc);
                doc = NULL;
        }
        /* --entrypoint "" clears the image's entrypoint and its Cmd. */
        char *empty[] = {"", NULL};
        struct ctr_create_opts o2 = {.entrypoint = empty, .has_entrypoint = true};
        CHECK(ctr_config_make(img, &o2, id, "bb", &doc, &err) == -EINVAL);
        CHECK(strstr(err.msg, "no command") != NULL);
        /* volumes branch: "name:/x" is a named volume now; a bad name is refused. */
        char *badvol[] = {"rel!ative:/x", NULL};
        struct ctr_create_opts o3 = {.volumes = badvol};
        CHECK(ctr_config_make(img, &o3, id, "bb", &doc, &err) == -EINVAL);
        CHECK(strstr(err.msg, "'rel!ative'") != NULL);
        char *badenv[] = {"=x", NULL};
        struct ctr_create_opts o4 = {.env = badenv};
        CHECK(ctr_config_make(img, &o4, id, "bb", &doc, &err) == -EINVAL);
        json_object_put(img);
}

TEST(attach_frames_round_trip)
{
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        CHECK(frame_write(sv[0], FRAME_STDOUT, "hello", 5) == 0);
        CHECK(frame_write(sv[0], FRAME_EXIT, "3", 1) == 0);
        close(sv[0]);
        char type;
        char *buf = NULL;
        size_t len;
        CHECK(frame_read(sv[1], &type, &buf, &len) == 1 && type == FRAME_STDOUT && len == 5 &&
              strcmp(buf, "hello") == 0);
        free(buf);
        CHECK(frame_read(sv[1], &type, &buf, &len) == 1 && type == FRAME_EXIT &&
              strcmp(buf, "3") == 0);
        free(buf);
        CHECK(frame_read(sv[1], &type, &buf, &len) == 0);
        close(sv[1]);
        /* A truncated frame is a protocol error, not a hang. */
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        CHECK(write(sv[0], "o\x05\x00\x00\x00hi", 7) == 7);
        close(sv[0]);
        CHECK(frame_read(sv[1], &type, &buf, &len) == -EPROTO);
        close(sv[1]);
}

TEST(log_times)
{
        CHECK(log_ts_ns("1970-01-01T00:00:01.5Z") == 1500000000LL);
        CHECK(log_ts_ns("2026-12-06T01:02:03.123456789Z") % 1000000000LL == 123456789);
        CHECK(log_ts_ns("2026-12-06T01:02:03Z") > 0);
        CHECK(log_ts_ns("2026-12-06 01:02:03") < 0);
        CHECK(log_ts_ns("2026-12-06T01:02:03+01:00") < 0);
        int64_t t, now = 2000000000000000000LL;
        CHECK(log_parse_time("10s", now, &t) == 0 && t == now - 10000000000LL);
        CHECK(log_parse_time("1h30m", now, &t) == 0 && t == now - 5400000000000LL);
        CHECK(log_parse_time("250ms", now, &t) == 0 && t == now - 250000000LL);
        CHECK(log_parse_time("1700000000", now, &t) == 0 && t == 1700000000000000000LL);
        CHECK(log_parse_time("1970-01-02", now, &t) == 0 && t == 86400000000000LL);
        CHECK(log_parse_time("1970-01-01T00:00:02Z", now, &t) == 0 && t == 2000000000LL);
        CHECK(log_parse_time("bogus", now, &t) == -EINVAL);
        CHECK(log_parse_time("", now, &t) == -EINVAL);
        CHECK(log_parse_time("5x", now, &t) == -EINVAL);
}

UNIT_MAIN()
