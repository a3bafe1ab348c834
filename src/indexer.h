/*
 * indexer - keeps the search index derived from the store: applies the
 * store's outbox in order from a checkpoint kept in the store, rebuilds
 * the whole index (reindex), and compares index and store (verify).
 *
 * The checkpoint is the store checkpoint "search-index": the id of the
 * last outbox change whose documents are in the index.  It only advances
 * after a batch has been applied, so a crash at any point loses nothing:
 * the next catch-up applies the batch again, and applying a change twice
 * gives the same index (documents are rebuilt from the store as it is).
 */
#ifndef CATALOGD_INDEXER_H
#define CATALOGD_INDEXER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cache.h"
#include "error.h"
#include "search.h"
#include "store.h"

#define INDEXER_CHECKPOINT "search-index"

struct indexer_stats {
    size_t changes; /* outbox changes applied */
    size_t indexed; /* documents written */
    size_t removed; /* documents removed */
    size_t batches; /* index transactions */
    uint64_t checkpoint;
    bool rebuilt;       /* caught up by rebuilding the whole index */
    size_t refreshed;   /* documents re-indexed because the clock moved */
    bool during_import; /* built while a first import wrote the store */
};

/* A backlog of at least this many changes, and at least as many as the
 * index holds documents, is caught up by a rebuild (see indexer_reindex)
 * instead of change by change. */
#define INDEXER_REBUILD_THRESHOLD 5000
/* Into an empty index, this many changes already make a rebuild (a first
 * import of a small catalog is a bulk load too). */
#define INDEXER_REBUILD_EMPTY_MIN 256

/* Changes the threshold (tests); 0 never rebuilds. */
void indexer_set_rebuild_threshold(size_t n);

/* Outbox changes (and reindex/import documents) per batch; from
 * search.batch_size.  0 is taken as 1. */
void indexer_set_batch_size(size_t n);
size_t indexer_batch_size(void);

/* Applies every outbox change after the checkpoint, in order, in batches
 * (or, for a large backlog, rebuilds: see INDEXER_REBUILD_THRESHOLD), and
 * bumps the "index" generation of cache (may be NULL) when anything
 * was applied.  stats (may be NULL) is filled.  Safe to call from several
 * threads and processes at once.  On failure the checkpoint stays at the
 * last batch fully applied and -1 is returned with err set. */
int indexer_catch_up(struct store *store, struct search *search, struct cache *cache,
                     struct indexer_stats *stats, struct error *err);

/* Re-indexes the documents the clock has made stale: those whose refresh
 * time (store_refresh_set, written with every course document: see
 * search_docs_refresh_at) is at or before clock_now(), and bumps the
 * "index" generation of cache (may be NULL) when there were any.  Part
 * of every indexer_catch_up; also for searches that find
 * indexer_refresh_due. */
int indexer_refresh(struct store *store, struct search *search, struct cache *cache,
                    struct indexer_stats *stats, struct error *err);

/* Whether a refresh may be due at now as far as this process knows: the
 * earliest refresh time it has written or read, re-read from the store at
 * least every minute (other processes write too).  One atomic load, for
 * the search path. */
bool indexer_refresh_due(time_t now);

/* *lag receives the number of outbox changes not yet applied (counted up
 * to a bound of 1,000,000). */
int indexer_lag(struct store *store, uint64_t *lag, struct error *err);

/* Gaps (see indexer.c, "Order"): how long a missing outbox id below one
 * already applied is waited for before the checkpoint moves past it (a
 * transaction that rolled back).  From search.gap_timeout. */
#define INDEXER_GAP_TIMEOUT_MS 60000
void indexer_set_gap_timeout_ms(long ms);

/* Forgets the ids applied above the checkpoint and the next refresh time
 * (tests: as a restart). */
void indexer_forget(void);

/* *applied receives whether outbox change id is in the index (at or
 * below the checkpoint, or applied above it by this process). */
int indexer_applied(struct store *store, uint64_t id, bool *applied, struct error *err);

/* *head receives the highest outbox id committed (the checkpoint when
 * none is above it). */
int indexer_outbox_head(struct store *store, uint64_t *head, struct error *err);

/* Seconds on a monotonic clock (unaffected by clock.now). */
double indexer_monotonic(void);

/* Rebuilds the whole index from the store through the driver's rebuild
 * hooks (searches keep being answered from the old index until the
 * switch), moves the checkpoint over the outbox changes listed before the
 * store was read (only as far as no lower id may still be in flight: the
 * ones above a gap are remembered as applied, as catch-up does), then
 * catches up with what was written meanwhile.
 * ERR_UNSUPPORTED for a driver without rebuild hooks. */
int indexer_reindex(struct store *store, struct search *search, struct cache *cache,
                    struct indexer_stats *stats, struct error *err);

