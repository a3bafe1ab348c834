/*
 * test_search_pgfts_faults - what the conformance suite cannot say about
 * pgfts: a server that goes away and comes back, the store.url fallback,
 * hostile strings reaching PostgreSQL only as parameters, a rebuild that
 * other handles do not see until it commits, lookup and digests (what
 * verify compares), batches written in one statement, and keys_only.
 *
 * It needs the private server of tests/pg_fixture.sh; started without one
 * it runs itself under the fixture (so it never skips).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "search.h"
#include "search_query.h"
#include "testutil.h"

static const struct search_driver *pgfts;

static struct search *open_with(const char *dir, const char *setting)
{
    char path[4200], url[1200];
    snprintf(path, sizeof path, "store.path=%s/catalog.db", dir);
    snprintf(url, sizeof url, "%s=%.1000s?schema=@path", setting, getenv("PG_FIXTURE_URL"));
    const char *sets[] = {path, url, "store.connect_timeout=2s", NULL};
    struct config *config = test_config(sets);
    struct search *s = NULL;
    struct error err = {0};
    ck_assert_msg(pgfts->open(config, &s, &err) == 0, "%s", err.message);
    config_free(config);
    return s;
}

static void index_json(struct search *s, const char *text)
{
    json_t *docs = json_loads(text, 0, NULL);
    struct error err = {0};
    ck_assert_ptr_nonnull(docs);
    ck_assert_msg(s->driver->index(s, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
}

/* Total hits for q (NULL: everything), or -1 with *err filled. */
static long hits(struct search *s, const char *q, const struct search_facet_pick *pick,
                 struct error *err)
{
    struct search_node *tree = NULL;
    if (q != NULL)
        ck_assert_int_eq(search_query_parse(q, strlen(q), &tree, err), 0);
    struct search_request rq = {
        .query = tree, .picks = pick, .n_picks = pick ? 1 : 0, .limit = 10, .want_facets = true};
    struct search_result res = {0};
    int rc = s->driver->query(s, &rq, &res, err);
    search_query_free(tree);
    long total = rc == 0 ? (long)res.total : -1;
    search_result_clear(&res);
    return total;
}

