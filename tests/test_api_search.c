/*
 * test_api_search - the search endpoints and q on lists, called through
 * the real route table against a real sqlite store and the fts5 index in
 * a temporary directory.  Documents are written straight into the index
 * (the indexer is tested on its own); the store holds the records that q
 * on lists needs.  "Now" is 2025-06-01.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "clock.h"
#include "http_router.h"
#include "registry.h"
#include "search.h"
#include "store.h"
#include "testutil.h"

#define BASE TEST_APP_BASE_URL
#define RUN_CUR "course-v1:MITx+CIRC+1T2025"
#define RUN_SOON "course-v1:MITx+CIRC+3T2025"
#define RUN_CS50 "course-v1:HarvardX+CS50+1T2026"
#define RUN_ML "course-v1:MITx+ML+1T2024"
#define PROGRAM "11111111-1111-4111-8111-111111111111"

static struct test_app fx;

/* Runs, courses and programs; the hit of a document is the document
 * itself unless it says otherwise, so tests can check facet counts
 * against the hits. */
static const char fixture[] =
    "["
    /* current, self-paced, enrollable: boosted twice */
    "{\"content_type\":\"courserun\",\"key\":\"" RUN_CUR "\",\"title\":\"Circuits and "
    "Electronics\",\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of "
    "Technology\"],\"subjects\":[\"Engineering\"],\"pacing_type\":\"self_paced\","
    "\"seat_types\":[\"verified\",\"audit\"],\"language\":\"en\",\"level_type\":\"Introductory\","
    "\"status\":\"published\",\"start\":\"2025-01-01T00:00:00Z\",\"end\":\"2025-12-31T00:00:00Z\","
    "\"marketing_url\":\"https://x.example/circ\"},"
    /* the same text, starting soon, enrollment not open yet: boosted once */
    "{\"content_type\":\"courserun\",\"key\":\"" RUN_SOON "\",\"title\":\"Circuits and "
    "Electronics\",\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of "
    "Technology\"],\"subjects\":[\"Engineering\"],\"pacing_type\":\"instructor_paced\","
    "\"seat_types\":[\"verified\",\"audit\"],\"language\":\"en\",\"level_type\":\"Introductory\","
    "\"status\":\"published\",\"start\":\"2025-07-01T00:00:00Z\",\"end\":\"2025-12-31T00:00:00Z\","
    "\"enrollment_start\":\"2025-06-15T00:00:00Z\"},"
    /* circuits only in the description, every boost */
    "{\"content_type\":\"courserun\",\"key\":\"" RUN_CS50 "\",\"title\":\"Introduction to "
    "Computer Science\",\"short_description\":\"python and circuits\",\"orgs\":[\"HarvardX\"],"
    "\"organizations\":[\"HarvardX: Harvard University\"],\"subjects\":[\"Computer Science\"],"
    "\"pacing_type\":\"self_paced\",\"seat_types\":[\"verified\"],\"language\":\"es\","
    "\"status\":\"published\",\"start\":\"2025-09-01T00:00:00Z\"},"
    "{\"content_type\":\"courserun\",\"key\":\"" RUN_ML "\",\"title\":\"Machine Learning\","
    "\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of Technology\"],"
    "\"pacing_type\":\"instructor_paced\",\"seat_types\":[\"verified\"],\"status\":\"published\","
    "\"start\":\"2024-01-01T00:00:00Z\",\"end\":\"2024-06-01T00:00:00Z\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+LAB+A\",\"title\":\"Circuits Lab "
    "A\",\"orgs\":[\"MITx\"],\"status\":\"published\",\"start\":\"2025-02-01T00:00:00Z\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+LAB+B\",\"title\":\"Circuits Lab "
    "B\",\"orgs\":[\"MITx\"],\"status\":\"published\",\"start\":\"2025-02-01T00:00:00Z\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+SECRET+1\",\"title\":\"Circuits "
    "Secret\",\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of "
    "Technology\"],\"status\":\"unpublished\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+HID+1\",\"title\":\"Circuits "
    "Hidden\",\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of "
    "Technology\"],\"status\":\"published\",\"hidden\":true},"
    "{\"content_type\":\"course\",\"key\":\"MITx+CIRC\",\"title\":\"Circuits and Electronics\","
    "\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of Technology\"],"
    "\"subjects\":[\"Engineering\"],\"start\":\"2025-01-01T00:00:00Z\","
    "\"end\":\"2025-12-31T00:00:00Z\"},"
    "{\"content_type\":\"course\",\"key\":\"HarvardX+CS50\",\"title\":\"Introduction to "
    "Computer Science\",\"orgs\":[\"HarvardX\"],\"organizations\":[\"HarvardX: Harvard "
    "University\"],\"subjects\":[\"Computer Science\"]},"
    "{\"content_type\":\"program\",\"key\":\"" PROGRAM "\",\"title\":\"Circuits MicroMasters\","
    "\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of Technology\"],"
    "\"status\":\"active\",\"hit\":{\"uuid\":\"" PROGRAM "\",\"title\":\"Circuits "
    "MicroMasters\",\"type\":\"MicroMasters\",\"marketing_url\":\"https://x.example/p\","
    "\"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of "
    "Technology\"],\"content_type\":\"program\"}},"
    "{\"content_type\":\"program\",\"key\":\"22222222-2222-4222-8222-222222222222\","
    "\"title\":\"Circuits Draft\",\"status\":\"unpublished\"}"
    "]";

