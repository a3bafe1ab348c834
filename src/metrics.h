/*
 * metrics - counters and a latency histogram, rendered as Prometheus text.
 * Updates are lock-free (atomics) so that the hot path stays cheap.
 */
#ifndef CATALOGD_METRICS_H
#define CATALOGD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* A new registry for the given route names (labels); caller-owned
 * (metrics_free).  NULL when out of memory. */
struct metrics *metrics_new(const char *const *route_names, size_t n_routes);
void metrics_free(struct metrics *metrics);

/* route_index is the route's position in the names given to metrics_new,
 * or n_routes for "unmatched". */
void metrics_observe_request(struct metrics *metrics, size_t route_index, int status,
                             uint64_t duration_us);
/* backend: "store", "search" or "cache". */
void metrics_count_backend_error(struct metrics *metrics, const char *backend);

/* Appends the Prometheus text exposition to a malloc'd string (caller
 * frees); extra is appended verbatim (cache stats, ...).  NULL on OOM. */
char *metrics_render(const struct metrics *metrics, const char *extra);

#endif
