/*
 * test_auth - Authorization header forms, identity from claims, secrets
 * from value/env/file, and the read/write decisions (401 vs 403).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "fixtures/jwt/mint.h"
#include "testutil.h"

#define SECRET "an-hs256-test-secret-of-32-bytes"
#define NOW 1740787200L

static struct auth *make_auth(enum auth_read_policy read, const char *write_scope,
                              const char *secret_spec)
{
    struct auth_issuer_config issuers[2] = {
        {.issuer = "lms", .audiences = {"catalogd"}, .n_audiences = 1, .hs256_secret = secret_spec},
        {.issuer = "rsa-lms", .audiences = {"catalogd", "x"}, .n_audiences = 2},
    };
    char jwks[4096];
    snprintf(jwks, sizeof jwks, "%s", fixture("jwks.json"));
    issuers[1].jwks_file = jwks;
    struct auth_config config = {
        .issuers = issuers,
        .n_issuers = 2,
        .leeway = 30,
        .read = read,
        .read_scope = "catalog:read",
        .write_scope = write_scope,
    };
    struct auth *a;
    struct error err;
    ck_assert_msg(auth_new(&config, &a, &err) == 0, "%s", err.message);
    return a;
}

static char *token(const char *claims_extra)
{
    char payload[1024];
    snprintf(payload, sizeof payload, "{\"iss\":\"lms\",\"aud\":\"catalogd\",\"exp\":%ld%s}",
             NOW + 300, claims_extra);
    return mint("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, "HS256", SECRET, strlen(SECRET));
}

static int authenticate(struct auth *a, const char *fmt, const char *tok, struct auth_identity *id,
                        struct error *err)
{
    char header[8192];
    snprintf(header, sizeof header, fmt, tok);
    error_clear(err);
    return auth_authenticate(a, header, NOW, id, err);
}

START_TEST(header_forms)
{
    struct auth *a = make_auth(AUTH_READ_PUBLIC, "catalog:write", SECRET);
    char *t = token(", \"sub\": \"svc\"");
    struct auth_identity id;
    struct error err;
    const char *good[] = {"JWT %s", "Bearer %s", "bearer   %s", "jwt %s  ", "  JWT\t%s"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(authenticate(a, good[i], t, &id, &err) == 0, "%s: %s", good[i], err.message);
        ck_assert(id.caller.authenticated);
        ck_assert_str_eq(id.caller.subject, "svc");
    }
    struct {
        const char *fmt, *reason;
    } bad[] = {
        {"Basic %s", "unsupported authorization scheme"},
        {"Token %s", "unsupported authorization scheme"},
        {"JWT", "malformed"},
        {"Bearer ", "malformed"},
        {"JWT %s extra", "malformed"},
        {"Bearer 2YotnFZFEjr1zCsicMWpAA%.0s", "opaque OAuth access tokens are not supported"},
        {"JWT 2YotnFZFEjr1zCsicMWpAA%.0s", "three"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(authenticate(a, bad[i].fmt, t, &id, &err), -1);
        ck_assert_int_eq(err.code, ERR_UNAUTHORIZED);
        ck_assert_msg(strstr(err.message, bad[i].reason) != NULL, "%s: %s", bad[i].fmt,
                      err.message);
        ck_assert(!id.caller.authenticated);
    }
    /* No header, or an empty one: anonymous, not an error. */
    ck_assert_int_eq(auth_authenticate(a, NULL, NOW, &id, &err), 0);
    ck_assert(!id.caller.authenticated);
    ck_assert_int_eq(auth_authenticate(a, "  ", NOW, &id, &err), 0);
    ck_assert(!id.caller.authenticated);
    /* An expired token is a 401 with the JWT reason. */
    ck_assert_int_eq(auth_authenticate(a, "JWT x", NOW, &id, &err), -1);
    char header[4096];
    snprintf(header, sizeof header, "JWT %s", t);
    ck_assert_int_eq(auth_authenticate(a, header, NOW + 400, &id, &err), -1);
    ck_assert_str_eq(err.message, "token expired");
    ck_assert(!id.caller.authenticated);
    free(t);
    auth_free(a);
}
END_TEST

