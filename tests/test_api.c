/*
 * test_api - the catalog handlers called directly (through the real route
 * table) against a real sqlite store in a temporary directory.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "clock.h"
#include "http_router.h"
#include "store.h"
#include "testutil.h"

static struct test_app fx;

static void setup(void)
{
    const char *sets[] = {"auth.allow_anonymous_writes=true", NULL};
    test_app_open(&fx, "2025-03-01T00:00:00Z", false, sets);
    fx.app.allow_anonymous_writes = true;
}

static void teardown(void)
{
    test_app_close(&fx);
}

/* The last response, for assertions on its raw text. */
static char last_body[65536];

/* test_app_call on this file's app, keeping the raw body in last_body. */
static json_t *call_ct(enum http_method method, const char *target, const char *body,
                       const char *content_type, bool staff, int *status)
{
    return test_app_call(&fx.app, method, target, body, content_type, staff, status, last_body,
                         sizeof last_body);
}

static json_t *call(enum http_method method, const char *target, const char *body, bool staff,
                    int *status)
{
    return call_ct(method, target, body, body ? "application/json" : NULL, staff, status);
}

/* A staff request that must answer want; returns the body. */
static json_t *expect(enum http_method method, const char *target, const char *body, int want)
{
    int status;
    json_t *out = call(method, target, body, true, &status);
    ck_assert_msg(status == want, "%s: status %d, want %d: %s", target, status, want, last_body);
    return out;
}

static void post(const char *collection, const char *body)
{
    json_decref(expect(HTTP_POST, collection, body, 201));
}

static size_t count_of(enum entity_kind kind)
{
    size_t n = 0;
    struct error err = {0};
    ck_assert_msg(store_count(fx.app.store, kind, &n, &err) == 0, "count: %s", err.message);
    return n;
}

static const char *sget(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(obj, field));
}

/* A small catalog: two orgs, a subject, a program type, a course with four
 * runs in different states, and two programs. */
static void seed(void)
{
    post("/api/v1/organizations/", "{\"key\":\"MITx\",\"name\":\"Massachusetts Institute of "
                                   "Technology\",\"tags\":[\"charter\"]}");
    post("/api/v1/organizations/", "{\"key\":\"HarvardX\",\"name\":\"Harvard\"}");
    post("/api/v1/subjects/", "{\"slug\":\"physics\",\"name\":\"Physics\"}");
    post("/api/v1/program_types/", "{\"slug\":\"micromasters\",\"name\":\"MicroMasters\","
                                   "\"applicable_seat_types\":[\"verified\"]}");
    post("/api/v1/courses/",
         "{\"key\":\"MITx+6.002x\",\"title\":\"Circuits\",\"short_description\":\"Course "
         "short\",\"owners\":[\"MITx\"],\"subjects\":[\"physics\"],\"course_runs\":["
         "{\"key\":\"course-v1:MITx+6.002x+1T2025\",\"start\":\"2025-01-01T00:00:00Z\","
         "\"end\":\"2025-06-01T00:00:00Z\",\"status\":\"published\",\"pacing_type\":"
         "\"instructor_paced\",\"marketing_url\":\"https://x.example/c\",\"content_language\":"
         "\"en\",\"seats\":[{\"type\":\"audit\",\"price\":\"0.00\",\"currency\":\"USD\"},"
         "{\"type\":\"verified\",\"price\":\"149.00\",\"currency\":\"USD\"}]},"
         "{\"key\":\"course-v1:MITx+6.002x+2T2024\",\"title\":\"Old run\",\"start\":"
         "\"2024-01-01T00:00:00Z\",\"end\":\"2024-06-01T00:00:00Z\",\"status\":\"published\","
         "\"pacing_type\":\"self_paced\",\"seats\":[{\"type\":\"verified\",\"price\":\"99.00\","
         "\"currency\":\"USD\"}]},"
         "{\"key\":\"course-v1:MITx+6.002x+3T2025\",\"start\":\"2025-04-01T00:00:00Z\","
         "\"enrollment_start\":\"2025-03-15T00:00:00Z\",\"status\":\"unpublished\"},"
         "{\"key\":\"course-v1:MITx+6.002x+4T2025\",\"start\":\"2025-09-01T00:00:00Z\","
         "\"status\":\"published\",\"hidden\":true}]}");
    post("/api/v1/courses/", "{\"key\":\"HarvardX+CS50\",\"title\":\"CS50\",\"owners\":"
                             "[\"HarvardX\"]}");
    post("/api/v1/programs/",
         "{\"uuid\":\"11111111-1111-4111-8111-111111111111\",\"title\":\"Circuits "
         "MicroMasters\",\"type\":\"micromasters\",\"status\":\"active\",\"marketing_slug\":"
         "\"circuits\",\"courses\":[\"MITx+6.002x\"],\"authoring_organizations\":[\"MITx\"]}");
    post("/api/v1/programs/",
         "{\"uuid\":\"22222222-2222-4222-8222-222222222222\",\"title\":\"Draft\",\"type\":"
         "\"micromasters\",\"status\":\"unpublished\",\"courses\":[\"HarvardX+CS50\"]}");
}

