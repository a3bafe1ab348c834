/*
 * memory - the in-process response cache: the bounded LRU table of
 * lru.c (cache.max_bytes: keys, values and per-entry overhead counted),
 * entries expiring after a TTL and stamped with the generation they were
 * computed at.
 *
 * Entries are immutable once stored and reference-counted (lru.h): the
 * table holds one reference, and get_shared hands out another (struct
 * cache_value), so a hit is served straight from the entry without a copy.
 * An entry dropped from the table (evicted, replaced, expired, cleared) is
 * freed when its last holder releases it; until then its bytes are no
 * longer counted in cache.max_bytes (they are a response being sent).
 *
 * Stale while revalidate (cache.h): an entry stays cache.stale_ttl seconds
 * past its TTL; the table elects the refresher (lru.h), per process, which
 * is all there is: the entries are this process's own.
 *
 * Generation counters must be seen by every process serving the same
 * catalog the moment a write commits (design.md, "Cache by generation").
 * They live in a small file beside the store, store.path + "-generation",
 * mapped shared: a read is one atomic load (no syscall per request), a bump
 * one atomic fetch-add.  The file holds GEN_SLOTS fixed slots, each a name
 * and a counter; a name takes a free slot under flock the first time a
 * process uses it.  When store.path is empty or the file cannot be opened
 * or mapped (a read-only directory, say), the counters fall back to this
 * handle alone: correct for one process, not shared with others.
 */
#include "cache.h"
#include "cache/lru.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern const struct cache_driver cache_memory_driver;

#define GEN_SLOTS 64
#define GEN_NAME_MAX 48

struct gen_slot {
    char name[GEN_NAME_MAX]; /* NUL-terminated; "" = free */
    _Atomic uint64_t value;
    uint64_t reserved[1];
};

_Static_assert(sizeof(struct gen_slot) == 64, "generation slots are 64 bytes on disk");

struct mem_cache {
    struct cache base; /* first: the handle callers hold */
    struct lru *lru;   /* the entries */
    unsigned default_ttl;
    unsigned stale_ttl; /* cache.stale_ttl: seconds of grace past the TTL */

    pthread_mutex_t gen_mu; /* guards slot claiming, not the counters */
    int gen_fd;             /* -1 when in-process */
    struct gen_slot *slots; /* the mapped file, or local_slots */
    struct gen_slot local_slots[GEN_SLOTS];
    /* Slots this handle has found already, so that reading a generation
     * takes no flock (no syscall) and no lock after the first time: known[i]
     * is written once, before n_known is raised past i (release), and never
     * changed, so readers scan the first n_known (acquire) without gen_mu. */
    struct gen_slot *known[GEN_SLOTS];
    _Atomic size_t n_known;
};

static struct mem_cache *of(struct cache *c)
{
    return (struct mem_cache *)c;
}

/* ---- generations ---- */

/* Maps store.path + "-generation"; leaves gen_fd at -1 (in-process
 * counters) when that is not possible. */
static void open_generation_file(struct mem_cache *m, const char *store_path)
{
    m->gen_fd = -1;
    m->slots = m->local_slots;
    if (store_path == NULL || store_path[0] == '\0')
        return;
    size_t len = strlen(store_path);
    char *path = malloc(len + sizeof "-generation");
    if (path == NULL)
        return;
    memcpy(path, store_path, len);
    memcpy(path + len, "-generation", sizeof "-generation");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (fd < 0)
        return;
    size_t size = GEN_SLOTS * sizeof(struct gen_slot);
    struct stat st;
    /* Growing under the lock keeps a second process from mapping the file
     * while it is still shorter than the slots. */
    bool ok = flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 &&
              ((size_t)st.st_size >= size || ftruncate(fd, (off_t)size) == 0);
    flock(fd, LOCK_UN);
    void *map = ok ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (map == MAP_FAILED) {
        close(fd);
        return;
    }
    m->gen_fd = fd;
    m->slots = map;
}

/* The counter named name, claiming a free slot for it if needed. */
static int gen_counter(struct mem_cache *m, const char *name, _Atomic uint64_t **out,
                       struct error *err)
{
    size_t len = strlen(name);
    if (len == 0 || len >= GEN_NAME_MAX)
        return error_set(err, ERR_INVALID, "generation name '%s': expected 1 to %d bytes", name,
                         GEN_NAME_MAX - 1);
    size_t n = atomic_load_explicit(&m->n_known, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m->known[i]->name, name) == 0) {
            *out = &m->known[i]->value;
            return 0;
        }
    }
    pthread_mutex_lock(&m->gen_mu);
    /* Another thread may have added it meanwhile; n_known only grows
     * under gen_mu, so this second scan sees every slot. */
    n = atomic_load_explicit(&m->n_known, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m->known[i]->name, name) == 0) {
            *out = &m->known[i]->value;
            pthread_mutex_unlock(&m->gen_mu);
            return 0;
        }
    }
    if (m->gen_fd >= 0)
        flock(m->gen_fd, LOCK_EX);
    struct gen_slot *free_slot = NULL, *found = NULL;
    for (size_t i = 0; i < GEN_SLOTS && found == NULL; i++) {
        struct gen_slot *s = &m->slots[i];
        if (s->name[0] == '\0') {
            if (free_slot == NULL)
                free_slot = s;
        } else if (strncmp(s->name, name, GEN_NAME_MAX) == 0) {
            found = s;
        }
    }
    if (found == NULL && free_slot != NULL) {
        memcpy(free_slot->name, name, len + 1);
        found = free_slot;
    }
    if (m->gen_fd >= 0)
        flock(m->gen_fd, LOCK_UN);
    if (found != NULL && n < GEN_SLOTS) {
        m->known[n] = found;
        atomic_store_explicit(&m->n_known, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->gen_mu);
    if (found == NULL)
        return error_set(err, ERR_INTERNAL, "generation '%s': all %d counters are in use", name,
                         GEN_SLOTS);
    *out = &found->value;
    return 0;
}

