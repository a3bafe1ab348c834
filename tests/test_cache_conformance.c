/*
 * test_cache_conformance - the same assertions against every cache driver
 * compiled in, through backends/cache.h only: memory always; redis when it
 * is built in and CATALOGD_TEST_REDIS_URL names a server (tests/
 * redis_fixture.sh starts a private one).  Every test runs in its own
 * namespace (a store path for memory, a key prefix for redis), and two
 * opens of one namespace stand for two processes sharing a catalog.
 *
 * With CATALOGD_TEST_REDIS_CTL as well (the fixture's stop/start script),
 * the outage tests take the server down and bring it back.
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "registry.h"
#include "testutil.h"

struct target {
    const char *driver;
    const char *url; /* redis */
};

static struct target targets[2];
static int n_targets;

/* One test's namespace: what two opens must share. */
struct ns {
    const struct target *t;
    char store[4200];
    char prefix[64];
};

static void ns_init(struct ns *ns, int which)
{
    static unsigned counter;
    memset(ns, 0, sizeof *ns);
    ns->t = &targets[which];
    char *dir = test_tmpdir();
    snprintf(ns->store, sizeof ns->store, "%s/catalog.db", dir);
    free(dir);
    snprintf(ns->prefix, sizeof ns->prefix, "conf%ld-%u-%ld:", (long)getpid(), counter++,
             (long)time(NULL));
}

static struct cache *ns_open_with(const struct ns *ns, const char *max_bytes, const char *ttl,
                                  const char *extra);

static struct cache *ns_open(const struct ns *ns, const char *max_bytes, const char *ttl)
{
    return ns_open_with(ns, max_bytes, ttl, NULL);
}

/* extra: one more setting (NULL: none). */
static struct cache *ns_open_with(const struct ns *ns, const char *max_bytes, const char *ttl,
                                  const char *extra)
{
    char driver[64], store[4300], url[512], prefix[128], bytes[64], t[64];
    snprintf(driver, sizeof driver, "cache.driver=%s", ns->t->driver);
    snprintf(store, sizeof store, "store.path=%s", ns->store);
    snprintf(bytes, sizeof bytes, "cache.max_bytes=%s", max_bytes);
    snprintf(t, sizeof t, "cache.ttl=%s", ttl);
    const char *sets[9] = {driver, store, bytes, t, NULL};
    size_t n = 4;
    if (ns->t->url != NULL) {
        snprintf(url, sizeof url, "cache.url=%s", ns->t->url);
        snprintf(prefix, sizeof prefix, "cache.prefix=%s", ns->prefix);
        sets[n++] = url;
        sets[n++] = prefix;
        sets[n++] = "cache.command_timeout=300ms";
    }
    if (extra != NULL)
        sets[n++] = extra;
    struct config *config = test_config(sets);
    struct cache *c = NULL;
    struct error err = {0};
    ck_assert_msg(cache_open(config, &c, &err) == 0, "%s: %s", ns->t->driver, err.message);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->driver->name, ns->t->driver);
    config_free(config);
    return c;
}

/* 1 on a hit (2 on a stale one) with exactly want (want_len bytes), 0 on a
 * miss. */
static int lookup_n(struct cache *c, const char *key, uint64_t gen, const char *want,
                    size_t want_len)
{
    char *value = NULL;
    size_t len = 0;
    struct error err = {0};
    int rc = c->driver->get(c, key, gen, &value, &len, &err);
    ck_assert_msg(rc >= 0, "%s get: %s", c->driver->name, err.message);
    if (rc >= 1) {
        ck_assert_msg(want != NULL, "%s: unexpected hit on %s", c->driver->name, key);
        ck_assert_uint_eq(len, want_len);
        ck_assert(memcmp(value, want, len) == 0);
        free(value);
    } else {
        ck_assert_ptr_null(value);
    }
    return rc;
}

static int lookup(struct cache *c, const char *key, uint64_t gen, const char *want)
{
    return lookup_n(c, key, gen, want, want ? strlen(want) : 0);
}

static void put_n(struct cache *c, const char *key, uint64_t gen, const char *value, size_t len,
                  unsigned ttl)
{
    struct error err = {0};
    ck_assert_msg(c->driver->set(c, key, gen, value, len, ttl, &err) == 0, "%s set: %s",
                  c->driver->name, err.message);
}

static void put(struct cache *c, const char *key, uint64_t gen, const char *value, unsigned ttl)
{
    put_n(c, key, gen, value, strlen(value), ttl);
}

static uint64_t gen_of(struct cache *c, const char *name)
{
    uint64_t v = 0;
    struct error err = {0};
    ck_assert_msg(c->driver->generation(c, name, &v, &err) == 0, "%s", err.message);
    return v;
}

