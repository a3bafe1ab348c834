/*
 * test_search_docs - flattening records into search documents, and the
 * documents each kind of outbox change touches, against a real sqlite
 * store (and the fts5 index, for where a run was indexed before).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "registry.h"
#include "search_docs.h"
#include "testutil.h"

static struct store *st;
static struct search *idx;
static struct config *cfg;
static time_t now;

static void put(enum entity_kind kind, const char *text)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    ck_assert_msg(in != NULL, "bad fixture: %s", jerr.text);
    json_t *doc = NULL;
    struct error err = {0};
    ck_assert_msg(entity_normalize(kind, in, ENTITY_CREATE, &doc, &err) == 0, "normalize: %s %s",
                  err.field, err.message);
    ck_assert_msg(store_put(st, kind, doc, STORE_UPSERT, NULL, &err) == 0, "put: %s", err.message);
    json_decref(in);
    json_decref(doc);
}

static void setup(void)
{
    char *dir = test_tmpdir();
    char path[512], spath[512];
    snprintf(path, sizeof path, "store.path=%s/c.db", dir);
    snprintf(spath, sizeof spath, "search.path=%s/c.db-search", dir);
    const char *sets[] = {path, spath, "search.driver=fts5", NULL};
    free(dir);
    cfg = test_config(sets);
    struct error err = {0};
    ck_assert_msg(store_open(cfg, &st, &err) == 0, "store: %s", err.message);
    ck_assert_msg(search_open(cfg, &idx, &err) == 0 && idx != NULL, "search: %s", err.message);
    clock_parse_iso8601("2025-06-01T00:00:00Z", &now);

    put(ENTITY_ORGANIZATION, "{\"key\":\"MITx\",\"name\":\"Massachusetts Institute\"}");
    put(ENTITY_ORGANIZATION, "{\"key\":\"HarvardX\",\"name\":\"Harvard University\"}");
    put(ENTITY_SUBJECT, "{\"slug\":\"cs\",\"name\":\"Computer Science\"}");
    put(ENTITY_SUBJECT, "{\"slug\":\"math\",\"name\":\"Mathematics\"}");
    put(ENTITY_PROGRAM_TYPE, "{\"slug\":\"mm\",\"name\":\"MicroMasters\","
                             "\"applicable_seat_types\":[\"verified\"]}");
    put(ENTITY_COURSE, "{\"key\":\"MITx+CS1\",\"title\":\"Intro to CS\",\"owners\":[\"MITx\"],"
                       "\"subjects\":[\"cs\",\"math\"],\"short_description\":\"short\","
                       "\"level_type\":\"Introductory\"}");
    put(ENTITY_COURSE, "{\"key\":\"HarvardX+M2\",\"title\":\"Algebra\",\"owners\":[\"HarvardX\"],"
                       "\"subjects\":[\"math\"]}");
    /* Three runs of CS1: archived, current, upcoming; plus one unpublished
     * with a seat type nobody else has. */
    put(ENTITY_COURSE_RUN,
        "{\"key\":\"course-v1:MITx+CS1+1T2024\",\"course\":\"MITx+CS1\",\"status\":\"published\","
        "\"start\":\"2024-01-01T00:00:00Z\",\"end\":\"2024-05-01T00:00:00Z\","
        "\"pacing_type\":\"instructor_paced\",\"seats\":[{\"type\":\"audit\",\"price\":\"0\"}]}");
    put(ENTITY_COURSE_RUN,
        "{\"key\":\"course-v1:MITx+CS1+1T2025\",\"course\":\"MITx+CS1\",\"status\":\"published\","
        "\"start\":\"2025-03-01T00:00:00Z\",\"end\":\"2025-09-01T00:00:00Z\","
        "\"pacing_type\":\"self_paced\",\"content_language\":\"en\","
        "\"seats\":[{\"type\":\"verified\",\"price\":\"49\"}]}");
    put(ENTITY_COURSE_RUN,
        "{\"key\":\"course-v1:MITx+CS1+3T2025\",\"course\":\"MITx+CS1\",\"status\":\"published\","
        "\"start\":\"2025-10-01T00:00:00Z\",\"pacing_type\":\"instructor_paced\","
        "\"title\":\"Intro to CS (fall)\"}");
    put(ENTITY_COURSE_RUN,
        "{\"key\":\"course-v1:MITx+CS1+X\",\"course\":\"MITx+CS1\",\"status\":\"unpublished\","
        "\"start\":\"2025-04-01T00:00:00Z\","
        "\"seats\":[{\"type\":\"professional\",\"price\":\"300\"}]}");
    put(ENTITY_COURSE_RUN, "{\"key\":\"course-v1:HarvardX+M2+1T2026\",\"course\":\"HarvardX+M2\","
                           "\"status\":\"published\",\"start\":\"2026-01-10T00:00:00Z\"}");
    put(ENTITY_PROGRAM, "{\"uuid\":\"11111111-1111-4111-8111-111111111111\",\"title\":\"CS MM\","
                        "\"type\":\"mm\",\"status\":\"active\",\"courses\":[\"MITx+CS1\"],"
                        "\"authoring_organizations\":[\"MITx\"]}");
    put(ENTITY_PROGRAM, "{\"uuid\":\"22222222-2222-4222-8222-222222222222\",\"title\":\"Math\","
                        "\"type\":\"mm\",\"status\":\"active\",\"courses\":[\"HarvardX+M2\"],"
                        "\"authoring_organizations\":[\"HarvardX\"]}");
}

