/*
 * lru - the bounded, reference-counted entry table shared by the memory
 * driver and the Redis driver's near cache; see lru.h.
 */
#include "cache/lru.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lru_entry {
    struct cache_value pub;        /* what lru_get hands out; data points into data[] */
    atomic_uint refs;              /* the table's (while linked) and each holder's */
    struct lru_entry *hnext;       /* hash chain */
    struct lru_entry *prev, *next; /* LRU list, most recent first */
    uint64_t hash;
    struct lru_stamp st;
    int64_t lease_until_ms; /* a refresher holds the stale entry until then (under mu) */
    size_t klen, charge;
    char data[]; /* key, NUL, value */
};

struct lru {
    pthread_mutex_t mu;
    struct lru_entry **buckets;
    size_t nbuckets;
    struct lru_entry *head, *tail;
    size_t max_bytes, bytes, entries;
    uint64_t hits, stale, misses, evictions;
};

/* cache_clock_advance's shift of both clocks, for tests. */
static _Atomic int64_t clock_shift_ms;

void cache_clock_advance(int64_t ms)
{
    atomic_fetch_add(&clock_shift_ms, ms);
}

size_t lru_entry_overhead(void)
{
    return sizeof(struct lru_entry);
}

int64_t lru_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
           atomic_load_explicit(&clock_shift_ms, memory_order_relaxed);
}

int64_t lru_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
           atomic_load_explicit(&clock_shift_ms, memory_order_relaxed);
}

static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void entry_unref(struct lru_entry *e)
{
    /* acq_rel: the last holder must see every other holder's reads done
     * before it frees. */
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
        free(e);
}

static void value_release(struct cache_value *v)
{
    /* pub is the first member: the value is the entry. */
    entry_unref((struct lru_entry *)(void *)v);
}

/* ---- table and list (callers hold mu) ---- */

static void list_unlink(struct lru *l, struct lru_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(struct lru *l, struct lru_entry *e)
{
    e->prev = NULL;
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    l->head = e;
    if (l->tail == NULL)
        l->tail = e;
}

static struct lru_entry **find_slot(struct lru *l, const char *key, size_t klen, uint64_t hash)
{
    struct lru_entry **pp = &l->buckets[hash % l->nbuckets];
    while (*pp != NULL) {
        struct lru_entry *e = *pp;
        if (e->hash == hash && e->klen == klen && memcmp(e->data, key, klen) == 0)
            return pp;
        pp = &e->hnext;
    }
    return pp;
}

/* Unlinks the entry *pp points at from chain and list, and drops the
 * table's reference (freeing it unless a holder still has it). */
static void remove_at(struct lru *l, struct lru_entry **pp)
{
    struct lru_entry *e = *pp;
    *pp = e->hnext;
    list_unlink(l, e);
    l->bytes -= e->charge;
    l->entries--;
    entry_unref(e);
}

static void evict_cold(struct lru *l)
{
    struct lru_entry *victim = l->tail;
    remove_at(l, find_slot(l, victim->data, victim->klen, victim->hash));
    l->evictions++;
}

/* Doubles the table when chains grow long; on allocation failure keeps
 * the old table, which stays correct, only slower. */
static void maybe_grow(struct lru *l)
{
    if (l->entries <= l->nbuckets)
        return;
    size_t n = l->nbuckets * 2;
    struct lru_entry **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < l->nbuckets; i++) {
        struct lru_entry *e = l->buckets[i];
        while (e != NULL) {
            struct lru_entry *next = e->hnext;
            e->hnext = b[e->hash % n];
            b[e->hash % n] = e;
            e = next;
        }
    }
    free(l->buckets);
    l->buckets = b;
    l->nbuckets = n;
}

static void drop_all(struct lru *l)
{
    struct lru_entry *e = l->head;
    while (e != NULL) {
        struct lru_entry *next = e->next;
        entry_unref(e);
        e = next;
    }
    memset(l->buckets, 0, l->nbuckets * sizeof *l->buckets);
    l->head = l->tail = NULL;
    l->bytes = l->entries = 0;
}

/* ---- the interface ---- */

struct lru *lru_new(size_t max_bytes)
{
    struct lru *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->nbuckets = 64;
    l->buckets = calloc(l->nbuckets, sizeof *l->buckets);
    if (l->buckets == NULL) {
        free(l);
        return NULL;
    }
    l->max_bytes = max_bytes;
    pthread_mutex_init(&l->mu, NULL);
    return l;
}

