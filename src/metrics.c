/*
 * metrics - request counters, per-route latency histograms and backend
 * error counters, kept in fixed arrays of relaxed atomics: an observation
 * is a handful of atomic adds, with no lock and no allocation.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MIN 100
#define STATUS_MAX 599
#define N_STATUS (STATUS_MAX - STATUS_MIN + 1)

/* Upper bounds in microseconds: 1 ms .. 5 s, Prometheus' usual ladder. */
static const uint64_t bucket_us[] = {1000,   2500,   5000,   10000,   25000,   50000,
                                     100000, 250000, 500000, 1000000, 2500000, 5000000};
static const char *const bucket_label[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                           "0.1",   "0.25",   "0.5",   "1",    "2.5",   "5"};
#define N_BUCKETS (sizeof bucket_us / sizeof bucket_us[0])

static const char *const backend_names[] = {"store", "search", "cache"};
#define N_BACKENDS (sizeof backend_names / sizeof backend_names[0])

struct route_metrics {
    atomic_uint_fast64_t by_status[N_STATUS];
    /* Non-cumulative here (one add per observation); summed when rendered. */
    atomic_uint_fast64_t buckets[N_BUCKETS + 1];
    atomic_uint_fast64_t sum_us;
    atomic_uint_fast64_t count;
};

struct metrics {
    size_t n_routes;
    char **names; /* n_routes + 1; the last is "unmatched" */
    struct route_metrics *routes;
    atomic_uint_fast64_t backend_errors[N_BACKENDS + 1]; /* last: "other" */
};

struct metrics *metrics_new(const char *const *route_names, size_t n_routes)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->n_routes = n_routes;
    m->names = calloc(n_routes + 1, sizeof *m->names);
    m->routes = calloc(n_routes + 1, sizeof *m->routes);
    if (m->names == NULL || m->routes == NULL)
        goto oom;
    for (size_t i = 0; i <= n_routes; i++) {
        const char *name = i < n_routes && route_names[i] != NULL ? route_names[i] : "unmatched";
        if ((m->names[i] = strdup(name)) == NULL)
            goto oom;
        struct route_metrics *r = &m->routes[i];
        for (size_t s = 0; s < N_STATUS; s++)
            atomic_init(&r->by_status[s], 0);
        for (size_t b = 0; b <= N_BUCKETS; b++)
            atomic_init(&r->buckets[b], 0);
        atomic_init(&r->sum_us, 0);
        atomic_init(&r->count, 0);
    }
    for (size_t b = 0; b <= N_BACKENDS; b++)
        atomic_init(&m->backend_errors[b], 0);
    return m;
oom:
    metrics_free(m);
    return NULL;
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    if (m->names != NULL)
        for (size_t i = 0; i <= m->n_routes; i++)
            free(m->names[i]);
    free(m->names);
    free(m->routes);
    free(m);
}

