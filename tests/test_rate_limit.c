/*
 * test_rate_limit - token buckets with an injected clock, classes,
 * eviction bound, threads, and the trusted-proxy client address.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rate_limit.h"
#include "testutil.h"

static double fake_now;

static double fake_clock(void *arg)
{
    (void)arg;
    return fake_now;
}

static struct rate_limiter *limiter(double rate, double burst, size_t max_keys)
{
    struct rl_config c;
    rl_config_defaults(&c);
    c.limits[RL_ANONYMOUS] = (struct rl_limit){rate, burst};
    c.limits[RL_AUTHENTICATED] = (struct rl_limit){rate * 4, burst * 4};
    c.limits[RL_STAFF] = (struct rl_limit){0, 0}; /* unlimited */
    c.max_keys = max_keys;
    c.now = fake_clock;
    struct rate_limiter *rl;
    struct error err;
    ck_assert_int_eq(rate_limiter_memory_new(&c, &rl, &err), 0);
    fake_now = 1000;
    return rl;
}

static struct rl_decision take(struct rate_limiter *rl, const char *key, enum rl_class cls)
{
    struct rl_decision d;
    struct error err;
    ck_assert_int_eq(rate_limiter_check(rl, key, cls, &d, &err), 0);
    return d;
}

START_TEST(burst_then_deny_then_refill)
{
    struct rate_limiter *rl = limiter(0.5, 3, 0);
    for (int i = 0; i < 3; i++) {
        struct rl_decision d = take(rl, "1.2.3.4", RL_ANONYMOUS);
        ck_assert(d.allowed);
        ck_assert_int_eq(d.remaining, 2 - i);
        ck_assert_uint_eq(d.retry_after, 0);
    }
    struct rl_decision d = take(rl, "1.2.3.4", RL_ANONYMOUS);
    ck_assert(!d.allowed);
    ck_assert_uint_eq(d.retry_after, 2); /* one token at 0.5/s */
    /* Another caller is not affected. */
    ck_assert(take(rl, "5.6.7.8", RL_ANONYMOUS).allowed);
    fake_now += 1;
    d = take(rl, "1.2.3.4", RL_ANONYMOUS);
    ck_assert(!d.allowed);
    ck_assert_uint_eq(d.retry_after, 1);
    fake_now += 1;
    ck_assert(take(rl, "1.2.3.4", RL_ANONYMOUS).allowed);
    ck_assert(!take(rl, "1.2.3.4", RL_ANONYMOUS).allowed);
    /* A long pause refills to burst, not beyond. */
    fake_now += 3600;
    for (int i = 0; i < 3; i++)
        ck_assert(take(rl, "1.2.3.4", RL_ANONYMOUS).allowed);
    ck_assert(!take(rl, "1.2.3.4", RL_ANONYMOUS).allowed);
    /* A clock going backwards refills nothing. */
    fake_now -= 100;
    ck_assert(!take(rl, "1.2.3.4", RL_ANONYMOUS).allowed);
    rate_limiter_free(rl);
}
END_TEST

START_TEST(fast_rate_retry_after_is_at_least_one)
{
    struct rate_limiter *rl = limiter(50, 100, 0);
    int allowed = 0;
    for (int i = 0; i < 150; i++)
        allowed += take(rl, "k", RL_ANONYMOUS).allowed;
    ck_assert_int_eq(allowed, 100);
    struct rl_decision d = take(rl, "k", RL_ANONYMOUS);
    ck_assert(!d.allowed);
    ck_assert_uint_eq(d.retry_after, 1);
    fake_now += 0.1; /* 5 tokens */
    allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += take(rl, "k", RL_ANONYMOUS).allowed;
    ck_assert_int_eq(allowed, 5);
    rate_limiter_free(rl);
}
END_TEST

START_TEST(classes)
{
    struct rate_limiter *rl = limiter(1, 2, 0);
    int anon = 0, auth = 0;
    for (int i = 0; i < 20; i++) {
        anon += take(rl, "alice", RL_ANONYMOUS).allowed;
        auth += take(rl, "alice", RL_AUTHENTICATED).allowed;
    }
    ck_assert_int_eq(anon, 2);
    ck_assert_int_eq(auth, 8);
    for (int i = 0; i < 10000; i++) {
        struct rl_decision d = take(rl, "admin", RL_STAFF);
        ck_assert(d.allowed);
        ck_assert_int_eq(d.remaining, -1);
    }
    ck_assert_uint_eq(rl->ops->size(rl), 2); /* staff keeps no bucket */
    struct rl_decision d;
    struct error err;
    ck_assert_int_eq(rate_limiter_check(rl, "x", (enum rl_class)7, &d, &err), -1);
    rate_limiter_free(rl);
}
END_TEST

