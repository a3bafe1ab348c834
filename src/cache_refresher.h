/*
 * cache_refresher - recomputes stale cached responses on a thread of its
 * own, so that an expiry never holds a request, or a worker.
 *
 * When a cached GET expires (past cache.ttl, within cache.stale_ttl) one
 * request is elected to refresh it.  Computed on that request's worker,
 * the refresh held the worker's other connections as long as it took
 * (about 80 ms for a list page of the 100k catalog): the slow first round
 * of the bench's cached list.  Instead that request is answered with the
 * stale bytes like the others (response_cache_lookup_lending) and the
 * page is queued here, recomputed and stored.
 */
#ifndef CATALOGD_CACHE_REFRESHER_H
#define CATALOGD_CACHE_REFRESHER_H

#include <stdbool.h>

#include "app.h"
#include "error.h"
#include "http.h"
#include "http_router.h"
#include "response_cache.h"

/* Jobs waiting at most; past it a refresh is dropped (its lease lapses
 * after CACHE_REFRESH_LEASE_MS and a later request is elected again). */
#define CACHE_REFRESHER_QUEUE 64

struct cache_refresher;

/* Starts the refresher thread over app (borrowed: it must outlive the
 * refresher).  *out is owned by the caller (cache_refresher_stop). */
int cache_refresher_start(struct app *app, struct cache_refresher **out, struct error *err);

/* Queues the recomputation of req (a GET of route with params) under
 * probe (its refresh lease); everything is copied.  false when the queue
 * is full or out of memory: nothing is queued. */
bool cache_refresher_queue(struct cache_refresher *r, const struct route *route,
                           const struct route_params *params, const struct http_request *req,
                           const char *raw_query, const struct response_cache_probe *probe);

/* Waits until every queued refresh is done (for tests). */
void cache_refresher_flush(struct cache_refresher *r);

/* Drops what is still queued, finishes the refresh under way, stops the
 * thread and frees r (NULL: nothing). */
void cache_refresher_stop(struct cache_refresher *r);

#endif
