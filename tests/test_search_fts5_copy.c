/*
 * test_search_fts5_copy - the compact form of the fts5 driver's memory copy
 * (fts5_internal.h, struct meta_entry) must answer exactly as the tables
 * do at its edges: dates outside the int32 window kept to the second,
 * content_type counted and picked from each document's content (it is no
 * facet id in the copy), facet ids widened past 65,535 values, document
 * ids past 2^32.  Each case is checked on a copy loaded from the file (a
 * fresh handle) and on one kept current by the write log (a handle that
 * had loaded before the writes).
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "search.h"
#include "search_query.h"
#include "testutil.h"

static char *tmpdir;
static char dbpath[4200];
static struct search *logged; /* loaded before the writes: follows them by log */
static time_t now;

static struct search *open_handle(void)
{
    return test_fts5_open(dbpath);
}

static void put_all(struct search *s, json_t *docs)
{
    struct error err = {0};
    ck_assert_msg(s->driver->index(s, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
}

static json_t *doc(const char *content, const char *key, const char *start, const char *end)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s], s:s?, s:s?}", "content_type",
                     content, "key", key, "title", "Python", "status", "published", "orgs", "MITx",
                     "organizations", "MITx: Massachusetts", "subjects", "Computing", "start",
                     start, "end", end);
}

/* rq's hit set for q with facets (filters set by the caller); the caller
 * clears the result. */
static struct search_result run(struct search *s, struct search_request rq)
{
    struct search_node *tree = NULL;
    struct error err = {0};
    struct search_result res = {0};
    ck_assert_msg(search_query_parse("python", 6, &tree, &err) == 0, "%s", err.message);
    rq.query = tree;
    rq.now = now;
    rq.want_facets = true;
    rq.limit = 50;
    ck_assert_msg(s->driver->query(s, &rq, &res, &err) == 0, "%s", err.message);
    search_query_free(tree);
    return res;
}

static size_t total(struct search *s, struct search_request rq)
{
    struct search_result r = run(s, rq);
    size_t n = r.total;
    search_result_clear(&r);
    return n;
}

static json_int_t facet(const struct search_result *res, const char *field, const char *value)
{
    return json_integer_value(
        json_object_get(json_object_get(json_object_get(res->facets, "fields"), field), value));
}

static void setup(void)
{
    tmpdir = test_tmpdir();
    snprintf(dbpath, sizeof dbpath, "%s/index.db", tmpdir);
    ck_assert_int_eq(clock_parse_iso8601("2025-06-01T00:00:00Z", &now), 0);
    logged = open_handle();
    put_all(logged, json_pack("[o]", doc("courserun", "seed", "2025-01-01T00:00:00Z", NULL)));
    size_t n = total(logged, (struct search_request){0}); /* loads the copy */
    ck_assert_uint_eq(n, 1);
}

static void teardown(void)
{
    search_close(logged);
    logged = NULL;
    free(tmpdir);
}

/* Runs check on the logged handle and on a fresh one. */
static void both(void (*check)(struct search *s))
{
    check(logged);
    struct search *fresh = open_handle();
    check(fresh);
    search_close(fresh);
}

static void check_dates(struct search *s)
{
    time_t t;
    ck_assert_uint_eq(total(s, (struct search_request){.availability = "archived"}), 1);
    ck_assert_uint_eq(total(s, (struct search_request){.availability = "upcoming"}), 1);
    ck_assert_uint_eq(total(s, (struct search_request){.availability = "current"}), 2);
    ck_assert_int_eq(clock_parse_iso8601("2099-01-01T00:00:00Z", &t), 0);
    ck_assert_uint_eq(total(s, (struct search_request){.start_gte = t}), 1);
    ck_assert_int_eq(clock_parse_iso8601("1950-01-01T00:00:00Z", &t), 0);
    ck_assert_uint_eq(total(s, (struct search_request){.start_lte = t}), 1);
    /* To the second, inside the window and outside it. */
    ck_assert_int_eq(clock_parse_iso8601("2025-03-04T05:06:07Z", &t), 0);
    ck_assert_uint_eq(total(s, (struct search_request){.start_gte = t}), 2);
    ck_assert_uint_eq(total(s, (struct search_request){.start_gte = t + 1}), 1);
    ck_assert_int_eq(clock_parse_iso8601("2100-06-01T00:00:01Z", &t), 0);
    ck_assert_uint_eq(total(s, (struct search_request){.start_gte = t}), 1);
    ck_assert_uint_eq(total(s, (struct search_request){.start_gte = t + 1}), 0);
    ck_assert_uint_eq(total(s, (struct search_request){.start_lte = t - 1, .start_gte = t - 1}), 0);
}

START_TEST(dates_outside_int32_window_exact)
{
    put_all(logged,
            json_pack("[o, o, o]",
                      doc("courserun", "old", "1900-01-01T00:00:00Z", "1901-01-01T00:00:00Z"),
                      doc("courserun", "far", "2100-06-01T00:00:01Z", NULL),
                      doc("courserun", "now", "2025-03-04T05:06:07Z", "2025-12-01T00:00:00Z")));
    both(check_dates);
}
END_TEST

