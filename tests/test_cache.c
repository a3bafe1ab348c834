/*
 * test_cache - the memory cache driver: hits, generation misses, TTL,
 * LRU eviction by bytes, concurrent use, and generation counters shared
 * between handles through the file beside the store.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "testutil.h"

extern const struct cache_driver cache_memory_driver;

static struct cache *open_cache(const char *store_path, const char *max_bytes, const char *ttl)
{
    char path[4200], bytes[64], t[64];
    snprintf(path, sizeof path, "store.path=%s", store_path);
    snprintf(bytes, sizeof bytes, "cache.max_bytes=%s", max_bytes);
    snprintf(t, sizeof t, "cache.ttl=%s", ttl);
    const char *sets[] = {"cache.driver=memory", path, bytes, t, NULL};
    struct config *config = test_config(sets);
    struct cache *c = NULL;
    struct error err = {0};
    ck_assert_msg(cache_open(config, &c, &err) == 0, "%s", err.message);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->driver->name, "memory");
    config_free(config);
    return c;
}

static char *tmp_store(void)
{
    char *dir = test_tmpdir();
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/catalog.db", dir), 0);
    free(dir);
    return path;
}

/* 1 on a hit with exactly want, 0 on a miss. */
static int lookup(struct cache *c, const char *key, uint64_t gen, const char *want)
{
    char *value = NULL;
    size_t len = 0;
    struct error err = {0};
    int rc = c->driver->get(c, key, gen, &value, &len, &err);
    ck_assert_int_ge(rc, 0);
    if (rc == 1) {
        ck_assert_ptr_nonnull(want);
        ck_assert_uint_eq(len, strlen(want));
        ck_assert(memcmp(value, want, len) == 0);
        free(value);
    } else {
        ck_assert_ptr_null(value);
    }
    return rc;
}

static void put(struct cache *c, const char *key, uint64_t gen, const char *value, unsigned ttl)
{
    struct error err = {0};
    ck_assert_int_eq(c->driver->set(c, key, gen, value, strlen(value), ttl, &err), 0);
}

START_TEST(hit_and_miss)
{
    char *store = tmp_store();
    struct cache *c = open_cache(store, "1M", "60");
    struct cache_stats st;

    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=1", 1, NULL), 0);
    put(c, "/api/v1/courses?page=1", 1, "{\"count\":1}", 0);
    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=1", 1, "{\"count\":1}"), 1);
    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=2", 1, NULL), 0);

    /* Replacing a key keeps one entry with the new value. */
    put(c, "/api/v1/courses?page=1", 1, "{\"count\":2}", 0);
    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=1", 1, "{\"count\":2}"), 1);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.hits, 2);
    ck_assert_uint_eq(st.misses, 2);

    /* Empty values are values. */
    put(c, "empty", 1, "", 0);
    ck_assert_int_eq(lookup(c, "empty", 1, ""), 1);

    struct error err = {0};
    ck_assert_int_eq(c->driver->health(c, &err), 0);
    ck_assert_int_eq(c->driver->clear(c, &err), 0);
    ck_assert_int_eq(lookup(c, "empty", 1, NULL), 0);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    cache_close(c);
    free(store);
}
END_TEST

START_TEST(other_generation_is_a_miss_and_frees)
{
    char *store = tmp_store();
    struct cache *c = open_cache(store, "1M", "60");
    struct cache_stats st;
    put(c, "k", 7, "old", 0);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_gt(st.bytes, 0);
    ck_assert_int_eq(lookup(c, "k", 8, NULL), 0);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    /* Freed, so even the old generation misses now. */
    ck_assert_int_eq(lookup(c, "k", 7, NULL), 0);
    cache_close(c);
    free(store);
}
END_TEST

