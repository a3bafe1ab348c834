/*
 * test_response_cache - the response cache's key (order, repeats,
 * encodings, visibility class), which requests it covers, and lookup and
 * store through a real memory cache: hit, miss, generation bumps (catalog
 * and index), TTL, non-200s, and a failing driver that must be bypassed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "response_cache.h"
#include "testutil.h"

static const struct route courses_list = {HTTP_GET | HTTP_POST, "/api/v1/courses/", NULL,
                                          "courses_list",       ENTITY_COURSE,      "List"};
static const struct route courses_detail = {
    HTTP_GET, "/api/v1/courses/{key}/", NULL, "courses_detail", ENTITY_COURSE, "Detail"};
static const struct route search_all = {HTTP_GET,     "/api/v1/search/all/", NULL,
                                        "search_all", ENTITY_KIND_COUNT,     "Search"};
static const struct route healthz = {HTTP_GET,  "/healthz",        NULL,
                                     "healthz", ENTITY_KIND_COUNT, "Alive"};
static const struct route metrics = {HTTP_GET,  "/metrics",        NULL,
                                     "metrics", ENTITY_KIND_COUNT, "Metrics"};

/* A request with its own parsed query; free with req_free. */
struct test_req {
    struct query_params query;
    struct http_request req;
};

static void req_init(struct test_req *t, enum http_method method, const char *path,
                     const char *raw_query, bool staff)
{
    struct error err = {0};
    memset(t, 0, sizeof *t);
    ck_assert_msg(query_params_parse(raw_query, &t->query, &err) == 0, "%s", err.message);
    t->req.method = method;
    t->req.method_name = method == HTTP_HEAD ? "HEAD" : "GET";
    t->req.path = path;
    t->req.query = &t->query;
    t->req.body = "";
    t->req.request_id = "test";
    t->req.caller.staff = staff;
}

static void req_free(struct test_req *t)
{
    query_params_free(&t->query);
}

/* The key of GET path?raw_query on route, as a static buffer. */
static const char *key_of(const struct route *route, const char *path, const char *raw_query,
                          bool staff)
{
    static char buf[2][RESPONSE_CACHE_KEY_MAX];
    static int which;
    struct test_req t;
    req_init(&t, HTTP_GET, path, raw_query, staff);
    char *out = buf[which++ % 2];
    int n = response_cache_key(route, &t.req, out, RESPONSE_CACHE_KEY_MAX);
    req_free(&t);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq((size_t)n, strlen(out));
    return out;
}

START_TEST(key_is_canonical)
{
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "limit=5&org=MITx", false),
                     "public|courses_list|/api/v1/courses/?limit=5&org=MITx");
    /* Parameter order does not matter. */
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "org=MITx&limit=5", false),
                     key_of(&courses_list, "/api/v1/courses/", "limit=5&org=MITx", false));
    /* Spellings that decode alike meet: %2B, %2b; '~' escaped or not. */
    char a[RESPONSE_CACHE_KEY_MAX];
    snprintf(a, sizeof a, "%s",
             key_of(&courses_list, "/api/v1/courses/", "keys=MITx%2B6.002x", false));
    ck_assert_str_eq(a, "public|courses_list|/api/v1/courses/?keys=MITx%2B6.002x");
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "keys=MITx%2b6.002x", false), a);
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "k%65ys=MITx%2B6%2E002x", false), a);
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "a=%7E", false),
                     key_of(&courses_list, "/api/v1/courses/", "a=~", false));
    /* '+' is a space, not a plus: a different request. */
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "keys=MITx+6.002x", false),
                     "public|courses_list|/api/v1/courses/?keys=MITx%206.002x");
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "keys=MITx%206.002x", false),
                     "public|courses_list|/api/v1/courses/?keys=MITx%206.002x");
    /* UTF-8 is escaped byte by byte, upper case. */
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "q=%C3%A9t%C3%A9", false),
                     "public|courses_list|/api/v1/courses/?q=%C3%A9t%C3%A9");
    /* Characters that would make keys ambiguous are escaped. */
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "a=1%262&b=%3D", false),
                     "public|courses_list|/api/v1/courses/?a=1%262&b=%3D");
    ck_assert_str_ne(key_of(&courses_list, "/api/v1/courses/", "a=1%262", false),
                     key_of(&courses_list, "/api/v1/courses/", "a=1&2", false));
    /* No query and an empty value are distinct. */
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", NULL, false),
                     "public|courses_list|/api/v1/courses/");
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "a=", false),
                     "public|courses_list|/api/v1/courses/?a=");
    /* The path is part of the key, escaped but for '/'. */
    ck_assert_str_eq(key_of(&courses_detail, "/api/v1/courses/MITx+6.002x/", NULL, false),
                     "public|courses_detail|/api/v1/courses/MITx%2B6.002x/");
    ck_assert_str_ne(key_of(&courses_list, "/api/v1/courses", NULL, false),
                     key_of(&courses_list, "/api/v1/courses/", NULL, false));
}
END_TEST