static void teardown(void)
{
    search_close(idx);
    store_close(st);
    config_free(cfg);
    idx = NULL;
    st = NULL;
    cfg = NULL;
}

static json_t *flatten(enum entity_kind kind, const char *key)
{
    json_t *record = NULL, *doc = NULL;
    struct error err = {0};
    ck_assert_msg(store_get(st, kind, key, &record, &err) == 0, "get %s: %s", key, err.message);
    ck_assert_msg(search_docs_flatten(st, kind, record, now, &doc, &err) == 0, "flatten: %s",
                  err.message);
    json_decref(record);
    return doc;
}

static const char *s(const json_t *doc, const char *path)
{
    return json_string_value(json_object_get(doc, path));
}

static void assert_list(const json_t *list, const char *expected)
{
    char *text = json_dumps(list, JSON_COMPACT);
    ck_assert_str_eq(text, expected);
    free(text);
}

START_TEST(course_document)
{
    json_t *doc = flatten(ENTITY_COURSE, "MITx+CS1");
    ck_assert_str_eq(s(doc, "content_type"), "course");
    ck_assert_str_eq(s(doc, "key"), "MITx+CS1");
    ck_assert_str_eq(s(doc, "title"), "Intro to CS");
    assert_list(json_object_get(doc, "orgs"), "[\"MITx\"]");
    assert_list(json_object_get(doc, "organizations"), "[\"MITx: Massachusetts Institute\"]");
    assert_list(json_object_get(doc, "subjects"), "[\"Computer Science\",\"Mathematics\"]");
    /* The current run wins; its pacing and language come along. */
    ck_assert_str_eq(s(doc, "start"), "2025-03-01T00:00:00Z");
    ck_assert_str_eq(s(doc, "end"), "2025-09-01T00:00:00Z");
    ck_assert_str_eq(s(doc, "pacing_type"), "self_paced");
    ck_assert_str_eq(s(doc, "language"), "en");
    /* Union over public runs only: professional is on an unpublished run. */
    assert_list(json_object_get(doc, "seat_types"), "[\"audit\",\"verified\"]");
    ck_assert(json_is_null(json_object_get(doc, "status")));
    json_t *hit = json_object_get(doc, "hit");
    ck_assert_str_eq(s(hit, "aggregation_key"), "course:MITx+CS1");
    ck_assert_str_eq(s(hit, "org"), "MITx");
    ck_assert_int_eq(json_array_size(json_object_get(hit, "course_runs")), 4);
    ck_assert(json_object_get(hit, "availability") == NULL);
    ck_assert(json_is_string(json_object_get(hit, "uuid")));
    json_decref(doc);
}
END_TEST

START_TEST(course_picks_upcoming_then_archived)
{
    /* Without a current run, the next upcoming one. */
    time_t later;
    clock_parse_iso8601("2025-09-15T00:00:00Z", &later);
    json_t *record = NULL, *doc = NULL;
    struct error err = {0};
    ck_assert(store_get(st, ENTITY_COURSE, "MITx+CS1", &record, &err) == 0);
    ck_assert(search_docs_flatten(st, ENTITY_COURSE, record, later, &doc, &err) == 0);
    ck_assert_str_eq(s(doc, "start"), "2025-10-01T00:00:00Z");
    ck_assert(json_is_null(json_object_get(doc, "end")));
    json_decref(doc);
    /* Everything over: the last to have ended. */
    clock_parse_iso8601("2030-01-01T00:00:00Z", &later);
    put(ENTITY_COURSE_RUN,
        "{\"key\":\"course-v1:MITx+CS1+3T2025\",\"course\":\"MITx+CS1\",\"status\":\"published\","
        "\"start\":\"2025-10-01T00:00:00Z\",\"end\":\"2026-01-01T00:00:00Z\"}");
    ck_assert(search_docs_flatten(st, ENTITY_COURSE, record, later, &doc, &err) == 0);
    ck_assert_str_eq(s(doc, "end"), "2026-01-01T00:00:00Z");
    json_decref(doc);
    json_decref(record);
}
END_TEST

