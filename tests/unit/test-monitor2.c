/* Unit tests for the monitor2 pieces: detach key parsing and matching,
 * restart policy parsing and backoff, json-file records read back. */
#include <errno.h>
#include <stdlib.h>

#include "cli/detach-keys.h"
#include "core/json.h"
#include "engine/logdrv.h"
#include "engine/logs.h"
#include "engine/restart.h"
#include "unit.h"

TEST(detach_keys_parse)
{
        struct detach_keys k;
        struct error err = {0};
        CHECK(detach_keys_parse("ctrl-x,y", &k, &err) == 0);
        CHECK(k.len == 2 && k.seq[0] == 0x18 && k.seq[1] == 'y');
        CHECK(detach_keys_parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-_", &k, &err) == 0);
        CHECK(k.len == 4 && k.seq[0] == 0 && k.seq[1] == 27 && k.seq[2] == 28 && k.seq[3] == 31);
        CHECK(detach_keys_parse("", &k, &err) == 0 && k.len == 0);
        const char *bad[] = {"ctrl-1", "ab", "x,", "ctrl-", "ctrl-A", ",x"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct error e = {0};
                CHECK(detach_keys_parse(bad[i], &k, &e) == -EINVAL);
                CHECK(strstr(e.msg, "--detach-keys") != NULL);
        }
}

TEST(detach_keys_filter_holds_back_and_releases)
{
        struct detach_keys k;
        detach_keys_default(&k);
        char out[64];
        size_t n = 0;
        /* ctrl-p at the end of a read is held back ... */
        CHECK(!detach_keys_filter(&k, "ab\x10", 3, out, &n) && n == 2 && memcmp(out, "ab", 2) == 0);
        /* ... and released when something else follows. */
        CHECK(!detach_keys_filter(&k, "c", 1, out, &n) && n == 2 &&
              memcmp(out,
                     "\x10"
                     "c",
                     2) == 0);
        /* ctrl-p ctrl-p ctrl-q: the first goes on, the pair detaches. */
        CHECK(detach_keys_filter(&k, "x\x10\x10\x11tail", 8, out, &n));
        CHECK(n == 2 && memcmp(out, "x\x10", 2) == 0);
        /* Split over two reads. */
        CHECK(!detach_keys_filter(&k, "\x10", 1, out, &n) && n == 0);
        CHECK(detach_keys_filter(&k, "\x11", 1, out, &n) && n == 0);
        /* Off: everything goes through. */
        struct error err = {0};
        CHECK(detach_keys_parse("", &k, &err) == 0);
        CHECK(!detach_keys_filter(&k, "\x10\x11", 2, out, &n) && n == 2);
}

TEST(restart_parse_values)
{
        const char *name;
        int max;
        struct error err = {0};
        CHECK(restart_parse("on-failure:5", &name, &max, &err) == 0);
        CHECK_STR(name, "on-failure");
        CHECK(max == 5);
        CHECK(restart_parse("unless-stopped", &name, &max, &err) == 0 && max == 0);
        CHECK(restart_parse("always:2", &name, &max, &err) == -EINVAL);
        CHECK(restart_parse("on-failure:", &name, &max, &err) == -EINVAL);
        CHECK(restart_parse("sometimes", &name, &max, &err) == -EINVAL);
}

TEST(restart_decide_and_backoff)
{
        struct json_object *doc = NULL;
        struct error err = {0};
        CHECK(json_parse_string("t",
                                "{\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"on-failure\","
                                "\"MaximumRetryCount\":2}}}",
                                &doc, &err) == 0);
        int64_t prev = 0, d = 0;
        CHECK(!restart_decide(doc, 0, 0, 5, &prev, &d)); /* success: no */
        CHECK(restart_decide(doc, 1, 0, 5, &prev, &d) && d == 100);
        CHECK(restart_decide(doc, 1, 1, 5, &prev, &d) && d == 200);
        CHECK(!restart_decide(doc, 1, 2, 5, &prev, &d)); /* the limit */
        json_object_put(doc);
        CHECK(json_parse_string("t", "{\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\"}}}",
                                &doc, &err) == 0);
        prev = 0;
        for (int i = 0; i < 20; i++)
                CHECK(restart_decide(doc, 0, i, 5, &prev, &d));
        CHECK(d == 60000);                                               /* capped at 1 min */
        CHECK(restart_decide(doc, 0, 20, 10000, &prev, &d) && d == 100); /* ran 10 s */
        json_object_put(doc);
}

TEST(json_file_records_read_back)
{
        struct log_reader r = {0};
        struct log_msg *m = NULL;
        size_t n = 0;
        const char *text =
            "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:00.1Z\"}\n"
            "{\"log\":\"pa\",\"stream\":\"stderr\",\"time\":\"2026-01-01T00:00:00.2Z\"}\n"
            "{\"log\":\"rt\\n\",\"stream\":\"stderr\",\"time\":\"2026-01-01T00:00:00.3Z\"}\n"
            "{\"bad\":1}\n"
            "{\"log\":\"last\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:00.4Z\"}\n";
        log_reader_feed(&r, text, strlen(text), &m, &n);
        CHECK(n == 2);
        log_reader_flush(&r, &m, &n);
        CHECK(n == 3);
        if (n == 3) {
                CHECK_STR(m[0].text, "one");
                CHECK(!m[0].is_err);
                CHECK_STR(m[1].text, "part");
                CHECK(m[1].is_err);
                CHECK_STR(m[1].ts, "2026-01-01T00:00:00.2Z");
                CHECK_STR(m[2].text, "last");
        }
        log_msg_free_array(m, n);
        log_reader_done(&r);
}

TEST(log_opts_checked)
{
        struct json_object *lc = NULL;
        struct error err = {0};
        char *good[] = {"max-size=10k", "max-file=3", NULL};
        CHECK(logdrv_make_config("json-file", good, &lc, &err) == 0);
        struct json_object *doc = json_object_new_object(), *hc = json_object_new_object();
        json_object_object_add(hc, "LogConfig", lc);
        json_object_object_add(doc, "HostConfig", hc);
        struct log_cfg cfg;
        logdrv_get_config(doc, &cfg);
        CHECK_STR(cfg.driver, "json-file");
        CHECK(cfg.max_size == 10240 && cfg.max_file == 3);
        json_object_put(doc);
        char *nosize[] = {"max-file=3", NULL};
        CHECK(logdrv_make_config(NULL, nosize, &lc, &err) == -EINVAL);
        CHECK(logdrv_make_config("gelf", NULL, &lc, &err) == -EINVAL);
}

UNIT_MAIN()
