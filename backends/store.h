/*
 * store - the interface to the source of truth.
 *
 * A driver fills a const struct store_driver (designated initializers) and
 * returns handles whose first member is struct store.  Core code calls the
 * driver through the store_* wrappers below and never includes a driver's
 * own files.  Drivers: sqlite (express), postgres (normal, giant).
 *
 * Records travel as canonical documents (see src/entity.h).  Every write
 * commits the record and a row in the `changes` outbox in one transaction,
 * so the search index can be derived from the store and checked against
 * it.
 *
 * Threads: one handle serves every thread; the driver keeps a connection
 * per thread (or a pool).  begin/commit/rollback apply to the calling
 * thread's connection, and writes made between them join that transaction.
 */
#ifndef CATALOGD_STORE_H
#define CATALOGD_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "entity.h"
#include "error.h"

struct store {
    const struct store_driver *driver;
};

/* What a list asks for.  Zero-initialise it and set what applies; filters
 * that do not apply to a kind are ignored by the driver.  A list filter
 * (keys, uuids, statuses) applies when its pointer is not NULL: set with
 * n == 0 it matches nothing. */
struct store_query {
    enum entity_kind kind;
    const char *const *keys; /* natural keys (any of) */
    size_t n_keys;
    const char *const *uuids; /* any of */
    size_t n_uuids;
    const char *const *statuses; /* runs, programs, pathways: any of */
    size_t n_statuses;
    int hidden;               /* runs, programs: -1 any, 0 not hidden, 1 hidden only */
    int marketable;           /* runs: published, has seats and a marketing URL;
                                 courses: has such a run; programs: active with a
                                 marketing slug.  -1 any, 1 only, 0 only not */
    int active;               /* runs: end null or > now and enrollment_end null or
                                 > now; courses: has such a run.  -1 any, 1, 0 */
    const char *course;       /* runs: of this course; programs: containing it */
    const char *program_type; /* programs: of this type (slug or name) */
    const char *organization; /* courses: owned by; programs: authored by */
    const char *pacing_type;  /* runs */
    bool public_only;         /* caller is not staff: runs published and not
                                 hidden, programs active or retired */
    time_t now;               /* for active */
    /* "key", "start", "title", "modified", "uuid", each optionally with a
     * leading '-'; NULL for the natural key order.  A name the kind cannot
     * order by is ERR_INVALID with field "ordering". */
    const char *ordering;
    size_t offset;
    size_t limit; /* 0: no limit */
    bool count_total;
};

struct store_page {
    json_t *items; /* array of canonical documents; owned by the caller */
    size_t total;  /* every match, when count_total was set */
};

enum store_put {
    STORE_CREATE,  /* ERR_CONFLICT when the key or uuid exists */
    STORE_REPLACE, /* ERR_NOT_FOUND when absent */
    STORE_UPSERT,  /* import: create or replace by natural key */
};

/* One outbox row: a committed change to one record. */
struct store_change {
    uint64_t id;
    enum entity_kind kind;
    char key[256];
    bool deleted;
};

/* A record whose search document must be rebuilt at `at` because the
 * clock alone changes it (see store_driver.refresh_set). */
struct store_refresh {
    enum entity_kind kind;
    char key[256];
    time_t at;
};

/* Called by store_each for every record of a kind, in natural key order.
 * doc is borrowed.  Return 0 to go on, -1 (with err set) to stop. */
typedef int (*store_each_fn)(void *ctx, const json_t *doc, struct error *err);

struct store_driver {
    const char *name;
    const char *description;
    /* Whether a write transaction (begin .. commit) keeps every other
     * writer, of any connection or process, out until it ends (SQLite's
     * BEGIN IMMEDIATE), so that nothing but the transaction itself changes
     * the store between what it read and its commit.  PostgreSQL's
     * transactions run side by side: false.  A first import indexes its
     * own records while it writes them only where this holds (see
     * indexer_import_begin). */
    bool serialized_writes;
    /* Opens (creating the database when absent) and brings the schema up
     * to date.  *out is owned by the caller (close). */
    int (*open)(const struct config *config, struct store **out, struct error *err);
    void (*close)(struct store *store);
    /* Applies pending migrations; *from and *to receive the versions. */
    int (*migrate)(struct store *store, int *from, int *to, struct error *err);
    int (*health)(struct store *store, struct error *err);

    int (*begin)(struct store *store, struct error *err);
    int (*commit)(struct store *store, struct error *err);
    int (*rollback)(struct store *store);
    /* Optional (NULL: begin).  begin for a transaction that loads many
     * records into an empty store and that the caller rolls back on any
     * failure in it: a driver may write it in a way that is faster for
     * that and worse for other connections meanwhile (sqlite: a rollback
     * journal instead of the WAL, and only when no other connection has
     * the file open; docs/store.md).  Ended by commit or rollback. */
    int (*begin_bulk)(struct store *store, struct error *err);

    /* Finds a record by natural key or uuid.  *out: a new reference owned
     * by the caller.  ERR_NOT_FOUND when there is none. */
    int (*get)(struct store *store, enum entity_kind kind, const char *key_or_uuid, json_t **out,
               struct error *err);
    /* page->items is set on success and owned by the caller. */
    int (*list)(struct store *store, const struct store_query *query, struct store_page *page,
                struct error *err);
    int (*each)(struct store *store, enum entity_kind kind, store_each_fn fn, void *ctx,
                struct error *err);
    int (*count)(struct store *store, enum entity_kind kind, size_t *out, struct error *err);
    /* Writes a canonical document (natural keys at most 255 bytes, as
     * struct store_change holds them).  A reference to a record that does not
     * exist is ERR_INVALID with field naming the reference ("owners") and
     * the message naming the key.  *stored (may be NULL) receives the
     * document as stored (new reference, caller-owned). */
    int (*put)(struct store *store, enum entity_kind kind, const json_t *doc, enum store_put mode,
               json_t **stored, struct error *err);
    /* Deletes by natural key or uuid.  A course takes its runs and seats
     * with it.  A record others depend on is ERR_CONFLICT naming them. */
    int (*remove)(struct store *store, enum entity_kind kind, const char *key_or_uuid,
                  struct error *err);