/* refresh_at of CS1 at t, checked against the documents themselves: the
 * document is the same until then, and the result is after t. */
static time_t refresh_of(const char *course, const char *at)
{
    time_t t, next = 123;
    json_t *record = NULL, *doc = NULL, *before = NULL;
    struct error err = {0};
    ck_assert(clock_parse_iso8601(at, &t) == 0);
    ck_assert(store_get(st, ENTITY_COURSE, course, &record, &err) == 0);
    json_t *lookups = json_object();
    ck_assert_msg(
        search_docs_flatten_refresh(st, lookups, ENTITY_COURSE, record, t, &doc, &next, &err) == 0,
        "%s", err.message);
    json_decref(lookups);
    if (next != 0) {
        ck_assert_int_gt(next, t);
        ck_assert(search_docs_flatten(st, ENTITY_COURSE, record, next - 1, &before, &err) == 0);
        ck_assert_msg(json_equal(doc, before), "%s: changed before its refresh time", at);
        json_decref(before);
    }
    json_decref(doc);
    json_decref(record);
    return next;
}

static void assert_refresh(const char *at, const char *want)
{
    char got[32] = "none";
    time_t next = refresh_of("MITx+CS1", at);
    if (next != 0)
        clock_format_iso8601(next, got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "at %s: refresh %s, want %s", at, got, want);
}

START_TEST(course_refresh_at_each_boundary)
{
    /* A hidden run must not count, like the unpublished one. */
    put(ENTITY_COURSE_RUN,
        "{\"key\":\"course-v1:MITx+CS1+H\",\"course\":\"MITx+CS1\",\"status\":\"published\","
        "\"hidden\":true,\"start\":\"2025-05-15T00:00:00Z\",\"end\":\"2025-05-20T00:00:00Z\"}");
    assert_refresh("2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z"); /* 1T2024 starts */
    assert_refresh("2024-01-01T00:00:00Z", "2024-05-01T00:00:01Z"); /* then ends */
    assert_refresh("2024-05-01T00:00:00Z", "2024-05-01T00:00:01Z"); /* end is still current */
    assert_refresh("2024-05-01T00:00:01Z", "2025-03-01T00:00:00Z"); /* 1T2025 starts */
    assert_refresh("2025-03-01T00:00:00Z", "2025-09-01T00:00:01Z");
    assert_refresh("2025-03-15T00:00:00Z", "2025-09-01T00:00:01Z"); /* X and H ignored */
    assert_refresh("2025-09-01T00:00:01Z", "2025-10-01T00:00:00Z"); /* 3T2025 starts */
    assert_refresh("2025-10-01T00:00:00Z", "none");                 /* no end: final */
    /* Where the pick changes, the document does: the time is needed. */
    time_t t;
    json_t *record = NULL, *a = NULL, *b = NULL;
    struct error err = {0};
    ck_assert(store_get(st, ENTITY_COURSE, "MITx+CS1", &record, &err) == 0);
    clock_parse_iso8601("2025-09-01T00:00:01Z", &t);
    ck_assert(search_docs_flatten(st, ENTITY_COURSE, record, t - 1, &a, &err) == 0);
    ck_assert(search_docs_flatten(st, ENTITY_COURSE, record, t, &b, &err) == 0);
    ck_assert(!json_equal(a, b));
    json_decref(a);
    json_decref(b);
    json_decref(record);
    /* Other documents do not depend on the clock. */
    ck_assert(store_get(st, ENTITY_COURSE_RUN, "course-v1:MITx+CS1+1T2025", &record, &err) == 0);
    time_t next = 5;
    json_t *lookups = json_object(), *none = json_array();
    ck_assert(search_docs_flatten_refresh(st, lookups, ENTITY_COURSE_RUN, record, now, &a, &next,
                                          &err) == 0);
    ck_assert_int_eq(next, 0);
    json_decref(a);
    json_decref(record);
    json_decref(lookups);
    /* A course with no public run has nothing to wait for. */
    ck_assert_int_eq(search_docs_refresh_at(none, now), 0);
    json_decref(none);
}
END_TEST