void lru_free(struct lru *l)
{
    if (l == NULL)
        return;
    drop_all(l);
    free(l->buckets);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* lru_get and lru_get_lending: lend tells whether the caller elected to
 * refresh a stale entry gets it too (*refresh set). */
static struct cache_value *lookup(struct lru *l, const char *key, uint64_t stamp_a,
                                  uint64_t stamp_b, bool lend, bool *stale, bool *refresh,
                                  uint64_t *tag)
{
    size_t klen = strlen(key);
    uint64_t hash = hash_key(key, klen);
    bool is_stale = false, is_refresh = false;
    int64_t now = lru_now_ms();
    pthread_mutex_lock(&l->mu);
    struct lru_entry **pp = find_slot(l, key, klen, hash);
    struct lru_entry *e = *pp;
    if (e != NULL && (e->st.a != stamp_a || e->st.b != stamp_b || now >= e->st.stale_until_ms)) {
        /* Never valid again: stamps only grow and time only passes. */
        remove_at(l, pp);
        e = NULL;
    }
    if (e != NULL && now >= e->st.fresh_until_ms) {
        if (now >= e->lease_until_ms) {
            /* This caller refreshes; the entry stays for the others. */
            e->lease_until_ms = now + CACHE_REFRESH_LEASE_MS < e->st.stale_until_ms
                                    ? now + CACHE_REFRESH_LEASE_MS
                                    : e->st.stale_until_ms;
            if (lend)
                is_refresh = true;
            else
                e = NULL;
        } else {
            is_stale = true;
        }
    }
    if (e == NULL) {
        l->misses++;
    } else {
        if (l->head != e) {
            list_unlink(l, e);
            list_push_front(l, e);
        }
        if (is_stale || is_refresh)
            l->stale++;
        else
            l->hits++;
        if (tag != NULL)
            *tag = e->st.tag;
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&l->mu);
    if (stale != NULL)
        *stale = is_stale;
    if (refresh != NULL)
        *refresh = is_refresh;
    return e != NULL ? &e->pub : NULL;
}

struct cache_value *lru_get(struct lru *l, const char *key, uint64_t stamp_a, uint64_t stamp_b,
                            bool *stale, uint64_t *tag)
{
    return lookup(l, key, stamp_a, stamp_b, false, stale, NULL, tag);
}

struct cache_value *lru_get_lending(struct lru *l, const char *key, uint64_t stamp_a,
                                    uint64_t stamp_b, bool *stale, bool *refresh)
{
    return lookup(l, key, stamp_a, stamp_b, true, stale, refresh, NULL);
}

int lru_put(struct lru *l, const char *key, const struct lru_stamp *st, const char *value,
            size_t len, struct cache_value **out, struct error *err)
{
    if (out != NULL)
        *out = NULL;
    size_t klen = strlen(key);
    size_t charge = sizeof(struct lru_entry) + klen + 1 + len;
    if (charge < len)
        return 0;
    bool keep = charge <= l->max_bytes;
    if (!keep && out == NULL)
        return 0;
    struct lru_entry *e = malloc(charge);
    if (e == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    memset(e, 0, sizeof *e);
    e->hash = hash_key(key, klen);
    e->st = *st;
    if (e->st.stale_until_ms < e->st.fresh_until_ms)
        e->st.stale_until_ms = e->st.fresh_until_ms;
    e->klen = klen;
    e->charge = charge;
    memcpy(e->data, key, klen + 1);
    if (len)
        memcpy(e->data + klen + 1, value, len);
    e->pub.data = e->data + klen + 1;
    e->pub.len = len;
    e->pub.release = value_release;
    /* The table's (when kept) and the caller's. */
    atomic_init(&e->refs, (unsigned)keep + (out != NULL));
    if (out != NULL)
        *out = &e->pub;
    if (!keep)
        return 0;

    pthread_mutex_lock(&l->mu);
    struct lru_entry **pp = find_slot(l, key, klen, e->hash);
    if (*pp != NULL)
        remove_at(l, pp);
    while (l->bytes + charge > l->max_bytes && l->tail != NULL)
        evict_cold(l);
    pp = &l->buckets[e->hash % l->nbuckets];
    e->hnext = *pp;
    *pp = e;
    list_push_front(l, e);
    l->bytes += charge;
    l->entries++;
    maybe_grow(l);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void lru_clear(struct lru *l)
{
    pthread_mutex_lock(&l->mu);
    drop_all(l);
    pthread_mutex_unlock(&l->mu);
}

void lru_stats(struct lru *l, struct cache_stats *out)
{
    pthread_mutex_lock(&l->mu);
    out->hits = l->hits;
    out->stale = l->stale;
    out->misses = l->misses;
    out->evictions = l->evictions;
    out->bytes = l->bytes;
    out->entries = l->entries;
    pthread_mutex_unlock(&l->mu);
}
