/*
 * redis - the response cache in Redis (hiredis 0.14), shared by every
 * catalogd process that names the same cache.url and cache.prefix.
 *
 * Keys: <prefix>e2:<key> (entries), <prefix>gen:<name> (generation
 * counters, INCR), <prefix>epoch (the outage epoch, below), <prefix>r:<key>
 * (refresh leases, below).  An entry's value is a 32-byte header (epoch,
 * generation, fresh-until and stale-until in wall-clock milliseconds, each
 * big-endian 64-bit) followed by the bytes; it is written with SET ... PX
 * (ttl + stale_ttl).  ("e2:": entries of the 16-byte header that came before
 * live under "e:", so that processes of both versions sharing a Redis
 * during an upgrade never read each other's values; they expire there.)
 *
 * Stale while revalidate (cache.h).  The header carries the logical expiry,
 * so every process agrees on when an entry is fresh and when stale, up to
 * the skew of the hosts' clocks.  Past fresh-until, the refresher is elected
 * across processes: a small script takes <prefix>r:<key> when it is absent
 * or holds a lease deadline already passed, writing its own deadline
 * (CACHE_REFRESH_LEASE_MS, at most until stale-until; the key's PX is the
 * same, so it also goes by itself); the caller that takes it misses, every
 * other lookup meanwhile, in any process, is CACHE_STALE.  set() deletes
 * the lease with the write, so the next entry starts without one.  A stale
 * lookup costs a second round trip (the script), only during a refresh.
 *
 * One round trip per hit.  The caller reads generations and then looks up
 * (response_cache.c).  generation() answers from this thread's view (the
 * counters as of its last round trip) and marks the counter consulted; get()
 * reads the epoch, every counter of the view and the entry in one MGET, and
 * is a hit only when the entry's stamp matches the current epoch and the
 * caller's generation and every consulted counter still has the value
 * generation() gave.  So the generation a hit was checked against is the
 * one current at the lookup, as if read then; a view that had fallen
 * behind makes one miss (not stored) and is refreshed by the same MGET.
 * Consequently generation() alone may lag a bump made by another process
 * until this thread's next get(); a hit never does.
 *
 * Near cache.  Each handle keeps copies of the entries it read or wrote in
 * an lru.h table (cache.local_max_bytes; 0 keeps none), stamped (epoch,
 * generation) as in Redis.  A lookup that finds a copy with the stamp it
 * expects pipelines the same MGET without the entry and GETRANGE of the
 * entry's stamp: one round trip, no body.  The copy is served when the
 * MGET finds nothing moved (as above) and Redis still holds the entry with
 * that very stamp, so an entry deleted, expired or evicted there is not
 * served from here either; otherwise it is a miss like any other.  A
 * lookup without a copy does the MGET with the entry and keeps the body.
 * Either way a hit lends the copy (get_shared): the body is copied once,
 * out of the hiredis reply, not once per hit.  The table knows nothing of
 * the transport, so redis-cluster can put the same one in front of its
 * nodes.
 *
 * Outages.  While Redis cannot be reached, bumps are lost, so entries
 * cached before or during an outage may be stale afterwards.  Every
 * failure to reach Redis (and every failed bump) increments the handle's
 * outage count; the first call after one, on any thread, INCRs the epoch
 * in Redis before anything else, and every thread drops its view.  Entries
 * stamped with an older epoch are never served, and set() writes through a
 * small script that stores only if the epoch is still the one the thread
 * read, so nothing computed across an outage is written either.  What this
 * cannot see: a process cut off from Redis while others still reach it
 * makes writes those others do not hear of until it reconnects (bounded by
 * cache.ttl), and a short-lived process (catalogd import) that exits while
 * Redis is down leaves its bump undone until the TTL passes.
 *
 * Connections: one per thread and handle (a pthread key), connected on
 * first use.  A failed connect closes the door for a back-off (100 ms,
 * doubling to 5 s) during which every call fails at once with
 * ERR_UNAVAILABLE; when it ends, one thread probes while the others keep
 * failing fast.  A command that fails drops that thread's connection; the
 * next call reconnects.
 */
#include "cache.h"
#include "cache/lru.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

extern const struct cache_driver cache_redis_driver;

#define VIEW_MAX 8 /* generation counters a thread keeps in view */
#define GEN_NAME_MAX 48
#define STAMP_BYTES 16  /* epoch and generation, the header's start */
#define HEADER_BYTES 32 /* and fresh-until and stale-until */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define HOST_MAX 256

/* Stores ARGV[2] under KEYS[2] for ARGV[3] ms, and ends the refresh lease
 * KEYS[3], only if the epoch in KEYS[1] is still ARGV[1] (an absent epoch
 * reads as "0"). */
static const char set_script[] =
    "local e = redis.call('GET', KEYS[1]) or '0' "
    "if e == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) "
    "redis.call('DEL', KEYS[3]) return 1 end "
    "return 0";

/* Takes the refresh lease KEYS[1] unless it holds a deadline later than
 * ARGV[1] (now, wall-clock ms): writes the deadline ARGV[2] for ARGV[3] ms.
 * 1: taken (the caller refreshes), 0: another caller holds it.  Deadlines
 * are compared, not only the key's presence, so that the lease follows the
 * callers' clock (and cache_clock_advance in tests). */
static const char claim_script[] = "local v = tonumber(redis.call('GET', KEYS[1]) or '0') or 0 "
                                   "if v > tonumber(ARGV[1]) then return 0 end "
                                   "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1";

