/*
 * doc_fields - reading a flattened search document (the DOCUMENT of
 * backends/search.h), shared by the search drivers so that fts5, pgfts and
 * later xapian check documents and apply visibility by the same rules.
 * Private to backends/search/.
 */
#ifndef CATALOGD_SEARCH_DOC_FIELDS_H
#define CATALOGD_SEARCH_DOC_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "search.h"
#include "search_query.h"

/* "course", "courserun", "program", indexed by enum search_content. */
extern const char *const search_content_names[SEARCH_CONTENT_COUNT];

/* The enum search_content of a content_type name, or -1 (also for NULL). */
int search_content_of(const char *name);

/* doc[name] as an optional string: absent or null gives *out = NULL; any
 * other type is ERR_INVALID naming "docs[i].name".  *out is borrowed. */
int search_doc_string(const json_t *doc, size_t i, const char *name, const char **out,
                      struct error *err);

/* doc[name] as an optional list of strings (borrowed), likewise. */
int search_doc_strings(const json_t *doc, size_t i, const char *name, const json_t **out,
                       struct error *err);

/* The fields of one document every driver reads, checked once: strings
 * (NULL when absent), lists of strings (NULL when absent), hidden (a
 * boolean or null; NULL when absent) and hit (an object; NULL when absent).
 * Everything is borrowed from the document. */
struct search_doc_view {
    int content; /* enum search_content */
    const char *key, *title, *short_description, *full_description;
    const char *level_type, *language, *pacing_type, *status;
    const json_t *orgs, *organizations, *subjects, *seat_types;
    const json_t *hidden, *hit;
};

/* Reads and checks document i of a batch: content_type known, key
 * non-empty, title present, every field of the right type.  Returns 0, or
 * -1 with ERR_INVALID naming "docs[i].<field>". */
int search_doc_read(const json_t *doc, size_t i, struct search_doc_view *out, struct error *err);

/* Room for a typeahead prefix folded into words (UTF-8 may grow when
 * folded). */
#define SEARCH_SUGGEST_WORDS_SIZE (SEARCH_QUERY_MAX_BYTES * 4 + 1)

/* The start every driver's suggest shares: *out becomes the empty answer
 * {"course": [], "courserun": [], "program": []} (caller-owned), and
 * prefix (NULL is "") is folded into space-separated words in
 * words[SEARCH_SUGGEST_WORDS_SIZE].  Returns the number of words (0: answer
 * with the empty lists), or -1 with *out NULL and ERR_INVALID on "q"
 * (too long, not UTF-8) or ERR_INTERNAL. */
int search_suggest_begin(const char *prefix, char *words, json_t **out, struct error *err);

/* The visibility rule of backends/search.h: a run is public when
 * published and not hidden; a program when active or retired; a course
 * when its status is null or published and it is not hidden. */
bool search_doc_is_public(int content, const char *status, bool hidden);

#endif
