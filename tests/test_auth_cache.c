/*
 * test_auth_cache - verified tokens remembered by the whole header: a hit returns the stored
 * identity, any other byte misses, entries end at exp or after AUTH_CACHE_MAX_AGE, tokens without a
 * readable exp are not kept, the least recently used way of a set goes first, and threads sharing
 * one cache never see another token's identity.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_cache.h"
#include "jwt.h"
#include "testutil.h"

#define NOW 1700000000

/* "JWT <header>.<payload>.<sig>" with payload {"sub": sub, "exp": exp}
 * (exp < 0: no exp).  Writes into buf. */
static const char *header_for(char *buf, size_t size, const char *sub, long long exp,
                              const char *sig)
{
    char payload[256], p64[360];
    if (exp >= 0)
        snprintf(payload, sizeof payload, "{\"sub\":\"%s\",\"exp\":%lld}", sub, exp);
    else
        snprintf(payload, sizeof payload, "{\"sub\":\"%s\"}", sub);
    ck_assert_int_ge(
        jwt_base64url_encode((const unsigned char *)payload, strlen(payload), p64, sizeof p64), 0);
    snprintf(buf, size, "JWT eyJhbGciOiJIUzI1NiJ9.%s.%s", p64, sig);
    return buf;
}

static struct auth_identity identity(const char *sub, bool staff)
{
    struct auth_identity id = {.caller = {.authenticated = true, .staff = staff}};
    snprintf(id.caller.subject, sizeof id.caller.subject, "%s", sub);
    id.scopes = AUTH_SCOPE_WRITE;
    return id;
}

START_TEST(test_hit_and_miss)
{
    struct auth_cache *c = auth_cache_new(64);
    ck_assert_ptr_nonnull(c);
    char a[512], b[512];
    header_for(a, sizeof a, "alice", NOW + 3600, "sigA");
    struct auth_identity out;
    ck_assert(!auth_cache_get(c, a, NOW, &out));
    struct auth_identity alice = identity("alice", true);
    auth_cache_put(c, a, NOW, &alice);
    memset(&out, 0, sizeof out);
    ck_assert(auth_cache_get(c, a, NOW + 1, &out));
    ck_assert_str_eq(out.caller.subject, "alice");
    ck_assert(out.caller.staff && out.caller.authenticated);
    ck_assert_uint_eq(out.scopes, AUTH_SCOPE_WRITE);
    /* Same payload, another signature: another header, a miss. */
    header_for(b, sizeof b, "alice", NOW + 3600, "sigB");
    ck_assert(!auth_cache_get(c, b, NOW + 1, &out));
    /* Another scheme spelling is another header too. */
    memcpy(b, a, strlen(a) + 1);
    b[1] = 'w'; /* "JwT ..." */
    ck_assert(!auth_cache_get(c, b, NOW + 1, &out));
    ck_assert(!auth_cache_get(c, "", NOW, &out));
    ck_assert(!auth_cache_get(c, NULL, NOW, &out));
    ck_assert(!auth_cache_get(NULL, a, NOW, &out));
    auth_cache_free(c);
}
END_TEST

START_TEST(test_lifetime)
{
    struct auth_cache *c = auth_cache_new(64);
    char h[512];
    struct auth_identity id = identity("bob", false), out;
    /* Ends at exp. */
    header_for(h, sizeof h, "bob", NOW + 10, "s1");
    auth_cache_put(c, h, NOW, &id);
    ck_assert(auth_cache_get(c, h, NOW + 9, &out));
    ck_assert(!auth_cache_get(c, h, NOW + 10, &out));
    ck_assert(!auth_cache_get(c, h, NOW + 9, &out)); /* dropped once expired */
    /* Ends after AUTH_CACHE_MAX_AGE however far exp is. */
    header_for(h, sizeof h, "bob", NOW + 86400, "s2");
    auth_cache_put(c, h, NOW, &id);
    ck_assert(auth_cache_get(c, h, NOW + AUTH_CACHE_MAX_AGE - 1, &out));
    ck_assert(!auth_cache_get(c, h, NOW + AUTH_CACHE_MAX_AGE, &out));
    /* Not kept: no exp, already expired, not a JWT. */
    header_for(h, sizeof h, "bob", -1, "s3");
    auth_cache_put(c, h, NOW, &id);
    ck_assert(!auth_cache_get(c, h, NOW, &out));
    header_for(h, sizeof h, "bob", NOW - 1, "s4");
    auth_cache_put(c, h, NOW, &id);
    ck_assert(!auth_cache_get(c, h, NOW - 5, &out));
    auth_cache_put(c, "JWT not-a-jwt", NOW, &id);
    ck_assert(!auth_cache_get(c, "JWT not-a-jwt", NOW, &out));
    /* Longer than AUTH_CACHE_MAX_HEADER: never kept. */
    char *big = malloc(AUTH_CACHE_MAX_HEADER + 600);
    char sig[AUTH_CACHE_MAX_HEADER];
    memset(sig, 's', sizeof sig - 1);
    sig[sizeof sig - 1] = '\0';
    header_for(big, AUTH_CACHE_MAX_HEADER + 600, "bob", NOW + 600, sig);
    ck_assert_uint_gt(strlen(big), AUTH_CACHE_MAX_HEADER);
    auth_cache_put(c, big, NOW, &id);
    ck_assert(!auth_cache_get(c, big, NOW, &out));
    /* Just under it: kept. */
    big[AUTH_CACHE_MAX_HEADER - 1] = '\0';
    auth_cache_put(c, big, NOW, &id);
    ck_assert(auth_cache_get(c, big, NOW, &out));
    free(big);
    auth_cache_free(c);
}
END_TEST

