#include "engine/ctr-store.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "core/util.h"

#define COLUMNS                                                                                    \
        "id, name, image_id, image_name, config, created, started, finished, state, exit_code, "   \
        "error, pid, owner_pid, owner_start, runtime" /* extruntime: runtime */

void ctr_free(struct ctr *c)
{
        if (!c)
                return;
        free(c->id);
        free(c->name);
        free(c->image_id);
        free(c->image_name);
        free(c->config);
        free(c->state);
        free(c->error);
        free(c->runtime); /* extruntime */
        memset(c, 0, sizeof(*c));
}

void ctr_free_array(struct ctr *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                ctr_free(&l[i]);
        free(l);
}

int ctr_new_id(char buf[CTR_ID_LEN + 1], struct error *err)
{
        unsigned char raw[CTR_ID_LEN / 2];
        size_t got = 0;
        while (got < sizeof(raw)) {
                ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_sys(err, -errno, "getrandom");
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(buf + 2 * i, 3, "%02x", raw[i]);
        /* As docker: an id that is all digits in its short form would read as a number. */
        bool digits = true;
        for (int i = 0; i < 12; i++)
                digits = digits && isdigit((unsigned char)buf[i]);
        if (digits)
                buf[0] = 'a';
        return 0;
}

static const char *const adjectives[] = {
    "admiring",      "agitated",  "amazing",   "angry",      "awesome",   "blissful",
    "bold",          "boring",    "brave",     "busy",       "charming",  "clever",
    "compassionate", "competent", "confident", "cool",       "dazzling",  "determined",
    "eager",         "ecstatic",  "elastic",   "elated",     "elegant",   "epic",
    "exciting",      "fervent",   "festive",   "flamboyant", "focused",   "friendly",
    "frosty",        "funny",     "gallant",   "gifted",     "goofy",     "gracious",
    "happy",         "hardcore",  "heuristic", "hopeful",    "hungry",    "infallible",
    "inspiring",     "jolly",     "jovial",    "keen",       "kind",      "laughing",
    "loving",        "lucid",     "magical",   "modest",     "musing",    "mystifying",
    "naughty",       "nervous",   "nice",      "nifty",      "nostalgic", "objective",
    "optimistic",    "peaceful",  "pedantic",  "pensive",    "practical", "priceless",
    "quirky",        "quizzical", "relaxed",   "reverent",   "romantic",  "sad",
    "serene",        "sharp",     "silly",     "sleepy",     "stoic",     "strange",
    "suspicious",    "sweet",     "tender",    "thirsty",    "trusting",  "unruffled",
    "upbeat",        "vibrant",   "vigilant",  "vigorous",   "wizardly",  "wonderful",
    "xenodochial",   "youthful",  "zealous",   "zen",
};

static const char *const nouns[] = {
    "agnesi",   "albattani",  "allen",      "archimedes", "ardinghelli",   "babbage",
    "banach",   "bardeen",    "bartik",     "bell",       "bhabha",        "blackwell",
    "bohr",     "booth",      "borg",       "bose",       "brahmagupta",   "brown",
    "burnell",  "cannon",     "carson",     "cerf",       "chandrasekhar", "chaplygin",
    "clarke",   "colden",     "cori",       "curie",      "darwin",        "davinci",
    "dijkstra", "dubinsky",   "easley",     "einstein",   "elion",         "engelbart",
    "euclid",   "euler",      "faraday",    "fermat",     "fermi",         "feynman",
    "franklin", "galileo",    "gauss",      "goldberg",   "goodall",       "hamilton",
    "hawking",  "heisenberg", "hermann",    "hodgkin",    "hoover",        "hopper",
    "hypatia",  "jackson",    "jennings",   "johnson",    "kalam",         "kepler",
    "khorana",  "knuth",      "lalande",    "lamport",    "leakey",        "lederberg",
    "lovelace", "lumiere",    "mayer",      "mccarthy",   "mcclintock",    "meitner",
    "mendel",   "mirzakhani", "montalcini", "morse",      "napier",        "nash",
    "newton",   "nobel",      "noether",    "pascal",     "pasteur",       "perlman",
    "pike",     "poincare",   "ptolemy",    "ramanujan",  "ritchie",       "rosalind",
    "sammet",   "shannon",    "shockley",   "sinoussi",   "stonebraker",   "swanson",
    "tesla",    "thompson",   "torvalds",   "turing",     "varahamihira",  "villani",
    "wescoff",  "wiles",      "williams",   "wilson",     "wozniak",       "wright",
    "yalow",    "yonath",
};

char *ctr_random_name(void)
{
        uint32_t r[2] = {0, 0};
        if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
                r[0] = (uint32_t)now_ms();
                r[1] = (uint32_t)getpid() * 2654435761u;
        }
        return xasprintf("%s_%s", adjectives[r[0] % ARRAY_SIZE(adjectives)],
                         nouns[r[1] % ARRAY_SIZE(nouns)]);
}

