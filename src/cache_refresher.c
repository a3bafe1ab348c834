/*
 * cache_refresher - see cache_refresher.h.
 */
#include "cache_refresher.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api_search.h"
#include "query_params.h"

struct job {
    const struct route *route;
    struct route_params params;
    struct caller caller;
    char *path;      /* owned */
    char *raw_query; /* owned; NULL without one */
    struct response_cache_probe probe;
};

struct cache_refresher {
    struct app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    struct job *queue[CACHE_REFRESHER_QUEUE]; /* a ring: head, then count */
    size_t head, count;
    bool busy; /* a job is being run */
    bool stopping;
};

static void job_free(struct job *j)
{
    if (j == NULL)
        return;
    free(j->path);
    free(j->raw_query);
    free(j);
}

/* What the worker would have done after a miss: run the handler, store a
 * 200.  A failure leaves the stale entry to its grace and the next
 * election. */
static void run(struct app *app, struct job *j)
{
    struct query_params query = {0};
    struct error err = {0};
    if (query_params_parse(j->raw_query, &query, &err) != 0)
        return;
    struct http_request req = {
        .method = HTTP_GET,
        .method_name = "GET",
        .path = j->path,
        .query = &query,
        .body = "",
        .request_id = "cache-refresh",
        .caller = j->caller,
    };
    struct http_response resp = {0};
    if (response_cache_scope(j->route, &req) == RESPONSE_CACHE_SEARCH)
        api_search_refresh_if_due(app);
    j->route->handler(app, &req, j->route, &j->params, &resp);
    response_cache_store(app->cache, &j->probe, &resp);
    http_response_free_body(&resp);
    query_params_free(&query);
}

static void *refresher_main(void *arg)
{
    struct cache_refresher *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->count == 0 && !r->stopping)
            pthread_cond_wait(&r->wake, &r->mu);
        if (r->stopping)
            break;
        struct job *j = r->queue[r->head];
        r->head = (r->head + 1) % CACHE_REFRESHER_QUEUE;
        r->count--;
        r->busy = true;
        pthread_mutex_unlock(&r->mu);
        run(r->app, j);
        job_free(j);
        pthread_mutex_lock(&r->mu);
        r->busy = false;
        if (r->count == 0)
            pthread_cond_broadcast(&r->idle);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int cache_refresher_start(struct app *app, struct cache_refresher **out, struct error *err)
{
    struct cache_refresher *r = calloc(1, sizeof *r);
    if (r == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    r->app = app;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->idle, NULL);
    if (pthread_create(&r->thread, NULL, refresher_main, r) != 0) {
        pthread_cond_destroy(&r->idle);
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return error_set(err, ERR_INTERNAL, "cannot start the cache refresher thread");
    }
    *out = r;
    return 0;
}

bool cache_refresher_queue(struct cache_refresher *r, const struct route *route,
                           const struct route_params *params, const struct http_request *req,
                           const char *raw_query, const struct response_cache_probe *probe)
{
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return false;
    j->route = route;
    j->params = *params;
    j->caller = req->caller;
    j->probe = *probe;
    j->path = strdup(req->path);
    j->raw_query = raw_query != NULL ? strdup(raw_query) : NULL;
    if (j->path == NULL || (raw_query != NULL && j->raw_query == NULL)) {
        job_free(j);
        return false;
    }
    pthread_mutex_lock(&r->mu);
    bool queued = !r->stopping && r->count < CACHE_REFRESHER_QUEUE;
    if (queued) {
        r->queue[(r->head + r->count) % CACHE_REFRESHER_QUEUE] = j;
        r->count++;
        pthread_cond_signal(&r->wake);
    }
    pthread_mutex_unlock(&r->mu);
    if (!queued)
        job_free(j);
    return queued;
}

void cache_refresher_flush(struct cache_refresher *r)
{
    pthread_mutex_lock(&r->mu);
    while (r->count > 0 || r->busy)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

void cache_refresher_stop(struct cache_refresher *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    for (size_t i = 0; i < r->count; i++)
        job_free(r->queue[(r->head + i) % CACHE_REFRESHER_QUEUE]);
    pthread_cond_destroy(&r->idle);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