void metrics_observe_request(struct metrics *m, size_t route_index, int status,
                             uint64_t duration_us)
{
    if (m == NULL)
        return;
    if (route_index > m->n_routes)
        route_index = m->n_routes;
    struct route_metrics *r = &m->routes[route_index];
    if (status < STATUS_MIN || status > STATUS_MAX)
        status = 500;
    atomic_fetch_add_explicit(&r->by_status[status - STATUS_MIN], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < N_BUCKETS && duration_us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, duration_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

void metrics_count_backend_error(struct metrics *m, const char *backend)
{
    if (m == NULL)
        return;
    size_t i = 0;
    while (i < N_BACKENDS && (backend == NULL || strcmp(backend, backend_names[i]) != 0))
        i++;
    atomic_fetch_add_explicit(&m->backend_errors[i], 1, memory_order_relaxed);
}

struct buf {
    char *data;
    size_t len, cap;
    bool failed;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n + 1;
        char *grown = realloc(b->data, ncap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = ncap;
    }
}

/* Prometheus label values escape backslash, quote and newline. */
static void buf_label(struct buf *b, const char *value)
{
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\')
            buf_printf(b, "\\\\");
        else if (*p == '"')
            buf_printf(b, "\\\"");
        else if (*p == '\n')
            buf_printf(b, "\\n");
        else
            buf_printf(b, "%c", *p);
    }
}

static uint64_t load(atomic_uint_fast64_t *v)
{
    return (uint64_t)atomic_load_explicit(v, memory_order_relaxed);
}

static void render_requests(struct buf *b, struct metrics *m)
{
    buf_printf(b, "# HELP catalogd_http_requests_total HTTP requests answered, by route and "
                  "status.\n# TYPE catalogd_http_requests_total counter\n");
    for (size_t i = 0; i <= m->n_routes; i++)
        for (size_t s = 0; s < N_STATUS; s++) {
            uint64_t n = load(&m->routes[i].by_status[s]);
            if (n == 0)
                continue;
            buf_printf(b, "catalogd_http_requests_total{route=\"");
            buf_label(b, m->names[i]);
            buf_printf(b, "\",status=\"%zu\"} %llu\n", s + STATUS_MIN, (unsigned long long)n);
        }
}

static void render_durations(struct buf *b, struct metrics *m)
{
    buf_printf(b, "# HELP catalogd_http_request_duration_seconds Time to answer a request, by "
                  "route.\n# TYPE catalogd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->n_routes; i++) {
        struct route_metrics *r = &m->routes[i];
        uint64_t count = load(&r->count);
        if (count == 0)
            continue;
        /* Buckets and count are read separately while others add: the
         * +Inf bucket is the sum of what was read, so the exposition stays
         * self-consistent even if count moved meanwhile. */
        uint64_t cumulative = 0;
        for (size_t k = 0; k <= N_BUCKETS; k++) {
            cumulative += load(&r->buckets[k]);
            buf_printf(b, "catalogd_http_request_duration_seconds_bucket{route=\"");
            buf_label(b, m->names[i]);
            buf_printf(b, "\",le=\"%s\"} %llu\n", k < N_BUCKETS ? bucket_label[k] : "+Inf",
                       (unsigned long long)cumulative);
        }
        uint64_t sum = load(&r->sum_us);
        buf_printf(b, "catalogd_http_request_duration_seconds_sum{route=\"");
        buf_label(b, m->names[i]);
        buf_printf(b, "\"} %llu.%06llu\n", (unsigned long long)(sum / 1000000),
                   (unsigned long long)(sum % 1000000));
        buf_printf(b, "catalogd_http_request_duration_seconds_count{route=\"");
        buf_label(b, m->names[i]);
        buf_printf(b, "\"} %llu\n", (unsigned long long)cumulative);
    }
}

static void render_backends(struct buf *b, struct metrics *m)
{
    buf_printf(b, "# HELP catalogd_backend_errors_total Backend calls that failed, by "
                  "backend.\n# TYPE catalogd_backend_errors_total counter\n");
    for (size_t i = 0; i <= N_BACKENDS; i++)
        buf_printf(b, "catalogd_backend_errors_total{backend=\"%s\"} %llu\n",
                   i < N_BACKENDS ? backend_names[i] : "other",
                   (unsigned long long)load(&m->backend_errors[i]));
}

char *metrics_render(const struct metrics *metrics, const char *extra)
{
    /* Rendering only reads the atomics; the cast drops const for
     * atomic_load, which C11 does not declare on const objects. */
    struct metrics *m = (struct metrics *)metrics;
    struct buf b = {.data = malloc(4096), .cap = 4096};
    if (b.data == NULL)
        return NULL;
    b.data[0] = '\0';
    if (m != NULL) {
        render_requests(&b, m);
        render_durations(&b, m);
        render_backends(&b, m);
    }
    if (extra != NULL)
        buf_printf(&b, "%s", extra);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}