/* lookup at the current "catalog" generation, read from c first. */
static int lookup_now(struct cache *c, const char *key, const char *want)
{
    return lookup(c, key, gen_of(c, "catalog"), want);
}

static uint64_t bump(struct cache *c, const char *name)
{
    uint64_t v = 0;
    struct error err = {0};
    ck_assert_msg(c->driver->bump(c, name, &v, &err) == 0, "%s", err.message);
    return v;
}

/* A handle on ns with cache.ttl = 1 s and the given cache.stale_ttl
 * setting ("cache.stale_ttl=N"), for the stale-while-revalidate tests. */
static struct cache *ns_open_stale(const struct ns *ns, const char *stale_ttl)
{
    return ns_open_with(ns, "1M", "1", stale_ttl);
}

/* a and b: two processes on a fresh namespace of targets[which], opened
 * with ns_open_stale.  The memory driver's entries are its process's own:
 * b is a there.  Returns whether a and b are two handles (close_both). */
static bool stale_pair_open(struct ns *ns, int which, const char *stale_ttl, struct cache **a,
                            struct cache **b)
{
    ns_init(ns, which);
    *a = ns_open_stale(ns, stale_ttl);
    bool shared = ns->t->url != NULL;
    *b = shared ? ns_open_stale(ns, stale_ttl) : *a;
    return shared;
}

/* Stores "k" = "old" at c's current "catalog" generation; returns it. */
static uint64_t put_old(struct cache *c)
{
    uint64_t g = gen_of(c, "catalog");
    put(c, "k", g, "old", 0);
    return g;
}

/* One handle on a fresh namespace of targets[which], opened with
 * ns_open_stale, holding "k" = "old" at the generation put in *g. */
static struct cache *stale_one_open(struct ns *ns, int which, const char *stale_ttl, uint64_t *g)
{
    ns_init(ns, which);
    struct cache *c = ns_open_stale(ns, stale_ttl);
    *g = put_old(c);
    return c;
}

/* One step of a stale-while-revalidate script: advance the cache clock by
 * advance_ms, then look "k" up at the current generation through a or b
 * (who), expecting rc (CACHE_MISS, _HIT, _STALE) and, on a hit, want. */
struct step {
    int64_t advance_ms;
    char who;
    const char *want;
    int rc;
};

static void run_steps(struct cache *a, struct cache *b, const struct step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (steps[i].advance_ms > 0)
            cache_clock_advance(steps[i].advance_ms);
        struct cache *c = steps[i].who == 'b' ? b : a;
        int rc = lookup_now(c, "k", steps[i].want);
        ck_assert_msg(rc == steps[i].rc, "step %zu (%c): %d, want %d", i, steps[i].who, rc,
                      steps[i].rc);
    }
}

/* Closes a and, unless it is a itself, b. */
static void close_both(struct cache *a, struct cache *b)
{
    if (b != a)
        cache_close(b);
    cache_close(a);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(set_and_get)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *c = ns_open(&ns, "1M", "60");
    uint64_t g = gen_of(c, "catalog");

    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=1", g, NULL), 0);
    put(c, "/api/v1/courses?page=1", g, "{\"count\":1}", 0);
    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=1", g, "{\"count\":1}"), 1);
    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=2", g, NULL), 0);

    /* Replacing keeps the new value; bytes are bytes (NULs included). */
    put(c, "/api/v1/courses?page=1", g, "{\"count\":2}", 0);
    ck_assert_int_eq(lookup(c, "/api/v1/courses?page=1", g, "{\"count\":2}"), 1);
    static const char binary[] = {'a', '\0', 'b', '\xff', '\0'};
    put_n(c, "bin", g, binary, sizeof binary, 0);
    ck_assert_int_eq(lookup_n(c, "bin", g, binary, sizeof binary), 1);
    put_n(c, "empty", g, "", 0, 0);
    ck_assert_int_eq(lookup_n(c, "empty", g, "", 0), 1);
    cache_close(c);
}
END_TEST

START_TEST(other_generation_misses)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *c = ns_open(&ns, "1M", "60");
    put(c, "k", 7, "seven", 0);
    ck_assert_int_eq(lookup(c, "k", 8, NULL), 0);
    ck_assert_int_eq(lookup(c, "k", 6, NULL), 0);
    put(c, "k2", 7, "seven", 0);
    ck_assert_int_eq(lookup(c, "k2", 7, "seven"), 1);
    cache_close(c);
}
END_TEST