/* ---- reads ---- */

START_TEST(test_organization_crud)
{
    json_t *o = expect(HTTP_POST, "/api/v1/organizations/",
                       "{\"key\":\"MITx\",\"name\":\"MIT\",\"tags\":[\"a\"]}", 201);
    ck_assert_str_eq(sget(o, "key"), "MITx");
    ck_assert_str_eq(sget(o, "name"), "MIT");
    ck_assert_int_eq(json_string_length(json_object_get(o, "uuid")), 36);
    ck_assert(json_is_null(json_object_get(o, "homepage_url")));
    ck_assert(json_object_get(o, "certificate_logo_image_url") != NULL);
    char uuid[64], path[256];
    snprintf(uuid, sizeof uuid, "%s", sget(o, "uuid"));
    json_decref(o);

    snprintf(path, sizeof path, "/api/v1/organizations/%s/", uuid);
    o = expect(HTTP_GET, path, NULL, 200);
    ck_assert_str_eq(sget(o, "key"), "MITx");
    json_decref(o);

    o = expect(HTTP_PUT, "/api/v1/organizations/MITx/", "{\"key\":\"MITx\",\"name\":\"M.I.T.\"}",
               200);
    ck_assert_str_eq(sget(o, "name"), "M.I.T.");
    ck_assert_str_eq(sget(o, "uuid"), uuid); /* kept */
    json_decref(o);

    o = expect(HTTP_PATCH, "/api/v1/organizations/MITx/", "{\"description\":\"Tech\"}", 200);
    ck_assert_str_eq(sget(o, "name"), "M.I.T.");
    ck_assert_str_eq(sget(o, "description"), "Tech");
    json_decref(o);

    o = expect(HTTP_GET, "/api/v1/organizations/", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "count")), 1);
    json_decref(o);

    ck_assert_ptr_null(expect(HTTP_DELETE, "/api/v1/organizations/MITx/", NULL, 204));
    ck_assert_str_eq(last_body, "");
    o = expect(HTTP_GET, "/api/v1/organizations/MITx/", NULL, 404);
    ck_assert_str_eq(sget(o, "detail"), "Not found.");
    json_decref(o);
}
END_TEST

START_TEST(test_subject_and_program_type)
{
    json_t *s =
        expect(HTTP_POST, "/api/v1/subjects/", "{\"slug\":\"math\",\"name\":\"Math\"}", 201);
    ck_assert_str_eq(sget(s, "slug"), "math");
    ck_assert(json_object_get(s, "card_image_url") != NULL);
    json_decref(s);
    s = expect(HTTP_PATCH, "/api/v1/subjects/math/", "{\"subtitle\":\"Numbers\"}", 200);
    ck_assert_str_eq(sget(s, "subtitle"), "Numbers");
    json_decref(s);
    s = expect(HTTP_GET, "/api/v1/subjects/?slug=math", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "count")), 1);
    json_decref(s);

    json_t *t = expect(HTTP_POST, "/api/v1/program_types/",
                       "{\"slug\":\"xseries\",\"name\":\"XSeries\",\"applicable_seat_types\":"
                       "[\"verified\",\"professional\"]}",
                       201);
    ck_assert_str_eq(sget(t, "name"), "XSeries");
    ck_assert_int_eq(json_array_size(json_object_get(t, "applicable_seat_types")), 2);
    ck_assert(json_object_get(t, "coaching_supported") != NULL);
    json_decref(t);
    t = expect(HTTP_PUT, "/api/v1/program_types/xseries/",
               "{\"slug\":\"xseries\",\"name\":\"X Series\"}", 200);
    ck_assert_str_eq(sget(t, "name"), "X Series");
    json_decref(t);
    ck_assert_ptr_null(expect(HTTP_DELETE, "/api/v1/program_types/xseries/", NULL, 204));
    ck_assert_uint_eq(count_of(ENTITY_PROGRAM_TYPE), 0);
}
END_TEST

static json_t *find_by(const json_t *arr, const char *field, const char *value)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = sget(v, field);
        if (s != NULL && strcmp(s, value) == 0)
            return v;
    }
    return NULL;
}

