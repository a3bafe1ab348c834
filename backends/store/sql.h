/*
 * sql - the small SQL connection interface shared by the SQL store drivers.
 *
 * sql_store.c implements every store operation once, in SQL written with
 * '?' placeholders, over this vtable.  A driver (sqlite.c now, postgres.c
 * later) supplies a struct sql_ops: how to connect, prepare, bind, step and
 * read columns, how its errors map to struct error, and the few dialect
 * differences below.  Nothing here is visible to core code: it reaches the
 * store only through backends/store.h.
 *
 * Dialect differences, kept here and nowhere else:
 *   - placeholders: SQL text always uses '?'; a driver whose server wants
 *     "$1, $2" rewrites them in its prepare.
 *   - the identity column type (ddl_id) and the boolean column type
 *     (ddl_bool) substituted for {ID} and {BOOL} in migration scripts;
 *     booleans are always bound and read as 0/1 integers.
 *   - how a write transaction starts (begin_sql): SQLite takes the write
 *     lock up front (BEGIN IMMEDIATE) so two writers never deadlock on a
 *     lock upgrade.
 *   - how migrations keep out of each other's way (migrate_lock_sql, run
 *     right after begin_sql): SQLite's write lock already serialises them;
 *     PostgreSQL's BEGIN takes no lock, so its driver names an advisory
 *     transaction lock.
 * Everything else (RETURNING, ON CONFLICT ... DO UPDATE, SAVEPOINT,
 * EXISTS, IN lists) is written once in the syntax both servers accept.
 */
#ifndef CATALOGD_STORE_SQL_H
#define CATALOGD_STORE_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "store.h"

struct sql_stmt; /* a driver's prepared statement */

/* One connection.  A driver allocates its own struct with this as the
 * first member (zeroed); sql_store.c owns the fields below. */
struct sql_conn {
    const struct sql_ops *ops;
    int depth;                /* explicit transaction nesting (store_begin) */
    struct sql_conn *next;    /* the store's list of connections */
    struct sql_store *owner;  /* the store this connection belongs to */
    struct sql_cached *cache; /* prepared statements by SQL text */
    bool bulk;                /* in begin_bulk's journal until depth is 0 */
};

struct sql_ops {
    const char *name;
    const char *ddl_id;    /* e.g. "INTEGER PRIMARY KEY AUTOINCREMENT" */
    const char *ddl_bool;  /* e.g. "INTEGER" */
    const char *begin_sql; /* e.g. "BEGIN IMMEDIATE" */
    /* Run after begin_sql in each migration transaction; NULL when
     * begin_sql alone keeps two migrating processes apart. */
    const char *migrate_lock_sql;
    /* One row, one 0/1 column: whether this connection now holds the
     * lease whose key is bound to every '?' (see store_driver.lease_try);
     * NULL when the server has no session locks. */
    const char *lease_sql;
    /* Optional: puts conn in the journal a load into an empty store is
     * written fastest through (bulk) or back in its usual one (!bulk), when
     * it can; returns whether conn is now in the bulk one. */
    bool (*bulk_journal)(struct sql_conn *conn, bool bulk);

    /* Opens a new connection with the settings in ctx (the driver's own,
     * given to sql_store_open).  *out is owned by the caller
     * (disconnect).  Errors: ERR_UNAVAILABLE or ERR_IO. */
    int (*connect)(void *ctx, struct sql_conn **out, struct error *err);
    void (*disconnect)(struct sql_conn *conn);
    /* Runs one or more statements with no parameters and no results. */
    int (*exec)(struct sql_conn *conn, const char *sql, struct error *err);

    /* *out is owned by the caller (finalize). */
    int (*prepare)(struct sql_conn *conn, const char *sql, struct sql_stmt **out,
                   struct error *err);
    void (*finalize)(struct sql_stmt *stmt);
    /* Makes the statement ready to run again and clears its bindings. */
    void (*reset)(struct sql_stmt *stmt);

    /* Parameters are numbered from 1.  bind_text with NULL binds null.
     * The text is copied. */
    int (*bind_text)(struct sql_stmt *stmt, int i, const char *v, struct error *err);
    int (*bind_int64)(struct sql_stmt *stmt, int i, int64_t v, struct error *err);
    int (*bind_double)(struct sql_stmt *stmt, int i, double v, struct error *err);
    int (*bind_null)(struct sql_stmt *stmt, int i, struct error *err);