START_TEST(ttl_expiry)
{
    char *store = tmp_store();
    struct cache *c = open_cache(store, "1M", "1");
    put(c, "short", 1, "a", 1);   /* explicit 1 s */
    put(c, "default", 1, "b", 0); /* cache.ttl = 1 s */
    put(c, "long", 1, "c", 60);
    ck_assert_int_eq(lookup(c, "short", 1, "a"), 1);
    ck_assert_int_eq(lookup(c, "default", 1, "b"), 1);
    /* Past the TTL and the default grace (cache.stale_ttl, 10 s): gone. */
    cache_clock_advance(11200);
    ck_assert_int_eq(lookup(c, "short", 1, NULL), 0);
    ck_assert_int_eq(lookup(c, "default", 1, NULL), 0);
    ck_assert_int_eq(lookup(c, "long", 1, "c"), 1);
    struct cache_stats st;
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.evictions, 0); /* expiry is not eviction */
    cache_close(c);
    free(store);
}
END_TEST

START_TEST(lru_eviction_by_bytes)
{
    char *store = tmp_store();
    struct cache *c = open_cache(store, "8K", "60");
    char value[1000];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    char key[32];
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        put(c, key, 1, value, 0);
    }
    struct cache_stats st;
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 6);
    ck_assert_uint_eq(st.evictions, 0);
    /* Touch key-0 so that key-1 is the least recently used. */
    ck_assert_int_eq(lookup(c, "key-0", 1, value), 1);
    for (int i = 6; i < 20; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        put(c, key, 1, value, 0);
        c->driver->stats(c, &st);
        ck_assert_uint_le(st.bytes, 8192);
    }
    c->driver->stats(c, &st);
    ck_assert_uint_gt(st.evictions, 0);
    ck_assert_uint_eq(st.evictions + st.entries, 20);
    ck_assert_int_eq(lookup(c, "key-19", 1, value), 1);
    ck_assert_int_eq(lookup(c, "key-1", 1, NULL), 0);
    /* Bytes count keys and overhead, not just values. */
    ck_assert_uint_gt(st.bytes, st.entries * (sizeof value - 1 + 6));

    /* A value larger than the whole cache is not stored, and evicts nothing. */
    char *huge = malloc(9000);
    memset(huge, 'h', 8999);
    huge[8999] = '\0';
    uint64_t before = st.entries;
    put(c, "huge", 1, huge, 0);
    ck_assert_int_eq(lookup(c, "huge", 1, NULL), 0);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, before);
    free(huge);
    cache_close(c);
    free(store);
}
END_TEST

struct worker {
    struct cache *cache;
    int id;
    int failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char key[32], value[64];
    for (int i = 0; i < 4000; i++) {
        int k = (i * 7 + w->id) % 97;
        snprintf(key, sizeof key, "k%d", k);
        snprintf(value, sizeof value, "value-of-k%d", k);
        struct error err = {0};
        if (w->cache->driver->set(w->cache, key, 1, value, strlen(value), 0, &err) != 0)
            w->failures++;
        char *got = NULL;
        size_t len = 0;
        int rc = w->cache->driver->get(w->cache, key, 1, &got, &len, &err);
        if (rc < 0)
            w->failures++;
        /* Any hit must be this key's value, never another's or a torn one. */
        if (rc == 1 && (len != strlen(value) || memcmp(got, value, len) != 0))
            w->failures++;
        free(got);
        if (i % 500 == 0) {
            uint64_t g;
            if (w->cache->driver->bump(w->cache, "catalog", &g, &err) != 0)
                w->failures++;
        }
    }
    return NULL;
}

START_TEST(concurrent_use)
{
    char *store = tmp_store();
    /* Small enough that threads also race on eviction. */
    struct cache *c = open_cache(store, "4K", "60");
    enum { N = 8 };
    pthread_t threads[N];
    struct worker workers[N];
    for (int i = 0; i < N; i++) {
        workers[i] = (struct worker){c, i, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(workers[i].failures, 0);
    }
    struct cache_stats st;
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.hits + st.misses, N * 4000);
    ck_assert_uint_le(st.bytes, 4096);
    uint64_t g = 0;
    struct error err = {0};
    ck_assert_int_eq(c->driver->generation(c, "catalog", &g, &err), 0);
    ck_assert_uint_eq(g, N * 8); /* i = 0, 500, ..., 3500 in each thread */
    cache_close(c);
    free(store);
}
END_TEST

