/*
 * test_metrics - the Prometheus exposition: request counters by route and
 * status, cumulative histogram buckets, backend errors, and counts that
 * stay exact when many threads observe at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "testutil.h"

static const char *names[] = {"health", "courses_list", "courses_detail"};

static void assert_has(const char *text, const char *line)
{
    ck_assert_msg(strstr(text, line) != NULL, "missing %s in:\n%s", line, text);
}

START_TEST(test_requests_and_histogram)
{
    struct metrics *m = metrics_new(names, 3);
    ck_assert_ptr_nonnull(m);
    metrics_observe_request(m, 1, 200, 500);     /* 0.5 ms  -> le 0.001 */
    metrics_observe_request(m, 1, 200, 1000);    /* 1 ms    -> le 0.001 (inclusive) */
    metrics_observe_request(m, 1, 404, 30000);   /* 30 ms   -> le 0.05 */
    metrics_observe_request(m, 1, 200, 9000000); /* 9 s     -> +Inf only */
    metrics_observe_request(m, 3, 404, 10);      /* unmatched */
    metrics_observe_request(m, 99, 405, 10);     /* out of range: unmatched */
    char *text = metrics_render(m, NULL);
    ck_assert_ptr_nonnull(text);
    assert_has(text, "# TYPE catalogd_http_requests_total counter\n");
    assert_has(text, "catalogd_http_requests_total{route=\"courses_list\",status=\"200\"} 3\n");
    assert_has(text, "catalogd_http_requests_total{route=\"courses_list\",status=\"404\"} 1\n");
    assert_has(text, "catalogd_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n");
    assert_has(text, "catalogd_http_requests_total{route=\"unmatched\",status=\"405\"} 1\n");
    ck_assert_ptr_null(strstr(text, "route=\"health\""));
    assert_has(text, "# TYPE catalogd_http_request_duration_seconds histogram\n");
    const char *p = "catalogd_http_request_duration_seconds_bucket{route=\"courses_list\",le=";
    char line[256];
    static const struct {
        const char *le;
        int n;
    } expect[] = {{"0.001", 2}, {"0.0025", 2}, {"0.025", 2}, {"0.05", 3}, {"5", 3}, {"+Inf", 4}};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        snprintf(line, sizeof line, "%s\"%s\"} %d\n", p, expect[i].le, expect[i].n);
        assert_has(text, line);
    }
    assert_has(text,
               "catalogd_http_request_duration_seconds_sum{route=\"courses_list\"} 9.031500\n");
    assert_has(text, "catalogd_http_request_duration_seconds_count{route=\"courses_list\"} 4\n");
    free(text);
    metrics_free(m);
}
END_TEST

START_TEST(test_backend_errors_and_extra)
{
    struct metrics *m = metrics_new(names, 3);
    metrics_count_backend_error(m, "store");
    metrics_count_backend_error(m, "store");
    metrics_count_backend_error(m, "cache");
    metrics_count_backend_error(m, "weird");
    metrics_count_backend_error(m, NULL);
    char *text = metrics_render(m, "catalogd_cache_hits_total 7\n");
    assert_has(text, "catalogd_backend_errors_total{backend=\"store\"} 2\n");
    assert_has(text, "catalogd_backend_errors_total{backend=\"search\"} 0\n");
    assert_has(text, "catalogd_backend_errors_total{backend=\"cache\"} 1\n");
    assert_has(text, "catalogd_backend_errors_total{backend=\"other\"} 2\n");
    size_t len = strlen(text);
    const char *tail = "catalogd_cache_hits_total 7\n";
    ck_assert_str_eq(text + len - strlen(tail), tail);
    free(text);
    metrics_free(m);
}
END_TEST

START_TEST(test_label_escaping)
{
    const char *odd[] = {"a\"b\\c\nd"};
    struct metrics *m = metrics_new(odd, 1);
    metrics_observe_request(m, 0, 200, 1);
    char *text = metrics_render(m, NULL);
    assert_has(text, "route=\"a\\\"b\\\\c\\nd\"");
    free(text);
    metrics_free(m);
}
END_TEST

START_TEST(test_weird_status)
{
    struct metrics *m = metrics_new(names, 3);
    metrics_observe_request(m, 0, 0, 1);
    metrics_observe_request(m, 0, 1000, 1);
    char *text = metrics_render(m, NULL);
    assert_has(text, "catalogd_http_requests_total{route=\"health\",status=\"500\"} 2\n");
    free(text);
    metrics_free(m);
    /* A NULL registry is ignored rather than crashing. */
    metrics_observe_request(NULL, 0, 200, 1);
    metrics_count_backend_error(NULL, "store");
}
END_TEST

enum { THREADS = 8, PER_THREAD = 20000 };

static void *hammer(void *arg)
{
    struct metrics *m = arg;
    for (int i = 0; i < PER_THREAD; i++)
        metrics_observe_request(m, (size_t)(i % 2), 200, 100);
    return NULL;
}

START_TEST(test_concurrent_counts_exact)
{
    struct metrics *m = metrics_new(names, 3);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, m);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *text = metrics_render(m, NULL);
    char line[128];
    snprintf(line, sizeof line,
             "catalogd_http_requests_total{route=\"health\",status=\"200\"} %d\n",
             THREADS * PER_THREAD / 2);
    assert_has(text, line);
    snprintf(line, sizeof line,
             "catalogd_http_request_duration_seconds_count{route=\"courses_list\"} %d\n",
             THREADS * PER_THREAD / 2);
    assert_has(text, line);
    free(text);
    metrics_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_requests_and_histogram);
    tcase_add_test(tc, test_backend_errors_and_extra);
    tcase_add_test(tc, test_label_escaping);
    tcase_add_test(tc, test_weird_status);
    tcase_add_test(tc, test_concurrent_counts_exact);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
