/*
 * test_search - the search conformance suite: the same assertions, written
 * against backends/search.h only, for every search driver compiled in.
 * Queries go through the real parser (src/search_query.h), as they will
 * from the API.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "registry.h"
#include "search.h"
#include "search_query.h"
#include "testutil.h"

static const struct search_driver *drivers[8];
static int n_drivers;

static struct search *idx;
static char *tmpdir;
static time_t now;

/* A small catalog; "now" is 2025-06-01. */
static const char fixture[] =
    "["
    "{\"content_type\":\"course\",\"key\":\"MITx+6.002x\",\"title\":\"Circuits and Electronics\","
    " \"short_description\":\"Learn the fundamentals of circuits\","
    " \"full_description\":\"An electronics lab with python simulations\","
    " \"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of Technology\"],"
    " \"subjects\":[\"Engineering\"],\"level_type\":\"Introductory\",\"language\":\"en\","
    " \"status\":\"published\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+6.002x+2T2025\","
    " \"title\":\"Circuits and Electronics\",\"orgs\":[\"MITx\"],"
    " \"organizations\":[\"MITx: Massachusetts Institute of Technology\"],"
    " \"subjects\":[\"Engineering\"],\"pacing_type\":\"self_paced\","
    " \"seat_types\":[\"verified\",\"audit\"],\"language\":\"en\",\"status\":\"published\","
    " \"start\":\"2025-01-01T00:00:00Z\",\"end\":\"2025-12-31T00:00:00Z\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:HarvardX+CS50+1T2026\","
    " \"title\":\"Introduction to Computer Science\","
    " \"short_description\":\"Python and C programming\",\"orgs\":[\"HarvardX\"],"
    " \"organizations\":[\"HarvardX: Harvard University\"],\"subjects\":[\"Computer Science\"],"
    " \"pacing_type\":\"instructor_paced\",\"seat_types\":[\"verified\"],\"language\":\"en\","
    " \"status\":\"published\",\"start\":\"2025-07-01T00:00:00Z\",\"end\":null},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:HarvardX+PY101+3T2025\","
    " \"title\":\"Python for Research\",\"full_description\":\"learning about machine data\","
    " \"orgs\":[\"HarvardX\"],\"organizations\":[\"HarvardX: Harvard University\"],"
    " \"subjects\":[\"Computer Science\",\"Data Analysis\"],\"pacing_type\":\"self_paced\","
    " \"seat_types\":[\"audit\"],\"language\":\"es\",\"status\":\"published\","
    " \"start\":\"2025-10-01T00:00:00Z\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+ML+1T2024\","
    " \"title\":\"Machine Learning\",\"orgs\":[\"MITx\"],"
    " \"organizations\":[\"MITx: Massachusetts Institute of Technology\"],"
    " \"subjects\":[\"Computer Science\"],\"pacing_type\":\"instructor_paced\","
    " \"seat_types\":[\"verified\"],\"status\":\"published\","
    " \"start\":\"2024-01-01T00:00:00Z\",\"end\":\"2024-06-01T00:00:00Z\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+SECRET+1T2025\","
    " \"title\":\"Secret Python Course\",\"orgs\":[\"MITx\"],\"status\":\"unpublished\"},"
    "{\"content_type\":\"courserun\",\"key\":\"course-v1:MITx+HID+1T2025\","
    " \"title\":\"Hidden Python Course\",\"orgs\":[\"MITx\"],\"status\":\"published\","
    " \"hidden\":true},"
    "{\"content_type\":\"program\",\"key\":\"11111111-1111-1111-1111-111111111111\","
    " \"title\":\"Data Science MicroMasters\",\"short_description\":\"python statistics\","
    " \"orgs\":[\"MITx\"],\"organizations\":[\"MITx: Massachusetts Institute of Technology\"],"
    " \"status\":\"active\",\"hit\":{\"uuid\":\"11111111-1111-1111-1111-111111111111\","
    " \"title\":\"Data Science MicroMasters\"}},"
    "{\"content_type\":\"program\",\"key\":\"22222222-2222-2222-2222-222222222222\","
    " \"title\":\"Draft Program python\",\"status\":\"unpublished\"},"
    "{\"content_type\":\"course\",\"key\":\"HarvardX+CS50\","
    " \"title\":\"CS50's Introduction to Computer Science\",\"orgs\":[\"HarvardX\"],"
    " \"organizations\":[\"HarvardX: Harvard University\"],\"subjects\":[\"Computer Science\"]},"
    "{\"content_type\":\"course\",\"key\":\"X+ECO\",\"title\":\"Café Économie\","
    " \"full_description\":\"Straße, Ærø and Ñandú\"}"
    "]";

#define N_FIXTURE 11

/* The config for drivers[driver] over the store at dir: a driver with a
 * server (pgfts) gets the private PostgreSQL of tests/pg_fixture.sh, one
 * schema per store.path so that each test starts empty; reachable false
 * names a port nothing listens on. */
static struct config *driver_config(int driver, const char *dir, bool reachable)
{
    char path[4200], url[1200] = "";
    snprintf(path, sizeof path, "store.path=%s/catalog.db", dir);
    const char *sets[] = {path, NULL, NULL};
    if (strcmp(drivers[driver]->name, "pgfts") == 0) {
        const char *server = getenv("PG_FIXTURE_URL");
        ck_assert_msg(server != NULL || !reachable,
                      "pgfts needs PG_FIXTURE_URL: run under tests/pg_fixture.sh");
        if (reachable)
            snprintf(url, sizeof url, "search.url=%.1000s?schema=@path", server);
        else
            snprintf(url, sizeof url, "search.url=postgresql://postgres@127.0.0.1:1/none");
        sets[1] = url;
    }
    return test_config(sets);
}

