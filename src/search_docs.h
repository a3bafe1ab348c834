/*
 * search_docs - flattens canonical records (src/entity.h), read through
 * the store, into the search DOCUMENTS of backends/search.h, and works
 * out which documents an outbox change touches.
 *
 * One document per course, course run and program.  A run document
 * carries its course's organizations and subjects; a course document
 * carries the dates and pacing of the run a visitor would pick and the
 * union of its public runs' seat types; a program document carries its
 * type, its authoring organizations and the subjects of its courses.  So
 * a change to one record can change documents of others:
 *   course_run    the run, its course (and the course it was indexed
 *                 under before, when it moved or was deleted)
 *   course        the course, its runs, the programs that contain it
 *   organization  the courses it owns and their runs, the programs it
 *                 authors (their "KEY: Name" facet values change)
 *   subject       the courses that name it, their runs and programs
 *   program_type  its programs
 *   program       the program
 *   pathway       nothing (not searchable)
 * A touched document is rebuilt from the store as it is now: present, it
 * is (re)indexed; absent, it is removed.  Applying the same change twice
 * therefore gives the same index.
 *
 * The "hit" of each document is what the search API returns for it,
 * shaped after course-discovery's search serializers (CourseSearch-,
 * CourseRunSearch-, ProgramSearchSerializer).  Availability is not in it:
 * the API computes it from the dates at query time.
 */
#ifndef CATALOGD_SEARCH_DOCS_H
#define CATALOGD_SEARCH_DOCS_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "entity.h"
#include "error.h"
#include "search.h"
#include "store.h"

/* "course", "courserun", "program" (search.h's content_type values). */
const char *search_docs_content_name(enum search_content content);

/* The search content of a record kind: 0 and *out set for course,
 * course_run and program; -1 for the kinds that have no document. */
int search_docs_content_of(enum entity_kind kind, enum search_content *out);

/* Flattens one record (a canonical document of kind course, course_run or
 * program) into its search document, reading what it names (organizations,
 * subjects, runs, course, program type) from store.  now picks a course's
 * run.  *out is a new document owned by the caller.  ERR_INVALID for a
 * kind without documents; store errors pass through. */
int search_docs_flatten(struct store *store, enum entity_kind kind, const json_t *record,
                        time_t now, json_t **out, struct error *err);

/* As search_docs_flatten, reading what records name through lookups, a
 * JSON object owned by the caller that keeps every record read so that
 * flattening many records reads each organization, subject or course
 * once; json_object_clear it to bound its memory. */
int search_docs_flatten_cached(struct store *store, json_t *lookups, enum entity_kind kind,
                               const json_t *record, time_t now, json_t **out, struct error *err);

/* As search_docs_flatten_cached; *refresh_at (may be NULL) receives when
 * the document must be rebuilt because the clock alone changes it: for a
 * course, the earliest instant after now at which the run a visitor would
 * pick can change (search_docs_refresh_at); 0 for documents that do not
 * depend on the clock. */
int search_docs_flatten_refresh(struct store *store, json_t *lookups, enum entity_kind kind,
                                const json_t *record, time_t now, json_t **out, time_t *refresh_at,
                                struct error *err);

/* As search_docs_flatten_refresh for a course, with the course's runs
 * given (canonical run documents, borrowed, in natural key order as the
 * store lists them) instead of listed from the store: what a caller that
 * has just written them (a first import) already holds.  Organizations
 * and subjects are still read through lookups. */
int search_docs_flatten_course_runs(struct store *store, json_t *lookups, const json_t *course,
                                    const json_t *runs, time_t now, json_t **out,
                                    time_t *refresh_at, struct error *err);

/* Puts record (a reference is taken) into lookups as the record of kind
 * and key, as if it had been read from the store: a caller that holds the
 * records spares the flattening their reads.  -1 when out of memory. */
int search_docs_lookups_put(json_t *lookups, enum entity_kind kind, const char *key,
                            json_t *record);

/* Drops the record of kind and key from lookups (absent is fine). */
void search_docs_lookups_del(json_t *lookups, enum entity_kind kind, const char *key);

/* Of a course's runs (canonical documents), the earliest instant > now at
 * which the pick among its public runs can change: a run's start (it
 * becomes current) or the second after its end (it becomes archived).
 * 0 when there is none: the document is then final until written. */
time_t search_docs_refresh_at(const json_t *runs, time_t now);

/* The documents a batch of changes touches, built up change by change,
 * expanded once (so that a batch naming many organizations or subjects
 * scans the courses once, not once per change), then resolved against
 * the store a slice at a time (so that a bulk import never holds every
 * document in memory at once). */
struct search_docs_plan {
    json_t *targets;  /* {"<content>\t<key>": true}: touched, deduplicated */
    json_t *order;    /* the same names, in the order first touched */
    json_t *families; /* course keys whose runs and programs are touched */
    json_t *orgs;     /* organization keys changed */
    json_t *subjects; /* subject slugs changed */
    json_t *lookups;  /* records already read (organizations, subjects...) */
    /* {"course key": refresh time or 0} for the course documents of the
     * last slice resolved (indexed or removed): what the indexer keeps in
     * the store's search_refresh (store_refresh_set). */
    json_t *refresh;
};

/* Zeroed plans need this before use; returns -1 (ERR_INTERNAL) on OOM. */
int search_docs_plan_init(struct search_docs_plan *plan, struct error *err);
void search_docs_plan_clear(struct search_docs_plan *plan);

/* Adds the documents change touches (see above) to plan.  search (may be
 * NULL) is asked where a run was indexed before, to rebuild the course it
 * left. */
int search_docs_plan_change(struct search_docs_plan *plan, struct store *store,
                            struct search *search, const struct store_change *change,
                            struct error *err);

/* Adds one document by content and key. */
int search_docs_plan_add(struct search_docs_plan *plan, enum search_content content,
                         const char *key, struct error *err);

/* Turns the changed organizations, subjects and course families into
 * documents.  Call once, after the last plan_change. */
int search_docs_plan_expand(struct search_docs_plan *plan, struct store *store, struct error *err);

/* How many documents the plan touches. */
size_t search_docs_plan_size(const struct search_docs_plan *plan);

/* Resolves the touched documents [from, from + max) against the store:
 * *index (caller-owned array) receives the flattened documents of those
 * that exist, *remove (caller-owned array of {"content_type", "key"}) those
 * that do not.  max 0 means all. */
int search_docs_plan_resolve(struct search_docs_plan *plan, struct store *store, time_t now,
                             size_t from, size_t max, json_t **index, json_t **remove,
                             struct error *err);

#endif
