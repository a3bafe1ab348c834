/*
 * test_jwt - JWT verification: each algorithm, each claim, each attack.
 */
#include <string.h>
#include <time.h>

#include "fixtures/jwt/mint.h"
#include "jwt.h"
#include "testutil.h"

#define SECRET "an-hs256-test-secret-of-32-bytes"
#define NOW 1740787200L /* fixed "now": 2025-03-01 */

static const char *const audiences[] = {"catalogd", "other"};

/* A verifier with issuers "hs" (HS256 SECRET), "rsa" (rsa_a PEM, both RSA
 * algorithms), "jwks" (the JWK set: key-a, key-b) and "rs512" (rsa_b PEM,
 * RS512 only). */
static struct jwt_verifier *verifier(void)
{
    struct error err = {0};
    struct jwt_verifier *v = jwt_verifier_new();
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(jwt_verifier_add_issuer(v, "hs", audiences, 2, &err), 0);
    ck_assert_int_eq(
        jwt_verifier_add_hmac(v, "hs", (const unsigned char *)SECRET, strlen(SECRET), NULL, &err),
        0);
    const char *names[] = {"rsa", "jwks", "rs512"};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(jwt_verifier_add_issuer(v, names[i], audiences, 1, &err), 0);
    size_t len;
    char *pem = fixture_text("rsa_a.pub.pem", &len);
    ck_assert_int_eq(jwt_verifier_add_rsa_pem(v, "rsa", pem, len, JWT_ALG_RSA, NULL, &err), 0);
    free(pem);
    pem = fixture_text("rsa_b.pub.pem", &len);
    ck_assert_int_eq(jwt_verifier_add_rsa_pem(v, "rs512", pem, len, JWT_ALG_RS512, NULL, &err), 0);
    free(pem);
    char *jwks = fixture_text("jwks.json", &len);
    ck_assert_msg(jwt_verifier_add_jwks(v, "jwks", jwks, len, &err) == 2, "%s", err.message);
    free(jwks);
    return v;
}

static char *payload(const char *iss, long exp_offset, const char *extra)
{
    static char buf[16384];
    snprintf(buf, sizeof buf,
             "{\"iss\": \"%s\", \"aud\": \"catalogd\", \"sub\": \"svc\", "
             "\"exp\": %ld%s}",
             iss, NOW + exp_offset, extra ? extra : "");
    return buf;
}

/* Verifies token at NOW; returns 0 or -1 with the reason in *reason. */
static int check(const char *token, struct error *err)
{
    struct jwt_verifier *v = verifier();
    json_t *claims = NULL;
    error_clear(err);
    int rc = jwt_verify(v, token, strlen(token), NOW, &claims, err);
    if (rc == 0) {
        ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "svc");
        json_decref(claims);
    } else {
        ck_assert_ptr_null(claims);
        ck_assert_int_eq(err->code, ERR_UNAUTHORIZED);
        /* Reasons never echo the token or the secret. */
        ck_assert_ptr_null(strstr(err->message, SECRET));
        ck_assert(strlen(token) < 20 || strstr(err->message, token) == NULL);
    }
    jwt_verifier_free(v);
    return rc;
}

static void expect_fail(const char *token, const char *reason)
{
    struct error err;
    ck_assert_int_eq(check(token, &err), -1);
    ck_assert_msg(strstr(err.message, reason) != NULL, "wanted \"%s\", got \"%s\"", reason,
                  err.message);
}

static void expect_ok(const char *token)
{
    struct error err;
    ck_assert_msg(check(token, &err) == 0, "rejected: %s", err.message);
}

START_TEST(base64url_strict)
{
    unsigned char out[64];
    ck_assert_int_eq(jwt_base64url_decode("", 0, out, sizeof out), 0);
    ck_assert_int_eq(jwt_base64url_decode("Zm9v", 4, out, sizeof out), 3);
    ck_assert_int_eq(memcmp(out, "foo", 3), 0);
    ck_assert_int_eq(jwt_base64url_decode("Zm8", 3, out, sizeof out), 2);
    ck_assert_int_eq(jwt_base64url_decode("-_8", 3, out, sizeof out), 2);
    ck_assert_int_eq(out[0], 0xfb);
    ck_assert_int_eq(out[1], 0xff);
    ck_assert_int_eq(jwt_base64url_decode("Zm8=", 4, out, sizeof out), -1);  /* padding */
    ck_assert_int_eq(jwt_base64url_decode("+/8", 3, out, sizeof out), -1);   /* not url */
    ck_assert_int_eq(jwt_base64url_decode("Zm9vY", 5, out, sizeof out), -1); /* length */
    ck_assert_int_eq(jwt_base64url_decode("Zm9", 3, out, sizeof out), -1);   /* stray bits */
    ck_assert_int_eq(jwt_base64url_decode("Zm 9", 4, out, sizeof out), -1);
    ck_assert_int_eq(jwt_base64url_decode("Zm9vZm9v", 8, out, 5), -1); /* too small */
    char enc[16];
    ck_assert_int_eq(jwt_base64url_encode((const unsigned char *)"\xfb\xff", 2, enc, sizeof enc),
                     3);
    ck_assert_str_eq(enc, "-_8");
}
END_TEST

