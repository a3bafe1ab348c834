/*
 * test_search_pgfts_faults - what the conformance suite cannot say about
 * pgfts: a server that goes away and comes back, the store.url fallback,
 * hostile strings reaching PostgreSQL only as parameters, and a rebuild
 * that other handles do not see until it commits.
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
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
