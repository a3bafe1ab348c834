/*
 * fts5_internal - what the fts5 driver's files share: the in-memory copy of
 * the hit set (fts5_meta.c), the write path (fts5_write.c) and the query
 * path with open and close (fts5.c).  Not an interface: nothing outside
 * backends/search/fts5*.c includes it.
 */
#ifndef CATALOGD_FTS5_INTERNAL_H
#define CATALOGD_FTS5_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "search.h"

/* ---- the hit set in memory ----
 *
 * Counting over the whole hit set (total, availability, facets) is where a
 * common word's time went: a GROUP BY over about seven text facet rows
 * per hit.  Instead each document's filter fields and facet values (as
 * small integer ids) are kept in memory, sorted by docs.id: a query asks
 * SQLite only for the ids the text matches (a posting-list walk, no row
 * reads) and filters and counts them in one loop.  34 bytes per document
 * (struct meta_entry, its id and length) plus 2 per facet value: ~18 MB
 * for 100k courses (352k documents, 3.1M facet values).
 *
 * The memory copy is reloaded from the tables, lazily at the next query,
 * after this handle writes (index, remove, clear, rebuild) and when
 * another connection has committed (PRAGMA data_version), so several
 * processes on one index file stay correct.  A reload reads docs and
 * facets once (~0.1 s for 50k documents); the page itself is still ranked
 * by SQL (bm25 with the boosts). */

enum {
    M_PUBLIC = 1,
    M_START = 2,             /* start is set */
    M_END = 4,               /* end_ is set */
    M_ENROLLABLE_FROM = 8,   /* enr_start is set */
    M_ENROLLABLE_UNTIL = 16, /* enr_end is set */
    M_SELF_PACED = 32,
    M_DEAD = 64, /* removed since the last full load */
};

struct meta_doc {
    sqlite3_int64 id;
    sqlite3_int64 start, end, enr_start, enr_end;
    uint32_t facet_at; /* first facet id in meta.facets */
    uint16_t n_facets;
    uint8_t content, flags;
};

struct meta_value {
    int field;
    char *text; /* owned */
};

/* A document as the memory copy keeps it: 28 bytes (with its id apart, 4
 * more) instead of meta_doc's 48, since the copy is most of the serving
 * process's memory at 100k courses (docs/search.md).  Dates are seconds
 * from META_EPOCH in an int32 (1931-2068, to the second); a document with
 * a date outside has M_WIDE set and dates[0] indexes meta.wide instead.
 * content_type is not among its facet ids: it is content. */
#define META_EPOCH INT64_C(946684800) /* 2000-01-01T00:00:00Z */
enum { D_START, D_END, D_ENR_START, D_ENR_END };
enum { M_WIDE = 128 }; /* dates in meta.wide[dates[0]] */

struct meta_entry {
    uint32_t facet_at; /* first facet id in meta.facets (or facets32) */
    int32_t dates[4];  /* D_START..D_ENR_END, unset ones 0 (see flags) */
    uint16_t n_facets;
    uint8_t content, flags;
};

struct meta_wide {
    sqlite3_int64 dates[4];
};

struct meta {
    bool loaded;
    sqlite3_int64 data_version;
    /* Documents sorted by id: ids (uint32; ids64 instead, once one does
     * not fit) and entries, same index. */
    uint32_t *ids;
    sqlite3_int64 *ids64;
    struct meta_entry *docs;
    size_t n_docs, cap_docs;
    /* Value ids, doc by doc: uint16 (facets) while every id fits, else
     * uint32 (facets32, once set; facets is then NULL). */
    uint16_t *facets;
    uint32_t *facets32;
    size_t n_facets, cap_facets;
    struct meta_wide *wide; /* dates of M_WIDE entries */
    size_t n_wide, cap_wide;
    struct meta_value *values;
    size_t n_values, cap_values;
    uint32_t *slots; /* open addressing (field, text) -> value id + 1; 0 empty */
    size_t n_slots;
    size_t n_dead, n_garbage; /* dead docs, facet ids no live doc uses */
    /* Each doc's length in tokens over every fts column (what bm25 reads
     * from %_docsize per match), beside docs[] (same index, cap_docs
     * entries): 2 bytes a document. */
    uint16_t *lens;
    size_t cap_lens;
    /* Moves with every change of the copy (load, log applied, marked
     * stale): what is derived from one snapshot is keyed by it. */
    uint64_t generation;
};

/* What one write batch did, applied to the memory copy once it commits
 * (so a batch's own writes cost O(batch), not a reload). */
