/*
 * test_store - the store conformance suite.
 *
 * Written against backends/store.h only, and run once for every store
 * driver compiled in (sqlite now; postgres runs the same assertions).
 * Each test opens a fresh store in a new temporary directory.
 */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"
#include "store.h"
#include "testutil.h"

static const struct store_driver *drv; /* the driver under test */

/* ------------------------------------------------------------ fixtures */

static struct store *open_with(const char *dir, const char *extra)
{
    char path[4200], driver[64], url[4200] = "";
    snprintf(path, sizeof path, "store.path=%s/catalog.db", dir);
    snprintf(driver, sizeof driver, "store.driver=%s", drv->name);
    /* A server-backed driver (postgres) is pointed at its test server by
     * CATALOGD_TEST_STORE_URL; its open is expected to give each test a
     * fresh database (e.g. a schema named after dir). */
    const char *server = getenv("CATALOGD_TEST_STORE_URL");
    if (server != NULL && strcmp(drv->name, "sqlite") != 0)
        snprintf(url, sizeof url, "store.url=%s", server);
    const char *sets[] = {path, driver, extra, url[0] ? url : NULL, NULL};
    if (extra == NULL) {
        sets[2] = sets[3];
        sets[3] = NULL;
    }
    struct config *config = test_config(sets);
    struct store *s = NULL;
    struct error err = {0};
    int rc = drv->open(config, &s, &err);
    config_free(config);
    ck_assert_msg(rc == 0, "open: %s", err.message);
    return s;
}

static struct store *open_at(const char *dir)
{
    return open_with(dir, NULL);
}

static char *dir;
static struct store *st;

static void setup(void)
{
    dir = test_tmpdir();
    st = open_at(dir);
}

static void teardown(void)
{
    store_close(st);
    st = NULL;
    free(dir);
}

static int uuid_counter;

static const char *next_uuid(char buf[37])
{
    snprintf(buf, 37, "00000000-0000-4000-8000-%012d", ++uuid_counter);
    return buf;
}

static json_t *strs(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *org(const char *key)
{
    char u[37];
    return json_pack("{s:s, s:s, s:s, s:s?, s:n, s:n, s:n, s:n, s:[s], s:n, s:n}", "uuid",
                     next_uuid(u), "key", key, "name", key, "description", NULL, "homepage_url",
                     "logo_image_url", "certificate_logo_image_url", "banner_image_url", "tags",
                     "t1", "marketing_url", "slug");
}

static json_t *subject(const char *slug)
{
    char u[37];
    return json_pack("{s:s, s:s, s:s, s:n, s:s, s:n, s:n}", "uuid", next_uuid(u), "slug", slug,
                     "name", slug, "subtitle", "description", "about", "banner_image_url",
                     "card_image_url");
}

static json_t *program_type(const char *slug, const char *name)
{
    char u[37];
    return json_pack("{s:s, s:s, s:s, s:n, s:[s], s:b}", "uuid", next_uuid(u), "slug", slug, "name",
                     name, "logo_image", "applicable_seat_types", "verified", "coaching_supported",
                     1);
}

static json_t *course(const char *key, const char *const *owners, const char *const *subjects,
                      const char *title, const char *modified)
{
    char u[37];
    return json_pack("{s:s, s:s, s:s, s:s, s:n, s:o, s:o, s:s, s:{s:s, s:i}, s:s, s:[], s:n, "
                     "s:n, s:n, s:s}",
                     "uuid", next_uuid(u), "key", key, "title", title, "short_description", "short",
                     "full_description", "owners", strs(owners), "subjects", strs(subjects),
                     "level_type", "Introductory", "image", "src", "http://x/i.jpg", "height", 480,
                     "marketing_url", "http://x/c", "entitlements", "prerequisites_raw", "outcome",
                     "course_type", "modified", modified);
}

/* A run with the dates that matter to active/ordering; NULL dates are null. */
static json_t *run(const char *key, const char *course_key, const char *start, const char *end,
                   const char *enrollment_end, const char *status, int hidden, bool seats,
                   const char *marketing_url)
{
    char u[37];
    json_t *seat_list = json_array();
    if (seats) {
        json_array_append_new(seat_list,
                              json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:n}", "type", "audit",
                                        "price", "0.00", "currency", "USD", "upgrade_deadline",
                                        "credit_provider", "credit_hours", "sku"));
        json_array_append_new(seat_list,
                              json_pack("{s:s, s:s, s:s, s:s, s:n, s:n, s:s}", "type", "verified",
                                        "price", "149.00", "currency", "USD", "upgrade_deadline",
                                        "2030-01-01T00:00:00Z", "credit_provider", "credit_hours",
                                        "sku", "SKU1"));
    }
    json_t *r = json_pack(
        "{s:s, s:s, s:s, s:s, s:n, s:n, s:s?, s:s?, s:n, s:s?, s:s, s:s, s:b, s:n, s:s?, s:o, "
        "s:s, s:[s], s:i, s:i, s:n, s:n, s:[], s:b, s:s}",
        "uuid", next_uuid(u), "key", key, "course", course_key, "title", key, "short_description",
        "full_description", "start", start, "end", end, "enrollment_start", "enrollment_end",
        enrollment_end, "pacing_type", "self_paced", "status", status, "hidden", hidden, "image",
        "marketing_url", marketing_url, "seats", seat_list, "content_language", "en",
        "transcript_languages", "en", "min_effort", 2, "max_effort", 4, "weeks_to_complete",
        "level_type", "staff", "eligible_for_financial_aid", 1, "modified", "2024-01-01T00:00:00Z");
    ck_assert_ptr_nonnull(r);
    return r;
}

static json_t *program(const char *uuid, const char *type, const char *const *courses,
                       const char *const *orgs, const char *status, const char *slug)
{
    json_t *p =
        json_pack("{s:s, s:s, s:n, s:s?, s:s, s:s?, s:n, s:n, s:b, s:o, s:o, s:n, s:n, "
                  "s:i, s:n, s:n, s:s}",
                  "uuid", uuid, "title", uuid, "subtitle", "type", type, "status", status,
                  "marketing_slug", slug, "marketing_url", "banner_image", "hidden", 0, "courses",
                  strs(courses), "authoring_organizations", strs(orgs), "card_image_url",
                  "overview", "weeks_to_complete", 10, "min_hours_effort_per_week",
                  "max_hours_effort_per_week", "modified", "2024-01-01T00:00:00Z");
    ck_assert_ptr_nonnull(p);
    return p;
}

static json_t *pathway(const char *uuid, const char *const *programs)
{
    return json_pack("{s:n, s:s, s:s, s:s, s:n, s:n, s:n, s:s, s:s, s:o}", "id", "uuid", uuid,
                     "name", "Pathway", "org_name", "Org", "email", "description",
                     "destination_url", "pathway_type", "credit", "status", "published", "programs",
                     strs(programs));
}