START_TEST(valid_hs256_rs256_rs512)
{
    const char *hdr256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *t = mint(hdr256, payload("hs", 600, NULL), "HS256", SECRET, strlen(SECRET));
    expect_ok(t);
    free(t);
    t = mint("{\"alg\":\"RS256\"}", payload("rsa", 600, NULL), "RS256", "rsa_a.key.pem", 0);
    expect_ok(t);
    free(t);
    t = mint("{\"alg\":\"RS512\"}", payload("rsa", 600, NULL), "RS512", "rsa_a.key.pem", 0);
    expect_ok(t);
    free(t);
    t = mint("{\"alg\":\"RS512\"}", payload("rs512", 600, NULL), "RS512", "rsa_b.key.pem", 0);
    expect_ok(t);
    free(t);
    /* aud as a list with one accepted entry; nbf in the past. */
    t = mint(hdr256,
             "{\"iss\":\"hs\",\"aud\":[\"x\",\"other\"],\"sub\":\"svc\",\"exp\":1740787800,"
             "\"nbf\":1740787000}",
             "HS256", SECRET, strlen(SECRET));
    expect_ok(t);
    free(t);
}
END_TEST

START_TEST(pkcs1_pem_loads)
{
    struct error err;
    struct jwt_verifier *v = jwt_verifier_new();
    ck_assert_int_eq(jwt_verifier_add_issuer(v, "p", audiences, 1, &err), 0);
    size_t len;
    char *pem = fixture_text("rsa_a.pkcs1.pem", &len);
    ck_assert_int_eq(jwt_verifier_add_rsa_pem(v, "p", pem, len, JWT_ALG_RS256, "k", &err), 0);
    free(pem);
    char *t = mint("{\"alg\":\"RS256\",\"kid\":\"k\"}", payload("p", 60, NULL), "RS256",
                   "rsa_a.key.pem", 0);
    json_t *claims;
    ck_assert_int_eq(jwt_verify(v, t, strlen(t), NOW, &claims, &err), 0);
    json_decref(claims);
    free(t);
    jwt_verifier_free(v);
}
END_TEST