struct log_op {
    bool add;
    struct meta_doc doc; /* add: facet_at indexes log.facets */
};

struct meta_log {
    struct log_op *ops;
    size_t n_ops, cap_ops;
    uint32_t *facets;
    size_t n_facets, cap_facets;
    bool failed; /* out of memory: reload instead */
};

/* A read connection of the query pool (fts5.c): queries run on these
 * in parallel, each in its own read transaction, while db stays the
 * writer's. */
struct fts5_reader {
    sqlite3 *db;
    bool busy; /* under pool_lock */
};

struct fts5 {
    struct search base;
    sqlite3 *db;
    pthread_mutex_t lock;
    bool rebuilding;      /* inside rebuild_begin: writes join its transaction */
    bool rebuild_journal; /* that rebuild writes through a rollback journal */
    struct meta meta;     /* under lock; see gate */
    /* Queries hold gate shared, the write hooks (wrapped in fts5.c) and a
     * reload of meta hold it exclusive: so meta, which the write path
     * changes in place, is read-only while queries share it. */
    pthread_rwlock_t gate;
    char *path;                  /* the index file; NULL in memory (no pool) */
    int busy_timeout;            /* ms, for the readers */
    struct fts5_reader *readers; /* pool, opened on demand */
    size_t n_readers, max_readers;
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_free;
    /* bm25's IDF of recent phrases (by their MATCH text), valid for
     * meta.generation idf_gen: FTS5 counts a phrase's rows by walking its
     * whole doclist (xQueryPhrase), for every statement that scores it. */
    pthread_mutex_t idf_lock;
    uint64_t idf_gen;
    struct fts5_idf *idf; /* n_idf entries, keys owned */
    size_t n_idf;
};

struct fts5_idf {
    char *key;
    double idf;
};

enum facet_field {
    F_ORGANIZATIONS,
    F_SUBJECTS,
    F_LEVEL_TYPE,
    F_LANGUAGE,
    F_PACING_TYPE,
    F_SEAT_TYPES,
    F_CONTENT_TYPE,
    F_REPORTED, /* fields below are for picks only */
    F_ORG = F_REPORTED,
    F_COUNT
};

/* Sets err from db's last error (ERR_UNAVAILABLE for busy, I/O and the
 * like, else ERR_INTERNAL) naming what failed; returns -1. */
int fts5_db_error(sqlite3 *db, struct error *err, const char *what);
/* Runs sql (one or more statements) on db; -1 with err set on failure. */
int fts5_exec(sqlite3 *db, const char *sql, struct error *err);
/* Grows *buf (of *cap elements of size bytes) to hold need; false when out
 * of memory (then *buf is untouched). */
bool fts5_grow(void **buf, size_t *cap, size_t need, size_t size);

/* ---- the memory copy (fts5_meta.c); all under fx->lock ---- */

/* The id of m->docs[i]. */
static inline sqlite3_int64 fts5_meta_id(const struct meta *m, size_t i)
{
    return m->ids64 == NULL ? (sqlite3_int64)m->ids[i] : m->ids64[i];
}
/* Date which (D_START..) of e, meaningful when its flag is set. */
static inline sqlite3_int64 fts5_meta_date(const struct meta *m, const struct meta_entry *e,
                                           int which)
{
    return (e->flags & M_WIDE) ? m->wide[e->dates[0]].dates[which] : META_EPOCH + e->dates[which];
}
/* Facet value id k of e. */
static inline uint32_t fts5_meta_facet(const struct meta *m, const struct meta_entry *e, uint16_t k)
{
    return m->facets32 == NULL ? m->facets[e->facet_at + k] : m->facets32[e->facet_at + k];
}

void fts5_meta_free(struct meta *m);
/* The id of (field, text), or -1 when no document carries it. */
long fts5_value_find(const struct meta *m, int field, const char *text);
/* Interns (field, text); -1 when out of memory. */
long fts5_value_intern(struct meta *m, int field, const char *text);
/* Makes fx->meta current, inside the caller's read transaction. */
int fts5_meta_refresh(struct fts5 *fx, struct error *err);
/* The index of id in m->docs, or where it would go. */
size_t fts5_meta_find(const struct meta *m, sqlite3_int64 id);
/* Applies a committed batch's log (or marks the copy for a reload). */
void fts5_meta_apply(struct meta *m, const struct meta_log *log);
void fts5_meta_log_free(struct meta_log *log);
/* Marks the memory copy stale after this handle wrote. */
void fts5_meta_stale(struct fts5 *fx);
/* Whether fx->meta is current for what fx->db sees outside a transaction
 * (loaded, and no other connection committed since); -1 with err set when
 * data_version cannot be read.  Called with fx->lock held. */