START_TEST(key_keeps_repeats_in_order)
{
    /* Handlers read the first of a repeated name, so order among repeats
     * changes the answer and must change the key. */
    char ab[RESPONSE_CACHE_KEY_MAX];
    snprintf(ab, sizeof ab, "%s",
             key_of(&courses_list, "/api/v1/courses/", "limit=5&x=1&limit=10", false));
    ck_assert_str_eq(ab, "public|courses_list|/api/v1/courses/?limit=5&limit=10&x=1");
    ck_assert_str_ne(key_of(&courses_list, "/api/v1/courses/", "limit=10&limit=5&x=1", false), ab);
    /* Repeats are all kept. */
    ck_assert_str_ne(key_of(&courses_list, "/api/v1/courses/", "limit=5&x=1", false), ab);
    /* Other names still sort around them, wherever they came. */
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "x=1&limit=5&limit=10", false), ab);
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "z=2&b=1&a=3&b=0", false),
                     "public|courses_list|/api/v1/courses/?a=3&b=1&b=0&z=2");
}
END_TEST

START_TEST(key_separates_visibility_classes)
{
    ck_assert_str_eq(key_of(&courses_list, "/api/v1/courses/", "a=1", true),
                     "staff|courses_list|/api/v1/courses/?a=1");
    ck_assert_str_ne(key_of(&courses_list, "/api/v1/courses/", "a=1", true),
                     key_of(&courses_list, "/api/v1/courses/", "a=1", false));
    struct caller staff = {.staff = true}, anon = {0};
    ck_assert_str_eq(response_cache_class(&staff), "staff");
    ck_assert_str_eq(response_cache_class(&anon), "public");
}
END_TEST

START_TEST(key_refuses_what_does_not_fit)
{
    struct test_req t;
    char small[48];
    req_init(&t, HTTP_GET, "/api/v1/courses/", "org=MITx&limit=5", false);
    ck_assert_int_eq(response_cache_key(&courses_list, &t.req, small, sizeof small), -1);
    ck_assert_str_eq(small, "");
    char exact[64];
    int n = response_cache_key(&courses_list, &t.req, exact, sizeof exact);
    ck_assert_int_eq(n, (int)strlen("public|courses_list|/api/v1/courses/?limit=5&org=MITx"));
    /* Exactly the length without room for the NUL does not fit. */
    ck_assert_int_eq(response_cache_key(&courses_list, &t.req, exact, (size_t)n), -1);
    ck_assert_int_eq(response_cache_key(&courses_list, &t.req, exact, (size_t)n + 1), n);
    req_free(&t);

    /* Too many parameters. */
    char raw[1024] = "";
    for (int i = 0; i <= RESPONSE_CACHE_MAX_PARAMS; i++)
        snprintf(raw + strlen(raw), sizeof raw - strlen(raw), "%sp%d=1", i ? "&" : "", i);
    req_init(&t, HTTP_GET, "/api/v1/courses/", raw, false);
    char buf[RESPONSE_CACHE_KEY_MAX];
    ck_assert_int_eq(response_cache_key(&courses_list, &t.req, buf, sizeof buf), -1);
    req_free(&t);
}
END_TEST