/* ---- a first import, indexed while it is written (indexer.c) ----
 *
 * When an import writes every record of the catalog (the store is empty
 * when its transaction begins) into an empty index, the index is built
 * from the records as the import writes them, on a writer thread, instead
 * of rebuilt from the store afterwards.  main's import wires the hooks
 * below as catalog_import's sink (catalog_io.h's struct import_sink, ctx
 * the struct indexer_import):
 *
 *   indexer_import_open     before catalog_import
 *   indexer_import_begin    the sink's begin: decides, inside the import's
 *                           store transaction (see below)
 *   indexer_import_record   the sink's record
 *   indexer_import_finish   the sink's finish
 *   indexer_import_end      after catalog_import: commits the index and
 *                           moves the checkpoint, or drops the index build
 *
 * The fast path is taken only when the search driver can rebuild, the
 * store serializes writers (store_driver.serialized_writes), rebuilds are
 * on (indexer_set_rebuild_threshold), the import writes at least
 * INDEXER_REBUILD_EMPTY_MIN records (or the threshold, when lower), and
 * inside the import's transaction the index holds no document and the
 * store no record.  Otherwise, and whenever it gives up (a record it
 * cannot flatten from what it was handed, a failed index page, a failed
 * index commit), nothing is indexed and the checkpoint stays: after_commit's
 * catch-up then indexes the import as before.  The hooks never fail the
 * import, except for a store write of their own (a course's refresh
 * time, in the import's transaction). */
struct indexer_import;

/* *out (caller-owned: indexer_import_end, which frees it) is NULL when the
 * fast path cannot apply at all (search NULL, a driver without rebuild
 * hooks, a store without serialized writers, rebuilds off).  Otherwise
 * this process's applier lock is held until indexer_import_end. */
int indexer_import_open(struct store *store, struct search *search, struct cache *cache,
                        struct indexer_import **out, struct error *err);

/* The import_sink hooks; ctx is the struct indexer_import. */
int indexer_import_begin(void *ctx, size_t total, struct error *err);
int indexer_import_record(void *ctx, enum entity_kind kind, const json_t *stored,
                          struct error *err);
int indexer_import_finish(void *ctx, struct error *err);

/* Ends what ii began (NULL is fine) and frees it.  committed: whether the
 * import's store transaction committed.  Only then, and if nothing gave
 * up, the index's rebuild is committed, the checkpoint moved over the
 * import's outbox ids, and the "index" generation of the cache bumped;
 * stats (may be NULL) then receives what was written, with during_import
 * set.  Returns -1 with err set when the index or checkpoint commit
 * failed: the import is committed all the same, and the checkpoint has
 * not moved, so a catch-up (after_commit) indexes it. */
int indexer_import_end(struct indexer_import *ii, bool committed, struct indexer_stats *stats,
                       struct error *err);

/* Compares store and index: counts per content type, then every document
 * missing from the index, extra in it, or different (checksum), one line
 * each on out.  *differences receives how many documents differ.  Returns
 * -1 only when the comparison itself could not be made. */
int indexer_verify(struct store *store, struct search *search, FILE *out, size_t *differences,
                   struct error *err);

/* ---- the background indexer (search.indexer = thread; indexer_thread.c) ----
 *
 * One thread per process applies the outbox (indexer_catch_up) whenever
 * signalled, and every poll interval without a signal (writes of other
 * processes, gaps timing out, a lease to take over).  It applies only
 * while it holds the store lease INDEXER_LEASE_KEY (PostgreSQL: a session
 * advisory lock on the thread's own connection), so of several processes
 * on one database one applies at a time, and another takes over when that
 * one dies.  A failing pass is retried after retry_min_ms, doubling up to
 * retry_max_ms; signals do not cut a backoff short. */
#define INDEXER_LEASE_KEY 1667331122

struct indexer_thread_config {
    long poll_ms;
    long retry_min_ms;
    long retry_max_ms;
};

struct indexer_thread;

/* Starts the thread; store, search and cache (may be NULL) are borrowed
 * and must outlive indexer_thread_stop.  *out is owned by the caller. */
int indexer_thread_start(struct store *store, struct search *search, struct cache *cache,
                         const struct indexer_thread_config *config, struct indexer_thread **out,
                         struct error *err);

/* Wakes the thread for a pass (cheap; never blocks on indexing). */
void indexer_thread_signal(struct indexer_thread *t);

/* Waits until the change `id` (e.g. from indexer_outbox_head right after
 * a commit) is applied, at most timeout_ms.  *applied receives whether it
 * was.  Wakes the thread first. */
int indexer_thread_wait(struct indexer_thread *t, uint64_t id, long timeout_ms, bool *applied,
                        struct error *err);

/* Whether the thread held the lease in its last pass (tests, /readyz). */
bool indexer_thread_leader(struct indexer_thread *t);
/* Passes that failed in a row (0 after a success). */
unsigned indexer_thread_failures(struct indexer_thread *t);

/* Stops and joins the thread and frees t (NULL is fine). */
void indexer_thread_stop(struct indexer_thread *t);

#endif