static char last_body[262144];

/* Calls target (path and query as a client sends it, the path already
 * decoded); returns the parsed body (caller frees) and the status. */
static json_t *call(const char *target, bool staff, int *status)
{
    return test_app_call(&fx.app, HTTP_GET, target, NULL, NULL, staff, status, last_body,
                         sizeof last_body);
}

static json_t *get_as(const char *target, bool staff, int want)
{
    int status;
    json_t *out = call(target, staff, &status);
    ck_assert_msg(status == want, "%s: status %d, want %d: %s", target, status, want, last_body);
    return out;
}

/* A visitor's GET. */
static json_t *get(const char *target, int want)
{
    return get_as(target, false, want);
}

static void post(const char *path, const char *body)
{
    struct query_params query = {0};
    struct route_params params = {0};
    struct error err = {0};
    char allow[64];
    const struct route *route = router_match(catalog_routes, catalog_routes_count, HTTP_POST, path,
                                             &params, allow, sizeof allow, &err);
    ck_assert_ptr_nonnull(route);
    struct http_request req = {.method = HTTP_POST,
                               .method_name = "POST",
                               .path = path,
                               .query = &query,
                               .body = body,
                               .body_len = strlen(body),
                               .content_type = "application/json",
                               .request_id = "test"};
    req.caller.staff = true;
    struct http_response resp = {0};
    route->handler(&fx.app, &req, route, &params, &resp);
    ck_assert_msg(resp.status == 201, "POST %s: %d %.*s", path, resp.status, (int)resp.body_len,
                  resp.body);
    free(resp.body);
}

static void setup(void)
{
    test_app_open(&fx, "2025-06-01T00:00:00Z", true, NULL);
    struct error err = {0};
    json_t *docs = json_loads(fixture, 0, NULL);
    ck_assert_ptr_nonnull(docs);
    ck_assert_msg(fx.app.search->driver->index(fx.app.search, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
}

static void teardown(void)
{
    test_app_close(&fx);
}

static const char *sget(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(obj, field));
}

static json_int_t iget(const json_t *obj, const char *field)
{
    return json_integer_value(json_object_get(obj, field));
}

/* The keys (or uuids) of results, comma-separated, into buf. */
static const char *keys_of(const json_t *results, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        const char *k = sget(r, "key") ? sget(r, "key") : sget(r, "uuid");
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", k ? k : "?");
        ck_assert_uint_lt(len, size);
    }
    return buf;
}

static bool contains(const char *list, const char *key)
{
    return strstr(list, key) != NULL;
}

/* ---- hits ---- */

START_TEST(test_hits_shape_and_visibility)
{
    json_t *all = get("/api/v1/search/all/?page_size=100", 200);
    ck_assert_ptr_nonnull(json_object_get(all, "next"));
    ck_assert(json_is_null(json_object_get(all, "next")));
    ck_assert(json_is_null(json_object_get(all, "previous")));
    json_t *results = json_object_get(all, "results");
    /* 6 public runs, 2 courses, 1 active program. */
    ck_assert_int_eq(iget(all, "count"), 9);
    ck_assert_uint_eq(json_array_size(results), 9);
    char keys[4096];
    keys_of(results, keys, sizeof keys);
    ck_assert_msg(!contains(keys, "SECRET") && !contains(keys, "HID") &&
                      !contains(keys, "22222222"),
                  "a visitor sees a private document: %s", keys);
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        const char *ct = sget(r, "content_type");
        ck_assert_ptr_nonnull(ct);
        if (strcmp(ct, "courserun") == 0) {
            ck_assert_ptr_nonnull(sget(r, "availability"));
            ck_assert(json_is_boolean(json_object_get(r, "is_enrollable")));
        }
        if (strcmp(ct, "program") == 0) {
            /* the document's own hit object, not the document */
            ck_assert_str_eq(sget(r, "type"), "MicroMasters");
            ck_assert_ptr_null(json_object_get(r, "status"));
        }
    }
    json_decref(all);

    json_t *staff = get_as("/api/v1/search/all/?page_size=100", true, 200);
    ck_assert_int_eq(iget(staff, "count"), 12);
    json_decref(staff);

    json_t *runs = get("/api/v1/search/course_runs/?page_size=100", 200);
    ck_assert_int_eq(iget(runs, "count"), 6);
    json_array_foreach(json_object_get(runs, "results"), i, r)
        ck_assert_str_eq(sget(r, "content_type"), "courserun");
    json_decref(runs);
    json_t *courses = get("/api/v1/search/courses/", 200);
    ck_assert_int_eq(iget(courses, "count"), 2);
    json_decref(courses);
    json_t *programs = get("/api/v1/search/programs/", 200);
    ck_assert_int_eq(iget(programs, "count"), 1);
    ck_assert_str_eq(sget(json_array_get(json_object_get(programs, "results"), 0), "uuid"),
                     PROGRAM);
    json_decref(programs);
}
END_TEST

