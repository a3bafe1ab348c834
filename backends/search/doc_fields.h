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

/* The visibility rule of backends/search.h: a run is public when
 * published and not hidden; a program when active or retired; a course
 * when its status is null or published and it is not hidden. */
bool search_doc_is_public(int content, const char *status, bool hidden);

#endif