START_TEST(ttl_expires)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *c = ns_open(&ns, "1M", "1"); /* cache.ttl = 1 s */
    put(c, "short", 1, "v", 1);
    put(c, "default", 1, "v", 0);
    put(c, "long", 1, "v", 30);
    ck_assert_int_eq(lookup(c, "short", 1, "v"), 1);
    ck_assert_int_eq(lookup(c, "default", 1, "v"), 1);
    usleep(1300 * 1000);
    ck_assert_int_eq(lookup(c, "short", 1, NULL), 0);
    ck_assert_int_eq(lookup(c, "default", 1, NULL), 0);
    ck_assert_int_eq(lookup(c, "long", 1, "v"), 1);
    cache_close(c);
}
END_TEST

/* A bump through one handle is seen by the other at its next lookup: an
 * entry from before the bump is never a hit there again. */
START_TEST(generations_shared_between_handles)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *a = ns_open(&ns, "1M", "60");
    struct cache *b = ns_open(&ns, "1M", "60");

    uint64_t g0 = gen_of(b, "catalog");
    ck_assert_uint_eq(gen_of(a, "catalog"), g0);
    ck_assert_int_eq(lookup(b, "/courses", g0, NULL), 0);
    put(b, "/courses", g0, "before", 0);
    ck_assert_int_eq(lookup_now(b, "/courses", "before"), 1);

    uint64_t g1 = bump(a, "catalog");
    ck_assert_uint_eq(g1, g0 + 1);
    /* What a request on b does: read the generation, then look up. */
    ck_assert_int_eq(lookup_now(b, "/courses", NULL), 0);
    ck_assert_uint_eq(gen_of(b, "catalog"), g1);
    ck_assert_uint_eq(gen_of(a, "catalog"), g1);

    /* Another counter is independent. */
    uint64_t i0 = gen_of(a, "index");
    bump(b, "index");
    ck_assert_int_eq(lookup(a, "/search", gen_of(a, "index"), NULL), 0);
    ck_assert_uint_eq(gen_of(a, "index"), i0 + 1);
    ck_assert_uint_eq(gen_of(a, "catalog"), g1);

    /* Names are checked. */
    struct error err = {0};
    uint64_t v;
    ck_assert_int_eq(a->driver->generation(a, "", &v, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(a->driver->bump(a, longname, &v, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    cache_close(a);
    cache_close(b);
}
END_TEST

struct bumper {
    struct cache *c;
    int n;
    int failures;
};

static void *bump_many(void *arg)
{
    struct bumper *b = arg;
    uint64_t last = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t v;
        struct error err = {0};
        if (b->c->driver->bump(b->c, "catalog", &v, &err) != 0 || v <= last)
            b->failures++;
        last = v;
    }
    return NULL;
}

START_TEST(bump_is_monotonic_and_atomic)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *a = ns_open(&ns, "1M", "60");
    struct cache *b = ns_open(&ns, "1M", "60");
    uint64_t prev = gen_of(a, "catalog");
    for (int i = 0; i < 50; i++) {
        uint64_t v = bump(i % 2 ? a : b, "catalog");
        ck_assert_uint_eq(v, prev + 1);
        prev = v;
    }
    /* 4 threads over two handles: no increment lost, each sees its own
     * results rise. */
    struct bumper work[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        work[i] = (struct bumper){.c = i % 2 ? a : b, .n = 200};
        ck_assert_int_eq(pthread_create(&th[i], NULL, bump_many, &work[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(work[i].failures, 0);
    }
    ck_assert_uint_eq(bump(a, "catalog"), prev + 801);
    cache_close(a);
    cache_close(b);
}
END_TEST

START_TEST(clear_removes_entries_not_generations)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *c = ns_open(&ns, "1M", "60");
    uint64_t g = bump(c, "catalog");
    put(c, "a", g, "1", 0);
    put(c, "b", g, "2", 0);
    put(c, "c", g, "3", 0);
    struct cache_stats before, after;
    c->driver->stats(c, &before);
    struct error err = {0};
    ck_assert_int_eq(c->driver->clear(c, &err), 0);
    c->driver->stats(c, &after);
    ck_assert_uint_lt(after.entries, before.entries);
    ck_assert_int_eq(lookup(c, "a", g, NULL), 0);
    ck_assert_int_eq(lookup(c, "b", g, NULL), 0);
    ck_assert_int_eq(lookup(c, "c", g, NULL), 0);
    ck_assert_uint_eq(gen_of(c, "catalog"), g);
    put(c, "a", g, "again", 0);
    ck_assert_int_eq(lookup(c, "a", g, "again"), 1);
    cache_close(c);
}
END_TEST

START_TEST(stats_count)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *c = ns_open(&ns, "1M", "60");
    struct cache_stats st;
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.hits, 0);
    ck_assert_uint_eq(st.misses, 0);
    ck_assert_int_eq(lookup(c, "x", 1, NULL), 0);
    put(c, "x", 1, "value", 0);
    ck_assert_int_eq(lookup(c, "x", 1, "value"), 1);
    ck_assert_int_eq(lookup(c, "x", 1, "value"), 1);
    ck_assert_int_eq(lookup(c, "x", 2, NULL), 0);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.hits, 2);
    ck_assert_uint_eq(st.misses, 2);
    put(c, "y", 1, "value", 0);
    c->driver->stats(c, &st);
    ck_assert_uint_ge(st.entries, 1);
    ck_assert_uint_gt(st.bytes, 0);
    cache_close(c);
}
END_TEST

