#include "core/db.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "core/util.h"

/* Append only. Each entry moves the schema one user_version up. */
static const char *const husk_schema[] = {
    /* 1: the image store. Image ids are config digests; names are full
     * normalized references ("docker.io/library/busybox:latest"). */
    "CREATE TABLE images ("
    "  id TEXT PRIMARY KEY," /* config digest */
    "  manifest_digest TEXT NOT NULL,"
    "  manifest_type TEXT NOT NULL,"
    "  created INTEGER NOT NULL," /* config 'created', unix seconds */
    "  size INTEGER NOT NULL,"    /* unpacked bytes of all layers */
    "  top_layer TEXT,"           /* chain id of the last layer, NULL when none */
    "  added INTEGER NOT NULL);"
    "CREATE TABLE image_names ("
    "  name TEXT PRIMARY KEY,"
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  tagged INTEGER NOT NULL);"
    "CREATE INDEX image_names_by_id ON image_names(image_id);"
    "CREATE TABLE layers ("
    "  chain_id TEXT PRIMARY KEY,"
    "  diff_id TEXT NOT NULL,"
    "  parent TEXT,"
    "  size INTEGER NOT NULL,"      /* unpacked bytes */
    "  tar_size INTEGER NOT NULL);" /* bytes of the uncompressed tar */
    "CREATE TABLE image_layers ("
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  chain_id TEXT NOT NULL,"
    "  blob TEXT NOT NULL," /* digest of the layer blob as stored */
    "  media_type TEXT NOT NULL,"
    "  blob_size INTEGER NOT NULL,"
    "  PRIMARY KEY (image_id, idx));"
    "CREATE INDEX image_layers_by_chain ON image_layers(chain_id);"
    "CREATE TABLE image_blobs ("
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  digest TEXT NOT NULL,"
    "  PRIMARY KEY (image_id, digest));"
    "CREATE INDEX image_blobs_by_digest ON image_blobs(digest);",
    /* 2: containers (src/engine/ctr-store.h). Times are unix nanoseconds, 0
     * when not yet; config is the Docker-shaped {"Config", "HostConfig"}
     * document the container was created with. owner_pid/owner_start name
     * the process that holds the container right now (the monitor while it
     * runs, the CLI while it creates), so a dead holder can be detected. */
    "CREATE TABLE containers ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  image_id TEXT NOT NULL,"
    "  image_name TEXT NOT NULL,"
    "  config TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  started INTEGER NOT NULL DEFAULT 0,"
    "  finished INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL,"
    "  exit_code INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT NOT NULL DEFAULT '',"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  owner_pid INTEGER NOT NULL DEFAULT 0,"
    "  owner_start INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX containers_by_image ON containers(image_id);",
    /* 3: networks: bridge networks, the addresses handed out on them (never
     * twice: the primary key), and the host ports published to them. A row
     * of network_allocations lives as long as the container's veth. */
    "CREATE TABLE networks ("
    "  id TEXT PRIMARY KEY," /* 64 hex digits */
    "  name TEXT NOT NULL UNIQUE,"
    "  driver TEXT NOT NULL,"  /* bridge */
    "  subnet TEXT NOT NULL,"  /* CIDR */
    "  gateway TEXT NOT NULL," /* the bridge's address */
    "  internal INTEGER NOT NULL,"
    "  bridge TEXT NOT NULL UNIQUE,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE network_allocations ("
    "  network_id TEXT NOT NULL REFERENCES networks(id),"
    "  address TEXT NOT NULL,"
    "  container_id TEXT NOT NULL," /* the owner */
    "  name TEXT,"                  /* resolvable names on the network */
    "  hostname TEXT,"
    "  mac TEXT NOT NULL,"
    "  host_veth TEXT NOT NULL UNIQUE,"
    "  hosts_path TEXT,"  /* the container's /etc/hosts, kept up to date */
    "  extra_hosts TEXT," /* --add-host NAME:IP lines */
    "  created INTEGER NOT NULL,"
    "  PRIMARY KEY (network_id, address),"
    "  UNIQUE (network_id, container_id));"
    "CREATE INDEX network_allocations_by_container ON network_allocations(container_id);"
    "CREATE TABLE network_ports ("
    "  network_id TEXT NOT NULL,"
    "  container_id TEXT NOT NULL,"
    "  host_ip TEXT NOT NULL,"
    "  host_port INTEGER NOT NULL,"
    "  proto TEXT NOT NULL,"
    "  container_port INTEGER NOT NULL,"
    "  PRIMARY KEY (proto, host_port, host_ip),"
    "  FOREIGN KEY (network_id, container_id) REFERENCES network_allocations(network_id, "
    "container_id) ON DELETE CASCADE);",
    /* volumes branch: named volumes (src/engine/volume.h); data under
     * ROOT/volumes/NAME/_data; users are found in containers' configs. */
    "CREATE TABLE volumes ("
    "  name TEXT PRIMARY KEY,"
    "  driver TEXT NOT NULL,"         /* local */
    "  created INTEGER NOT NULL,"     /* unix seconds */
    "  labels TEXT NOT NULL,"         /* a JSON object */
    "  anonymous INTEGER NOT NULL);", /* made for -v /path or --mount without source */
    /* gaps: --network-alias and network connect --alias: more names of an
     * attachment in the hosts files (space-separated). */
    "ALTER TABLE network_allocations ADD COLUMN aliases TEXT;",
    /* extruntime: 6: the external OCI runtime a container was created with
     * (`--runtime PATH`, an absolute path); '' = the built-in runtime library. */
    "ALTER TABLE containers ADD COLUMN runtime TEXT NOT NULL DEFAULT '';",
};

