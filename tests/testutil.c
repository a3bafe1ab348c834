/*
 * testutil - see testutil.h.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "clock.h"
#include "http_router.h"
#include "indexer.h"
#include "query_params.h"
#include "registry.h"
#include "search.h"
#include "store.h"

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/catalogd-test-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    return strdup(dir);
}

struct config *test_config(const char *const *sets)
{
    size_t n = 0;
    while (sets != NULL && sets[n] != NULL)
        n++;
    char *envp[] = {NULL};
    char profiles[4096];
    const char *src = getenv("CATALOGD_SOURCE_DIR");
    snprintf(profiles, sizeof profiles, "%s/profiles", src ? src : ".");
    struct config_sources sources = {
        .file = NULL, .sets = sets, .n_sets = n, .envp = envp, .profile_dir = profiles};
    struct config *config = NULL;
    struct error err = {0};
    if (config_load(&sources, &config, &err) != 0)
        ck_abort_msg("test_config: %s", err.message);
    return config;
}

void test_app_open(struct test_app *t, const char *now, bool with_search, const char *const *sets)
{
    char store_path[4200];
    const char *all[32];
    size_t n = 0;
    memset(t, 0, sizeof *t);
    t->tmpdir = test_tmpdir();
    snprintf(store_path, sizeof store_path, "store.path=%s/catalog.db", t->tmpdir);
    all[n++] = store_path;
    all[n++] = "cache.driver=none";
    for (size_t i = 0; sets != NULL && sets[i] != NULL; i++) {
        ck_assert_uint_lt(n, sizeof all / sizeof all[0] - 1);
        all[n++] = sets[i];
    }
    all[n] = NULL;
    t->config = test_config(all);
    struct error err = {0};
    t->app.config = t->config;
    ck_assert_msg(store_open(t->config, &t->app.store, &err) == 0, "store_open: %s", err.message);
    if (with_search) {
        const struct search_driver *fts5 = registry_search("fts5");
        ck_assert_ptr_nonnull(fts5);
        ck_assert_msg(fts5->open(t->config, &t->app.search, &err) == 0, "search open: %s",
                      err.message);
    }
    snprintf(t->app.public_url, sizeof t->app.public_url, TEST_APP_BASE_URL);
    t->app.page_size_default = 20;
    t->app.page_size_max = 500;
    ck_assert_msg(clock_set_fixed(now, &err) == 0, "clock: %s", err.message);
}

void test_app_close(struct test_app *t)
{
    if (t->app.search != NULL)
        t->app.search->driver->close(t->app.search);
    store_close(t->app.store);
    config_free(t->config);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    free(t->tmpdir);
    clock_set_fixed(NULL, NULL);
    memset(t, 0, sizeof *t);
}

json_t *test_app_call(struct app *app, enum http_method method, const char *target,
                      const char *body, const char *content_type, bool staff, int *status,
                      char *raw, size_t raw_size)
{
    char path[2048];
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    ck_assert_uint_lt(plen, sizeof path);
    memcpy(path, target, plen);
    path[plen] = '\0';
    struct query_params query = {0};
    struct error err = {0};
    ck_assert_msg(query_params_parse(q ? q + 1 : "", &query, &err) == 0, "query: %s", err.message);
    struct route_params params = {0};
    char allow[64];
    const struct route *route = router_match(catalog_routes, catalog_routes_count, method, path,
                                             &params, allow, sizeof allow, &err);
    ck_assert_msg(route != NULL, "no route for %s: %s", target, err.message);
    struct http_request req = {
        .method = method,
        .method_name = "X",
        .path = path,
        .query = &query,
        .body = body ? body : "",
        .body_len = body ? strlen(body) : 0,
        .content_type = content_type,
        .request_id = "test",
    };
    req.caller.staff = staff;
    struct http_response resp = {0};
    route->handler(app, &req, route, &params, &resp);
    query_params_free(&query);
    *status = resp.status;
    snprintf(raw, raw_size, "%.*s", (int)resp.body_len, resp.body ? resp.body : "");
    json_t *out = NULL;
    if (resp.body_len > 0) {
        json_error_t jerr;
        out = json_loadb(resp.body, resp.body_len, 0, &jerr);
        ck_assert_msg(out != NULL, "response is not JSON: %.200s", raw);
    }
    free(resp.body);
    return out;
}

struct search *test_fts5_open(const char *path)
{
    char set[4200];
    snprintf(set, sizeof set, "search.path=%s", path);
    const char *sets[] = {set, NULL};
    struct config *config = test_config(sets);
    struct search *s = NULL;
    struct error err = {0};
    ck_assert_msg(registry_search("fts5")->open(config, &s, &err) == 0, "search open: %s",
                  err.message);
    config_free(config);
    return s;
}

char *test_sample_catalog_text(const char *extra_lines)
{
    const char *src = getenv("CATALOGD_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/sample-catalog.jsonl", src ? src : ".");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, out);
    if (extra_lines != NULL)
        fputs(extra_lines, out);
    fclose(f);
    fclose(out);
    return text;
}

void test_backends_open(const struct config *config, const char *now, struct store **st,
                        struct search **idx, struct cache **cache)
{
    struct error err = {0};
    ck_assert_msg(store_open(config, st, &err) == 0, "store: %s", err.message);
    ck_assert_msg(search_open(config, idx, &err) == 0 && *idx != NULL, "search: %s", err.message);
    ck_assert_msg(cache_open(config, cache, &err) == 0, "cache: %s", err.message);
    clock_set_fixed(now, &err);
}

void test_backends_close(struct config *config, struct store *st, struct search *idx,
                         struct cache *cache)
{
    cache_close(cache);
    search_close(idx);
    store_close(st);
    config_free(config);
    clock_set_fixed(NULL, NULL);
}

size_t test_store_total(struct store *store)
{
    size_t total = 0;
    for (int k = 0; k < ENTITY_KIND_COUNT; k++) {
        size_t n = 0;
        struct error err = {0};
        ck_assert(store_count(store, (enum entity_kind)k, &n, &err) == 0);
        total += n;
    }
    return total;
}

uint64_t test_indexer_checkpoint(struct store *store)
{
    uint64_t v = 0;
    struct error err = {0};
    ck_assert(store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &v, &err) == 0);
    return v;
}

size_t test_indexer_verify(struct store *store, struct search *search, char *report, size_t size)
{
    size_t diff = 99;
    struct error err = {0};
    FILE *out = fmemopen(report, size, "w");
    ck_assert_msg(indexer_verify(store, search, out, &diff, &err) == 0, "verify: %s", err.message);
    fclose(out);
    return diff;
}

size_t test_search_count(struct search *search)
{
    size_t n = 0;
    struct error err = {0};
    ck_assert(search->driver->count(search, &n, &err) == 0);
    return n;
}

json_t *test_search_hit(struct search *search, enum search_content c, const char *key)
{
    json_t *hit = NULL;
    struct error err = {0};
    ck_assert(search->driver->lookup(search, c, key, &hit, &err) == 0);
    return hit;
}

int test_flaky_index(struct search *s, const json_t *docs, struct error *err)
{
    struct test_flaky *f = (struct test_flaky *)s;
    f->index_calls++;
    if (f->fail_in == 0)
        return error_set(err, ERR_UNAVAILABLE, "flaky: index unavailable");
    if (f->fail_in > 0)
        f->fail_in--;
    return f->inner->driver->index(f->inner, docs, err);
}

int test_flaky_remove(struct search *s, enum search_content c, const char *key, struct error *err)
{
    struct test_flaky *f = (struct test_flaky *)s;
    return f->inner->driver->remove(f->inner, c, key, err);
}

int test_flaky_lookup(struct search *s, enum search_content c, const char *key, json_t **out,
                      struct error *err)
{
    struct test_flaky *f = (struct test_flaky *)s;
    return f->inner->driver->lookup(f->inner, c, key, out, err);
}

int test_flaky_count(struct search *s, size_t *out, struct error *err)
{
    struct test_flaky *f = (struct test_flaky *)s;
    return f->inner->driver->count(f->inner, out, err);
}

int test_flaky_rebuild_begin(struct search *s, struct error *err)
{
    struct test_flaky *f = (struct test_flaky *)s;
    return f->inner->driver->rebuild_begin(f->inner, err);
}

int test_flaky_rebuild_end(struct search *s, bool commit, struct error *err)
{
    struct test_flaky *f = (struct test_flaky *)s;
    if (commit && f->fail_commit) {
        /* The rebuild is dropped, as a commit that failed would leave it. */
        struct error ignored = {0};
        f->inner->driver->rebuild_end(f->inner, false, &ignored);
        return error_set(err, ERR_UNAVAILABLE, "flaky: the index file is read-only");
    }
    return f->inner->driver->rebuild_end(f->inner, commit, err);
}

int test_run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int test_run_tests(const char *name, SFun setup, SFun teardown, double timeout_s,
                   const TTest *const *tests)
{
    Suite *suite = suite_create(name);
    TCase *tc = tcase_create(name);
    if (setup != NULL || teardown != NULL)
        tcase_add_checked_fixture(tc, setup, teardown);
    for (size_t i = 0; tests[i] != NULL; i++)
        tcase_add_test(tc, tests[i]);
    if (timeout_s > 0)
        tcase_set_timeout(tc, timeout_s);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