START_TEST(scope_by_route_method_and_q)
{
    struct test_req t;
    req_init(&t, HTTP_GET, "/api/v1/courses/", "limit=5", false);
    ck_assert_int_eq(response_cache_scope(&courses_list, &t.req), RESPONSE_CACHE_CATALOG);
    ck_assert_int_eq(response_cache_scope(&courses_detail, &t.req), RESPONSE_CACHE_CATALOG);
    ck_assert_int_eq(response_cache_scope(&search_all, &t.req), RESPONSE_CACHE_SEARCH);
    ck_assert_int_eq(response_cache_scope(&healthz, &t.req), RESPONSE_CACHE_NONE);
    ck_assert_int_eq(response_cache_scope(&metrics, &t.req), RESPONSE_CACHE_NONE);
    ck_assert_int_eq(response_cache_scope(NULL, &t.req), RESPONSE_CACHE_NONE);
    t.req.method = HTTP_HEAD;
    ck_assert_int_eq(response_cache_scope(&courses_list, &t.req), RESPONSE_CACHE_CATALOG);
    enum http_method writes[] = {HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        t.req.method = writes[i];
        ck_assert_int_eq(response_cache_scope(&courses_list, &t.req), RESPONSE_CACHE_NONE);
    }
    req_free(&t);
    /* q on a list is answered by the index. */
    req_init(&t, HTTP_GET, "/api/v1/courses/", "limit=5&q=physics", false);
    ck_assert_int_eq(response_cache_scope(&courses_list, &t.req), RESPONSE_CACHE_SEARCH);
    req_free(&t);
}
END_TEST

/* ---- through a real memory cache ---- */

static struct cache *open_memory(const char *ttl, char **dir_out)
{
    char *dir = test_tmpdir();
    char path[4200], t[64];
    snprintf(path, sizeof path, "store.path=%s/catalog.db", dir);
    snprintf(t, sizeof t, "cache.ttl=%s", ttl);
    const char *sets[] = {"cache.driver=memory", path, t, NULL};
    struct config *config = test_config(sets);
    struct cache *c = NULL;
    struct error err = {0};
    ck_assert_msg(cache_open(config, &c, &err) == 0, "%s", err.message);
    config_free(config);
    *dir_out = dir;
    return c;
}

static void respond(struct http_response *resp, int status, const char *body)
{
    memset(resp, 0, sizeof *resp);
    resp->status = status;
    resp->body = strdup(body);
    resp->body_len = strlen(body);
}

/* Looks t up; on a miss stores a response with body and returns 0; on a
 * hit checks the body is want and returns 1. */
