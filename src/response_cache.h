/*
 * response_cache - GET responses served from the cache by generation
 * (design.md, "Cache by generation").
 *
 * A response is cached under a key made of the canonical request (the
 * caller's visibility class, the route, the path, the query parameters
 * sorted by name and re-encoded canonically) and stamped with a
 * generation: the "catalog" counter for store-backed routes, the "catalog"
 * and "index" counters together for search (routes under /api/v1/search/
 * and any request with a q parameter).  The counters are read from the
 * cache driver at every lookup, so a write committed by any process that
 * shares the store (after_commit bumps them) makes every older entry a
 * miss.  An entry past cache.ttl but of the current generation may be
 * served for cache.stale_ttl more while one request recomputes it
 * (cache.h, "Stale while revalidate").  Only 200 JSON responses are stored; operational routes
 * (/health/, /healthz, /readyz, /metrics) and anything but GET/HEAD never are.  A cache that fails
 * is bypassed: the request is served uncached, never refused.
 */
#ifndef CATALOGD_RESPONSE_CACHE_H
#define CATALOGD_RESPONSE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "http.h"
#include "http_router.h"

/* Longest key kept; a request whose key is longer is served uncached. */
#define RESPONSE_CACHE_KEY_MAX 4096
/* More query parameters than this and the request is served uncached. */
#define RESPONSE_CACHE_MAX_PARAMS 64

enum response_cache_scope {
    RESPONSE_CACHE_NONE,    /* never cached */
    RESPONSE_CACHE_CATALOG, /* read from the store: the "catalog" generation */
    RESPONSE_CACHE_SEARCH,  /* read from the index: "catalog" and "index" */
};

/* Which generations a response to req on route depends on, or NONE when it
 * must not be cached. */
enum response_cache_scope response_cache_scope(const struct route *route,
                                               const struct http_request *req);

/* The caller's visibility class, part of every key: responses differ by
 * what a caller may see.  A static string. */
const char *response_cache_class(const struct caller *caller);

/* Writes the canonical key of req on route into buf (NUL-terminated).
 * Query parameters are ordered by name with a stable sort, so repeats of
 * one name keep their order (handlers read the first, and lists read them
 * in order); names and values are re-encoded the one way (every byte but
 * A-Z a-z 0-9 - . _ ~ as %XX, upper case), so spellings that decode alike
 * meet.  Returns the key's length, or -1 when it does not fit in size or
 * the request has more than RESPONSE_CACHE_MAX_PARAMS parameters. */
int response_cache_key(const struct route *route, const struct http_request *req, char *buf,
                       size_t size);

/* The generation for scope: "catalog" alone, or "catalog" and "index"
 * folded into one value (index in the high 32 bits, catalog in the low 32,
 * so equal values mean equal counters unless 2^32 writes happen within one
 * entry's TTL).  Returns 0, or -1 with err set when the driver fails. */
int response_cache_generation(struct cache *cache, enum response_cache_scope scope, uint64_t *out,
                              struct error *err);

/* One request's passage through the cache, kept between lookup and store. */
struct response_cache_probe {
    bool active; /* looked up and missed: store the response afterwards */
    bool hit;
    bool stale; /* the hit is past its TTL, in its grace (X-Cache: stale) */
    /* response_cache_lookup_lending only: the stale hit is this request's
     * to refresh (active is set too): recompute it off the request and
     * response_cache_store the result under this probe. */
    bool refresh;
    uint64_t generation;
    char key[RESPONSE_CACHE_KEY_MAX];
};

/* Looks the request up.  Returns 1 on a hit (probe->stale when the driver
 * served it stale while another request refreshes it), with resp filled
 * (status 200;
 * the body either malloc'd, or borrowed from the cache with
 * resp->body_release set, so give it up with http_response_free_body or by
 * sending it); 0 otherwise, with
 * probe->active true when the response should be offered to
 * response_cache_store afterwards (a miss, or a stale entry this request
 * was elected to refresh).  cache may be NULL (no cache: 0).  A cache
 * failure is a miss that is not stored. */
int response_cache_lookup(struct cache *cache, const struct route *route,
                          const struct http_request *req, struct response_cache_probe *probe,
                          struct http_response *resp);

/* response_cache_lookup for a caller that can recompute later: a stale
 * entry this request is elected to refresh is served too (1, with
 * probe->stale, probe->refresh and probe->active set), where
 * response_cache_lookup would miss, when the driver can lend it
 * (get_shared_lending: memory; otherwise as response_cache_lookup). */
int response_cache_lookup_lending(struct cache *cache, const struct route *route,
                                  const struct http_request *req,
                                  struct response_cache_probe *probe, struct http_response *resp);

/* Stores resp under the probe's key and generation when the probe is
 * active and resp is a 200 JSON response with no Location or Allow header.
 * resp is only read.  Cache failures are ignored (the next lookup misses). */
void response_cache_store(struct cache *cache, const struct response_cache_probe *probe,
                          const struct http_response *resp);

#endif
