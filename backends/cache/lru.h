/*
 * lru - the bounded, reference-counted entry table behind the memory
 * driver and the Redis driver's near cache (internal to backends/cache/).
 *
 * A hash table with an LRU list, bounded by max_bytes (keys, values and
 * per-entry overhead counted), entries fresh until one deadline, stale
 * until a second (their grace, cache.h "Stale while revalidate"; equal
 * deadlines: no grace), and stamped with two numbers (the memory driver's
 * generation and 0; Redis' epoch and generation) that a lookup must name
 * exactly.  A stale entry is a miss for the first lookup that finds it so
 * (it takes the refresh lease, CACHE_REFRESH_LEASE_MS) and served as stale
 * to the others until the lease ends or the entry is replaced.  Entries are immutable and
 * reference-counted: the table holds one reference, each struct cache_value
 * handed out another, so a hit is served straight from the entry; an entry
 * dropped from the table is freed when its last holder releases it, and its
 * bytes no longer count toward max_bytes meanwhile (a response being sent).
 * One mutex guards the table: lookups are short.  Knows nothing of any
 * transport, so a future redis-cluster driver can put the same near cache in
 * front of its nodes.
 */
#ifndef CATALOGD_CACHE_LRU_H
#define CATALOGD_CACHE_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

struct lru;

/* Bookkeeping charged per entry on top of its key (with NUL) and value. */
size_t lru_entry_overhead(void);

/* A table bounded by max_bytes (0: nothing is ever kept, lru_put still
 * hands out its value).  Returns NULL when out of memory.  Owned by the
 * caller (lru_free). */
struct lru *lru_new(size_t max_bytes);

/* Frees the table; values still held stay valid until released. */
void lru_free(struct lru *l);

/* An entry's stamps, deadlines (lru_now_ms clock) and the caller's tag. */
struct lru_stamp {
    uint64_t a, b;          /* a lookup must name both exactly */
    int64_t fresh_until_ms; /* served as a hit before this */
    int64_t stale_until_ms; /* then as stale (one refresher) before this; >= fresh_until_ms */
    uint64_t tag;           /* anything the caller wants back with a hit */
};

/* The live entry for key stamped (stamp_a, stamp_b), moved to the front of
 * the LRU list, as a value the caller releases (cache_value_release, from
 * any thread); NULL on a miss.  *stale tells a stale hit (past its fresh
 * deadline, another caller holds the refresh lease) from a fresh one, and
 * *tag is the entry's tag; either may be NULL.  NULL is also returned for
 * a stale entry whose lease was free: this caller now holds it and should
 * store a new value (the entry stays for the others).  An entry of another
 * stamp or past its stale deadline is dropped on the way: stamps only grow,
 * time only passes.  Hits, stale hits and misses are counted (lru_stats). */
struct cache_value *lru_get(struct lru *l, const char *key, uint64_t stamp_a, uint64_t stamp_b,
                            bool *stale, uint64_t *tag);

/* lru_get, except that the caller elected to refresh a stale entry gets it
 * too, with *refresh set (it serves the old bytes while it recomputes);
 * *stale is then false.  Counted as a stale hit. */
struct cache_value *lru_get_lending(struct lru *l, const char *key, uint64_t stamp_a,
                                    uint64_t stamp_b, bool *stale, bool *refresh);

/* Stores a copy of key and value with stamp *st, replacing the entry for key
 * (and so any refresh lease on it) and evicting from the cold end to stay
 * within max_bytes.  A value whose charge exceeds max_bytes is not kept.
 * When out is not NULL, *out is the new value (kept or not) for the caller
 * to release, so that a value just fetched is served without a second copy.
 * Returns 0, or -1 with err set when out of memory (*out NULL). */
int lru_put(struct lru *l, const char *key, const struct lru_stamp *st, const char *value,
            size_t len, struct cache_value **out, struct error *err);

/* Drops every entry (held values stay valid until released). */
void lru_clear(struct lru *l);

/* hits, misses, evictions, bytes and entries of the table. */
void lru_stats(struct lru *l, struct cache_stats *out);

/* CLOCK_MONOTONIC in milliseconds (moved by cache_clock_advance), the
 * clock of the table's deadlines. */
int64_t lru_now_ms(void);

/* CLOCK_REALTIME in milliseconds since the epoch (moved by
 * cache_clock_advance): deadlines shared with other processes and hosts
 * (Redis' logical expiry). */
int64_t lru_wall_ms(void);

#endif