int ctr_check_name(const char *name, struct error *err)
{
        const char *n = name[0] == '/' ? name + 1 : name;
        bool ok = isalnum((unsigned char)n[0]) && strlen(n) <= 253;
        for (const char *p = n; ok && *p; p++)
                ok = isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-';
        if (!ok)
                return error_msg(err, -EINVAL,
                                 "invalid container name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                                 "are allowed",
                                 name);
        return 0;
}

static void bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
        sqlite3_bind_int64(st, i, v);
}

static void bind_str(sqlite3_stmt *st, int i, const char *v)
{
        sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static int insert_row(struct db *db, const struct ctr *c, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(
            db,
            "INSERT INTO containers (" COLUMNS
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            &st, err);
        if (r < 0)
                return r;
        bind_str(st, 1, c->id);
        bind_str(st, 2, c->name);
        bind_str(st, 3, c->image_id);
        bind_str(st, 4, c->image_name);
        bind_str(st, 5, c->config);
        bind_i64(st, 6, c->created);
        bind_i64(st, 7, c->started);
        bind_i64(st, 8, c->finished);
        bind_str(st, 9, c->state);
        bind_i64(st, 10, c->exit_code);
        bind_str(st, 11, c->error);
        bind_i64(st, 12, c->pid);
        bind_i64(st, 13, c->owner_pid);
        bind_i64(st, 14, (int64_t)c->owner_start);
        bind_str(st, 15, c->runtime); /* extruntime */
        return db_step(db, st, err);
}

static int name_owner(struct db *db, const char *name, char **ret, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(db, "SELECT id FROM containers WHERE name = ?1", &st, err);
        if (r < 0)
                return r;
        bind_str(st, 1, name);
        r = db_step(db, st, err);
        if (r > 0)
                *ret = db_col_str(st, 0);
        return r;
}

int ctr_insert(struct db *db, struct ctr *c, struct error *err)
{
        bool random = c->name == NULL;
        for (int attempt = 0; attempt < 20; attempt++) {
                if (random) {
                        free(c->name);
                        c->name = ctr_random_name();
                        /* As docker, later attempts add a digit. */
                        if (attempt > 0) {
                                char *n = xasprintf("%s%d", c->name, attempt % 10);
                                free(c->name);
                                c->name = n;
                        }
                }
                int r = db_begin(db, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *owner = NULL;
                r = name_owner(db, c->name, &owner, err);
                if (r == 0)
                        r = insert_row(db, c, err);
                else if (r > 0 && !random)
                        r = error_msg(err, -EEXIST,
                                      "the container name '/%s' is already in use by container "
                                      "'%s': remove (or rename) that container to reuse the name",
                                      c->name, owner);
                else if (r > 0)
                        r = -EAGAIN;
                if (r < 0) {
                        db_rollback(db);
                        if (r == -EAGAIN)
                                continue;
                        return r;
                }
                return db_commit(db, err);
        }
        return error_msg(err, -EEXIST, "could not find a free random container name");
}

static void read_row(sqlite3_stmt *st, struct ctr *c)
{
        c->id = db_col_str(st, 0);
        c->name = db_col_str(st, 1);
        c->image_id = db_col_str(st, 2);
        c->image_name = db_col_str(st, 3);
        c->config = db_col_str(st, 4);
        c->created = sqlite3_column_int64(st, 5);
        c->started = sqlite3_column_int64(st, 6);
        c->finished = sqlite3_column_int64(st, 7);
        c->state = db_col_str(st, 8);
        c->exit_code = sqlite3_column_int(st, 9);
        c->error = db_col_str(st, 10);
        c->pid = (pid_t)sqlite3_column_int64(st, 11);
        c->owner_pid = (pid_t)sqlite3_column_int64(st, 12);
        c->owner_start = (uint64_t)sqlite3_column_int64(st, 13);
        c->runtime = db_col_str(st, 14); /* extruntime */
}

/* Runs a query binding ?1 = arg; fills up to 2 rows into ret, returns the row count. */
static int query_rows(struct db *db, const char *sql, const char *arg, struct ctr ret[2],
                      struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        bind_str(st, 1, arg);
        int n = 0;
        while ((r = db_step(db, st, err)) > 0) {
                if (n < 2)
                        read_row(st, &ret[n]);
                n++;
        }
        return r < 0 ? r : n;
}

int ctr_get(struct db *db, const char *id, struct ctr *ret, struct error *err)
{
        struct ctr rows[2] = {0};
        int n = query_rows(db, "SELECT " COLUMNS " FROM containers WHERE id = ?1", id, rows, err);
        if (n < 0)
                return n;
        if (n == 0)
                return error_msg(err, -ENOENT, "no such container: %s", id);
        *ret = rows[0];
        return 0;
}

int ctr_lookup(struct db *db, const char *what, struct ctr *ret, struct error *err)
{
        if (!what[0])
                return error_msg(err, -EINVAL, "no such container: an empty name");
        const char *name = what[0] == '/' ? what + 1 : what;
        struct ctr rows[2] = {0};
        int n = query_rows(db, "SELECT " COLUMNS " FROM containers WHERE id = ?1", what, rows, err);
        if (n == 0)
                n = query_rows(db, "SELECT " COLUMNS " FROM containers WHERE name = ?1", name, rows,
                               err);
        bool hex = strlen(what) <= CTR_ID_LEN;
        for (const char *p = what; hex && *p; p++)
                hex = isxdigit((unsigned char)*p) && !isupper((unsigned char)*p);
        if (n == 0 && hex) {
                _cleanup_free_ char *pattern = xasprintf("%s*", what);
                n = query_rows(db, "SELECT " COLUMNS " FROM containers WHERE id GLOB ?1", pattern,
                               rows, err);
        }
        if (n < 0)
                return n;
        if (n == 0)
                return error_msg(err, -ENOENT, "no such container: %s", what);
        if (n > 1) {
                ctr_free(&rows[0]);
                ctr_free(&rows[1]);
                return error_msg(err, -EINVAL,
                                 "multiple containers match '%s': use more of the id or the name",
                                 what);
        }
        *ret = rows[0];
        return 0;
}

static int list_rows(struct db *db, const char *sql, struct ctr **ret, size_t *ret_n,
                     struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        struct ctr *l = NULL;
        size_t n = 0;
        while ((r = db_step(db, st, err)) > 0) {
                l = xrealloc(l, (n + 1) * sizeof(*l));
                memset(&l[n], 0, sizeof(*l));
                read_row(st, &l[n++]);
        }
        if (r < 0) {
                ctr_free_array(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int ctr_list(struct db *db, struct ctr **ret, size_t *ret_n, struct error *err)
{
        return list_rows(db, "SELECT " COLUMNS " FROM containers ORDER BY created DESC, id", ret,
                         ret_n, err);
}

/* ps: COLUMNS with a config of the parts ps uses (ctr-store.h). */
#define PS_COLUMNS                                                                                 \
        "id, name, image_id, image_name, CASE WHEN json_valid(config) THEN json_object("           \
        "'Config', json_object('Entrypoint', json_extract(config, '$.Config.Entrypoint'), "        \
        "'Cmd', json_extract(config, '$.Config.Cmd'), 'Labels', json_extract(config, "             \
        "'$.Config.Labels')), 'HostConfig', json_object('NetworkMode', json_extract(config, "      \
        "'$.HostConfig.NetworkMode'))) ELSE '' END, created, started, finished, state, "           \
        "exit_code, error, pid, owner_pid, owner_start, runtime"

int ctr_list_ps(struct db *db, struct ctr **ret, size_t *ret_n, struct error *err)
{
        return list_rows(db, "SELECT " PS_COLUMNS " FROM containers ORDER BY created DESC, id", ret,
                         ret_n, err);
}

int ctr_update(struct db *db, const struct ctr *c, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(db,
                           "UPDATE containers SET started = ?2, finished = ?3, state = ?4, "
                           "exit_code = ?5, error = ?6, pid = ?7, owner_pid = ?8, owner_start = ?9 "
                           "WHERE id = ?1",
                           &st, err);
        if (r < 0)
                return r;
        bind_str(st, 1, c->id);
        bind_i64(st, 2, c->started);
        bind_i64(st, 3, c->finished);
        bind_str(st, 4, c->state);
        bind_i64(st, 5, c->exit_code);
        bind_str(st, 6, c->error);
        bind_i64(st, 7, c->pid);
        bind_i64(st, 8, c->owner_pid);
        bind_i64(st, 9, (int64_t)c->owner_start);
        r = db_step(db, st, err);
        if (r < 0)
                return r;
        if (db_changes(db) == 0)
                return error_msg(err, -ENOENT, "no such container: %s", c->id);
        return 0;
}

int ctr_rename(struct db *db, const char *id, const char *name, struct error *err)
{
        int r = ctr_check_name(name, err);
        if (r < 0)
                return r;
        if (name[0] == '/')
                name++;
        if ((r = db_begin(db, err)) < 0)
                return r;
        _cleanup_free_ char *owner = NULL;
        r = name_owner(db, name, &owner, err);
        if (r > 0)
                r = error_msg(err, -EEXIST,
                              "the container name '/%s' is already in use by container '%s'", name,
                              owner);
        if (r == 0)
                r = db_run(db, "UPDATE containers SET name = ?2 WHERE id = ?1", err, 2, id, name);
        if (r < 0) {
                db_rollback(db);
                return r;
        }
        return db_commit(db, err);
}

int ctr_delete(struct db *db, const char *id, struct error *err)
{
        return db_run(db, "DELETE FROM containers WHERE id = ?1", err, 1, id);
}

int ctr_count_by_image(struct db *db, const char *image_id, int *ret, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(db, "SELECT count(*) FROM containers WHERE image_id = ?1", &st, err);
        if (r < 0)
                return r;
        bind_str(st, 1, image_id);
        r = db_step(db, st, err);
        if (r < 0)
                return r;
        *ret = r ? sqlite3_column_int(st, 0) : 0;
        return 0;
}

int ctr_set_config(struct db *db, const char *id, const char *config, struct error *err)
{
        return db_run(db, "UPDATE containers SET config = ?2 WHERE id = ?1", err, 2, id, config);
}
