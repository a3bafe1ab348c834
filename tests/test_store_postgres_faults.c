/*
 * test_store_postgres_faults - what only the postgres store driver does:
 * a server that goes away and comes back, a connection lost inside a
 * transaction, an unreachable server, databases it must refuse, the
 * schema= parameter of store.url, and processes migrating at once.
 *
 * Runs under tests/pg_fixture.sh (a private server it may stop and
 * start); started without it, it runs itself under the fixture.  Nothing
 * is skipped: a server that cannot be started fails the test.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "store.h"
#include "testutil.h"

static const struct store_driver *drv;
static char *dir;

static struct config *config_for(const char *url, const char *path)
{
    char u[4400], p[4400];
    snprintf(u, sizeof u, "store.url=%s", url);
    snprintf(p, sizeof p, "store.path=%s", path);
    const char *sets[] = {"store.driver=postgres", u, p, "store.busy_timeout=3000", NULL};
    return test_config(sets);
}

/* Opens the fixture's database with url_suffix ("?schema=x") appended. */
static int open_store(const char *suffix, struct store **out, struct error *err)
{
    char url[4200];
    snprintf(url, sizeof url, "%s%s", getenv("PG_FIXTURE_URL"), suffix);
    char path[4200];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    struct config *c = config_for(url, path);
    int rc = drv->open(c, out, err);
    config_free(c);
    return rc;
}

static void ctl(const char *what)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "sh '%s' %s", getenv("PG_FIXTURE_CTL"), what);
    ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

static json_t *org(const char *key)
{
    static int n;
    char uuid[40];
    snprintf(uuid, sizeof uuid, "00000000-0000-4000-9000-%012d", ++n);
    return json_pack("{s:s, s:s, s:s}", "uuid", uuid, "key", key, "name", key);
}