START_TEST(generation_shared_between_handles)
{
    char *store = tmp_store();
    struct cache *a = open_cache(store, "1M", "60");
    struct cache *b = open_cache(store, "1M", "60");
    struct error err = {0};
    uint64_t ga = 0, gb = 0, bumped = 0;
    ck_assert_int_eq(a->driver->generation(a, "catalog", &ga, &err), 0);
    ck_assert_int_eq(b->driver->generation(b, "catalog", &gb, &err), 0);
    ck_assert_uint_eq(ga, gb);
    ck_assert_int_eq(a->driver->bump(a, "catalog", &bumped, &err), 0);
    ck_assert_uint_eq(bumped, ga + 1);
    ck_assert_int_eq(b->driver->generation(b, "catalog", &gb, &err), 0);
    ck_assert_uint_eq(gb, ga + 1);

    /* Counters are independent by name. */
    uint64_t ia = 0, ib = 0;
    ck_assert_int_eq(b->driver->bump(b, "index", &ib, &err), 0);
    ck_assert_int_eq(a->driver->generation(a, "index", &ia, &err), 0);
    ck_assert_uint_eq(ia, ib);
    ck_assert_int_eq(a->driver->generation(a, "catalog", &ga, &err), 0);
    ck_assert_uint_eq(ga, gb);

    /* The file outlives the handles: a restart keeps the count. */
    cache_close(a);
    cache_close(b);
    struct cache *c = open_cache(store, "1M", "60");
    uint64_t gc = 0;
    ck_assert_int_eq(c->driver->generation(c, "catalog", &gc, &err), 0);
    ck_assert_uint_eq(gc, gb);
    char gen_path[4300];
    snprintf(gen_path, sizeof gen_path, "%s-generation", store);
    ck_assert_int_eq(access(gen_path, R_OK | W_OK), 0);

    /* Bad names are refused, not crashed on. */
    ck_assert_int_eq(c->driver->bump(c, "", &gc, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    char longname[100];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(c->driver->generation(c, longname, &gc, &err), -1);
    cache_close(c);
    free(store);
}
END_TEST

START_TEST(generation_falls_back_in_process)
{
    /* A store path whose directory does not exist: counters stay local. */
    struct cache *c = open_cache("/nonexistent-dir/x/catalog.db", "1M", "60");
    struct error err = {0};
    uint64_t g = 0;
    ck_assert_int_eq(c->driver->bump(c, "catalog", &g, &err), 0);
    ck_assert_int_eq(c->driver->bump(c, "catalog", &g, &err), 0);
    ck_assert_uint_eq(g, 2);
    ck_assert_int_eq(c->driver->generation(c, "catalog", &g, &err), 0);
    ck_assert_uint_eq(g, 2);
    cache_close(c);
}
END_TEST

/* get_shared lends the stored bytes themselves (no copy), and a value
 * lent out outlives its entry: replaced, dropped by another generation,
 * evicted, cleared or the cache closed, it still reads the same until
 * released (run under ASan/valgrind, a use after free or a leak here
 * fails). */
START_TEST(shared_value_outlives_its_entry)
{
    char *store = tmp_store();
    struct cache *c = open_cache(store, "1M", "60");
    struct error err = {0};
    struct cache_value *a = NULL, *b = NULL, *miss = (struct cache_value *)&err;
    ck_assert_ptr_nonnull(c->driver->get_shared);

    ck_assert_int_eq(c->driver->get_shared(c, "k", 1, &miss, &err), 0);
    ck_assert_ptr_null(miss);
    put(c, "k", 1, "{\"v\":1}", 0);
    ck_assert_int_eq(c->driver->get_shared(c, "k", 1, &a, &err), 1);
    ck_assert_int_eq(c->driver->get_shared(c, "k", 1, &b, &err), 1);
    ck_assert_uint_eq(a->len, 7);
    ck_assert(memcmp(a->data, "{\"v\":1}", 7) == 0);
    ck_assert_ptr_eq(a->data, b->data); /* one copy, lent twice */
    struct cache_stats st;
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.hits, 2);
    ck_assert_uint_eq(st.misses, 1);

    /* Replaced: the holders keep the old bytes, readers get the new. */
    put(c, "k", 1, "{\"v\":2}", 0);
    ck_assert(memcmp(a->data, "{\"v\":1}", 7) == 0);
    ck_assert_int_eq(lookup(c, "k", 1, "{\"v\":2}"), 1);
    cache_value_release(b);

    /* Another generation drops the entry from the table; a holder's
     * bytes are not counted any more but stay readable. */
    struct cache_value *d = NULL;
    ck_assert_int_eq(c->driver->get_shared(c, "k", 1, &d, &err), 1);
    ck_assert_int_eq(c->driver->get_shared(c, "k", 2, &b, &err), 0);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    ck_assert(memcmp(d->data, "{\"v\":2}", 7) == 0);

    /* Cleared and closed with values still lent out. */
    put(c, "e", 1, "", 0);
    struct cache_value *e = NULL;
    ck_assert_int_eq(c->driver->get_shared(c, "e", 1, &e, &err), 1);
    ck_assert_uint_eq(e->len, 0);
    ck_assert_int_eq(c->driver->clear(c, &err), 0);
    cache_close(c);
    ck_assert(memcmp(a->data, "{\"v\":1}", 7) == 0);
    ck_assert(memcmp(d->data, "{\"v\":2}", 7) == 0);
    cache_value_release(a);
    cache_value_release(d);
    cache_value_release(e);
    free(store);
}
END_TEST

/* Values lent out while other threads evict and replace them: every
 * holder reads what was stored, whole (a race frees under a reader). */
struct share_arg {
    struct cache *c;
    int id;
};

static void *share_worker(void *p)
{
    struct share_arg *a = p;
    char key[32], val[600];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i % 8);
        int n = (i % 8) + 1;
        memset(val, 'a' + n, 500);
        val[500] = '\0';
        struct error err = {0};
        if (i % 3 == a->id % 3)
            ck_assert_int_eq(a->c->driver->set(a->c, key, 1, val, 500, 0, &err), 0);
        struct cache_value *v = NULL;
        if (a->c->driver->get_shared(a->c, key, 1, &v, &err) == 1) {
            ck_assert_uint_eq(v->len, 500);
            for (size_t j = 0; j < v->len; j++)
                ck_assert_int_eq(v->data[j], 'a' + n);
            cache_value_release(v);
        }
    }
    return NULL;
}

START_TEST(shared_values_under_concurrent_eviction)
{
    char *store = tmp_store();
    /* Room for about two entries: most sets evict. */
    struct cache *c = open_cache(store, "1500", "60");
    pthread_t th[4];
    struct share_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct share_arg){c, i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, share_worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cache_close(c);
    free(store);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache_memory");
    TCase *tc = tcase_create("memory");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hit_and_miss);
    tcase_add_test(tc, other_generation_is_a_miss_and_frees);
    tcase_add_test(tc, ttl_expiry);
    tcase_add_test(tc, lru_eviction_by_bytes);
    tcase_add_test(tc, concurrent_use);
    tcase_add_test(tc, generation_shared_between_handles);
    tcase_add_test(tc, generation_falls_back_in_process);
    tcase_add_test(tc, shared_value_outlives_its_entry);
    tcase_add_test(tc, shared_values_under_concurrent_eviction);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
