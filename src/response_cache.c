/*
 * response_cache - the cache lookup before a GET handler runs and the store
 * after it.  The key is built in the caller's buffer (no allocation) and a
 * hit lends the driver's stored value to the response (get_shared; drivers
 * without it hand over a copy), so a cached GET from the memory cache costs
 * a key, two atomic loads and no copy of the body.
 */
#include "response_cache.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define API_PREFIX "/api/v1/"
#define SEARCH_PREFIX "/api/v1/search/"

/* Whether the cache failed on its last use.  A Redis outage fails every
 * request; one warning when it starts and one line when it ends say all
 * there is to say, where a line per request would flood the log.  One
 * flag for the process: a process has one response cache. */
static atomic_bool cache_failing;

static void note_failure(const struct error *err)
{
    if (!atomic_exchange(&cache_failing, true))
        log_msg(LOG_WARN, "cache: %s; serving uncached until it answers again",
                err->message[0] ? err->message : "failed");
}

static void note_success(void)
{
    /* A load first: the common case (no outage) stays a plain read. */
    if (atomic_load_explicit(&cache_failing, memory_order_relaxed) &&
        atomic_exchange(&cache_failing, false))
        log_msg(LOG_INFO, "cache: answering again");
}

enum response_cache_scope response_cache_scope(const struct route *route,
                                               const struct http_request *req)
{
    if (route == NULL || (req->method != HTTP_GET && req->method != HTTP_HEAD))
        return RESPONSE_CACHE_NONE;
    /* Only the catalog API: operational routes report live state. */
    if (strncmp(route->pattern, API_PREFIX, sizeof API_PREFIX - 1) != 0)
        return RESPONSE_CACHE_NONE;
    if (strncmp(route->pattern, SEARCH_PREFIX, sizeof SEARCH_PREFIX - 1) == 0)
        return RESPONSE_CACHE_SEARCH;
    /* q on a list is answered from the index, so it moves with it too. */
    if (req->query != NULL && query_params_get(req->query, "q") != NULL)
        return RESPONSE_CACHE_SEARCH;
    return RESPONSE_CACHE_CATALOG;
}

const char *response_cache_class(const struct caller *caller)
{
    return caller->staff ? "staff" : "public";
}

struct keybuf {
    char *p;
    size_t len, size;
    bool overflow;
};

