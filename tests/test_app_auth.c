/*
 * test_app_auth - the [auth] settings become an auth (app_auth_new): the
 * inline issuer with its audience list, the issuers file (Open edX
 * JWT_ISSUERS style, key files relative to it) and its errors, which name
 * the file but never a secret; and the write decision handlers use
 * (app_may_write): staff, the write scope bound by the server for its own
 * caller only, the development switch, 401 vs 403.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "fixtures/jwt/mint.h"
#include "testutil.h"

#define SECRET "app-auth-test-secret-0123456789abcdef"
#define ISSUER "https://lms.test/oauth2"

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct auth *build(const char *const *sets, struct error *err)
{
    struct config *cfg = test_config(sets);
    struct auth *auth = NULL;
    int rc = app_auth_new(cfg, &auth, err);
    config_free(cfg);
    ck_assert_int_eq(rc == 0, auth != NULL);
    return auth;
}

static char *hs256(const char *iss, const char *aud, const char *extra)
{
    char payload[512];
    snprintf(payload, sizeof payload,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"svc\",\"exp\":%lld%s}", iss, aud,
             (long long)time(NULL) + 600, extra);
    return mint("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, "HS256", SECRET, strlen(SECRET));
}

static int authenticate(struct auth *auth, const char *token, struct auth_identity *id)
{
    char header[4096];
    snprintf(header, sizeof header, "JWT %s", token);
    struct error err = {0};
    return auth_authenticate(auth, header, time(NULL), id, &err);
}

START_TEST(test_inline_issuer_and_audiences)
{
    const char *sets[] = {"auth.issuer=" ISSUER, "auth.hs256_secret=" SECRET,
                          "auth.audience=first, second", NULL};
    struct error err = {0};
    struct auth *auth = build(sets, &err);
    ck_assert_msg(auth != NULL, "%s", err.message);
    struct auth_identity id;
    char *t = hs256(ISSUER, "second", "");
    ck_assert_int_eq(authenticate(auth, t, &id), 0);
    ck_assert(id.caller.authenticated);
    ck_assert_str_eq(id.caller.subject, "svc");
    free(t);
    t = hs256(ISSUER, "third", "");
    ck_assert_int_eq(authenticate(auth, t, &id), -1);
    free(t);
    auth_free(auth);
}
END_TEST

START_TEST(test_no_issuer_accepts_no_token)
{
    const char *sets[] = {NULL};
    struct error err = {0};
    struct auth *auth = build(sets, &err);
    ck_assert_ptr_nonnull(auth);
    struct auth_identity id;
    char *t = hs256(ISSUER, "catalogd", "");
    ck_assert_int_eq(authenticate(auth, t, &id), -1);
    free(t);
    auth_free(auth);
}
END_TEST

START_TEST(test_issuers_file)
{
    char *dir = test_tmpdir();
    /* A key file named relative to the issuers file. */
    size_t len = 0;
    char *pem = fixture_text("rsa_b.pub.pem", &len);
    free(write_file(dir, "b.pub.pem", pem));
    free(pem);
    setenv("APP_AUTH_TEST_SECRET", SECRET, 1);
    char *file = write_file(dir, "issuers.json",
                            "[{\"ISSUER\": \"https://a.test\", \"AUDIENCE\": [\"x\", \"y\"], "
                            "\"SECRET_KEY\": \"env:APP_AUTH_TEST_SECRET\"},"
                            " {\"ISSUER\": \"https://b.test\", \"AUDIENCE\": \"z\", "
                            "\"PUBLIC_KEY_FILE\": \"b.pub.pem\"}]");
    char set[4200];
    snprintf(set, sizeof set, "auth.issuers_file=%s", file);
    const char *sets[] = {set, NULL};
    struct error err = {0};
    struct auth *auth = build(sets, &err);
    ck_assert_msg(auth != NULL, "%s", err.message);
    struct auth_identity id;
    char *t = hs256("https://a.test", "y", ",\"administrator\":true");
    ck_assert_int_eq(authenticate(auth, t, &id), 0);
    ck_assert(id.caller.staff);
    free(t);
    char payload[256];
    snprintf(payload, sizeof payload,
             "{\"iss\":\"https://b.test\",\"aud\":\"z\",\"sub\":\"rs\",\"exp\":%lld}",
             (long long)time(NULL) + 600);
    t = mint("{\"alg\":\"RS512\"}", payload, "RS512", "rsa_b.key.pem", 0);
    ck_assert_int_eq(authenticate(auth, t, &id), 0);
    ck_assert_str_eq(id.caller.subject, "rs");
    free(t);
    /* The HS256 secret of issuer a does not verify issuer b's tokens. */
    t = hs256("https://b.test", "z", "");
    ck_assert_int_eq(authenticate(auth, t, &id), -1);
    free(t);
    auth_free(auth);
    free(file);
    free(dir);
}
END_TEST

