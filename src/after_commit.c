/*
 * after_commit - the one follow-up of every committed write (see
 * after_commit.h): index first, so that a reader who sees the new catalog
 * generation can also find the write by search.
 */
#include "after_commit.h"

#include "indexer.h"
#include "log.h"

int after_commit(struct store *store, struct search *search, struct cache *cache, struct error *err)
{
    return after_commit_with(store, search, cache, NULL, err);
}

int after_commit_with(struct store *store, struct search *search, struct cache *cache,
                      struct indexer_thread *indexer, struct error *err)
{
    int rc = 0;
    if (search != NULL && indexer != NULL)
        indexer_thread_signal(indexer);
    else if (search != NULL)
        rc = indexer_catch_up(store, search, cache, NULL, err);
    if (cache != NULL) {
        uint64_t gen;
        struct error bump_err = {0};
        /* A cache that cannot be bumped must not keep serving what was
         * cached before the write; the driver treats its own failure as an
         * outage (nothing from before it is trusted). */
        if (cache->driver->bump(cache, "catalog", &gen, &bump_err) != 0)
            log_msg(LOG_WARN, "after commit: cannot bump the catalog generation: %s",
                    bump_err.message);
    }
    return rc;
}