START_TEST(test_computed_values)
{
    json_t *r = get("/api/v1/search/course_runs/?q=key:" RUN_CUR, 200);
    ck_assert_int_eq(iget(r, "count"), 1);
    json_t *hit = json_array_get(json_object_get(r, "results"), 0);
    ck_assert_str_eq(sget(hit, "availability"), "Current");
    ck_assert(json_is_true(json_object_get(hit, "is_enrollable")));
    json_decref(r);
    r = get("/api/v1/search/course_runs/?q=key:" RUN_SOON, 200);
    hit = json_array_get(json_object_get(r, "results"), 0);
    ck_assert_str_eq(sget(hit, "availability"), "Starting Soon");
    ck_assert(json_is_false(json_object_get(hit, "is_enrollable")));
    json_decref(r);
    /* The same document later: values follow the clock, not the index. */
    struct error err = {0};
    ck_assert_int_eq(clock_set_fixed("2026-02-01T00:00:00Z", &err), 0);
    r = get("/api/v1/search/course_runs/?q=key:" RUN_SOON, 200);
    hit = json_array_get(json_object_get(r, "results"), 0);
    ck_assert_str_eq(sget(hit, "availability"), "Archived");
    ck_assert(json_is_true(json_object_get(hit, "is_enrollable")));
    json_decref(r);
}
END_TEST

START_TEST(test_pagination)
{
    char keys[4096], seen[4096] = "";
    json_t *p1 = get("/api/v1/search/course_runs/?page_size=4", 200);
    ck_assert_int_eq(iget(p1, "count"), 6);
    ck_assert_str_eq(sget(p1, "next"), BASE "/api/v1/search/course_runs/?page_size=4&page=2");
    strcat(seen, keys_of(json_object_get(p1, "results"), keys, sizeof keys));
    json_decref(p1);
    json_t *p2 = get("/api/v1/search/course_runs/?page_size=4&page=2", 200);
    ck_assert(json_is_null(json_object_get(p2, "next")));
    ck_assert_str_eq(sget(p2, "previous"), BASE "/api/v1/search/course_runs/?page_size=4");
    ck_assert_uint_eq(json_array_size(json_object_get(p2, "results")), 2);
    keys_of(json_object_get(p2, "results"), keys, sizeof keys);
    json_decref(p2);
    /* no hit on both pages */
    char *save = NULL;
    for (char *k = strtok_r(keys, ",", &save); k; k = strtok_r(NULL, ",", &save))
        ck_assert_msg(!contains(seen, k), "%s on both pages", k);
    json_decref(get("/api/v1/search/course_runs/?page_size=4&page=3", 404));
    json_t *lo = get("/api/v1/search/course_runs/?limit=2&offset=5", 200);
    ck_assert_uint_eq(json_array_size(json_object_get(lo, "results")), 1);
    ck_assert(json_is_null(json_object_get(lo, "next")));
    ck_assert_str_eq(sget(lo, "previous"), BASE "/api/v1/search/course_runs/?limit=2&offset=3");
    json_decref(lo);
    json_t *bad = get("/api/v1/search/all/?page_size=0", 400);
    ck_assert_ptr_nonnull(json_object_get(bad, "page_size"));
    json_decref(bad);
}
END_TEST

/* A filter that must answer exactly want (comma-separated keys, any
 * order, compared sorted by the caller's listing order). */
static void expect_keys(const char *target, const char *want)
{
    char got[4096];
    json_t *r = get(target, 200);
    keys_of(json_object_get(r, "results"), got, sizeof got);
    json_int_t count = iget(r, "count");
    json_decref(r);
    /* same set: every wanted key present and the same number */
    size_t n_want = *want ? 1 : 0;
    for (const char *p = want; *p; p++)
        n_want += *p == ',';
    ck_assert_msg((size_t)count == n_want, "%s: %s, want %s", target, got, want);
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", want);
    char *save = NULL;
    for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save))
        ck_assert_msg(contains(got, k), "%s: %s, want %s", target, got, want);
}