/* Puts doc (stealing the reference) and asserts success. */
static void put_ok(enum entity_kind kind, json_t *doc, enum store_put mode)
{
    struct error err = {0};
    ck_assert_ptr_nonnull(doc);
    int rc = store_put(st, kind, doc, mode, NULL, &err);
    json_decref(doc);
    ck_assert_msg(rc == 0, "put %s: %s", entity_kind_name(kind), err.message);
}

/* Puts doc (stealing it) expecting failure; returns the error. */
static struct error put_fail(enum entity_kind kind, json_t *doc, enum store_put mode)
{
    struct error err = {0};
    json_t *stored = NULL;
    int rc = store_put(st, kind, doc, mode, &stored, &err);
    json_decref(doc);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_null(stored);
    return err;
}

static size_t count(enum entity_kind kind)
{
    size_t n = 999;
    struct error err = {0};
    ck_assert_int_eq(store_count(st, kind, &n, &err), 0);
    return n;
}

static size_t n_changes(void)
{
    struct store_change ch[512];
    size_t n = 0;
    struct error err = {0};
    ck_assert_int_eq(drv->changes_since(st, 0, ch, 512, &n, &err), 0);
    return n;
}

/* The base catalog most tests use: orgs A B C, subjects s1 s2, type mm
 * ("MicroMasters"), courses A+1 (A; s1) A+2 (A, B; s2) B+1 (B), and runs. */
#define P1 "10000000-0000-4000-8000-000000000001"
#define P2 "10000000-0000-4000-8000-000000000002"
#define W1 "20000000-0000-4000-8000-000000000001"

static void base_catalog(void)
{
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    put_ok(ENTITY_ORGANIZATION, org("B"), STORE_CREATE);
    put_ok(ENTITY_ORGANIZATION, org("C"), STORE_CREATE);
    put_ok(ENTITY_SUBJECT, subject("s1"), STORE_CREATE);
    put_ok(ENTITY_SUBJECT, subject("s2"), STORE_CREATE);
    put_ok(ENTITY_PROGRAM_TYPE, program_type("mm", "MicroMasters"), STORE_CREATE);
    put_ok(ENTITY_PROGRAM_TYPE, program_type("xs", "XSeries"), STORE_CREATE);
    put_ok(ENTITY_COURSE,
           course("A+1", (const char *[]){"A", NULL}, (const char *[]){"s1", NULL}, "Zeta",
                  "2024-03-01T00:00:00Z"),
           STORE_CREATE);
    put_ok(ENTITY_COURSE,
           course("A+2", (const char *[]){"A", "B", NULL}, (const char *[]){"s2", NULL}, "Alpha",
                  "2024-01-01T00:00:00Z"),
           STORE_CREATE);
    put_ok(ENTITY_COURSE,
           course("B+1", (const char *[]){"B", NULL}, (const char *[]){NULL}, "Mid",
                  "2024-02-01T00:00:00Z"),
           STORE_CREATE);
    /* r1: published, seats, url, ends 2025-06-01: marketable, active before then. */
    put_ok(ENTITY_COURSE_RUN,
           run("r1", "A+1", "2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z", NULL, "published", 0,
               true, "http://x/r1"),
           STORE_CREATE);
    /* r2: published but hidden, no seats: not marketable; no end: always active. */
    put_ok(
        ENTITY_COURSE_RUN,
        run("r2", "A+1", "2024-01-01T00:00:00Z", NULL, NULL, "published", 1, false, "http://x/r2"),
        STORE_CREATE);
    /* r3: unpublished, seats, no start; enrollment ended 2025-03-01. */
    put_ok(ENTITY_COURSE_RUN,
           run("r3", "A+2", NULL, "2026-01-01T00:00:00Z", "2025-03-01T00:00:00Z", "unpublished", 0,
               true, NULL),
           STORE_CREATE);
    put_ok(ENTITY_PROGRAM,
           program(P1, "mm", (const char *[]){"A+2", "A+1", NULL}, (const char *[]){"A", NULL},
                   "active", "p-one"),
           STORE_CREATE);
    put_ok(ENTITY_PROGRAM,
           program(P2, "xs", (const char *[]){"B+1", NULL}, (const char *[]){"B", NULL},
                   "unpublished", NULL),
           STORE_CREATE);
    put_ok(ENTITY_PATHWAY, pathway(W1, (const char *[]){P1, NULL}), STORE_CREATE);
}

/* The natural keys of a list, joined with ',' into buf. */
static const char *list_keys(const struct store_query *q, char *buf, size_t size)
{
    struct store_page page = {0};
    struct error err = {0};
    int rc = store_list(st, q, &page, &err);
    ck_assert_msg(rc == 0, "list: %s", err.message);
    buf[0] = '\0';
    size_t i;
    json_t *doc;
    json_array_foreach(page.items, i, doc)
    {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(doc, entity_key_field(q->kind))));
    }
    json_decref(page.items);
    return buf;
}

static struct store_query query(enum entity_kind kind)
{
    struct store_query q = {.kind = kind, .hidden = -1, .marketable = -1, .active = -1};
    return q;
}

