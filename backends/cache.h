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

/* A value shared with the cache instead of copied out of it: len bytes at
 * data, immutable, valid until cache_value_release.  The cache may drop the
 * entry meanwhile (eviction, a newer generation); the bytes stay until the
 * last holder releases them. */
struct cache_value {
    const char *data;
    size_t len;
    void (*release)(struct cache_value *value);
};

static inline void cache_value_release(struct cache_value *v)
{
    if (v != NULL)
        v->release(v);
}

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
    /* Optional (NULL: callers use get): like get, but a hit hands out the
     * stored value itself, *value owned by the caller until it calls
     * cache_value_release (from any thread), so a hit costs no copy.  *value
     * is NULL on a miss or an error. */
    int (*get_shared)(struct cache *cache, const char *key, uint64_t generation,
                      struct cache_value **value, struct error *err);
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