START_TEST(test_field_filters)
{
    expect_keys("/api/v1/search/course_runs/?org=HarvardX", RUN_CS50);
    expect_keys("/api/v1/search/course_runs/?pacing_type=self_paced", RUN_CUR "," RUN_CS50);
    expect_keys("/api/v1/search/all/?language=es", RUN_CS50);
    expect_keys("/api/v1/search/all/?level_type=Introductory&pacing_type=instructor_paced",
                RUN_SOON);
    expect_keys("/api/v1/search/all/?subjects=Computer+Science", RUN_CS50 ",HarvardX+CS50");
    expect_keys("/api/v1/search/all/?content_type=program", PROGRAM);
    /* a content_type outside the endpoint's own: nothing */
    expect_keys("/api/v1/search/courses/?content_type=program", "");
    expect_keys("/api/v1/search/course_runs/?availability=archived", RUN_ML);
    expect_keys("/api/v1/search/course_runs/?availability=starting_soon", RUN_SOON);
    expect_keys("/api/v1/search/course_runs/?start__gte=2025-06-01&start__lte=2025-08-01",
                RUN_SOON);
    expect_keys("/api/v1/search/course_runs/?start__gte=2025-08-01T00:00:00Z", RUN_CS50);
    expect_keys("/api/v1/search/course_runs/?start__gte=2025-08-01&start__lte=2025-07-01", "");
    /* an empty value is no filter */
    json_t *r = get("/api/v1/search/course_runs/?org=", 200);
    ck_assert_int_eq(iget(r, "count"), 6);
    json_decref(r);

    static const char *const bad[][2] = {
        {"/api/v1/search/all/?pacing_type=fast", "pacing_type"},
        {"/api/v1/search/all/?content_type=video", "content_type"},
        {"/api/v1/search/all/?availability=soon", "availability"},
        {"/api/v1/search/all/?start__gte=tomorrow", "start__gte"},
        {"/api/v1/search/all/?start__lte=2025-13-45", "start__lte"},
        {"/api/v1/search/all/?ordering=price", "ordering"},
        {"/api/v1/search/all/?q=%22abc", "q"},
        {"/api/v1/search/all/facets/?q=a+OR", "q"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *e = get(bad[i][0], 400);
        json_t *msgs = json_object_get(e, bad[i][1]);
        ck_assert_msg(json_is_array(msgs) && json_array_size(msgs) == 1, "%s: %s", bad[i][0],
                      last_body);
        json_decref(e);
    }
    json_t *e = get("/api/v1/search/all/?q=%22abc", 400);
    const char *msg = json_string_value(json_array_get(json_object_get(e, "q"), 0));
    ck_assert_msg(msg && strstr(msg, "position 1"), "%s", last_body);
    json_decref(e);
}
END_TEST

START_TEST(test_ordering)
{
    char keys[4096];
    json_t *r = get("/api/v1/search/course_runs/?ordering=start", 200);
    keys_of(json_object_get(r, "results"), keys, sizeof keys);
    ck_assert_msg(strncmp(keys, RUN_ML ",", strlen(RUN_ML) + 1) == 0, "%s", keys);
    json_decref(r);
    r = get("/api/v1/search/course_runs/?ordering=-start", 200);
    keys_of(json_object_get(r, "results"), keys, sizeof keys);
    ck_assert_msg(strncmp(keys, RUN_CS50 ",", strlen(RUN_CS50) + 1) == 0, "%s", keys);
    json_decref(r);
}
END_TEST

/* Relevance first (a title match above a description-only match, however
 * boosted), then the boosts (enrollable now, self-paced, starting later)
 * between hits of equal text. */
START_TEST(test_ranking)
{
    char keys[4096];
    json_t *r = get("/api/v1/search/course_runs/?q=circuits%20electronics", 200);
    keys_of(json_object_get(r, "results"), keys, sizeof keys);
    json_decref(r);
    ck_assert_msg(strcmp(keys, RUN_CUR "," RUN_SOON) == 0, "boosts: %s", keys);
    r = get("/api/v1/search/course_runs/?q=circuits", 200);
    keys_of(json_object_get(r, "results"), keys, sizeof keys);
    json_decref(r);
    const char *last = strrchr(keys, ',');
    ck_assert_msg(last && strcmp(last + 1, RUN_CS50) == 0, "description match not last: %s", keys);
    ck_assert_msg(strstr(keys, RUN_CUR) < strstr(keys, RUN_SOON), "%s", keys);
}
END_TEST

/* ---- facets ---- */

/* Does hit carry value in field (an array field holds it, a string field
 * equals it)? */
static bool carries(const json_t *hit, const char *field, const char *value)
{
    const json_t *v = json_object_get(hit, field);
    if (json_is_string(v))
        return strcmp(json_string_value(v), value) == 0;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) if (json_is_string(x) &&
                                    strcmp(json_string_value(x), value) == 0) return true;
    return false;
}

/* The target a narrow_url points at, relative to the public URL. */
static const char *local(const char *url)
{
    ck_assert_msg(strncmp(url, BASE "/api/v1/", strlen(BASE "/api/v1/")) == 0, "%s", url);
    return url + strlen(BASE);
}

/* A copy of target with %XX decoded in the path part, as the server hands
 * paths to handlers (query left encoded for query_params_parse). */