static time_t at(const char *iso)
{
    struct tm tm = {0};
    ck_assert_ptr_nonnull(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return timegm(&tm);
}

#define LIST_IS(q, expected)                                                                       \
    do {                                                                                           \
        char buf_[1024];                                                                           \
        ck_assert_str_eq(list_keys(&(q), buf_, sizeof buf_), expected);                            \
    } while (0)

/* ----------------------------------------------------------- round trip */

static void assert_roundtrip(enum entity_kind kind, json_t *doc)
{
    struct error err = {0};
    json_t *stored = NULL;
    int rc = store_put(st, kind, doc, STORE_CREATE, &stored, &err);
    ck_assert_msg(rc == 0, "put: %s", err.message);
    if (kind == ENTITY_PATHWAY) {
        /* The store assigns the id; everything else comes back as given. */
        ck_assert(json_is_integer(json_object_get(stored, "id")));
        ck_assert_int_gt(json_integer_value(json_object_get(stored, "id")), 0);
        json_object_set(doc, "id", json_object_get(stored, "id"));
    }
    char *a = json_dumps(doc, JSON_SORT_KEYS), *b = json_dumps(stored, JSON_SORT_KEYS);
    ck_assert_msg(json_equal(doc, stored), "stored differs:\n%s\n%s", a, b);
    free(a);
    free(b);
    json_t *got = NULL;
    ck_assert_int_eq(store_get(st, kind,
                               json_string_value(json_object_get(doc, entity_key_field(kind))),
                               &got, &err),
                     0);
    ck_assert(json_equal(doc, got));
    json_decref(got);
    ck_assert_int_eq(
        store_get(st, kind, json_string_value(json_object_get(doc, "uuid")), &got, &err), 0);
    ck_assert(json_equal(doc, got));
    json_decref(got);
    json_decref(stored);
    json_decref(doc);
}

START_TEST(roundtrip_every_kind)
{
    assert_roundtrip(ENTITY_ORGANIZATION, org("A"));
    assert_roundtrip(ENTITY_ORGANIZATION, org("B"));
    assert_roundtrip(ENTITY_SUBJECT, subject("s1"));
    assert_roundtrip(ENTITY_SUBJECT, subject("s2"));
    assert_roundtrip(ENTITY_PROGRAM_TYPE, program_type("mm", "MicroMasters"));
    /* Relations keep their stored order, not sorted order. */
    assert_roundtrip(ENTITY_COURSE,
                     course("A+1", (const char *[]){"B", "A", NULL},
                            (const char *[]){"s2", "s1", NULL}, "T", "2024-01-01T00:00:00Z"));
    assert_roundtrip(ENTITY_COURSE_RUN, run("r1", "A+1", "2025-01-01T00:00:00Z", NULL, NULL,
                                            "published", 0, true, "http://x"));
    assert_roundtrip(ENTITY_PROGRAM, program(P1, "mm", (const char *[]){"A+1", NULL},
                                             (const char *[]){"B", "A", NULL}, "active", "s"));
    assert_roundtrip(ENTITY_PATHWAY, pathway(W1, (const char *[]){P1, NULL}));
}
END_TEST

/* Every line of the sample catalog, normalized as the API would, comes
 * back from the store exactly. */
static int collect(void *ctx, const json_t *doc, struct error *err)
{
    (void)err;
    json_array_append((json_t *)ctx, (json_t *)doc);
    return 0;
}

START_TEST(roundtrip_sample_catalog)
{
    const char *src = getenv("CATALOGD_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/sample-catalog.jsonl", src ? src : "..");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    json_t *expected[ENTITY_KIND_COUNT];
    for (int k = 0; k < ENTITY_KIND_COUNT; k++)
        expected[k] = json_object();
    char line[65536];
    struct error err = {0};
    ck_assert_int_eq(store_begin(st, &err), 0);
    size_t lines = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        json_error_t jerr;
        json_t *in = json_loads(line, 0, &jerr);
        ck_assert_ptr_nonnull(in);
        enum entity_kind kind;
        ck_assert_int_eq(
            entity_kind_from_name(json_string_value(json_object_get(in, "kind")), &kind), 0);
        json_object_del(in, "kind");
        json_t *doc = NULL;
        ck_assert_msg(entity_normalize(kind, in, ENTITY_CREATE, &doc, &err) == 0, "%s: %s",
                      err.field, err.message);
        json_t *runs = json_incref(json_object_get(doc, "course_runs"));
        json_object_del(doc, "course_runs");
        json_t *stored = NULL;
        ck_assert_msg(store_put(st, kind, doc, STORE_UPSERT, &stored, &err) == 0, "%s",
                      err.message);
        if (kind == ENTITY_PATHWAY)
            json_object_set(doc, "id", json_object_get(stored, "id"));
        json_object_set(expected[kind], json_string_value(json_object_get(doc, "uuid")), doc);
        json_decref(stored);
        json_decref(doc);
        json_decref(runs);
        json_decref(in);
        lines++;
    }
    fclose(f);
    ck_assert_int_eq(store_commit(st, &err), 0);
    ck_assert_uint_gt(lines, 100);
    for (int k = 0; k < ENTITY_KIND_COUNT; k++) {
        json_t *all = json_array();
        ck_assert_int_eq(store_each(st, (enum entity_kind)k, collect, all, &err), 0);
        ck_assert_uint_eq(json_array_size(all), json_object_size(expected[k]));
        size_t i;
        json_t *doc;
        json_array_foreach(all, i, doc)
        {
            json_t *want =
                json_object_get(expected[k], json_string_value(json_object_get(doc, "uuid")));
            char *a = json_dumps(want, JSON_SORT_KEYS), *b = json_dumps(doc, JSON_SORT_KEYS);
            ck_assert_msg(json_equal(want, doc), "%s differs:\n%s\n%s", entity_kind_name(k), a, b);
            free(a);
            free(b);
        }
        json_decref(all);
        json_decref(expected[k]);
    }
}
END_TEST

START_TEST(missing_fields_read_as_null)
{
    struct error err = {0};
    json_t *doc = json_pack("{s:s, s:s}", "uuid", "u-1", "key", "A");
    ck_assert_int_eq(store_put(st, ENTITY_ORGANIZATION, doc, STORE_CREATE, NULL, &err), 0);
    json_decref(doc);
    json_t *got = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_ORGANIZATION, "A", &got, &err), 0);
    ck_assert(json_is_null(json_object_get(got, "name")));
    ck_assert(json_is_array(json_object_get(got, "tags")));
    json_decref(got);
}
END_TEST

START_TEST(bad_input_is_invalid)
{
    struct error err = put_fail(ENTITY_ORGANIZATION, json_string("x"), STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_INVALID);
    err = put_fail(ENTITY_ORGANIZATION, json_pack("{s:s}", "uuid", "u"), STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, "key");
    err = put_fail(ENTITY_ORGANIZATION, json_pack("{s:s}", "key", "K"), STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, "uuid");
    char long_key[300];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    err = put_fail(ENTITY_ORGANIZATION, json_pack("{s:s, s:s}", "key", long_key, "uuid", "u"),
                   STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, "key");
    /* Relation arrays must hold keys. */
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    json_t *c = course("A+1", (const char *[]){"A", NULL}, NULL, "T", "2024-01-01T00:00:00Z");
    json_array_append_new(json_object_get(c, "owners"), json_integer(3));
    err = put_fail(ENTITY_COURSE, c, STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, "owners");
    ck_assert_uint_eq(count(ENTITY_COURSE), 0);
}
END_TEST

/* ------------------------------------------------------- keys and modes */

