/*
 * rate_limit - the in-memory token-bucket limiter and the trusted-proxy
 * client address.
 *
 * The table is split into stripes, each with its own mutex, hash chains
 * and LRU list, so that threads rarely wait for each other and eviction
 * is O(1).  Each stripe holds at most max_keys / stripes buckets.
 */
#include "rate_limit.h"

#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define RL_MAX_KEY 256 /* longer keys are cut (subjects are <= 127) */
#define RL_STRIPES 64

struct rl_entry {
    struct rl_entry *chain;         /* next in hash chain */
    struct rl_entry *newer, *older; /* LRU list */
    uint64_t hash;
    double tokens;
    double last;
    unsigned char cls;
    char key[];
};

struct rl_stripe {
    pthread_mutex_t lock;
    struct rl_entry **slots;
    size_t n_slots; /* a power of two */
    size_t count, cap;
    struct rl_entry *newest, *oldest;
};

struct memory_limiter {
    struct rate_limiter base;
    struct rl_config config;
    uint64_t seed;
    size_t n_stripes;
    struct rl_stripe stripes[];
};

void rl_config_defaults(struct rl_config *config)
{
    memset(config, 0, sizeof *config);
    config->limits[RL_ANONYMOUS] = RL_DEFAULT_ANONYMOUS;
    config->limits[RL_AUTHENTICATED] = RL_DEFAULT_AUTHENTICATED;
    config->limits[RL_STAFF] = RL_DEFAULT_STAFF;
    config->max_keys = RL_DEFAULT_MAX_KEYS;
}

static double monotonic_now(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a with a per-process random seed, so that chosen keys cannot pile
 * into one chain. */
static uint64_t key_hash(uint64_t seed, const char *key, size_t len, enum rl_class cls)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    h ^= (uint64_t)cls + 1;
    h *= 1099511628211ULL;
    return h ^ (h >> 29);
}

static void lru_unlink(struct rl_stripe *s, struct rl_entry *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(struct rl_stripe *s, struct rl_entry *e)
{
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest != NULL)
        s->newest->newer = e;
    s->newest = e;
    if (s->oldest == NULL)
        s->oldest = e;
}

static void evict_oldest(struct rl_stripe *s)
{
    struct rl_entry *victim = s->oldest;
    struct rl_entry **pp = &s->slots[victim->hash & (s->n_slots - 1)];
    while (*pp != victim)
        pp = &(*pp)->chain;
    *pp = victim->chain;
    lru_unlink(s, victim);
    s->count--;
    free(victim);
}

/* The bucket for key in s, created full when absent; NULL when out of
 * memory.  Called with s->lock held. */
static struct rl_entry *bucket(struct rl_stripe *s, uint64_t hash, const char *key, size_t len,
                               enum rl_class cls, const struct rl_limit *limit, double now)
{
    struct rl_entry **slot = &s->slots[hash & (s->n_slots - 1)];
    for (struct rl_entry *e = *slot; e != NULL; e = e->chain) {
        if (e->hash == hash && e->cls == cls && strncmp(e->key, key, len) == 0 &&
            e->key[len] == '\0') {
            lru_unlink(s, e);
            lru_push(s, e);
            return e;
        }
    }
    if (s->count >= s->cap)
        evict_oldest(s);
    struct rl_entry *e = malloc(sizeof *e + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->key, key, len);
    e->key[len] = '\0';
    e->hash = hash;
    e->cls = (unsigned char)cls;
    e->tokens = limit->burst;
    e->last = now;
    /* Re-read the slot: eviction may have changed this very chain. */
    slot = &s->slots[hash & (s->n_slots - 1)];
    e->chain = *slot;
    *slot = e;
    lru_push(s, e);
    s->count++;
    return e;
}