START_TEST(defaults_are_generous)
{
    struct rl_config c;
    rl_config_defaults(&c);
    ck_assert(c.limits[RL_ANONYMOUS].rate == 50 && c.limits[RL_ANONYMOUS].burst == 100);
    ck_assert(c.limits[RL_AUTHENTICATED].rate == 200 && c.limits[RL_AUTHENTICATED].burst == 400);
    ck_assert(c.limits[RL_STAFF].rate >= 1000);
    struct rate_limiter *rl;
    struct error err;
    ck_assert_int_eq(rate_limiter_memory_new(&c, &rl, &err), 0);
    ck_assert_str_eq(rl->ops->name, "memory");
    ck_assert(take(rl, "k", RL_ANONYMOUS).allowed);
    rate_limiter_free(rl);
}
END_TEST

START_TEST(bad_configuration)
{
    struct rl_config c;
    rl_config_defaults(&c);
    c.limits[RL_AUTHENTICATED].burst = 0.5;
    struct rate_limiter *rl;
    struct error err;
    ck_assert_int_eq(rate_limiter_memory_new(&c, &rl, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "authenticated"));
    rl_config_defaults(&c);
    c.max_keys = 3;
    ck_assert_int_eq(rate_limiter_memory_new(&c, &rl, &err), -1);
}
END_TEST

START_TEST(eviction_is_bounded_and_lru)
{
    struct rate_limiter *rl = limiter(1, 2, 16);
    /* Drain "hot", then keep touching it while many strangers pass. */
    take(rl, "hot", RL_ANONYMOUS);
    take(rl, "hot", RL_ANONYMOUS);
    ck_assert(!take(rl, "hot", RL_ANONYMOUS).allowed);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        take(rl, key, RL_ANONYMOUS);
        ck_assert_uint_le(rl->ops->size(rl), 16);
        if (i % 8 == 0)
            ck_assert(!take(rl, "hot", RL_ANONYMOUS).allowed); /* still tracked */
    }
    ck_assert_uint_eq(rl->ops->size(rl), 16);
    /* The oldest stranger was evicted: it starts again with a full bucket. */
    ck_assert_int_eq(take(rl, "10.0.0.0", RL_ANONYMOUS).remaining, 1);
    rate_limiter_free(rl);
}
END_TEST

START_TEST(long_keys_are_bounded)
{
    struct rate_limiter *rl = limiter(1, 1, 0);
    char big[5000];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert(take(rl, big, RL_ANONYMOUS).allowed);
    ck_assert(!take(rl, big, RL_ANONYMOUS).allowed);
    ck_assert(take(rl, NULL, RL_ANONYMOUS).allowed);
    rate_limiter_free(rl);
}
END_TEST

static pthread_barrier_t start_line;

struct worker {
    struct rate_limiter *rl;
    int id;
    int shared_allowed;
    int own_allowed;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char own[32];
    snprintf(own, sizeof own, "own-%d", w->id);
    /* All start together, so that the shared bucket is contended. */
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < 20000; i++) {
        struct rl_decision d;
        struct error err;
        if (rate_limiter_check(w->rl, "shared", RL_ANONYMOUS, &d, &err) == 0 && d.allowed)
            w->shared_allowed++;
        if (rate_limiter_check(w->rl, own, RL_ANONYMOUS, &d, &err) == 0 && d.allowed)
            w->own_allowed++;
    }
    return NULL;
}

START_TEST(threads_share_buckets_exactly)
{
    /* Clock frozen: exactly burst requests pass in total, whatever the
     * interleaving; a lost update would let more through. */
    struct rate_limiter *rl = limiter(1, 50000, 100000);
    pthread_t threads[8];
    struct worker workers[8];
    pthread_barrier_init(&start_line, NULL, 8);
    for (int i = 0; i < 8; i++) {
        workers[i] = (struct worker){.rl = rl, .id = i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hammer, &workers[i]), 0);
    }
    int shared = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        shared += workers[i].shared_allowed;
        ck_assert_int_eq(workers[i].own_allowed, 20000);
    }
    pthread_barrier_destroy(&start_line);
    ck_assert_int_eq(shared, 50000);
    ck_assert_uint_eq(rl->ops->size(rl), 9);
    rate_limiter_free(rl);
}
END_TEST