static int put(struct store *s, const char *key, struct error *err)
{
    json_t *doc = org(key);
    int rc = store_put(s, ENTITY_ORGANIZATION, doc, STORE_CREATE, NULL, err);
    json_decref(doc);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(void)
{
    dir = test_tmpdir();
}

static void teardown(void)
{
    free(dir);
}

/* Down: every call is UNAVAILABLE, quickly; back: the same handle works
 * again, its statements prepared anew on the new connection. */
START_TEST(server_down_then_back)
{
    struct store *s = NULL;
    struct error err = {0};
    ck_assert_msg(open_store("?schema=@path", &s, &err) == 0, "%s", err.message);
    ck_assert_int_eq(put(s, "A", &err), 0);
    json_t *doc = NULL;
    ck_assert_int_eq(store_get(s, ENTITY_ORGANIZATION, "A", &doc, &err), 0);
    json_decref(doc);

    ctl("stop");
    double t0 = now_s();
    ck_assert_int_eq(store_health(s, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    error_clear(&err);
    ck_assert_int_eq(store_get(s, ENTITY_ORGANIZATION, "A", &doc, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    error_clear(&err);
    ck_assert_int_eq(put(s, "B", &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    ck_assert_msg(now_s() - t0 < 10, "down calls took %.1f s", now_s() - t0);

    ctl("start");
    error_clear(&err);
    ck_assert_msg(store_health(s, &err) == 0, "%s", err.message);
    ck_assert_int_eq(store_get(s, ENTITY_ORGANIZATION, "A", &doc, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "key")), "A");
    json_decref(doc);
    ck_assert_msg(put(s, "B", &err) == 0, "%s", err.message);
    size_t n = 0;
    ck_assert_int_eq(store_count(s, ENTITY_ORGANIZATION, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    store_close(s);
}
END_TEST

/* Writes made after the connection died inside a transaction must not
 * run on their own: they fail until the caller rolls back. */
START_TEST(lost_transaction_refuses_until_rollback)
{
    struct store *s = NULL;
    struct error err = {0};
    ck_assert_msg(open_store("?schema=@path", &s, &err) == 0, "%s", err.message);
    ck_assert_int_eq(store_begin(s, &err), 0);
    ck_assert_int_eq(put(s, "A", &err), 0);
    ctl("stop");
    ctl("start");
    ck_assert_int_eq(put(s, "B", &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    error_clear(&err);
    ck_assert_int_eq(put(s, "C", &err), -1); /* still refused: not rolled back */
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    error_clear(&err);
    ck_assert_int_eq(store_commit(s, &err), -1); /* and commit rolls back */
    error_clear(&err);
    ck_assert_msg(put(s, "D", &err) == 0, "%s", err.message);
    size_t n = 9;
    ck_assert_int_eq(store_count(s, ENTITY_ORGANIZATION, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    json_t *doc = NULL;
    ck_assert_int_eq(store_get(s, ENTITY_ORGANIZATION, "A", &doc, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    store_close(s);
}
END_TEST

START_TEST(unreachable_server_is_unavailable)
{
    /* A port nobody listens on: the fixture's own after it is stopped. */
    ctl("stop");
    struct store *s = (struct store *)&s;
    struct error err = {0};
    double t0 = now_s();
    int rc = open_store("?schema=@path", &s, &err);
    ctl("start");
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err.message, "cannot connect") != NULL, "%s", err.message);
    ck_assert_msg(now_s() - t0 < 10, "took %.1f s", now_s() - t0);
}
END_TEST

START_TEST(bad_urls_are_config_errors)
{
    static const char *const bad[] = {"?schema=Bad-Name", "?schema=", "?schema=a%20b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct store *s = NULL;
        struct error err = {0};
        ck_assert_int_eq(open_store(bad[i], &s, &err), -1);
        ck_assert_int_eq(err.code, ERR_CONFIG);
        ck_assert_str_eq(err.field, "store.url");
    }
    /* libpq's own complaint about a parameter it does not know. */
    struct store *s = NULL;
    struct error err = {0};
    ck_assert_int_eq(open_store("?nosuchparam=1", &s, &err), -1);
    ck_assert_int_ne(err.code, ERR_NONE);
}
END_TEST

/* Sorting and paging must agree with SQLite's byte order: a database that
 * collates otherwise is refused, saying how to create a suitable one. */
START_TEST(non_bytewise_database_is_refused)
{
    PGconn *pg = PQconnectdb(getenv("PG_FIXTURE_URL"));
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, "DROP DATABASE IF EXISTS catalogd_icu"));
    PGresult *res = PQexec(pg, "CREATE DATABASE catalogd_icu TEMPLATE template0 ENCODING 'UTF8'"
                               " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
    char url[4200];
    snprintf(url, sizeof url, "%s", getenv("PG_FIXTURE_URL"));
    char *slash = strrchr(url, '/');
    snprintf(slash, sizeof url - (size_t)(slash - url), "/catalogd_icu");
    struct config *c = config_for(url, "x");
    struct store *s = NULL;
    struct error err = {0};
    ck_assert_int_eq(drv->open(c, &s, &err), -1);
    config_free(c);
    ck_assert_int_eq(err.code, ERR_CONFIG);
    ck_assert_msg(strstr(err.message, "ICU") && strstr(err.message, "LC_COLLATE 'C'"), "%s",
                  err.message);
}
END_TEST

/* schema=NAME keeps a catalog apart from another in the same database. */
START_TEST(schemas_are_separate_catalogs)
{
    struct store *a = NULL, *b = NULL;
    struct error err = {0};
    PGconn *pg = PQconnectdb(getenv("PG_FIXTURE_URL"));
    PQclear(PQexec(pg, "DROP SCHEMA IF EXISTS cat_a CASCADE; DROP SCHEMA IF EXISTS cat_b CASCADE"));
    ck_assert_msg(open_store("?schema=cat_a", &a, &err) == 0, "%s", err.message);
    ck_assert_msg(open_store("?schema=cat_b&connect_timeout=3", &b, &err) == 0, "%s", err.message);
    ck_assert_int_eq(put(a, "ONLY-IN-A", &err), 0);
    size_t n = 9;
    ck_assert_int_eq(store_count(b, ENTITY_ORGANIZATION, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    PGresult *res = PQexec(pg, "SELECT key FROM cat_a.organizations");
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "ONLY-IN-A");
    PQclear(res);
    PQfinish(pg);
    store_close(a);
    store_close(b);
}
END_TEST

/* Several processes starting at once against an empty schema: the
 * migration lock lets exactly one apply each migration. */
struct opener {
    int rc;
    char msg[512];
};

static void *open_thread(void *p)
{
    struct opener *o = p;
    struct store *s = NULL;
    struct error err = {0};
    o->rc = open_store("?schema=racing_openers", &s, &err);
    snprintf(o->msg, sizeof o->msg, "%s", err.message);
    store_close(s);
    return NULL;
}

START_TEST(concurrent_first_opens_migrate_once)
{
    PGconn *pg = PQconnectdb(getenv("PG_FIXTURE_URL"));
    PQclear(PQexec(pg, "DROP SCHEMA IF EXISTS racing_openers CASCADE"));
    enum { N = 6 };
    pthread_t t[N];
    struct opener o[N];
    memset(o, 0, sizeof o);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, open_thread, &o[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(o[i].rc == 0, "opener %d: %s", i, o[i].msg);
    PGresult *res = PQexec(pg, "SELECT COUNT(*), COUNT(DISTINCT version)"
                               " FROM racing_openers.schema_migrations");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    ck_assert_int_ge(atoi(PQgetvalue(res, 0, 0)), 1);
    PQclear(res);
    PQfinish(pg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store:postgres faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, server_down_then_back);
    tcase_add_test(tc, lost_transaction_refuses_until_rollback);
    tcase_add_test(tc, unreachable_server_is_unavailable);
    tcase_add_test(tc, bad_urls_are_config_errors);
    tcase_add_test(tc, non_bytewise_database_is_refused);
    tcase_add_test(tc, schemas_are_separate_catalogs);
    tcase_add_test(tc, concurrent_first_opens_migrate_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    (void)argc;
    drv = registry_store("postgres");
    if (drv == NULL) {
        fprintf(stderr, "the postgres store driver is not compiled in\n");
        return EXIT_FAILURE;
    }
    if (getenv("PG_FIXTURE_CTL") == NULL) {
        /* Not under the fixture yet: run under it. */
        const char *src = getenv("CATALOGD_SOURCE_DIR");
        char fixture[4200];
        snprintf(fixture, sizeof fixture, "%s/tests/pg_fixture.sh", src ? src : ".");
        execlp("sh", "sh", fixture, argv[0], (char *)NULL);
        perror("sh");
        return EXIT_FAILURE;
    }
    return test_run_suite(suite());
}