START_TEST(get_by_key_and_uuid)
{
    base_catalog();
    struct error err = {0};
    json_t *a = NULL, *b = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_COURSE, "A+2", &a, &err), 0);
    const char *uuid = json_string_value(json_object_get(a, "uuid"));
    ck_assert_int_eq(store_get(st, ENTITY_COURSE, uuid, &b, &err), 0);
    ck_assert(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    ck_assert_int_eq(store_get(st, ENTITY_COURSE, "nope", &a, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    /* A key of another kind is not found either. */
    ck_assert_int_eq(store_get(st, ENTITY_ORGANIZATION, "A+2", &a, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
}
END_TEST

START_TEST(create_conflicts)
{
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    struct error err = put_fail(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_str_eq(err.field, "key");
    ck_assert_ptr_nonnull(strstr(err.message, "'A'"));
    json_t *a = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_ORGANIZATION, "A", &a, &err), 0);
    json_t *b = org("B");
    json_object_set(b, "uuid", json_object_get(a, "uuid"));
    err = put_fail(ENTITY_ORGANIZATION, b, STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_str_eq(err.field, "uuid");
    /* Nor may a replace take another record's uuid. */
    put_ok(ENTITY_ORGANIZATION, org("C"), STORE_CREATE);
    json_t *c = org("C");
    json_object_set(c, "uuid", json_object_get(a, "uuid"));
    err = put_fail(ENTITY_ORGANIZATION, c, STORE_UPSERT);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_str_eq(err.field, "uuid");
    json_decref(a);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 2);
}
END_TEST

START_TEST(replace_and_upsert)
{
    struct error err = put_fail(ENTITY_ORGANIZATION, org("A"), STORE_REPLACE);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 0);
    base_catalog();
    /* Replace rewrites the fields and the relations, and keeps the runs. */
    json_t *c = course("A+1", (const char *[]){"C", "B", NULL}, (const char *[]){NULL}, "New",
                       "2024-05-01T00:00:00Z");
    json_t *old = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_COURSE, "A+1", &old, &err), 0);
    json_object_set(c, "uuid", json_object_get(old, "uuid"));
    json_decref(old);
    json_t *stored = NULL;
    ck_assert_int_eq(store_put(st, ENTITY_COURSE, c, STORE_REPLACE, &stored, &err), 0);
    ck_assert(json_equal(c, stored));
    json_decref(stored);
    struct store_query q = query(ENTITY_COURSE_RUN);
    q.course = "A+1";
    LIST_IS(q, "r1,r2");
    q = query(ENTITY_COURSE);
    q.organization = "A";
    LIST_IS(q, "A+2");
    /* Upsert twice: one record, same document. */
    size_t before = n_changes();
    ck_assert_int_eq(store_put(st, ENTITY_COURSE, c, STORE_UPSERT, NULL, &err), 0);
    ck_assert_int_eq(store_put(st, ENTITY_COURSE, c, STORE_UPSERT, &stored, &err), 0);
    ck_assert(json_equal(c, stored));
    ck_assert_uint_eq(count(ENTITY_COURSE), 3);
    ck_assert_uint_eq(n_changes(), before + 2);
    json_decref(stored);
    json_decref(c);
    /* A pathway keeps its id across a replace. */
    json_t *w = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_PATHWAY, W1, &w, &err), 0);
    json_int_t id = json_integer_value(json_object_get(w, "id"));
    json_object_set_new(w, "name", json_string("Renamed"));
    ck_assert_int_eq(store_put(st, ENTITY_PATHWAY, w, STORE_UPSERT, &stored, &err), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(stored, "id")), id);
    ck_assert_str_eq(json_string_value(json_object_get(stored, "name")), "Renamed");
    json_decref(stored);
    json_decref(w);
}
END_TEST

/* ------------------------------------------------------------- filters */

START_TEST(filters_on_runs)
{
    base_catalog();
    struct store_query q = query(ENTITY_COURSE_RUN);
    LIST_IS(q, "r1,r2,r3");
    const char *st1[] = {"published"};
    q.statuses = st1;
    q.n_statuses = 1;
    LIST_IS(q, "r1,r2");
    q.n_statuses = 0;
    LIST_IS(q, ""); /* any of nothing */
    q = query(ENTITY_COURSE_RUN);
    q.hidden = 1;
    LIST_IS(q, "r2");
    q.hidden = 0;
    LIST_IS(q, "r1,r3");
    q = query(ENTITY_COURSE_RUN);
    q.marketable = 1;
    LIST_IS(q, "r1");
    q.marketable = 0;
    LIST_IS(q, "r2,r3");
    q = query(ENTITY_COURSE_RUN);
    q.course = "A+1";
    LIST_IS(q, "r1,r2");
    q.course = "nope";
    LIST_IS(q, "");
    q = query(ENTITY_COURSE_RUN);
    q.pacing_type = "self_paced";
    LIST_IS(q, "r1,r2,r3");
    q.pacing_type = "instructor_paced";
    LIST_IS(q, "");
    q = query(ENTITY_COURSE_RUN);
    q.public_only = true;
    LIST_IS(q, "r1");
    const char *keys[] = {"r3", "r1", "zz"};
    q = query(ENTITY_COURSE_RUN);
    q.keys = keys;
    q.n_keys = 3;
    LIST_IS(q, "r1,r3");
}
END_TEST

START_TEST(active_at_boundaries)
{
    base_catalog();
    struct store_query q = query(ENTITY_COURSE_RUN);
    q.active = 1;
    /* r3's enrollment ends 2025-03-01: active strictly before, not at. */
    q.now = at("2025-02-28T23:59:59Z");
    LIST_IS(q, "r1,r2,r3");
    q.now = at("2025-03-01T00:00:00Z");
    LIST_IS(q, "r1,r2");
    /* r1 ends 2025-06-01. */
    q.now = at("2025-05-31T23:59:59Z");
    LIST_IS(q, "r1,r2");
    q.now = at("2025-06-01T00:00:00Z");
    LIST_IS(q, "r2");
    q.active = 0;
    LIST_IS(q, "r1,r3");
    /* Courses: active when one of their runs is. */
    q = query(ENTITY_COURSE);
    q.active = 1;
    q.now = at("2025-02-28T23:59:59Z");
    LIST_IS(q, "A+1,A+2");
    q.now = at("2025-03-01T00:00:00Z");
    LIST_IS(q, "A+1");
    q.active = 0;
    LIST_IS(q, "A+2,B+1");
}
END_TEST

START_TEST(filters_on_courses_and_programs)
{
    base_catalog();
    struct store_query q = query(ENTITY_COURSE);
    q.marketable = 1;
    LIST_IS(q, "A+1");
    q.marketable = 0;
    LIST_IS(q, "A+2,B+1");
    q = query(ENTITY_COURSE);
    q.organization = "B";
    LIST_IS(q, "A+2,B+1");
    q = query(ENTITY_PROGRAM);
    q.program_type = "mm";
    LIST_IS(q, P1);
    q.program_type = "XSeries"; /* by name too */
    LIST_IS(q, P2);
    q.program_type = "none";
    LIST_IS(q, "");
    q = query(ENTITY_PROGRAM);
    q.course = "A+1";
    LIST_IS(q, P1);
    q.course = "B+1";
    LIST_IS(q, P2);
    q = query(ENTITY_PROGRAM);
    q.organization = "A";
    LIST_IS(q, P1);
    q = query(ENTITY_PROGRAM);
    q.marketable = 1;
    LIST_IS(q, P1);
    q.marketable = 0;
    LIST_IS(q, P2);
    q = query(ENTITY_PROGRAM);
    q.public_only = true;
    LIST_IS(q, P1);
    q = query(ENTITY_PROGRAM);
    q.hidden = 1;
    LIST_IS(q, "");
    q.hidden = 0;
    LIST_IS(q, P1 "," P2);
    const char *statuses[] = {"unpublished"};
    q = query(ENTITY_PROGRAM);
    q.statuses = statuses;
    q.n_statuses = 1;
    LIST_IS(q, P2);
    const char *pstat[] = {"published"};
    q = query(ENTITY_PATHWAY);
    q.statuses = pstat;
    q.n_statuses = 1;
    LIST_IS(q, W1);
    /* uuids work for every kind. */
    struct error err = {0};
    json_t *b1 = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_COURSE, "B+1", &b1, &err), 0);
    const char *uuids[] = {json_string_value(json_object_get(b1, "uuid"))};
    q = query(ENTITY_COURSE);
    q.uuids = uuids;
    q.n_uuids = 1;
    LIST_IS(q, "B+1");
    json_decref(b1);
    /* Filters that do not apply to a kind are ignored. */
    q = query(ENTITY_ORGANIZATION);
    q.pacing_type = "x";
    q.public_only = true;
    LIST_IS(q, "A,B,C");
}
END_TEST

