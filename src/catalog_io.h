/*
 * catalog_io - `catalogd import` and `catalogd export`: JSON Lines, one
 * record a line with a "kind" member (docs/import-format.md).
 */
#ifndef CATALOGD_CATALOG_IO_H
#define CATALOGD_CATALOG_IO_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "store.h"

/* Someone who derives data from the records an import writes (a first
 * import's search index: indexer_import_begin and the two after it), handed
 * each record as the store holds it.  Every hook runs on the importing
 * thread inside the import's store transaction (so it may read and write
 * the store through it); a hook that returns -1 (err set) fails the
 * import, which rolls back.  Any hook may be NULL. */
struct import_sink {
    /* Before the first write; total: how many records will be written. */
    int (*begin)(void *ctx, size_t total, struct error *err);
    /* Each record the import writes or finds unchanged, as a read of the
     * store returns it (borrowed: the canonical document put, which the
     * store returns exactly; a pathway read back for the id the store
     * assigns), in write order: organizations, subjects, program types;
     * each course directly followed by the runs of it that the import
     * carries (nested or on their own lines); the runs of courses not in
     * the import; programs; pathways. */
    int (*record)(void *ctx, enum entity_kind kind, const json_t *stored, struct error *err);
    /* After the last write, before the commit. */
    int (*finish)(void *ctx, struct error *err);
    void *ctx;
};

struct import_options {
    bool skip_invalid;              /* write the good lines, report each bad one */
    bool progress;                  /* a progress line on stderr (when it is a terminal) */
    const struct import_sink *sink; /* may be NULL; borrowed */
};

struct import_summary {
    size_t lines;     /* physical lines read, blank and comment lines too */
    size_t written;   /* records created or changed */
    size_t unchanged; /* records already stored exactly so (not rewritten) */
    size_t invalid;   /* bad lines (with skip_invalid; else 0 or the import failed) */
    size_t by_kind[ENTITY_KIND_COUNT]; /* records imported (written or unchanged) */
};

/* Imports from in (name is for messages: "catalog.jsonl" or "-").  All or
 * nothing unless skip_invalid: the first bad line aborts with err holding
 * "FILE:LINE: field: problem" and nothing written.  With skip_invalid each
 * bad line is reported on report (may be NULL) and the rest written. */
int catalog_import(struct store *store, FILE *in, const char *name,
                   const struct import_options *options, FILE *report,
                   struct import_summary *summary, struct error *err);

/* Writes every record in dependency order (organizations, subjects,
 * program types, courses, course runs as their own lines, programs,
 * pathways), each kind in natural key order with sorted fields, so that
 * export -> import -> export is identical.  A pathway's store-assigned id
 * is not exported; its uuid is its identity. */
int catalog_export(struct store *store, FILE *out, struct error *err);

#endif