START_TEST(health_ok)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *c = ns_open(&ns, "1M", "60");
    struct error err = {0};
    ck_assert_msg(c->driver->health(c, &err) == 0, "%s", err.message);
    cache_close(c);
}
END_TEST

START_TEST(too_large_is_not_stored)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *c = ns_open(&ns, "64K", "60");
    size_t big = 100 * 1024;
    char *value = malloc(big);
    ck_assert_ptr_nonnull(value);
    memset(value, 'v', big);
    put_n(c, "big", 1, value, big, 0);
    ck_assert_int_eq(lookup(c, "big", 1, NULL), 0);
    put_n(c, "small", 1, value, 1000, 0);
    ck_assert_int_eq(lookup_n(c, "small", 1, value, 1000), 1);
    free(value);
    cache_close(c);
}
END_TEST

/* ---- the near cache (redis: cache.local_max_bytes) ---- */

/* A hit through get_shared; the value is the caller's to release. */
static struct cache_value *shared_hit(struct cache *c, const char *key, uint64_t gen,
                                      const char *want)
{
    struct cache_value *v = NULL;
    struct error err = {0};
    ck_assert_msg(c->driver->get_shared(c, key, gen, &v, &err) == 1, "%s: no hit on %s: %s",
                  c->driver->name, key, err.message);
    ck_assert_uint_eq(v->len, strlen(want));
    ck_assert(memcmp(v->data, want, v->len) == 0);
    return v;
}

static void redis_cli(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "redis-cli -u '%s' %s >/dev/null", getenv("CATALOGD_TEST_REDIS_URL"),
             args);
    ck_assert_int_eq(system(cmd), 0);
}

/* A second hit is served from this process's copy (the same bytes lent
 * again), and a write by another process makes that copy a miss at once. */
START_TEST(redis_near_copy_misses_after_a_write_elsewhere)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *a = ns_open(&ns, "1M", "60");
    struct cache *b = ns_open(&ns, "1M", "60");
    uint64_t g = gen_of(b, "catalog");
    ck_assert_int_eq(lookup(b, "/courses", g, NULL), 0);
    put(b, "/courses", g, "before", 0);
    struct cache_value *v1 = shared_hit(b, "/courses", gen_of(b, "catalog"), "before");
    struct cache_value *v2 = shared_hit(b, "/courses", gen_of(b, "catalog"), "before");
    ck_assert_ptr_eq(v1->data, v2->data); /* near: not fetched again */
    cache_value_release(v2);

    bump(a, "catalog"); /* a write in another process */
    /* b's remembered counter lags; the lookup's round trip sees the bump. */
    ck_assert_uint_eq(gen_of(b, "catalog"), g);
    ck_assert_int_eq(lookup(b, "/courses", g, NULL), 0);
    uint64_t g2 = gen_of(b, "catalog");
    ck_assert_uint_eq(g2, g + 1);
    ck_assert_int_eq(lookup(b, "/courses", g2, NULL), 0);
    put(a, "/courses", g2, "after", 0);
    ck_assert_int_eq(lookup_now(b, "/courses", "after"), 1);
    ck_assert(memcmp(v1->data, "before", 6) == 0); /* still readable while lent */
    cache_value_release(v1);
    cache_close(a);
    cache_close(b);
}
END_TEST

/* The near copy is served only while Redis holds the entry with the same
 * stamp: deleted (by an operator, another process's clear, eviction) or
 * replaced there, it is a miss here too. */
START_TEST(redis_near_copy_follows_the_entry_in_redis)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *a = ns_open(&ns, "1M", "60");
    struct cache *b = ns_open(&ns, "1M", "60");
    uint64_t g = gen_of(b, "catalog");
    put(b, "k", g, "value", 0);
    ck_assert_int_eq(lookup_now(b, "k", "value"), 1);
    char args[256];
    snprintf(args, sizeof args, "UNLINK '%se2:k'", ns.prefix);
    redis_cli(args);
    ck_assert_int_eq(lookup_now(b, "k", NULL), 0);

    put(b, "k", g, "value", 0);
    ck_assert_int_eq(lookup_now(b, "k", "value"), 1);
    struct error err = {0};
    ck_assert_int_eq(a->driver->clear(a, &err), 0);
    ck_assert_int_eq(lookup_now(b, "k", NULL), 0);
    cache_close(a);
    cache_close(b);
}
END_TEST

