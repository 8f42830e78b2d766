/* The k8s-file log format the monitor writes (as podman's conmon):
 *
 *   2026-12-06T01:02:03.123456789Z stdout F a whole line
 *   2026-12-06T01:02:03.123456789Z stderr P a piece without its newline
 *
 * A message is the P pieces of a stream followed by its F record.
 * log_reader turns appended bytes back into messages.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct log_msg {
        char *ts; /* the first piece's timestamp */
        bool is_err;
        char *text; /* without the newline; NUL-terminated but may hold NULs too */
        size_t len; /* of text */
};
void log_msg_free_array(struct log_msg *m, size_t n);

struct log_reader {
        char *pending; /* bytes after the last newline */
        size_t n_pending;
        char *part[2]; /* P pieces so far, per stream (stdout then stderr) */
        size_t part_len[2];
        char *part_ts[2]; /* their first timestamp */
};
/* Feeds bytes; appends whole messages to msgs (n of them). Malformed lines are skipped. */
void log_reader_feed(struct log_reader *r, const char *buf, size_t len, struct log_msg **msgs,
                     size_t *n);
void log_reader_done(struct log_reader *r);
/* monitor2: hands out the pieces still waiting for their end (the last
 * output of a container that wrote no final newline), as messages. */
void log_reader_flush(struct log_reader *r, struct log_msg **msgs, size_t *n);

/* A log timestamp ("2026-12-06T01:02:03.123456789Z") as unix ns; -1 when malformed. */
int64_t log_ts_ns(const char *ts);
/* --since/--until values as docker takes them: an RFC 3339 time (UTC "Z" or a
 * date alone), unix seconds ("1700000000[.5]"), or a duration before now
 * ("10s", "5m", "2h", "1h30m"). -EINVAL when it is none of these. */
int log_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns);