static void setup(int driver)
{
    tmpdir = test_tmpdir();
    struct config *config = driver_config(driver, tmpdir, true);
    struct error err = {0};
    ck_assert_msg(drivers[driver]->open(config, &idx, &err) == 0, "%s", err.message);
    config_free(config);
    json_t *docs = json_loads(fixture, 0, NULL);
    ck_assert_ptr_nonnull(docs);
    ck_assert_msg(idx->driver->index(idx, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
    ck_assert_int_eq(clock_parse_iso8601("2025-06-01T00:00:00Z", &now), 0);
}

static void teardown(void)
{
    idx->driver->close(idx);
    idx = NULL;
    free(tmpdir);
}

/* Runs q with the given request template; returns the result (caller
 * clears). */
static struct search_result run(const char *q, struct search_request rq)
{
    struct search_node *tree = NULL;
    struct error err = {0};
    struct search_result res = {0};
    if (q != NULL)
        ck_assert_msg(search_query_parse(q, strlen(q), &tree, &err) == 0, "%s", err.message);
    rq.query = tree;
    rq.now = now;
    if (rq.limit == 0)
        rq.limit = 100;
    ck_assert_msg(idx->driver->query(idx, &rq, &res, &err) == 0, "q=%s: %s", q ? q : "",
                  err.message);
    search_query_free(tree);
    ck_assert_ptr_nonnull(res.hits);
    return res;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hits' keys, sorted, comma-separated (static buffer). */
static const char *keys_of(const struct search_result *res)
{
    static char buf[2048];
    const char *keys[64] = {0};
    size_t n = json_array_size(res->hits);
    ck_assert_uint_le(n, 64);
    for (size_t i = 0; i < n; i++)
        keys[i] = json_string_value(json_object_get(json_array_get(res->hits, i), "key"));
    qsort(keys, n, sizeof keys[0], cmp_str);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, keys[i]);
    }
    return buf;
}

static const char *keys_for(const char *q, struct search_request rq)
{
    struct search_result res = run(q, rq);
    const char *keys = keys_of(&res);
    ck_assert_uint_eq(res.total, json_array_size(res.hits));
    search_result_clear(&res);
    return keys;
}

#define ANY ((struct search_request){0})
static void assert_keys(const char *q, struct search_request rq, const char *want_list, int line)
{
    const char *got = keys_for(q, rq);
    /* want_list in any order: sort it as keys_of sorts. */
    char copy[2048], want[2048] = "", *keys[64] = {0}, *save = NULL;
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", want_list);
    for (char *k = strtok_r(copy, ",", &save); k && n < 64; k = strtok_r(NULL, ",", &save))
        keys[n++] = k;
    qsort(keys, n, sizeof keys[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        strcat(want, i ? "," : "");
        strcat(want, keys[i]);
    }
    ck_assert_msg(strcmp(got, want) == 0, "line %d, q=%s:\n got  %s\n want %s", line,
                  q ? q : "(none)", got, want);
}

#define ASSERT_KEYS(q, rq, want) assert_keys(q, rq, want, __LINE__)

#define RUN_CIRCUITS "course-v1:MITx+6.002x+2T2025"
#define RUN_CS50 "course-v1:HarvardX+CS50+1T2026"
#define RUN_PY "course-v1:HarvardX+PY101+3T2025"
#define RUN_ML "course-v1:MITx+ML+1T2024"
#define RUN_SECRET "course-v1:MITx+SECRET+1T2025"
#define RUN_HID "course-v1:MITx+HID+1T2025"
#define PROG_DS "11111111-1111-1111-1111-111111111111"
#define PROG_DRAFT "22222222-2222-2222-2222-222222222222"

START_TEST(test_words_all_match)
{
    setup(_i);
    ASSERT_KEYS("circuits electronics", ANY, "MITx+6.002x," RUN_CIRCUITS);
    ASSERT_KEYS("CIRCUITS", ANY, "MITx+6.002x," RUN_CIRCUITS);
    ASSERT_KEYS("circuits python", ANY, "MITx+6.002x");
    ASSERT_KEYS("nosuchword", ANY, "");
    teardown();
}
END_TEST

START_TEST(test_phrase_vs_words)
{
    setup(_i);
    ASSERT_KEYS("machine learning", ANY, RUN_PY "," RUN_ML);
    ASSERT_KEYS("\"machine learning\"", ANY, RUN_ML);
    ASSERT_KEYS("\"learning machine\"", ANY, "");
    teardown();
}
END_TEST

START_TEST(test_prefix)
{
    setup(_i);
    ASSERT_KEYS("electr*", ANY, "MITx+6.002x," RUN_CIRCUITS);
    ASSERT_KEYS("electr", ANY, "");
    ASSERT_KEYS("\"computer sci\"*", ANY, "HarvardX+CS50," RUN_CS50 "," RUN_PY "," RUN_ML);
    ASSERT_KEYS("title:\"computer sci\"*", ANY, "HarvardX+CS50," RUN_CS50);
    teardown();
}
END_TEST

START_TEST(test_negation)
{
    setup(_i);
    ASSERT_KEYS("python -research", ANY,
                "11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222,"
                "MITx+6.002x," RUN_CS50 "," RUN_HID "," RUN_SECRET);
    /* Negations only: everything except. */
    struct search_result all = run(NULL, ANY), notpy = run("-python", ANY), py = run("python", ANY);
    ck_assert_uint_eq(all.total, N_FIXTURE);
    ck_assert_uint_eq(notpy.total + py.total, all.total);
    ck_assert_uint_gt(notpy.total, 0);
    ck_assert_ptr_null(strstr(keys_of(&notpy), "PY101"));
    search_result_clear(&all);
    search_result_clear(&notpy);
    search_result_clear(&py);
    ASSERT_KEYS("-python -circuits -science -learning -secret", ANY, "X+ECO");
    /* A negation inside an OR still means "everything except". */
    ASSERT_KEYS("economie OR -(python OR science OR circuits OR learning)", ANY, "X+ECO");
    teardown();
}
END_TEST

START_TEST(test_field_filters)
{
    setup(_i);
    ASSERT_KEYS("title:python", ANY, PROG_DRAFT "," RUN_HID "," RUN_PY "," RUN_SECRET);
    ASSERT_KEYS("org:harvardx", ANY, "HarvardX+CS50," RUN_CS50 "," RUN_PY);
    ASSERT_KEYS("org:harvard", ANY, "HarvardX+CS50," RUN_CS50 "," RUN_PY); /* the name */
    ASSERT_KEYS("key:CS50", ANY, "HarvardX+CS50," RUN_CS50);
    ASSERT_KEYS("key:MITx+6.002x", ANY, "MITx+6.002x," RUN_CIRCUITS);
    ASSERT_KEYS("subject:engineering", ANY, "MITx+6.002x," RUN_CIRCUITS);
    ASSERT_KEYS("subject:\"data analysis\"", ANY, RUN_PY);
    ASSERT_KEYS("title:(research OR learning)", ANY, RUN_PY "," RUN_ML);
    teardown();
}
END_TEST

START_TEST(test_or_precedence)
{
    setup(_i);
    /* circuits AND (python OR learning) */
    ASSERT_KEYS("circuits python OR learning", ANY, "MITx+6.002x");
    ASSERT_KEYS("(circuits python) OR learning", ANY, "MITx+6.002x," RUN_PY "," RUN_ML);
    ASSERT_KEYS("research OR circuits", ANY, "MITx+6.002x," RUN_CIRCUITS "," RUN_PY);
    teardown();
}
END_TEST

START_TEST(test_accents_and_case)
{
    setup(_i);
    ASSERT_KEYS("cafe economie", ANY, "X+ECO");
    ASSERT_KEYS("ÉCONOMIE", ANY, "X+ECO");
    ASSERT_KEYS("strasse", ANY, ""); /* unicode61 keeps ß */
    ASSERT_KEYS("STRAßE ærø nandu", ANY, "X+ECO");
    teardown();
}
END_TEST

START_TEST(test_hostile_queries_are_safe)
{
    setup(_i);
    static const char *const qs[] = {
        "NEAR(python circuits)", "col:python",      "^python",          "python*",
        "\"python\" OR -x*",     "{title}: python", "title:\"a\"\"b\"", "AND python",
        "((((python))))"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        struct search_node *tree = NULL;
        struct error err = {0};
        if (search_query_parse(qs[i], strlen(qs[i]), &tree, &err) != 0)
            continue; /* a 400 is a fine answer */
        struct search_request rq = {.query = tree, .now = now, .limit = 10, .want_facets = true};
        struct search_result res = {0};
        ck_assert_msg(idx->driver->query(idx, &rq, &res, &err) == 0, "q=%s: %s", qs[i],
                      err.message);
        search_result_clear(&res);
        search_query_free(tree);
    }
    teardown();
}
END_TEST

static size_t hits_carrying(const json_t *hits, const char *field, const char *value)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(hits); i++) {
        const json_t *hit = json_array_get(hits, i);
        const json_t *doc = json_object_get(hit, "doc");
        const json_t *v = strcmp(field, "content_type") == 0 ? json_object_get(hit, field)
                                                             : json_object_get(doc, field);
        if (json_is_string(v))
            n += strcmp(json_string_value(v), value) == 0;
        for (size_t k = 0; json_is_array(v) && k < json_array_size(v); k++)
            n += strcmp(json_string_value(json_array_get(v, k)), value) == 0;
    }
    return n;
}