/* ---- the driver ---- */

static int mem_open(const struct config *config, struct cache **out, struct error *err)
{
    struct mem_cache *m = calloc(1, sizeof *m);
    *out = NULL;
    if (m == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    m->lru = lru_new((size_t)config_int(config, "cache.max_bytes"));
    if (m->lru == NULL) {
        free(m);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    m->base.driver = &cache_memory_driver;
    m->default_ttl = (unsigned)config_int(config, "cache.ttl");
    m->stale_ttl = (unsigned)config_int(config, "cache.stale_ttl");
    pthread_mutex_init(&m->gen_mu, NULL);
    open_generation_file(m, config_get(config, "store.path"));
    *out = &m->base;
    return 0;
}

static void mem_close(struct cache *c)
{
    struct mem_cache *m = of(c);
    lru_free(m->lru);
    if (m->gen_fd >= 0) {
        munmap(m->slots, GEN_SLOTS * sizeof(struct gen_slot));
        close(m->gen_fd);
    }
    pthread_mutex_destroy(&m->gen_mu);
    free(m);
}

/* Entries are stamped (generation, 0): the second stamp is Redis' epoch in
 * the near cache, which the memory driver has no need of. */
static int mem_get(struct cache *c, const char *key, uint64_t generation, char **value, size_t *len,
                   struct error *err)
{
    *value = NULL;
    *len = 0;
    bool stale;
    struct cache_value *v = lru_get(of(c)->lru, key, generation, 0, &stale, NULL);
    if (v == NULL)
        return CACHE_MISS;
    /* Copied outside the lock: the reference keeps the bytes. */
    if (cache_value_copy_out(v, value, len, err) != 0)
        return -1;
    return stale ? CACHE_STALE : CACHE_HIT;
}

static int mem_get_shared(struct cache *c, const char *key, uint64_t generation,
                          struct cache_value **value, struct error *err)
{
    (void)err;
    bool stale;
    *value = lru_get(of(c)->lru, key, generation, 0, &stale, NULL);
    if (*value == NULL)
        return CACHE_MISS;
    return stale ? CACHE_STALE : CACHE_HIT;
}

static int mem_get_shared_lending(struct cache *c, const char *key, uint64_t generation,
                                  struct cache_value **value, struct error *err)
{
    (void)err;
    bool stale, refresh;
    *value = lru_get_lending(of(c)->lru, key, generation, 0, &stale, &refresh);
    if (*value == NULL)
        return CACHE_MISS;
    return refresh ? CACHE_REFRESH : stale ? CACHE_STALE : CACHE_HIT;
}

static int mem_set(struct cache *c, const char *key, uint64_t generation, const char *value,
                   size_t len, unsigned ttl_seconds, struct error *err)
{
    struct mem_cache *m = of(c);
    struct lru_stamp st = {.a = generation, .b = 0};
    st.fresh_until_ms = lru_now_ms() + 1000 * (int64_t)(ttl_seconds ? ttl_seconds : m->default_ttl);
    st.stale_until_ms = st.fresh_until_ms + 1000 * (int64_t)m->stale_ttl;
    return lru_put(m->lru, key, &st, value, len, NULL, err);
}

static int mem_generation(struct cache *c, const char *name, uint64_t *out, struct error *err)
{
    _Atomic uint64_t *counter;
    if (gen_counter(of(c), name, &counter, err) != 0)
        return -1;
    *out = atomic_load(counter);
    return 0;
}

static int mem_bump(struct cache *c, const char *name, uint64_t *out, struct error *err)
{
    _Atomic uint64_t *counter;
    if (gen_counter(of(c), name, &counter, err) != 0)
        return -1;
    uint64_t v = atomic_fetch_add(counter, 1) + 1;
    if (out != NULL)
        *out = v;
    return 0;
}

static int mem_clear(struct cache *c, struct error *err)
{
    (void)err;
    lru_clear(of(c)->lru);
    return 0;
}

static void mem_stats(struct cache *c, struct cache_stats *out)
{
    lru_stats(of(c)->lru, out);
}

static int mem_health(struct cache *c, struct error *err)
{
    (void)c;
    (void)err;
    return 0; /* in-process: up whenever we are */
}

const struct cache_driver cache_memory_driver = {
    .name = "memory",
    .description = "in-process LRU bounded by cache.max_bytes; generations shared through a "
                   "file beside the store",
    .open = mem_open,
    .close = mem_close,
    .get = mem_get,
    .get_shared = mem_get_shared,
    .get_shared_lending = mem_get_shared_lending,
    .set = mem_set,
    .generation = mem_generation,
    .bump = mem_bump,
    .clear = mem_clear,
    .stats = mem_stats,
    .health = mem_health,
};