START_TEST(ordering_and_paging)
{
    base_catalog();
    struct store_query q = query(ENTITY_COURSE_RUN);
    q.ordering = "start"; /* nulls last */
    LIST_IS(q, "r2,r1,r3");
    q.ordering = "-start";
    LIST_IS(q, "r3,r1,r2");
    q = query(ENTITY_COURSE);
    q.ordering = "title";
    LIST_IS(q, "A+2,B+1,A+1");
    q.ordering = "-modified";
    LIST_IS(q, "A+1,B+1,A+2");
    q.ordering = "-key";
    LIST_IS(q, "B+1,A+2,A+1");
    q.ordering = "uuid"; /* generated in creation order */
    LIST_IS(q, "A+1,A+2,B+1");
    q.ordering = "start";
    struct store_page page = {0};
    struct error err = {0};
    ck_assert_int_eq(store_list(st, &q, &page, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, "ordering");
    q.ordering = "bogus";
    ck_assert_int_eq(store_list(st, &q, &page, &err), -1);
    ck_assert_str_eq(err.field, "ordering");
    /* Ties break by key: all runs share "modified". */
    q = query(ENTITY_COURSE_RUN);
    q.ordering = "-modified";
    LIST_IS(q, "r1,r2,r3");
    /* offset, limit, count_total */
    q = query(ENTITY_COURSE);
    q.offset = 1;
    q.limit = 1;
    q.count_total = true;
    ck_assert_int_eq(store_list(st, &q, &page, &err), 0);
    ck_assert_uint_eq(page.total, 3);
    ck_assert_uint_eq(json_array_size(page.items), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(page.items, 0), "key")),
                     "A+2");
    json_decref(page.items);
    q.offset = 5;
    ck_assert_int_eq(store_list(st, &q, &page, &err), 0);
    ck_assert_uint_eq(page.total, 3);
    ck_assert_uint_eq(json_array_size(page.items), 0);
    json_decref(page.items);
    q.offset = 1;
    q.limit = 0;
    LIST_IS(q, "A+2,B+1");
    q = query(ENTITY_COURSE_RUN);
    q.public_only = true;
    q.count_total = true;
    ck_assert_int_eq(store_list(st, &q, &page, &err), 0);
    ck_assert_uint_eq(page.total, 1);
    json_decref(page.items);
}
END_TEST

static int each_keys(void *ctx, const json_t *doc, struct error *err)
{
    (void)err;
    char *buf = ctx;
    size_t len = strlen(buf);
    snprintf(buf + len, 4096 - len, "%s%s", len ? "," : "",
             json_string_value(json_object_get(doc, "key")));
    return 0;
}

static int each_stop(void *ctx, const json_t *doc, struct error *err)
{
    (void)doc;
    int *n = ctx;
    if (++*n == 2)
        return error_set(err, ERR_INTERNAL, "stop");
    return 0;
}

START_TEST(each_in_key_order)
{
    struct error err = {0};
    ck_assert_int_eq(store_begin(st, &err), 0);
    /* More than one batch, created out of order. */
    for (int i = 599; i >= 0; i--) {
        char key[16];
        snprintf(key, sizeof key, "O%03d", i);
        put_ok(ENTITY_ORGANIZATION, org(key), STORE_CREATE);
    }
    ck_assert_int_eq(store_commit(st, &err), 0);
    int n = 0;
    ck_assert_int_eq(store_each(st, ENTITY_ORGANIZATION, each_stop, &n, &err), -1);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(err.message, "stop");
    size_t total = 0;
    ck_assert_int_eq(store_count(st, ENTITY_ORGANIZATION, &total, &err), 0);
    ck_assert_uint_eq(total, 600);
    json_t *all = json_array();
    ck_assert_int_eq(store_each(st, ENTITY_ORGANIZATION, collect, all, &err), 0);
    ck_assert_uint_eq(json_array_size(all), 600);
    for (size_t i = 0; i < 600; i++) {
        char key[16];
        snprintf(key, sizeof key, "O%03zu", i);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, i), "key")), key);
    }
    json_decref(all);
    char keys[4096] = "";
    ck_assert_int_eq(store_each(st, ENTITY_COURSE, each_keys, keys, &err), 0);
    ck_assert_str_eq(keys, "");
}
END_TEST

/* ----------------------------------------------------------- integrity */

static void assert_missing_ref(enum entity_kind kind, json_t *doc, const char *field,
                               const char *missing)
{
    size_t before = n_changes();
    struct error err = put_fail(kind, doc, STORE_CREATE);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, field);
    ck_assert_msg(strstr(err.message, missing) != NULL && strstr(err.message, "does not exist"),
                  "message: %s", err.message);
    ck_assert_uint_eq(n_changes(), before);
}

START_TEST(missing_references)
{
    base_catalog();
    assert_missing_ref(ENTITY_COURSE,
                       course("A+9", (const char *[]){"A", "NOPE", NULL}, NULL, "T", "2024"),
                       "owners", "organization 'NOPE'");
    assert_missing_ref(
        ENTITY_COURSE,
        course("A+9", (const char *[]){"A", NULL}, (const char *[]){"zz", NULL}, "T", "2024"),
        "subjects", "subject 'zz'");
    ck_assert_uint_eq(count(ENTITY_COURSE), 3);
    assert_missing_ref(ENTITY_COURSE_RUN,
                       run("r9", "X+1", NULL, NULL, NULL, "published", 0, true, NULL), "course",
                       "course 'X+1'");
    assert_missing_ref(ENTITY_PROGRAM, program("p9", "zz", NULL, NULL, "active", NULL), "type",
                       "program type 'zz'");
    assert_missing_ref(
        ENTITY_PROGRAM,
        program("p9", "mm", (const char *[]){"A+1", "Q+1", NULL}, NULL, "active", NULL), "courses",
        "course 'Q+1'");
    assert_missing_ref(ENTITY_PROGRAM,
                       program("p9", "mm", NULL, (const char *[]){"ZZ", NULL}, "active", NULL),
                       "authoring_organizations", "organization 'ZZ'");
    assert_missing_ref(ENTITY_PATHWAY, pathway("w9", (const char *[]){"p9", NULL}), "programs",
                       "program 'p9'");
    ck_assert_uint_eq(count(ENTITY_PROGRAM), 2);
    ck_assert_uint_eq(count(ENTITY_PATHWAY), 1);
    /* A failed replace leaves the old record whole. */
    json_t *before = NULL;
    struct error err = {0};
    ck_assert_int_eq(store_get(st, ENTITY_PROGRAM, P1, &before, &err), 0);
    json_t *bad = json_deep_copy(before);
    json_array_append_new(json_object_get(bad, "courses"), json_string("Q+1"));
    json_object_set_new(bad, "title", json_string("changed"));
    err = put_fail(ENTITY_PROGRAM, bad, STORE_REPLACE);
    ck_assert_str_eq(err.field, "courses");
    json_t *after = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_PROGRAM, P1, &after, &err), 0);
    ck_assert(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}
