/*
 * search - the interface to the search index (fts5, pgfts, xapian).
 *
 * The index is derived from the store: documents are flattened from
 * canonical records by core code (one per course, course run and program)
 * and written by natural key; the indexer keeps it in step with the
 * store's outbox.  Queries arrive as a parsed tree (never user text), so
 * every driver translates the same tree into its own language.
 *
 * Declared here so that every driver is written to one shape; the drivers
 * come with the search work (issue "Express mode, part 2").
 */
#ifndef CATALOGD_SEARCH_H
#define CATALOGD_SEARCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "error.h"

struct search {
    const struct search_driver *driver;
};

enum search_content { SEARCH_COURSE, SEARCH_COURSE_RUN, SEARCH_PROGRAM, SEARCH_CONTENT_COUNT };

enum search_node_type {
    SEARCH_TERM,   /* a word; prefix when node.prefix */
    SEARCH_PHRASE, /* words in order */
    SEARCH_AND,
    SEARCH_OR,
    SEARCH_NOT, /* one child */
    SEARCH_ALL, /* matches every document (a query of negations only) */
};

/* A node of the query tree; field is NULL for any text field, else one of
 * "title", "org", "key", "subject". */
struct search_node {
    enum search_node_type type;
    const char *field;
    const char *text; /* TERM: one folded word; PHRASE: folded words */
    bool prefix;
    struct search_node **children;
    size_t n_children;
};

struct search_facet_pick {
    const char *field; /* "organizations", "subjects", "level_type", ... */
    const char *value;
};

struct search_request {
    const struct search_node *query; /* NULL: everything */
    unsigned content_mask;           /* 1u << enum search_content */
    const struct search_facet_pick *picks;
    size_t n_picks;
    const char *availability; /* "current", "starting_soon", "upcoming",
                                 "archived" or NULL */
    time_t start_gte, start_lte; /* 0: unbounded */
    bool public_only;
    time_t now;
    bool want_facets;
    size_t offset, limit;
};

struct search_result {
    json_t *hits;   /* array of {content_type, key, score, doc}; caller-owned */
    size_t total;
    json_t *facets; /* {field: {value: count}}, {"availability_*": n} */
};

struct search_driver {
    const char *name;
    const char *description;
    int (*open)(const struct config *config, struct search **out, struct error *err);
    void (*close)(struct search *search);
    /* Writes documents (an array of flattened docs, each with content_type
     * and key) in one batch, replacing any with the same key. */
    int (*index)(struct search *search, const json_t *docs, struct error *err);
    int (*remove)(struct search *search, enum search_content content, const char *key,
                  struct error *err);
    int (*query)(struct search *search, const struct search_request *request,
                 struct search_result *result, struct error *err);
    /* Typeahead: up to limit titles per content type starting with prefix. */
    int (*suggest)(struct search *search, const char *prefix, size_t limit, bool public_only,
                   json_t **out, struct error *err);
    int (*clear)(struct search *search, struct error *err);
    int (*count)(struct search *search, size_t *out, struct error *err);
    int (*health)(struct search *search, struct error *err);
};

#endif
