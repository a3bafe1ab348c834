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
    bool rebuilt; /* caught up by rebuilding the whole index */
};

/* A backlog of at least this many changes, and at least as many as the
 * index holds documents, is caught up by a rebuild (see indexer_reindex)
 * instead of change by change. */
#define INDEXER_REBUILD_THRESHOLD 5000

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

/* *lag receives the number of outbox changes not yet applied (counted up
 * to a bound of 1,000,000). */
int indexer_lag(struct store *store, uint64_t *lag, struct error *err);

/* Rebuilds the whole index from the store through the driver's rebuild
 * hooks (searches keep being answered from the old index until the
 * switch), sets the checkpoint to the outbox head taken before the store
 * was read, then catches up with what was written meanwhile.
 * ERR_UNSUPPORTED for a driver without rebuild hooks. */
int indexer_reindex(struct store *store, struct search *search, struct cache *cache,
                    struct indexer_stats *stats, struct error *err);

/* Compares store and index: counts per content type, then every document
 * missing from the index, extra in it, or different (checksum), one line
 * each on out.  *differences receives how many documents differ.  Returns
 * -1 only when the comparison itself could not be made. */
int indexer_verify(struct store *store, struct search *search, FILE *out, size_t *differences,
                   struct error *err);

#endif