END_TEST

static void assert_refused(enum entity_kind kind, const char *key, const char *expected)
{
    struct error err = {0};
    size_t before = n_changes();
    ck_assert_int_eq(store_remove(st, kind, key, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_msg(strstr(err.message, expected) != NULL, "message: %s", err.message);
    json_t *doc = NULL;
    ck_assert_int_eq(store_get(st, kind, key, &doc, &err), 0);
    json_decref(doc);
    ck_assert_uint_eq(n_changes(), before);
}

START_TEST(delete_refusals_name_holders)
{
    base_catalog();
    assert_refused(ENTITY_ORGANIZATION, "B", "organization 'B' owns 2 courses (A+2, B+1)");
    assert_refused(ENTITY_SUBJECT, "s1", "subject 's1' is used by 1 course (A+1)");
    assert_refused(ENTITY_PROGRAM_TYPE, "mm", "program type 'mm' is used by 1 program (" P1 ")");
    assert_refused(ENTITY_COURSE, "A+1", "course 'A+1' is in 1 program (" P1 ")");
    assert_refused(ENTITY_PROGRAM, P1, "program '" P1 "' is in 1 pathway (" W1 ")");
    /* An organization that only authors a program. */
    put_ok(ENTITY_PROGRAM, program("p3", "mm", NULL, (const char *[]){"C", NULL}, "active", NULL),
           STORE_CREATE);
    assert_refused(ENTITY_ORGANIZATION, "C", "organization 'C' authors 1 program (p3)");
    /* More holders than are named. */
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "C+%d", i);
        put_ok(ENTITY_COURSE, course(key, (const char *[]){"C", NULL}, NULL, "T", "2024"),
               STORE_CREATE);
    }
    assert_refused(ENTITY_ORGANIZATION, "C", "owns 5 courses (C+0, C+1, C+2, ...)");
    /* Free records delete, by key or uuid, and then are gone. */
    struct error err = {0};
    ck_assert_int_eq(store_remove(st, ENTITY_PATHWAY, W1, &err), 0);
    ck_assert_int_eq(store_remove(st, ENTITY_PROGRAM, P1, &err), 0);
    json_t *s2 = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_SUBJECT, "s2", &s2, &err), 0);
    put_ok(ENTITY_COURSE, course("A+2", (const char *[]){"A", NULL}, NULL, "T", "2024"),
           STORE_UPSERT);
    ck_assert_int_eq(
        store_remove(st, ENTITY_SUBJECT, json_string_value(json_object_get(s2, "uuid")), &err), 0);
    json_decref(s2);
    ck_assert_int_eq(store_remove(st, ENTITY_SUBJECT, "s2", &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
}
END_TEST

START_TEST(course_delete_cascades)
{
    base_catalog();
    struct error err = {0};
    ck_assert_int_eq(store_remove(st, ENTITY_PROGRAM, P2, &err), 0);
    uint64_t mark = n_changes();
    ck_assert_int_eq(store_remove(st, ENTITY_COURSE, "B+1", &err), 0);
    ck_assert_int_eq(store_remove(st, ENTITY_PATHWAY, W1, &err), 0);
    ck_assert_int_eq(store_remove(st, ENTITY_PROGRAM, P1, &err), 0);
    ck_assert_int_eq(store_remove(st, ENTITY_COURSE, "A+1", &err), 0);
    ck_assert_uint_eq(count(ENTITY_COURSE_RUN), 1);
    json_t *doc = NULL;
    ck_assert_int_eq(store_get(st, ENTITY_COURSE_RUN, "r1", &doc, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    /* The outbox says the runs went too. */
    struct store_change ch[16];
    size_t n = 0;
    ck_assert_int_eq(drv->changes_since(st, mark, ch, 16, &n, &err), 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(ch[0].kind, ENTITY_COURSE);
    ck_assert_str_eq(ch[0].key, "B+1");
    ck_assert(ch[0].deleted);
    ck_assert_int_eq(ch[3].kind, ENTITY_COURSE_RUN);
    ck_assert_str_eq(ch[3].key, "r1");
    ck_assert(ch[3].deleted);
    ck_assert_str_eq(ch[4].key, "r2");
    ck_assert_str_eq(ch[5].key, "A+1");
    /* The organization is free now that its courses are gone. */
    ck_assert_int_eq(store_remove(st, ENTITY_COURSE, "A+2", &err), 0);
    ck_assert_int_eq(store_remove(st, ENTITY_ORGANIZATION, "A", &err), 0);
    ck_assert_uint_eq(count(ENTITY_COURSE_RUN), 0);
}
END_TEST

/* -------------------------------------------------------- transactions */

START_TEST(rollback_leaves_nothing)
{
    struct error err = {0};
    ck_assert_int_eq(store_begin(st, &err), 0);
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    put_ok(ENTITY_ORGANIZATION, org("B"), STORE_CREATE);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 2); /* visible inside */
    ck_assert_int_eq(store_rollback(st), 0);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 0);
    ck_assert_uint_eq(n_changes(), 0);
    /* A failed write inside a transaction undoes only itself. */
    ck_assert_int_eq(store_begin(st, &err), 0);
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    put_fail(ENTITY_COURSE, course("A+1", (const char *[]){"A", "NOPE", NULL}, NULL, "T", "x"),
             STORE_CREATE);
    put_ok(ENTITY_ORGANIZATION, org("B"), STORE_CREATE);
    ck_assert_int_eq(store_commit(st, &err), 0);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 2);
    ck_assert_uint_eq(count(ENTITY_COURSE), 0);
    ck_assert_uint_eq(n_changes(), 2);
    /* Nested: the inner rollback undoes the inner part only. */
    ck_assert_int_eq(store_begin(st, &err), 0);
    put_ok(ENTITY_ORGANIZATION, org("C"), STORE_CREATE);
    ck_assert_int_eq(store_begin(st, &err), 0);
    put_ok(ENTITY_ORGANIZATION, org("D"), STORE_CREATE);
    ck_assert_int_eq(store_rollback(st), 0);
    ck_assert_int_eq(store_commit(st, &err), 0);
    struct store_query q = query(ENTITY_ORGANIZATION);
    LIST_IS(q, "A,B,C");
    ck_assert_int_eq(store_commit(st, &err), -1); /* nothing open */
    ck_assert_int_eq(store_rollback(st), -1);
}
END_TEST

/* sqlite: the journal mode the store file's header records (2 WAL, 1 a
 * rollback journal; https://sqlite.org/fileformat.html); 0 for a driver
 * without a file. */
static int header_journal(void)
{
    if (strcmp(drv->name, "sqlite") != 0)
        return 0;
    char path[4200];
    unsigned char header[20];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(header, 1, sizeof header, f), sizeof header);
    fclose(f);
    return header[18];
}

