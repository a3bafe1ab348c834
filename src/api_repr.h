/*
 * api_repr - canonical documents (src/entity.h) turned into the API's JSON
 * representations: nested objects resolved, derived values computed at
 * read time, fields hidden from non-staff callers left out.
 *
 * A struct api_repr caches the records that nested objects need, so that a
 * page of courses costs one store call for all their owners, one for all
 * their subjects, and one per course for its runs and its programs, rather
 * than one per nested object.  Use one per request; it is not shared
 * between threads.
 */
#ifndef CATALOGD_API_REPR_H
#define CATALOGD_API_REPR_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "entity.h"
#include "error.h"
#include "store.h"

struct api_repr {
    struct store *store;
    bool staff; /* sees unpublished and hidden runs, every program */
    time_t now;
    /* Caches, natural key -> canonical doc (or, for runs and programs,
     * course key -> array of the visible docs). */
    json_t *orgs, *subjects, *program_types, *courses, *programs;
    json_t *runs_by_course, *programs_by_course;
};

/* Sets up an empty context.  Returns -1 (ERR_INTERNAL) when out of memory;
 * api_repr_free is safe either way. */
int api_repr_init(struct api_repr *r, struct store *store, bool staff, time_t now,
                  struct error *err);
void api_repr_free(struct api_repr *r);

/* Fetches, in as few store calls as the store interface allows, what the
 * representations of docs (an array of canonical docs of kind) will nest.
 * Optional: the builders below fetch whatever is missing themselves. */
int api_repr_prefetch(struct api_repr *r, enum entity_kind kind, const json_t *docs,
                      struct error *err);

/* True when a non-staff caller may see doc (runs: published and not
 * hidden; programs: active or retired; everything else: always). */
bool api_repr_visible(const struct api_repr *r, enum entity_kind kind, const json_t *doc);

/* The representation of one canonical doc of kind; detail selects the
 * detail shape (programs add overview, languages, price_ranges ...).
 * Returns a new reference (caller owns), or NULL with err set when a store
 * call fails. */
json_t *api_repr_build(struct api_repr *r, enum entity_kind kind, const json_t *doc, bool detail,
                       struct error *err);

#endif