static void put_raw(struct keybuf *b, const char *s, size_t n)
{
    if (b->overflow || n >= b->size - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static bool unreserved(unsigned char c, bool keep_slash)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
}

/* Appends s percent-encoded the one canonical way.  Runs of unreserved
 * bytes (nearly all of a path) are copied at once, not byte by byte. */
static void put_encoded(struct keybuf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *c = (const unsigned char *)s;
    while (*c != '\0' && !b->overflow) {
        const unsigned char *run = c;
        while (*c != '\0' && unreserved(*c, keep_slash))
            c++;
        if (c > run)
            put_raw(b, (const char *)run, (size_t)(c - run));
        if (*c != '\0') {
            char esc[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            put_raw(b, esc, 3);
            c++;
        }
    }
}

int response_cache_key(const struct route *route, const struct http_request *req, char *buf,
                       size_t size)
{
    if (size == 0)
        return -1;
    size_t n = req->query != NULL ? req->query->count : 0;
    if (n > RESPONSE_CACHE_MAX_PARAMS)
        return -1;
    /* Insertion sort by name only: stable, so repeats keep their order,
     * and quick for the handful of parameters a request carries. */
    const struct query_param *order[RESPONSE_CACHE_MAX_PARAMS];
    for (size_t i = 0; i < n; i++) {
        const struct query_param *p = &req->query->items[i];
        size_t j = i;
        while (j > 0 && strcmp(order[j - 1]->name, p->name) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = p;
    }

    struct keybuf b = {.p = buf, .size = size};
    const char *cls = response_cache_class(&req->caller);
    put_raw(&b, cls, strlen(cls));
    put_raw(&b, "|", 1);
    put_raw(&b, route->name, strlen(route->name));
    put_raw(&b, "|", 1);
    put_encoded(&b, req->path, true);
    for (size_t i = 0; i < n; i++) {
        put_raw(&b, i == 0 ? "?" : "&", 1);
        put_encoded(&b, order[i]->name, false);
        put_raw(&b, "=", 1);
        put_encoded(&b, order[i]->value, false);
    }
    if (b.overflow) {
        buf[0] = '\0';
        return -1;
    }
    buf[b.len] = '\0';
    return (int)b.len;
}

int response_cache_generation(struct cache *cache, enum response_cache_scope scope, uint64_t *out,
                              struct error *err)
{
    uint64_t catalog = 0, index = 0;
    if (cache->driver->generation(cache, "catalog", &catalog, err) != 0)
        return -1;
    if (scope == RESPONSE_CACHE_SEARCH) {
        if (cache->driver->generation(cache, "index", &index, err) != 0)
            return -1;
        *out = (index << 32) | (catalog & UINT64_C(0xffffffff));
        return 0;
    }
    *out = catalog;
    return 0;
}

static void release_shared(void *cls)
{
    cache_value_release(cls);
}

static int lookup(struct cache *cache, const struct route *route, const struct http_request *req,
                  struct response_cache_probe *probe, struct http_response *resp, bool lending)
{
    probe->active = false;
    probe->hit = false;
    probe->stale = false;
    probe->refresh = false;
    if (cache == NULL)
        return 0;
    enum response_cache_scope scope = response_cache_scope(route, req);
    if (scope == RESPONSE_CACHE_NONE)
        return 0;
    if (response_cache_key(route, req, probe->key, sizeof probe->key) < 0)
        return 0;
    /* The generation is read before the handler reads the store: a write
     * that commits in between bumps it, so what the handler read is stored
     * under a generation no later lookup asks for. */
    struct error err = {0};
    if (response_cache_generation(cache, scope, &probe->generation, &err) != 0) {
        note_failure(&err);
        return 0;
    }
    char *value = NULL;
    size_t len = 0;
    struct cache_value *shared = NULL;
    int rc;
    if (lending && cache->driver->get_shared_lending != NULL)
        rc = cache->driver->get_shared_lending(cache, probe->key, probe->generation, &shared, &err);
    else if (cache->driver->get_shared != NULL)
        rc = cache->driver->get_shared(cache, probe->key, probe->generation, &shared, &err);
    else
        rc = cache->driver->get(cache, probe->key, probe->generation, &value, &len, &err);
    if (rc < 0) {
        note_failure(&err);
        return 0; /* serve uncached, store nothing */
    }
    note_success();
    if (rc == CACHE_MISS) {
        probe->active = true;
        return 0;
    }
    http_response_free_body(resp);
    resp->status = 200;
    if (shared != NULL) {
        /* Borrowed: the entry's own bytes, given back once sent. */
        resp->body = (char *)(uintptr_t)shared->data;
        resp->body_len = shared->len;
        resp->body_release = release_shared;
        resp->body_cls = shared;
    } else {
        resp->body = value;
        resp->body_len = len;
    }
    resp->content_type = NULL;
    probe->hit = true;
    probe->stale = rc == CACHE_STALE || rc == CACHE_REFRESH;
    probe->refresh = probe->active = rc == CACHE_REFRESH;
    return 1;
}

int response_cache_lookup(struct cache *cache, const struct route *route,
                          const struct http_request *req, struct response_cache_probe *probe,
                          struct http_response *resp)
{
    return lookup(cache, route, req, probe, resp, false);
}

int response_cache_lookup_lending(struct cache *cache, const struct route *route,
                                  const struct http_request *req,
                                  struct response_cache_probe *probe, struct http_response *resp)
{
    return lookup(cache, route, req, probe, resp, true);
}

void response_cache_store(struct cache *cache, const struct response_cache_probe *probe,
                          const struct http_response *resp)
{
    if (cache == NULL || !probe->active)
        return;
    /* Only plain JSON 200s: a hit is replayed as exactly that. */
    if (resp->status != 200 || resp->content_type != NULL || resp->body == NULL ||
        resp->location[0] != '\0' || resp->allow[0] != '\0')
        return;
    struct error err = {0};
    /* ttl 0: the driver's cache.ttl. */
    if (cache->driver->set(cache, probe->key, probe->generation, resp->body, resp->body_len, 0,
                           &err) != 0)
        note_failure(&err);
}