    /* Returns 1 with a row, 0 when done, -1 on error (mapped: busy or
     * locked -> ERR_UNAVAILABLE, constraint -> ERR_CONFLICT, otherwise
     * ERR_INTERNAL). */
    int (*step)(struct sql_stmt *stmt, struct error *err);

    /* Columns are numbered from 0.  column_text returns NULL for null; the
     * string belongs to the statement until the next step or reset. */
    const char *(*column_text)(struct sql_stmt *stmt, int i);
    int64_t (*column_int64)(struct sql_stmt *stmt, int i);
    bool (*column_is_null)(struct sql_stmt *stmt, int i);
};

/* Every store_driver hook sql_store.c implements once for all SQL
 * dialects, for a driver's designated initializer, so that a hook added
 * here reaches every SQL driver:
 *   const struct store_driver store_x_driver = {.name = "x", .open = x_open,
 *                                               SQL_STORE_HOOKS};
 * A driver adds what is its own (postgres: .lease_try). */
#define SQL_STORE_HOOKS                                                                            \
    .close = sql_store_close, .migrate = sql_store_migrate, .health = sql_store_health,            \
    .begin = sql_store_begin, .commit = sql_store_commit, .rollback = sql_store_rollback,          \
    .begin_bulk = sql_store_begin_bulk, .get = sql_store_get, .list = sql_store_list,              \
    .each = sql_store_each, .count = sql_store_count, .put = sql_store_put,                        \
    .remove = sql_store_remove, .changes_since = sql_store_changes_since,                          \
    .checkpoint_get = sql_store_checkpoint_get, .checkpoint_set = sql_store_checkpoint_set,        \
    .refresh_set = sql_store_refresh_set, .refresh_due = sql_store_refresh_due,                    \
    .refresh_next = sql_store_refresh_next

/* Opens a store over ops; its driver is driver (which lists the
 * sql_store_* hooks it uses).  ctx is the driver's connection settings, kept
 * (not copied) until the store is closed, then passed to free_ctx (may be
 * NULL).  Connects once on the calling thread and applies pending
 * migrations.  *out is owned by the caller (store_close). */
int sql_store_open(const struct store_driver *driver, const struct sql_ops *ops, void *ctx,
                   void (*free_ctx)(void *ctx), struct store **out, struct error *err);

/* The store_driver hooks sql_store.c implements; a SQL driver points its
 * struct store_driver at these and supplies only name, description and
 * open (which calls sql_store_open). */
void sql_store_close(struct store *store);
int sql_store_migrate(struct store *store, int *from, int *to, struct error *err);
int sql_store_health(struct store *store, struct error *err);
int sql_store_begin(struct store *store, struct error *err);
int sql_store_begin_bulk(struct store *store, struct error *err);
int sql_store_commit(struct store *store, struct error *err);
int sql_store_rollback(struct store *store);
int sql_store_get(struct store *store, enum entity_kind kind, const char *key_or_uuid, json_t **out,
                  struct error *err);
int sql_store_list(struct store *store, const struct store_query *query, struct store_page *page,
                   struct error *err);
int sql_store_each(struct store *store, enum entity_kind kind, store_each_fn fn, void *ctx,
                   struct error *err);
int sql_store_count(struct store *store, enum entity_kind kind, size_t *out, struct error *err);
int sql_store_put(struct store *store, enum entity_kind kind, const json_t *doc,
                  enum store_put mode, json_t **stored, struct error *err);
int sql_store_remove(struct store *store, enum entity_kind kind, const char *key_or_uuid,
                     struct error *err);
int sql_store_changes_since(struct store *store, uint64_t after, struct store_change *out,
                            size_t max, size_t *n, struct error *err);
int sql_store_checkpoint_get(struct store *store, const char *name, uint64_t *out,
                             struct error *err);
int sql_store_checkpoint_set(struct store *store, const char *name, uint64_t value,
                             struct error *err);
int sql_store_lease_try(struct store *store, int64_t key, bool *held, struct error *err);
int sql_store_refresh_set(struct store *store, enum entity_kind kind, const char *key, time_t at,
                          struct error *err);
int sql_store_refresh_due(struct store *store, time_t now, struct store_refresh *out, size_t max,
                          size_t *n, struct error *err);
int sql_store_refresh_next(struct store *store, time_t *at, struct error *err);

/* The latest schema version the migrations reach. */
int sql_store_schema_version(void);

#endif
