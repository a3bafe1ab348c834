/*
 * sqlite - the express store: the sql.h connection interface over SQLite
 * (one database file in WAL mode) and store_sqlite_driver, whose
 * operations are all sql_store.c's.
 *
 * Each thread gets its own connection (sql_store.c opens them lazily), so
 * connections are opened without SQLite's own mutexes.  WAL lets readers
 * run while one writer writes; busy_timeout makes a writer wait for
 * another instead of failing at once; a wait that runs out is
 * ERR_UNAVAILABLE (retryable), never a crash.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"

struct sqlite_ctx {
    char *path;
    int busy_timeout_ms;
};

struct sqlite_conn {
    struct sql_conn base;
    sqlite3 *db;
};

/* sql_stmt is the driver's statement: SQLite's own, with its connection
 * reachable through sqlite3_db_handle. */
static sqlite3_stmt *ST(struct sql_stmt *s)
{
    return (sqlite3_stmt *)s;
}

static sqlite3 *DB(struct sql_conn *c)
{
    return ((struct sqlite_conn *)c)->db;
}

static int map_error(sqlite3 *db, int rc, struct error *err)
{
    enum error_code code;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = ERR_UNAVAILABLE;
        break;
    case SQLITE_CONSTRAINT:
        code = ERR_CONFLICT;
        break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        code = ERR_IO;
        break;
    default:
        code = ERR_INTERNAL;
        break;
    }
    return error_set(err, code, "sqlite: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* SQLite counts every allocation under one global mutex unless told not
 * to; the store and the index are written from two threads at once (the
 * rebuild's reader and writer), and nothing reads those counts.  Only
 * possible before SQLite's first use in the process, so it is tried once,
 * at the first connection; later it is refused and changes nothing. */
static pthread_once_t memstatus_once = PTHREAD_ONCE_INIT;

static void memstatus_off(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_connect(void *ctxp, struct sql_conn **out, struct error *err)
{
    pthread_once(&memstatus_once, memstatus_off);
    const struct sqlite_ctx *ctx = ctxp;
    struct sqlite_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    int rc = sqlite3_open_v2(
        ctx->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        error_set(err, ERR_IO, "cannot open store %s: %s", ctx->path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        free(c);
        return -1;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, ctx->busy_timeout_ms);
    char *msg = NULL;
    rc = sqlite3_exec(c->db,
                      "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"
                      " PRAGMA synchronous = NORMAL;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        error_set(err, (rc & 0xff) == SQLITE_BUSY ? ERR_UNAVAILABLE : ERR_IO,
                  "cannot open store %s: %s", ctx->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(c->db);
        free(c);
        return -1;
    }
    *out = &c->base;
    return 0;
}

static void sq_disconnect(struct sql_conn *conn)
{
    struct sqlite_conn *c = (struct sqlite_conn *)conn;
    sqlite3_close(c->db);
    free(c);
}

static int sq_exec(struct sql_conn *conn, const char *sql, struct error *err)
{
    int rc = sqlite3_exec(DB(conn), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : map_error(DB(conn), rc, err);
}

static int sq_prepare(struct sql_conn *conn, const char *sql, struct sql_stmt **out,
                      struct error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(DB(conn), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return map_error(DB(conn), rc, err);
    *out = (struct sql_stmt *)st;
    return 0;
}

static void sq_finalize(struct sql_stmt *s)
{
    sqlite3_finalize(ST(s));
}

static void sq_reset(struct sql_stmt *s)
{
    sqlite3_reset(ST(s));
    sqlite3_clear_bindings(ST(s));
}

static int bind_rc(struct sql_stmt *s, int rc, struct error *err)
{
    return rc == SQLITE_OK ? 0 : map_error(sqlite3_db_handle(ST(s)), rc, err);
}

static int sq_bind_text(struct sql_stmt *s, int i, const char *v, struct error *err)
{
    int rc = v == NULL ? sqlite3_bind_null(ST(s), i)
                       : sqlite3_bind_text(ST(s), i, v, -1, SQLITE_TRANSIENT);
    return bind_rc(s, rc, err);
}

static int sq_bind_int64(struct sql_stmt *s, int i, int64_t v, struct error *err)
{
    return bind_rc(s, sqlite3_bind_int64(ST(s), i, v), err);
}

static int sq_bind_double(struct sql_stmt *s, int i, double v, struct error *err)
{
    return bind_rc(s, sqlite3_bind_double(ST(s), i, v), err);
}

static int sq_bind_null(struct sql_stmt *s, int i, struct error *err)
{
    return bind_rc(s, sqlite3_bind_null(ST(s), i), err);
}

static int sq_step(struct sql_stmt *s, struct error *err)
{
    int rc = sqlite3_step(ST(s));
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return map_error(sqlite3_db_handle(ST(s)), rc, err);
}

static const char *sq_column_text(struct sql_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(ST(s), i);
}

static int64_t sq_column_int64(struct sql_stmt *s, int i)
{
    return sqlite3_column_int64(ST(s), i);
}

static bool sq_column_is_null(struct sql_stmt *s, int i)
{
    return sqlite3_column_type(ST(s), i) == SQLITE_NULL;
}

/* A load into an empty file through a rollback journal writes each page
 * once: the journal keeps only the pages the file had, where the WAL took
 * every page and the checkpoint wrote it again (and each page read looked
 * it up in the WAL's hash tables).  A 100k-course first import: 97 s ->
 * 93 s.  SQLite leaves the WAL only when no other connection has the file
 * open; a server's connections keep it, and their readers with it. */
static bool sq_bulk_journal(struct sql_conn *conn, bool bulk)
{
    const char *mode = bulk ? "delete" : "wal";
    char sql[64];
    sqlite3_stmt *st = NULL;
    bool now_bulk = !bulk;
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", mode);
    if (sqlite3_prepare_v2(DB(conn), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        now_bulk = sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") != 0;
    sqlite3_finalize(st);
    return now_bulk;
}

static const struct sql_ops sqlite_ops = {
    .name = "sqlite",
    .ddl_id = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .ddl_bool = "INTEGER",
    .begin_sql = "BEGIN IMMEDIATE",
    .bulk_journal = sq_bulk_journal,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .reset = sq_reset,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .column_text = sq_column_text,
    .column_int64 = sq_column_int64,
    .column_is_null = sq_column_is_null,
};

static void free_ctx(void *p)
{
    struct sqlite_ctx *ctx = p;
    if (ctx != NULL)
        free(ctx->path);
    free(ctx);
}

extern const struct store_driver store_sqlite_driver;

static int sqlite_open(const struct config *config, struct store **out, struct error *err)
{
    *out = NULL;
    const char *path = config_get(config, "store.path");
    if (path == NULL || *path == '\0')
        return error_set_field(err, ERR_CONFIG, "store.path", "store.path is empty");
    struct sqlite_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL || (ctx->path = strdup(path)) == NULL) {
        free(ctx);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    int64_t busy = config_int(config, "store.busy_timeout");
    ctx->busy_timeout_ms = busy < 0 ? 0 : busy > 600000 ? 600000 : (int)busy;
    return sql_store_open(&store_sqlite_driver, &sqlite_ops, ctx, free_ctx, out, err);
}

const struct store_driver store_sqlite_driver = {
    .name = "sqlite",
    .description = "SQLite file in WAL mode (express)",
    .serialized_writes = true, /* BEGIN IMMEDIATE: one writer at a time */
    .open = sqlite_open,
    SQL_STORE_HOOKS,
};