/* An outage epoch bump (here made by hand, as a process that lost Redis
 * makes it) makes the near copy a miss at once, and for good. */
START_TEST(redis_near_copy_misses_after_an_epoch_bump)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *b = ns_open(&ns, "1M", "60");
    uint64_t g = gen_of(b, "catalog");
    put(b, "k", g, "value", 0);
    ck_assert_int_eq(lookup_now(b, "k", "value"), 1);
    ck_assert_int_eq(lookup_now(b, "k", "value"), 1);
    char args[256];
    snprintf(args, sizeof args, "INCR '%sepoch'", ns.prefix);
    redis_cli(args);
    ck_assert_int_eq(lookup_now(b, "k", NULL), 0);
    put(b, "k", g, "computed across the bump", 0); /* refused */
    ck_assert_int_eq(lookup_now(b, "k", NULL), 0);
    put(b, "k", gen_of(b, "catalog"), "new epoch", 0);
    ck_assert_int_eq(lookup_now(b, "k", "new epoch"), 1);
    cache_close(b);
}
END_TEST

/* cache.local_max_bytes bounds the near copies: past it the coldest go
 * (the next hit fetches the body again: other bytes), and 0 keeps none. */
START_TEST(redis_near_bound_evicts)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *c = ns_open_with(&ns, "1M", "60", "cache.local_max_bytes=4K");
    char value[1001];
    memset(value, 'x', 1000);
    value[1000] = '\0';
    put(c, "k0", 1, value, 0);
    struct cache_value *v1 = shared_hit(c, "k0", 1, value);
    struct cache_value *v2 = shared_hit(c, "k0", 1, value);
    ck_assert_ptr_eq(v1->data, v2->data);
    cache_value_release(v2);
    char key[16];
    for (int i = 1; i <= 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put(c, key, 1, value, 0);
    }
    v2 = shared_hit(c, "k0", 1, value); /* evicted near: fetched from Redis */
    ck_assert_ptr_ne(v1->data, v2->data);
    cache_value_release(v1);
    cache_value_release(v2);
    cache_close(c);

    struct cache *off = ns_open_with(&ns, "1M", "60", "cache.local_max_bytes=0");
    v1 = shared_hit(off, "k0", 1, value);
    v2 = shared_hit(off, "k0", 1, value);
    ck_assert_ptr_ne(v1->data, v2->data);
    cache_value_release(v1);
    cache_value_release(v2);
    cache_close(off);
}
END_TEST

/* Threads hitting, storing and evicting near copies at once (one handle,
 * room for about three entries); every holder reads whole bytes.  Run
 * under ASan (CATALOGD_SANITIZE=ON) a race that frees under a reader
 * fails. */
struct near_arg {
    struct cache *c;
    int id;
};

static void *near_worker(void *p)
{
    struct near_arg *a = p;
    char key[32], val[600];
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof key, "k%d", i % 8);
        int n = (i % 8) + 1;
        memset(val, 'a' + n, 500);
        struct error err = {0};
        if (i % 3 == a->id % 3)
            ck_assert_msg(a->c->driver->set(a->c, key, 1, val, 500, 0, &err) == 0, "%s",
                          err.message);
        struct cache_value *v = NULL;
        int rc = a->c->driver->get_shared(a->c, key, 1, &v, &err);
        ck_assert_msg(rc >= 0, "%s", err.message);
        if (rc == 1) {
            ck_assert_uint_eq(v->len, 500);
            for (size_t j = 0; j < v->len; j++)
                ck_assert_int_eq(v->data[j], 'a' + n);
            cache_value_release(v);
        }
    }
    return NULL;
}

START_TEST(redis_near_concurrent_hits_and_evictions)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *c = ns_open_with(&ns, "1M", "60", "cache.local_max_bytes=2K");
    pthread_t th[4];
    struct near_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct near_arg){c, i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, near_worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct cache_stats st;
    c->driver->stats(c, &st);
    ck_assert_uint_gt(st.hits, 0);
    cache_close(c);
}
END_TEST

/* ---- outages (redis, with the fixture's control script) ---- */

static void redis_ctl(const char *what)
{
    const char *ctl = getenv("CATALOGD_TEST_REDIS_CTL");
    ck_assert_ptr_nonnull(ctl);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", ctl, what);
    ck_assert_int_eq(system(cmd), 0);
}

/* The value of a key read with redis-cli, or "" when absent. */
static void redis_cli_get(const char *key, char *out, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "redis-cli -u '%s' GET '%s'", getenv("CATALOGD_TEST_REDIS_URL"), key);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    if (fgets(out, (int)size, p) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    pclose(p);
}