START_TEST(test_facet_counts_equal_hits)
{
    setup(_i);
    static const char *const fields[] = {"organizations", "subjects",   "level_type",  "language",
                                         "pacing_type",   "seat_types", "content_type"};
    static const char *const qs[] = {"python", "science OR circuits", "-python"};
    for (size_t qi = 0; qi < 3; qi++) {
        struct search_result all = run(qs[qi], (struct search_request){.want_facets = true});
        struct search_result page =
            run(qs[qi], (struct search_request){.want_facets = true, .limit = 1});
        ck_assert_uint_eq(all.total, json_array_size(all.hits));
        ck_assert_uint_eq(page.total, all.total); /* counted over the hit set, not the page */
        ck_assert_uint_le(json_array_size(page.hits), 1);
        ck_assert(json_equal(page.facets, all.facets));
        const json_t *ff = json_object_get(all.facets, "fields");
        size_t values = 0;
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            const json_t *counts = json_object_get(ff, fields[f]);
            ck_assert_msg(json_is_object(counts), "facet %s missing", fields[f]);
            const char *value;
            json_t *count;
            json_object_foreach((json_t *)counts, value, count)
            {
                /* The program's hit object carries no facet fields. */
                size_t want = hits_carrying(all.hits, fields[f], value);
                if (strcmp(fields[f], "organizations") == 0 && strstr(value, "MITx") &&
                    strstr(keys_of(&all), PROG_DS))
                    want++;
                ck_assert_msg((size_t)json_integer_value(count) == want,
                              "q=%s %s=%s: facet %lld, hits %zu", qs[qi], fields[f], value,
                              (long long)json_integer_value(count), want);
                values++;
            }
        }
        ck_assert_uint_gt(values, 3);
        search_result_clear(&all);
        search_result_clear(&page);
    }
    teardown();
}
END_TEST

