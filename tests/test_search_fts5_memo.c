/*
 * test_search_fts5_memo - the fts5 driver's in-memory copy of filter
 * fields and facet values (totals and facet counts come from it): it must
 * follow writes made by this handle, by another handle on the same file
 * (another process), a rebuild's uncommitted state and its rollback; and
 * keys_only must give the same hits, only smaller.
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
static struct search *a, *b; /* two handles on one index file */
static time_t now;

static struct search *open_handle(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.db", tmpdir);
    return test_fts5_open(path);
}

/* A course run document; org and subject are facet values, start and end
 * ISO instants or NULL. */
static json_t *run_doc(const char *key, const char *title, const char *org, const char *subject,
                       const char *start, const char *end)
{
    return json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:[s], s:s, s:s?, s:s?}", "content_type",
                     "courserun", "key", key, "title", title, "orgs", org, "organizations", org,
                     "subjects", subject, "status", "published", "start", start, "end", end);
}

static void put(struct search *s, json_t *doc)
{
    json_t *docs = json_pack("[o]", doc);
    struct error err = {0};
    ck_assert_msg(s->driver->index(s, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
}

static void setup(void)
{
    tmpdir = test_tmpdir();
    a = open_handle();
    b = open_handle();
    ck_assert_int_eq(clock_parse_iso8601("2025-06-01T00:00:00Z", &now), 0);
    put(a, run_doc("r1", "Python basics", "MITx", "Computer Science", "2025-01-01T00:00:00Z",
                   "2025-12-01T00:00:00Z"));
    put(a, run_doc("r2", "Python advanced", "HarvardX", "Computer Science", "2025-07-01T00:00:00Z",
                   NULL));
    put(a, run_doc("r3", "Old python", "MITx", "History", "2020-01-01T00:00:00Z",
                   "2020-06-01T00:00:00Z"));
}

static void teardown(void)
{
    search_close(a);
    search_close(b);
    a = b = NULL;
    free(tmpdir);
}

/* Runs q with facets on s; the caller clears the result. */
static struct search_result query(struct search *s, const char *q, bool keys_only)
{
    struct search_node *tree = NULL;
    struct error err = {0};
    struct search_result res = {0};
    if (q != NULL)
        ck_assert_msg(search_query_parse(q, strlen(q), &tree, &err) == 0, "%s", err.message);
    struct search_request rq = {
        .query = tree, .now = now, .want_facets = true, .keys_only = keys_only, .limit = 50};
    ck_assert_msg(s->driver->query(s, &rq, &res, &err) == 0, "%s", err.message);
    search_query_free(tree);
    return res;
}

static json_int_t facet(const struct search_result *res, const char *field, const char *value)
{
    return json_integer_value(
        json_object_get(json_object_get(json_object_get(res->facets, "fields"), field), value));
}

static json_int_t available(const struct search_result *res, const char *which)
{
    return json_integer_value(json_object_get(json_object_get(res->facets, "queries"), which));
}

START_TEST(counts_follow_own_writes)
{
    struct search_result r = query(a, "python", false);
    ck_assert_uint_eq(r.total, 3);
    ck_assert_int_eq(facet(&r, "organizations", "MITx"), 2);
    ck_assert_int_eq(available(&r, "availability_archived"), 1);
    ck_assert_int_eq(available(&r, "availability_current"), 1);
    ck_assert_int_eq(available(&r, "availability_starting_soon"), 1);
    search_result_clear(&r);

    /* r3 moves to HarvardX and into the future; r1 goes away. */
    put(a, run_doc("r3", "Old python", "HarvardX", "History", "2026-01-01T00:00:00Z", NULL));
    struct error err = {0};
    ck_assert_int_eq(a->driver->remove(a, SEARCH_COURSE_RUN, "r1", &err), 0);
    r = query(a, "python", false);
    ck_assert_uint_eq(r.total, 2);
    ck_assert_int_eq(facet(&r, "organizations", "MITx"), 0);
    ck_assert_int_eq(facet(&r, "organizations", "HarvardX"), 2);
    ck_assert_int_eq(available(&r, "availability_archived"), 0);
    ck_assert_int_eq(available(&r, "availability_upcoming"), 1);
    search_result_clear(&r);
}
END_TEST

START_TEST(counts_follow_another_handle)
{
    struct search_result r = query(a, NULL, false); /* a loads its copy */
    ck_assert_uint_eq(r.total, 3);
    search_result_clear(&r);
    put(b, run_doc("r4", "Python for data", "EPFLx", "Data Analysis", NULL, NULL));
    r = query(a, "python", false);
    ck_assert_uint_eq(r.total, 4);
    ck_assert_int_eq(facet(&r, "organizations", "EPFLx"), 1);
    ck_assert_int_eq(facet(&r, "subjects", "Data Analysis"), 1);
    ck_assert_int_eq(available(&r, "availability_upcoming"), 1);
    search_result_clear(&r);
    struct error err = {0};
    ck_assert_int_eq(b->driver->clear(b, &err), 0);
    r = query(a, "python", false);
    ck_assert_uint_eq(r.total, 0);
    ck_assert_int_eq(facet(&r, "organizations", "MITx"), 0);
    search_result_clear(&r);
}
END_TEST

START_TEST(rebuild_seen_by_its_handle_only)
{
    struct error err = {0};
    ck_assert_int_eq(a->driver->rebuild_begin(a, &err), 0);
    struct search_result r = query(a, "python", false);
    ck_assert_uint_eq(r.total, 0);
    search_result_clear(&r);
    put(a, run_doc("n1", "Python anew", "EPFLx", "Physics", NULL, NULL));
    r = query(a, "python", false);
    ck_assert_uint_eq(r.total, 1);
    ck_assert_int_eq(facet(&r, "organizations", "EPFLx"), 1);
    search_result_clear(&r);
    r = query(b, "python", false); /* the old index meanwhile */
    ck_assert_uint_eq(r.total, 3);
    ck_assert_int_eq(facet(&r, "organizations", "EPFLx"), 0);
    search_result_clear(&r);
    ck_assert_int_eq(a->driver->rebuild_end(a, false, &err), 0);
    r = query(a, "python", false);
    ck_assert_uint_eq(r.total, 3);
    ck_assert_int_eq(facet(&r, "organizations", "EPFLx"), 0);
    search_result_clear(&r);

    ck_assert_int_eq(a->driver->rebuild_begin(a, &err), 0);
    put(a, run_doc("n1", "Python anew", "EPFLx", "Physics", NULL, NULL));
    ck_assert_int_eq(a->driver->rebuild_end(a, true, &err), 0);
    struct search *handles[] = {a, b};
    for (int h = 0; h < 2; h++) {
        r = query(handles[h], "python", false);
        ck_assert_uint_eq(r.total, 1);
        ck_assert_int_eq(facet(&r, "organizations", "EPFLx"), 1);
        ck_assert_int_eq(facet(&r, "organizations", "MITx"), 0);
        search_result_clear(&r);
    }
}
END_TEST

START_TEST(keys_only_same_hits)
{
    struct search_result full = query(a, "python -old", false);
    struct search_result keys = query(a, "python -old", true);
    ck_assert_uint_eq(full.total, 2);
    ck_assert_uint_eq(keys.total, full.total);
    ck_assert_uint_eq(json_array_size(keys.hits), json_array_size(full.hits));
    for (size_t i = 0; i < json_array_size(full.hits); i++) {
        json_t *k = json_array_get(keys.hits, i), *f = json_array_get(full.hits, i);
        ck_assert_str_eq(json_string_value(json_object_get(k, "key")),
                         json_string_value(json_object_get(f, "key")));
        ck_assert_str_eq(json_string_value(json_object_get(k, "content_type")), "courserun");
        ck_assert_ptr_null(json_object_get(k, "doc"));
        ck_assert_ptr_nonnull(json_object_get(f, "doc"));
    }
    ck_assert_int_eq(facet(&keys, "organizations", "HarvardX"), 1);
    search_result_clear(&full);
    search_result_clear(&keys);
}
END_TEST

START_TEST(picks_and_bad_requests)
{
    struct search_node *tree = NULL;
    struct error err = {0};
    struct search_result res = {0};
    ck_assert_int_eq(search_query_parse("python", 6, &tree, &err), 0);
    struct search_facet_pick picks[] = {{"organizations", "MITx"}, {"subjects", "History"}};
    struct search_request rq = {
        .query = tree, .now = now, .picks = picks, .n_picks = 2, .want_facets = true, .limit = 10};
    ck_assert_int_eq(a->driver->query(a, &rq, &res, &err), 0);
    ck_assert_uint_eq(res.total, 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res.hits, 0), "key")), "r3");
    search_result_clear(&res);

    struct search_facet_pick none[] = {{"organizations", "Nobody"}};
    rq.picks = none;
    rq.n_picks = 1;
    ck_assert_int_eq(a->driver->query(a, &rq, &res, &err), 0);
    ck_assert_uint_eq(res.total, 0);
    ck_assert_uint_eq(json_array_size(res.hits), 0);
    search_result_clear(&res);

    /* Refused even when nothing would match anyway. */
    rq.availability = "someday";
    ck_assert_int_eq(a->driver->query(a, &rq, &res, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    search_result_clear(&res);
    struct search_facet_pick bad[] = {{"colour", "red"}};
    rq.availability = NULL;
    rq.picks = bad;
    ck_assert_int_eq(a->driver->query(a, &rq, &res, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    search_result_clear(&res);
    search_query_free(tree);
}
END_TEST

/* A catalog with many equal scores (same text, titles differ), boosts
 * that differ by dates and pacing, and unpublished runs. */
static void put_ranked_catalog(void)
{
    json_t *docs = json_array();
    for (int i = 0; i < 90; i++) {
        char key[32], title[64], desc[256] = "";
        snprintf(key, sizeof key, "k%02d", i);
        snprintf(title, sizeof title, "%s %c%02d", i % 3 ? "Course" : "Python course",
                 'a' + (i * 7) % 26, i);
        for (int w = 0; w < i % 5; w++)
            strcat(desc, "python data ");
        strcat(desc, "python");
        json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:s, s:s}", "content_type",
                              "courserun", "key", key, "title", title, "full_description", desc,
                              "status", i % 11 ? "published" : "unpublished", "orgs",
                              i % 2 ? "MITx" : "X", "organizations", i % 2 ? "MITx" : "X",
                              "pacing_type", i % 4 ? "instructor_paced" : "self_paced", "start",
                              i % 6 ? "2025-01-01T00:00:00Z" : "2025-09-01T00:00:00Z");
        if (i % 7 == 0)
            json_object_set_new(d, "enrollment_end", json_string("2025-02-01T00:00:00Z"));
        json_array_append_new(docs, d);
    }
    struct error err = {0};
    ck_assert_msg(a->driver->index(a, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
}

static struct search_result page(const char *q, const struct search_facet_pick *picks,
                                 size_t n_picks, size_t offset, size_t limit, bool keys_only)
{
    struct search_node *tree = NULL;
    struct error err = {0};
    struct search_result res = {0};
    ck_assert_int_eq(search_query_parse(q, strlen(q), &tree, &err), 0);
    struct search_request rq = {.query = tree,
                                .now = now,
                                .public_only = true,
                                .picks = picks,
                                .n_picks = n_picks,
                                .offset = offset,
                                .limit = limit,
                                .keys_only = keys_only};
    ck_assert_msg(a->driver->query(a, &rq, &res, &err) == 0, "%s", err.message);
    search_query_free(tree);
    return res;
}

/* Pages ranked in memory equal the same slice of one page deep enough to
 * be ranked by SQL (past 20,000), ties and boosts included. */
START_TEST(page_in_memory_equals_sql)
{
    put_ranked_catalog();
    struct search_facet_pick mit[] = {{"organizations", "MITx"}};
    const char *queries[] = {"python", "python data", "python -data", "course OR data"};
    for (size_t qi = 0; qi < 4; qi++)
        for (size_t np = 0; np < 2; np++) {
            struct search_result ref = page(queries[qi], mit, np, 0, 20001, false);
            ck_assert_uint_gt(json_array_size(ref.hits), 5);
            ck_assert_uint_eq(json_array_size(ref.hits), ref.total);
            size_t offsets[] = {0, 3, 10};
            for (size_t o = 0; o < 3; o++)
                for (int keys_only = 0; keys_only < 2; keys_only++) {
                    struct search_result r = page(queries[qi], mit, np, offsets[o], 7, keys_only);
                    ck_assert_uint_eq(r.total, ref.total);
                    for (size_t i = 0; i < json_array_size(r.hits); i++) {
                        json_t *h = json_array_get(r.hits, i);
                        json_t *e = json_array_get(ref.hits, offsets[o] + i);
                        ck_assert_msg(strcmp(json_string_value(json_object_get(h, "key")),
                                             json_string_value(json_object_get(e, "key"))) == 0,
                                      "q=%s picks=%zu offset=%zu hit %zu: %s, SQL has %s",
                                      queries[qi], np, offsets[o], i,
                                      json_string_value(json_object_get(h, "key")),
                                      json_string_value(json_object_get(e, "key")));
                        if (!keys_only)
                            ck_assert_double_eq(json_real_value(json_object_get(h, "score")),
                                                json_real_value(json_object_get(e, "score")));
                    }
                    ck_assert_uint_eq(json_array_size(r.hits), offsets[o] >= ref.total ? 0
                                                               : ref.total - offsets[o] < 7
                                                                   ? ref.total - offsets[o]
                                                                   : 7);
                    search_result_clear(&r);
                }
            search_result_clear(&ref);
        }
}
END_TEST

/* After many replacements and removals through one handle (its memory
 * copy updated batch by batch), it answers as a fresh handle that loads
 * everything from the file. */
START_TEST(incremental_equals_fresh_load)
{
    struct search_result warm = query(a, NULL, false); /* a has a copy from here on */
    search_result_clear(&warm);
    const char *orgs[] = {"MITx", "HarvardX", "EPFLx", "DelftX"};
    const char *subjects[] = {"Physics", "History", "Computer Science"};
    const char *starts[] = {"2024-01-01T00:00:00Z", "2025-06-20T00:00:00Z", NULL,
                            "2027-01-01T00:00:00Z"};
    struct error err = {0};
    for (int round = 0; round < 40; round++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", (round * 7) % 13);
        if (round % 5 == 4) {
            ck_assert_int_eq(a->driver->remove(a, SEARCH_COURSE_RUN, key, &err), 0);
            continue;
        }
        json_t *docs =
            json_pack("[o, o]",
                      run_doc(key, round % 2 ? "Python one" : "Ruby one", orgs[round % 4],
                              subjects[round % 3], starts[round % 4],
                              round % 3 ? NULL : "2025-03-01T00:00:00Z"),
                      run_doc(round % 3 ? "r2" : "r9", "Python two", orgs[(round + 1) % 4],
                              subjects[(round + 2) % 3], starts[(round + 1) % 4], NULL));
        ck_assert_int_eq(a->driver->index(a, docs, &err), 0);
        json_decref(docs);
    }
    /* A batch that fails leaves the copy as it was. */
    json_t *bad = json_pack("[o, {s:s}]", run_doc("k1", "Python gone", "Nobody", "Art", NULL, NULL),
                            "content_type", "course");
    ck_assert_int_eq(a->driver->index(a, bad, &err), -1);
    json_decref(bad);

    struct search *fresh = open_handle();
    const char *queries[] = {NULL, "python", "one"};
    for (int q = 0; q < 3; q++) {
        struct search_result x = query(a, queries[q], false);
        struct search_result y = query(fresh, queries[q], false);
        ck_assert_uint_eq(x.total, y.total);
        ck_assert_msg(json_equal(x.facets, y.facets), "facets differ for q=%s",
                      queries[q] ? queries[q] : "");
        ck_assert_int_eq(facet(&x, "organizations", "Nobody"), 0);
        ck_assert_uint_eq(json_array_size(x.hits), json_array_size(y.hits));
        for (size_t i = 0; i < json_array_size(x.hits); i++)
            ck_assert_str_eq(json_string_value(json_object_get(json_array_get(x.hits, i), "key")),
                             json_string_value(json_object_get(json_array_get(y.hits, i), "key")));
        search_result_clear(&x);
        search_result_clear(&y);
    }
    search_close(fresh);
}
END_TEST

/* Typeahead ranked in memory gives the first entries of the SQL answer
 * (a limit past 20,000 is answered by SQL). */
START_TEST(typeahead_in_memory_equals_sql)
{
    put_ranked_catalog();
    const char *prefixes[] = {"cou", "py", "python c", "mit", "k1"};
    for (size_t p = 0; p < 5; p++)
        for (int pub = 0; pub < 2; pub++) {
            json_t *ref = NULL, *got = NULL;
            struct error err = {0};
            ck_assert_int_eq(a->driver->suggest(a, prefixes[p], 20001, pub, &ref, &err), 0);
            ck_assert_int_eq(a->driver->suggest(a, prefixes[p], 4, pub, &got, &err), 0);
            json_t *rl = json_object_get(ref, "courserun"), *gl = json_object_get(got, "courserun");
            ck_assert_uint_gt(json_array_size(rl), 0);
            ck_assert_uint_eq(json_array_size(gl),
                              json_array_size(rl) < 4 ? json_array_size(rl) : 4);
            for (size_t i = 0; i < json_array_size(gl); i++)
                ck_assert_msg(json_equal(json_array_get(gl, i), json_array_get(rl, i)),
                              "prefix %s public %d entry %zu differs", prefixes[p], pub, i);
            json_decref(ref);
            json_decref(got);
        }
}
END_TEST

/* FTS5's hashsize as the file keeps it (fts_config), read by a connection
 * of its own; -1 when unset. */
static long long file_hashsize(void)
{
    char path[4200];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    snprintf(path, sizeof path, "%s/index.db", tmpdir);
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "SELECT v FROM fts_config WHERE k = 'hashsize'", -1, &st, NULL),
        SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A rebuild raises FTS5's pending-terms budget for itself only: whether it
 * commits or is dropped, the file keeps the default (1 MiB, or unset) for
 * the writes that follow, which must not hold that much in memory. */
START_TEST(rebuild_restores_hashsize)
{
    struct error err = {0};
    for (int commit = 0; commit < 2; commit++) {
        ck_assert_int_eq(a->driver->rebuild_begin(a, &err), 0);
        put(a, run_doc("n1", "Python anew", "EPFLx", "Physics", NULL, NULL));
        ck_assert_int_eq(a->driver->rebuild_end(a, commit, &err), 0);
        long long v = file_hashsize();
        ck_assert_msg(v == -1 || v == 1048576, "commit %d: hashsize %lld", commit, v);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("search_fts5_memo");
    TCase *tc = tcase_create("memo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counts_follow_own_writes);
    tcase_add_test(tc, counts_follow_another_handle);
    tcase_add_test(tc, rebuild_seen_by_its_handle_only);
    tcase_add_test(tc, rebuild_restores_hashsize);
    tcase_add_test(tc, keys_only_same_hits);
    tcase_add_test(tc, picks_and_bad_requests);
    tcase_add_test(tc, page_in_memory_equals_sql);
    tcase_add_test(tc, incremental_equals_fresh_load);
    tcase_add_test(tc, typeahead_in_memory_equals_sql);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
