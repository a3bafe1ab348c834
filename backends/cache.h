/*
 * cache - the interface to the response cache.
 *
 * Values are bytes with a TTL, stored under a key together with the
 * generation they were computed at; a lookup names the generation the
 * caller expects, and an entry from another generation is a miss.  The
 * generations themselves ("catalog", bumped by every committed write;
 * "index", bumped when the indexer applies changes) are counters that
 * every process sharing the catalog must see at once: in express a small
 * counter file beside the database, in Redis a key.  Drivers: memory
 * (bounded LRU, in-process), redis, redis-cluster, none.
 */
#ifndef CATALOGD_CACHE_H
#define CATALOGD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

struct cache {
    const struct cache_driver *driver;
};

struct cache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions;
    uint64_t bytes;   /* bytes held now */
    uint64_t entries; /* entries held now */
};

struct cache_driver {
    const char *name;
    const char *description;
    /* *out is owned by the caller (close). */
    int (*open)(const struct config *config, struct cache **out, struct error *err);
    void (*close)(struct cache *cache);
    /* Returns 1 on a hit with *value a malloc'd copy owned by the caller
     * (free) and *len its length, 0 on a miss (absent, expired or of
     * another generation), -1 on error (ERR_UNAVAILABLE when the cache
     * cannot be reached; callers then serve uncached). */
    int (*get)(struct cache *cache, const char *key, uint64_t generation, char **value, size_t *len,
               struct error *err);
    /* Stores a copy of value.  A value larger than the driver takes is
     * silently not stored (return 0). */
    int (*set)(struct cache *cache, const char *key, uint64_t generation, const char *value,
               size_t len, unsigned ttl_seconds, struct error *err);
    /* Reads or increments a named generation counter. */
    int (*generation)(struct cache *cache, const char *name, uint64_t *out, struct error *err);
    int (*bump)(struct cache *cache, const char *name, uint64_t *out, struct error *err);
    int (*clear)(struct cache *cache, struct error *err);
    void (*stats)(struct cache *cache, struct cache_stats *out);
    int (*health)(struct cache *cache, struct error *err);
};

static inline void cache_close(struct cache *c)
{
    if (c != NULL)
        c->driver->close(c);
}

/* Opens the driver named by [cache] driver.  *out is owned by the caller. */
int cache_open(const struct config *config, struct cache **out, struct error *err);

#endif