static json_t *follow(const char *url)
{
    char target[4096];
    snprintf(target, sizeof target, "%s", local(url));
    return get(target, 200);
}

static void check_facets(const char *target)
{
    json_t *f = get(target, 200);
    json_t *objects = json_object_get(f, "objects");
    json_t *hits = json_object_get(objects, "results");
    ck_assert_msg(iget(objects, "count") == (json_int_t)json_array_size(hits),
                  "need every hit on the page: %s", target);
    ck_assert(json_is_null(json_object_get(objects, "next")));
    json_t *fields = json_object_get(f, "fields");
    static const char *const names[] = {"organizations", "subjects",   "level_type",  "language",
                                        "pacing_type",   "seat_types", "content_type"};
    for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
        json_t *list = json_object_get(fields, names[n]);
        ck_assert_msg(json_is_array(list), "%s: no %s", target, names[n]);
        json_int_t previous = -1;
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            const char *text = sget(item, "text");
            json_int_t count = iget(item, "count");
            json_int_t want = 0;
            size_t j;
            json_t *hit;
            json_array_foreach(hits, j, hit) want += carries(hit, names[n], text);
            ck_assert_msg(count == want, "%s: %s=%s counts %lld, %lld hits carry it", target,
                          names[n], text, (long long)count, (long long)want);
            ck_assert_msg(previous < 0 || count <= previous, "%s: %s not by count", target,
                          names[n]);
            previous = count;
            /* the narrowed request answers exactly the counted hits */
            json_t *narrowed = follow(sget(item, "narrow_url"));
            ck_assert_int_eq(iget(json_object_get(narrowed, "objects"), "count"), count);
            json_decref(narrowed);
        }
    }
    /* availability query facets: the hits' availability (a document
     * without dates is upcoming), empty ones left out */
    static const char *const slugs[][2] = {{"availability_current", "Current"},
                                           {"availability_starting_soon", "Starting Soon"},
                                           {"availability_upcoming", "Upcoming"},
                                           {"availability_archived", "Archived"}};
    json_t *queries = json_object_get(f, "queries");
    for (size_t s = 0; s < 4; s++) {
        json_int_t want = 0;
        size_t j;
        json_t *hit;
        json_array_foreach(hits, j, hit)
        {
            const char *a = sget(hit, "availability");
            want += strcmp(a ? a : "Upcoming", slugs[s][1]) == 0;
        }
        json_t *q = json_object_get(queries, slugs[s][0]);
        if (want == 0) {
            ck_assert_msg(q == NULL, "%s: empty %s not omitted", target, slugs[s][0]);
            continue;
        }
        ck_assert_msg(q != NULL && iget(q, "count") == want, "%s: %s, want %lld: %s", target,
                      slugs[s][0], (long long)want, last_body);
        json_t *narrowed = follow(sget(q, "narrow_url"));
        ck_assert_int_eq(iget(json_object_get(narrowed, "objects"), "count"), want);
        json_decref(narrowed);
    }
    json_decref(f);
}

START_TEST(test_facet_counts)
{
    check_facets("/api/v1/search/all/facets/?page_size=100");
    check_facets("/api/v1/search/all/facets/?q=circuits&page_size=100");
    check_facets("/api/v1/search/course_runs/facets/?page_size=100&pacing_type=self_paced");
    /* page size never changes a count */
    json_t *small = get("/api/v1/search/all/facets/?page_size=1", 200);
    json_t *big = get("/api/v1/search/all/facets/?page_size=100", 200);
    json_t *org =
        json_array_get(json_object_get(json_object_get(small, "fields"), "organizations"), 0);
    json_t *org_big =
        json_array_get(json_object_get(json_object_get(big, "fields"), "organizations"), 0);
    ck_assert_int_eq(iget(org, "count"), iget(org_big, "count"));
    /* narrow_url of page 2 drops the page */
    json_decref(small);
    json_decref(big);
    json_t *p2 = get("/api/v1/search/all/facets/?page_size=2&page=2", 200);
    json_t *first =
        json_array_get(json_object_get(json_object_get(p2, "fields"), "organizations"), 0);
    ck_assert_str_eq(sget(first, "narrow_url"),
                     BASE "/api/v1/search/all/facets/?page_size=2&selected_facets="
                          "organizations_exact%3AMITx%3A%20Massachusetts%20Institute%20of%20"
                          "Technology");
    ck_assert_ptr_nonnull(json_object_get(p2, "objects"));
    ck_assert_str_eq(sget(json_object_get(p2, "objects"), "next"),
                     BASE "/api/v1/search/all/facets/?page_size=2&page=3");
    json_decref(p2);
}
END_TEST