static void check_content(struct search *s)
{
    struct search_result r = run(s, (struct search_request){0});
    ck_assert_uint_eq(r.total, 4);
    ck_assert_int_eq(facet(&r, "content_type", "courserun"), 2);
    ck_assert_int_eq(facet(&r, "content_type", "course"), 1);
    ck_assert_int_eq(facet(&r, "content_type", "program"), 1);
    ck_assert_uint_eq(
        json_object_size(json_object_get(json_object_get(r.facets, "fields"), "content_type")), 3);
    search_result_clear(&r);
    struct search_facet_pick program = {"content_type", "program"},
                             run_ = {"content_type", "courserun"},
                             bogus = {"content_type", "video"};
    r = run(s, (struct search_request){.picks = &program, .n_picks = 1});
    ck_assert_uint_eq(r.total, 1);
    ck_assert_int_eq(facet(&r, "content_type", "program"), 1);
    ck_assert_int_eq(facet(&r, "content_type", "courserun"), 0);
    search_result_clear(&r);
    struct search_facet_pick two[] = {program, run_};
    ck_assert_uint_eq(total(s, (struct search_request){.picks = two, .n_picks = 2}), 0);
    ck_assert_uint_eq(total(s, (struct search_request){.picks = &bogus, .n_picks = 1}), 0);
    ck_assert_uint_eq(total(s, (struct search_request){.picks = &run_,
                                                       .n_picks = 1,
                                                       .content_mask = 1u << SEARCH_COURSE}),
                      0);
    ck_assert_uint_eq(total(s, (struct search_request){.picks = &run_,
                                                       .n_picks = 1,
                                                       .content_mask = 1u << SEARCH_COURSE_RUN}),
                      2);
}

START_TEST(content_type_from_content)
{
    put_all(logged,
            json_pack("[o, o, o]", doc("course", "c1", NULL, NULL),
                      doc("program", "p1", NULL, NULL), doc("courserun", "r1", NULL, NULL)));
    both(check_content);
}
END_TEST

#define MANY_DOCS 700
#define VALUES_PER_DOC 100 /* 70,000 subjects: past 16-bit ids */

static void check_many(struct search *s)
{
    struct search_result r = run(s, (struct search_request){0});
    ck_assert_uint_eq(r.total, MANY_DOCS + 1);
    ck_assert_int_eq(facet(&r, "subjects", "s0-0"), 1);
    ck_assert_int_eq(facet(&r, "subjects", "s699-99"), 1);
    ck_assert_int_eq(facet(&r, "subjects", "shared"), MANY_DOCS);
    ck_assert_int_eq(facet(&r, "subjects", "Computing"), 1);
    ck_assert_uint_eq(
        json_object_size(json_object_get(json_object_get(r.facets, "fields"), "subjects")),
        MANY_DOCS * VALUES_PER_DOC + 2);
    search_result_clear(&r);
    struct search_facet_pick last[] = {{"subjects", "s699-99"}, {"subjects", "shared"}};
    r = run(s, (struct search_request){.picks = last, .n_picks = 2});
    ck_assert_uint_eq(r.total, 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r.hits, 0), "key")), "m699");
    search_result_clear(&r);
}

START_TEST(facet_ids_past_16_bits)
{
    json_t *docs = json_array();
    for (int d = 0; d < MANY_DOCS; d++) {
        char key[16], v[32];
        snprintf(key, sizeof key, "m%d", d);
        json_t *subjects = json_pack("[s]", "shared");
        for (int k = 0; k < VALUES_PER_DOC; k++) {
            snprintf(v, sizeof v, "s%d-%d", d, k);
            json_array_append_new(subjects, json_string(v));
        }
        json_t *one = doc("courserun", key, NULL, NULL);
        json_object_set_new(one, "subjects", subjects);
        json_array_append_new(docs, one);
        if (json_array_size(docs) == 100) {
            put_all(logged, docs);
            docs = json_array();
        }
    }
    put_all(logged, docs);
    both(check_many);
}
END_TEST

static void exec_sql(const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(db);
}

static void check_big_ids(struct search *s)
{
    struct search_result r = run(s, (struct search_request){0});
    ck_assert_uint_eq(r.total, 3);
    ck_assert_int_eq(facet(&r, "organizations", "MITx: Massachusetts"), 3);
    ck_assert_int_eq(facet(&r, "content_type", "program"), 1);
    search_result_clear(&r);
    struct search_facet_pick program = {"content_type", "program"};
    r = run(s, (struct search_request){.picks = &program, .n_picks = 1});
    ck_assert_uint_eq(r.total, 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r.hits, 0), "key")), "big");
    search_result_clear(&r);
    ck_assert_uint_eq(total(s, (struct search_request){.availability = "archived"}), 1);
}

START_TEST(ids_past_32_bits)
{
    put_all(logged, json_pack("[o]", doc("program", "big", "2020-01-01T00:00:00Z",
                                         "2020-02-01T00:00:00Z")));
    /* Rowids only pass 2^32 after billions of writes: move one there. */
    exec_sql("UPDATE fts SET rowid = 5000000000 WHERE rowid = (SELECT id FROM docs WHERE"
             " key = 'big');"
             "UPDATE facets SET doc = 5000000000 WHERE doc = (SELECT id FROM docs WHERE"
             " key = 'big');"
             "UPDATE docs SET id = 5000000000 WHERE key = 'big';");
    /* The next write gets an id past it, through the log of a copy loaded
     * with 64-bit ids (the other connection's commit made it reload). */
    ck_assert_uint_eq(total(logged, (struct search_request){0}), 2);
    put_all(logged, json_pack("[o]", doc("course", "after", NULL, NULL)));
    both(check_big_ids);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("search_fts5_copy");
    TCase *tc = tcase_create("copy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, dates_outside_int32_window_exact);
    tcase_add_test(tc, content_type_from_content);
    tcase_add_test(tc, facet_ids_past_16_bits);
    tcase_add_test(tc, ids_past_32_bits);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
