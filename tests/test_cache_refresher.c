/*
 * test_cache_refresher - a queued refresh runs the route's handler off the
 * caller's thread with the request it was given (path, query, caller,
 * route parameters) and stores the result under the refresher's probe, so
 * the next lookup is a fresh hit; stopping drops what is still queued.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_refresher.h"
#include "query_params.h"
#include "testutil.h"

static atomic_int calls;
static pthread_t caller_thread;
static atomic_bool ran_elsewhere;

/* Answers what it was asked: path, the "org" parameter, the route's
 * "key" parameter, the caller's class, and how many times it ran. */
static void echo_handler(struct app *app, const struct http_request *req, const struct route *route,
                         const struct route_params *params, struct http_response *resp)
{
    (void)app;
    (void)route;
    int n = atomic_fetch_add(&calls, 1) + 1;
    atomic_store(&ran_elsewhere, !pthread_equal(pthread_self(), caller_thread));
    const char *org = query_params_get(req->query, "org");
    const char *key = route_param(params, "key");
    char body[512];
    snprintf(body, sizeof body,
             "{\"path\":\"%s\",\"org\":\"%s\",\"key\":\"%s\",\"staff\":%s,\"n\":%d}", req->path,
             org ? org : "", key ? key : "", req->caller.staff ? "true" : "false", n);
    resp->status = 200;
    resp->body = strdup(body);
    resp->body_len = strlen(body);
}

static const struct route detail = {
    HTTP_GET, "/api/v1/courses/{key}/", echo_handler, "courses_detail", ENTITY_COURSE, "Detail"};

struct world {
    char *dir;
    struct app app;
    struct cache_refresher *refresher;
    struct query_params query;
    struct http_request req;
    struct route_params params;
};

static void world_open(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->dir = test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "store.path=%s/catalog.db", w->dir);
    const char *sets[] = {"cache.driver=memory", path, "cache.ttl=1", NULL};
    struct config *config = test_config(sets);
    struct error err = {0};
    ck_assert_msg(cache_open(config, &w->app.cache, &err) == 0, "%s", err.message);
    config_free(config);
    ck_assert_msg(cache_refresher_start(&w->app, &w->refresher, &err) == 0, "%s", err.message);
    ck_assert_msg(query_params_parse("org=MITx", &w->query, &err) == 0, "%s", err.message);
    w->req = (struct http_request){.method = HTTP_GET,
                                   .method_name = "GET",
                                   .path = "/api/v1/courses/MITx+6.00x/",
                                   .query = &w->query,
                                   .body = "",
                                   .request_id = "test",
                                   .caller = {.staff = true}};
    w->params.count = 1;
    snprintf(w->params.items[0].name, sizeof w->params.items[0].name, "key");
    snprintf(w->params.items[0].value, sizeof w->params.items[0].value, "MITx+6.00x");
    caller_thread = pthread_self();
    atomic_store(&calls, 0);
}

static void world_close(struct world *w)
{
    cache_refresher_stop(w->refresher);
    query_params_free(&w->query);
    cache_close(w->app.cache);
    free(w->dir);
}

/* The body a lookup finds now: 1 hit (fresh), 2 stale, 0 miss. */
static int lookup(struct world *w, char *body, size_t size, struct response_cache_probe *probe)
{
    struct http_response resp = {0};
    int rc = response_cache_lookup_lending(w->app.cache, &detail, &w->req, probe, &resp);
    body[0] = '\0';
    if (rc == 1)
        snprintf(body, size, "%.*s", (int)resp.body_len, resp.body);
    http_response_free_body(&resp);
    return rc == 1 ? (probe->stale ? 2 : 1) : 0;
}

START_TEST(refresh_runs_the_request_elsewhere_and_stores_it)
{
    struct world w;
    world_open(&w);
    char body[512];
    struct response_cache_probe probe;
    /* A miss: queued instead of computed here. */
    ck_assert_int_eq(lookup(&w, body, sizeof body, &probe), 0);
    ck_assert(probe.active);
    ck_assert(cache_refresher_queue(w.refresher, &detail, &w.params, &w.req, "org=MITx", &probe));
    cache_refresher_flush(w.refresher);
    ck_assert_int_eq(atomic_load(&calls), 1);
    ck_assert(atomic_load(&ran_elsewhere));
    ck_assert_int_eq(lookup(&w, body, sizeof body, &probe), 1);
    ck_assert_str_eq(body, "{\"path\":\"/api/v1/courses/MITx+6.00x/\",\"org\":\"MITx\","
                           "\"key\":\"MITx+6.00x\",\"staff\":true,\"n\":1}");

    /* Past its TTL: the elected request is served the old body and its
     * refresh stores the new one. */
    cache_clock_advance(1500);
    ck_assert_int_eq(lookup(&w, body, sizeof body, &probe), 2);
    ck_assert(probe.refresh);
    ck_assert_ptr_nonnull(strstr(body, "\"n\":1}"));
    ck_assert(cache_refresher_queue(w.refresher, &detail, &w.params, &w.req, "org=MITx", &probe));
    cache_refresher_flush(w.refresher);
    ck_assert_int_eq(lookup(&w, body, sizeof body, &probe), 1);
    ck_assert_ptr_nonnull(strstr(body, "\"n\":2}"));
    world_close(&w);
}
END_TEST

START_TEST(stop_drops_what_is_queued)
{
    struct world w;
    world_open(&w);
    char body[512];
    struct response_cache_probe probe;
    ck_assert_int_eq(lookup(&w, body, sizeof body, &probe), 0);
    for (int i = 0; i < 10; i++)
        cache_refresher_queue(w.refresher, &detail, &w.params, &w.req, NULL, &probe);
    world_close(&w); /* under ASan: nothing leaks, nothing runs after */
    ck_assert_int_le(atomic_load(&calls), 10);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("cache_refresher");
    TCase *tc = tcase_create("refresher");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, refresh_runs_the_request_elsewhere_and_stores_it);
    tcase_add_test(tc, stop_drops_what_is_queued);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
