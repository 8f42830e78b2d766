/* The metadata database: a thin SQLite wrapper.
 *
 * One file (ROOT/husk.db) in WAL mode with a busy timeout, so concurrent
 * husk processes queue for the write lock instead of failing or corrupting
 * each other's writes. Writers use db_begin() (BEGIN IMMEDIATE: the write
 * lock is taken up front, so two writers never deadlock on a lock upgrade)
 * and db_commit(), or db_rollback() on any failure.
 *
 * The schema is versioned with PRAGMA user_version: db_open() applies every
 * migration in husk_schema[] past the stored version, in one transaction.
 * Later features add tables by APPENDING a migration; never edit one that
 * has shipped.
 */
#pragma once
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cleanup.h"
#include "core/error.h"

struct db {
        sqlite3 *h;
        char *path;
        bool in_tx;
};

/* Opens (creating if needed) the database file and brings its schema up to date. */
int db_open(const char *path, struct db **ret, struct error *err);
/* Same with an explicit migration list (tests). */
int db_open_with(const char *path, const char *const *migrations, size_t n, struct db **ret,
                 struct error *err);
void db_close(struct db *db);
DEFINE_FREEP(struct db, db_close)
#define _cleanup_db_ _cleanup_(db_closep)

/* The schema version the database is at. */
int db_user_version(struct db *db, int *ret, struct error *err);

int db_exec(struct db *db, const char *sql, struct error *err);
int db_begin(struct db *db, struct error *err);
int db_commit(struct db *db, struct error *err);
/* Rolls back an open transaction; a no-op when none is open. */
void db_rollback(struct db *db);

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret, struct error *err);
/* Steps a statement: 1 for a row, 0 when done, negative errno on error. */
int db_step(struct db *db, sqlite3_stmt *st, struct error *err);
/* Binds text values ?1..?n (NULL binds SQL NULL), steps to completion. */
int db_run(struct db *db, const char *sql, struct error *err, int n, ...);
/* Rows changed by the last statement. */
int db_changes(struct db *db);

static inline void sqlite3_finalizep(sqlite3_stmt **s)
{
        if (*s)
                sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)
/* Column text as a fresh string (NULL stays NULL). */
char *db_col_str(sqlite3_stmt *st, int col);
