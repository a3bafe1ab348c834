/*
 * testutil - see testutil.h.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_router.h"
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

int test_run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
