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
 *
 * Stale while revalidate.  An entry past its TTL but of the generation the
 * lookup names may still be served for cache.stale_ttl seconds (its grace)
 * while one caller recomputes it: the first lookup to find it past its TTL
 * is a miss (it takes the refresh lease and is expected to store the new
 * value), the others meanwhile get the old bytes with CACHE_STALE.  A lease
 * lasts CACHE_REFRESH_LEASE_MS (at most until the grace ends); a refresher
 * that never stores (an error, a non-200) is replaced by the next lookup
 * after it.  An entry of another generation is never served, stale or not.
 */
#ifndef CATALOGD_CACHE_H
#define CATALOGD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

struct cache {
    const struct cache_driver *driver;
};

/* What get and get_shared return besides -1 (error). */
enum {
    CACHE_MISS = 0,    /* absent, of another generation, past its grace, or
                        * past its TTL with this caller elected to refresh it */
    CACHE_HIT = 1,     /* within its TTL */
    CACHE_STALE = 2,   /* past its TTL, within its grace, and another caller
                        * holds the refresh lease: serve it, store nothing */
    CACHE_REFRESH = 3, /* get_shared_lending only: past its TTL, within its
                        * grace, and this caller now holds the refresh
                        * lease: serve the old value and recompute it (off
                        * the request: cache_refresher.h), then set */
};

/* How long one refresher is waited for before the next lookup of a stale
 * entry takes over (bounded by the entry's grace). */
#define CACHE_REFRESH_LEASE_MS 3000

struct cache_stats {
    uint64_t hits;  /* CACHE_HIT lookups */
    uint64_t stale; /* CACHE_STALE lookups (neither hits nor misses) */
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

/* For a driver's get on top of its get_shared: copies v's bytes into a
 * malloc'd *value (owned by the caller, free) with *len, and releases v
 * either way.  Returns 0, or -1 (ERR_INTERNAL) when out of memory. */
static inline int cache_value_copy_out(struct cache_value *v, char **value, size_t *len,
                                       struct error *err)
{
    char *copy = malloc(v->len ? v->len : 1);
    if (copy != NULL)
        memcpy(copy, v->data, v->len);
    size_t n = v->len;
    cache_value_release(v);
    if (copy == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    *value = copy;
    *len = n;
    return 0;
}

struct cache_driver {
    const char *name;
    const char *description;
    /* *out is owned by the caller (close). */
    int (*open)(const struct config *config, struct cache **out, struct error *err);
    void (*close)(struct cache *cache);
    /* Returns CACHE_HIT (1) or CACHE_STALE (2) with *value a malloc'd copy
     * owned by the caller (free) and *len its length, CACHE_MISS (0) on a
     * miss (absent, past its grace or of another generation, or stale with
     * this caller the one to refresh it: compute and set), -1 on error
     * (ERR_UNAVAILABLE when the cache cannot be reached; callers then serve
     * uncached). */
    int (*get)(struct cache *cache, const char *key, uint64_t generation, char **value, size_t *len,
               struct error *err);
    /* Optional (NULL: callers use get): like get, but a hit (or a stale
     * hit) hands out the stored value itself, *value owned by the caller until it calls
     * cache_value_release (from any thread), so a hit costs no copy.  *value
     * is NULL on a miss or an error. */
    int (*get_shared)(struct cache *cache, const char *key, uint64_t generation,
                      struct cache_value **value, struct error *err);
    /* Optional (NULL: get_shared's CACHE_MISS for the refresher): like
     * get_shared, but the caller elected to refresh a stale entry gets
     * CACHE_REFRESH with the old value, so that no request waits for the
     * recomputation.  A caller that cannot recompute later must not ask. */
    int (*get_shared_lending)(struct cache *cache, const char *key, uint64_t generation,
                              struct cache_value **value, struct error *err);
    /* Stores a copy of value, fresh for ttl_seconds (0: cache.ttl) and then
     * stale for cache.stale_ttl more; the refresh lease on key, if any, ends.
     * A value larger than the driver takes is silently not stored
     * (return 0). */
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

/* Tests only: moves the clock every driver in this process reads for TTLs,
 * grace and refresh leases by ms (cumulative), so that expiry is tested
 * without sleeping.  Defined with the LRU table (cache/lru.c). */
void cache_clock_advance(int64_t ms);

#endif
