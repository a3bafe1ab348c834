/*
 * test_search_fts5_phrase - a query of one phrase (a word, a prefix, a
 * quoted phrase, on every column) is ranked by the fts5 driver without
 * FTS5's IDF walk (the IDF is applied after the walk, from the rows the
 * MATCH returned): its pages, scores, totals and facet counts must be
 * those of the SQL path (bm25() ORDER BY, taken for pages past 20,000),
 * with filters, picks, ties and enough hits for the running cut to drop
 * candidates; and so must queries of the general path beside them, whose
 * IDFs are cached per snapshot of the memory copy, across writes.  And
 * typeahead, ranked by the same function, lists what its SQL form does.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "search.h"
#include "search_query.h"
#include "testutil.h"

static char *tmpdir;
static struct search *s;
static time_t now;

#define N_DOCS 900
#define N_OTHER 1200

static void setup(void)
{
    tmpdir = test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/index.db", tmpdir);
    s = test_fts5_open(path);
    struct error err = {0};
    ck_assert_int_eq(clock_parse_iso8601("2025-06-01T00:00:00Z", &now), 0);
    static const char *const words[] = {"python", "data", "pythonic", "history", "science"};
    /* Organizations sharing prefixes with title words, so that typeahead's
     * weights (title 10, organization 3) decide between them. */
    static const char *const orgs[] = {"MITx", "PythonX", "HistoryX"};
    static const char *const starts[] = {"2024-01-01T00:00:00Z", "2025-07-01T00:00:00Z",
                                         "2026-01-01T00:00:00Z", NULL};
    json_t *docs = json_array();
    for (int d = 0; d < N_DOCS; d++) {
        char key[16], title[256] = "", descr[1024] = "";
        snprintf(key, sizeof key, "k%03d", d);
        /* Every seventh document repeats an earlier one's text: tied
         * scores, ordered by title then id. */
        int v = d % 7 == 0 && d > 0 ? d - 7 : d;
        for (int w = 0; w < 1 + v % 4; w++) {
            strcat(title, w ? " " : "");
            strcat(title, words[(v + w) % 5]);
        }
        for (int w = 0; w < 3 + v % 23; w++) {
            strcat(descr, w ? " " : "");
            strcat(descr, words[(v * 3 + w * 2) % 5]);
        }
        json_t *doc = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s], s:s, s:s?, s:s}", "content_type",
            d % 5 == 0 ? "course" : "courserun", "key", key, "title", title, "full_description",
            descr, "short_description", d % 3 ? "data science" : "python data", "orgs", orgs[d % 3],
            "organizations", orgs[d % 3], "subjects", d % 2 ? "Physics" : "Math", "status",
            d % 11 ? "published" : "unpublished", "start", starts[d % 4], "pacing_type",
            d % 2 ? "self_paced" : "instructor_paced");
        ck_assert_ptr_nonnull(doc);
        json_array_append_new(docs, doc);
    }
    /* Documents none of the queries match, so that IDFs are above the
     * 1e-6 floor of a phrase in more than half the rows (python below
     * matches most documents but not most rows). */
    for (int d = 0; d < N_OTHER; d++) {
        char key[16];
        snprintf(key, sizeof key, "o%04d", d);
        json_array_append_new(docs,
                              json_pack("{s:s, s:s, s:s, s:s}", "content_type", "course", "key",
                                        key, "title", "unrelated text", "status", "published"));
    }
    ck_assert_msg(s->driver->index(s, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
}

static void teardown(void)
{
    search_close(s);
    s = NULL;
    free(tmpdir);
}

static struct search_result page(const char *q, const struct search_facet_pick *picks,
                                 size_t n_picks, bool public_only, size_t offset, size_t limit)
{
    struct search_node *tree = NULL;
    struct error err = {0};
    struct search_result res = {0};
    ck_assert_msg(search_query_parse(q, strlen(q), &tree, &err) == 0, "%s", err.message);
    struct search_request rq = {.query = tree,
                                .picks = picks,
                                .n_picks = n_picks,
                                .public_only = public_only,
                                .now = now,
                                .want_facets = true,
                                .offset = offset,
                                .limit = limit};
    ck_assert_msg(s->driver->query(s, &rq, &res, &err) == 0, "%s", err.message);
    search_query_free(tree);
    return res;
}

/* q's pages (offsets 0, 5, 40, 200; 9 hits) equal the SQL path's: keys,
 * scores, totals and facets. */
static void equal_sql(const char *q, const struct search_facet_pick *picks, size_t n_picks,
                      bool pub, size_t min_total)
{
    struct search_result ref = page(q, picks, n_picks, pub, 0, 20001); /* SQL */
    ck_assert_msg(ref.total > min_total, "q=%s: %zu hits", q, ref.total);
    ck_assert_uint_eq(json_array_size(ref.hits), ref.total);
    size_t offsets[] = {0, 5, 40, 200};
    for (size_t o = 0; o < 4; o++) {
        struct search_result r = page(q, picks, n_picks, pub, offsets[o], 9);
        ck_assert_uint_eq(r.total, ref.total);
        ck_assert_msg(json_equal(r.facets, ref.facets), "q=%s: facets differ", q);
        size_t want = offsets[o] >= ref.total      ? 0
                      : ref.total - offsets[o] < 9 ? ref.total - offsets[o]
                                                   : 9;
        ck_assert_uint_eq(json_array_size(r.hits), want);
        for (size_t i = 0; i < want; i++) {
            json_t *h = json_array_get(r.hits, i);
            json_t *e = json_array_get(ref.hits, offsets[o] + i);
            ck_assert_msg(strcmp(json_string_value(json_object_get(h, "key")),
                                 json_string_value(json_object_get(e, "key"))) == 0,
                          "q=%s offset %zu hit %zu: %s, SQL has %s", q, offsets[o], i,
                          json_string_value(json_object_get(h, "key")),
                          json_string_value(json_object_get(e, "key")));
            ck_assert_msg(json_real_value(json_object_get(h, "score")) ==
                              json_real_value(json_object_get(e, "score")),
                          "q=%s hit %zu: score %.17g, SQL %.17g", q, i,
                          json_real_value(json_object_get(h, "score")),
                          json_real_value(json_object_get(e, "score")));
        }
        search_result_clear(&r);
    }
    search_result_clear(&ref);
}

START_TEST(one_phrase_pages_equal_sql)
{
    struct search_facet_pick physics[] = {{"subjects", "Physics"}};
    const char *queries[] = {"python", "pyth*", "\"data science\"", "science", "history",
                             /* the general path, beside them */
                             "title:python", "python data", "python -history"};
    for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++)
        for (int variant = 0; variant < 3; variant++)
            equal_sql(queries[qi], physics, variant == 1, variant == 2, qi == 0 ? 400 : 3);
}
END_TEST

