/*
 * search - the interface to the search index (fts5, pgfts, xapian).
 *
 * The index is derived from the store: documents are flattened from
 * canonical records by core code (one per course, course run and program)
 * and written by natural key; the indexer keeps it in step with the
 * store's outbox.  Queries arrive as a parsed tree (src/search_query.h,
 * never user text), so every driver translates the same tree into its own
 * language and no user text reaches a backend's query syntax unescaped.
 *
 * THE DOCUMENT.  A flattened document is a JSON object:
 *
 *   content_type       "course" | "courserun" | "program"       (required)
 *   key                natural key: course key, run key, program uuid
 *                      (required, non-empty; unique per content_type)
 *   title              string (required)
 *   short_description, full_description       string or null
 *   orgs               ["MITx", ...]  organization keys (org:, typeahead)
 *   organizations      ["MITx: Massachusetts Institute of Technology"]
 *                      facet values "KEY: Name" (org: and typeahead also
 *                      match the name words)
 *   subjects           ["Computer Science", ...] subject names (facet
 *                      values; subject: matches their words)
 *   level_type, language, pacing_type          string or null
 *   seat_types         ["verified", "audit", ...]
 *   start, end, enrollment_start, enrollment_end
 *                      ISO 8601 UTC instants or null; availability and
 *                      boosts are computed from them at query time.  For a
 *                      course, core passes the dates of the run a visitor
 *                      would pick (the current one, else the next upcoming).
 *   status             run: "published" | "unpublished" | ...;
 *                      program: "active" | "retired" | "unpublished" | ...;
 *                      course: "published" or null (null = published)
 *   hidden             bool (default false)
 *   hit                object: the JSON returned for this hit (default:
 *                      the document itself)
 *
 * Visibility (public_only): a course run is public when status is
 * "published" and not hidden; a program when status is "active" or
 * "retired"; a course when status is null or "published" and not hidden.
 * Every driver applies exactly this rule.
 *
 * Availability at `now` (course-discovery's): "archived" when end < now;
 * else "current" when start <= now; else "starting_soon" when start <=
 * now + 60 days; else "upcoming" (also when start is null).
 *
 * Term facet fields: organizations, subjects, level_type, language,
 * pacing_type, seat_types, content_type; picks may also name "org" (an
 * organization key, for the org= filter).
 */
#ifndef CATALOGD_SEARCH_H
#define CATALOGD_SEARCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "error.h"

struct search {
    const struct search_driver *driver;
};

enum search_content { SEARCH_COURSE, SEARCH_COURSE_RUN, SEARCH_PROGRAM, SEARCH_CONTENT_COUNT };

enum search_node_type {
    SEARCH_TERM,   /* one folded word; a prefix when node.prefix */
    SEARCH_PHRASE, /* folded words in order, separated by one space; when
                      prefix, the last word is a prefix */
    SEARCH_AND,
    SEARCH_OR,
    SEARCH_NOT, /* one child; only ever a child of an AND that has at least
                   one child which is not a NOT (the parser guarantees it) */
    SEARCH_ALL, /* matches every document (a query of negations only is
                   AND(ALL, NOT x, ...)) */
};

/* A node of the query tree.  field is NULL for any text field, else one of
 * the static strings "title", "org", "key", "subject".  text holds only
 * the characters a word may contain after folding (lower-case letters and
 * digits, no quotes, no operators): drivers may quote it without escaping
 * but should escape anyway.  Trees come from search_query_parse and are
 * freed with search_query_free. */
struct search_node {
    enum search_node_type type;
    const char *field;
    char *text; /* TERM, PHRASE; NULL otherwise */
    bool prefix;
    struct search_node **children;
    size_t n_children;
};

/* A selected facet value (selected_facets=<field>_exact:<value>) or a
 * field filter (org=, pacing_type=, ...): only documents carrying exactly
 * that value pass.  Several picks all apply (AND). */
struct search_facet_pick {
    const char *field; /* a term facet field (see above) or "org" */
    const char *value;
};

enum search_sort {
    SEARCH_SORT_RELEVANCE = 0, /* score, then title */
    SEARCH_SORT_START,         /* start ascending, nulls last */
    SEARCH_SORT_START_DESC,    /* start descending, nulls last */
    SEARCH_SORT_TITLE,         /* title ascending */
};

struct search_request {
    const struct search_node *query; /* NULL: everything */
    unsigned content_mask;           /* 1u << enum search_content; 0: all */
    const struct search_facet_pick *picks;
    size_t n_picks;
    const char *availability;    /* "current", "starting_soon", "upcoming",
                                    "archived" or NULL; anything else is
                                    ERR_INVALID (field "availability") */
    time_t start_gte, start_lte; /* 0: unbounded; docs without a start
                                    fail a bound */
    bool public_only;
    time_t now;
    bool want_facets;
    enum search_sort sort;
    size_t offset, limit;
    /* Only the keys are wanted (q on the lists): a driver may return hits
     * holding just "content_type" and "key" (no "score", no "doc"), and so
     * skip reading and parsing every hit's JSON.  Order, total and facets
     * are as without it.  Drivers that ignore it return full hits. */
    bool keys_only;
};

