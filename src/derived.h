/*
 * derived - values computed from canonical documents at read time, never
 * stored: a run's availability, is_enrollable, is_marketable, legacy seat
 * type and active flag, and a program's price_ranges.  The rules are
 * course-discovery's (course_metadata/models.py: CourseRun.availability,
 * is_enrollable, is_marketable, type_legacy; Program.price_ranges).
 *
 * "now" is always a parameter: nothing here reads the clock, so a cached
 * or tested value depends only on its inputs.  Docs are canonical
 * (entity_normalize): instants "YYYY-MM-DDTHH:MM:SSZ" or null.
 */
#ifndef CATALOGD_DERIVED_H
#define CATALOGD_DERIVED_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

/* A run whose start is less than this many days ahead is Starting Soon. */
#define DERIVED_STARTING_SOON_DAYS 60

enum availability {
    AVAILABILITY_ARCHIVED,
    AVAILABILITY_CURRENT,
    AVAILABILITY_STARTING_SOON,
    AVAILABILITY_UPCOMING,
};

/* Reads the instant in doc[field].  Returns 0 and sets *out, or -1 when the
 * field is absent, null or not an instant. */
int derived_time(const json_t *doc, const char *field, time_t *out);

/* Archived when end < now; else Current when start <= now; else Starting
 * Soon when now < start < now + 60 days; else Upcoming (also when start is
 * unknown).  start and end may be NULL (unknown). */
enum availability derived_availability_at(const time_t *start, const time_t *end, time_t now);

/* The same from a run doc's start and end. */
enum availability derived_availability(const json_t *run, time_t now);

/* "Archived", "Current", "Starting Soon", "Upcoming" (the API's values);
 * static strings. */
const char *derived_availability_label(enum availability a);

/* "archived", "current", "starting_soon", "upcoming" (search facets and
 * selected_query_facets=availability_<slug>); static strings. */
const char *derived_availability_slug(enum availability a);

/* (enrollment_start unknown or <= now) and (enrollment_end unknown or
 * >= now); the run's end does not matter. */
bool derived_is_enrollable_at(const time_t *enrollment_start, const time_t *enrollment_end,
                              time_t now);
bool derived_is_enrollable(const json_t *run, time_t now);

/* status "published", at least one seat, and a non-empty marketing_url. */
bool derived_is_marketable(const json_t *run);

/* The legacy run type: the first of credit > professional (also
 * no-id-professional) > verified > honor > audit among the run's seats, or
 * NULL when none of those is there.  A static string. */
const char *derived_seat_type(const json_t *run);

/* active=1: (end unknown or end > now) and (enrollment_end unknown or
 * enrollment_end > now), both strictly. */
bool derived_run_is_active(const json_t *run, time_t now);

/* The distinct seat types of a run in order of first appearance.  Returns a
 * new array (caller owns). */
json_t *derived_run_seat_types(const json_t *run);

/* A program's price_ranges, [{currency, min, max, total}] with prices as
 * decimal strings ("149.00"), one entry per currency in order of first
 * appearance:
 *   - the prices are those of the seats of runs (run docs of the program's
 *     courses) and the entitlements of courses (course docs) whose type or
 *     mode is in seat_types (the program type's applicable_seat_types; NULL
 *     means every type);
 *   - total adds, per course and currency, the price of one seat: the seat
 *     of a run that has not ended and whose enrollment opened most
 *     recently (before now) wins over the ones before it, and an
 *     entitlement of the course replaces its seats of the same currency
 *     (course-discovery's Program._get_total_price_by_currency).
 * Every course-discovery run counts, not only a course's canonical run
 * (catalogd has no such field).  Returns a new array (caller owns); an
 * empty one when no price applies. */
json_t *derived_price_ranges(const json_t *seat_types, const json_t *courses, const json_t *runs,
                             time_t now);

#endif
