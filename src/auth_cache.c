/*
 * auth_cache - a set-associative table of accepted Authorization headers
 * (a copy of each, compared whole) with the identity each stands for.  The
 * set is chosen by a fast non-cryptographic hash: only accepted tokens are
 * stored, so nobody can fill a set with crafted collisions, and equality
 * is decided by the bytes themselves.
 */
#include "auth_cache.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

#define WAYS 4

struct entry {
    char *header; /* malloc'd copy; NULL when the way is free */
    size_t len;
    uint64_t hash;
    bool used;
    time_t until;
    uint64_t last_use; /* the set's clock at the last hit or store */
    struct auth_identity id;
};

struct set {
    pthread_mutex_t lock;
    uint64_t clock;
    struct entry ways[WAYS];
};

struct auth_cache {
    size_t n_sets;
    struct set sets[];
};

/* Frees a way's copy, wiping it: a live token need not linger in freed
 * memory. */
static void drop(struct entry *e)
{
    if (e->header != NULL) {
        memset(e->header, 0, e->len);
        free(e->header);
    }
    e->header = NULL;
    e->len = 0;
    e->used = false;
}

struct auth_cache *auth_cache_new(size_t entries)
{
    size_t n_sets = (entries + WAYS - 1) / WAYS;
    if (n_sets == 0)
        n_sets = 1;
    struct auth_cache *c = calloc(1, sizeof *c + n_sets * sizeof c->sets[0]);
    if (c == NULL)
        return NULL;
    c->n_sets = n_sets;
    for (size_t i = 0; i < n_sets; i++)
        pthread_mutex_init(&c->sets[i].lock, NULL);
    return c;
}

void auth_cache_free(struct auth_cache *cache)
{
    if (cache == NULL)
        return;
    for (size_t i = 0; i < cache->n_sets; i++) {
        pthread_mutex_destroy(&cache->sets[i].lock);
        for (int w = 0; w < WAYS; w++)
            drop(&cache->sets[i].ways[w]);
    }
    free(cache);
}

/* FNV-1a: the header is already in cache, a few hundred bytes. */
static uint64_t hash_of(const char *s, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static bool same(const struct entry *e, const char *header, size_t len, uint64_t hash)
{
    return e->used && e->hash == hash && e->len == len && memcmp(e->header, header, len) == 0;
}

bool auth_cache_get(struct auth_cache *cache, const char *authorization, time_t now,
                    struct auth_identity *out)
{
    if (cache == NULL || authorization == NULL || authorization[0] == '\0')
        return false;
    size_t len = strnlen(authorization, AUTH_CACHE_MAX_HEADER + 1);
    if (len > AUTH_CACHE_MAX_HEADER)
        return false;
    uint64_t hash = hash_of(authorization, len);
    struct set *s = &cache->sets[hash % cache->n_sets];
    bool hit = false;
    pthread_mutex_lock(&s->lock);
    for (int w = 0; w < WAYS; w++) {
        struct entry *e = &s->ways[w];
        if (!same(e, authorization, len, hash))
            continue;
        if (now >= e->until) {
            drop(e); /* expired: the caller verifies again */
            break;
        }
        e->last_use = ++s->clock;
        *out = e->id;
        hit = true;
        break;
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

void auth_cache_put(struct auth_cache *cache, const char *authorization, time_t now,
                    const struct auth_identity *id)
{
    if (cache == NULL || authorization == NULL || authorization[0] == '\0')
        return;
    size_t len = strnlen(authorization, AUTH_CACHE_MAX_HEADER + 1);
    if (len > AUTH_CACHE_MAX_HEADER)
        return;
    time_t exp;
    if (auth_cache_token_exp(authorization, &exp) != 0 || exp <= now)
        return;
    time_t until = now + AUTH_CACHE_MAX_AGE < exp ? now + AUTH_CACHE_MAX_AGE : exp;
    uint64_t hash = hash_of(authorization, len);
    struct set *s = &cache->sets[hash % cache->n_sets];
    /* The copy is made outside the lock. */
    char *copy = malloc(len);
    if (copy == NULL)
        return;
    memcpy(copy, authorization, len);
    pthread_mutex_lock(&s->lock);
    /* The same token again, else a free way, else the least recently used. */
    struct entry *victim = &s->ways[0];
    for (int w = 0; w < WAYS; w++) {
        struct entry *e = &s->ways[w];
        if (same(e, authorization, len, hash)) {
            victim = e;
            break;
        }
        if (!e->used) {
            if (victim->used)
                victim = e;
        } else if (victim->used && e->last_use < victim->last_use) {
            victim = e;
        }
    }
    drop(victim);
    victim->header = copy;
    victim->len = len;
    victim->hash = hash;
    victim->used = true;
    victim->until = until;
    victim->last_use = ++s->clock;
    victim->id = *id;
    pthread_mutex_unlock(&s->lock);
}

int auth_cache_token_exp(const char *authorization, time_t *exp)
{
    const char *p = authorization + strspn(authorization, " \t");
    p += strcspn(p, " \t"); /* the scheme */
    p += strspn(p, " \t");
    const char *dot1 = strchr(p, '.');
    const char *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL)
        return -1;
    size_t len = (size_t)(dot2 - dot1 - 1);
    unsigned char *buf = malloc(len / 4 * 3 + 4);
    if (buf == NULL)
        return -1;
    long n = jwt_base64url_decode(dot1 + 1, len, buf, len / 4 * 3 + 4);
    int rc = -1;
    json_t *payload = n >= 0 ? json_loadb((const char *)buf, (size_t)n, 0, NULL) : NULL;
    json_t *e = json_object_get(payload, "exp");
    if (json_is_number(e) && json_number_value(e) > 0 && json_number_value(e) < 253402300800.0) {
        *exp = (time_t)json_number_value(e);
        rc = 0;
    }
    json_decref(payload);
    free(buf);
    return rc;
}