struct gen_view {
    char name[GEN_NAME_MAX];
    uint64_t value;
    bool known;     /* value read since the view was last reset */
    bool consulted; /* handed out by generation() since the last get() */
    bool poisoned;  /* handed out before an outage: the next get() misses */
};

/* One thread's connection and view of the counters. */
struct conn {
    struct redis_cache *owner;
    struct conn *prev, *next; /* the owner's list, for close */
    redisContext *ctx;
    uint64_t seen_outages;
    bool epoch_known;
    bool view_reset; /* reset after an outage and not read since */
    uint64_t epoch;
    struct gen_view gens[VIEW_MAX];
    size_t n_gens;
    /* The last get() found the caller's generation out of date: a set() of
     * that generation would store what no lookup asks for. */
    bool refuse_set;
    uint64_t refused_gen;
};

struct redis_cache {
    struct cache base; /* first: the handle callers hold */
    char host[HOST_MAX];
    int port;
    int db;
    char *user, *password; /* NULL when none */
    char *prefix;
    size_t prefix_len;
    struct timeval connect_tv, command_tv;
    size_t max_bytes;
    unsigned default_ttl;
    unsigned stale_ttl; /* cache.stale_ttl: seconds of grace past the TTL */
    /* The near cache: entries this process read or wrote, stamped (epoch,
     * generation); holds nothing when cache.local_max_bytes is 0 (near_on
     * false), and still makes the one copy a hit is lent from. */
    struct lru *near;
    bool near_on;

    pthread_key_t key;
    pthread_mutex_t mu; /* guards conns */
    struct conn *conns;

    _Atomic uint64_t outages;          /* failures to reach Redis so far */
    _Atomic uint64_t epoch_bumped_for; /* outage count the epoch covers */
    _Atomic int64_t down_until_ms;     /* 0: not down */
    _Atomic int64_t backoff_ms;
    _Atomic uint64_t hits, stale, misses;
};