START_TEST(test_selected_facets)
{
    json_t *f = get("/api/v1/search/all/facets/?selected_facets=organizations_exact:HarvardX:"
                    "%20Harvard%20University",
                    200);
    ck_assert_int_eq(iget(json_object_get(f, "objects"), "count"), 2);
    json_t *lang = json_object_get(json_object_get(f, "fields"), "language");
    ck_assert_uint_eq(json_array_size(lang), 1);
    ck_assert_str_eq(sget(json_array_get(lang, 0), "text"), "es");
    /* a second selection keeps the first, sorted, in the narrow_url */
    ck_assert_str_eq(sget(json_array_get(lang, 0), "narrow_url"),
                     BASE "/api/v1/search/all/facets/?selected_facets=language_exact%3Aes&"
                          "selected_facets=organizations_exact%3AHarvardX%3A%20Harvard%20"
                          "University");
    json_decref(f);
    /* two selections both apply */
    json_t *both = get("/api/v1/search/all/facets/?selected_facets=content_type_exact:courserun"
                       "&selected_facets=subjects_exact:Computer%20Science",
                       200);
    ck_assert_int_eq(iget(json_object_get(both, "objects"), "count"), 1);
    json_decref(both);
    /* selected query facets; two different ones leave nothing */
    json_t *cur = get("/api/v1/search/course_runs/facets/?selected_query_facets="
                      "availability_current",
                      200);
    ck_assert_int_eq(iget(json_object_get(cur, "objects"), "count"), 3);
    ck_assert_ptr_null(json_object_get(json_object_get(cur, "queries"), "availability_archived"));
    json_decref(cur);
    json_t *none = get("/api/v1/search/course_runs/facets/?selected_query_facets="
                       "availability_current&availability=archived",
                       200);
    ck_assert_int_eq(iget(json_object_get(none, "objects"), "count"), 0);
    ck_assert_uint_eq(json_object_size(json_object_get(none, "queries")), 0);
    json_decref(none);

    static const char *const bad[][2] = {
        {"/api/v1/search/all/facets/?selected_facets=colour_exact:red", "selected_facets"},
        {"/api/v1/search/all/facets/?selected_facets=nocolon", "selected_facets"},
        {"/api/v1/search/all/facets/?selected_facets=language_exact:", "selected_facets"},
        {"/api/v1/search/all/facets/?selected_query_facets=price_low", "selected_query_facets"},
        {"/api/v1/search/all/facets/?selected_query_facets=availability_never",
         "selected_query_facets"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *e = get(bad[i][0], 400);
        ck_assert_msg(json_is_array(json_object_get(e, bad[i][1])), "%s: %s", bad[i][0], last_body);
        json_decref(e);
    }
    /* too many selections */
    char many[8192] = "/api/v1/search/all/?";
    for (int i = 0; i < 40; i++)
        strcat(many, "org=MITx&");
    json_decref(get(many, 400));
}
END_TEST

START_TEST(test_visitor_facets_hide_private)
{
    /* Secret and hidden runs carry MITx too: a visitor's counts must not
     * include them, staff's must. */
    json_t *v = get("/api/v1/search/course_runs/facets/?q=circuits", 200);
    json_t *s = get_as("/api/v1/search/course_runs/facets/?q=circuits", true, 200);
    json_t *vo = json_array_get(json_object_get(json_object_get(v, "fields"), "organizations"), 0);
    json_t *so = json_array_get(json_object_get(json_object_get(s, "fields"), "organizations"), 0);
    ck_assert_str_eq(sget(vo, "text"), "MITx: Massachusetts Institute of Technology");
    ck_assert_int_eq(iget(vo, "count"), 2);
    ck_assert_int_eq(iget(so, "count"), 4);
    json_decref(v);
    json_decref(s);
}
END_TEST

/* ---- typeahead ---- */

START_TEST(test_typeahead)
{
    json_t *t = get("/api/v1/search/typeahead/?q=circ", 200);
    json_t *runs = json_object_get(t, "course_runs");
    json_t *programs = json_object_get(t, "programs");
    ck_assert_uint_eq(json_array_size(runs), 3); /* four public runs match; at most 3 */
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        ck_assert_ptr_nonnull(sget(r, "key"));
        ck_assert_ptr_nonnull(strstr(sget(r, "title"), "Circuits"));
        ck_assert_ptr_nonnull(json_object_get(r, "marketing_url"));
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "orgs"), 0)), "MITx");
        ck_assert_uint_eq(json_object_size(r), 4);
        ck_assert_ptr_null(strstr(sget(r, "key"), "SECRET"));
    }
    ck_assert_uint_eq(json_array_size(programs), 1);
    json_t *p = json_array_get(programs, 0);
    ck_assert_str_eq(sget(p, "uuid"), PROGRAM);
    ck_assert_str_eq(sget(p, "type"), "MicroMasters");
    ck_assert_str_eq(sget(p, "marketing_url"), "https://x.example/p");
    ck_assert_uint_eq(json_object_size(p), 5);
    json_decref(t);

    /* org names and keys match too */
    t = get("/api/v1/search/typeahead/?q=harv", 200);
    ck_assert_str_eq(sget(json_array_get(json_object_get(t, "course_runs"), 0), "key"), RUN_CS50);
    json_decref(t);
    /* staff see the secret run */
    t = get_as("/api/v1/search/typeahead/?q=secret", true, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(t, "course_runs")), 1);
    json_decref(t);
    t = get("/api/v1/search/typeahead/?q=secret", 200);
    ck_assert_uint_eq(json_array_size(json_object_get(t, "course_runs")), 0);
    json_decref(t);
    /* no word: empty lists */
    t = get("/api/v1/search/typeahead/?q=%21%21", 200);
    ck_assert_uint_eq(json_array_size(json_object_get(t, "course_runs")), 0);
    json_decref(t);

    json_t *e = get("/api/v1/search/typeahead/", 400);
    ck_assert(json_is_array(json_object_get(e, "q")));
    json_decref(e);
    e = get("/api/v1/search/typeahead/?q=", 400);
    ck_assert(json_is_array(json_object_get(e, "q")));
    json_decref(e);
    char longq[1200] = "/api/v1/search/typeahead/?q=";
    memset(longq + strlen(longq), 'a', 1100);
    longq[sizeof longq - 1] = '\0';
    json_decref(get(longq, 400));
}
END_TEST