START_TEST(run_document)
{
    json_t *doc = flatten(ENTITY_COURSE_RUN, "course-v1:MITx+CS1+3T2025");
    ck_assert_str_eq(s(doc, "content_type"), "courserun");
    ck_assert_str_eq(s(doc, "title"), "Intro to CS (fall)");
    /* Not given on the run: the course's. */
    ck_assert_str_eq(s(doc, "short_description"), "short");
    ck_assert_str_eq(s(doc, "level_type"), "Introductory");
    assert_list(json_object_get(doc, "organizations"), "[\"MITx: Massachusetts Institute\"]");
    assert_list(json_object_get(doc, "subjects"), "[\"Computer Science\",\"Mathematics\"]");
    ck_assert_str_eq(s(doc, "status"), "published");
    ck_assert(json_is_false(json_object_get(doc, "hidden")));
    json_t *hit = json_object_get(doc, "hit");
    ck_assert_str_eq(s(hit, "course"), "MITx+CS1");
    ck_assert_str_eq(s(hit, "aggregation_key"), "courserun:MITx+CS1");
    ck_assert(json_is_true(json_object_get(hit, "published")));
    json_decref(doc);

    doc = flatten(ENTITY_COURSE_RUN, "course-v1:MITx+CS1+X");
    ck_assert_str_eq(s(doc, "title"), "Intro to CS");
    ck_assert_str_eq(s(doc, "status"), "unpublished");
    assert_list(json_object_get(doc, "seat_types"), "[\"professional\"]");
    ck_assert_str_eq(s(json_object_get(doc, "hit"), "type"), "professional");
    json_decref(doc);
}
END_TEST

START_TEST(program_document)
{
    json_t *doc = flatten(ENTITY_PROGRAM, "11111111-1111-4111-8111-111111111111");
    ck_assert_str_eq(s(doc, "content_type"), "program");
    ck_assert_str_eq(s(doc, "key"), "11111111-1111-4111-8111-111111111111");
    ck_assert_str_eq(s(doc, "status"), "active");
    assert_list(json_object_get(doc, "seat_types"), "[\"verified\"]");
    assert_list(json_object_get(doc, "subjects"), "[\"Computer Science\",\"Mathematics\"]");
    assert_list(json_object_get(doc, "organizations"), "[\"MITx: Massachusetts Institute\"]");
    json_t *hit = json_object_get(doc, "hit");
    ck_assert_str_eq(s(hit, "type"), "MicroMasters");
    ck_assert_str_eq(s(hit, "uuid"), "11111111-1111-4111-8111-111111111111");
    json_decref(doc);
}
END_TEST