static int expect_unavailable(int rc, const struct error *err)
{
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err->code, ERR_UNAVAILABLE);
    return rc;
}

/* Waits (up to 10 s) for the handle to reach Redis again. */
static void wait_healthy(struct cache *c)
{
    int64_t deadline = mono_ms() + 10000;
    struct error err = {0};
    while (c->driver->health(c, &err) != 0) {
        ck_assert_msg(mono_ms() < deadline, "redis did not come back: %s", err.message);
        usleep(50 * 1000);
    }
}

START_TEST(redis_down_fails_fast_and_recovers)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *a = ns_open(&ns, "1M", "60");
    struct cache *b = ns_open(&ns, "1M", "60");
    bump(a, "catalog");
    bump(a, "catalog");
    uint64_t g = gen_of(b, "catalog");
    ck_assert_int_eq(lookup(b, "/courses", g, NULL), 0);
    put(b, "/courses", g, "before", 0);
    ck_assert_int_eq(lookup_now(b, "/courses", "before"), 1);

    redis_ctl("stop");
    struct error err = {0};
    char *value;
    size_t len;
    uint64_t v;
    /* The first call finds the connection dead, later ones the door shut;
     * none waits on a timeout. */
    int64_t t0 = mono_ms();
    for (int i = 0; i < 50; i++) {
        expect_unavailable(b->driver->get(b, "/courses", g, &value, &len, &err), &err);
        expect_unavailable(b->driver->set(b, "/courses", g, "during", 6, 0, &err), &err);
    }
    expect_unavailable(a->driver->bump(a, "catalog", &v, &err), &err); /* a lost bump */
    expect_unavailable(a->driver->health(a, &err), &err);
    ck_assert_int_lt(mono_ms() - t0, 1000);

    /* Back, empty, as after a restart: both handles reconnect by themselves
     * after the back-off, the epoch is bumped, and the counters start over. */
    redis_ctl("start");
    wait_healthy(a);
    wait_healthy(b);
    char epoch[64], key[128];
    snprintf(key, sizeof key, "%sepoch", ns.prefix);
    redis_cli_get(key, epoch, sizeof epoch);
    ck_assert_msg(atoll(epoch) >= 1, "epoch after the outage: '%s'", epoch);

    uint64_t g2 = gen_of(b, "catalog");
    ck_assert_int_eq(lookup(b, "/courses", g2, NULL), 0);
    put(b, "/courses", g2, "after", 0);
    ck_assert_int_eq(lookup_now(b, "/courses", "after"), 1);
    cache_close(a);
    cache_close(b);
}
END_TEST

/* A generation read before an outage is not trusted after it: the lookup it
 * was read for misses and what was computed meanwhile is not stored, even
 * when the counters later come back to the same value. */
START_TEST(redis_nothing_from_across_an_outage)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *a = ns_open(&ns, "1M", "60");
    struct cache *b = ns_open(&ns, "1M", "60");
    ck_assert_uint_eq(bump(a, "catalog"), 1);

    uint64_t g = gen_of(b, "catalog"); /* a request on b starts... */
    ck_assert_uint_eq(g, 1);
    redis_ctl("stop"); /* ...Redis goes away, a write's bump is lost... */
    struct error err = {0};
    uint64_t v;
    expect_unavailable(a->driver->bump(a, "catalog", &v, &err), &err);
    redis_ctl("start");
    wait_healthy(a);
    ck_assert_uint_eq(bump(a, "catalog"), 1); /* the counter starts over */

    /* ...and b's request carries on with the generation it read. */
    wait_healthy(b);
    ck_assert_int_eq(lookup(b, "/courses", g, NULL), 0);
    put(b, "/courses", g, "computed across the outage", 0);
    ck_assert_int_eq(lookup_now(b, "/courses", NULL), 0);
    ck_assert_int_eq(lookup_now(a, "/courses", NULL), 0);
    cache_close(a);
    cache_close(b);
}
END_TEST

/* A process that cannot reach Redis for a while (here: its command times
 * out while Redis refuses writes) bumps the epoch when it gets through, so
 * that what others cached before is served no more, without a restart. */