START_TEST(test_course_detail_nested)
{
    seed();
    json_t *c = expect(HTTP_GET, "/api/v1/courses/MITx+6.002x/", NULL, 200);
    ck_assert_str_eq(sget(c, "key"), "MITx+6.002x");
    json_t *owner = json_array_get(json_object_get(c, "owners"), 0);
    ck_assert_str_eq(sget(owner, "key"), "MITx");
    ck_assert_str_eq(sget(owner, "name"), "Massachusetts Institute of Technology");
    ck_assert_str_eq(sget(json_array_get(json_object_get(c, "subjects"), 0), "name"), "Physics");
    /* Staff see all four runs. */
    ck_assert_int_eq(json_array_size(json_object_get(c, "course_runs")), 4);
    ck_assert_int_eq(json_array_size(json_object_get(c, "course_run_keys")), 4);
    json_t *p = json_array_get(json_object_get(c, "programs"), 0);
    ck_assert_str_eq(sget(p, "uuid"), "11111111-1111-4111-8111-111111111111");
    ck_assert_str_eq(sget(p, "type"), "MicroMasters");
    ck_assert_str_eq(sget(json_object_get(p, "type_attrs"), "slug"), "micromasters");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "number_of_courses")), 1);
    json_decref(c);

    /* The public sees only the published, visible runs. */
    int status;
    c = call(HTTP_GET, "/api/v1/courses/MITx+6.002x/", NULL, false, &status);
    ck_assert_int_eq(status, 200);
    json_t *keys = json_object_get(c, "course_run_keys");
    ck_assert_int_eq(json_array_size(keys), 2);
    ck_assert_ptr_null(
        find_by(json_object_get(c, "course_runs"), "key", "course-v1:MITx+6.002x+3T2025"));
    ck_assert_ptr_null(
        find_by(json_object_get(c, "course_runs"), "key", "course-v1:MITx+6.002x+4T2025"));
    json_decref(c);

    /* By uuid too. */
    c = expect(HTTP_GET, "/api/v1/courses/HarvardX+CS50/", NULL, 200);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/courses/%s/", sget(c, "uuid"));
    json_decref(c);
    c = expect(HTTP_GET, path, NULL, 200);
    ck_assert_str_eq(sget(c, "key"), "HarvardX+CS50");
    /* The unpublished program is not listed to anyone but staff. */
    ck_assert_int_eq(json_array_size(json_object_get(c, "programs")), 1);
    json_decref(c);
    c = call(HTTP_GET, path, NULL, false, &status);
    ck_assert_int_eq(json_array_size(json_object_get(c, "programs")), 0);
    json_decref(c);
}
END_TEST