static int serve(struct cache *c, const struct route *route, struct test_req *t, const char *body,
                 const char *want)
{
    struct response_cache_probe probe;
    struct http_response resp = {0};
    int rc = response_cache_lookup(c, route, &t->req, &probe, &resp);
    if (rc == 1) {
        ck_assert(probe.hit);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_ptr_nonnull(want);
        ck_assert_uint_eq(resp.body_len, strlen(want));
        ck_assert(memcmp(resp.body, want, resp.body_len) == 0);
        http_response_free_body(&resp);
        return 1;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert(!probe.hit);
    ck_assert_ptr_null(resp.body);
    respond(&resp, 200, body);
    response_cache_store(c, &probe, &resp);
    http_response_free_body(&resp);
    return 0;
}

static void bump(struct cache *c, const char *name)
{
    struct error err = {0};
    ck_assert_int_eq(c->driver->bump(c, name, NULL, &err), 0);
}

/* A fresh memory cache (cache.ttl = ttl) and one visitor's GET of the
 * courses list (raw_query may be NULL), whose first serve is a miss that
 * stores {"v":1}.  list_close frees it all. */
struct list {
    char *dir;
    struct cache *c;
    struct test_req t;
};

static void list_open(struct list *l, const char *ttl, const char *raw_query)
{
    l->c = open_memory(ttl, &l->dir);
    req_init(&l->t, HTTP_GET, "/api/v1/courses/", raw_query, false);
    ck_assert_int_eq(serve(l->c, &courses_list, &l->t, "{\"v\":1}", NULL), 0);
}

static void list_close(struct list *l)
{
    req_free(&l->t);
    cache_close(l->c);
    free(l->dir);
}

START_TEST(hit_miss_and_catalog_generation)
{
    char *dir;
    struct cache *c = open_memory("60", &dir);
    struct test_req t, other, staff;
    req_init(&t, HTTP_GET, "/api/v1/courses/", "org=MITx&limit=5", false);
    req_init(&other, HTTP_HEAD, "/api/v1/courses/", "limit=5&org=MITx", false);
    req_init(&staff, HTTP_GET, "/api/v1/courses/", "limit=5&org=MITx", true);

    ck_assert_int_eq(serve(c, &courses_list, &t, "{\"v\":1}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &t, "unused", "{\"v\":1}"), 1);
    /* The same request spelled differently, and HEAD, share the entry. */
    ck_assert_int_eq(serve(c, &courses_list, &other, "unused", "{\"v\":1}"), 1);
    /* Another visibility class does not. */
    ck_assert_int_eq(serve(c, &courses_list, &staff, "{\"staff\":1}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &staff, "unused", "{\"staff\":1}"), 1);
    ck_assert_int_eq(serve(c, &courses_list, &t, "unused", "{\"v\":1}"), 1);

    /* A committed write anywhere bumps "catalog": every entry misses. */
    bump(c, "catalog");
    ck_assert_int_eq(serve(c, &courses_list, &t, "{\"v\":2}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &staff, "{\"staff\":2}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &t, "unused", "{\"v\":2}"), 1);
    /* "index" alone leaves store-backed responses alone. */
    bump(c, "index");
    ck_assert_int_eq(serve(c, &courses_list, &t, "unused", "{\"v\":2}"), 1);

    struct cache_stats st = {0};
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.hits, 6);
    ck_assert_uint_eq(st.misses, 4);

    req_free(&t);
    req_free(&other);
    req_free(&staff);
    cache_close(c);
    free(dir);
}
END_TEST

/* A hit from the memory cache lends the stored bytes (no copy per hit):
 * two hits carry the same pointer, marked borrowed so that nobody frees
 * it, and the bytes stay valid after the entry is dropped until given
 * back. */
START_TEST(hit_lends_the_stored_body)
{
    struct list l;
    list_open(&l, "60", "limit=5");
    struct cache *c = l.c;

    struct response_cache_probe p1, p2;
    struct http_response r1 = {0}, r2 = {0};
    ck_assert_int_eq(response_cache_lookup(c, &courses_list, &l.t.req, &p1, &r1), 1);
    ck_assert_int_eq(response_cache_lookup(c, &courses_list, &l.t.req, &p2, &r2), 1);
    ck_assert_ptr_nonnull(r1.body_release);
    ck_assert_ptr_eq(r1.body, r2.body);
    ck_assert_uint_eq(r1.body_len, 7);

    bump(c, "catalog");
    ck_assert_int_eq(serve(c, &courses_list, &l.t, "{\"v\":2}", NULL), 0);
    ck_assert(memcmp(r1.body, "{\"v\":1}", 7) == 0);
    http_response_free_body(&r1);
    ck_assert_ptr_null(r1.body);
    ck_assert_ptr_null(r1.body_release);
    ck_assert(memcmp(r2.body, "{\"v\":1}", 7) == 0);
    /* A handler's respond over a borrowed body gives it back, not free()s it. */
    http_respond_detail(&r2, 404, "Not found.");
    ck_assert_ptr_null(r2.body_release);
    http_response_free_body(&r2);

    list_close(&l);
}
END_TEST

START_TEST(search_follows_both_generations)
{
    char *dir;
    struct cache *c = open_memory("60", &dir);
    struct test_req s, q;
    req_init(&s, HTTP_GET, "/api/v1/search/all/", "q=physics", false);
    req_init(&q, HTTP_GET, "/api/v1/courses/", "q=physics", false);
    ck_assert_int_eq(serve(c, &search_all, &s, "{\"s\":1}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &q, "{\"q\":1}", NULL), 0);
    ck_assert_int_eq(serve(c, &search_all, &s, "unused", "{\"s\":1}"), 1);
    ck_assert_int_eq(serve(c, &courses_list, &q, "unused", "{\"q\":1}"), 1);

    bump(c, "index");
    ck_assert_int_eq(serve(c, &search_all, &s, "{\"s\":2}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &q, "{\"q\":2}", NULL), 0);
    ck_assert_int_eq(serve(c, &search_all, &s, "unused", "{\"s\":2}"), 1);

    bump(c, "catalog");
    ck_assert_int_eq(serve(c, &search_all, &s, "{\"s\":3}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &q, "{\"q\":3}", NULL), 0);
    ck_assert_int_eq(serve(c, &search_all, &s, "unused", "{\"s\":3}"), 1);

    /* The folded value changes with either counter. */
    uint64_t g1 = 0, g2 = 0;
    struct error err = {0};
    ck_assert_int_eq(response_cache_generation(c, RESPONSE_CACHE_SEARCH, &g1, &err), 0);
    bump(c, "catalog");
    ck_assert_int_eq(response_cache_generation(c, RESPONSE_CACHE_SEARCH, &g2, &err), 0);
    ck_assert_uint_ne(g1, g2);
    bump(c, "index");
    ck_assert_int_eq(response_cache_generation(c, RESPONSE_CACHE_SEARCH, &g1, &err), 0);
    ck_assert_uint_ne(g1, g2);

    req_free(&s);
    req_free(&q);
    cache_close(c);
    free(dir);
}
END_TEST

START_TEST(generation_seen_across_handles)
{
    /* Two handles on one store stand for two processes: a bump through
     * one (an import) invalidates what the other cached. */
    char *dir;
    struct cache *a = open_memory("60", &dir);
    char path[4200];
    snprintf(path, sizeof path, "store.path=%s/catalog.db", dir);
    const char *sets[] = {"cache.driver=memory", path, NULL};
    struct config *config = test_config(sets);
    struct cache *b = NULL;
    struct error err = {0};
    ck_assert_int_eq(cache_open(config, &b, &err), 0);
    config_free(config);

    struct test_req t;
    req_init(&t, HTTP_GET, "/api/v1/courses/", NULL, false);
    ck_assert_int_eq(serve(a, &courses_list, &t, "{\"v\":1}", NULL), 0);
    ck_assert_int_eq(serve(a, &courses_list, &t, "unused", "{\"v\":1}"), 1);
    bump(b, "catalog");
    ck_assert_int_eq(serve(a, &courses_list, &t, "{\"v\":2}", NULL), 0);
    req_free(&t);
    cache_close(b);
    cache_close(a);
    free(dir);
}
END_TEST

START_TEST(ttl_expires_entries)
{
    struct list l;
    list_open(&l, "1", NULL);
    struct cache *c = l.c;
    ck_assert_int_eq(serve(c, &courses_list, &l.t, "unused", "{\"v\":1}"), 1);
    usleep(1200 * 1000);
    ck_assert_int_eq(serve(c, &courses_list, &l.t, "{\"v\":2}", NULL), 0);
    ck_assert_int_eq(serve(c, &courses_list, &l.t, "unused", "{\"v\":2}"), 1);
    list_close(&l);
}
END_TEST

/* A list whose entry {"v":1} (cache.ttl 1 s) is now past its TTL, within
 * its grace (cache.stale_ttl, 10 s by default). */
static struct cache *expired_list_open(struct list *l)
{
    list_open(l, "1", NULL);
    cache_clock_advance(1500);
    return l->c;
}

/* Past cache.ttl, within cache.stale_ttl (default 10 s): the first request
 * is the refresher (a miss offered to the store), and until it stores the
 * others get the old body marked stale (probe.stale: X-Cache: stale); a
 * write in the meantime is never hidden behind the grace. */
START_TEST(stale_hit_while_one_refreshes)
{
    struct list l;
    struct cache *c = expired_list_open(&l);

    struct response_cache_probe refresher, probe;
    struct http_response resp = {0};
    ck_assert_int_eq(response_cache_lookup(c, &courses_list, &l.t.req, &refresher, &resp), 0);
    ck_assert(refresher.active);
    ck_assert(!refresher.stale);
    ck_assert_int_eq(response_cache_lookup(c, &courses_list, &l.t.req, &probe, &resp), 1);
    ck_assert(probe.hit);
    ck_assert(probe.stale);
    ck_assert(!probe.active);
    ck_assert_uint_eq(resp.body_len, 7);
    ck_assert(memcmp(resp.body, "{\"v\":1}", 7) == 0);
    http_response_free_body(&resp);

    respond(&resp, 200, "{\"v\":2}");
    response_cache_store(c, &refresher, &resp);
    http_response_free_body(&resp);
    ck_assert_int_eq(response_cache_lookup(c, &courses_list, &l.t.req, &probe, &resp), 1);
    ck_assert(probe.hit);
    ck_assert(!probe.stale);
    ck_assert(memcmp(resp.body, "{\"v\":2}", 7) == 0);
    http_response_free_body(&resp);

    cache_clock_advance(1500);
    bump(c, "catalog");
    ck_assert_int_eq(response_cache_lookup(c, &courses_list, &l.t.req, &probe, &resp), 0);
    ck_assert_int_eq(response_cache_lookup(c, &courses_list, &l.t.req, &probe, &resp), 0);
    ck_assert(probe.active);
    list_close(&l);
}
END_TEST

/* response_cache_lookup_lending: the request elected to refresh is served
 * the old body too (probe.refresh, probe.active: it recomputes later and
 * stores under its probe), the others stale until then. */
START_TEST(lending_serves_the_refresher_stale)
{
    struct list l;
    struct cache *c = expired_list_open(&l);

    struct response_cache_probe refresher, probe;
    struct http_response resp = {0};
    ck_assert_int_eq(response_cache_lookup_lending(c, &courses_list, &l.t.req, &refresher, &resp),
                     1);
    ck_assert(refresher.hit && refresher.stale && refresher.refresh && refresher.active);
    ck_assert(memcmp(resp.body, "{\"v\":1}", 7) == 0);
    http_response_free_body(&resp);
    ck_assert_int_eq(response_cache_lookup_lending(c, &courses_list, &l.t.req, &probe, &resp), 1);
    ck_assert(probe.hit && probe.stale && !probe.refresh && !probe.active);
    http_response_free_body(&resp);

    respond(&resp, 200, "{\"v\":2}");
    response_cache_store(c, &refresher, &resp);
    http_response_free_body(&resp);
    ck_assert_int_eq(response_cache_lookup_lending(c, &courses_list, &l.t.req, &probe, &resp), 1);
    ck_assert(probe.hit && !probe.stale && !probe.refresh);
    ck_assert(memcmp(resp.body, "{\"v\":2}", 7) == 0);
    http_response_free_body(&resp);

    /* A fresh miss is a miss, lending or not. */
    bump(c, "catalog");
    ck_assert_int_eq(response_cache_lookup_lending(c, &courses_list, &l.t.req, &probe, &resp), 0);
    ck_assert(probe.active && !probe.refresh);
    list_close(&l);
}
END_TEST

START_TEST(only_plain_200s_are_stored)
{
    char *dir;
    struct cache *c = open_memory("60", &dir);
    struct test_req t;
    req_init(&t, HTTP_GET, "/api/v1/courses/nope/", NULL, false);
    struct response_cache_probe probe;
    struct http_response resp = {0};

    int statuses[] = {404, 400, 500, 503, 301};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        ck_assert_int_eq(response_cache_lookup(c, &courses_detail, &t.req, &probe, &resp), 0);
        ck_assert(probe.active);
        respond(&resp, statuses[i], "{\"detail\":\"Not found.\"}");
        response_cache_store(c, &probe, &resp);
        http_response_free_body(&resp);
        memset(&resp, 0, sizeof resp);
    }
    /* A 200 that is not JSON, or that carries a Location, is not either. */
    ck_assert_int_eq(response_cache_lookup(c, &courses_detail, &t.req, &probe, &resp), 0);
    respond(&resp, 200, "text");
    resp.content_type = "text/plain";
    response_cache_store(c, &probe, &resp);
    http_response_free_body(&resp);
    ck_assert_int_eq(response_cache_lookup(c, &courses_detail, &t.req, &probe, &resp), 0);
    respond(&resp, 200, "{}");
    snprintf(resp.location, sizeof resp.location, "/elsewhere");
    response_cache_store(c, &probe, &resp);
    http_response_free_body(&resp);
    memset(&resp, 0, sizeof resp);
    ck_assert_int_eq(response_cache_lookup(c, &courses_detail, &t.req, &probe, &resp), 0);
    ck_assert_ptr_null(resp.body);

    struct cache_stats st = {0};
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.hits, 0);

    /* Uncacheable routes are never looked up, so never stored. */
    req_free(&t);
    req_init(&t, HTTP_GET, "/healthz", NULL, false);
    ck_assert_int_eq(response_cache_lookup(c, &healthz, &t.req, &probe, &resp), 0);
    ck_assert(!probe.active);
    respond(&resp, 200, "{\"status\":\"ok\"}");
    response_cache_store(c, &probe, &resp);
    http_response_free_body(&resp);
    c->driver->stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);

    /* No cache at all: nothing happens. */
    memset(&resp, 0, sizeof resp);
    ck_assert_int_eq(response_cache_lookup(NULL, &courses_list, &t.req, &probe, &resp), 0);
    ck_assert(!probe.active);
    response_cache_store(NULL, &probe, &resp);
    req_free(&t);
    cache_close(c);
    free(dir);
}
END_TEST

/* ---- a driver that fails: every request must be served uncached ---- */

static int failing_calls;

static int fail_get(struct cache *c, const char *key, uint64_t gen, char **value, size_t *len,
                    struct error *err)
{
    (void)c, (void)key, (void)gen, (void)len;
    failing_calls++;
    *value = NULL;
    return error_set(err, ERR_UNAVAILABLE, "cache down");
}

static int fail_set(struct cache *c, const char *key, uint64_t gen, const char *value, size_t len,
                    unsigned ttl, struct error *err)
{
    (void)c, (void)key, (void)gen, (void)value, (void)len, (void)ttl, (void)err;
    ck_abort_msg("set called after a failed lookup");
    return -1;
}

static bool generation_fails;

static int fail_generation(struct cache *c, const char *name, uint64_t *out, struct error *err)
{
    (void)c, (void)name;
    failing_calls++;
    if (generation_fails)
        return error_set(err, ERR_UNAVAILABLE, "cache down");
    *out = 7;
    return 0;
}

static const struct cache_driver failing_driver = {
    .name = "failing",
    .get = fail_get,
    .set = fail_set,
    .generation = fail_generation,
};

START_TEST(failing_cache_is_bypassed)
{
    struct cache c = {.driver = &failing_driver};
    struct test_req t;
    req_init(&t, HTTP_GET, "/api/v1/courses/", NULL, false);
    struct response_cache_probe probe;
    struct http_response resp = {0};

    failing_calls = 0;
    generation_fails = true;
    ck_assert_int_eq(response_cache_lookup(&c, &courses_list, &t.req, &probe, &resp), 0);
    ck_assert(!probe.active);
    ck_assert_int_eq(failing_calls, 1);
    respond(&resp, 200, "{}");
    response_cache_store(&c, &probe, &resp); /* must not call set */
    http_response_free_body(&resp);
    memset(&resp, 0, sizeof resp);

    generation_fails = false;
    ck_assert_int_eq(response_cache_lookup(&c, &courses_list, &t.req, &probe, &resp), 0);
    ck_assert(!probe.active);
    ck_assert_int_eq(failing_calls, 3); /* generation, then get */
    ck_assert_ptr_null(resp.body);
    respond(&resp, 200, "{}");
    response_cache_store(&c, &probe, &resp);
    http_response_free_body(&resp);
    req_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("response_cache");
    TCase *keys = tcase_create("key");
    tcase_add_test(keys, key_is_canonical);
    tcase_add_test(keys, key_keeps_repeats_in_order);
    tcase_add_test(keys, key_separates_visibility_classes);
    tcase_add_test(keys, key_refuses_what_does_not_fit);
    tcase_add_test(keys, scope_by_route_method_and_q);
    suite_add_tcase(s, keys);
    TCase *mem = tcase_create("memory");
    tcase_set_timeout(mem, 30);
    tcase_add_test(mem, hit_miss_and_catalog_generation);
    tcase_add_test(mem, hit_lends_the_stored_body);
    tcase_add_test(mem, search_follows_both_generations);
    tcase_add_test(mem, generation_seen_across_handles);
    tcase_add_test(mem, ttl_expires_entries);
    tcase_add_test(mem, stale_hit_while_one_refreshes);
    tcase_add_test(mem, lending_serves_the_refresher_stale);
    tcase_add_test(mem, only_plain_200s_are_stored);
    tcase_add_test(mem, failing_cache_is_bypassed);
    suite_add_tcase(s, mem);
    return test_run_suite(s);
}