/* A document with more facet values than a writer might put in one
 * statement (40 subjects, two of them repeated further on): every value is
 * counted once and can be picked. */
START_TEST(test_many_facet_values)
{
    setup(_i);
    json_t *subjects = json_array();
    for (int k = 0; k < 40; k++) {
        json_array_append_new(subjects, json_sprintf("Subject %02d", k));
        if (k == 20 || k == 37)
            json_array_append_new(subjects, json_sprintf("Subject %02d", k - 15));
    }
    json_t *docs = json_pack("[{s:s, s:s, s:s, s:o, s:[s,s,s], s:[s]}]", "content_type", "course",
                             "key", "Many+1", "title", "Polymath", "subjects", subjects, "orgs",
                             "MITx", "HarvardX", "MITx", "organizations", "MITx: M");
    struct error err = {0};
    ck_assert_msg(idx->driver->index(idx, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
    struct search_result res = run("polymath", (struct search_request){.want_facets = true});
    ck_assert_uint_eq(res.total, 1);
    const json_t *got = json_object_get(json_object_get(res.facets, "fields"), "subjects");
    ck_assert_uint_eq(json_object_size(got), 40);
    const char *value;
    json_t *count;
    json_object_foreach((json_t *)got, value, count) ck_assert_msg(
        json_integer_value(count) == 1, "%s: %lld", value, (long long)json_integer_value(count));
    search_result_clear(&res);
    struct search_facet_pick last = {"subjects", "Subject 39"}, org = {"org", "HarvardX"};
    ASSERT_KEYS("polymath", ((struct search_request){.picks = &last, .n_picks = 1}), "Many+1");
    ASSERT_KEYS("polymath", ((struct search_request){.picks = &org, .n_picks = 1}), "Many+1");
    teardown();
}
END_TEST

START_TEST(test_facet_picks_narrow)
{
    setup(_i);
    struct search_facet_pick org = {"organizations", "HarvardX: Harvard University"};
    struct search_facet_pick seat = {"seat_types", "audit"};
    struct search_facet_pick both[] = {org, seat};
    ASSERT_KEYS("science OR python", ((struct search_request){.picks = &org, .n_picks = 1}),
                "HarvardX+CS50," RUN_CS50 "," RUN_PY);
    ASSERT_KEYS("science OR python", ((struct search_request){.picks = both, .n_picks = 2}),
                RUN_PY);
    struct search_facet_pick key = {"org", "MITx"};
    ASSERT_KEYS("circuits", ((struct search_request){.picks = &key, .n_picks = 1}),
                "MITx+6.002x," RUN_CIRCUITS);
    ASSERT_KEYS(NULL, ((struct search_request){.content_mask = 1u << SEARCH_PROGRAM}),
                PROG_DS "," PROG_DRAFT);

    struct search_facet_pick bad = {"colour", "red"};
    struct search_request rq = {.picks = &bad, .n_picks = 1, .limit = 10};
    struct search_result res = {0};
    struct error err = {0};
    ck_assert_int_eq(idx->driver->query(idx, &rq, &res, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_ptr_null(res.hits);
    teardown();
}
END_TEST

START_TEST(test_title_outranks_description)
{
    setup(_i);
    json_t *docs = json_loads(
        "[{\"content_type\":\"course\",\"key\":\"A+DESC\",\"title\":\"Stars and planets\","
        "  \"short_description\":\"an astronomy course for everyone\"},"
        " {\"content_type\":\"course\",\"key\":\"A+FULL\",\"title\":\"Telescopes\","
        "  \"full_description\":\"astronomy\"},"
        " {\"content_type\":\"course\",\"key\":\"A+TITLE\",\"title\":\"Astronomy basics\"}]",
        0, NULL);
    struct error err = {0};
    ck_assert_msg(idx->driver->index(idx, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
    struct search_result res = run("astronomy", ANY);
    ck_assert_uint_eq(res.total, 3);
    const char *order[] = {"A+TITLE", "A+DESC", "A+FULL"};
    double last = 1e300;
    for (int i = 0; i < 3; i++) {
        const json_t *hit = json_array_get(res.hits, i);
        ck_assert_str_eq(json_string_value(json_object_get(hit, "key")), order[i]);
        double score = json_real_value(json_object_get(hit, "score"));
        ck_assert_msg(score < last, "hit %d score %g, previous %g", i, score, last);
        last = score;
    }
    search_result_clear(&res);
    teardown();
}
END_TEST

START_TEST(test_delete_and_replace)
{
    setup(_i);
    struct error err = {0};
    ck_assert_int_eq(idx->driver->remove(idx, SEARCH_COURSE_RUN, RUN_PY, &err), 0);
    ASSERT_KEYS("research", ANY, "");
    ck_assert_int_eq(idx->driver->remove(idx, SEARCH_COURSE_RUN, RUN_PY, &err), 0); /* absent */
    /* Same key in another content type is another document. */
    ck_assert_int_eq(idx->driver->remove(idx, SEARCH_COURSE_RUN, "MITx+6.002x", &err), 0);
    ASSERT_KEYS("circuits", ANY, "MITx+6.002x," RUN_CIRCUITS);
    /* Replacing by key: the old words are gone, the count unchanged. */
    json_t *docs = json_loads("[{\"content_type\":\"course\",\"key\":\"MITx+6.002x\","
                              "\"title\":\"Signals and Systems\"}]",
                              0, NULL);
    ck_assert_int_eq(idx->driver->index(idx, docs, &err), 0);
    json_decref(docs);
    ASSERT_KEYS("circuits", ANY, RUN_CIRCUITS);
    ASSERT_KEYS("signals", ANY, "MITx+6.002x");
    size_t n = 0;
    ck_assert_int_eq(idx->driver->count(idx, &n, &err), 0);
    ck_assert_uint_eq(n, N_FIXTURE - 1);
    teardown();
}
END_TEST

START_TEST(test_bad_batch_writes_nothing)
{
    setup(_i);
    static const char *const bad[] = {
        "[{\"content_type\":\"course\",\"key\":\"OK+1\",\"title\":\"Zebra\"},"
        " {\"content_type\":\"video\",\"key\":\"X\",\"title\":\"Zebra\"}]",
        "[{\"content_type\":\"course\",\"key\":\"OK+1\",\"title\":\"Zebra\"},"
        " {\"content_type\":\"course\",\"key\":\"\",\"title\":\"Zebra\"}]",
        "[{\"content_type\":\"course\",\"key\":\"OK+1\",\"title\":\"Zebra\"},"
        " {\"content_type\":\"course\",\"key\":\"B\",\"title\":\"Zebra\",\"start\":\"soon\"}]",
        "[{\"content_type\":\"course\",\"key\":\"OK+1\",\"title\":\"Zebra\"},"
        " {\"content_type\":\"course\",\"key\":\"B\",\"title\":\"Zebra\",\"subjects\":[1]}]",
        "[{\"content_type\":\"course\",\"key\":\"OK+1\",\"title\":\"Zebra\"}, 42]",
        "{\"content_type\":\"course\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *docs = json_loads(bad[i], 0, NULL);
        struct error err = {0};
        ck_assert_ptr_nonnull(docs);
        ck_assert_int_eq(idx->driver->index(idx, docs, &err), -1);
        ck_assert_int_eq(err.code, ERR_INVALID);
        json_decref(docs);
        ASSERT_KEYS("zebra", ANY, "");
    }
    size_t n = 0;
    struct error err = {0};
    ck_assert_int_eq(idx->driver->count(idx, &n, &err), 0);
    ck_assert_uint_eq(n, N_FIXTURE);
    teardown();
}
END_TEST

START_TEST(test_clear_and_reindex_same_answers)
{
    setup(_i);
    static const char *const qs[] = {"python", "science -python", "org:mitx",
                                     "\"machine learning\"", "-circuits"};
    char before[5][2048];
    struct search_request rq = {.want_facets = true};
    json_t *facets_before = NULL;
    for (int i = 0; i < 5; i++)
        snprintf(before[i], sizeof before[i], "%s", keys_for(qs[i], ANY));
    struct search_result r = run("python", rq);
    facets_before = json_incref(r.facets);
    search_result_clear(&r);

    struct error err = {0};
    size_t n = 99;
    ck_assert_int_eq(idx->driver->clear(idx, &err), 0);
    ck_assert_int_eq(idx->driver->count(idx, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ASSERT_KEYS("python", ANY, "");
    json_t *docs = json_loads(fixture, 0, NULL);
    ck_assert_int_eq(idx->driver->index(idx, docs, &err), 0);
    json_decref(docs);
    for (int i = 0; i < 5; i++)
        ASSERT_KEYS(qs[i], ANY, before[i]);
    r = run("python", rq);
    ck_assert(json_equal(r.facets, facets_before));
    search_result_clear(&r);
    json_decref(facets_before);
    teardown();
}
END_TEST

/* Each document's digest is search_doc_digest of the document as given,
 * whatever it holds: escapes (quotes, backslashes, every kind of control
 * character), text beyond ASCII, keys out of order at every level, an
 * object with more members than a writer might sort on its stack, empty
 * containers, integers, and a real (which jansson formats); written
 * directly and through a rebuild. */
START_TEST(test_digests_are_search_doc_digest)
{
    setup(_i);
    json_t *wide = json_object(); /* 40 members, inserted in reverse order */
    for (int k = 39; k >= 0; k--) {
        char name[16];
        snprintf(name, sizeof name, "m%02d", k);
        json_object_set_new(wide, name, json_integer(k * 1000003 - 7));
    }
    json_t *docs = json_pack(
        "[{s:s, s:s, s:s, s:s, s:s, s:[s,s], s:{s:s, s:s, s:[], s:{}, s:i, s:I, s:b, s:n, s:o, "
        "s:[{s:s, s:s}, {s:s}]}},"
        " {s:s, s:s, s:s, s:s, s:{s:s, s:f, s:[f, s]}},"
        " {s:s, s:s, s:s}]",
        /* a course with everything but a real */
        "content_type", "course", "key", "D+1", "title", "Quotes \"and\" back\\slashes",
        "full_description", "ctl \b\f\n\r\t \x01\x1f\x7f end / Straße 日本 🎓", "status",
        "published", "subjects", "Zeta", "Alpha", "hit", "zz", "last", "aa", "first \x02", "empty",
        "nothing", "minus", -1, "big", (json_int_t)-9007199254740993LL, "yes", 1, "no", "wide",
        wide, "runs", "key", "r\"1", "end", "x", "start", "y",
        /* a run whose hit holds reals: jansson's formatting */
        "content_type", "courserun", "key", "D+run", "title", "Real numbers", "status", "published",
        "hit", "b", "x", "a", 1.5, "c", 0.1, "z",
        /* a program without a hit */
        "content_type", "program", "key", "D+prog", "title", "No hit");
    ck_assert_ptr_nonnull(docs);
    struct error err = {0};
    for (int round = 0; round < 2; round++) {
        if (round == 1 && idx->driver->rebuild_begin != NULL)
            ck_assert_msg(idx->driver->rebuild_begin(idx, &err) == 0, "%s", err.message);
        ck_assert_msg(idx->driver->index(idx, docs, &err) == 0, "%s", err.message);
        if (round == 1 && idx->driver->rebuild_end != NULL)
            ck_assert_msg(idx->driver->rebuild_end(idx, true, &err) == 0, "%s", err.message);
        json_t *all = NULL;
        ck_assert_msg(idx->driver->digests(idx, &all, &err) == 0, "%s", err.message);
        for (size_t d = 0; d < json_array_size(docs); d++) {
            const json_t *doc = json_array_get(docs, d);
            const char *type = json_string_value(json_object_get(doc, "content_type"));
            const char *key = json_string_value(json_object_get(doc, "key"));
            char want[17];
            snprintf(want, sizeof want, "%016llx", (unsigned long long)search_doc_digest(doc));
            const char *got = json_string_value(json_object_get(json_object_get(all, type), key));
            ck_assert_msg(got != NULL && strcmp(got, want) == 0, "round %d, %s %s: %s, want %s",
                          round, type, key, got ? got : "(none)", want);
            /* The hit comes back as it was given (or the document, without
             * one). */
            json_t *hit = NULL;
            enum search_content content = strcmp(type, "course") == 0      ? SEARCH_COURSE
                                          : strcmp(type, "courserun") == 0 ? SEARCH_COURSE_RUN
                                                                           : SEARCH_PROGRAM;
            ck_assert_msg(idx->driver->lookup(idx, content, key, &hit, &err) == 0, "%s",
                          err.message);
            const json_t *want_hit = json_object_get(doc, "hit");
            ck_assert_msg(hit != NULL && json_equal(hit, want_hit ? want_hit : doc), "%s %s", type,
                          key);
            json_decref(hit);
        }
        json_decref(all);
    }
    json_decref(docs);
    teardown();
}
END_TEST

START_TEST(test_availability_at_now)
{
    setup(_i);
    struct search_request rq = {.content_mask = 1u << SEARCH_COURSE_RUN, .public_only = true};
    rq.availability = "current";
    ASSERT_KEYS(NULL, rq, RUN_CIRCUITS);
    rq.availability = "starting_soon";
    ASSERT_KEYS(NULL, rq, RUN_CS50);
    rq.availability = "upcoming";
    ASSERT_KEYS(NULL, rq, RUN_PY);
    rq.availability = "archived";
    ASSERT_KEYS(NULL, rq, RUN_ML);

    rq.availability = NULL;
    rq.want_facets = true;
    struct search_result res = run(NULL, rq);
    const json_t *q = json_object_get(res.facets, "queries");
    ck_assert_int_eq(json_integer_value(json_object_get(q, "availability_current")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(q, "availability_starting_soon")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(q, "availability_upcoming")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(q, "availability_archived")), 1);
    search_result_clear(&res);

    /* The same index a year later: everything dated has moved. */
    time_t saved = now;
    ck_assert_int_eq(clock_parse_iso8601("2026-06-01T00:00:00Z", &now), 0);
    rq.want_facets = false;
    rq.availability = "archived";
    ASSERT_KEYS(NULL, rq, RUN_CIRCUITS "," RUN_ML);
    rq.availability = "current";
    ASSERT_KEYS(NULL, rq, RUN_CS50 "," RUN_PY);
    now = saved;

    rq.availability = "someday";
    struct search_result bad = {0};
    struct error err = {0};
    rq.now = now;
    rq.limit = 10;
    ck_assert_int_eq(idx->driver->query(idx, &rq, &bad, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, "availability");
    teardown();
}
END_TEST

START_TEST(test_start_bounds_and_sort)
{
    setup(_i);
    struct search_request rq = {.content_mask = 1u << SEARCH_COURSE_RUN};
    ck_assert_int_eq(clock_parse_iso8601("2025-01-01", &rq.start_gte), 0);
    ck_assert_int_eq(clock_parse_iso8601("2025-07-01", &rq.start_lte), 0);
    ASSERT_KEYS(NULL, rq, RUN_CS50 "," RUN_CIRCUITS);
    rq.start_gte = rq.start_lte = 0;
    rq.sort = SEARCH_SORT_START;
    rq.public_only = true;
    struct search_result res = run(NULL, rq);
    const char *order[] = {RUN_ML, RUN_CIRCUITS, RUN_CS50, RUN_PY};
    ck_assert_uint_eq(json_array_size(res.hits), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res.hits, i), "key")),
                         order[i]);
    search_result_clear(&res);
    /* Paging: offset and limit cut the same order. */
    rq.offset = 1;
    rq.limit = 2;
    res = run(NULL, rq);
    ck_assert_uint_eq(res.total, 4);
    ck_assert_uint_eq(json_array_size(res.hits), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res.hits, 0), "key")),
                     RUN_CIRCUITS);
    search_result_clear(&res);
    teardown();
}
END_TEST

START_TEST(test_public_only)
{
    setup(_i);
    ASSERT_KEYS("python", ((struct search_request){.public_only = true}),
                PROG_DS ",MITx+6.002x," RUN_CS50 "," RUN_PY);
    ASSERT_KEYS("python", ANY,
                PROG_DS "," PROG_DRAFT ",MITx+6.002x," RUN_CS50 "," RUN_HID "," RUN_PY
                        "," RUN_SECRET);
    /* Facets follow visibility too. */
    struct search_result res =
        run("python", (struct search_request){.public_only = true, .want_facets = true});
    const json_t *ct = json_object_get(json_object_get(res.facets, "fields"), "content_type");
    ck_assert_int_eq(json_integer_value(json_object_get(ct, "courserun")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(ct, "program")), 1);
    search_result_clear(&res);
    teardown();
}
END_TEST

static const char *first_key(const json_t *list, const char *member)
{
    const json_t *v = json_object_get(json_array_get(list, 0), member);
    return v ? json_string_value(v) : "";
}

START_TEST(test_typeahead)
{
    setup(_i);
    json_t *out = NULL;
    struct error err = {0};
    ck_assert_int_eq(idx->driver->suggest(idx, "circ", 3, true, &out, &err), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "courserun")), 1);
    ck_assert_str_eq(first_key(json_object_get(out, "courserun"), "key"), RUN_CIRCUITS);
    ck_assert_str_eq(first_key(json_object_get(out, "course"), "key"), "MITx+6.002x");
    ck_assert_uint_eq(json_array_size(json_object_get(out, "program")), 0);
    json_decref(out);

    /* Organization names and keys, several words, the last a prefix. */
    ck_assert_int_eq(idx->driver->suggest(idx, "Massachu", 10, true, &out, &err), 0);
    ck_assert_str_eq(first_key(json_object_get(out, "program"), "uuid"), PROG_DS);
    json_decref(out);
    ck_assert_int_eq(idx->driver->suggest(idx, "Intro comp", 10, true, &out, &err), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "courserun")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "course")), 1);
    json_decref(out);
    ck_assert_int_eq(idx->driver->suggest(idx, "harv", 1, true, &out, &err), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "courserun")), 1); /* the limit */
    json_decref(out);
    /* Descriptions are not typeahead material. */
    ck_assert_int_eq(idx->driver->suggest(idx, "fundament", 10, false, &out, &err), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "course")), 0);
    json_decref(out);
    /* Visibility. */
    ck_assert_int_eq(idx->driver->suggest(idx, "secr", 10, true, &out, &err), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "courserun")), 0);
    json_decref(out);
    ck_assert_int_eq(idx->driver->suggest(idx, "secr", 10, false, &out, &err), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "courserun")), 1);
    json_decref(out);
    /* Nothing to match, and hostile text. */
    ck_assert_int_eq(idx->driver->suggest(idx, "*\"(", 10, true, &out, &err), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "course")), 0);
    json_decref(out);
    ck_assert_int_eq(idx->driver->suggest(idx, "\xff", 10, true, &out, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_ptr_null(out);
    teardown();
}
END_TEST

START_TEST(test_health_and_reopen)
{
    setup(_i);
    struct error err = {0};
    ck_assert_int_eq(idx->driver->health(idx, &err), 0);
    /* The index is a file: a new handle on the same config sees it. */
    struct config *config = driver_config(_i, tmpdir, true);
    struct search *again = NULL;
    ck_assert_int_eq(drivers[_i]->open(config, &again, &err), 0);
    config_free(config);
    size_t n = 0;
    ck_assert_int_eq(again->driver->count(again, &n, &err), 0);
    ck_assert_uint_eq(n, N_FIXTURE);
    again->driver->close(again);
    teardown();
}
END_TEST

/* Queries from several threads while documents are written, through this
 * handle and through a second one (another connection, as a catalogd
 * import beside serve): no query fails, every answer is consistent (the
 * total equals the hits and the content_type counts: a driver that counts,
 * pages and tallies facets in separate statements must run them on one
 * snapshot) and, once the writes are done, each handle sees what the other
 * wrote. */
struct query_loop {
    struct search *s;
    int bad;
    char why[256];
};

static void *query_loop(void *arg)
{
    struct query_loop *ql = arg;
    struct search_node *tree = NULL;
    struct error err = {0};
    if (search_query_parse("python", 6, &tree, &err) != 0) {
        snprintf(ql->why, sizeof ql->why, "parse: %.200s", err.message);
        ql->bad = 1;
        return NULL;
    }
    for (int round = 0; round < 60 && !ql->bad; round++) {
        struct search_request rq = {.query = tree, .now = now, .want_facets = true, .limit = 100};
        struct search_result res = {0};
        if (ql->s->driver->query(ql->s, &rq, &res, &err) != 0) {
            snprintf(ql->why, sizeof ql->why, "query: %.200s", err.message);
            ql->bad = 1;
            break;
        }
        size_t counted = 0;
        const char *value;
        json_t *count;
        json_object_foreach(json_object_get(json_object_get(res.facets, "fields"), "content_type"),
                            value, count) counted += (size_t)json_integer_value(count);
        if (res.total != json_array_size(res.hits) || counted != res.total) {
            snprintf(ql->why, sizeof ql->why, "total %zu, hits %zu, content_type counts %zu",
                     res.total, json_array_size(res.hits), counted);
            ql->bad = 1;
        }
        search_result_clear(&res);
        json_t *out = NULL;
        if (ql->s->driver->suggest(ql->s, "pyth", 10, true, &out, &err) != 0) {
            snprintf(ql->why, sizeof ql->why, "suggest: %.200s", err.message);
            ql->bad = 1;
        }
        json_decref(out);
    }
    search_query_free(tree);
    return NULL;
}

START_TEST(test_concurrent_queries_and_writers)
{
    setup(_i);
    struct error err = {0};
    struct config *config = driver_config(_i, tmpdir, true);
    struct search *other = NULL;
    ck_assert_msg(drivers[_i]->open(config, &other, &err) == 0, "%s", err.message);
    config_free(config);
    struct query_loop loops[4];
    pthread_t tids[4];
    for (int t = 0; t < 4; t++) {
        loops[t] = (struct query_loop){.s = idx};
        ck_assert_int_eq(pthread_create(&tids[t], NULL, query_loop, &loops[t]), 0);
    }
    /* Writer documents W+0 .. W+19, each removed again but every fourth;
     * even ones through this handle, odd ones through the other. */
    size_t kept = 0;
    for (int w = 0; w < 20; w++) {
        struct search *s = w % 2 ? other : idx;
        char doc[512], key[32];
        snprintf(key, sizeof key, "W+%d", w);
        snprintf(doc, sizeof doc,
                 "[{\"content_type\":\"course\",\"key\":\"%s\",\"title\":\"Python writer %d\","
                 " \"subjects\":[\"Engineering\"],\"status\":\"published\"}]",
                 key, w);
        json_t *docs = json_loads(doc, 0, NULL);
        ck_assert_ptr_nonnull(docs);
        ck_assert_msg(s->driver->index(s, docs, &err) == 0, "%s", err.message);
        json_decref(docs);
        if (w % 4 != 0)
            ck_assert_msg(s->driver->remove(s, SEARCH_COURSE, key, &err) == 0, "%s", err.message);
        else
            kept++;
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(tids[t], NULL);
        ck_assert_msg(!loops[t].bad, "thread %d: %s", t, loops[t].why);
    }
    ASSERT_KEYS("writer", ANY, "W+0,W+4,W+8,W+12,W+16");
    struct search_result res = run("python", (struct search_request){.want_facets = true});
    ck_assert_uint_eq(res.total, json_array_size(res.hits));
    ck_assert_uint_ge(res.total, kept + 1);
    search_result_clear(&res);
    /* And the other way round: what this handle wrote, the other sees. */
    struct search *mine = idx;
    idx = other;
    ASSERT_KEYS("writer", ANY, "W+0,W+4,W+8,W+12,W+16");
    idx = mine;
    other->driver->close(other);
    teardown();
}
END_TEST

START_TEST(test_open_unreachable_is_unavailable)
{
    struct config *config = driver_config(_i, "/nonexistent-catalogd-dir/sub", false);
    struct search *s = NULL;
    struct error err = {0};
    ck_assert_int_eq(drivers[_i]->open(config, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    config_free(config);
}
END_TEST

/* One suite per driver, "search:<name>", so that CK_RUN_SUITE can pick
 * the drivers a run has servers for. */
static Suite *suite(int driver)
{
    static char names[8][64]; /* Check keeps the pointer */
    snprintf(names[driver], sizeof names[driver], "search:%s", drivers[driver]->name);
    Suite *s = suite_create(names[driver]);
    TCase *tc = tcase_create("conformance");
    tcase_set_timeout(tc, 60);
    const TTest *const tests[] = {test_words_all_match,
                                  test_phrase_vs_words,
                                  test_prefix,
                                  test_negation,
                                  test_field_filters,
                                  test_or_precedence,
                                  test_accents_and_case,
                                  test_hostile_queries_are_safe,
                                  test_facet_counts_equal_hits,
                                  test_many_facet_values,
                                  test_facet_picks_narrow,
                                  test_title_outranks_description,
                                  test_delete_and_replace,
                                  test_bad_batch_writes_nothing,
                                  test_clear_and_reindex_same_answers,
                                  test_digests_are_search_doc_digest,
                                  test_availability_at_now,
                                  test_start_bounds_and_sort,
                                  test_public_only,
                                  test_typeahead,
                                  test_health_and_reopen,
                                  test_concurrent_queries_and_writers,
                                  test_open_unreachable_is_unavailable};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        tcase_add_loop_test(tc, tests[i], driver, driver + 1);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    for (const char *const *name = registry_known_names(BACKEND_SEARCH); *name; name++) {
        const struct search_driver *d = registry_search(*name);
        if (d != NULL && n_drivers < 8)
            drivers[n_drivers++] = d;
    }
    if (n_drivers == 0) {
        fprintf(stderr, "test_search: no search driver compiled in\n");
        return EXIT_FAILURE;
    }
    int status = EXIT_SUCCESS;
    for (int d = 0; d < n_drivers; d++)
        if (test_run_suite(suite(d)) != EXIT_SUCCESS)
            status = EXIT_FAILURE;
    return status;
}