START_TEST(redis_epoch_bumped_after_a_timeout)
{
    struct ns ns;
    ns_init(&ns, 1);
    struct cache *a = ns_open(&ns, "1M", "60");
    struct cache *b = ns_open(&ns, "1M", "60");
    uint64_t g = gen_of(b, "catalog");
    ck_assert_int_eq(lookup(b, "/courses", g, NULL), 0);
    put(b, "/courses", g, "before", 0);
    ck_assert_int_eq(lookup_now(b, "/courses", "before"), 1);

    char cmd[1024];
    snprintf(cmd, sizeof cmd, "redis-cli -u '%s' CLIENT PAUSE 1500 WRITE >/dev/null",
             getenv("CATALOGD_TEST_REDIS_URL"));
    ck_assert_int_eq(system(cmd), 0);
    struct error err = {0};
    uint64_t v;
    int64_t t0 = mono_ms();
    expect_unavailable(a->driver->bump(a, "catalog", &v, &err), &err);
    ck_assert_int_lt(mono_ms() - t0, 1200); /* cache.command_timeout, not the pause */
    usleep(1700 * 1000);
    wait_healthy(a); /* a gets through: the epoch moves */
    ck_assert_int_eq(lookup_now(b, "/courses", NULL), 0);
    ck_assert_int_eq(lookup_now(b, "/courses", NULL), 0);
    cache_close(a);
    cache_close(b);
}
END_TEST

/* ---- stale while revalidate (cache.stale_ttl), on the cache clock ---- */

/* Past its TTL an entry of the current generation is a miss for exactly one
 * caller (the refresher) and stale for every other, here and (entries that
 * are shared: redis) in another "process", until the refresher stores: then
 * fresh again, for everyone. */
START_TEST(stale_served_while_one_refreshes)
{
    struct ns ns;
    struct cache *a, *b;
    bool shared = stale_pair_open(&ns, _i, "cache.stale_ttl=10", &a, &b);
    uint64_t g = put_old(a);
    ck_assert_int_eq(lookup(a, "k", g, "old"), CACHE_HIT);
    ck_assert_int_eq(lookup_now(b, "k", "old"), CACHE_HIT);
    struct cache_stats before, after;
    a->driver->stats(a, &before);
    cache_clock_advance(1500);
    ck_assert_int_eq(lookup_now(a, "k", NULL), CACHE_MISS); /* refresher */
    ck_assert_int_eq(lookup_now(a, "k", "old"), CACHE_STALE);
    ck_assert_int_eq(lookup_now(a, "k", "old"), CACHE_STALE);
    ck_assert_int_eq(lookup_now(b, "k", "old"), CACHE_STALE);
    struct cache_value *v = NULL;
    struct error err = {0};
    ck_assert_int_eq(a->driver->get_shared(a, "k", gen_of(a, "catalog"), &v, &err), CACHE_STALE);
    ck_assert_uint_eq(v->len, 3);
    ck_assert(memcmp(v->data, "old", 3) == 0);
    cache_value_release(v);
    a->driver->stats(a, &after);
    ck_assert_uint_eq(after.stale - before.stale, shared ? 3 : 4);
    ck_assert_uint_eq(after.misses - before.misses, 1);
    ck_assert_uint_eq(after.hits, before.hits);
    put(a, "k", g, "new", 0); /* the refresher stores */
    ck_assert_int_eq(lookup_now(a, "k", "new"), CACHE_HIT);
    ck_assert_int_eq(lookup_now(b, "k", "new"), CACHE_HIT);
    close_both(a, b);
}
END_TEST

/* An entry of an older generation is never served, stale or not: after a
 * write, every lookup misses, however many there are. */
START_TEST(stale_never_serves_an_older_generation)
{
    struct ns ns;
    ns_init(&ns, _i);
    struct cache *a = ns_open_stale(&ns, "cache.stale_ttl=10");
    struct cache *b = ns_open_stale(&ns, "cache.stale_ttl=10");
    put_old(a);
    cache_clock_advance(1500);
    bump(b, "catalog"); /* a write in another process */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(lookup_now(a, "k", NULL), CACHE_MISS);
        ck_assert_int_eq(lookup_now(b, "k", NULL), CACHE_MISS);
    }
    /* Also before the TTL: a write is never hidden behind the grace. */
    uint64_t g2 = gen_of(a, "catalog");
    put(a, "j", g2, "x", 0);
    bump(a, "catalog");
    ck_assert_int_eq(lookup_now(a, "j", NULL), CACHE_MISS);
    ck_assert_int_eq(lookup_now(b, "j", NULL), CACHE_MISS);
    cache_close(a);
    cache_close(b);
}
END_TEST

/* Past TTL + grace the entry is a plain miss for everyone. */
START_TEST(stale_ends_with_the_grace)
{
    struct ns ns;
    uint64_t g;
    struct cache *c = stale_one_open(&ns, _i, "cache.stale_ttl=2", &g);
    static const struct step steps[] = {
        {2500, 'a', NULL, CACHE_MISS}, /* within the grace */
        {0, 'a', "old", CACHE_STALE},
        {1000, 'a', NULL, CACHE_MISS}, /* 3.5 s: past 1 + 2 */
        {0, 'a', NULL, CACHE_MISS},
    };
    run_steps(c, c, steps, sizeof steps / sizeof steps[0]);
    cache_close(c);
}
END_TEST

