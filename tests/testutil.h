/*
 * testutil - helpers shared by the Check programs.
 */
#ifndef CATALOGD_TESTUTIL_H
#define CATALOGD_TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

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

/* Runs a suite and returns a process exit status. */
int test_run_suite(Suite *suite);

#endif