/* ---- q on lists ---- */

static void seed_store(void)
{
    post("/api/v1/organizations/", "{\"key\":\"MITx\",\"name\":\"Massachusetts Institute of "
                                   "Technology\"}");
    post("/api/v1/organizations/", "{\"key\":\"HarvardX\",\"name\":\"Harvard University\"}");
    post("/api/v1/program_types/", "{\"slug\":\"micromasters\",\"name\":\"MicroMasters\"}");
    post("/api/v1/courses/",
         "{\"key\":\"MITx+CIRC\",\"title\":\"Circuits and Electronics\",\"owners\":[\"MITx\"],"
         "\"course_runs\":[{\"key\":\"" RUN_CUR "\",\"status\":\"published\","
         "\"start\":\"2025-01-01T00:00:00Z\"},{\"key\":\"" RUN_SOON "\",\"status\":"
         "\"published\",\"start\":\"2025-07-01T00:00:00Z\"}]}");
    post("/api/v1/courses/", "{\"key\":\"MITx+ML\",\"title\":\"Machine Learning\",\"owners\":"
                             "[\"MITx\"],\"course_runs\":[{\"key\":\"" RUN_ML "\",\"status\":"
                             "\"published\",\"start\":\"2024-01-01T00:00:00Z\"}]}");
    post("/api/v1/courses/", "{\"key\":\"HarvardX+CS50\",\"title\":\"Introduction to Computer "
                             "Science\",\"owners\":[\"HarvardX\"],\"course_runs\":[{\"key\":"
                             "\"" RUN_CS50 "\",\"status\":\"published\",\"start\":"
                             "\"2025-09-01T00:00:00Z\"}]}");
    post("/api/v1/programs/", "{\"uuid\":\"" PROGRAM "\",\"title\":\"Circuits MicroMasters\","
                              "\"type\":\"micromasters\",\"status\":\"active\",\"courses\":"
                              "[\"MITx+CIRC\"]}");
}

START_TEST(test_q_on_lists)
{
    seed_store();
    expect_keys("/api/v1/courses/?q=circuits", "MITx+CIRC");
    /* MITx+ML came only from the store: writes reach the index (after_commit) */
    expect_keys("/api/v1/courses/?q=-circuits", "HarvardX+CS50,MITx+ML");
    expect_keys("/api/v1/courses/?q=-circuits&keys=MITx%2BCIRC", "");
    expect_keys("/api/v1/courses/?q=-circuits&keys=MITx%2BCIRC,HarvardX%2BCS50", "HarvardX+CS50");
    expect_keys("/api/v1/course_runs/?q=circuits", RUN_CUR "," RUN_SOON);
    expect_keys("/api/v1/course_runs/?q=org:mitx", RUN_CUR "," RUN_SOON "," RUN_ML);
    expect_keys("/api/v1/course_runs/"
                "?q=circuits&keys=course-v1:MITx%2BCIRC%2B3T2025,course-v1:MITx%2BML%2B1T2024",
                RUN_SOON);
    expect_keys("/api/v1/course_runs/?q=nothingmatches", "");
    expect_keys("/api/v1/programs/?q=micromasters", PROGRAM);
    expect_keys("/api/v1/programs/?q=python", "");
    /* without q the list is the store's */
    expect_keys("/api/v1/courses/", "HarvardX+CS50,MITx+CIRC,MITx+ML");
    /* pagination runs over the matches, in the list's order */
    json_t *p = get("/api/v1/course_runs/?q=org:mitx&page_size=2", 200);
    ck_assert_int_eq(iget(p, "count"), 3);
    ck_assert_str_eq(sget(p, "next"), BASE "/api/v1/course_runs/?q=org%3Amitx&page_size=2&page=2");
    json_decref(p);
    p = get("/api/v1/course_runs/?q=org:mitx&page_size=2&page=2", 200);
    ck_assert_uint_eq(json_array_size(json_object_get(p, "results")), 1);
    json_decref(p);
    /* programs: uuids_only honours q */
    json_t *u = get("/api/v1/programs/?q=micromasters&uuids_only=1", 200);
    ck_assert_uint_eq(json_array_size(u), 1);
    ck_assert_str_eq(json_string_value(json_array_get(u, 0)), PROGRAM);
    json_decref(u);
    json_t *e = get("/api/v1/courses/?q=(circuits", 400);
    ck_assert(json_is_array(json_object_get(e, "q")));
    json_decref(e);
    /* q on a kind without documents is ignored, as unknown params are */
    json_decref(get("/api/v1/organizations/?q=(", 200));
}
END_TEST