START_TEST(flatten_refuses_other_kinds)
{
    json_t *doc = NULL, *rec = json_pack("{s:s}", "key", "MITx");
    struct error err = {0};
    ck_assert_int_eq(search_docs_flatten(st, ENTITY_ORGANIZATION, rec, now, &doc, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert(doc == NULL);
    json_decref(rec);
}
END_TEST

/* The touched documents of one change, as sorted "content key" lines
 * prefixed with + (indexed) or - (removed). */
static char *touched(enum entity_kind kind, const char *key, bool deleted)
{
    struct search_docs_plan plan = {0};
    struct store_change ch = {.id = 1, .kind = kind, .deleted = deleted};
    struct error err = {0};
    json_t *index, *remove;
    snprintf(ch.key, sizeof ch.key, "%s", key);
    ck_assert(search_docs_plan_init(&plan, &err) == 0);
    ck_assert_msg(search_docs_plan_change(&plan, st, idx, &ch, &err) == 0, "plan: %s", err.message);
    ck_assert_msg(search_docs_plan_expand(&plan, st, &err) == 0, "expand: %s", err.message);
    ck_assert_msg(search_docs_plan_resolve(&plan, st, now, 0, 0, &index, &remove, &err) == 0,
                  "resolve: %s", err.message);
    char lines[32][300];
    size_t n = 0, i;
    json_t *d;
    json_array_foreach(index, i, d)
        snprintf(lines[n++], sizeof lines[0], "+%s %s", s(d, "content_type"), s(d, "key"));
    json_array_foreach(remove, i, d)
        snprintf(lines[n++], sizeof lines[0], "-%s %s", s(d, "content_type"), s(d, "key"));
    qsort(lines, n, sizeof lines[0], (int (*)(const void *, const void *))strcmp);
    char *out = calloc(1, 32 * 300);
    for (i = 0; i < n; i++) {
        strcat(out, lines[i]);
        strcat(out, i + 1 < n ? "|" : "");
    }
    json_decref(index);
    json_decref(remove);
    search_docs_plan_clear(&plan);
    return out;
}

static void assert_touched(enum entity_kind kind, const char *key, bool deleted,
                           const char *expected)
{
    char *got = touched(kind, key, deleted);
    ck_assert_str_eq(got, expected);
    free(got);
}

START_TEST(affected_by_run_and_course)
{
    assert_touched(ENTITY_COURSE_RUN, "course-v1:HarvardX+M2+1T2026", false,
                   "+course HarvardX+M2|+courserun course-v1:HarvardX+M2+1T2026");
    assert_touched(ENTITY_COURSE, "HarvardX+M2", false,
                   "+course HarvardX+M2|+courserun course-v1:HarvardX+M2+1T2026"
                   "|+program 22222222-2222-4222-8222-222222222222");
    assert_touched(ENTITY_PROGRAM, "22222222-2222-4222-8222-222222222222", false,
                   "+program 22222222-2222-4222-8222-222222222222");
    assert_touched(ENTITY_PATHWAY, "whatever", false, "");
}
END_TEST

START_TEST(affected_by_deleted_run_finds_old_course)
{
    /* Index the run, then delete it: its course (known only from the
     * index now) is rebuilt and the run removed. */
    json_t *doc = flatten(ENTITY_COURSE_RUN, "course-v1:HarvardX+M2+1T2026");
    json_t *docs = json_pack("[o]", doc);
    struct error err = {0};
    ck_assert(idx->driver->index(idx, docs, &err) == 0);
    json_decref(docs);
    ck_assert(store_remove(st, ENTITY_COURSE_RUN, "course-v1:HarvardX+M2+1T2026", &err) == 0);
    assert_touched(ENTITY_COURSE_RUN, "course-v1:HarvardX+M2+1T2026", true,
                   "+course HarvardX+M2|-courserun course-v1:HarvardX+M2+1T2026");
    /* A program that is gone: its document is removed. */
    assert_touched(ENTITY_PROGRAM, "33333333-3333-4333-8333-333333333333", true,
                   "-program 33333333-3333-4333-8333-333333333333");
}
END_TEST

START_TEST(affected_by_names)
{
    /* An organization: the courses it owns, their runs, its programs. */
    assert_touched(ENTITY_ORGANIZATION, "HarvardX", false,
                   "+course HarvardX+M2|+courserun course-v1:HarvardX+M2+1T2026"
                   "|+program 22222222-2222-4222-8222-222222222222");
    /* A subject: every course naming it, with runs and programs. */
    char *got = touched(ENTITY_SUBJECT, "cs", false);
    ck_assert_str_eq(got, "+course MITx+CS1|+courserun course-v1:MITx+CS1+1T2024"
                          "|+courserun course-v1:MITx+CS1+1T2025"
                          "|+courserun course-v1:MITx+CS1+3T2025|+courserun course-v1:MITx+CS1+X"
                          "|+program 11111111-1111-4111-8111-111111111111");
    free(got);
    /* A program type: its programs. */
    assert_touched(ENTITY_PROGRAM_TYPE, "mm", false,
                   "+program 11111111-1111-4111-8111-111111111111"
                   "|+program 22222222-2222-4222-8222-222222222222");
}
END_TEST

START_TEST(renamed_organization_changes_facet_value)
{
    put(ENTITY_ORGANIZATION, "{\"key\":\"HarvardX\",\"name\":\"Harvard\"}");
    json_t *doc = flatten(ENTITY_COURSE_RUN, "course-v1:HarvardX+M2+1T2026");
    assert_list(json_object_get(doc, "organizations"), "[\"HarvardX: Harvard\"]");
    json_decref(doc);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("search_docs");
    TCase *tc = tcase_create("search_docs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, course_document);
    tcase_add_test(tc, course_picks_upcoming_then_archived);
    tcase_add_test(tc, course_refresh_at_each_boundary);
    tcase_add_test(tc, run_document);
    tcase_add_test(tc, program_document);
    tcase_add_test(tc, flatten_refuses_other_kinds);
    tcase_add_test(tc, affected_by_run_and_course);
    tcase_add_test(tc, affected_by_deleted_run_finds_old_course);
    tcase_add_test(tc, affected_by_names);
    tcase_add_test(tc, renamed_organization_changes_facet_value);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