START_TEST(time_claims_and_leeway)
{
    const char *h = "{\"alg\":\"HS256\"}";
    /* raw payload, or payload("hs", exp, extra) when raw is NULL. */
    struct {
        long exp;
        const char *extra;
        const char *raw;
        const char *reason; /* NULL: valid */
    } cases[] = {
        {-31, NULL, NULL, "token expired"},
        {-30, NULL, NULL, "token expired"}, /* exp + leeway == now */
        {-29, NULL, NULL, NULL},
        {60, ", \"nbf\": 1740787231", NULL, "not yet valid"},
        {60, ", \"nbf\": 1740787230", NULL, NULL},
        {60, ", \"nbf\": \"soon\"", NULL, "nbf is not a number"},
        {0, NULL, "{\"iss\":\"hs\",\"aud\":\"catalogd\",\"sub\":\"svc\"}", "no expiry"},
        {0, NULL, "{\"iss\":\"hs\",\"aud\":\"catalogd\",\"sub\":\"svc\",\"exp\":\"x\"}",
         "exp is not"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = cases[i].raw ? cases[i].raw : payload("hs", cases[i].exp, cases[i].extra);
        char *t = mint(h, p, "HS256", SECRET, strlen(SECRET));
        if (cases[i].reason == NULL)
            expect_ok(t);
        else
            expect_fail(t, cases[i].reason);
        free(t);
    }
}
END_TEST

START_TEST(leeway_configurable)
{
    struct error err;
    struct jwt_verifier *v = verifier();
    ck_assert_int_eq(jwt_verifier_set_leeway(v, 0, &err), 0);
    ck_assert_int_eq(jwt_verifier_set_leeway(v, -1, &err), -1);
    ck_assert_int_eq(jwt_verifier_set_leeway(v, 601, &err), -1);
    char *t = mint("{\"alg\":\"HS256\"}", payload("hs", -1, NULL), "HS256", SECRET, strlen(SECRET));
    json_t *claims;
    ck_assert_int_eq(jwt_verify(v, t, strlen(t), NOW, &claims, &err), -1);
    ck_assert_str_eq(err.message, "token expired");
    ck_assert_int_eq(jwt_verify(v, t, strlen(t), NOW - 2, &claims, &err), 0);
    json_decref(claims);
    free(t);
    jwt_verifier_free(v);
}
END_TEST

START_TEST(issuer_and_audience)
{
    const char *h = "{\"alg\":\"HS256\"}";
    char *t = mint(h, payload("stranger", 60, NULL), "HS256", SECRET, strlen(SECRET));
    expect_fail(t, "unknown issuer");
    free(t);
    t = mint(h, "{\"aud\":\"catalogd\",\"sub\":\"svc\",\"exp\":1740787800}", "HS256", SECRET,
             strlen(SECRET));
    expect_fail(t, "no issuer");
    free(t);
    t = mint(h, "{\"iss\":\"hs\",\"aud\":\"lms\",\"sub\":\"svc\",\"exp\":1740787800}", "HS256",
             SECRET, strlen(SECRET));
    expect_fail(t, "audience not accepted");
    free(t);
    t = mint(h, "{\"iss\":\"hs\",\"aud\":[\"lms\",7],\"sub\":\"svc\",\"exp\":1740787800}", "HS256",
             SECRET, strlen(SECRET));
    expect_fail(t, "audience not accepted");
    free(t);
    t = mint(h, "{\"iss\":\"hs\",\"sub\":\"svc\",\"exp\":1740787800}", "HS256", SECRET,
             strlen(SECRET));
    expect_fail(t, "no audience");
    free(t);
    /* Token for issuer "rsa" but HMAC'd: issuer's key decides the alg. */
    t = mint(h, payload("rsa", 60, NULL), "HS256", SECRET, strlen(SECRET));
    expect_fail(t, "algorithm not accepted");
    free(t);
}
END_TEST

START_TEST(bad_signatures)
{
    char *t = mint("{\"alg\":\"HS256\"}", payload("hs", 60, NULL), "HS256",
                   "another-secret-of-enough-length!", 32);
    expect_fail(t, "signature invalid");
    free(t);
    /* Flip one signature character of a good RS256 token. */
    t = mint("{\"alg\":\"RS256\"}", payload("rsa", 60, NULL), "RS256", "rsa_a.key.pem", 0);
    char *last = t + strlen(t) - 5;
    *last = *last == 'A' ? 'B' : 'A';
    expect_fail(t, "signature invalid");
    free(t);
    /* Signed by rsa_b but presented for issuer "rsa" (rsa_a). */
    t = mint("{\"alg\":\"RS256\"}", payload("rsa", 60, NULL), "RS256", "rsa_b.key.pem", 0);
    expect_fail(t, "signature invalid");
    free(t);
    /* A payload altered after signing. */
    char *good =
        mint("{\"alg\":\"HS256\"}", payload("hs", 60, NULL), "HS256", SECRET, strlen(SECRET));
    char *forged = mint("{\"alg\":\"HS256\"}", payload("hs", 60, ", \"administrator\": true"),
                        "HS256", SECRET, strlen(SECRET));
    char spliced[4096];
    const char *good_sig = strrchr(good, '.');
    snprintf(spliced, sizeof spliced, "%.*s%s", (int)(strrchr(forged, '.') - forged), forged,
             good_sig);
    expect_fail(spliced, "signature invalid");
    free(good);
    free(forged);
    /* RS512-only key refuses an RS256 token even when its signature is right. */
    t = mint("{\"alg\":\"RS256\"}", payload("rs512", 60, NULL), "RS256", "rsa_b.key.pem", 0);
    expect_fail(t, "algorithm not accepted");
    free(t);
}
END_TEST

START_TEST(alg_none_and_confusion)
{
    char *t = mint("{\"alg\":\"none\"}", payload("hs", 60, NULL), "none", NULL, 0);
    expect_fail(t, "alg none");
    free(t);
    t = mint("{\"alg\":\"NONE\"}", payload("rsa", 60, NULL), "none", NULL, 0);
    expect_fail(t, "alg none");
    free(t);
    t = mint("{\"alg\":\"HS512\"}", payload("hs", 60, NULL), "HS256", SECRET, strlen(SECRET));
    expect_fail(t, "not supported");
    free(t);
    t = mint("{\"typ\":\"JWT\"}", payload("hs", 60, NULL), "HS256", SECRET, strlen(SECRET));
    expect_fail(t, "no alg");
    free(t);
    /* The classic confusion: HS256 keyed with the RSA public key's PEM. */
    const char *issuers[] = {"rsa", "jwks"};
    size_t len;
    char *pem = fixture_text("rsa_a.pub.pem", &len);
    for (int i = 0; i < 2; i++) {
        t = mint("{\"alg\":\"HS256\",\"kid\":\"key-a\"}", payload(issuers[i], 60, NULL), "HS256",
                 pem, len);
        expect_fail(t, "algorithm not accepted");
        free(t);
    }
    free(pem);
    t = mint("{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", payload("hs", 60, NULL), "HS256", SECRET,
             strlen(SECRET));
    expect_fail(t, "crit");
    free(t);
}
END_TEST

START_TEST(jwks_rotation_by_kid)
{
    /* Both published keys verify their own tokens. */
    char *t = mint("{\"alg\":\"RS256\",\"kid\":\"key-a\"}", payload("jwks", 60, NULL), "RS256",
                   "rsa_a.key.pem", 0);
    expect_ok(t);
    free(t);
    t = mint("{\"alg\":\"RS512\",\"kid\":\"key-b\"}", payload("jwks", 60, NULL), "RS512",
             "rsa_b.key.pem", 0);
    expect_ok(t);
    free(t);
    /* No kid: every key of the issuer is tried. */
    t = mint("{\"alg\":\"RS256\"}", payload("jwks", 60, NULL), "RS256", "rsa_b.key.pem", 0);
    expect_ok(t);
    free(t);
    /* A kid nobody published. */
    t = mint("{\"alg\":\"RS256\",\"kid\":\"key-c\"}", payload("jwks", 60, NULL), "RS256",
             "rsa_a.key.pem", 0);
    expect_fail(t, "unknown key id");
    free(t);
    /* The kid names key-a but key-b signed: no fallback to other keys. */
    t = mint("{\"alg\":\"RS256\",\"kid\":\"key-a\"}", payload("jwks", 60, NULL), "RS256",
             "rsa_b.key.pem", 0);
    expect_fail(t, "signature invalid");
    free(t);
    t = mint("{\"alg\":\"RS256\",\"kid\":7}", payload("jwks", 60, NULL), "RS256", "rsa_a.key.pem",
             0);
    expect_fail(t, "kid is not a string");
    free(t);
}
END_TEST

START_TEST(malformed_tokens)
{
    char *good =
        mint("{\"alg\":\"HS256\"}", payload("hs", 60, NULL), "HS256", SECRET, strlen(SECRET));
    char buf[4096];
    expect_fail("", "empty");
    expect_fail("abc", "three");
    expect_fail("a.b", "three");
    expect_fail("a.b.c.d", "three");
    snprintf(buf, sizeof buf, "%s.", good);
    expect_fail(buf, "three");
    /* Padding, and the non-url alphabet, in the header. */
    snprintf(buf, sizeof buf, "eyJhbGciOiJIUzI1NiJ9=%s", strchr(good, '.'));
    expect_fail(buf, "header is not valid base64url");
    snprintf(buf, sizeof buf, "eyJhbGciOiJIUzI1NiJ9%s", strchr(good, '.'));
    buf[3] = '+';
    expect_fail(buf, "header is not valid base64url");
    /* A payload that is base64url but not JSON, or not an object. */
    char *h = b64("{\"alg\":\"HS256\"}", 15);
    char *p = b64("not json", 8);
    snprintf(buf, sizeof buf, "%s.%s.AAAA", h, p);
    expect_fail(buf, "payload is not a JSON object");
    free(p);
    p = b64("[1,2]", 5);
    snprintf(buf, sizeof buf, "%s.%s.AAAA", h, p);
    expect_fail(buf, "payload is not a JSON object");
    free(p);
    p = b64("{\"a\":1} trailing", 16);
    snprintf(buf, sizeof buf, "%s.%s.AAAA", h, p);
    expect_fail(buf, "payload is not a JSON object");
    free(p);
    /* Duplicate keys could hide a second iss: refused. */
    const char *dup = "{\"iss\":\"hs\",\"iss\":\"rsa\"}";
    p = b64(dup, strlen(dup));
    snprintf(buf, sizeof buf, "%s.%s.AAAA", h, p);
    expect_fail(buf, "payload is not a JSON object");
    free(p);
    const char *deep = "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}";
    p = b64(deep, strlen(deep));
    snprintf(buf, sizeof buf, "%s.%s.AAAA", h, p);
    expect_fail(buf, "nests too deeply");
    free(p);
    free(h);
    /* Bad base64 in the signature. */
    snprintf(buf, sizeof buf, "%.*s.!!!!", (int)(strrchr(good, '.') - good), good);
    expect_fail(buf, "signature is not valid base64url");
    free(good);
}
END_TEST

START_TEST(huge_token)
{
    size_t n = JWT_DEFAULT_MAX_LENGTH + 10;
    char *big = malloc(n + 1);
    memset(big, 'A', n);
    big[100] = '.';
    big[200] = '.';
    big[n] = '\0';
    expect_fail(big, "longer than");
    /* A big claim inside the limit is fine if signed (size is not the issue). */
    char *pad = malloc(4000);
    memset(pad, 'x', 3999);
    pad[3999] = '\0';
    char extra[4100];
    snprintf(extra, sizeof extra, ", \"pad\": \"%s\"", pad);
    char *p = strdup(payload("hs", 60, extra));
    char *t = mint("{\"alg\":\"HS256\"}", p, "HS256", SECRET, strlen(SECRET));
    ck_assert_int_lt(strlen(t), JWT_DEFAULT_MAX_LENGTH);
    expect_ok(t);
    free(t);
    free(p);
    free(pad);
    free(big);
}
END_TEST

START_TEST(configuration_errors)
{
    struct error err;
    struct jwt_verifier *v = jwt_verifier_new();
    ck_assert_int_eq(jwt_verifier_add_issuer(v, "", audiences, 1, &err), -1);
    ck_assert_int_eq(jwt_verifier_add_issuer(v, "i", audiences, 0, &err), -1);
    ck_assert_int_eq(jwt_verifier_add_issuer(v, "i", audiences, 1, &err), 0);
    ck_assert_int_eq(jwt_verifier_add_issuer(v, "i", audiences, 1, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFIG);
    /* Short secret: refused, and the message does not echo it. */
    ck_assert_int_eq(
        jwt_verifier_add_hmac(v, "i", (const unsigned char *)"short-pw", 8, NULL, &err), -1);
    ck_assert_ptr_null(strstr(err.message, "short-pw"));
    ck_assert_int_eq(jwt_verifier_add_hmac(v, "nobody", (const unsigned char *)SECRET,
                                           strlen(SECRET), NULL, &err),
                     -1);
    size_t len;
    char *pem = fixture_text("rsa_small.pub.pem", &len);
    ck_assert_int_eq(jwt_verifier_add_rsa_pem(v, "i", pem, len, JWT_ALG_RS256, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "2048"));
    free(pem);
    pem = fixture_text("rsa_a.pub.pem", &len);
    ck_assert_int_eq(jwt_verifier_add_rsa_pem(v, "i", pem, len, JWT_ALG_HS256, NULL, &err), -1);
    ck_assert_int_eq(jwt_verifier_add_rsa_pem(v, "i", "garbage", 7, JWT_ALG_RS256, NULL, &err), -1);
    free(pem);
    const char *bad_sets[] = {
        "not json",
        "{\"keys\": 3}",
        "{\"keys\": []}",
        "{\"keys\": [{\"kty\": \"EC\", \"kid\": \"e\"}]}",
        "{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"x\", \"n\": \"AQAB=\", \"e\": \"AQAB\"}]}",
        "{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"x\", \"n\": \"AQAB\", \"e\": \"AQAB\"}]}",
        "{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"x\", \"e\": \"AQAB\"}]}",
        "{\"keys\": [{\"n\": \"AQAB\", \"e\": \"AQAB\"}]}",
    };
    for (size_t i = 0; i < sizeof bad_sets / sizeof bad_sets[0]; i++) {
        ck_assert_msg(jwt_verifier_add_jwks(v, "i", bad_sets[i], strlen(bad_sets[i]), &err) == -1,
                      "accepted %s", bad_sets[i]);
        ck_assert_int_eq(err.code, ERR_CONFIG);
    }
    jwt_verifier_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("jwt");
    tcase_add_test(tc, base64url_strict);
    tcase_add_test(tc, valid_hs256_rs256_rs512);
    tcase_add_test(tc, pkcs1_pem_loads);
    tcase_add_test(tc, time_claims_and_leeway);
    tcase_add_test(tc, leeway_configurable);
    tcase_add_test(tc, issuer_and_audience);
    tcase_add_test(tc, bad_signatures);
    tcase_add_test(tc, alg_none_and_confusion);
    tcase_add_test(tc, jwks_rotation_by_kid);
    tcase_add_test(tc, malformed_tokens);
    tcase_add_test(tc, huge_token);
    tcase_add_test(tc, configuration_errors);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