static void server(const char *how)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sh %.1000s %s", getenv("PG_FIXTURE_CTL"), how);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(down_is_unavailable_then_reconnects)
{
    char *dir = test_tmpdir();
    struct search *s = open_with(dir, "search.url");
    index_json(s, "[{\"content_type\":\"course\",\"key\":\"A+1\",\"title\":\"Astronomy\"}]");
    ck_assert_int_eq(hits(s, "astronomy", NULL, &(struct error){0}), 1);

    server("stop");
    struct error err = {0};
    time_t t0 = time(NULL);
    ck_assert_int_eq(hits(s, "astronomy", NULL, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    size_t n = 0;
    ck_assert_int_eq(s->driver->count(s, &n, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    json_t *docs =
        json_loads("[{\"content_type\":\"course\",\"key\":\"B\",\"title\":\"B\"}]", 0, NULL);
    ck_assert_int_eq(s->driver->index(s, docs, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    json_decref(docs);
    ck_assert_int_le(time(NULL) - t0, 10); /* refused at once, not hung */
    /* Opening against a server that is down fails the same way. */
    char path[4200], url[1200];
    snprintf(path, sizeof path, "store.path=%s/catalog.db", dir);
    snprintf(url, sizeof url, "search.url=%.1000s", getenv("PG_FIXTURE_URL"));
    const char *sets[] = {path, url, NULL};
    struct config *config = test_config(sets);
    struct search *none = NULL;
    ck_assert_int_eq(pgfts->open(config, &none, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    ck_assert_ptr_null(none);
    config_free(config);

    server("start");
    ck_assert_int_eq(hits(s, "astronomy", NULL, &err), 1); /* the same handle reconnects */
    ck_assert_int_eq(s->driver->count(s, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    s->driver->close(s);
    free(dir);
}
END_TEST

START_TEST(store_url_is_the_fallback)
{
    char *dir = test_tmpdir();
    struct search *s = open_with(dir, "store.url");
    index_json(s, "[{\"content_type\":\"course\",\"key\":\"A+1\",\"title\":\"Geology\"}]");
    s->driver->close(s);
    /* search.url naming the same schema finds the same index. */
    s = open_with(dir, "search.url");
    ck_assert_int_eq(hits(s, "geology", NULL, &(struct error){0}), 1);
    s->driver->close(s);
    free(dir);
}
END_TEST

START_TEST(hostile_strings_are_only_data)
{
    char *dir = test_tmpdir();
    struct search *s = open_with(dir, "search.url");
    index_json(s, "[{\"content_type\":\"course\",\"key\":\"K'1\\\\\",\"title\":\"O'Brien's \\\\ "
                  "tea\",\"language\":\"x') OR true --\",\"subjects\":[\"a\\\"b\",\"{c,d}\"]}]");
    struct error err = {0};
    ck_assert_int_eq(hits(s, "brien", NULL, &err), 1);
    ck_assert_int_eq(hits(s, "key:k", NULL, &err), 1);
    struct search_facet_pick lang = {"language", "x') OR true --"};
    ck_assert_int_eq(hits(s, NULL, &lang, &err), 1);
    struct search_facet_pick inj = {"language", "' OR '1'='1"};
    ck_assert_int_eq(hits(s, NULL, &inj, &err), 0);
    struct search_facet_pick braces = {"subjects", "{c,d}"};
    ck_assert_int_eq(hits(s, NULL, &braces, &err), 1);
    json_t *hit = NULL;
    ck_assert_int_eq(s->driver->lookup(s, SEARCH_COURSE, "K'1\\", &hit, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(hit, "title")), "O'Brien's \\ tea");
    json_decref(hit);
    s->driver->close(s);
    free(dir);
}
END_TEST

START_TEST(rebuild_is_invisible_until_commit)
{
    char *dir = test_tmpdir();
    struct search *a = open_with(dir, "search.url"), *b = open_with(dir, "search.url");
    index_json(a, "[{\"content_type\":\"course\",\"key\":\"OLD\",\"title\":\"Old\"}]");
    struct error err = {0};
    ck_assert_int_eq(a->driver->rebuild_begin(a, &err), 0);
    ck_assert_int_eq(a->driver->rebuild_begin(a, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_int_eq(hits(a, NULL, NULL, &err), 0); /* empty to the rebuilding handle */
    index_json(a, "[{\"content_type\":\"course\",\"key\":\"NEW\",\"title\":\"New\"}]");
    ck_assert_int_eq(hits(b, "old", NULL, &err), 1); /* the old index to others */
    ck_assert_int_eq(hits(b, "new", NULL, &err), 0);
    ck_assert_int_eq(a->driver->rebuild_end(a, false, &err), 0);
    ck_assert_int_eq(hits(b, "old", NULL, &err), 1); /* dropped: the old one stays */
    ck_assert_int_eq(hits(a, "new", NULL, &err), 0);

    ck_assert_int_eq(a->driver->rebuild_begin(a, &err), 0);
    index_json(a, "[{\"content_type\":\"course\",\"key\":\"NEW\",\"title\":\"New\"}]");
    ck_assert_int_eq(a->driver->rebuild_end(a, true, &err), 0);
    ck_assert_int_eq(hits(b, "old", NULL, &err), 0);
    ck_assert_int_eq(hits(b, "new", NULL, &err), 1);
    ck_assert_int_eq(a->driver->rebuild_end(a, true, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    a->driver->close(a);
    b->driver->close(b);
    free(dir);
}
END_TEST

/* The document as the digest sees it, in the index's text form. */
static void digest_hex(const char *doc_text, char out[17])
{
    json_t *doc = json_loads(doc_text, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    snprintf(out, 17, "%016llx", (unsigned long long)search_doc_digest(doc));
    json_decref(doc);
}

START_TEST(lookup_and_digests_follow_writes)
{
    static const char a[] = "{\"content_type\":\"course\",\"key\":\"A+1\",\"title\":\"Alpha\","
                            "\"hit\":{\"key\":\"A+1\",\"title\":\"Alpha!\"}}";
    static const char b[] = "{\"content_type\":\"courserun\",\"key\":\"course-v1:A+1+T\","
                            "\"title\":\"Beta\",\"start\":\"2024-01-01T00:00:00Z\"}";
    static const char b2[] = "{\"content_type\":\"courserun\",\"key\":\"course-v1:A+1+T\","
                             "\"title\":\"Beta two\"}";
    char *dir = test_tmpdir();
    struct search *s = open_with(dir, "search.url");
    struct error err = {0};
    char text[600], da[17], db[17], db2[17];
    snprintf(text, sizeof text, "[%s, %s]", a, b);
    index_json(s, text);
    digest_hex(a, da);
    digest_hex(b, db);
    digest_hex(b2, db2);
    ck_assert_str_ne(db, db2);

    json_t *hit = NULL;
    ck_assert_int_eq(s->driver->lookup(s, SEARCH_COURSE, "A+1", &hit, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(hit, "title")), "Alpha!"); /* the hit */
    json_decref(hit);
    ck_assert_int_eq(s->driver->lookup(s, SEARCH_COURSE_RUN, "course-v1:A+1+T", &hit, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(hit, "title")), "Beta"); /* the doc */
    json_decref(hit);
    ck_assert_int_eq(s->driver->lookup(s, SEARCH_PROGRAM, "A+1", &hit, &err), 0);
    ck_assert_ptr_null(hit); /* same key, other type */

    json_t *d = NULL;
    ck_assert_int_eq(s->driver->digests(s, &d, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "course"), "A+1")), da);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(d, "courserun"), "course-v1:A+1+T")), db);
    ck_assert_int_eq(json_object_size(json_object_get(d, "program")), 0);
    json_decref(d);

    snprintf(text, sizeof text, "[%s]", b2);
    index_json(s, text);
    ck_assert_int_eq(s->driver->remove(s, SEARCH_COURSE, "A+1", &err), 0);
    ck_assert_int_eq(s->driver->digests(s, &d, &err), 0);
    ck_assert_int_eq(json_object_size(json_object_get(d, "course")), 0);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(d, "courserun"), "course-v1:A+1+T")),
        db2);
    json_decref(d);
    ck_assert_int_eq(s->driver->lookup(s, SEARCH_COURSE, "A+1", &hit, &err), 0);
    ck_assert_ptr_null(hit);
    s->driver->close(s);
    free(dir);
}
END_TEST

START_TEST(a_batch_is_one_statement_all_or_nothing)
{
    char *dir = test_tmpdir();
    struct search *s = open_with(dir, "search.url");
    struct error err = {0};
    /* The same key twice in one batch: the later document wins. */
    index_json(s, "[{\"content_type\":\"course\",\"key\":\"D\",\"title\":\"First\"},"
                  " {\"content_type\":\"program\",\"key\":\"D\",\"title\":\"Other\"},"
                  " {\"content_type\":\"course\",\"key\":\"D\",\"title\":\"Second\"}]");
    size_t n = 0;
    ck_assert_int_eq(s->driver->count(s, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(hits(s, "second", NULL, &err), 1);
    ck_assert_int_eq(hits(s, "first", NULL, &err), 0);

    /* A bad document anywhere writes none of the batch and is named. */
    json_t *bad = json_loads("[{\"content_type\":\"course\",\"key\":\"E\",\"title\":\"Fine\"},"
                             " {\"content_type\":\"course\",\"key\":\"F\",\"title\":\"Fine\"},"
                             " {\"content_type\":\"course\",\"key\":\"G\",\"title\":\"Bad\","
                             "\"start\":\"yesterday\"}]",
                             0, NULL);
    ck_assert_int_eq(s->driver->index(s, bad, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "docs[2].start"));
    json_decref(bad);
    ck_assert_int_eq(s->driver->count(s, &n, &err), 0);
    ck_assert_uint_eq(n, 2);

    /* A large batch, with dates, lists and visibility carried per row. */
    json_t *docs = json_array();
    for (int i = 0; i < 3000; i++) {
        char key[32];
        snprintf(key, sizeof key, "run-%d", i);
        json_array_append_new(docs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s, s], s:b}",
                                              "content_type", "courserun", "key", key, "title",
                                              "Bulk", "status", i % 3 ? "published" : "unpublished",
                                              "start", "2030-01-01T00:00:00Z", "seat_types",
                                              "audit", "audit", "hidden", i % 5 == 0));
    }
    ck_assert_int_eq(s->driver->index(s, docs, &err), 0);
    json_decref(docs);
    ck_assert_int_eq(s->driver->count(s, &n, &err), 0);
    ck_assert_uint_eq(n, 3002);
    struct search_request rq = {.public_only = true, .want_facets = true, .limit = 1};
    struct search_result res = {0};
    ck_assert_int_eq(s->driver->query(s, &rq, &res, &err), 0);
    /* Public: runs published (i % 3 != 0) and not hidden (i % 5 != 0), and
     * the course D (no status); the program D is not active. */
    size_t public_runs = 0;
    for (int i = 0; i < 3000; i++)
        public_runs += i % 3 != 0 && i % 5 != 0;
    ck_assert_uint_eq(res.total, public_runs + 1);
    json_t *seats = json_object_get(json_object_get(res.facets, "fields"), "seat_types");
    ck_assert_int_eq(json_integer_value(json_object_get(seats, "audit")), (json_int_t)public_runs);
    search_result_clear(&res);
    s->driver->close(s);
    free(dir);
}
END_TEST

START_TEST(keys_only_gives_the_same_page_without_hits)
{
    char *dir = test_tmpdir();
    struct search *s = open_with(dir, "search.url");
    index_json(s, "[{\"content_type\":\"course\",\"key\":\"K1\",\"title\":\"Optics\"},"
                  " {\"content_type\":\"courserun\",\"key\":\"K2\",\"title\":\"Optics lab\"},"
                  " {\"content_type\":\"program\",\"key\":\"K3\",\"title\":\"Acoustics\","
                  "\"short_description\":\"optics too\",\"status\":\"active\"}]");
    struct search_node *tree = NULL;
    struct error err = {0};
    ck_assert_int_eq(search_query_parse("optics", 6, &tree, &err), 0);
    struct search_request rq = {.query = tree, .limit = 10, .want_facets = true};
    struct search_result full = {0}, keys = {0};
    ck_assert_int_eq(s->driver->query(s, &rq, &full, &err), 0);
    rq.keys_only = true;
    ck_assert_int_eq(s->driver->query(s, &rq, &keys, &err), 0);
    ck_assert_uint_eq(keys.total, 3);
    ck_assert_uint_eq(keys.total, full.total);
    ck_assert_ptr_nonnull(keys.facets);
    ck_assert(json_equal(keys.facets, full.facets));
    ck_assert_uint_eq(json_array_size(keys.hits), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *k = json_array_get(keys.hits, i), *f = json_array_get(full.hits, i);
        ck_assert_uint_eq(json_object_size(k), 2); /* no score, no doc */
        ck_assert_ptr_nonnull(json_object_get(f, "doc"));
        ck_assert(json_equal(json_object_get(k, "key"), json_object_get(f, "key")));
        ck_assert(
            json_equal(json_object_get(k, "content_type"), json_object_get(f, "content_type")));
    }
    search_result_clear(&full);
    search_result_clear(&keys);
    search_query_free(tree);
    s->driver->close(s);
    free(dir);
}
END_TEST

/* Several threads on one handle: readers never fail nor see a half-written
 * batch (each batch adds two documents, so the total stays even). */
static struct search *shared;

static void *reader(void *arg)
{
    long *bad = arg;
    for (int i = 0; i < 30; i++) {
        struct error err = {0};
        long n = hits(shared, "shared", NULL, &err);
        if (n < 0 || n % 2 != 0)
            (*bad)++;
    }
    return NULL;
}

START_TEST(threads_share_a_handle)
{
    char *dir = test_tmpdir();
    shared = open_with(dir, "search.url");
    pthread_t t[4];
    long bad[4] = {0};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, reader, &bad[i]), 0);
    for (int b = 0; b < 20; b++) {
        char docs[300];
        snprintf(docs, sizeof docs,
                 "[{\"content_type\":\"course\",\"key\":\"S+%d\",\"title\":\"Shared\"},"
                 " {\"content_type\":\"courserun\",\"key\":\"S+%d\",\"title\":\"Shared\"}]",
                 b, b);
        index_json(shared, docs);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(bad[i], 0);
    }
    ck_assert_int_eq(hits(shared, "shared", NULL, &(struct error){0}), 40);
    shared->driver->close(shared);
    free(dir);
}
END_TEST

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("PG_FIXTURE_CTL") == NULL) {
        const char *src = getenv("CATALOGD_SOURCE_DIR");
        char fixture[4200];
        snprintf(fixture, sizeof fixture, "%s/tests/pg_fixture.sh", src ? src : ".");
        execlp("sh", "sh", fixture, argv[0], (char *)NULL);
        perror("test_search_pgfts_faults: cannot run tests/pg_fixture.sh");
        return EXIT_FAILURE;
    }
    pgfts = registry_search("pgfts");
    if (pgfts == NULL) {
        fprintf(stderr, "test_search_pgfts_faults: pgfts is not compiled in\n");
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("search_pgfts_faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, down_is_unavailable_then_reconnects);
    tcase_add_test(tc, store_url_is_the_fallback);
    tcase_add_test(tc, hostile_strings_are_only_data);
    tcase_add_test(tc, rebuild_is_invisible_until_commit);
    tcase_add_test(tc, threads_share_a_handle);
    tcase_add_test(tc, lookup_and_digests_follow_writes);
    tcase_add_test(tc, a_batch_is_one_statement_all_or_nothing);
    tcase_add_test(tc, keys_only_gives_the_same_page_without_hits);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