static int memory_check(struct rate_limiter *rl, const char *key, enum rl_class cls,
                        struct rl_decision *d, struct error *err)
{
    struct memory_limiter *m = (struct memory_limiter *)rl;
    memset(d, 0, sizeof *d);
    if ((unsigned)cls >= RL_N_CLASSES)
        return error_set(err, ERR_INTERNAL, "rate limit class %d unknown", (int)cls);
    const struct rl_limit *limit = &m->config.limits[cls];
    if (limit->rate <= 0) {
        d->allowed = true;
        d->remaining = -1;
        return 0;
    }
    if (key == NULL)
        key = "";
    size_t len = strnlen(key, RL_MAX_KEY);
    uint64_t hash = key_hash(m->seed, key, len, cls);
    struct rl_stripe *s = &m->stripes[(hash >> 40) % m->n_stripes];
    double now = m->config.now(m->config.now_arg);

    pthread_mutex_lock(&s->lock);
    struct rl_entry *e = bucket(s, hash, key, len, cls, limit, now);
    if (e == NULL) {
        pthread_mutex_unlock(&s->lock);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    /* A clock that goes backwards (injected in tests) refills nothing. */
    if (now > e->last)
        e->tokens = fmin(limit->burst, e->tokens + (now - e->last) * limit->rate);
    e->last = now;
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
        d->allowed = true;
        d->remaining = (long)floor(e->tokens);
    } else {
        double wait = (1.0 - e->tokens) / limit->rate;
        double secs = ceil(wait);
        d->retry_after = secs < 1 ? 1 : secs > 86400 ? 86400 : (unsigned)secs;
        d->remaining = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static size_t memory_size(struct rate_limiter *rl)
{
    struct memory_limiter *m = (struct memory_limiter *)rl;
    size_t total = 0;
    for (size_t i = 0; i < m->n_stripes; i++) {
        pthread_mutex_lock(&m->stripes[i].lock);
        total += m->stripes[i].count;
        pthread_mutex_unlock(&m->stripes[i].lock);
    }
    return total;
}

static void memory_free(struct rate_limiter *rl)
{
    struct memory_limiter *m = (struct memory_limiter *)rl;
    for (size_t i = 0; i < m->n_stripes; i++) {
        struct rl_stripe *s = &m->stripes[i];
        while (s->oldest != NULL)
            evict_oldest(s);
        free(s->slots);
        pthread_mutex_destroy(&s->lock);
    }
    free(m);
}

static const struct rate_limiter_ops memory_ops = {
    .name = "memory",
    .check = memory_check,
    .size = memory_size,
    .free = memory_free,
};

int rate_limiter_memory_new(const struct rl_config *config, struct rate_limiter **out,
                            struct error *err)
{
    static const char *const class_names[RL_N_CLASSES] = {"anonymous", "authenticated", "staff"};
    *out = NULL;
    for (int c = 0; c < RL_N_CLASSES; c++) {
        const struct rl_limit *l = &config->limits[c];
        if (l->rate > 0 && (l->burst < 1 || !isfinite(l->burst) || !isfinite(l->rate)))
            return error_set(err, ERR_CONFIG, "rate limit %s: burst must be at least 1",
                             class_names[c]);
    }
    size_t max_keys = config->max_keys == 0 ? RL_DEFAULT_MAX_KEYS : config->max_keys;
    if (max_keys < 16 || max_keys > 100000000)
        return error_set(err, ERR_CONFIG, "rate limit table size must be 16 to 100000000");
    /* Small tables keep one stripe so that the bound is exact. */
    size_t n_stripes = max_keys >= 64 * RL_STRIPES ? RL_STRIPES : 1;
    struct memory_limiter *m = calloc(1, sizeof *m + n_stripes * sizeof m->stripes[0]);
    if (m == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    m->base.ops = &memory_ops;
    m->config = *config;
    if (m->config.now == NULL)
        m->config.now = monotonic_now;
    m->config.max_keys = max_keys;
    if (getrandom(&m->seed, sizeof m->seed, GRND_NONBLOCK) != (ssize_t)sizeof m->seed)
        m->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)m;
    m->n_stripes = n_stripes;
    size_t cap = max_keys / n_stripes;
    size_t n_slots = 16;
    while (n_slots < cap)
        n_slots *= 2;
    for (size_t i = 0; i < n_stripes; i++) {
        struct rl_stripe *s = &m->stripes[i];
        pthread_mutex_init(&s->lock, NULL);
        s->cap = cap;
        s->n_slots = n_slots;
        s->slots = calloc(n_slots, sizeof *s->slots);
        if (s->slots == NULL) {
            m->n_stripes = i + 1;
            memory_free(&m->base);
            return error_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    *out = &m->base;
    return 0;
}

/* ---- trusted proxies ---- */

struct cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
};

struct trusted_proxies {
    size_t n;
    struct cidr blocks[];
};

/* Parses addr into family/bytes, folding IPv4-mapped IPv6 into IPv4. */
static bool parse_addr(const char *text, int *family, unsigned char bytes[16])
{
    if (inet_pton(AF_INET, text, bytes) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, bytes) != 1)
        return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(bytes, mapped, 12) == 0) {
        memmove(bytes, bytes + 12, 4);
        *family = AF_INET;
    } else {
        *family = AF_INET6;
    }
    return true;
}

static bool parse_cidr(const char *text, struct cidr *c)
{
    char buf[64];
    size_t len = strlen(text);
    if (len >= sizeof buf)
        return false;
    memcpy(buf, text, len + 1);
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    if (!parse_addr(buf, &c->family, c->addr))
        return false;
    int max = c->family == AF_INET ? 32 : 128;
    c->prefix = max;
    if (slash != NULL) {
        char *end;
        const char *digits = slash + 1;
        if (*digits < '0' || *digits > '9')
            return false;
        long p = strtol(digits, &end, 10);
        if (*end != '\0' || p < 0 || p > max)
            return false;
        c->prefix = (int)p;
    }
    return true;
}

int trusted_proxies_parse(const char *list, struct trusted_proxies **out, struct error *err)
{
    *out = NULL;
    size_t max = 1;
    for (const char *p = list; *p != '\0'; p++)
        max += *p == ',' || *p == ' ';
    struct trusted_proxies *tp = calloc(1, sizeof *tp + max * sizeof tp->blocks[0]);
    if (tp == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    const char *p = list;
    while (*p != '\0') {
        p += strspn(p, ", \t");
        size_t len = strcspn(p, ", \t");
        if (len == 0)
            break;
        char item[64];
        if (len >= sizeof item ||
            (memcpy(item, p, len), item[len] = '\0', !parse_cidr(item, &tp->blocks[tp->n]))) {
            free(tp);
            return error_set(err, ERR_CONFIG, "trusted proxy %.*s is not an address or CIDR block",
                             (int)(len > 64 ? 64 : len), p);
        }
        tp->n++;
        p += len;
    }
    *out = tp;
    return 0;
}

void trusted_proxies_free(struct trusted_proxies *tp)
{
    free(tp);
}

static bool block_contains(const struct cidr *c, int family, const unsigned char *bytes)
{
    if (c->family != family)
        return false;
    int full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, bytes, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (bytes[full] & mask);
}

bool trusted_proxies_contains(const struct trusted_proxies *tp, const char *addr)
{
    int family;
    unsigned char bytes[16];
    if (tp == NULL || addr == NULL || !parse_addr(addr, &family, bytes))
        return false;
    for (size_t i = 0; i < tp->n; i++)
        if (block_contains(&tp->blocks[i], family, bytes))
            return true;
    return false;
}

static void copy_out(char *out, size_t size, const char *text, size_t len)
{
    if (size == 0)
        return;
    if (len >= size)
        len = size - 1;
    memcpy(out, text, len);
    out[len] = '\0';
}

void client_ip_pick(const struct trusted_proxies *tp, const char *peer, const char *xff, char *out,
                    size_t size)
{
    if (peer == NULL)
        peer = "";
    copy_out(out, size, peer, strlen(peer));
    if (xff == NULL || !trusted_proxies_contains(tp, peer))
        return;
    /* Walk from the right: each entry was appended by the hop to its right,
     * which we trust so far. */
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t a = start, b = end;
        while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
            a++;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        char item[64];
        if (b - a == 0 || b - a >= sizeof item)
            return;
        memcpy(item, xff + a, b - a);
        item[b - a] = '\0';
        int family;
        unsigned char bytes[16];
        if (!parse_addr(item, &family, bytes))
            return;
        copy_out(out, size, item, b - a);
        if (!trusted_proxies_contains(tp, item))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}
