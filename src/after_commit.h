/*
 * after_commit - what follows every committed write, API or import, so
 * that derived data never drifts from the store:
 *   1. the indexer applies the store's outbox to the search index (inline
 *      in express, so a write is searchable when the API answers; a crash
 *      before this step loses nothing, since start-up catches up), then
 *      bumps the "index" generation; with a background indexer
 *      (search.indexer = thread) this step only wakes it, and the write
 *      returns as soon as the store committed;
 *   2. the "catalog" generation is bumped, so that every process sharing
 *      the catalog stops serving responses cached before the write.
 */
#ifndef CATALOGD_AFTER_COMMIT_H
#define CATALOGD_AFTER_COMMIT_H

#include "cache.h"
#include "error.h"
#include "search.h"
#include "store.h"

/* search and cache may be NULL (not configured).  Returns 0, or -1 with err
 * set when the index could not be brought up to date (the write itself is
 * committed either way; the outbox keeps what is left for the next run). */
int after_commit(struct store *store, struct search *search, struct cache *cache,
                 struct error *err);

struct indexer_thread;

/* As after_commit, but with indexer (may be NULL: inline as above) the
 * index is only signalled, never written here. */
int after_commit_with(struct store *store, struct search *search, struct cache *cache,
                      struct indexer_thread *indexer, struct error *err);

#endif