int fts5_meta_current(struct fts5 *fx, bool *current, struct error *err);

/* ---- ranking (fts5_rank.c) ----
 *
 * catalogd_bm25(fts, ?) scores a match exactly as bm25(fts, weights...)
 * does, with the row's length from the caller (the memory copy) instead
 * of FTS5's %_docsize, and only for rows the caller wants.  The second
 * argument is a struct fts5_rank bound with fts5_rank_bind; the function
 * returns bm25's value (lower is better), or NULL for a row not wanted. */

#define FTS5_RANK_FUNCTION "catalogd_bm25"

struct fts5_rank {
    const double *weights; /* per fts column; columns past n_weights weigh 1 */
    int n_weights;
    /* Whether to score the row id (the rows come in FTS5's order), with
     * *len set to its length in tokens over every column, or left at -1
     * to have FTS5 read it; NULL scores every row. */
    bool (*want)(struct fts5_rank *rank, sqlite3_int64 id, int *len);
    /* The score of a row want took (bm25's value); may be NULL. */
    void (*scored)(struct fts5_rank *rank, double bm25);
    /* Every phrase's IDF taken as 1, saving FTS5's walk of each phrase's
     * whole doclist (xQueryPhrase) per statement: for a caller that can
     * count the phrase's rows itself (a query of one phrase: the rows the
     * MATCH returns) and applies fts5_rank_idf afterwards. */
    bool no_idf;
    sqlite3_int64 n_row; /* set by the function: rows in the table (N) */
    /* Optional: phrase i's IDF known to the caller (of n phrases in the
     * statement), and a computed one handed over; both may be NULL. */
    bool (*idf_get)(struct fts5_rank *rank, int i, int n, double *idf);
    void (*idf_put)(struct fts5_rank *rank, int i, int n, double idf);
};

/* bm25's IDF of a phrase found in n_hit of n_row rows, as the function
 * computes it (log((N - n + 0.5) / (n + 0.5)), at least 1e-6). */
double fts5_rank_idf(sqlite3_int64 n_row, sqlite3_int64 n_hit);

/* Registers catalogd_bm25 on db; -1 with err set when db's FTS5 offers no
 * fts5_api. */
int fts5_rank_register(sqlite3 *db, struct error *err);
/* Binds rank (not copied: it must outlive the statement's steps) as
 * parameter i of st; an SQLite result code. */
int fts5_rank_bind(sqlite3_stmt *st, int i, struct fts5_rank *rank);

/* Row lengths in the memory copy (struct meta.lens): FTS5_LEN_UNKNOWN for
 * a document written since the last load (the write log does not carry
 * lengths) or longer than the type holds: the rank function asks FTS5. */
#define FTS5_LEN_UNKNOWN UINT16_MAX

/* ---- stored hits ----
 *
 * A hit's title, short and full description are the text of the fts
 * table's first three columns; the full description alone is about half of
 * a hit.  So the writer stores a hit with 0 in place of each of these
 * members whose text the fts row holds unchanged (the member keeps its
 * place), and readers put the text back from that row: the docs table and
 * the index file are about a third smaller, and an import writes that much
 * less.  A hit stored whole (by an older catalogd) reads as it is. */

/* The elided members, in the fts table's column order (columns 0-2). */
#define FTS5_HIT_TEXT_MEMBERS 3
extern const char *const fts5_hit_text_members[FTS5_HIT_TEXT_MEMBERS];

/* Reads document id's stored hits on one connection; zero-initialize with
 * db set, fts5_hit_reader_end when done. */
struct fts5_hit_reader {
    sqlite3 *db;
    sqlite3_stmt *text; /* prepared when first needed */
};

/* The hit of document id from its stored text, elided members filled in.
 * Returns a new reference the caller owns, or NULL: err says why
 * (ERR_INTERNAL for text that is not a JSON object). */
json_t *fts5_hit_read(struct fts5_hit_reader *r, sqlite3_int64 id, const char *stored,
                      struct error *err);
void fts5_hit_reader_end(struct fts5_hit_reader *r);

/* ---- the write path (fts5_write.c): the driver's hooks ---- */

int fts5_index(struct search *search, const json_t *docs, struct error *err);
int fts5_remove(struct search *search, enum search_content content, const char *key,
                struct error *err);
int fts5_clear(struct search *search, struct error *err);
int fts5_rebuild_begin(struct search *search, struct error *err);
int fts5_rebuild_end(struct search *search, bool commit, struct error *err);

#endif
