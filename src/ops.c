/*
 * ops - the endpoints a load balancer and Prometheus call: liveness
 * (/health/, /healthz), readiness (/readyz: the store answers, and which
 * optional backend does not; with search, also the index lag: outbox
 * changes not yet in the index) and metrics (/metrics).
 */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indexer.h"
#include "log.h"
#include "metrics.h"

void ops_health(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp)
{
    (void)app;
    (void)req;
    (void)route;
    (void)params;
    http_respond_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/* A backend the API can do without: marked unavailable and named in
 * degraded, so that /readyz still answers 200 (docs/modes.md, "Faults"). */
static void note_degraded(struct app *app, json_t *backends, json_t *degraded, const char *name,
                          const struct error *err)
{
    json_object_set_new(backends, name, json_string("unavailable"));
    json_array_append_new(degraded, json_string(name));
    log_msg(LOG_WARN, "readyz: %s: %s", name, err->message);
    metrics_count_backend_error(app->metrics, name);
}

/* Ready: every backend answers.  Degraded (still 200): the store answers
 * but the cache (requests served uncached) or the search backend (search
 * endpoints answer 503) does not; a load balancer should keep sending
 * traffic, a monitor should page.  Unavailable (503): the store, without
 * which nothing can be answered. */
void ops_ready(struct app *app, const struct http_request *req, const struct route *route,
               const struct route_params *params, struct http_response *resp)
{
    (void)req;
    (void)route;
    (void)params;
    json_t *backends = json_object();
    json_t *degraded = json_array();
    bool store_ok = true;
    struct error err = {0};
    if (app->store == NULL || store_health(app->store, &err) != 0) {
        store_ok = false;
        json_object_set_new(backends, "store", json_string("unavailable"));
        log_msg(LOG_WARN, "readyz: store: %s", app->store == NULL ? "not open" : err.message);
        metrics_count_backend_error(app->metrics, "store");
    } else {
        json_object_set_new(backends, "store", json_string("ok"));
    }
    if (app->cache != NULL) {
        error_clear(&err);
        if (app->cache->driver->health(app->cache, &err) != 0)
            note_degraded(app, backends, degraded, "cache", &err);
        else
            json_object_set_new(backends, "cache", json_string("ok"));
    }
    json_t *index_lag = NULL;
    if (app->search != NULL) {
        uint64_t lag = 0;
        error_clear(&err);
        if (app->search->driver->health(app->search, &err) != 0)
            note_degraded(app, backends, degraded, "search", &err);
        else
            json_object_set_new(backends, "search", json_string("ok"));
        /* A lagging index still answers (older results), so lag is
         * reported rather than failing readiness. */
        error_clear(&err);
        if (store_ok && indexer_lag(app->store, &lag, &err) == 0)
            index_lag = json_integer((json_int_t)lag);
    }
    size_t n_degraded = json_array_size(degraded);
    const char *status = !store_ok ? "unavailable" : n_degraded > 0 ? "degraded" : "ready";
    json_t *body = json_pack("{s:s,s:o}", "status", status, "backends", backends);
    if (body != NULL && n_degraded > 0)
        json_object_set(body, "degraded", degraded);
    json_decref(degraded);
    if (index_lag != NULL)
        json_object_set_new(body, "index_lag", index_lag);
    if (!store_ok && body != NULL)
        json_object_set_new(body, "detail", json_string("Backend unavailable: store."));
    http_respond_json(resp, store_ok ? 200 : 503, body);
}

/* The cache's own counters, in the exposition format. */
static int cache_stats_text(struct cache *cache, char *out, size_t size)
{
    struct cache_stats st = {0};
    cache->driver->stats(cache, &st);
    return snprintf(out, size,
                    "# HELP catalogd_cache_hits_total Cache lookups that hit.\n"
                    "# TYPE catalogd_cache_hits_total counter\n"
                    "catalogd_cache_hits_total %llu\n"
                    "# HELP catalogd_cache_stale_total Cache lookups served stale (past "
                    "cache.ttl, within cache.stale_ttl) while another request refreshed.\n"
                    "# TYPE catalogd_cache_stale_total counter\n"
                    "catalogd_cache_stale_total %llu\n"
                    "# HELP catalogd_cache_misses_total Cache lookups that missed.\n"
                    "# TYPE catalogd_cache_misses_total counter\n"
                    "catalogd_cache_misses_total %llu\n"
                    "# HELP catalogd_cache_evictions_total Entries evicted to make room.\n"
                    "# TYPE catalogd_cache_evictions_total counter\n"
                    "catalogd_cache_evictions_total %llu\n"
                    "# HELP catalogd_cache_bytes Bytes held by the cache.\n"
                    "# TYPE catalogd_cache_bytes gauge\n"
                    "catalogd_cache_bytes %llu\n"
                    "# HELP catalogd_cache_entries Entries held by the cache.\n"
                    "# TYPE catalogd_cache_entries gauge\n"
                    "catalogd_cache_entries %llu\n",
                    (unsigned long long)st.hits, (unsigned long long)st.stale,
                    (unsigned long long)st.misses, (unsigned long long)st.evictions,
                    (unsigned long long)st.bytes, (unsigned long long)st.entries);
}

void ops_metrics(struct app *app, const struct http_request *req, const struct route *route,
                 const struct route_params *params, struct http_response *resp)
{
    (void)req;
    (void)route;
    (void)params;
    char extra[2048] = "";
    if (app->cache != NULL && app->cache->driver->stats != NULL)
        cache_stats_text(app->cache, extra, sizeof extra);
    char *text = metrics_render(app->metrics, extra);
    if (text == NULL) {
        struct error err;
        error_set(&err, ERR_INTERNAL, "out of memory");
        http_respond_error(resp, &err);
        return;
    }
    free(resp->body);
    resp->status = 200;
    resp->body = text;
    resp->body_len = strlen(text);
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
