/*
 * search_micro - in-process latency of one search driver, without HTTP, so
 * that a change to a driver's query path can be measured on its own.
 *
 *   search_micro INDEX NOW ROUNDS QUERY...
 *
 * Opens the fts5 driver on the index file INDEX (as catalogd import left
 * it: search.path=INDEX), then for each QUERY (q syntax) runs ROUNDS times
 * the request the search API makes for an anonymous caller (public only,
 * top 20, relevance), once without and once with facets, then the same
 * through keys_only (what q on the lists asks for, up to 10,000 keys).  A
 * QUERY starting with "~" is a typeahead prefix instead (limit 10).  NOW
 * (ISO 8601) fixes the clock for availability and boosts.  Prints one line
 * per case: p50 and mean milliseconds and the total.  SEARCH_MICRO_MODES
 * (e.g. "facets", or "search,keys_only") runs only those cases: a query's
 * later cases reuse what its first one left (the IDF cache), so a mix of
 * distinct queries is measured with one mode.
 *
 * Not part of catalogd: a bench tool (cc ... -lcatalogd_core, see
 * docs/search.md "Performance").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "registry.h"
#include "search.h"
#include "search_query.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *label, const char *q, double *lat, int rounds, size_t total)
{
    double sum = 0;
    for (int i = 0; i < rounds; i++)
        sum += lat[i];
    qsort(lat, (size_t)rounds, sizeof *lat, cmp_double);
    printf("%-10s %-28s p50 %8.2f ms  mean %8.2f ms  total %zu\n", label, q, lat[rounds / 2],
           sum / rounds, total);
}

static int run_query(struct search *s, const char *q, time_t now, int rounds, int mode, double *lat)
{
    static const char *const labels[] = {"search", "facets", "keys_only"};
    struct search_node *tree = NULL;
    struct error err = {0};
    size_t total = 0;
    if (search_query_parse(q, strlen(q), &tree, &err) != 0) {
        fprintf(stderr, "search_micro: %s: %s\n", q, err.message);
        return -1;
    }
    for (int r = 0; r < rounds; r++) {
        struct search_request rq = {
            .query = tree,
            .public_only = true,
            .now = now,
            .want_facets = mode == 1,
            .keys_only = mode == 2,
            .limit = mode == 2 ? 10000 : 20,
        };
        struct search_result res = {0};
        double t0 = now_ms();
        if (s->driver->query(s, &rq, &res, &err) != 0) {
            fprintf(stderr, "search_micro: %s: %s\n", q, err.message);
            search_query_free(tree);
            return -1;
        }
        lat[r] = now_ms() - t0;
        total = res.total;
        search_result_clear(&res);
    }
    search_query_free(tree);
    report(labels[mode], q, lat, rounds, total);
    return 0;
}

static int run_suggest(struct search *s, const char *prefix, int rounds, double *lat)
{
    struct error err = {0};
    size_t n = 0;
    for (int r = 0; r < rounds; r++) {
        json_t *out = NULL;
        double t0 = now_ms();
        if (s->driver->suggest(s, prefix, 10, true, &out, &err) != 0) {
            fprintf(stderr, "search_micro: ~%s: %s\n", prefix, err.message);
            return -1;
        }
        lat[r] = now_ms() - t0;
        n = json_array_size(json_object_get(out, "course")) +
            json_array_size(json_object_get(out, "courserun")) +
            json_array_size(json_object_get(out, "program"));
        json_decref(out);
    }
    report("typeahead", prefix, lat, rounds, n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: search_micro INDEX NOW ROUNDS QUERY...\n");
        return 2;
    }
    time_t now;
    int rounds = atoi(argv[3]);
    if (clock_parse_iso8601(argv[2], &now) != 0 || rounds <= 0) {
        fprintf(stderr, "search_micro: bad NOW or ROUNDS\n");
        return 2;
    }
    char path_set[4200];
    snprintf(path_set, sizeof path_set, "search.path=%s", argv[1]);
    const char *sets[] = {path_set, "search.driver=fts5"};
    struct config_sources src = {.sets = sets, .n_sets = 2};
    struct config *config = NULL;
    struct search *s = NULL;
    struct error err = {0};
    if (config_load(&src, &config, &err) != 0 || search_open(config, &s, &err) != 0 || s == NULL) {
        fprintf(stderr, "search_micro: %s\n", err.message);
        config_free(config);
        return 1;
    }
    double *lat = calloc((size_t)rounds, sizeof *lat);
    int rc = lat ? 0 : 1;
    for (int i = 4; rc == 0 && i < argc; i++) {
        if (argv[i][0] == '~') {
            rc = run_suggest(s, argv[i] + 1, rounds, lat);
            continue;
        }
        static const char *const modes[] = {"search", "facets", "keys_only"};
        const char *only = getenv("SEARCH_MICRO_MODES");
        for (int mode = 0; rc == 0 && mode < 3; mode++)
            if (only == NULL || strstr(only, modes[mode]) != NULL)
                rc = run_query(s, argv[i], now, rounds, mode, lat);
    }
    free(lat);
    search_close(s);
    config_free(config);
    return rc == 0 ? 0 : 1;
}