/* A refresher that never stores (an error, a non-200) holds the lease for
 * CACHE_REFRESH_LEASE_MS only: then the next lookup, in any process,
 * becomes the refresher, and the others are stale again. */
START_TEST(stale_refresher_replaced_after_its_lease)
{
    struct ns ns;
    struct cache *a, *b;
    stale_pair_open(&ns, _i, "cache.stale_ttl=30", &a, &b);
    put_old(a);
    static const struct step steps[] = {
        {0, 'b', "old", CACHE_HIT},
        {1500, 'a', NULL, CACHE_MISS},
        {0, 'a', "old", CACHE_STALE},
        {CACHE_REFRESH_LEASE_MS - 500, 'a', "old", CACHE_STALE}, /* lease still held */
        {600, 'b', NULL, CACHE_MISS},                            /* lease over: a new refresher */
        {0, 'a', "old", CACHE_STALE},
        {0, 'b', "old", CACHE_STALE},
    };
    run_steps(a, b, steps, sizeof steps / sizeof steps[0]);
    close_both(a, b);
}
END_TEST

/* cache.stale_ttl = 0: past the TTL every lookup misses, as before. */
START_TEST(stale_ttl_zero_expires_at_the_ttl)
{
    struct ns ns;
    uint64_t g;
    struct cache *c = stale_one_open(&ns, _i, "cache.stale_ttl=0", &g);
    ck_assert_int_eq(lookup(c, "k", g, "old"), CACHE_HIT);
    cache_clock_advance(1100);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(lookup_now(c, "k", NULL), CACHE_MISS);
    put(c, "k", g, "new", 0);
    ck_assert_int_eq(lookup(c, "k", g, "new"), CACHE_HIT);
    cache_close(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache_conformance");
    TCase *tc = tcase_create("drivers");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, set_and_get, 0, n_targets);
    tcase_add_loop_test(tc, other_generation_misses, 0, n_targets);
    tcase_add_loop_test(tc, ttl_expires, 0, n_targets);
    tcase_add_loop_test(tc, generations_shared_between_handles, 0, n_targets);
    tcase_add_loop_test(tc, bump_is_monotonic_and_atomic, 0, n_targets);
    tcase_add_loop_test(tc, clear_removes_entries_not_generations, 0, n_targets);
    tcase_add_loop_test(tc, stats_count, 0, n_targets);
    tcase_add_loop_test(tc, health_ok, 0, n_targets);
    tcase_add_loop_test(tc, too_large_is_not_stored, 0, n_targets);
    tcase_add_loop_test(tc, stale_served_while_one_refreshes, 0, n_targets);
    tcase_add_loop_test(tc, stale_never_serves_an_older_generation, 0, n_targets);
    tcase_add_loop_test(tc, stale_ends_with_the_grace, 0, n_targets);
    tcase_add_loop_test(tc, stale_refresher_replaced_after_its_lease, 0, n_targets);
    tcase_add_loop_test(tc, stale_ttl_zero_expires_at_the_ttl, 0, n_targets);
    suite_add_tcase(s, tc);
    if (n_targets > 1) {
        TCase *near = tcase_create("redis_near");
        tcase_set_timeout(near, 120);
        tcase_add_test(near, redis_near_copy_misses_after_a_write_elsewhere);
        tcase_add_test(near, redis_near_copy_follows_the_entry_in_redis);
        tcase_add_test(near, redis_near_copy_misses_after_an_epoch_bump);
        tcase_add_test(near, redis_near_bound_evicts);
        tcase_add_test(near, redis_near_concurrent_hits_and_evictions);
        suite_add_tcase(s, near);
    }
    if (n_targets > 1 && getenv("CATALOGD_TEST_REDIS_CTL") != NULL) {
        TCase *out = tcase_create("redis_outages");
        tcase_set_timeout(out, 120);
        tcase_add_test(out, redis_down_fails_fast_and_recovers);
        tcase_add_test(out, redis_nothing_from_across_an_outage);
        tcase_add_test(out, redis_epoch_bumped_after_a_timeout);
        suite_add_tcase(s, out);
    }
    return s;
}

int main(void)
{
    targets[n_targets++] = (struct target){.driver = "memory"};
    const char *url = getenv("CATALOGD_TEST_REDIS_URL");
    if (url != NULL && url[0] != '\0') {
        /* Asked for redis: not having it is a failure, not a skip. */
        if (registry_cache("redis") == NULL) {
            fprintf(stderr, "CATALOGD_TEST_REDIS_URL is set but the redis driver is not "
                            "compiled in\n");
            return EXIT_FAILURE;
        }
        targets[n_targets++] = (struct target){.driver = "redis", .url = url};
    }
    return test_run_suite(suite());
}