START_TEST(test_issuers_file_errors)
{
    char *dir = test_tmpdir();
    static const char *const bad[] = {
        "{not json",
        "{\"ISSUER\": \"x\"}",
        "[{\"AUDIENCE\": \"x\", \"SECRET_KEY\": \"" SECRET "\"}]",
        "[{\"ISSUER\": \"i\", \"AUDIENCE\": 5, \"SECRET_KEY\": \"" SECRET "\"}]",
        "[{\"ISSUER\": \"i\", \"AUDIENCE\": [\"a\", 7], \"SECRET_KEY\": \"" SECRET "\"}]",
        "[{\"ISSUER\": \"i\", \"AUDIENCE\": \"a\", \"SECRET_KEY\": \"short-Secret9\"}]",
        "[{\"ISSUER\": \"i\", \"AUDIENCE\": \"a\", \"PUBLIC_KEY_FILE\": \"missing.pem\"}]",
        "[{\"ISSUER\": \"i\", \"AUDIENCE\": \"a\", \"ISSUER\": \"j\", \"SECRET_KEY\": \"" SECRET
        "\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.json", i);
        char *file = write_file(dir, name, bad[i]);
        char set[4200];
        snprintf(set, sizeof set, "auth.issuers_file=%s", file);
        const char *sets[] = {set, NULL};
        struct error err = {0};
        ck_assert_msg(build(sets, &err) == NULL, "case %zu accepted", i);
        ck_assert_int_eq(err.code, ERR_CONFIG);
        ck_assert_msg(strstr(err.message, "short-Secret9") == NULL &&
                          strstr(err.message, SECRET) == NULL,
                      "secret in: %s", err.message);
        free(file);
    }
    /* A missing file. */
    const char *sets[] = {"auth.issuers_file=/nonexistent/issuers.json", NULL};
    struct error err = {0};
    ck_assert_ptr_null(build(sets, &err));
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/issuers.json"));
    /* A literal secret too short: refused, not echoed. */
    const char *short_secret[] = {"auth.issuer=" ISSUER, "auth.hs256_secret=short-Secret9", NULL};
    ck_assert_ptr_null(build(short_secret, &err));
    ck_assert_ptr_null(strstr(err.message, "short-Secret9"));
    free(dir);
}
END_TEST

START_TEST(test_may_write)
{
    const char *sets[] = {"auth.issuer=" ISSUER, "auth.hs256_secret=" SECRET, NULL};
    struct error err = {0};
    struct app app = {0};
    app.auth = build(sets, &err);
    ck_assert_ptr_nonnull(app.auth);

    struct caller anon = {0};
    ck_assert_int_eq(app_may_write(&app, &anon, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAUTHORIZED);

    struct caller staff = {.authenticated = true, .staff = true};
    strcpy(staff.subject, "boss");
    ck_assert_int_eq(app_may_write(&app, &staff, &err), 0);

    struct caller writer = {.authenticated = true};
    strcpy(writer.subject, "writer");
    ck_assert_int_eq(app_may_write(&app, &writer, &err), -1);
    ck_assert_int_eq(err.code, ERR_FORBIDDEN);
    /* The scopes the token granted travel with the caller. */
    writer.scopes = AUTH_SCOPE_WRITE;
    ck_assert_int_eq(app_may_write(&app, &writer, &err), 0);
    writer.scopes = AUTH_SCOPE_READ;
    ck_assert_int_eq(app_may_write(&app, &writer, &err), -1);
    ck_assert_int_eq(err.code, ERR_FORBIDDEN);

    /* The development switch: the server makes anonymous callers staff. */
    struct caller dev = {.staff = true};
    ck_assert_int_eq(app_may_write(&app, &dev, &err), 0);
    auth_free(app.auth);

    /* Without an auth (handlers called directly): staff or 403. */
    app.auth = NULL;
    ck_assert_int_eq(app_may_write(&app, &anon, &err), -1);
    ck_assert_int_eq(err.code, ERR_FORBIDDEN);
    ck_assert_int_eq(app_may_write(&app, &staff, &err), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("app_auth");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_inline_issuer_and_audiences);
    tcase_add_test(tc, test_no_issuer_accepts_no_token);
    tcase_add_test(tc, test_issuers_file);
    tcase_add_test(tc, test_issuers_file_errors);
    tcase_add_test(tc, test_may_write);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