/* hits: array of {"content_type", "key", "score" (real, higher is better),
 * "doc" (the document's hit object)} for the requested page.
 * total: number of matching documents (the whole hit set).
 * facets (when want_facets, else NULL):
 *   {"fields": {"<field>": {"<value>": count, ...}, ...},
 *    "queries": {"availability_current": n, "availability_starting_soon": n,
 *                "availability_upcoming": n, "availability_archived": n}}
 * counted over the whole hit set after picks and filters; every term facet
 * field is present (possibly {}), all four queries are present (possibly
 * 0).  Both JSON values are owned by the caller (search_result_clear). */
struct search_result {
    json_t *hits;
    size_t total;
    json_t *facets;
};

/* Releases hits and facets and zeroes the result; safe on a zeroed one. */
static inline void search_result_clear(struct search_result *result)
{
    json_decref(result->hits);
    json_decref(result->facets);
    result->hits = NULL;
    result->facets = NULL;
    result->total = 0;
}

/* Every hook returns 0, or -1 with err filled: ERR_INVALID for a bad
 * document or request, ERR_UNAVAILABLE when the index cannot be reached,
 * ERR_INTERNAL for anything unexpected.  A handle may be used from several
 * threads at once. */
struct search_driver {
    const char *name;
    const char *description;
    /* On success *out is a new handle owned by the caller (close). */
    int (*open)(const struct config *config, struct search **out, struct error *err);
    void (*close)(struct search *search);
    /* Writes documents (an array of flattened docs, see above) in one
     * batch, replacing any with the same content_type and key.  All or
     * nothing: one bad document (ERR_INVALID naming its index) writes none.
     * docs stays owned by the caller. */
    int (*index)(struct search *search, const json_t *docs, struct error *err);
    /* Removes one document; removing an absent one is not an error. */
    int (*remove)(struct search *search, enum search_content content, const char *key,
                  struct error *err);
    /* Fills *result (caller-owned, search_result_clear) for request. */
    int (*query)(struct search *search, const struct search_request *request,
                 struct search_result *result, struct error *err);
    /* Typeahead: prefix is user text, folded into words, each matched as
     * the start of a word of a title, key or organization name (all must
     * match).  *out (caller-owned) is {"course": [...], "courserun": [...],
     * "program": [...]}, each at most limit hit objects, best first.  A
     * prefix without any word gives empty lists. */
    int (*suggest)(struct search *search, const char *prefix, size_t limit, bool public_only,
                   json_t **out, struct error *err);
    int (*clear)(struct search *search, struct error *err);
    int (*count)(struct search *search, size_t *out, struct error *err);
    int (*health)(struct search *search, struct error *err);

    /* The hooks below serve index sync (src/indexer.c); a driver without
     * them cannot run reindex or verify (ERR_UNSUPPORTED). */

    /* The document last indexed under content and key: *out (caller-owned)
     * is its hit object, or NULL when there is none. */
    int (*lookup)(struct search *search, enum search_content content, const char *key, json_t **out,
                  struct error *err);
    /* Every document's search_doc_digest: *out (caller-owned) is
     * {"course": {"<key>": "<16 hex digits>", ...}, "courserun": {...},
     * "program": {...}}. */
    int (*digests)(struct search *search, json_t **out, struct error *err);
    /* A rebuild: after rebuild_begin, the index looks empty to this handle
     * and index/remove on it build a new index that every other reader
     * keeps ignoring (they go on answering from the old one) until
     * rebuild_end(commit = true) switches to it in one step;
     * rebuild_end(false) drops it and keeps the old one. */
    int (*rebuild_begin)(struct search *search, struct error *err);
    int (*rebuild_end)(struct search *search, bool commit, struct error *err);
};

static inline void search_close(struct search *s)
{
    if (s != NULL)
        s->driver->close(s);
}

/* Opens the driver named by [search] driver; *out is NULL (and 0 returned)
 * when it is "none".  *out is owned by the caller (search_close). */
int search_open(const struct config *config, struct search **out, struct error *err);

/* The checksum verify compares: 64-bit FNV-1a of the document's compact
 * JSON with sorted keys, so the same document always gives the same value
 * whichever process or driver computed it.  Drivers store it beside each
 * document at index time.  0 when doc cannot be serialized. */
static inline uint64_t search_doc_digest(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    uint64_t h = UINT64_C(14695981039346656037);
    if (text == NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    free(text);
    return h;
}

#endif