/* Several phrases: their IDFs are cached per snapshot of the memory copy
 * (fts5_internal.h, idf): a write that changes a phrase's row count must
 * not leave the old IDF in use, whether this handle or another wrote. */
START_TEST(cached_idf_follows_writes)
{
    const char *queries[] = {"python data", "history OR pythonic", "science -art",
                             "title:python data"};
    for (size_t qi = 0; qi < 4; qi++)
        equal_sql(queries[qi], NULL, 0, false, 3);
    struct error err = {0};
    json_t *docs = json_array();
    for (int d = 0; d < 300; d++) {
        char key[16];
        snprintf(key, sizeof key, "n%03d", d);
        json_array_append_new(
            docs, json_pack("{s:s, s:s, s:s, s:s}", "content_type", "course", "key", key, "title",
                            d % 2 ? "data history" : "science data", "status", "published"));
    }
    ck_assert_msg(s->driver->index(s, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
    for (size_t qi = 0; qi < 4; qi++)
        equal_sql(queries[qi], NULL, 0, false, 3);
    /* Another handle on the file writes: this one reloads. */
    char path[4200];
    snprintf(path, sizeof path, "%s/index.db", tmpdir);
    struct search *other = test_fts5_open(path);
    ck_assert_int_eq(other->driver->remove(other, SEARCH_COURSE, "n001", &err), 0);
    ck_assert_int_eq(other->driver->remove(other, SEARCH_COURSE, "n002", &err), 0);
    search_close(other);
    for (size_t qi = 0; qi < 4; qi++)
        equal_sql(queries[qi], NULL, 0, false, 3);
}
END_TEST

/* Typeahead ranked in memory (catalogd_bm25 with the typeahead weights)
 * lists what its SQL form (limits past 20,000) lists, in the same order,
 * for every content type. */
START_TEST(typeahead_equals_sql)
{
    static const char *const lists[] = {"course", "courserun", "program"};
    const char *prefixes[] = {"py", "hi", "da", "mi", "k0", "py da", "sc"};
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++)
        for (int pub = 0; pub < 2; pub++) {
            json_t *ref = NULL, *got = NULL;
            struct error err = {0};
            ck_assert_int_eq(s->driver->suggest(s, prefixes[p], 20001, pub, &ref, &err), 0);
            ck_assert_int_eq(s->driver->suggest(s, prefixes[p], 9, pub, &got, &err), 0);
            size_t listed = 0;
            for (int c = 0; c < 3; c++) {
                json_t *rl = json_object_get(ref, lists[c]);
                json_t *gl = json_object_get(got, lists[c]);
                listed += json_array_size(rl);
                ck_assert_uint_eq(json_array_size(gl),
                                  json_array_size(rl) < 9 ? json_array_size(rl) : 9);
                for (size_t i = 0; i < json_array_size(gl); i++)
                    ck_assert_msg(json_equal(json_array_get(gl, i), json_array_get(rl, i)),
                                  "prefix %s public %d %s entry %zu differs", prefixes[p], pub,
                                  lists[c], i);
            }
            ck_assert_msg(listed > 9, "prefix %s: %zu listed", prefixes[p], listed);
            json_decref(ref);
            json_decref(got);
        }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("search_fts5_phrase");
    TCase *tc = tcase_create("phrase");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, one_phrase_pages_equal_sql);
    tcase_add_test(tc, cached_idf_follows_writes);
    tcase_add_test(tc, typeahead_equals_sql);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