START_TEST(identity_claims)
{
    struct auth *a = make_auth(AUTH_READ_PUBLIC, "catalog:write", SECRET);
    struct auth_identity id;
    struct error err;
    struct {
        const char *extra;
        int rc;
        bool staff;
        unsigned scopes;
        const char *subject;
    } cases[] = {
        {", \"sub\":\"u1\"", 0, false, 0, "u1"},
        {", \"sub\":\"u1\", \"administrator\": true", 0, true, 0, "u1"},
        {", \"sub\":\"u1\", \"administrator\": \"true\"", 0, false, 0, "u1"},
        {", \"preferred_username\":\"edx\"", 0, false, 0, "edx"},
        {", \"sub\":\"u\", \"scopes\":[\"catalog:read\",\"email\"]", 0, false, AUTH_SCOPE_READ,
         "u"},
        {", \"sub\":\"u\", \"scopes\":\"email catalog:write  catalog:read\"", 0, false,
         AUTH_SCOPE_READ | AUTH_SCOPE_WRITE, "u"},
        {", \"sub\":\"u\", \"scopes\":\"catalog:writer\"", 0, false, 0, "u"},
        {", \"sub\":\"u\", \"scopes\":[1, \"catalog:write\"]", 0, false, AUTH_SCOPE_WRITE, "u"},
        {", \"sub\":\"u\", \"scopes\":5", -1, false, 0, ""},
        {"", -1, false, 0, ""},
        {", \"sub\":\"\"", -1, false, 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = token(cases[i].extra);
        ck_assert_int_eq(authenticate(a, "JWT %s", t, &id, &err), cases[i].rc);
        ck_assert_int_eq(id.caller.authenticated, cases[i].rc == 0);
        ck_assert_int_eq(id.caller.staff, cases[i].staff);
        ck_assert_uint_eq(id.scopes, cases[i].scopes);
        ck_assert_str_eq(id.caller.subject, cases[i].subject);
        free(t);
    }
    char extra[400];
    snprintf(extra, sizeof extra, ", \"sub\":\"%0200d\"", 7);
    char *t = token(extra);
    ck_assert_int_eq(authenticate(a, "JWT %s", t, &id, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "subject is too long"));
    free(t);
    auth_free(a);
}
END_TEST

START_TEST(rsa_issuer_from_jwks_file)
{
    struct auth *a = make_auth(AUTH_READ_PUBLIC, "catalog:write", SECRET);
    char payload[512];
    snprintf(payload, sizeof payload,
             "{\"iss\":\"rsa-lms\",\"aud\":\"x\",\"sub\":\"s\",\"administrator\":true,"
             "\"exp\":%ld}",
             NOW + 60);
    char *t = mint("{\"alg\":\"RS512\",\"kid\":\"key-b\"}", payload, "RS512", "rsa_b.key.pem", 0);
    struct auth_identity id;
    struct error err;
    ck_assert_msg(authenticate(a, "Bearer %s", t, &id, &err) == 0, "%s", err.message);
    ck_assert(id.caller.staff);
    free(t);
    auth_free(a);
}
END_TEST

START_TEST(decisions)
{
    struct error err;
    struct auth_identity anon = {0};
    struct auth_identity user = {.caller = {.authenticated = true, .subject = "u"}};
    struct auth_identity writer = user;
    writer.scopes = AUTH_SCOPE_WRITE;
    struct auth_identity staff = user;
    staff.caller.staff = true;

    struct auth *a = make_auth(AUTH_READ_PUBLIC, "catalog:write", SECRET);
    ck_assert_int_eq(auth_may_read(a, &anon, &err), 0);
    ck_assert_int_eq(auth_may_read(a, &user, &err), 0);
    ck_assert_int_eq(auth_may_write(a, &anon, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAUTHORIZED);
    ck_assert_int_eq(auth_may_write(a, &user, &err), -1);
    ck_assert_int_eq(err.code, ERR_FORBIDDEN);
    ck_assert_int_eq(auth_may_write(a, &writer, &err), 0);
    ck_assert_int_eq(auth_may_write(a, &staff, &err), 0);
    auth_free(a);

    /* Staff only: the write scope no longer suffices. */
    a = make_auth(AUTH_READ_AUTHENTICATED, "", SECRET);
    ck_assert_int_eq(auth_may_read(a, &anon, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAUTHORIZED);
    ck_assert_int_eq(auth_may_read(a, &user, &err), 0);
    ck_assert_int_eq(auth_may_write(a, &writer, &err), -1);
    ck_assert_int_eq(err.code, ERR_FORBIDDEN);
    ck_assert_int_eq(auth_may_write(a, &staff, &err), 0);
    /* Even a token whose scopes claim names "" gets no scope. */
    char *t = token(", \"sub\":\"u\", \"scopes\":[\"\"]");
    struct auth_identity id;
    ck_assert_int_eq(authenticate(a, "JWT %s", t, &id, &err), 0);
    ck_assert_uint_eq(id.scopes, 0);
    free(t);
    auth_free(a);
}
END_TEST

START_TEST(www_authenticate)
{
    char buf[1024];
    struct error err;
    auth_www_authenticate(NULL, buf, sizeof buf);
    ck_assert_str_eq(buf, "Bearer realm=\"catalogd\"");
    error_set(&err, ERR_UNAUTHORIZED, "authentication credentials were not provided");
    auth_www_authenticate(&err, buf, sizeof buf);
    ck_assert_str_eq(buf, "Bearer realm=\"catalogd\"");
    error_set(&err, ERR_UNAUTHORIZED, "token \"expired\"\n");
    auth_www_authenticate(&err, buf, sizeof buf);
    ck_assert_str_eq(buf, "Bearer realm=\"catalogd\", error=\"invalid_token\", "
                          "error_description=\"token 'expired''\"");
}
END_TEST

START_TEST(secrets_from_env_and_file)
{
    setenv("CATALOGD_TEST_JWT_SECRET", SECRET, 1);
    struct auth *a = make_auth(AUTH_READ_PUBLIC, "catalog:write", "env:CATALOGD_TEST_JWT_SECRET");
    char *t = token(", \"sub\":\"u\"");
    struct auth_identity id;
    struct error err;
    ck_assert_int_eq(authenticate(a, "JWT %s", t, &id, &err), 0);
    auth_free(a);

    char *dir = test_tmpdir();
    char path[4096], spec[4200];
    snprintf(path, sizeof path, "%s/secret", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", SECRET);
    fclose(f);
    snprintf(spec, sizeof spec, "file:%s", path);
    a = make_auth(AUTH_READ_PUBLIC, "catalog:write", spec);
    ck_assert_int_eq(authenticate(a, "JWT %s", t, &id, &err), 0);
    auth_free(a);
    unlink(path);
    free(dir);

    /* A literal secret that differs: the token no longer verifies. */
    a = make_auth(AUTH_READ_PUBLIC, "catalog:write", "a-different-secret-of-32-bytes!!");
    ck_assert_int_eq(authenticate(a, "JWT %s", t, &id, &err), -1);
    ck_assert_str_eq(err.message, "signature invalid");
    auth_free(a);
    free(t);
}
END_TEST

START_TEST(configuration_errors_hide_secrets)
{
    struct error err;
    struct auth *a;
    struct auth_issuer_config ic = {
        .issuer = "lms", .audiences = {"catalogd"}, .n_audiences = 1, .hs256_secret = "tiny"};
    struct auth_config config = {.issuers = &ic, .n_issuers = 1, .leeway = 30};
    ck_assert_int_eq(auth_new(&config, &a, &err), -1);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(err.code, ERR_CONFIG);
    ck_assert_ptr_null(strstr(err.message, "tiny"));

    unsetenv("CATALOGD_TEST_NO_SUCH_VAR");
    ic.hs256_secret = "env:CATALOGD_TEST_NO_SUCH_VAR";
    ck_assert_int_eq(auth_new(&config, &a, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "CATALOGD_TEST_NO_SUCH_VAR"));

    ic.hs256_secret = "file:/nonexistent/secret";
    ck_assert_int_eq(auth_new(&config, &a, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/secret"));

    ic.hs256_secret = NULL;
    ck_assert_int_eq(auth_new(&config, &a, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "no secret, key or JWK set"));

    ic.jwks_file = fixture("rsa_a.pub.pem"); /* not a JWK set */
    ck_assert_int_eq(auth_new(&config, &a, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "rsa_a.pub.pem"));

    ic.jwks_file = NULL;
    ic.rsa_public_key_file = fixture("rsa_a.pub.pem");
    ck_assert_int_eq(auth_new(&config, &a, &err), 0);
    auth_free(a);

    config.leeway = 10000;
    ck_assert_int_eq(auth_new(&config, &a, &err), -1);
    config.leeway = 30;
    config.write_scope = "two words";
    ck_assert_int_eq(auth_new(&config, &a, &err), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");
    tcase_add_test(tc, header_forms);
    tcase_add_test(tc, identity_claims);
    tcase_add_test(tc, rsa_issuer_from_jwks_file);
    tcase_add_test(tc, decisions);
    tcase_add_test(tc, www_authenticate);
    tcase_add_test(tc, secrets_from_env_and_file);
    tcase_add_test(tc, configuration_errors_hide_secrets);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
