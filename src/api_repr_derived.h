/*
 * api_repr_derived - the values the API computes at read time from a
 * canonical run (and a program's runs), never stored: availability,
 * is_enrollable, is_marketable, the legacy seat-derived type, and a
 * program's price_ranges.  Semantics are course-discovery's (see
 * /work/shared/api-contract.md, "Derived values").
 */
#ifndef CATALOGD_API_REPR_DERIVED_H
#define CATALOGD_API_REPR_DERIVED_H

#include <jansson.h>
#include <time.h>

/* Sets "type", "availability", "is_enrollable" and "is_marketable" in out
 * from the canonical run doc at instant now. */
void api_repr_run_derived(json_t *out, const json_t *run, time_t now);

/* [{currency, min, max, total}] over the seats of runs (canonical docs)
 * whose type is in seat_types (an array of slugs; NULL or empty: any),
 * prices as decimal strings ("149.00"); total adds, per course, the
 * lowest such price.  Returns a new array (caller owns). */
json_t *api_repr_price_ranges(const json_t *runs, const json_t *seat_types);

#endif