START_TEST(bulk_load_is_all_or_nothing)
{
    struct error err = {0};
    bool sqlite = strcmp(drv->name, "sqlite") == 0;
    ck_assert_int_eq(header_journal(), sqlite ? 2 : 0);
    ck_assert_int_eq(store_begin_bulk(st, &err), 0);
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    ck_assert_int_eq(header_journal(), sqlite ? 1 : 0);
    ck_assert_int_eq(store_rollback(st), 0);
    ck_assert_int_eq(header_journal(), sqlite ? 2 : 0);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 0);

    ck_assert_int_eq(store_begin_bulk(st, &err), 0);
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    put_ok(ENTITY_ORGANIZATION, org("B"), STORE_CREATE);
    ck_assert_int_eq(store_commit(st, &err), 0);
    ck_assert_int_eq(header_journal(), sqlite ? 2 : 0);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 2);
    ck_assert_uint_eq(n_changes(), 2);

    /* Another connection on the file: the WAL stays, for its reads. */
    if (sqlite) {
        char path[4200];
        sqlite3 *other = NULL;
        snprintf(path, sizeof path, "%s/catalog.db", dir);
        ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
        ck_assert_int_eq(
            sqlite3_exec(other, "SELECT count(*) FROM organizations", NULL, NULL, NULL), SQLITE_OK);
        ck_assert_int_eq(store_begin_bulk(st, &err), 0);
        put_ok(ENTITY_ORGANIZATION, org("C"), STORE_CREATE);
        ck_assert_int_eq(header_journal(), 2);
        ck_assert_int_eq(store_commit(st, &err), 0);
        sqlite3_close(other);
    }
}
END_TEST