START_TEST(test_token_exp)
{
    char h[512];
    time_t exp = 0;
    ck_assert_int_eq(auth_cache_token_exp(header_for(h, sizeof h, "x", 12345, "s"), &exp), 0);
    ck_assert_int_eq((long long)exp, 12345);
    ck_assert_int_eq(auth_cache_token_exp(header_for(h, sizeof h, "x", -1, "s"), &exp), -1);
    ck_assert_int_eq(auth_cache_token_exp("Bearer a.!!!.c", &exp), -1);
    ck_assert_int_eq(auth_cache_token_exp("Bearer", &exp), -1);
    ck_assert_int_eq(auth_cache_token_exp("", &exp), -1);
    ck_assert_int_eq(auth_cache_token_exp("JWT a.b", &exp), -1);
}
END_TEST

START_TEST(test_lru_within_a_set)
{
    /* One set of four ways: the fifth token evicts the least recently
     * used one. */
    struct auth_cache *c = auth_cache_new(1);
    char h[5][512];
    struct auth_identity out;
    for (int i = 0; i < 4; i++) {
        char sub[8];
        snprintf(sub, sizeof sub, "u%d", i);
        struct auth_identity id = identity(sub, false);
        auth_cache_put(c, header_for(h[i], sizeof h[i], sub, NOW + 600, "s"), NOW, &id);
    }
    ck_assert(auth_cache_get(c, h[0], NOW, &out)); /* u1 is now the oldest */
    struct auth_identity id4 = identity("u4", false);
    auth_cache_put(c, header_for(h[4], sizeof h[4], "u4", NOW + 600, "s"), NOW, &id4);
    ck_assert(auth_cache_get(c, h[0], NOW, &out));
    ck_assert(!auth_cache_get(c, h[1], NOW, &out));
    for (int i = 2; i < 5; i++) {
        ck_assert(auth_cache_get(c, h[i], NOW, &out));
        char sub[8];
        snprintf(sub, sizeof sub, "u%d", i);
        ck_assert_str_eq(out.caller.subject, sub);
    }
    /* Storing a token again updates it in place. */
    struct auth_identity staff = identity("u4", true);
    auth_cache_put(c, h[4], NOW, &staff);
    ck_assert(auth_cache_get(c, h[4], NOW, &out));
    ck_assert(out.caller.staff);
    ck_assert(auth_cache_get(c, h[0], NOW, &out));
    auth_cache_free(c);
}
END_TEST

struct worker {
    struct auth_cache *cache;
    int n;
    int wrong;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char h[512];
    for (int i = 0; i < 4000; i++) {
        char sub[16];
        snprintf(sub, sizeof sub, "user%d", (i * 7 + w->n) % 97);
        header_for(h, sizeof h, sub, NOW + 600, "sig");
        struct auth_identity out;
        if (auth_cache_get(w->cache, h, NOW, &out)) {
            if (strcmp(out.caller.subject, sub) != 0)
                w->wrong++;
        } else {
            struct auth_identity id = identity(sub, false);
            auth_cache_put(w->cache, h, NOW, &id);
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    struct auth_cache *c = auth_cache_new(32); /* smaller than the callers */
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.cache = c, .n = i};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].wrong, 0);
    }
    auth_cache_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth_cache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hit_and_miss);
    tcase_add_test(tc, test_lifetime);
    tcase_add_test(tc, test_token_exp);
    tcase_add_test(tc, test_lru_within_a_set);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