START_TEST(test_run_derived_values)
{
    seed(); /* now is 2025-03-01 */
    json_t *r = expect(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+1T2025/", NULL, 200);
    ck_assert_str_eq(sget(r, "availability"), "Current");
    ck_assert(json_is_true(json_object_get(r, "is_enrollable")));
    ck_assert(json_is_true(json_object_get(r, "is_marketable")));
    ck_assert_str_eq(sget(r, "type"), "verified");
    ck_assert_str_eq(sget(r, "course"), "MITx+6.002x");
    ck_assert_int_eq(json_string_length(json_object_get(r, "course_uuid")), 36);
    /* No title of its own: the course's. */
    ck_assert_str_eq(sget(r, "title"), "Circuits");
    ck_assert_str_eq(sget(r, "short_description"), "Course short");
    ck_assert_int_eq(json_array_size(json_object_get(r, "seats")), 2);
    ck_assert_str_eq(sget(json_array_get(json_object_get(r, "programs"), 0), "title"),
                     "Circuits MicroMasters");
    json_decref(r);

    r = expect(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+2T2024/", NULL, 200);
    ck_assert_str_eq(sget(r, "availability"), "Archived");
    ck_assert_str_eq(sget(r, "title"), "Old run");
    ck_assert(json_is_false(json_object_get(r, "is_marketable"))); /* no marketing URL */
    json_decref(r);

    r = expect(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+3T2025/", NULL, 200);
    ck_assert_str_eq(sget(r, "availability"), "Starting Soon");
    ck_assert(json_is_false(json_object_get(r, "is_enrollable"))); /* enrollment opens 3-15 */
    ck_assert(json_is_null(json_object_get(r, "type")));
    json_decref(r);

    r = expect(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+4T2025/", NULL, 200);
    ck_assert_str_eq(sget(r, "availability"), "Upcoming");
    json_decref(r);

    /* The same run on another day: derived at read time, never stored. */
    struct error err = {0};
    ck_assert_int_eq(clock_set_fixed("2025-07-01T00:00:00Z", &err), 0);
    r = expect(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+1T2025/", NULL, 200);
    ck_assert_str_eq(sget(r, "availability"), "Archived");
    json_decref(r);
}
END_TEST

START_TEST(test_run_visibility)
{
    seed();
    int status;
    json_t *l = call(HTTP_GET, "/api/v1/course_runs/", NULL, false, &status);
    ck_assert_int_eq(status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 2);
    ck_assert_ptr_null(
        find_by(json_object_get(l, "results"), "key", "course-v1:MITx+6.002x+3T2025"));
    json_decref(l);
    l = call(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+4T2025/", NULL, false, &status);
    ck_assert_int_eq(status, 404);
    json_decref(l);
    l = call(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+3T2025/", NULL, false, &status);
    ck_assert_int_eq(status, 404);
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/course_runs/", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 4);
    json_decref(l);
    /* hidden and status filters, for staff. */
    l = expect(HTTP_GET, "/api/v1/course_runs/?hidden=1", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 1);
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/course_runs/?status=unpublished&status=published&hidden=0", NULL,
               200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 3);
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/course_runs/?pacing_type=self_paced", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 1);
    json_decref(l);
}
END_TEST

START_TEST(test_program_visibility_and_detail)
{
    seed();
    int status;
    json_t *p = call(HTTP_GET, "/api/v1/programs/22222222-2222-4222-8222-222222222222/", NULL,
                     false, &status);
    ck_assert_int_eq(status, 404);
    json_decref(p);
    p = expect(HTTP_GET, "/api/v1/programs/22222222-2222-4222-8222-222222222222/", NULL, 200);
    ck_assert_str_eq(sget(p, "status"), "unpublished");
    json_decref(p);

    p = call(HTTP_GET, "/api/v1/programs/11111111-1111-4111-8111-111111111111/", NULL, false,
             &status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(sget(p, "type"), "MicroMasters");
    ck_assert_str_eq(sget(json_array_get(json_object_get(p, "authoring_organizations"), 0), "key"),
                     "MITx");
    json_t *course = json_array_get(json_object_get(p, "courses"), 0);
    ck_assert_str_eq(sget(course, "key"), "MITx+6.002x");
    ck_assert_int_eq(json_array_size(json_object_get(course, "course_runs")), 2);
    json_t *langs = json_object_get(p, "languages");
    ck_assert_int_eq(json_array_size(langs), 1);
    ck_assert_str_eq(json_string_value(json_array_get(langs, 0)), "en");
    ck_assert_str_eq(sget(json_array_get(json_object_get(p, "subjects"), 0), "slug"), "physics");
    /* Only verified seats apply to MicroMasters: 149 and 99.  The total
     * takes, per course, the seat of a run that has not ended (the 2024 run
     * with the 99 seat has), as course-discovery does. */
    json_t *pr = json_array_get(json_object_get(p, "price_ranges"), 0);
    ck_assert_str_eq(sget(pr, "currency"), "USD");
    ck_assert_str_eq(sget(pr, "min"), "99.00");
    ck_assert_str_eq(sget(pr, "max"), "149.00");
    ck_assert_str_eq(sget(pr, "total"), "149.00");
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(p, "applicable_seat_types"), 0)),
        "verified");
    ck_assert(json_is_array(json_object_get(p, "curricula")));
    json_decref(p);

    /* The list shape has no detail fields. */
    p = call(HTTP_GET, "/api/v1/programs/", NULL, false, &status);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "count")), 1);
    json_t *item = json_array_get(json_object_get(p, "results"), 0);
    ck_assert_ptr_null(json_object_get(item, "price_ranges"));
    ck_assert_ptr_nonnull(json_object_get(item, "courses"));
    json_decref(p);
}
END_TEST

START_TEST(test_programs_uuids_only_and_status)
{
    seed();
    post("/api/v1/programs/", "{\"uuid\":\"33333333-3333-4333-8333-333333333333\",\"title\":"
                              "\"Old\",\"type\":\"micromasters\",\"status\":\"retired\"}");
    json_t *l = expect(HTTP_GET,
                       "/api/v1/programs/?uuids_only=1&status=active&status=retired&exclude_utm=1",
                       NULL, 200);
    ck_assert(json_is_array(l));
    ck_assert_int_eq(json_array_size(l), 2);
    ck_assert_str_eq(json_string_value(json_array_get(l, 0)) + 0,
                     json_string_value(json_array_get(l, 0)));
    bool has1 = false, has3 = false;
    size_t i;
    json_t *u;
    json_array_foreach(l, i, u)
    {
        has1 = has1 || strcmp(json_string_value(u), "11111111-1111-4111-8111-111111111111") == 0;
        has3 = has3 || strcmp(json_string_value(u), "33333333-3333-4333-8333-333333333333") == 0;
    }
    ck_assert(has1 && has3);
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/programs/?status=unpublished", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 1);
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/programs/?status=bogus", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "status"));
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/programs/?type=MicroMasters", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 3);
    json_decref(l);
}
END_TEST

START_TEST(test_pathway)
{
    seed();
    json_t *pw = expect(HTTP_POST, "/api/v1/pathways/",
                        "{\"name\":\"Credit\",\"org_name\":\"MIT\",\"email\":\"a@b.example\","
                        "\"programs\":[\"11111111-1111-4111-8111-111111111111\","
                        "\"22222222-2222-4222-8222-222222222222\"]}",
                        201);
    ck_assert_str_eq(sget(pw, "name"), "Credit");
    ck_assert_ptr_nonnull(json_object_get(pw, "id"));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/pathways/%s/", sget(pw, "uuid"));
    ck_assert_int_eq(json_array_size(json_object_get(pw, "programs")), 2); /* staff */
    json_decref(pw);
    int status;
    pw = call(HTTP_GET, path, NULL, false, &status);
    ck_assert_int_eq(status, 200);
    json_t *progs = json_object_get(pw, "programs");
    ck_assert_int_eq(json_array_size(progs), 1);
    ck_assert_str_eq(sget(json_array_get(progs, 0), "type"), "MicroMasters");
    json_decref(pw);
    pw = call(HTTP_GET, "/api/v1/pathways/?exclude_utm=1&page=1", NULL, false, &status);
    ck_assert_int_eq(status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(pw, "count")), 1);
    json_decref(pw);
    json_decref(expect(HTTP_PATCH, path, "{\"description\":\"d\"}", 200));
    ck_assert_ptr_null(expect(HTTP_DELETE, path, NULL, 204));
    ck_assert_uint_eq(count_of(ENTITY_PATHWAY), 0);
}
END_TEST

