/*
 * clock - the one source of "now" for derived values (availability,
 * is_enrollable, active=1).  Tests move it with the clock.now setting
 * (or CATALOGD__CLOCK__NOW) so that the real binary can be tested on both
 * sides of a boundary.
 */
#ifndef CATALOGD_CLOCK_H
#define CATALOGD_CLOCK_H

#include <time.h>

#include "error.h"

/* Fixes now to an ISO 8601 UTC instant ("2025-03-01T00:00:00Z"); NULL or ""
 * returns to the system clock.  Returns -1 (ERR_INVALID) on a bad instant. */
int clock_set_fixed(const char *iso8601, struct error *err);

/* Seconds since the epoch, UTC. */
time_t clock_now(void);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (also "+00:00", or a bare date
 * "YYYY-MM-DD") into *out.  Returns 0, or -1 when the text is not such an
 * instant. */
int clock_parse_iso8601(const char *text, time_t *out);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void clock_format_iso8601(time_t t, char *buf, size_t size);

#endif