    /* The outbox: up to max changes with id > after, oldest first, into
     * out[]; *n receives how many. */
    int (*changes_since)(struct store *store, uint64_t after, struct store_change *out, size_t max,
                         size_t *n, struct error *err);
    /* A named checkpoint kept in the store (the indexer's); one never set
     * reads as 0. */
    int (*checkpoint_get)(struct store *store, const char *name, uint64_t *out, struct error *err);
    int (*checkpoint_set)(struct store *store, const char *name, uint64_t value, struct error *err);
    /* Takes, or confirms it still holds, the lease `key` for the calling
     * thread's connection: PostgreSQL's session advisory lock, held until
     * that connection ends (so a process that dies gives it up).  *held
     * receives whether this connection holds it.  NULL in drivers whose
     * writers are serialised anyway (SQLite): then every caller may act. */
    int (*lease_try)(struct store *store, int64_t key, bool *held, struct error *err);

    /* Search refresh times (the indexer's; one row per record): at > 0
     * sets when the record's search document must be rebuilt, at == 0
     * clears it.  Joins the calling thread's transaction like any write,
     * but writes no outbox row.  NULL in a driver without them: then
     * clock-dependent documents are only rebuilt when written. */
    int (*refresh_set)(struct store *store, enum entity_kind kind, const char *key, time_t at,
                       struct error *err);
    /* Up to max rows whose time is <= now, earliest first, into out[]; *n
     * receives how many. */
    int (*refresh_due)(struct store *store, time_t now, struct store_refresh *out, size_t max,
                       size_t *n, struct error *err);
    /* *at receives the earliest time of all rows, 0 when there is none. */
    int (*refresh_next)(struct store *store, time_t *at, struct error *err);
};

static inline void store_close(struct store *s)
{
    if (s != NULL)
        s->driver->close(s);
}
static inline int store_migrate(struct store *s, int *from, int *to, struct error *err)
{
    return s->driver->migrate(s, from, to, err);
}
static inline int store_health(struct store *s, struct error *err)
{
    return s->driver->health(s, err);
}
static inline int store_begin(struct store *s, struct error *err)
{
    return s->driver->begin(s, err);
}
static inline int store_commit(struct store *s, struct error *err)
{
    return s->driver->commit(s, err);
}
static inline int store_rollback(struct store *s)
{
    return s->driver->rollback(s);
}
static inline int store_get(struct store *s, enum entity_kind kind, const char *key, json_t **out,
                            struct error *err)
{
    return s->driver->get(s, kind, key, out, err);
}
static inline int store_list(struct store *s, const struct store_query *q, struct store_page *page,
                             struct error *err)
{
    return s->driver->list(s, q, page, err);
}
static inline int store_each(struct store *s, enum entity_kind kind, store_each_fn fn, void *ctx,
                             struct error *err)
{
    return s->driver->each(s, kind, fn, ctx, err);
}
static inline int store_count(struct store *s, enum entity_kind kind, size_t *out,
                              struct error *err)
{
    return s->driver->count(s, kind, out, err);
}
static inline int store_begin_bulk(struct store *s, struct error *err)
{
    return s->driver->begin_bulk != NULL ? s->driver->begin_bulk(s, err) : s->driver->begin(s, err);
}
/* *empty: whether the store holds no record of any kind. */
static inline int store_is_empty(struct store *s, bool *empty, struct error *err)
{
    *empty = true;
    for (int k = 0; *empty && k < ENTITY_KIND_COUNT; k++) {
        size_t n = 0;
        if (store_count(s, (enum entity_kind)k, &n, err) != 0)
            return -1;
        *empty = n == 0;
    }
    return 0;
}
static inline int store_put(struct store *s, enum entity_kind kind, const json_t *doc,
                            enum store_put mode, json_t **stored, struct error *err)
{
    return s->driver->put(s, kind, doc, mode, stored, err);
}
static inline int store_remove(struct store *s, enum entity_kind kind, const char *key,
                               struct error *err)
{
    return s->driver->remove(s, kind, key, err);
}

/* See store_driver.lease_try; a driver without leases always grants. */
static inline int store_lease_try(struct store *s, int64_t key, bool *held, struct error *err)
{
    *held = true;
    return s->driver->lease_try != NULL ? s->driver->lease_try(s, key, held, err) : 0;
}

/* See store_driver.refresh_set and the two after it; a driver without
 * them keeps no refresh times (set does nothing, nothing is ever due). */
static inline int store_refresh_set(struct store *s, enum entity_kind kind, const char *key,
                                    time_t at, struct error *err)
{
    return s->driver->refresh_set != NULL ? s->driver->refresh_set(s, kind, key, at, err) : 0;
}
static inline int store_refresh_due(struct store *s, time_t now, struct store_refresh *out,
                                    size_t max, size_t *n, struct error *err)
{
    *n = 0;
    return s->driver->refresh_due != NULL ? s->driver->refresh_due(s, now, out, max, n, err) : 0;
}
static inline int store_refresh_next(struct store *s, time_t *at, struct error *err)
{
    *at = 0;
    return s->driver->refresh_next != NULL ? s->driver->refresh_next(s, at, err) : 0;
}

/* Opens the driver named by [store] driver.  *out is owned by the caller
 * (store_close). */
int store_open(const struct config *config, struct store **out, struct error *err);

#endif