START_TEST(test_write_is_searchable)
{
    seed_store();
    expect_keys("/api/v1/search/courses/?q=zygomorphic", "");
    post("/api/v1/courses/", "{\"key\":\"MITx+BOT\",\"title\":\"Zygomorphic Botany\","
                             "\"owners\":[\"MITx\"],\"course_runs\":[{\"key\":"
                             "\"course-v1:MITx+BOT+1T2025\",\"status\":\"published\","
                             "\"start\":\"2025-05-01T00:00:00Z\",\"end\":"
                             "\"2025-09-01T00:00:00Z\"}]}");
    expect_keys("/api/v1/search/all/?q=zygomorphic", "MITx+BOT,course-v1:MITx+BOT+1T2025");
    json_t *r = get("/api/v1/search/courses/?q=zygomorphic", 200);
    json_t *runs = json_object_get(json_array_get(json_object_get(r, "results"), 0), "course_runs");
    ck_assert_uint_eq(json_array_size(runs), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "availability")),
                     "Current");
    json_decref(r);
}
END_TEST

/* ---- no backend ---- */

START_TEST(test_unavailable)
{
    seed_store();
    fx.app.search->driver->close(fx.app.search);
    fx.app.search = NULL;
    static const char *const targets[] = {
        "/api/v1/search/all/",           "/api/v1/search/courses/facets/",
        "/api/v1/search/course_runs/",   "/api/v1/search/programs/facets/",
        "/api/v1/search/typeahead/?q=a", "/api/v1/courses/?q=circuits",
        "/api/v1/programs/?q=x",
    };
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        json_t *e = get(targets[i], 503);
        ck_assert_msg(sget(e, "detail") != NULL, "%s: %s", targets[i], last_body);
        json_decref(e);
    }
    /* the rest of the API keeps serving */
    expect_keys("/api/v1/courses/", "HarvardX+CS50,MITx+CIRC,MITx+ML");
}
END_TEST

/* ---- hostile q ---- */

START_TEST(test_hostile_q)
{
    static char target[16384];
    int status;
    static const char *const qs[] = {
        "NEAR(a b)", "col:x", "title:",  "\"", "a OR", "(((", ")))",           "-",     "*",
        "a*b*",      "AND",   "NOT NOT", "^2", "{}",   "\\",  "%C3%A9conomie", "key:(", "a:b:c",
    };
    static const char *const paths[] = {"/api/v1/search/all/", "/api/v1/search/all/facets/",
                                        "/api/v1/search/typeahead/", "/api/v1/courses/"};
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
            snprintf(target, sizeof target, "%s?q=%s", paths[p], qs[i]);
            json_decref(call(target, false, &status));
            ck_assert_msg(status == 200 || status == 400, "%s: %d %s", target, status, last_body);
        }
        /* 10 KB of '(' */
        size_t len = (size_t)snprintf(target, sizeof target, "%s?q=", paths[p]);
        memset(target + len, '(', 10240);
        target[len + 10240] = '\0';
        json_t *e = call(target, false, &status);
        ck_assert_msg(status == 400 && json_is_array(json_object_get(e, "q")), "%d %.200s", status,
                      last_body);
        json_decref(e);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_search");
    TCase *tc = tcase_create("search");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hits_shape_and_visibility);
    tcase_add_test(tc, test_computed_values);
    tcase_add_test(tc, test_pagination);
    tcase_add_test(tc, test_field_filters);
    tcase_add_test(tc, test_ordering);
    tcase_add_test(tc, test_ranking);
    tcase_add_test(tc, test_facet_counts);
    tcase_add_test(tc, test_selected_facets);
    tcase_add_test(tc, test_visitor_facets_hide_private);
    tcase_add_test(tc, test_typeahead);
    tcase_add_test(tc, test_q_on_lists);
    tcase_add_test(tc, test_write_is_searchable);
    tcase_add_test(tc, test_unavailable);
    tcase_add_test(tc, test_hostile_q);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