START_TEST(trusted_proxy_parsing)
{
    struct trusted_proxies *tp;
    struct error err;
    ck_assert_int_eq(trusted_proxies_parse("10.0.0.0/8, 192.168.1.1 2001:db8::/32,::1", &tp, &err),
                     0);
    ck_assert(trusted_proxies_contains(tp, "10.255.0.1"));
    ck_assert(!trusted_proxies_contains(tp, "11.0.0.1"));
    ck_assert(trusted_proxies_contains(tp, "192.168.1.1"));
    ck_assert(!trusted_proxies_contains(tp, "192.168.1.2"));
    ck_assert(trusted_proxies_contains(tp, "2001:db8:ffff::1"));
    ck_assert(!trusted_proxies_contains(tp, "2001:db9::1"));
    ck_assert(trusted_proxies_contains(tp, "::1"));
    ck_assert(trusted_proxies_contains(tp, "::ffff:10.1.2.3")); /* mapped IPv4 */
    ck_assert(!trusted_proxies_contains(tp, "not an ip"));
    ck_assert(!trusted_proxies_contains(tp, NULL));
    trusted_proxies_free(tp);
    ck_assert_int_eq(trusted_proxies_parse("172.16.0.0/12", &tp, &err), 0);
    ck_assert(trusted_proxies_contains(tp, "172.31.255.255"));
    ck_assert(!trusted_proxies_contains(tp, "172.32.0.0"));
    trusted_proxies_free(tp);
    ck_assert_int_eq(trusted_proxies_parse("", &tp, &err), 0);
    ck_assert(!trusted_proxies_contains(tp, "127.0.0.1"));
    trusted_proxies_free(tp);
    const char *bad[] = {"10.0.0.0/33", "abc", "10.0.0.0/", "10.0.0.0/x", "::1/129", "10.0.0.0/-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(trusted_proxies_parse(bad[i], &tp, &err) == -1, "accepted %s", bad[i]);
        ck_assert_int_eq(err.code, ERR_CONFIG);
    }
}
END_TEST

START_TEST(client_ip_from_forwarded_for)
{
    struct trusted_proxies *tp;
    struct error err;
    ck_assert_int_eq(trusted_proxies_parse("10.0.0.0/8", &tp, &err), 0);
    struct {
        const char *peer, *xff, *want;
    } cases[] = {
        {"203.0.113.9", "1.2.3.4", "203.0.113.9"}, /* untrusted peer: XFF ignored */
        {"10.0.0.1", NULL, "10.0.0.1"},
        {"10.0.0.1", "1.2.3.4", "1.2.3.4"},
        {"10.0.0.1", "1.2.3.4, 10.0.0.5", "1.2.3.4"},  /* skip trusted hops */
        {"10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"},   /* spoofed left part */
        {"10.0.0.1", "10.0.0.3,10.0.0.2", "10.0.0.3"}, /* all trusted: left-most */
        {"10.0.0.1", "garbage, 10.0.0.2", "10.0.0.2"}, /* stop at junk */
        {"10.0.0.1", "1.2.3.4, junk", "10.0.0.1"},
        {"10.0.0.1", "", "10.0.0.1"},
        {"10.0.0.1", " 2001:db8::7 ", "2001:db8::7"},
        {"::ffff:10.0.0.1", "1.2.3.4", "1.2.3.4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        client_ip_pick(tp, cases[i].peer, cases[i].xff, out, sizeof out);
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "case %zu: got %s", i, out);
    }
    char small[4];
    client_ip_pick(tp, "203.0.113.9", NULL, small, sizeof small);
    ck_assert_str_eq(small, "203");
    trusted_proxies_free(tp);
    char out[64];
    client_ip_pick(NULL, "1.1.1.1", "2.2.2.2", out, sizeof out);
    ck_assert_str_eq(out, "1.1.1.1");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rate_limit");
    TCase *tc = tcase_create("rate_limit");
    tcase_add_test(tc, burst_then_deny_then_refill);
    tcase_add_test(tc, fast_rate_retry_after_is_at_least_one);
    tcase_add_test(tc, classes);
    tcase_add_test(tc, defaults_are_generous);
    tcase_add_test(tc, bad_configuration);
    tcase_add_test(tc, eviction_is_bounded_and_lru);
    tcase_add_test(tc, long_keys_are_bounded);
    tcase_add_test(tc, threads_share_buckets_exactly);
    tcase_add_test(tc, trusted_proxy_parsing);
    tcase_add_test(tc, client_ip_from_forwarded_for);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