static int sql_err(struct db *db, int rc, const char *what, struct error *err)
{
        int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED     ? -EBUSY
                   : rc == SQLITE_FULL                          ? -ENOSPC
                   : rc == SQLITE_READONLY || rc == SQLITE_PERM ? -EROFS
                   : rc == SQLITE_CANTOPEN                      ? -ENOENT
                   : rc == SQLITE_CONSTRAINT                    ? -EEXIST
                                                                : -EIO;
        return error_msg(err, code, "database '%s': %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

int db_exec(struct db *db, const char *sql, struct error *err)
{
        char *msg = NULL;
        int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                int r = sql_err(db, rc, "exec", err);
                sqlite3_free(msg);
                return r;
        }
        return 0;
}

int db_begin(struct db *db, struct error *err)
{
        int r = db_exec(db, "BEGIN IMMEDIATE", err);
        if (r == 0)
                db->in_tx = true;
        return r;
}

int db_commit(struct db *db, struct error *err)
{
        int r = db_exec(db, "COMMIT", err);
        if (r < 0) {
                db_rollback(db);
                return r;
        }
        db->in_tx = false;
        return 0;
}

void db_rollback(struct db *db)
{
        if (db->in_tx && !sqlite3_get_autocommit(db->h))
                sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        db->in_tx = false;
}

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret, struct error *err)
{
        int rc = sqlite3_prepare_v2(db->h, sql, -1, ret, NULL);
        if (rc != SQLITE_OK)
                return sql_err(db, rc, "prepare", err);
        return 0;
}

int db_step(struct db *db, sqlite3_stmt *st, struct error *err)
{
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return sql_err(db, rc, "step", err);
}

int db_run(struct db *db, const char *sql, struct error *err, int n, ...)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        va_list ap;
        va_start(ap, n);
        for (int i = 1; i <= n; i++) {
                const char *v = va_arg(ap, const char *);
                if (v)
                        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
                else
                        sqlite3_bind_null(st, i);
        }
        va_end(ap);
        while ((r = db_step(db, st, err)) > 0)
                ;
        return r;
}

int db_changes(struct db *db)
{
        return sqlite3_changes(db->h);
}

char *db_col_str(sqlite3_stmt *st, int col)
{
        const unsigned char *t = sqlite3_column_text(st, col);
        return t ? xstrdup((const char *)t) : NULL;
}

int db_user_version(struct db *db, int *ret, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(db, "PRAGMA user_version", &st, err);
        if (r < 0)
                return r;
        r = db_step(db, st, err);
        if (r < 0)
                return r;
        *ret = r ? sqlite3_column_int(st, 0) : 0;
        return 0;
}

static int migrate(struct db *db, const char *const *migrations, size_t n, struct error *err)
{
        int version = 0;
        int r = db_user_version(db, &version, err);
        if (r < 0)
                return r;
        if ((size_t)version >= n) {
                if ((size_t)version > n)
                        return error_msg(err, -EPROTO,
                                         "database '%s' has schema version %d, newer than this "
                                         "husk knows (%zu)",
                                         db->path, version, n);
                return 0;
        }
        r = db_begin(db, err);
        if (r < 0)
                return r;
        /* Another process may have migrated while we waited for the lock. */
        r = db_user_version(db, &version, err);
        for (size_t i = (size_t)version; r == 0 && i < n; i++) {
                r = db_exec(db, migrations[i], err);
                if (r < 0)
                        error_wrap(err, r, "schema migration %zu", i + 1);
        }
        if (r == 0 && (size_t)version < n) {
                char sql[64];
                snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", n);
                r = db_exec(db, sql, err);
        }
        if (r < 0) {
                db_rollback(db);
                return r;
        }
        return db_commit(db, err);
}

int db_open_with(const char *path, const char *const *migrations, size_t n, struct db **ret,
                 struct error *err)
{
        _cleanup_free_ struct db *db = xzalloc(sizeof(*db));
        db->path = xstrdup(path);
        int rc = sqlite3_open_v2(
            path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                int r =
                    error_msg(err, rc == SQLITE_CANTOPEN ? -ENOENT : -EIO, "open database '%s': %s",
                              path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
                sqlite3_close(db->h);
                free(db->path);
                return r;
        }
        sqlite3_busy_timeout(db->h, 60000);
        /* speed: every husk process is short-lived, so the last one to close
         * would checkpoint the WAL (two or three fdatasyncs) and delete it,
         * and the next would make it again: leave that to the automatic
         * checkpoint. Its threshold is low (100 pages, a checkpoint every
         * few runs) because the first process to open the database reads
         * the whole WAL to rebuild its index: at SQLite's default of 1000
         * pages that read (4 MiB) cost more than the syncs it saved.
         * Committed data is as safe either way. */
        sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        sqlite3_wal_autocheckpoint(db->h, 100);
        /* WAL: readers never block the writer; NORMAL sync keeps the database
         * consistent across a crash (only the last commits may be lost on power loss). */
        int r = db_exec(db,
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                        "PRAGMA foreign_keys=ON;",
                        err);
        if (r == 0)
                r = migrate(db, migrations, n, err);
        if (r < 0) {
                sqlite3_close(db->h);
                free(db->path);
                return r;
        }
        *ret = TAKE_PTR(db);
        return 0;
}

int db_open(const char *path, struct db **ret, struct error *err)
{
        return db_open_with(path, husk_schema, ARRAY_SIZE(husk_schema), ret, err);
}

void db_close(struct db *db)
{
        if (!db)
                return;
        db_rollback(db);
        sqlite3_close(db->h);
        free(db->path);
        free(db);
}