START_TEST(outbox_and_checkpoints)
{
    base_catalog();
    struct error err = {0};
    ck_assert_int_eq(store_remove(st, ENTITY_PATHWAY, W1, &err), 0);
    struct store_change ch[32];
    size_t n = 0;
    ck_assert_int_eq(drv->changes_since(st, 0, ch, 32, &n, &err), 0);
    ck_assert_uint_eq(n, 17);
    ck_assert_int_eq(ch[0].kind, ENTITY_ORGANIZATION);
    ck_assert_str_eq(ch[0].key, "A");
    ck_assert(!ch[0].deleted);
    ck_assert_int_eq(ch[10].kind, ENTITY_COURSE_RUN);
    ck_assert_str_eq(ch[10].key, "r1");
    ck_assert_int_eq(ch[16].kind, ENTITY_PATHWAY);
    ck_assert_str_eq(ch[16].key, W1);
    ck_assert(ch[16].deleted);
    for (size_t i = 1; i < n; i++)
        ck_assert_uint_gt(ch[i].id, ch[i - 1].id);
    /* Paging through the outbox. */
    struct store_change part[4];
    ck_assert_int_eq(drv->changes_since(st, ch[4].id, part, 4, &n, &err), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(part[0].id, ch[5].id);
    ck_assert_uint_eq(part[3].id, ch[8].id);
    ck_assert_int_eq(drv->changes_since(st, ch[16].id, part, 4, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    /* Checkpoints: absent is 0, then what was set. */
    uint64_t v = 99;
    ck_assert_int_eq(drv->checkpoint_get(st, "indexer", &v, &err), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(drv->checkpoint_set(st, "indexer", 12, &err), 0);
    ck_assert_int_eq(drv->checkpoint_set(st, "other", 5, &err), 0);
    ck_assert_int_eq(drv->checkpoint_set(st, "indexer", 15, &err), 0);
    ck_assert_int_eq(drv->checkpoint_get(st, "indexer", &v, &err), 0);
    ck_assert_uint_eq(v, 15);
    ck_assert_int_eq(drv->checkpoint_get(st, "other", &v, &err), 0);
    ck_assert_uint_eq(v, 5);
}
END_TEST

/* Search refresh times: set, replaced, cleared, listed when due in time
 * order, rolled back with the transaction they were written in. */
START_TEST(search_refresh_times)
{
    struct error err = {0};
    struct store_refresh due[8];
    size_t n = 99;
    time_t next = 1;
    /* Reached through the wrappers: the driver (or sql_store.c for it)
     * must provide them, or nothing would ever refresh. */
    ck_assert_ptr_nonnull(st->driver->refresh_set);
    ck_assert_ptr_nonnull(st->driver->refresh_due);
    ck_assert_ptr_nonnull(st->driver->refresh_next);
    ck_assert_int_eq(store_refresh_next(st, &next, &err), 0);
    ck_assert_int_eq(next, 0);
    ck_assert_int_eq(store_refresh_due(st, 2000000000, due, 8, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(store_refresh_set(st, ENTITY_COURSE, "c2", 1700000300, &err), 0);
    ck_assert_int_eq(store_refresh_set(st, ENTITY_COURSE, "c1", 1700000100, &err), 0);
    ck_assert_int_eq(store_refresh_set(st, ENTITY_COURSE, "c3", 1700000200, &err), 0);
    ck_assert_int_eq(store_refresh_set(st, ENTITY_COURSE, "c3", 1700000900, &err), 0);
    ck_assert_int_eq(store_refresh_next(st, &next, &err), 0);
    ck_assert_int_eq(next, 1700000100);
    /* Due is <= now, earliest first; a replaced time counts, not the old. */
    ck_assert_int_eq(store_refresh_due(st, 1700000099, due, 8, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(store_refresh_due(st, 1700000300, due, 8, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(due[0].key, "c1");
    ck_assert_int_eq(due[0].kind, ENTITY_COURSE);
    ck_assert_int_eq(due[0].at, 1700000100);
    ck_assert_str_eq(due[1].key, "c2");
    ck_assert_int_eq(store_refresh_due(st, 1800000000, due, 1, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(due[0].key, "c1");
    /* Cleared rows are gone. */
    ck_assert_int_eq(store_refresh_set(st, ENTITY_COURSE, "c1", 0, &err), 0);
    ck_assert_int_eq(store_refresh_next(st, &next, &err), 0);
    ck_assert_int_eq(next, 1700000300);
    /* Inside a transaction that rolls back: nothing changes. */
    ck_assert_int_eq(store_begin(st, &err), 0);
    ck_assert_int_eq(store_refresh_set(st, ENTITY_COURSE, "c9", 1600000000, &err), 0);
    ck_assert_int_eq(store_rollback(st), 0);
    ck_assert_int_eq(store_refresh_next(st, &next, &err), 0);
    ck_assert_int_eq(next, 1700000300);
    /* Survives a reopen (it is in the store, for every process). */
    store_close(st);
    st = open_at(dir);
    ck_assert_int_eq(store_refresh_due(st, 1800000000, due, 8, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(due[0].key, "c2");
    ck_assert_str_eq(due[1].key, "c3");
    ck_assert_int_eq(due[1].at, 1700000900);
    /* Bad input is refused, not stored. */
    ck_assert_int_eq(store_refresh_set(st, ENTITY_COURSE, "", 1700000000, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
}
END_TEST

START_TEST(migrate_is_idempotent)
{
    struct error err = {0};
    int from = -1, to = -1;
    ck_assert_int_eq(store_migrate(st, &from, &to, &err), 0);
    ck_assert_int_gt(to, 0);
    ck_assert_int_eq(from, to);
    int latest = to;
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    store_close(st);
    st = open_at(dir); /* reopening keeps the data and applies nothing */
    ck_assert_int_eq(store_migrate(st, &from, &to, &err), 0);
    ck_assert_int_eq(from, latest);
    ck_assert_int_eq(to, latest);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 1);
    ck_assert_int_eq(store_health(st, &err), 0);
}
END_TEST

/* A writer that cannot get the lock in time is told to retry, and the
 * store works again once the lock is free. */
START_TEST(busy_is_unavailable)
{
    if (strcmp(drv->name, "sqlite") != 0)
        return; /* PostgreSQL row locks wait; there is no file lock to hold */
    struct store *other = open_with(dir, "store.busy_timeout=50");
    struct error err = {0};
    ck_assert_int_eq(store_begin(st, &err), 0);
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    json_t *b = org("B");
    ck_assert_int_eq(store_put(other, ENTITY_ORGANIZATION, b, STORE_CREATE, NULL, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    /* Readers are not blocked by the writer (WAL), and see only committed data. */
    size_t n = 9;
    ck_assert_int_eq(store_count(other, ENTITY_ORGANIZATION, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(store_commit(st, &err), 0);
    ck_assert_int_eq(store_put(other, ENTITY_ORGANIZATION, b, STORE_CREATE, NULL, &err), 0);
    json_decref(b);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 2);
    store_close(other);
}
END_TEST

START_TEST(open_fails_cleanly)
{
    struct error err = {0};
    char path[4200];
    snprintf(path, sizeof path, "store.path=%s/no/such/dir/catalog.db", dir);
    char driver[64];
    snprintf(driver, sizeof driver, "store.driver=%s", drv->name);
    const char *sets[] = {path, driver, NULL};
    struct config *config = test_config(sets);
    struct store *s = (struct store *)&err; /* must be reset */
    ck_assert_int_eq(drv->open(config, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_int_ne(err.code, ERR_NONE);
    config_free(config);
}
END_TEST

/* --------------------------------------------------------- concurrency */

struct worker {
    int id;
    int failures;
    char last_error[512];
};

static void *writer(void *p)
{
    struct worker *w = p;
    struct error err = {0};
    for (int i = 0; i < 50; i++) {
        char key[32];
        snprintf(key, sizeof key, "W%d-%02d", w->id, i);
        char u[37];
        snprintf(u, sizeof u, "30000000-0000-4000-8000-%06d%06d", w->id, i);
        json_t *doc = json_pack("{s:s, s:s, s:s}", "uuid", u, "key", key, "name", key);
        if (store_put(st, ENTITY_ORGANIZATION, doc, STORE_CREATE, NULL, &err) != 0) {
            w->failures++;
            snprintf(w->last_error, sizeof w->last_error, "%s", err.message);
        }
        json_decref(doc);
        struct store_query q = query(ENTITY_ORGANIZATION);
        struct store_page page = {0};
        if (store_list(st, &q, &page, &err) != 0) {
            w->failures++;
            snprintf(w->last_error, sizeof w->last_error, "%s", err.message);
        }
        json_decref(page.items);
    }
    return NULL;
}

START_TEST(threads_write_and_read)
{
    pthread_t t[2];
    struct worker w[2] = {{.id = 1}, {.id = 2}};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, writer, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(w[0].failures == 0 && w[1].failures == 0, "failures: %s %s", w[0].last_error,
                  w[1].last_error);
    ck_assert_uint_eq(count(ENTITY_ORGANIZATION), 100);
    ck_assert_uint_eq(n_changes(), 100);
}
END_TEST

START_TEST(thousand_courses_in_one_transaction)
{
    struct error err = {0};
    put_ok(ENTITY_ORGANIZATION, org("A"), STORE_CREATE);
    put_ok(ENTITY_SUBJECT, subject("s1"), STORE_CREATE);
    ck_assert_int_eq(store_begin(st, &err), 0);
    for (int i = 0; i < 1000; i++) {
        char key[32];
        snprintf(key, sizeof key, "A+%04d", i);
        put_ok(ENTITY_COURSE,
               course(key, (const char *[]){"A", NULL}, (const char *[]){"s1", NULL}, key,
                      "2024-01-01T00:00:00Z"),
               STORE_UPSERT);
    }
    ck_assert_int_eq(store_commit(st, &err), 0);
    /* How fast is the benchmarks' business (bench/), not a unit test's:
     * shared machines make wall-clock bounds flaky. */
    ck_assert_uint_eq(count(ENTITY_COURSE), 1000);
    struct store_query q = query(ENTITY_COURSE);
    q.limit = 500;
    struct store_page page = {0};
    ck_assert_int_eq(store_list(st, &q, &page, &err), 0);
    ck_assert_uint_eq(json_array_size(page.items), 500);
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_array_get(page.items, 499), "owners"), 0)),
                     "A");
    json_decref(page.items);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *store_suite(const char *name)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("conformance");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roundtrip_every_kind);
    tcase_add_test(tc, roundtrip_sample_catalog);
    tcase_add_test(tc, missing_fields_read_as_null);
    tcase_add_test(tc, bad_input_is_invalid);
    tcase_add_test(tc, get_by_key_and_uuid);
    tcase_add_test(tc, create_conflicts);
    tcase_add_test(tc, replace_and_upsert);
    tcase_add_test(tc, filters_on_runs);
    tcase_add_test(tc, active_at_boundaries);
    tcase_add_test(tc, filters_on_courses_and_programs);
    tcase_add_test(tc, ordering_and_paging);
    tcase_add_test(tc, each_in_key_order);
    tcase_add_test(tc, missing_references);
    tcase_add_test(tc, delete_refusals_name_holders);
    tcase_add_test(tc, course_delete_cascades);
    tcase_add_test(tc, rollback_leaves_nothing);
    tcase_add_test(tc, bulk_load_is_all_or_nothing);
    tcase_add_test(tc, outbox_and_checkpoints);
    tcase_add_test(tc, search_refresh_times);
    tcase_add_test(tc, migrate_is_idempotent);
    tcase_add_test(tc, busy_is_unavailable);
    tcase_add_test(tc, open_fails_cleanly);
    tcase_add_test(tc, threads_write_and_read);
    tcase_add_test(tc, thousand_courses_in_one_transaction);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    static const char *const names[] = {"sqlite", "postgres"};
    int status = EXIT_SUCCESS, ran = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        drv = registry_store(names[i]);
        if (drv == NULL)
            continue; /* not compiled in */
        char name[64];
        snprintf(name, sizeof name, "store:%s", names[i]);
        if (test_run_suite(store_suite(name)) != EXIT_SUCCESS)
            status = EXIT_FAILURE;
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no store driver compiled in\n");
        return EXIT_FAILURE;
    }
    return status;
}