static struct redis_cache *of(struct cache *c)
{
    return (struct redis_cache *)c;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval tv_of_ms(int64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* redis://[[user]:password@]host[:port][/db] */
static int parse_url(struct redis_cache *r, const char *url, struct error *err)
{
    static const char scheme[] = "redis://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return error_set(err, ERR_CONFIG, "cache.url '%s': expected redis://host:port/db", url);
    const char *p = url + sizeof scheme - 1;
    const char *end = p + strcspn(p, "/");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL)
            return error_set(err, ERR_CONFIG, "cache.url: expected user:password@ before the host");
        if (colon > p && (r->user = dup_range(p, (size_t)(colon - p))) == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        if ((r->password = dup_range(colon + 1, (size_t)(at - colon - 1))) == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        p = at + 1;
    }
    const char *host_end;
    const char *port_at;
    if (*p == '[') {
        host_end = memchr(p, ']', (size_t)(end - p));
        if (host_end == NULL)
            return error_set(err, ERR_CONFIG, "cache.url '%s': unterminated [IPv6 address]", url);
        p++;
        port_at = host_end + 1;
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        if (host_end == NULL)
            host_end = end;
        port_at = host_end;
    }
    size_t host_len = (size_t)(host_end - p);
    if (host_len == 0 || host_len >= HOST_MAX)
        return error_set(err, ERR_CONFIG, "cache.url '%s': expected a host", url);
    memcpy(r->host, p, host_len);
    r->host[host_len] = '\0';
    r->port = 6379;
    if (port_at < end && *port_at == ':') {
        char *stop;
        long port = strtol(port_at + 1, &stop, 10);
        if (stop != end || port < 1 || port > 65535)
            return error_set(err, ERR_CONFIG, "cache.url '%s': port must be 1 to 65535", url);
        r->port = (int)port;
    } else if (port_at != end) {
        return error_set(err, ERR_CONFIG, "cache.url '%s': unexpected text after the host", url);
    }
    r->db = 0;
    if (*end == '/' && end[1] != '\0') {
        char *stop;
        long db = strtol(end + 1, &stop, 10);
        if (*stop != '\0' || db < 0 || db > 1000000)
            return error_set(err, ERR_CONFIG, "cache.url '%s': database must be a number", url);
        r->db = (int)db;
    }
    return 0;
}

static int read_password_file(struct redis_cache *r, const char *path, struct error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return error_set(err, ERR_CONFIG, "cache.password_file '%s': cannot open", path);
    char line[1024];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok)
        return error_set(err, ERR_CONFIG, "cache.password_file '%s': empty", path);
    line[strcspn(line, "\r\n")] = '\0';
    free(r->password);
    r->password = strdup(line);
    return r->password != NULL ? 0 : error_set(err, ERR_INTERNAL, "out of memory");
}

/* ---- connections ---- */

/* After an outage nothing read before it counts; a generation already
 * handed out is poisoned so that the get() it was read for misses and its
 * set() is refused (it may have been computed across the outage). */
static void conn_forget_view(struct conn *c)
{
    c->epoch_known = false;
    c->view_reset = true;
    for (size_t i = 0; i < c->n_gens; i++) {
        c->gens[i].known = false;
        if (c->gens[i].consulted)
            c->gens[i].poisoned = true;
    }
    c->refuse_set = false;
}

/* Counts a failure to reach Redis: every view is suspect from now on. */
static void note_outage(struct redis_cache *r)
{
    atomic_fetch_add(&r->outages, 1);
}

static void conn_drop(struct redis_cache *r, struct conn *c)
{
    if (c->ctx != NULL) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    note_outage(r);
}

/* Runs one command.  Returns the reply (caller frees) or NULL with err set:
 * an I/O failure or timeout drops the connection; an error reply does not. */
static redisReply *run(struct redis_cache *r, struct conn *c, int argc, const char **argv,
                       const size_t *lens, struct error *err)
{
    redisReply *rep = redisCommandArgv(c->ctx, argc, argv, lens);
    if (rep == NULL) {
        error_set(err, ERR_UNAVAILABLE, "redis %s:%d: %s", r->host, r->port,
                  c->ctx->errstr[0] ? c->ctx->errstr : "no reply");
        conn_drop(r, c);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        error_set(err, ERR_UNAVAILABLE, "redis %s:%d: %s %s", r->host, r->port, argv[0], rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static void conn_destroy(void *p)
{
    struct conn *c = p;
    struct redis_cache *r = c->owner;
    pthread_mutex_lock(&r->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&r->mu);
    if (c->ctx != NULL)
        redisFree(c->ctx);
    free(c);
}

/* Authenticates and selects the database on a fresh connection. */
static int handshake(struct redis_cache *r, struct conn *c, struct error *err)
{
    if (r->password != NULL) {
        const char *argv[3] = {"AUTH", r->user ? r->user : r->password, r->password};
        size_t lens[3] = {4, strlen(argv[1]), strlen(r->password)};
        redisReply *rep = run(r, c, r->user ? 3 : 2, argv, lens, err);
        if (rep == NULL)
            return -1;
        freeReplyObject(rep);
    }
    if (r->db != 0) {
        char db[24];
        snprintf(db, sizeof db, "%d", r->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        redisReply *rep = run(r, c, 2, argv, lens, err);
        if (rep == NULL)
            return -1;
        freeReplyObject(rep);
    }
    return 0;
}

static int connect_conn(struct redis_cache *r, struct conn *c, struct error *err)
{
    int64_t now = now_ms();
    int64_t until = atomic_load(&r->down_until_ms);
    int64_t backoff = atomic_load(&r->backoff_ms);
    if (until != 0) {
        /* While the door is closed, and while another thread probes after
         * it reopens, fail at once rather than each paying a connect. */
        if (now < until ||
            !atomic_compare_exchange_strong(&r->down_until_ms, &until, now + backoff))
            return error_set(err, ERR_UNAVAILABLE, "redis %s:%d is unreachable; retrying shortly",
                             r->host, r->port);
    }
    c->ctx = redisConnectWithTimeout(r->host, r->port, r->connect_tv);
    bool ok = c->ctx != NULL && c->ctx->err == 0;
    if (!ok) {
        error_set(err, ERR_UNAVAILABLE, "redis %s:%d: connect: %s", r->host, r->port,
                  c->ctx ? c->ctx->errstr : "out of memory");
        if (c->ctx != NULL) {
            redisFree(c->ctx);
            c->ctx = NULL;
        }
    } else {
        redisSetTimeout(c->ctx, r->command_tv);
        redisEnableKeepAlive(c->ctx);
        ok = handshake(r, c, err) == 0;
        if (!ok && c->ctx != NULL) {
            redisFree(c->ctx);
            c->ctx = NULL;
        }
    }
    if (!ok) {
        note_outage(r);
        atomic_store(&r->down_until_ms, now_ms() + backoff);
        atomic_store(&r->backoff_ms, backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2);
        return -1;
    }
    atomic_store(&r->down_until_ms, 0);
    atomic_store(&r->backoff_ms, BACKOFF_MIN_MS);
    return 0;
}

/* After an outage: INCR the epoch (once per outage count, whichever thread
 * gets here first) and forget this thread's view. */
static int sync_epoch(struct redis_cache *r, struct conn *c, struct error *err)
{
    uint64_t outages = atomic_load(&r->outages);
    if (c->seen_outages == outages)
        return 0;
    conn_forget_view(c);
    uint64_t covered = atomic_load(&r->epoch_bumped_for);
    if (covered < outages) {
        char key[512];
        snprintf(key, sizeof key, "%sepoch", r->prefix);
        const char *argv[2] = {"INCR", key};
        size_t lens[2] = {4, strlen(key)};
        redisReply *rep = run(r, c, 2, argv, lens, err);
        if (rep == NULL) {
            note_outage(r);
            return -1;
        }
        freeReplyObject(rep);
        while (covered < outages &&
               !atomic_compare_exchange_weak(&r->epoch_bumped_for, &covered, outages))
            ;
    }
    c->seen_outages = outages;
    return 0;
}

/* This thread's connection, connected and in step with the epoch. */
static struct conn *prepare(struct redis_cache *r, struct error *err)
{
    struct conn *c = pthread_getspecific(r->key);
    if (c == NULL) {
        c = calloc(1, sizeof *c);
        if (c == NULL) {
            error_set(err, ERR_INTERNAL, "out of memory");
            return NULL;
        }
        c->owner = r;
        c->seen_outages = atomic_load(&r->epoch_bumped_for);
        if (pthread_setspecific(r->key, c) != 0) {
            free(c);
            error_set(err, ERR_INTERNAL, "pthread_setspecific failed");
            return NULL;
        }
        pthread_mutex_lock(&r->mu);
        c->next = r->conns;
        if (r->conns)
            r->conns->prev = c;
        r->conns = c;
        pthread_mutex_unlock(&r->mu);
    }
    if (c->ctx == NULL && connect_conn(r, c, err) != 0)
        return NULL;
    if (sync_epoch(r, c, err) != 0)
        return NULL;
    return c;
}

/* ---- keys and replies ---- */

struct keybuf {
    char *data;
    size_t len;
};

/* prefix + part + name, malloc'd into kb. */
static int make_key(const struct redis_cache *r, const char *part, const char *name,
                    struct keybuf *kb, struct error *err)
{
    size_t plen = strlen(part), nlen = strlen(name);
    kb->len = r->prefix_len + plen + nlen;
    kb->data = malloc(kb->len + 1);
    if (kb->data == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    memcpy(kb->data, r->prefix, r->prefix_len);
    memcpy(kb->data + r->prefix_len, part, plen);
    memcpy(kb->data + r->prefix_len + plen, name, nlen + 1);
    return 0;
}

/* A counter as Redis returns it to GET/MGET: nil is 0. */
static int counter_of(const redisReply *e, uint64_t *out)
{
    if (e->type == REDIS_REPLY_NIL) {
        *out = 0;
        return 0;
    }
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 20)
        return -1;
    char buf[24];
    memcpy(buf, e->str, e->len);
    buf[e->len] = '\0';
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (*end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static struct gen_view *view_find(struct conn *c, const char *name)
{
    for (size_t i = 0; i < c->n_gens; i++)
        if (strcmp(c->gens[i].name, name) == 0)
            return &c->gens[i];
    return NULL;
}

/* The MGET of the epoch, every counter in view and, when entry_key is
 * given, the entry: fills argv and lens (VIEW_MAX + 3 slots) and keys
 * (VIEW_MAX + 1, malloc'd, freed by view_keys_free also on error).  Returns
 * argc, or -1 with err set. */
static int view_command(struct redis_cache *r, struct conn *c, const struct keybuf *entry_key,
                        const char **argv, size_t *lens, struct keybuf *keys, struct error *err)
{
    int argc = 0;
    argv[argc] = "MGET";
    lens[argc++] = 4;
    size_t nkeys = c->n_gens + 1;
    for (size_t i = 0; i < nkeys; i++) {
        if (make_key(r, i == 0 ? "epoch" : "gen:", i == 0 ? "" : c->gens[i - 1].name, &keys[i],
                     err) != 0)
            return -1;
        argv[argc] = keys[i].data;
        lens[argc++] = keys[i].len;
    }
    if (entry_key != NULL) {
        argv[argc] = entry_key->data;
        lens[argc++] = entry_key->len;
    }
    return argc;
}

static void view_keys_free(struct keybuf *keys)
{
    for (size_t i = 0; i < VIEW_MAX + 1; i++)
        free(keys[i].data);
}

/* Takes in the reply to view_command's MGET (argc arguments).  With
 * validate (a lookup), *stale tells whether the epoch or a consulted
 * counter had moved or the counter was poisoned, and the whole view is
 * refreshed; without (a generation() that needs a new counter), counters
 * already handed out keep the value given, for the coming lookup to check.
 * Returns 0, or -1 with err set (an unexpected reply). */
static int view_apply(struct redis_cache *r, struct conn *c, const redisReply *rep, int argc,
                      bool validate, bool *stale, struct error *err)
{
    uint64_t epoch;
    *stale = false;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)argc - 1 ||
        counter_of(rep->element[0], &epoch) != 0)
        return error_set(err, ERR_INTERNAL, "redis %s:%d: unexpected MGET reply", r->host, r->port);
    if (c->epoch_known && c->epoch != epoch)
        *stale = true;
    c->epoch = epoch;
    c->epoch_known = true;
    c->view_reset = false;
    for (size_t i = 0; i < c->n_gens; i++) {
        struct gen_view *g = &c->gens[i];
        uint64_t v;
        if (counter_of(rep->element[i + 1], &v) != 0)
            v = UINT64_MAX; /* not a counter: matches no generation */
        if (validate) {
            if (g->consulted && (g->poisoned || g->value != v))
                *stale = true;
            g->consulted = g->poisoned = false;
        } else if (g->consulted) {
            continue;
        }
        g->value = v;
        g->known = true;
    }
    return 0;
}

/* MGET epoch, every counter in view and, when entry_key is given, the entry
 * (view_command), taken in by view_apply.  Returns the reply (caller frees;
 * the entry is its last element) or NULL with err set. */
static redisReply *read_view(struct redis_cache *r, struct conn *c, const struct keybuf *entry_key,
                             bool validate, bool *stale, struct error *err)
{
    const char *argv[VIEW_MAX + 3];
    size_t lens[VIEW_MAX + 3];
    struct keybuf keys[VIEW_MAX + 1] = {{0}};
    redisReply *rep = NULL;
    *stale = false;
    int argc = view_command(r, c, entry_key, argv, lens, keys, err);
    if (argc >= 0)
        rep = run(r, c, argc, argv, lens, err);
    view_keys_free(keys);
    if (rep != NULL && view_apply(r, c, rep, argc, validate, stale, err) != 0) {
        freeReplyObject(rep);
        rep = NULL;
    }
    return rep;
}

/* Whether this thread's near copy of the entry at entry_key, stamped
 * (epoch, generation) and fresh until fresh_until, is the entry Redis holds:
 * one round trip that pipelines the view's MGET (without the entry) and
 * GETRANGE of the entry's header.  Yes when no consulted counter and not
 * the epoch has moved (as for any hit) and Redis still holds the entry with
 * that very stamp and fresh-until, so that an entry deleted, expired,
 * evicted or rewritten in Redis is not served from here either; then
 * *stale_until is the entry's.  Returns 1 (the same entry), 0 (not: a miss
 * when *stale, as view_apply's, else another entry or none), or -1 with err
 * set. */
static int near_valid(struct redis_cache *r, struct conn *c, const struct keybuf *entry_key,
                      uint64_t epoch, uint64_t generation, uint64_t fresh_until,
                      int64_t *stale_until, bool *stale, struct error *err)
{
    const char *argv[VIEW_MAX + 3];
    size_t lens[VIEW_MAX + 3];
    struct keybuf keys[VIEW_MAX + 1] = {{0}};
    *stale = false;
    int argc = view_command(r, c, NULL, argv, lens, keys, err);
    if (argc < 0) {
        view_keys_free(keys);
        return -1;
    }
    const char *range[4] = {"GETRANGE", entry_key->data, "0", "31"};
    size_t range_lens[4] = {8, entry_key->len, 1, 2};
    int ok = redisAppendCommandArgv(c->ctx, argc, argv, lens) == REDIS_OK &&
             redisAppendCommandArgv(c->ctx, 4, range, range_lens) == REDIS_OK;
    view_keys_free(keys);
    redisReply *view = NULL, *stamp = NULL;
    void *reply;
    if (ok && redisGetReply(c->ctx, &reply) == REDIS_OK) {
        view = reply;
        if (redisGetReply(c->ctx, &reply) == REDIS_OK)
            stamp = reply;
    }
    int rc;
    if (view == NULL || stamp == NULL) {
        /* Both replies or neither: the connection is out of step now. */
        rc = error_set(err, ERR_UNAVAILABLE, "redis %s:%d: %s", r->host, r->port,
                       c->ctx->errstr[0] ? c->ctx->errstr : "no reply");
        conn_drop(r, c);
    } else if (view->type == REDIS_REPLY_ERROR || stamp->type == REDIS_REPLY_ERROR) {
        rc = error_set(err, ERR_UNAVAILABLE, "redis %s:%d: %s", r->host, r->port,
                       view->type == REDIS_REPLY_ERROR ? view->str : stamp->str);
    } else if (view_apply(r, c, view, argc, true, stale, err) != 0) {
        rc = -1;
    } else {
        unsigned char want[STAMP_BYTES + 8];
        put_be64(want, epoch);
        put_be64(want + 8, generation);
        put_be64(want + 16, fresh_until);
        rc = !*stale && c->epoch == epoch && stamp->type == REDIS_REPLY_STRING &&
             stamp->len == HEADER_BYTES && memcmp(stamp->str, want, sizeof want) == 0;
        if (rc == 1)
            *stale_until = (int64_t)get_be64((const unsigned char *)stamp->str + 24);
    }
    if (view != NULL)
        freeReplyObject(view);
    if (stamp != NULL)
        freeReplyObject(stamp);
    return rc;
}

static int check_name(const char *name, struct error *err)
{
    size_t len = strlen(name);
    if (len == 0 || len >= GEN_NAME_MAX)
        return error_set(err, ERR_INVALID, "generation name '%s': expected 1 to %d bytes", name,
                         GEN_NAME_MAX - 1);
    return 0;
}

/* ---- the driver ---- */

static void rc_free(struct redis_cache *r)
{
    lru_free(r->near);
    free(r->user);
    free(r->password);
    free(r->prefix);
    free(r);
}

static int rc_open(const struct config *config, struct cache **out, struct error *err)
{
    *out = NULL;
    struct redis_cache *r = calloc(1, sizeof *r);
    if (r == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    r->base.driver = &cache_redis_driver;
    if (parse_url(r, config_get(config, "cache.url"), err) != 0)
        goto fail;
    const char *pwfile = config_get(config, "cache.password_file");
    if (pwfile[0] != '\0' && read_password_file(r, pwfile, err) != 0)
        goto fail;
    r->prefix = strdup(config_get(config, "cache.prefix"));
    if (r->prefix == NULL) {
        error_set(err, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    r->prefix_len = strlen(r->prefix);
    if (r->prefix_len > 200) {
        error_set(err, ERR_CONFIG, "cache.prefix: at most 200 bytes");
        goto fail;
    }
    r->connect_tv = tv_of_ms(config_int(config, "cache.connect_timeout"));
    r->command_tv = tv_of_ms(config_int(config, "cache.command_timeout"));
    r->max_bytes = (size_t)config_int(config, "cache.max_bytes");
    r->default_ttl = (unsigned)config_int(config, "cache.ttl");
    r->stale_ttl = (unsigned)config_int(config, "cache.stale_ttl");
    size_t local_max = (size_t)config_int(config, "cache.local_max_bytes");
    r->near = lru_new(local_max);
    r->near_on = local_max > 0;
    if (r->near == NULL) {
        error_set(err, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    atomic_init(&r->backoff_ms, BACKOFF_MIN_MS);
    if (pthread_key_create(&r->key, conn_destroy) != 0) {
        error_set(err, ERR_INTERNAL, "pthread_key_create failed");
        goto fail;
    }
    pthread_mutex_init(&r->mu, NULL);
    *out = &r->base;
    return 0;
fail:
    rc_free(r);
    return -1;
}

/* Threads that used the handle must have made their last call. */
static void rc_close(struct cache *cache)
{
    struct redis_cache *r = of(cache);
    pthread_key_delete(r->key);
    struct conn *c = r->conns;
    while (c != NULL) {
        struct conn *next = c->next;
        if (c->ctx != NULL)
            redisFree(c->ctx);
        free(c);
        c = next;
    }
    pthread_mutex_destroy(&r->mu);
    rc_free(r);
}

/* Whether an entry of the caller's stamp, fresh until fresh_until and stale
 * until stale_until (wall-clock ms), is CACHE_HIT, CACHE_STALE (another
 * caller, in any process, holds the refresh lease) or CACHE_MISS (past its
 * grace, or this caller just took the lease and refreshes it); -1 with err
 * set when the lease cannot be asked for. */
static int entry_state(struct redis_cache *r, struct conn *c, const char *key, int64_t fresh_until,
                       int64_t stale_until, struct error *err)
{
    int64_t now = lru_wall_ms();
    if (now < fresh_until)
        return CACHE_HIT;
    if (now >= stale_until)
        return CACHE_MISS;
    struct keybuf lk;
    if (make_key(r, "r:", key, &lk, err) != 0)
        return -1;
    int64_t until =
        now + CACHE_REFRESH_LEASE_MS < stale_until ? now + CACHE_REFRESH_LEASE_MS : stale_until;
    char now_s[24], until_s[24], px[24];
    snprintf(now_s, sizeof now_s, "%" PRId64, now);
    snprintf(until_s, sizeof until_s, "%" PRId64, until);
    snprintf(px, sizeof px, "%" PRId64, until - now);
    const char *argv[] = {"EVAL", claim_script, "1", lk.data, now_s, until_s, px};
    size_t lens[] = {4,         sizeof claim_script - 1, 1, lk.len, strlen(now_s), strlen(until_s),
                     strlen(px)};
    redisReply *rep = run(r, c, 7, argv, lens, err);
    free(lk.data);
    if (rep == NULL)
        return -1;
    int rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1 ? CACHE_MISS : CACHE_STALE;
    freeReplyObject(rep);
    return rc;
}

static void count_lookup(struct redis_cache *r, int rc)
{
    atomic_fetch_add(rc == CACHE_HIT ? &r->hits : rc == CACHE_STALE ? &r->stale : &r->misses, 1);
}

/* A hit hands out the near copy (lru.h): the one this thread's lookup just
 * validated, or one made from the entry the MGET brought, kept for the
 * next lookups when cache.local_max_bytes allows.  Near copies carry the
 * entry's fresh-until as their tag and live until its stale-until: whether
 * they are fresh or stale is always Redis' header's say (entry_state). */
static int rc_get_shared(struct cache *cache, const char *key, uint64_t generation,
                         struct cache_value **value, struct error *err)
{
    struct redis_cache *r = of(cache);
    *value = NULL;
    struct conn *c = prepare(r, err);
    if (c == NULL)
        return -1;
    struct keybuf ek;
    if (make_key(r, "e2:", key, &ek, err) != 0)
        return -1;
    bool stale;
    int rc = CACHE_MISS;
    struct cache_value *near = NULL;
    uint64_t tag = 0;
    /* Only with the epoch known: a view reset by an outage must first be
     * read again, and the full lookup below does that. */
    if (r->near_on && c->epoch_known)
        near = lru_get(r->near, key, c->epoch, generation, NULL, &tag);
    if (near != NULL) {
        int64_t stale_until = 0;
        rc = near_valid(r, c, &ek, c->epoch, generation, tag, &stale_until, &stale, err);
        if (rc == 1)
            rc = entry_state(r, c, key, (int64_t)tag, stale_until, err);
        else if (rc == 0 && !stale)
            rc = 3; /* Redis holds another entry (rewritten, refreshed) or none: fetch */
        if (rc == CACHE_HIT || rc == CACHE_STALE) {
            *value = near;
        } else {
            cache_value_release(near);
            if (stale) {
                c->refuse_set = true;
                c->refused_gen = generation;
            }
        }
        if (rc != 3) {
            free(ek.data);
            count_lookup(r, rc);
            return rc;
        }
        rc = CACHE_MISS;
    }
    redisReply *rep = read_view(r, c, &ek, true, &stale, err);
    free(ek.data);
    if (rep == NULL)
        return -1;
    const redisReply *e = rep->element[rep->elements - 1];
    if (stale) {
        c->refuse_set = true;
        c->refused_gen = generation;
    } else if (e->type == REDIS_REPLY_STRING && e->len >= HEADER_BYTES &&
               get_be64((const unsigned char *)e->str) == c->epoch &&
               get_be64((const unsigned char *)e->str + 8) == generation) {
        int64_t fresh_until = (int64_t)get_be64((const unsigned char *)e->str + 16);
        int64_t stale_until = (int64_t)get_be64((const unsigned char *)e->str + 24);
        rc = entry_state(r, c, key, fresh_until, stale_until, err);
        if (rc == CACHE_HIT || rc == CACHE_STALE) {
            /* The one copy of the body, kept near (when it fits) until the
             * entry's grace ends, and lent out. */
            struct lru_stamp st = {.a = c->epoch, .b = generation, .tag = (uint64_t)fresh_until};
            st.fresh_until_ms = st.stale_until_ms = lru_now_ms() + (stale_until - lru_wall_ms());
            if (lru_put(r->near, key, &st, e->str + HEADER_BYTES, e->len - HEADER_BYTES, value,
                        err) != 0)
                rc = -1;
        }
    }
    freeReplyObject(rep);
    count_lookup(r, rc);
    return rc;
}

static int rc_get(struct cache *cache, const char *key, uint64_t generation, char **value,
                  size_t *len, struct error *err)
{
    *value = NULL;
    *len = 0;
    struct cache_value *v;
    int rc = rc_get_shared(cache, key, generation, &v, err);
    if (rc <= 0)
        return rc;
    return cache_value_copy_out(v, value, len, err) == 0 ? rc : -1;
}

static int rc_set(struct cache *cache, const char *key, uint64_t generation, const char *value,
                  size_t len, unsigned ttl_seconds, struct error *err)
{
    struct redis_cache *r = of(cache);
    size_t klen = strlen(key);
    size_t total = HEADER_BYTES + len;
    if (total < len || total + klen + r->prefix_len > r->max_bytes)
        return 0;
    struct conn *c = prepare(r, err);
    if (c == NULL)
        return -1;
    if (c->refuse_set && c->refused_gen == generation) {
        c->refuse_set = false;
        return 0;
    }
    /* Reset by an outage and nothing read since: the caller's generation
     * predates the outage. */
    if (c->view_reset)
        return 0;
    if (!c->epoch_known) {
        bool stale;
        redisReply *rep = read_view(r, c, NULL, false, &stale, err);
        if (rep == NULL)
            return -1;
        freeReplyObject(rep);
    }
    struct keybuf epoch_key, ek, lk;
    if (make_key(r, "epoch", "", &epoch_key, err) != 0)
        return -1;
    if (make_key(r, "e2:", key, &ek, err) != 0) {
        free(epoch_key.data);
        return -1;
    }
    if (make_key(r, "r:", key, &lk, err) != 0) {
        free(epoch_key.data);
        free(ek.data);
        return -1;
    }
    int64_t ttl_ms = 1000 * (int64_t)(ttl_seconds ? ttl_seconds : r->default_ttl);
    int64_t grace_ms = 1000 * (int64_t)r->stale_ttl;
    int64_t fresh_until = lru_wall_ms() + ttl_ms;
    char *stamped = malloc(total);
    int rc = 0;
    if (stamped == NULL) {
        rc = error_set(err, ERR_INTERNAL, "out of memory");
    } else {
        put_be64((unsigned char *)stamped, c->epoch);
        put_be64((unsigned char *)stamped + 8, generation);
        put_be64((unsigned char *)stamped + 16, (uint64_t)fresh_until);
        put_be64((unsigned char *)stamped + 24, (uint64_t)(fresh_until + grace_ms));
        if (len)
            memcpy(stamped + HEADER_BYTES, value, len);
        char epoch[24], px[24];
        snprintf(epoch, sizeof epoch, "%" PRIu64, c->epoch);
        snprintf(px, sizeof px, "%" PRId64, ttl_ms + grace_ms);
        const char *argv[] = {"EVAL", set_script, "3", epoch_key.data, ek.data, lk.data,
                              epoch,  stamped,    px};
        size_t lens[] = {4,      sizeof set_script - 1, 1,     epoch_key.len, ek.len,
                         lk.len, strlen(epoch),         total, strlen(px)};
        redisReply *rep = run(r, c, 9, argv, lens, err);
        if (rep == NULL) {
            rc = -1;
        } else {
            /* 0: the epoch moved since this thread read it (an outage seen
             * elsewhere); nothing was written and the view is stale. */
            if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 0)
                conn_forget_view(c);
            else if (r->near_on && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
                /* Stored: kept near as well, so that the next lookup here
                 * need not bring the body back. */
                struct lru_stamp st = {
                    .a = c->epoch, .b = generation, .tag = (uint64_t)fresh_until};
                st.fresh_until_ms = st.stale_until_ms = lru_now_ms() + ttl_ms + grace_ms;
                rc = lru_put(r->near, key, &st, value, len, NULL, err);
            }
            freeReplyObject(rep);
        }
    }
    free(stamped);
    free(epoch_key.data);
    free(ek.data);
    free(lk.data);
    return rc;
}

static int rc_generation(struct cache *cache, const char *name, uint64_t *out, struct error *err)
{
    struct redis_cache *r = of(cache);
    if (check_name(name, err) != 0)
        return -1;
    struct conn *c = prepare(r, err);
    if (c == NULL)
        return -1;
    struct gen_view *g = view_find(c, name);
    if (g == NULL) {
        if (c->n_gens == VIEW_MAX) /* rare: many names; let the oldest go */
            memmove(&c->gens[0], &c->gens[1], (VIEW_MAX - 1) * sizeof c->gens[0]);
        else
            c->n_gens++;
        g = &c->gens[c->n_gens - 1];
        memset(g, 0, sizeof *g);
        memcpy(g->name, name, strlen(name) + 1);
    }
    if (!g->known) {
        /* Read now; the rest of the view is refreshed in passing. */
        bool stale;
        bool consulted = g->consulted;
        g->consulted = false;
        redisReply *rep = read_view(r, c, NULL, false, &stale, err);
        g->consulted = consulted;
        if (rep == NULL)
            return -1;
        freeReplyObject(rep);
    }
    g->consulted = true;
    *out = g->value;
    return 0;
}

static int rc_bump(struct cache *cache, const char *name, uint64_t *out, struct error *err)
{
    struct redis_cache *r = of(cache);
    if (check_name(name, err) != 0)
        return -1;
    struct conn *c = prepare(r, err);
    if (c == NULL) {
        note_outage(r); /* a lost bump: no entry cached until now may be trusted */
        return -1;
    }
    struct keybuf k;
    if (make_key(r, "gen:", name, &k, err) != 0)
        return -1;
    const char *argv[2] = {"INCR", k.data};
    size_t lens[2] = {4, k.len};
    redisReply *rep = run(r, c, 2, argv, lens, err);
    free(k.data);
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
        if (rep != NULL) {
            error_set(err, ERR_UNAVAILABLE, "redis %s:%d: INCR: unexpected reply", r->host,
                      r->port);
            freeReplyObject(rep);
        }
        note_outage(r);
        return -1;
    }
    uint64_t v = (uint64_t)rep->integer;
    freeReplyObject(rep);
    /* A value handed out before the bump is out of date: its get() misses. */
    struct gen_view *g = view_find(c, name);
    if (g != NULL) {
        g->poisoned = g->poisoned || g->consulted;
        g->value = v;
        g->known = true;
    }
    if (out != NULL)
        *out = v;
    return 0;
}

/* SCAN's MATCH pattern for every entry key: the prefix with glob
 * characters escaped, then "e2:*".  Caller frees. */
static char *entry_pattern(const struct redis_cache *r)
{
    char *p = malloc(2 * r->prefix_len + sizeof "e2:*");
    if (p == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->prefix_len; i++) {
        if (strchr("*?[]\\", r->prefix[i]) != NULL)
            p[n++] = '\\';
        p[n++] = r->prefix[i];
    }
    memcpy(p + n, "e2:*", sizeof "e2:*");
    return p;
}

static int rc_clear(struct cache *cache, struct error *err)
{
    struct redis_cache *r = of(cache);
    lru_clear(r->near); /* this process's copies go whether or not Redis answers */
    struct conn *c = prepare(r, err);
    if (c == NULL)
        return -1;
    char *pattern = entry_pattern(r);
    if (pattern == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    char cursor[32] = "0";
    int rc = 0;
    do {
        const char *argv[6] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        size_t lens[6] = {4, strlen(cursor), 5, strlen(pattern), 5, 4};
        redisReply *rep = run(r, c, 6, argv, lens, err);
        if (rep == NULL) {
            rc = -1;
            break;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING || rep->element[0]->len >= sizeof cursor ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(rep);
            rc = error_set(err, ERR_INTERNAL, "redis %s:%d: unexpected SCAN reply", r->host,
                           r->port);
            break;
        }
        memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
        cursor[rep->element[0]->len] = '\0';
        const redisReply *keys = rep->element[1];
        if (keys->elements > 0) {
            const char **argv2 = malloc((keys->elements + 1) * sizeof *argv2);
            size_t *lens2 = malloc((keys->elements + 1) * sizeof *lens2);
            if (argv2 == NULL || lens2 == NULL) {
                rc = error_set(err, ERR_INTERNAL, "out of memory");
            } else {
                argv2[0] = "UNLINK";
                lens2[0] = 6;
                for (size_t i = 0; i < keys->elements; i++) {
                    argv2[i + 1] = keys->element[i]->str;
                    lens2[i + 1] = keys->element[i]->len;
                }
                redisReply *del = run(r, c, (int)keys->elements + 1, argv2, lens2, err);
                if (del == NULL)
                    rc = -1;
                else
                    freeReplyObject(del);
            }
            free(argv2);
            free(lens2);
        }
        freeReplyObject(rep);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    free(pattern);
    return rc;
}

/* The number after "name:" in an INFO reply, or 0. */
static uint64_t info_field(const char *info, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = info; p != NULL && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return strtoull(p + n + 1, NULL, 10);
    }
    return 0;
}

/* hits and misses are this handle's; bytes, entries and evictions are the
 * Redis server's (used_memory, DBSIZE of the database, evicted_keys), since
 * the entries belong to every process sharing it.  Zeros when unreachable. */
static void rc_stats(struct cache *cache, struct cache_stats *out)
{
    struct redis_cache *r = of(cache);
    memset(out, 0, sizeof *out);
    out->hits = atomic_load(&r->hits);
    out->stale = atomic_load(&r->stale);
    out->misses = atomic_load(&r->misses);
    struct error err = {0};
    struct conn *c = prepare(r, &err);
    if (c == NULL)
        return;
    const char *info_argv[1] = {"INFO"};
    size_t info_len[1] = {4};
    redisReply *rep = run(r, c, 1, info_argv, info_len, &err);
    if (rep == NULL)
        return;
    if (rep->type == REDIS_REPLY_STRING) {
        out->bytes = info_field(rep->str, "used_memory");
        out->evictions = info_field(rep->str, "evicted_keys");
    }
    freeReplyObject(rep);
    const char *db_argv[1] = {"DBSIZE"};
    size_t db_len[1] = {6};
    rep = run(r, c, 1, db_argv, db_len, &err);
    if (rep == NULL)
        return;
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
        out->entries = (uint64_t)rep->integer;
    freeReplyObject(rep);
}

static int rc_health(struct cache *cache, struct error *err)
{
    struct redis_cache *r = of(cache);
    struct conn *c = prepare(r, err);
    if (c == NULL)
        return -1;
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    redisReply *rep = run(r, c, 1, argv, lens, err);
    if (rep == NULL)
        return -1;
    freeReplyObject(rep);
    return 0;
}

const struct cache_driver cache_redis_driver = {
    .name = "redis",
    .description = "Redis (cache.url) shared by every process; entries stamped with their "
                   "generation, checked in the lookup's round trip",
    .open = rc_open,
    .close = rc_close,
    .get = rc_get,
    .get_shared = rc_get_shared,
    .set = rc_set,
    .generation = rc_generation,
    .bump = rc_bump,
    .clear = rc_clear,
    .stats = rc_stats,
    .health = rc_health,
};