/* ---- lists ---- */

static void seed_orgs(int n)
{
    for (int i = 0; i < n; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"key\":\"Org%d\",\"name\":\"Org %d\"}", i, i);
        post("/api/v1/organizations/", body);
    }
}

/* Follows next from first to the end; returns how many items were seen
 * and checks count on every page. */
static size_t walk(const char *first, size_t want_count, size_t *pages)
{
    char target[2048];
    snprintf(target, sizeof target, "%s", first);
    size_t seen = 0;
    *pages = 0;
    for (;;) {
        json_t *l = expect(HTTP_GET, target, NULL, 200);
        ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), (json_int_t)want_count);
        seen += json_array_size(json_object_get(l, "results"));
        (*pages)++;
        const char *next = sget(l, "next");
        if (next == NULL) {
            json_decref(l);
            return seen;
        }
        ck_assert_msg(strncmp(next, "http://test.example/", 20) == 0, "next: %s", next);
        snprintf(target, sizeof target, "%s", next + strlen("http://test.example"));
        json_decref(l);
        ck_assert_uint_lt(*pages, 20);
    }
}

START_TEST(test_pagination_pages)
{
    seed_orgs(5);
    size_t pages;
    ck_assert_uint_eq(walk("/api/v1/organizations/?page_size=2", 5, &pages), 5);
    ck_assert_uint_eq(pages, 3);

    json_t *l = expect(HTTP_GET, "/api/v1/organizations/?page_size=2&page=2", NULL, 200);
    ck_assert_str_eq(sget(l, "previous"), "http://test.example/api/v1/organizations/?page_size=2");
    ck_assert_str_eq(sget(l, "next"),
                     "http://test.example/api/v1/organizations/?page_size=2&page=3");
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/organizations/?page_size=2&page=3", NULL, 200);
    ck_assert(json_is_null(json_object_get(l, "next")));
    ck_assert_str_eq(sget(l, "previous"),
                     "http://test.example/api/v1/organizations/?page_size=2&page=2");
    ck_assert_int_eq(json_array_size(json_object_get(l, "results")), 1);
    json_decref(l);

    l = expect(HTTP_GET, "/api/v1/organizations/?page_size=2&page=4", NULL, 404);
    ck_assert_str_eq(sget(l, "detail"), "Invalid page.");
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/organizations/?page=abc", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "page"));
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/organizations/?page_size=0", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "page_size"));
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/organizations/?page_size=x1", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "page_size"));
    json_decref(l);

    /* Larger than the cap: clamped, not refused. */
    fx.app.page_size_max = 3;
    l = expect(HTTP_GET, "/api/v1/organizations/?page_size=1000", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "results")), 3);
    ck_assert_str_eq(sget(l, "next"),
                     "http://test.example/api/v1/organizations/?page_size=1000&page=2");
    json_decref(l);
    fx.app.page_size_max = 500;

    /* Default page size. */
    fx.app.page_size_default = 4;
    l = expect(HTTP_GET, "/api/v1/organizations/", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "results")), 4);
    json_decref(l);
}
END_TEST

