/*
 * testutil - helpers shared by the Check programs.
 */
#ifndef CATALOGD_TESTUTIL_H
#define CATALOGD_TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "search.h"

/* A fresh temporary directory (mkdtemp); the path is malloc'd, caller frees.
 * The directory is not removed automatically. */
char *test_tmpdir(void);

/* A config with the built-in defaults plus the given "section.key=value"
 * overrides (NULL-terminated); aborts the test on error.  Caller frees. */
struct config *test_config(const char *const *sets);

/* The public URL handler tests' apps answer under. */
#define TEST_APP_BASE_URL "http://test.example"

/* A catalog app for calling route handlers without a server. */
struct test_app {
    struct app app;
    struct config *config;
    char *tmpdir;
};

/* Opens t over a fresh sqlite store (and the fts5 index when with_search)
 * in a new temporary directory: no cache, public_url TEST_APP_BASE_URL,
 * page sizes 20 (default) and 500 (max), the clock fixed at now (ISO
 * 8601).  sets are extra settings (NULL-terminated; may be NULL).  Aborts
 * the test on error. */
void test_app_open(struct test_app *t, const char *now, bool with_search, const char *const *sets);

/* Closes what test_app_open opened, removes its directory and unfixes the
 * clock. */
void test_app_close(struct test_app *t);

/* Routes target ("/api/v1/x/?a=b": the path as the server hands it over,
 * already decoded; the query raw) the way the server does and calls the
 * handler as a staff caller or a visitor.  Returns the parsed body (caller
 * frees; NULL when empty) with *status; the raw body is copied into raw
 * (truncated to raw_size).  A target that matches no route fails the test. */
json_t *test_app_call(struct app *app, enum http_method method, const char *target,
                      const char *body, const char *content_type, bool staff, int *status,
                      char *raw, size_t raw_size);

/* An fts5 search handle on the index file at path (search.path); aborts
 * the test on error.  Caller closes it (driver->close). */
struct search *test_fts5_open(const char *path);

/* data/sample-catalog.jsonl (under CATALOGD_SOURCE_DIR) followed by
 * extra_lines (NULL: nothing), as one NUL-terminated malloc'd string:
 * caller frees.  A file that cannot be read fails the test. */
char *test_sample_catalog_text(const char *extra_lines);

/* The indexer tests' world: opens the store, the search index (config
 * must name one) and the cache that config names into *st, *idx and *cache
 * and fixes the clock at now (ISO 8601); fails the test on error.
 * test_backends_close closes the three, frees config and unfixes the
 * clock. */
void test_backends_open(const struct config *config, const char *now, struct store **st,
                        struct search **idx, struct cache **cache);
void test_backends_close(struct config *config, struct store *st, struct search *idx,
                         struct cache *cache);

/* The records in store, every kind counted; fails the test on error. */
size_t test_store_total(struct store *store);

/* The indexer's checkpoint (INDEXER_CHECKPOINT) in store; fails the test
 * on error. */
uint64_t test_indexer_checkpoint(struct store *store);

/* Runs indexer_verify of store against search with its report written into
 * report (size bytes, truncated) and returns the number of differences;
 * fails the test when verify itself fails. */
size_t test_indexer_verify(struct store *store, struct search *search, char *report, size_t size);

/* The documents in search; fails the test on error. */
size_t test_search_count(struct search *search);

/* search's document of kind c under key: a new reference (caller
 * json_decref's it), NULL when there is none; fails the test on error. */
json_t *test_search_hit(struct search *search, enum search_content c, const char *key);

/* A search handle that passes what it is asked to inner but whose index
 * hook fails once fail_in calls have succeeded (-1: never; tests may
 * change it while an indexer thread runs), and whose rebuild commit fails
 * (the rebuild dropped) when fail_commit is set.  A test builds its own
 * driver from the test_flaky_* hooks it wants the handle to have, so
 * which hooks are missing stays the test's choice.  Owns nothing. */
struct test_flaky {
    struct search base;
    struct search *inner;
    _Atomic int fail_in;
    _Atomic int index_calls; /* every index call, failed ones included */
    bool fail_commit;
};

int test_flaky_index(struct search *s, const json_t *docs, struct error *err);
int test_flaky_remove(struct search *s, enum search_content c, const char *key, struct error *err);
int test_flaky_lookup(struct search *s, enum search_content c, const char *key, json_t **out,
                      struct error *err);
int test_flaky_count(struct search *s, size_t *out, struct error *err);
int test_flaky_rebuild_begin(struct search *s, struct error *err);
int test_flaky_rebuild_end(struct search *s, bool commit, struct error *err);

/* Runs a suite and returns a process exit status. */
int test_run_suite(Suite *suite);

/* Runs tests (NULL-terminated) as one suite holding one test case, both
 * named name, each test between setup and teardown (a checked fixture;
 * either may be NULL), timeout_s seconds each (0: Check's default);
 * returns a process exit status as test_run_suite does. */
int test_run_tests(const char *name, SFun setup, SFun teardown, double timeout_s,
                   const TTest *const *tests);

#endif