START_TEST(test_pagination_empty_and_limit_offset)
{
    json_t *l = expect(HTTP_GET, "/api/v1/subjects/", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 0);
    ck_assert(json_is_null(json_object_get(l, "next")));
    ck_assert(json_is_null(json_object_get(l, "previous")));
    ck_assert_int_eq(json_array_size(json_object_get(l, "results")), 0);
    json_decref(l);

    seed_orgs(5);
    size_t pages;
    ck_assert_uint_eq(walk("/api/v1/organizations/?limit=2", 5, &pages), 5);
    ck_assert_uint_eq(pages, 3);
    l = expect(HTTP_GET, "/api/v1/organizations/?limit=2&offset=2", NULL, 200);
    ck_assert_str_eq(sget(l, "next"), "http://test.example/api/v1/organizations/?limit=2&offset=4");
    ck_assert_str_eq(sget(l, "previous"), "http://test.example/api/v1/organizations/?limit=2");
    ck_assert_str_eq(sget(json_array_get(json_object_get(l, "results"), 0), "key"), "Org2");
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/organizations/?limit=2&offset=-1", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "offset"));
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/organizations/?limit=0", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "limit"));
    json_decref(l);
}
END_TEST

START_TEST(test_keys_with_plus)
{
    seed();
    post("/api/v1/courses/", "{\"key\":\"MITx+8.01x\",\"title\":\"Mechanics\",\"owners\":"
                             "[\"MITx\"]}");
    json_t *l = expect(HTTP_GET,
                       "/api/v1/courses/?keys=MITx%2B6.002x,MITx%2B8.01x&keys=HarvardX%2BCS50"
                       "&page_size=1&exclude_utm=1",
                       NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 3);
    const char *next = sget(l, "next");
    ck_assert_ptr_nonnull(next);
    ck_assert_msg(strstr(next, "keys=MITx%2B6.002x%2CMITx%2B8.01x&keys=HarvardX%2BCS50") != NULL,
                  "next: %s", next);
    json_decref(l);
    size_t pages;
    ck_assert_uint_eq(walk("/api/v1/courses/?keys=MITx%2B6.002x,MITx%2B8.01x&keys=HarvardX%2BCS50"
                           "&page_size=1",
                           3, &pages),
                      3);
    l = expect(HTTP_GET, "/api/v1/courses/?org=HarvardX", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 1);
    json_decref(l);

    /* More than the accepted number of keys. */
    char target[4096] = "/api/v1/courses/?keys=";
    for (int i = 0; i < 101; i++)
        snprintf(target + strlen(target), sizeof target - strlen(target), "%sK%d", i ? "," : "", i);
    l = expect(HTTP_GET, target, NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "keys"));
    json_decref(l);
}
END_TEST

START_TEST(test_flags_and_ordering)
{
    seed();
    const char *bad[] = {"/api/v1/courses/?marketable=abc", "/api/v1/course_runs/?active=2",
                         "/api/v1/course_runs/?hidden=yes", "/api/v1/programs/?uuids_only=maybe"};
    const char *names[] = {"marketable", "active", "hidden", "uuids_only"};
    for (size_t i = 0; i < 4; i++) {
        json_t *l = expect(HTTP_GET, bad[i], NULL, 400);
        ck_assert_msg(json_object_get(l, names[i]) != NULL, "%s: %s", bad[i], last_body);
        json_decref(l);
    }
    json_t *l = expect(HTTP_GET, "/api/v1/course_runs/?ordering=-start", NULL, 200);
    ck_assert_str_eq(sget(json_array_get(json_object_get(l, "results"), 0), "key"),
                     "course-v1:MITx+6.002x+4T2025");
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/course_runs/?ordering=start", NULL, 200);
    ck_assert_str_eq(sget(json_array_get(json_object_get(l, "results"), 0), "key"),
                     "course-v1:MITx+6.002x+2T2024");
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/course_runs/?ordering=nonsense", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(l, "ordering"));
    json_decref(l);

    /* marketable / active at the fixed clock: only 1T2025 is both. */
    l = expect(HTTP_GET, "/api/v1/course_runs/?marketable=1", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 1);
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/course_runs/?active=true&course=MITx%2B6.002x", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 3);
    json_decref(l);
    l = expect(HTTP_GET, "/api/v1/courses/?marketable=1", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 1);
    json_decref(l);
    /* Unknown parameters are ignored. */
    l = expect(HTTP_GET, "/api/v1/courses/?whatever=1", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), 2);
    json_decref(l);
}
END_TEST

/* ---- writes ---- */

/* The number of records of every kind, to show that an error wrote nothing. */
static void snapshot(size_t out[ENTITY_KIND_COUNT])
{
    for (int k = 0; k < ENTITY_KIND_COUNT; k++)
        out[k] = count_of((enum entity_kind)k);
}

static void assert_unchanged(const size_t before[ENTITY_KIND_COUNT])
{
    size_t now[ENTITY_KIND_COUNT];
    snapshot(now);
    for (int k = 0; k < ENTITY_KIND_COUNT; k++)
        ck_assert_msg(now[k] == before[k], "kind %d: %zu records, had %zu", k, now[k], before[k]);
}

START_TEST(test_write_errors)
{
    seed();
    size_t before[ENTITY_KIND_COUNT];
    snapshot(before);
    int status;
    json_t *e;

    /* Missing required field: 400 naming it. */
    e = expect(HTTP_POST, "/api/v1/organizations/", "{\"name\":\"No key\"}", 400);
    ck_assert_ptr_nonnull(json_object_get(e, "key"));
    json_decref(e);
    assert_unchanged(before);

    /* Unknown reference: 400 naming the field and the key. */
    e = expect(HTTP_POST, "/api/v1/courses/",
               "{\"key\":\"MITx+X\",\"title\":\"X\",\"owners\":[\"NoSuchX\"]}", 400);
    ck_assert_msg(strstr(last_body, "owners") && strstr(last_body, "NoSuchX"), "%s", last_body);
    json_decref(e);
    assert_unchanged(before);

    /* A course whose nested run is bad: neither is written. */
    e = expect(HTTP_POST, "/api/v1/courses/",
               "{\"key\":\"MITx+Y\",\"title\":\"Y\",\"owners\":[\"MITx\"],\"course_runs\":["
               "{\"key\":\"course-v1:MITx+Y+1\",\"start\":\"2025-01-01\"},"
               "{\"key\":\"course-v1:MITx+Y+1\",\"start\":\"2025-01-01\"}]}",
               409);
    json_decref(e);
    assert_unchanged(before);

    /* Duplicate: 409. */
    e = expect(HTTP_POST, "/api/v1/organizations/", "{\"key\":\"MITx\",\"name\":\"Again\"}", 409);
    ck_assert_ptr_nonnull(json_object_get(e, "detail"));
    json_decref(e);
    assert_unchanged(before);

    /* Delete refused while something holds it: 409 naming the holder. */
    e = expect(HTTP_DELETE, "/api/v1/organizations/MITx/", NULL, 409);
    ck_assert_msg(strstr(sget(e, "detail"), "MITx+6.002x") != NULL, "%s", last_body);
    json_decref(e);
    e = expect(HTTP_DELETE, "/api/v1/program_types/micromasters/", NULL, 409);
    json_decref(e);
    assert_unchanged(before);

    /* Not staff: 403, for every write method. */
    e = call(HTTP_POST, "/api/v1/organizations/", "{\"key\":\"Z\",\"name\":\"Z\"}", false, &status);
    ck_assert_int_eq(status, 403);
    ck_assert_str_eq(sget(e, "detail"), "You do not have permission to perform this action.");
    json_decref(e);
    e = call(HTTP_PATCH, "/api/v1/organizations/MITx/", "{\"name\":\"Z\"}", false, &status);
    ck_assert_int_eq(status, 403);
    json_decref(e);
    e = call(HTTP_DELETE, "/api/v1/courses/HarvardX+CS50/", NULL, false, &status);
    ck_assert_int_eq(status, 403);
    json_decref(e);
    assert_unchanged(before);

    /* Content type. */
    e = call_ct(HTTP_POST, "/api/v1/organizations/", "{\"key\":\"Z\",\"name\":\"Z\"}", "text/plain",
                true, &status);
    ck_assert_int_eq(status, 415);
    json_decref(e);
    e = call_ct(HTTP_POST, "/api/v1/organizations/", "{\"key\":\"Z\",\"name\":\"Z\"}", NULL, true,
                &status);
    ck_assert_int_eq(status, 415);
    json_decref(e);
    e = call_ct(HTTP_POST, "/api/v1/organizations/", "{\"key\":\"Z1\",\"name\":\"Z\"}",
                "application/json; charset=UTF-8", true, &status);
    ck_assert_int_eq(status, 201);
    json_decref(e);
    ck_assert_ptr_null(expect(HTTP_DELETE, "/api/v1/organizations/Z1/", NULL, 204));
    assert_unchanged(before);

    /* Malformed bodies. */
    const char *bad[] = {"{\"key\":",
                         "{\"key\":\"Z\",\"name\":\"Z\"} trailing",
                         "{\"key\":\"Z\",\"key\":\"W\",\"name\":\"Z\"}",
                         "[1,2]",
                         "\"\xff\"",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e = expect(HTTP_POST, "/api/v1/organizations/", bad[i], 400);
        ck_assert_msg(json_object_get(e, "detail") || json_object_get(e, "non_field_errors"), "%s",
                      last_body);
        json_decref(e);
    }
    assert_unchanged(before);

    /* PUT may not change the key; the record is untouched. */
    e = expect(HTTP_PUT, "/api/v1/organizations/MITx/", "{\"key\":\"Other\",\"name\":\"N\"}", 400);
    ck_assert_ptr_nonnull(json_object_get(e, "key"));
    json_decref(e);
    e = expect(HTTP_GET, "/api/v1/organizations/MITx/", NULL, 200);
    ck_assert_str_eq(sget(e, "name"), "Massachusetts Institute of Technology");
    json_decref(e);
    /* Writes to what does not exist. */
    json_decref(expect(HTTP_PUT, "/api/v1/organizations/Nope/", "{\"name\":\"N\"}", 404));
    json_decref(expect(HTTP_DELETE, "/api/v1/organizations/Nope/", NULL, 404));
    /* PATCH with an invalid value: 400 naming it, stored record unchanged. */
    e = expect(HTTP_PATCH, "/api/v1/course_runs/course-v1:MITx+6.002x+1T2025/",
               "{\"start\":\"not a date\"}", 400);
    ck_assert_ptr_nonnull(json_object_get(e, "start"));
    json_decref(e);
    e = expect(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+1T2025/", NULL, 200);
    ck_assert_str_eq(sget(e, "start"), "2025-01-01T00:00:00Z");
    json_decref(e);
    assert_unchanged(before);
}
END_TEST

START_TEST(test_course_writes)
{
    seed();
    /* PATCH a run; the course shows it. */
    json_t *r = expect(HTTP_PATCH, "/api/v1/course_runs/course-v1:MITx+6.002x+3T2025/",
                       "{\"status\":\"published\",\"title\":\"Spring\"}", 200);
    ck_assert_str_eq(sget(r, "title"), "Spring");
    json_decref(r);
    int status;
    json_t *c = call(HTTP_GET, "/api/v1/courses/MITx+6.002x/", NULL, false, &status);
    ck_assert_int_eq(json_array_size(json_object_get(c, "course_runs")), 3);
    json_decref(c);
    /* A course in a program cannot go; a course that is not, takes its runs. */
    json_decref(expect(HTTP_DELETE, "/api/v1/courses/MITx+6.002x/", NULL, 409));
    json_decref(
        expect(HTTP_DELETE, "/api/v1/programs/11111111-1111-4111-8111-111111111111/", NULL, 204));
    ck_assert_ptr_null(expect(HTTP_DELETE, "/api/v1/courses/MITx+6.002x/", NULL, 204));
    ck_assert_uint_eq(count_of(ENTITY_COURSE_RUN), 0);
    json_decref(expect(HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+1T2025/", NULL, 404));
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *reads = tcase_create("reads");
    tcase_add_checked_fixture(reads, setup, teardown);
    tcase_set_timeout(reads, 60);
    tcase_add_test(reads, test_organization_crud);
    tcase_add_test(reads, test_subject_and_program_type);
    tcase_add_test(reads, test_course_detail_nested);
    tcase_add_test(reads, test_run_derived_values);
    tcase_add_test(reads, test_run_visibility);
    tcase_add_test(reads, test_program_visibility_and_detail);
    tcase_add_test(reads, test_programs_uuids_only_and_status);
    tcase_add_test(reads, test_pathway);
    suite_add_tcase(s, reads);
    TCase *lists = tcase_create("lists");
    tcase_add_checked_fixture(lists, setup, teardown);
    tcase_set_timeout(lists, 60);
    tcase_add_test(lists, test_pagination_pages);
    tcase_add_test(lists, test_pagination_empty_and_limit_offset);
    tcase_add_test(lists, test_keys_with_plus);
    tcase_add_test(lists, test_flags_and_ordering);
    suite_add_tcase(s, lists);
    TCase *writes = tcase_create("writes");
    tcase_add_checked_fixture(writes, setup, teardown);
    tcase_set_timeout(writes, 60);
    tcase_add_test(writes, test_write_errors);
    tcase_add_test(writes, test_course_writes);
    suite_add_tcase(s, writes);
    return s;
}

int main(void)
{
    return test_run_suite(api_suite());
}
