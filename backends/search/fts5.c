/*
 * fts5 - the express search driver: SQLite FTS5 in a sibling file of the
 * store (search.path; when empty store.path + "-search", or ":memory:"
 * when the store is in memory).
 *
 * Tables:
 *   docs    one row per document: natural key, visibility, dates (epoch
 *           seconds, for availability and boosts computed at query time),
 *           title (for sorting), the hit JSON to return and the document's
 *           search_doc_digest (for verify).
 *   fts     FTS5 over title, short_description, full_description, org,
 *           key, subject (rowid = docs.id), tokenized with unicode61
 *           remove_diacritics 2, the folding search_query applies to q.
 *   facets  (doc, field, value) rows, so that facet counts over the whole
 *           hit set are a join and a GROUP BY, never JSON parsed per hit.
 *
 * A query tree becomes one FTS5 MATCH expression in which every word is a
 * quoted string ("word" or "pre"*), so user text cannot inject FTS5 syntax;
 * the parts FTS5 cannot say (a NOT with nothing positive beside it, an OR
 * over a negation) become rowid set operations outside MATCH.
 *
 * Rebuild (reindex): one write transaction on the index file empties the
 * tables and writes every document; WAL readers in other processes keep
 * answering from the snapshot they started with until COMMIT switches
 * them all at once, and a failed rebuild rolls back to the old index.
 * Other writers wait for the lock meanwhile (busy timeout) or fail with
 * ERR_UNAVAILABLE; the indexer's outbox makes them catch up later.
 *
 * This file holds the query path, open and close; the write path is in
 * fts5_write.c and the in-memory copy of the hit set in fts5_meta.c.
 */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "search.h"
#include "doc_fields.h"
#include "search_query.h"
#include "fts5_internal.h"

#define SOON_SECONDS (60 * 24 * 3600)

/* bm25 weights, in fts column order: title above short description above
 * full description; keys, organizations and subjects in between. */
#define BM25_WEIGHTS "10.0, 4.0, 1.0, 3.0, 5.0, 3.0"
/* The same weights for catalogd_bm25 (fts5_rank.c), which must give the
 * same scores as bm25() with BM25_WEIGHTS (run_hits' SQL still uses it). */
static const double bm25_weights[] = {10.0, 4.0, 1.0, 3.0, 5.0, 3.0};

static const char *const facet_names[F_COUNT] = {"organizations", "subjects",    "level_type",
                                                 "language",      "pacing_type", "seat_types",
                                                 "content_type",  "org"};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS docs("
    " id INTEGER PRIMARY KEY, content INTEGER NOT NULL, key TEXT NOT NULL,"
    " public INTEGER NOT NULL, title TEXT NOT NULL, start INTEGER, end_ INTEGER,"
    " enr_start INTEGER, enr_end INTEGER, self_paced INTEGER NOT NULL, hit TEXT NOT NULL,"
    " digest TEXT NOT NULL DEFAULT '', UNIQUE(content, key));"
    "CREATE INDEX IF NOT EXISTS docs_start ON docs(start);"
    /* What the memory copy loads, so a load reads this index instead of
     * every row with its hit JSON (25 ms instead of 0.2-3 s for 175k). */
    "CREATE INDEX IF NOT EXISTS docs_load ON docs(id, content, public, start, end_, enr_start,"
    " enr_end, self_paced);"
    "CREATE TABLE IF NOT EXISTS facets(doc INTEGER NOT NULL, field INTEGER NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY(doc, field, value)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS facets_value ON facets(field, value);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, short_description,"
    " full_description, org, key, subject, tokenize='unicode61 remove_diacritics 2',"
    " prefix='2 3');";

int fts5_db_error(sqlite3 *db, struct error *err, const char *what)
{
    int rc = sqlite3_errcode(db);
    enum error_code code = ERR_INTERNAL;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN ||
        rc == SQLITE_FULL || rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
        code = ERR_UNAVAILABLE;
    return error_set(err, code, "search index (fts5): %s: %s", what, sqlite3_errmsg(db));
}

/* ---- SQL text with parameters ---- */

struct param {
    bool is_text;
    char *text; /* owned */
    sqlite3_int64 num;
    struct fts5_rank *rank; /* bound as catalogd_bm25's context when set */
};

/* The MATCH text of each phrase of an expression, in FTS5's order (the
 * order of the text): keys for the IDF cache. */
struct phrases {
    char **keys; /* n, each owned */
    size_t n;
    bool failed; /* out of memory: no keys to trust */
};

struct sql {
    char *buf;
    size_t len, cap;
    struct param *params;
    size_t n_params, cap_params;
    bool oom;
    struct fts5_rank *rank;  /* FW_IDS_RANK's ranking context (not owned) */
    bool ranked;             /* the text has catalogd_bm25 (words to match) */
    struct phrases *phrases; /* when set, fts_expr records its phrases */
};

static void phrases_add(struct phrases *p, const char *text, size_t len)
{
    char **keys = p->failed ? NULL : realloc(p->keys, (p->n + 1) * sizeof *keys);
    char *key = keys ? strndup(text, len) : NULL;
    if (keys != NULL)
        p->keys = keys;
    if (key == NULL) {
        p->failed = true;
        return;
    }
    p->keys[p->n++] = key;
}

static void phrases_free(struct phrases *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->keys[i]);
    free(p->keys);
    memset(p, 0, sizeof *p);
}

static void sql_add(struct sql *s, const char *text)
{
    size_t n = strlen(text);
    if (s->oom)
        return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = (s->len + n + 1) * 2;
        char *grown = realloc(s->buf, cap);
        if (grown == NULL) {
            s->oom = true;
            return;
        }
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, n + 1);
    s->len += n;
}

static void sql_addf(struct sql *s, const char *fmt, long long v)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, fmt, v);
    sql_add(s, tmp);
}

static struct param *sql_param(struct sql *s)
{
    if (s->oom)
        return NULL;
    if (s->n_params == s->cap_params) {
        size_t cap = s->cap_params ? 2 * s->cap_params : 8;
        struct param *grown = realloc(s->params, cap * sizeof *grown);
        if (grown == NULL) {
            s->oom = true;
            return NULL;
        }
        s->params = grown;
        s->cap_params = cap;
    }
    struct param *p = &s->params[s->n_params++];
    memset(p, 0, sizeof *p);
    return p;
}

/* Appends "?" bound to text; takes ownership of text (which may be NULL
 * after an allocation failure). */
static void sql_text_param(struct sql *s, char *text)
{
    struct param *p = text ? sql_param(s) : NULL;
    if (p == NULL) {
        free(text);
        s->oom = true;
        return;
    }
    p->is_text = true;
    p->text = text;
    sql_add(s, "?");
}

/* Appends "?" bound to rank (see struct fts5_rank). */
static void sql_rank_param(struct sql *s, struct fts5_rank *rank)
{
    struct param *p = sql_param(s);
    if (p == NULL)
        return;
    p->rank = rank;
    s->ranked = true;
    sql_add(s, "?");
}

static void sql_free(struct sql *s)
{
    for (size_t i = 0; i < s->n_params; i++)
        free(s->params[i].text);
    free(s->params);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

static int sql_prepare(sqlite3 *db, const struct sql *s, sqlite3_stmt **st, struct error *err)
{
    if (s->oom)
        return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    if (sqlite3_prepare_v2(db, s->buf, -1, st, NULL) != SQLITE_OK)
        return fts5_db_error(db, err, "prepare");
    for (size_t i = 0; i < s->n_params; i++) {
        const struct param *p = &s->params[i];
        if (p->rank)
            fts5_rank_bind(*st, (int)i + 1, p->rank);
        else if (p->is_text)
            sqlite3_bind_text(*st, (int)i + 1, p->text, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(*st, (int)i + 1, p->num);
    }
    return 0;
}

/* ---- query tree to FTS5 ---- */

static bool expressible(const struct search_node *node);

static bool positive(const struct search_node *node)
{
    return node->type != SEARCH_NOT && node->type != SEARCH_ALL;
}

static bool expressible(const struct search_node *node)
{
    switch (node->type) {
    case SEARCH_TERM:
    case SEARCH_PHRASE:
        return true;
    case SEARCH_OR:
        for (size_t i = 0; i < node->n_children; i++)
            if (!positive(node->children[i]) || !expressible(node->children[i]))
                return false;
        return node->n_children > 0;
    case SEARCH_AND: {
        bool any = false;
        for (size_t i = 0; i < node->n_children; i++) {
            const struct search_node *c = node->children[i];
            if (c->type == SEARCH_NOT) {
                if (!expressible(c->children[0]))
                    return false;
            } else if (c->type == SEARCH_ALL || !expressible(c)) {
                return false;
            } else {
                any = true;
            }
        }
        return any;
    }
    default:
        return false;
    }
}

static const char *column_of(const char *field)
{
    /* The tree's field names are the fts column names but for none. */
    if (field == NULL)
        return NULL;
    if (strcmp(field, "title") == 0 || strcmp(field, "org") == 0 || strcmp(field, "key") == 0 ||
        strcmp(field, "subject") == 0)
        return field;
    return NULL;
}

/* A quoted FTS5 string: any '"' doubled, so text is always one string. */
static void fts_quote(struct sql *s, const char *text)
{
    sql_add(s, "\"");
    for (const char *p = text; *p; p++) {
        char c[2] = {*p, 0};
        sql_add(s, *p == '"' ? "\"\"" : c);
    }
    sql_add(s, "\"");
}

/* Writes the MATCH expression of an expressible node into s (a scratch
 * buffer with no parameters). */
static void fts_expr(struct sql *s, const struct search_node *node)
{
    switch (node->type) {
    case SEARCH_TERM:
    case SEARCH_PHRASE: {
        const char *col = column_of(node->field);
        size_t at = s->len;
        if (col) {
            sql_add(s, "{");
            sql_add(s, col);
            sql_add(s, "} : ");
        }
        fts_quote(s, node->text ? node->text : "");
        if (node->prefix)
            sql_add(s, "*");
        if (s->phrases != NULL && !s->oom)
            phrases_add(s->phrases, s->buf + at, s->len - at);
        return;
    }
    case SEARCH_OR:
        sql_add(s, "(");
        for (size_t i = 0; i < node->n_children; i++) {
            sql_add(s, i ? " OR " : "");
            fts_expr(s, node->children[i]);
        }
        sql_add(s, ")");
        return;
    case SEARCH_AND: {
        size_t n = 0;
        sql_add(s, "((");
        for (size_t i = 0; i < node->n_children; i++)
            if (positive(node->children[i])) {
                sql_add(s, n++ ? " AND " : "");
                fts_expr(s, node->children[i]);
            }
        sql_add(s, ")");
        for (size_t i = 0; i < node->n_children; i++)
            if (node->children[i]->type == SEARCH_NOT) {
                sql_add(s, " NOT ");
                fts_expr(s, node->children[i]->children[0]);
            }
        sql_add(s, ")");
        return;
    }
    default:
        return;
    }
}

static char *fts_expr_text(const struct search_node *node)
{
    struct sql s = {0};
    sql_add(&s, "");
    fts_expr(&s, node);
    if (s.oom) {
        free(s.buf);
        return NULL;
    }
    return s.buf;
}

/* A SELECT of the ids of documents matching node, whatever its shape. */
static void set_sql(struct sql *s, const struct search_node *node)
{
    if (expressible(node)) {
        sql_add(s, "SELECT rowid AS id FROM fts WHERE fts MATCH ");
        sql_text_param(s, fts_expr_text(node));
        return;
    }
    switch (node->type) {
    case SEARCH_AND: {
        size_t n = 0;
        for (size_t i = 0; i < node->n_children; i++)
            if (node->children[i]->type != SEARCH_NOT) {
                sql_add(s, n++ ? " INTERSECT SELECT id FROM (" : "SELECT id FROM (");
                set_sql(s, node->children[i]);
                sql_add(s, ")");
            }
        if (n == 0)
            sql_add(s, "SELECT id FROM docs");
        for (size_t i = 0; i < node->n_children; i++)
            if (node->children[i]->type == SEARCH_NOT) {
                sql_add(s, " EXCEPT SELECT id FROM (");
                set_sql(s, node->children[i]->children[0]);
                sql_add(s, ")");
            }
        return;
    }
    case SEARCH_OR:
        for (size_t i = 0; i < node->n_children; i++) {
            sql_add(s, i ? " UNION SELECT id FROM (" : "SELECT id FROM (");
            set_sql(s, node->children[i]);
            sql_add(s, ")");
        }
        return;
    case SEARCH_NOT:
        sql_add(s, "SELECT id FROM docs EXCEPT SELECT id FROM (");
        set_sql(s, node->children[0]);
        sql_add(s, ")");
        return;
    default: /* ALL */
        sql_add(s, "SELECT id FROM docs");
        return;
    }
}

enum from_mode {
    FW_PAGE,     /* "FROM (...) m JOIN docs d ON d.id = m.id WHERE ..." with
                    m.rank (bm25, lower is better; 0 without words) */
    FW_IDS,      /* a whole "SELECT id, 0.0 ..." of the text part */
    FW_IDS_RANK, /* a whole "SELECT id, catalogd_bm25(fts, s->rank) ..." of
                    the text part: the rank context tallies and scores */
};

/* The hit set of rq in the form mode says.  The FW_IDS forms read no docs
 * row per match (only FTS5's posting lists). */
static int from_where(struct sql *s, const struct search_request *rq, enum from_mode mode,
                      struct error *err)
{
    bool ranked = mode == FW_PAGE;
    const char *idcol = "d.id";
    const struct search_node *root = rq->query;
    const struct search_node *const *kids = &root;
    size_t n_kids = root ? 1 : 0;
    if (root && root->type == SEARCH_AND) {
        kids = (const struct search_node *const *)root->children;
        n_kids = root->n_children;
    }

    /* One MATCH for every part FTS5 can say, so bm25 sees all the words. */
    struct sql expr = {.phrases = mode == FW_IDS_RANK ? s->phrases : NULL};
    size_t n_pos = 0;
    sql_add(&expr, "((");
    for (size_t i = 0; i < n_kids; i++)
        if (positive(kids[i]) && expressible(kids[i])) {
            sql_add(&expr, n_pos++ ? " AND " : "");
            fts_expr(&expr, kids[i]);
        }
    sql_add(&expr, ")");
    for (size_t i = 0; n_pos > 0 && i < n_kids; i++)
        if (kids[i]->type == SEARCH_NOT && expressible(kids[i]->children[0])) {
            sql_add(&expr, " NOT ");
            fts_expr(&expr, kids[i]->children[0]);
        }
    sql_add(&expr, ")");

    if (n_pos > 0 && mode != FW_PAGE) {
        if (mode == FW_IDS_RANK) {
            sql_add(s, "SELECT rowid, " FTS5_RANK_FUNCTION "(fts, ");
            sql_rank_param(s, s->rank);
            sql_add(s, ") FROM fts WHERE fts MATCH ");
        } else {
            sql_add(s, "SELECT rowid, 0.0 FROM fts WHERE fts MATCH ");
        }
        sql_text_param(s, expr.oom ? NULL : expr.buf);
        expr.buf = NULL;
        idcol = "rowid";
    } else if (n_pos > 0) {
        sql_add(s, ranked ? "FROM (SELECT rowid AS id, bm25(fts, " BM25_WEIGHTS
                            ") AS rank FROM fts WHERE fts MATCH "
                          : "FROM (SELECT rowid AS id FROM fts WHERE fts MATCH ");
        sql_text_param(s, expr.oom ? NULL : expr.buf);
        expr.buf = NULL;
        sql_add(s, ") m JOIN docs d ON d.id = m.id WHERE 1");
    } else {
        sql_add(s, ranked ? "FROM (SELECT id, 0.0 AS rank FROM docs) m JOIN docs d ON d.id = m.id"
                            " WHERE 1"
                          : "SELECT d.id, 0.0 FROM docs d WHERE 1");
    }
    sql_free(&expr);

    for (size_t i = 0; i < n_kids; i++) {
        const struct search_node *c = kids[i];
        if (c->type == SEARCH_ALL || (positive(c) && expressible(c)))
            continue;
        if (c->type == SEARCH_NOT) {
            if (n_pos > 0 && expressible(c->children[0]))
                continue;
            sql_add(s, " AND "), sql_add(s, idcol), sql_add(s, " NOT IN (");
            set_sql(s, c->children[0]);
        } else {
            sql_add(s, " AND "), sql_add(s, idcol), sql_add(s, " IN (");
            set_sql(s, c);
        }
        sql_add(s, ")");
    }

    if (rq->content_mask != 0) {
        sql_add(s, " AND d.content IN (-1");
        for (int c = 0; c < SEARCH_CONTENT_COUNT; c++)
            if (rq->content_mask & (1u << c))
                sql_addf(s, ", %lld", c);
        sql_add(s, ")");
    }
    if (rq->public_only)
        sql_add(s, " AND d.public = 1");
    if (rq->start_gte)
        sql_addf(s, " AND d.start >= %lld", (long long)rq->start_gte);
    if (rq->start_lte)
        sql_addf(s, " AND d.start <= %lld", (long long)rq->start_lte);

    long long now = (long long)rq->now, soon = now + SOON_SECONDS;
    if (rq->availability != NULL) {
        const char *a = rq->availability;
        if (strcmp(a, "archived") == 0) {
            sql_addf(s, " AND d.end_ < %lld", now);
        } else {
            sql_addf(s, " AND (d.end_ IS NULL OR d.end_ >= %lld)", now);
            if (strcmp(a, "current") == 0)
                sql_addf(s, " AND d.start <= %lld", now);
            else if (strcmp(a, "starting_soon") == 0)
                sql_addf(s, " AND d.start > %lld", now), sql_addf(s, " AND d.start <= %lld", soon);
            else if (strcmp(a, "upcoming") == 0)
                sql_addf(s, " AND (d.start IS NULL OR d.start > %lld)", soon);
            else
                return error_set_field(err, ERR_INVALID, "availability",
                                       "availability must be current, starting_soon, upcoming "
                                       "or archived, not '%.40s'",
                                       a);
        }
    }
    for (size_t i = 0; i < rq->n_picks; i++) {
        int f = -1;
        for (int k = 0; k < F_COUNT; k++)
            if (rq->picks[i].field && strcmp(rq->picks[i].field, facet_names[k]) == 0)
                f = k;
        if (f < 0 || rq->picks[i].value == NULL)
            return error_set_field(err, ERR_INVALID, "selected_facets",
                                   "unknown facet field '%.40s'",
                                   rq->picks[i].field ? rq->picks[i].field : "");
        sql_addf(s, " AND d.id IN (SELECT doc FROM facets WHERE field = %lld AND value = ", f);
        sql_text_param(s, strdup(rq->picks[i].value));
        sql_add(s, ")");
    }
    return 0;
}

static int run_hits(sqlite3 *db, const struct search_request *rq, json_t *hits, struct error *err)
{
    struct sql s = {0};
    long long now = (long long)rq->now;
    char boost[512];
    /* Boosts worth keeping from course-discovery, computed now: enrollable
     * now, self-paced, starting in the future.  Small, so that they order
     * hits of similar relevance without beating a title match. */
    snprintf(boost, sizeof boost,
             "(1.0 + 0.05 * ((d.enr_start IS NULL OR d.enr_start <= %lld) AND"
             " (d.enr_end IS NULL OR d.enr_end >= %lld)) + 0.05 * d.self_paced"
             " + 0.05 * coalesce(d.start > %lld, 0))",
             now, now, now);
    /* keys_only: the hit JSON is neither read nor parsed. */
    sql_add(&s, rq->keys_only ? "SELECT d.content, d.key, NULL, -m.rank * "
                              : "SELECT d.content, d.key, d.hit, -m.rank * ");
    sql_add(&s, boost);
    sql_add(&s, " AS score, d.id ");
    if (from_where(&s, rq, FW_PAGE, err) != 0) {
        sql_free(&s);
        return -1;
    }
    switch (rq->sort) {
    case SEARCH_SORT_START:
        sql_add(&s, " ORDER BY d.start IS NULL, d.start, d.id");
        break;
    case SEARCH_SORT_START_DESC:
        sql_add(&s, " ORDER BY d.start IS NULL, d.start DESC, d.id");
        break;
    case SEARCH_SORT_TITLE:
        sql_add(&s, " ORDER BY d.title, d.id");
        break;
    default:
        sql_add(&s, " ORDER BY score DESC, d.title, d.id");
    }
    sql_addf(&s, " LIMIT %lld", (long long)rq->limit);
    sql_addf(&s, " OFFSET %lld", (long long)rq->offset);

    sqlite3_stmt *st = NULL;
    int rc = sql_prepare(db, &s, &st, err);
    sql_free(&s);
    if (rc != 0)
        return -1;
    struct fts5_hit_reader reader = {.db = db};
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int content = sqlite3_column_int(st, 0);
        if (rq->keys_only) {
            json_t *hit = json_pack("{s:s, s:s}", "content_type",
                                    search_content_names[content % SEARCH_CONTENT_COUNT], "key",
                                    (const char *)sqlite3_column_text(st, 1));
            if (hit == NULL || json_array_append_new(hits, hit) != 0) {
                sqlite3_finalize(st);
                return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
            }
            continue;
        }
        json_t *doc = fts5_hit_read(&reader, sqlite3_column_int64(st, 4),
                                    (const char *)sqlite3_column_text(st, 2), err);
        json_t *hit = doc ? json_pack("{s:s, s:s, s:f, s:o}", "content_type",
                                      search_content_names[content % SEARCH_CONTENT_COUNT], "key",
                                      (const char *)sqlite3_column_text(st, 1), "score",
                                      sqlite3_column_double(st, 3), "doc", doc)
                          : NULL;
        if (hit == NULL || json_array_append_new(hits, hit) != 0) {
            sqlite3_finalize(st);
            fts5_hit_reader_end(&reader);
            return doc ? error_set(err, ERR_INTERNAL, "search index (fts5): out of memory") : -1;
        }
    }
    fts5_hit_reader_end(&reader);
    if (rc != SQLITE_DONE) {
        fts5_db_error(db, err, "query");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

/* The statement listing the documents the text part of rq matches (id,
 * then catalogd_bm25 with rank as its context when rank is not NULL, else
 * 0), in FTS5's order (ascending id, though the walk below does not rely
 * on it); *st NULL when rq has no text part (every document matches).
 * *st is owned by the caller (finalize); rank must outlive its steps.
 * *ranked says whether the rows went through catalogd_bm25 (not when
 * nothing positive is left for MATCH: then the rows are only ids). */
static int match_stmt(sqlite3 *db, const struct search_request *rq, struct fts5_rank *rank,
                      struct phrases *phrases, sqlite3_stmt **st, bool *ranked, struct error *err)
{
    const struct search_node *root = rq->query;
    *st = NULL;
    *ranked = false;
    if (root == NULL || root->type == SEARCH_ALL)
        return 0;
    /* from_where without any document filter: the text part only. */
    struct search_request text = {.query = root};
    struct sql s = {.rank = rank, .phrases = phrases};
    int rc = from_where(&s, &text, rank ? FW_IDS_RANK : FW_IDS, err);
    if (rc == 0)
        rc = sql_prepare(db, &s, st, err);
    *ranked = s.ranked;
    sql_free(&s);
    return rc;
}

/* The meta doc of id, or NULL; *at is where the previous lookup ended, so
 * that ids in ascending order (FTS5's) cost a gallop from there rather
 * than a search from the start, and a sparse hit set no walk over every
 * document. */
static const struct meta_entry *meta_seek(const struct meta *m, size_t *at, sqlite3_int64 id)
{
    size_t lo = *at, n = m->n_docs;
    if (lo > 0 && (lo > n || fts5_meta_id(m, lo - 1) >= id))
        lo = 0; /* out of order: search everything */
    size_t step = 1, hi = lo;
    while (hi < n && fts5_meta_id(m, hi) < id) {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    if (hi > n)
        hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fts5_meta_id(m, mid) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return lo < n && fts5_meta_id(m, lo) == id ? &m->docs[lo] : NULL;
}

/* The document filters of a request, resolved once per query. */
struct doc_filter {
    unsigned content_mask;
    bool public_only;
    time_t start_gte, start_lte, now, soon;
    int availability; /* -1 any, else an index into availability_names */
    long picks[64];   /* value ids every passing document carries */
    size_t n_picks;
    bool nothing; /* a pick no document carries */
};

static const char *const availability_names[] = {"archived", "current", "starting_soon",
                                                 "upcoming"};

static int filter_init(const struct meta *m, const struct search_request *rq, struct doc_filter *f,
                       struct error *err)
{
    memset(f, 0, sizeof *f);
    f->content_mask = rq->content_mask;
    f->public_only = rq->public_only;
    f->start_gte = rq->start_gte;
    f->start_lte = rq->start_lte;
    f->now = rq->now;
    f->soon = rq->now + SOON_SECONDS;
    f->availability = -1;
    if (rq->availability != NULL) {
        for (int a = 0; a < 4; a++)
            if (strcmp(rq->availability, availability_names[a]) == 0)
                f->availability = a;
        if (f->availability < 0)
            return error_set_field(err, ERR_INVALID, "availability",
                                   "availability must be current, starting_soon, upcoming "
                                   "or archived, not '%.40s'",
                                   rq->availability);
    }
    for (size_t i = 0; i < rq->n_picks; i++) {
        int field = -1;
        for (int k = 0; k < F_COUNT; k++)
            if (rq->picks[i].field && strcmp(rq->picks[i].field, facet_names[k]) == 0)
                field = k;
        if (field < 0 || rq->picks[i].value == NULL)
            return error_set_field(err, ERR_INVALID, "selected_facets",
                                   "unknown facet field '%.40s'",
                                   rq->picks[i].field ? rq->picks[i].field : "");
        if (field == F_CONTENT_TYPE) {
            /* Not a facet id in the copy: the documents' content says it
             * (the facets table holds search_content_names[content]). */
            unsigned bit = 0;
            for (int c = 0; c < SEARCH_CONTENT_COUNT; c++)
                if (strcmp(rq->picks[i].value, search_content_names[c]) == 0)
                    bit = 1u << c;
            f->content_mask = (f->content_mask ? f->content_mask : ~0u) & bit;
            f->nothing |= f->content_mask == 0;
            continue;
        }
        long v = fts5_value_find(m, field, rq->picks[i].value);
        if (v < 0)
            f->nothing = true;
        else if (f->n_picks < sizeof f->picks / sizeof *f->picks)
            f->picks[f->n_picks++] = v;
        else
            return error_set_field(err, ERR_INVALID, "selected_facets",
                                   "at most %zu selected facets",
                                   sizeof f->picks / sizeof *f->picks);
    }
    return 0;
}

/* The availability of d at f->now (an index into availability_names),
 * with the SQL of from_where's meaning for missing dates. */
static int availability_of(const struct meta *m, const struct meta_entry *d,
                           const struct doc_filter *f)
{
    if ((d->flags & M_END) && fts5_meta_date(m, d, D_END) < f->now)
        return 0;
    if (!(d->flags & M_START))
        return 3;
    sqlite3_int64 start = fts5_meta_date(m, d, D_START);
    if (start > f->soon)
        return 3;
    return start <= f->now ? 1 : 2;
}

/* Whether d carries value id v. */
static bool has_value(const struct meta *m, const struct meta_entry *d, uint32_t v)
{
    if (m->facets32 != NULL) {
        const uint32_t *vals = m->facets32 + d->facet_at;
        for (uint16_t k = 0; k < d->n_facets; k++)
            if (vals[k] == v)
                return true;
        return false;
    }
    const uint16_t *vals = m->facets + d->facet_at;
    for (uint16_t k = 0; k < d->n_facets; k++)
        if (vals[k] == v)
            return true;
    return false;
}

static bool passes(const struct meta *m, const struct meta_entry *d, const struct doc_filter *f)
{
    if (d->flags & M_DEAD)
        return false;
    if (f->content_mask && !(f->content_mask & (1u << d->content)))
        return false;
    if (f->public_only && !(d->flags & M_PUBLIC))
        return false;
    if (f->start_gte && (!(d->flags & M_START) || fts5_meta_date(m, d, D_START) < f->start_gte))
        return false;
    if (f->start_lte && (!(d->flags & M_START) || fts5_meta_date(m, d, D_START) > f->start_lte))
        return false;
    if (f->availability >= 0 && availability_of(m, d, f) != f->availability)
        return false;
    for (size_t p = 0; p < f->n_picks; p++)
        if (!has_value(m, d, (uint32_t)f->picks[p]))
            return false;
    return true;
}

/* A ranked hit not yet placed on the page. */
struct cand {
    sqlite3_int64 id;
    double score;
    double raw, boost; /* with the IDF deferred: score is raw x boost until
                          tally_idf makes it (IDF x raw) x boost */
    char *title;       /* owned; read only for the few that may reach the page */
};

/* Counts of a hit set, and when the page is ranked here (ranking) the
 * candidates for it: every passing hit whose score is at least the k-th
 * best seen so far (cut).  The list is cut back to those whenever it
 * fills, so it holds about k entries (plus ties) instead of every hit. */
struct tally {
    size_t total;
    size_t availability[4];
    size_t content[SEARCH_CONTENT_COUNT]; /* content_type, when facets are wanted */
    uint32_t *counts;                     /* per value id, when facets are wanted */
    bool ranking, oom;
    struct cand *cands; /* owned */
    size_t n_cands, cap_cands, k;
    double cut;   /* no candidate below it can reach the first k */
    double *heap; /* k scores, for the cut; owned */
    /* Scores are before the IDF factor (see tally_idf): the cut is taken
     * this much lower, so that no candidate whose exact score reaches the
     * k-th is dropped for a rounding difference. */
    double slack;
};

static double kth_score(const struct cand *cands, size_t n, size_t k, double *heap);

/* Starts ranking for a page ending at k (k >= 1). */
static bool tally_rank(struct tally *t, size_t k)
{
    t->ranking = true;
    t->k = k;
    t->cut = -HUGE_VAL;
    t->heap = malloc(k * sizeof *t->heap);
    return t->heap != NULL;
}

static void tally_free(struct tally *t)
{
    free(t->cands);
    free(t->heap);
    t->cands = NULL;
    t->heap = NULL;
}

static void cand_push(struct tally *t, sqlite3_int64 id, double score, double raw, double boost)
{
    if (score < t->cut || t->oom)
        return;
    if (t->n_cands == t->cap_cands) {
        if (t->n_cands > t->k) {
            t->cut = kth_score(t->cands, t->n_cands, t->k, t->heap);
            t->cut -= fabs(t->cut) * t->slack;
            size_t kept = 0;
            for (size_t i = 0; i < t->n_cands; i++)
                if (t->cands[i].score >= t->cut)
                    t->cands[kept++] = t->cands[i];
            t->n_cands = kept;
            if (score < t->cut)
                return;
        }
        /* Grown when the cut freed less than half (ties, or early on). */
        if (t->n_cands * 2 >= t->cap_cands &&
            !fts5_grow((void **)&t->cands, &t->cap_cands,
                       t->cap_cands < 2 * t->k + 256 ? 2 * t->k + 256 : t->cap_cands * 2,
                       sizeof *t->cands)) {
            t->oom = true;
            return;
        }
    }
    t->cands[t->n_cands++] = (struct cand){id, score, raw, boost, NULL};
}

/* run_hits' boost, in the same order of operations so that scores (and
 * so the order of hits) are the same as SQL's. */
static double boost_of(const struct meta *m, const struct meta_entry *d, time_t now)
{
    bool enrollable =
        (!(d->flags & M_ENROLLABLE_FROM) || fts5_meta_date(m, d, D_ENR_START) <= now) &&
        (!(d->flags & M_ENROLLABLE_UNTIL) || fts5_meta_date(m, d, D_ENR_END) >= now);
    bool self_paced = (d->flags & M_SELF_PACED) != 0;
    bool future = (d->flags & M_START) && fts5_meta_date(m, d, D_START) > now;
    return 1.0 + 0.05 * enrollable + 0.05 * self_paced + 0.05 * future;
}

/* Counts d (which passes f) into t. */
static void tally_count(const struct meta *m, const struct meta_entry *d,
                        const struct doc_filter *f, struct tally *t)
{
    t->total++;
    if (t->counts == NULL)
        return;
    t->availability[availability_of(m, d, f)]++;
    if (d->content < SEARCH_CONTENT_COUNT)
        t->content[d->content]++;
    if (m->facets32 != NULL) {
        const uint32_t *vals = m->facets32 + d->facet_at;
        for (uint16_t k = 0; k < d->n_facets; k++)
            t->counts[vals[k]]++;
    } else {
        const uint16_t *vals = m->facets + d->facet_at;
        for (uint16_t k = 0; k < d->n_facets; k++)
            t->counts[vals[k]]++;
    }
}

/* The walk of a ranked match statement (catalogd_bm25 with this as its
 * context): each match is found in the memory copy and filtered, and only
 * one that passes is counted and, when ranking, scored (with its length
 * from the copy), so that a match the filters drop costs no bm25. */
struct rank_walk {
    struct fts5_rank rank; /* first: the function hands it back */
    const struct meta *m;
    const struct doc_filter *f;
    struct tally *t;
    size_t at;                  /* meta_seek's position */
    const struct meta_entry *d; /* the match being scored */
    sqlite3_int64 id;           /* its id */
    sqlite3_int64 n_rows;       /* rows the MATCH returned (with rank.no_idf) */
    struct fts5 *fx;            /* its IDF cache, for meta's generation */
    struct phrases phrases;     /* the MATCH's phrases, the cache's keys */
};

/* The cached IDF of phrase i (of n: the statement must have the phrases
 * the walk's keys name), for the copy's generation. */
static bool walk_idf_get(struct fts5_rank *rank, int i, int n, double *idf)
{
    struct rank_walk *w = (struct rank_walk *)rank;
    bool found = false;
    if (w->fx == NULL || w->phrases.failed || (size_t)n != w->phrases.n)
        return false;
    pthread_mutex_lock(&w->fx->idf_lock);
    for (size_t k = 0; w->fx->idf_gen == w->m->generation && k < w->fx->n_idf && !found; k++)
        if (strcmp(w->fx->idf[k].key, w->phrases.keys[i]) == 0) {
            *idf = w->fx->idf[k].idf;
            found = true;
        }
    pthread_mutex_unlock(&w->fx->idf_lock);
    return found;
}

#define IDF_CACHE_MAX 512

/* Keeps phrase i's IDF for the copy's generation (dropping every entry
 * of another generation, or all when full); a failed allocation only
 * loses the entry. */
static void walk_idf_put(struct fts5_rank *rank, int i, int n, double idf)
{
    struct rank_walk *w = (struct rank_walk *)rank;
    struct fts5 *fx = w->fx;
    if (fx == NULL || w->phrases.failed || (size_t)n != w->phrases.n)
        return;
    pthread_mutex_lock(&fx->idf_lock);
    if (fx->idf_gen != w->m->generation || fx->n_idf == IDF_CACHE_MAX) {
        for (size_t k = 0; k < fx->n_idf; k++)
            free(fx->idf[k].key);
        fx->n_idf = 0;
        fx->idf_gen = w->m->generation;
    }
    if (fx->idf == NULL)
        fx->idf = malloc(IDF_CACHE_MAX * sizeof *fx->idf);
    char *key = fx->idf ? strdup(w->phrases.keys[i]) : NULL;
    if (key != NULL)
        fx->idf[fx->n_idf++] = (struct fts5_idf){key, idf};
    pthread_mutex_unlock(&fx->idf_lock);
}

static bool walk_want(struct fts5_rank *rank, sqlite3_int64 id, int *len)
{
    struct rank_walk *w = (struct rank_walk *)rank;
    w->n_rows++;
    const struct meta_entry *d = meta_seek(w->m, &w->at, id);
    if (d == NULL || !passes(w->m, d, w->f))
        return false;
    tally_count(w->m, d, w->f, w->t);
    if (!w->t->ranking)
        return false;
    uint16_t len16 = w->m->lens ? w->m->lens[d - w->m->docs] : FTS5_LEN_UNKNOWN;
    *len = len16 == FTS5_LEN_UNKNOWN ? -1 : (int)len16;
    w->d = d;
    w->id = id;
    return true;
}

/* run_hits' score: -bm25 times the boosts, in its order of operations. */
static void walk_scored(struct fts5_rank *rank, double bm25)
{
    struct rank_walk *w = (struct rank_walk *)rank;
    double boost = boost_of(w->m, w->d, w->f->now);
    cand_push(w->t, w->id, -bm25 * boost, -bm25, boost);
}

/* Tallies the hit set: the rows of st (through catalogd_bm25, whose
 * context is w, when ranked; else ids scoring 0, as bm25 has no words to
 * score), or every document when st is NULL. */
static int tally_hits(sqlite3 *db, sqlite3_stmt *st, bool ranked, struct rank_walk *w,
                      struct error *err)
{
    const struct meta *m = w->m;
    const struct doc_filter *f = w->f;
    struct tally *t = w->t;
    if (f->nothing)
        return 0;
    if (st == NULL) {
        for (size_t i = 0; i < m->n_docs; i++)
            if (passes(m, &m->docs[i], f))
                tally_count(m, &m->docs[i], f, t); /* no words: nothing to rank */
    } else {
        int step, len;
        while ((step = sqlite3_step(st)) == SQLITE_ROW)
            if (!ranked && walk_want(&w->rank, sqlite3_column_int64(st, 0), &len))
                walk_scored(&w->rank, 0.0);
        if (step != SQLITE_DONE)
            return fts5_db_error(db, err, "match");
    }
    return t->oom ? error_set(err, ERR_INTERNAL, "search index (fts5): out of memory") : 0;
}

/* Whether the text part of rq is one phrase (a word, a prefix or a
 * quoted phrase) on every column: then the rows its MATCH returns are
 * exactly the rows bm25's IDF counts for it (xQueryPhrase), and the walk
 * can count them instead of FTS5 walking the doclist once more. */
static bool one_phrase(const struct search_request *rq)
{
    const struct search_node *q = rq->query;
    return q != NULL && (q->type == SEARCH_TERM || q->type == SEARCH_PHRASE) &&
           column_of(q->field) == NULL;
}

/* With the IDF deferred, makes every candidate's score exact: what the
 * function with the IDF would have given, (IDF x raw) x boost in that
 * order (bm25 = -1 x (0 + IDF x raw), score = -bm25 x boost).  The IDF is
 * positive, so it kept the order up to rounding, which the slack covered. */
static void tally_idf(struct tally *t, const struct rank_walk *w)
{
    double idf = fts5_rank_idf(w->rank.n_row, w->n_rows);
    for (size_t i = 0; i < t->n_cands; i++)
        t->cands[i].score = (idf * t->cands[i].raw) * t->cands[i].boost;
}

static int tally_json(const struct meta *m, const struct tally *t, json_t *facets,
                      struct error *err)
{
    json_t *fields = json_object_get(facets, "fields");
    json_t *queries = json_object_get(facets, "queries");
    static const char *const names[] = {"availability_archived", "availability_current",
                                        "availability_starting_soon", "availability_upcoming"};
    int bad = 0;
    for (int f = 0; f < F_REPORTED; f++)
        bad |= json_object_set_new(fields, facet_names[f], json_object());
    for (int i = 0; i < 4; i++)
        bad |= json_object_set_new(queries, names[i], json_integer((json_int_t)t->availability[i]));
    for (int c = 0; c < SEARCH_CONTENT_COUNT; c++)
        if (t->content[c] > 0)
            bad |= json_object_set_new(json_object_get(fields, facet_names[F_CONTENT_TYPE]),
                                       search_content_names[c],
                                       json_integer((json_int_t)t->content[c]));
    for (size_t v = 0; v < m->n_values; v++) {
        int f = m->values[v].field;
        if (t->counts[v] == 0 || f < 0 || f >= F_REPORTED)
            continue;
        bad |= json_object_set_new(json_object_get(fields, facet_names[f]), m->values[v].text,
                                   json_integer((json_int_t)t->counts[v]));
    }
    return bad ? error_set(err, ERR_INTERNAL, "search index (fts5): out of memory") : 0;
}

/* Pages ending deeper than PAGE_IN_C_MAX (q on lists asks for 10,000
 * keys), or a cut with more than TIES_IN_C_MAX tied scores beyond the
 * page, are left to SQL (run_hits): titles would be read for too many
 * hits.  A title read is one docs row, far cheaper than SQL's sort of
 * every match. */
#define PAGE_IN_C_MAX 20000
#define TIES_IN_C_MAX 1000

/* run_hits' order: score descending, then title, then id. */
static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    int c = strcmp(x->title ? x->title : "", y->title ? y->title : "");
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

static void heap_down(double *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l] < h[m])
            m = l;
        if (r < n && h[r] < h[m])
            m = r;
        if (m == i)
            return;
        double t = h[i];
        h[i] = h[m], h[m] = t;
        i = m;
    }
}

/* The k-th highest score of cands (k <= n), by a min-heap of k scores. */
static double kth_score(const struct cand *cands, size_t n, size_t k, double *heap)
{
    for (size_t i = 0; i < k; i++)
        heap[i] = cands[i].score;
    for (size_t i = k / 2; i-- > 0;)
        heap_down(heap, k, i);
    for (size_t i = k; i < n; i++)
        if (cands[i].score > heap[0]) {
            heap[0] = cands[i].score;
            heap_down(heap, k, 0);
        }
    return heap[0];
}

static int read_cand(sqlite3 *db, sqlite3_stmt *st, sqlite3_int64 id, struct error *err)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    return rc == SQLITE_ROW ? 0 : fts5_db_error(db, err, "page");
}

/* The relevance page from the ranked candidates, as run_hits would give
 * it, reading titles only for runs of tied scores that reach the page and
 * the hit JSON only for the page.  *done is false (and nothing
 * added) when the page is too deep or the cut too tied: run_hits then. */
static int page_from_cands(sqlite3 *db, const struct search_request *rq, struct tally *t,
                           json_t *hits, bool *done, struct error *err)
{
    size_t k = rq->offset + rq->limit, n = t->n_cands;
    *done = false;
    if (k > PAGE_IN_C_MAX)
        return 0;
    if (n > k) {
        double *heap = malloc(k * sizeof *heap);
        if (heap == NULL)
            return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
        double cut = kth_score(t->cands, n, k, heap);
        free(heap);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (t->cands[i].score >= cut) {
                if (kept == k + TIES_IN_C_MAX)
                    return 0;
                t->cands[kept++] = t->cands[i];
            }
        n = t->n_cands = kept;
    }
    sqlite3_stmt *title = NULL, *hit = NULL;
    struct fts5_hit_reader reader = {.db = db};
    int rc = 0;
    if (sqlite3_prepare_v2(db, "SELECT title FROM docs WHERE id = ?", -1, &title, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT content, key, hit FROM docs WHERE id = ?", -1, &hit, NULL) !=
            SQLITE_OK)
        rc = fts5_db_error(db, err, "page");
    /* By score (then id) first; titles matter only inside a run of equal
     * scores that reaches the page, so only those are read. */
    if (rc == 0)
        qsort(t->cands, n, sizeof *t->cands, cmp_cand);
    for (size_t at = 0, end; rc == 0 && at < n && at < k; at = end) {
        for (end = at + 1; end < n && t->cands[end].score == t->cands[at].score; end++)
            ;
        if (end - at < 2)
            continue;
        for (size_t i = at; rc == 0 && i < end; i++) {
            rc = read_cand(db, title, t->cands[i].id, err);
            if (rc == 0 &&
                (t->cands[i].title = strdup((const char *)sqlite3_column_text(title, 0))) == NULL)
                rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
        }
        if (rc == 0)
            qsort(t->cands + at, end - at, sizeof *t->cands, cmp_cand);
    }
    for (size_t i = rq->offset; rc == 0 && i < n && i < k; i++) {
        rc = read_cand(db, hit, t->cands[i].id, err);
        if (rc != 0)
            break;
        int content = sqlite3_column_int(hit, 0);
        json_t *doc = NULL;
        if (!rq->keys_only &&
            (doc = fts5_hit_read(&reader, t->cands[i].id, (const char *)sqlite3_column_text(hit, 2),
                                 err)) == NULL) {
            rc = -1;
            break;
        }
        json_t *h = rq->keys_only ? json_pack("{s:s, s:s}", "content_type",
                                              search_content_names[content % SEARCH_CONTENT_COUNT],
                                              "key", (const char *)sqlite3_column_text(hit, 1))
                                  : json_pack("{s:s, s:s, s:f, s:o}", "content_type",
                                              search_content_names[content % SEARCH_CONTENT_COUNT],
                                              "key", (const char *)sqlite3_column_text(hit, 1),
                                              "score", t->cands[i].score, "doc", doc);
        if (h == NULL || json_array_append_new(hits, h) != 0)
            rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    }
    for (size_t i = 0; i < n; i++)
        free(t->cands[i].title);
    sqlite3_finalize(title);
    sqlite3_finalize(hit);
    fts5_hit_reader_end(&reader);
    if (rc == 0)
        *done = true;
    return rc;
}

/* Total, facets and (when relevance-sorted with words to rank) the page
 * from one pass over the matched ids and the memory copy; other pages
 * from SQL.  Runs on db inside one read transaction, with fx->meta
 * current for it and held still (fx->gate shared, or fx->lock). */
static int query_run(struct fts5 *fx, sqlite3 *db, const struct search_request *rq,
                     struct search_result *result, struct error *err)
{
    const struct meta *m = &fx->meta;
    struct doc_filter f;
    sqlite3_stmt *st = NULL;
    bool want_page = rq->limit > 0;
    bool all = rq->query == NULL || rq->query->type == SEARCH_ALL;
    /* Without words every score is 0: the order is by title (SQL). */
    bool rank_here = want_page && !all && rq->sort == SEARCH_SORT_RELEVANCE &&
                     rq->offset + rq->limit <= PAGE_IN_C_MAX;
    struct tally t = {0};
    struct rank_walk w = {.rank = {.weights = bm25_weights,
                                   .n_weights = sizeof bm25_weights / sizeof *bm25_weights,
                                   .want = walk_want,
                                   .scored = walk_scored,
                                   .idf_get = walk_idf_get,
                                   .idf_put = walk_idf_put},
                          .m = m,
                          .f = &f,
                          .t = &t,
                          .fx = fx};
    bool ranked = false;
    w.rank.no_idf = rank_here && one_phrase(rq);
    t.slack = w.rank.no_idf ? 1e-9 : 0.0;
    if (filter_init(m, rq, &f, err) != 0 ||
        match_stmt(db, rq, &w.rank, &w.phrases, &st, &ranked, err) != 0) {
        phrases_free(&w.phrases);
        return -1;
    }
    uint32_t dummy = 0;
    int rc = 0;
    if (rq->want_facets)
        t.counts = m->n_values ? calloc(m->n_values, sizeof *t.counts) : &dummy;
    if ((rq->want_facets && t.counts == NULL) ||
        (rank_here && !tally_rank(&t, rq->offset + rq->limit)))
        rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    if (rc == 0)
        rc = tally_hits(db, st, ranked, &w, err);
    sqlite3_finalize(st);
    if (rc == 0 && ranked && w.rank.no_idf)
        tally_idf(&t, &w);
    result->total = t.total;
    if (rc == 0 && rq->want_facets)
        rc = tally_json(m, &t, result->facets, err);
    bool done = !want_page || rq->offset >= result->total;
    if (rc == 0 && !done && t.ranking)
        rc = page_from_cands(db, rq, &t, result->hits, &done, err);
    if (rc == 0 && !done)
        rc = run_hits(db, rq, result->hits, err);
    if (t.counts != &dummy)
        free(t.counts);
    tally_free(&t);
    phrases_free(&w.phrases);
    return rc;
}

/* ---- the read pool ----
 *
 * fx->db is the writer's connection; queries run on readers of their own
 * (one per concurrent query, up to max_readers, opened on demand), each
 * in its own WAL read transaction, so that the server's threads search
 * in parallel.  They share fx->meta under fx->gate.  An index in memory
 * cannot be opened twice: there every query runs on fx->db under
 * fx->lock, as does every query while this handle rebuilds (its
 * uncommitted state is what it must see). */

static int reader_open(struct fts5 *fx, sqlite3 **out, struct error *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        error_set(err, ERR_UNAVAILABLE, "search index (fts5): cannot open %s: %s", fx->path,
                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, fx->busy_timeout);
    if (fts5_rank_register(db, err) != 0) {
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

/* A reader not in use (opening one when fewer than max_readers are open,
 * else waiting for one); NULL with err set when none can be opened. */
static struct fts5_reader *reader_take(struct fts5 *fx, struct error *err)
{
    struct fts5_reader *r = NULL;
    pthread_mutex_lock(&fx->pool_lock);
    for (;;) {
        for (size_t i = 0; r == NULL && i < fx->n_readers; i++)
            if (!fx->readers[i].busy)
                r = &fx->readers[i];
        if (r != NULL || fx->n_readers < fx->max_readers)
            break;
        pthread_cond_wait(&fx->pool_free, &fx->pool_lock);
    }
    if (r == NULL) {
        /* readers is allocated at max_readers by open: r stays valid. */
        r = &fx->readers[fx->n_readers];
        if (reader_open(fx, &r->db, err) != 0)
            r = NULL;
        else
            fx->n_readers++;
    }
    if (r != NULL)
        r->busy = true;
    pthread_mutex_unlock(&fx->pool_lock);
    return r;
}

static void reader_give(struct fts5 *fx, struct fts5_reader *r)
{
    pthread_mutex_lock(&fx->pool_lock);
    r->busy = false;
    pthread_cond_signal(&fx->pool_free);
    pthread_mutex_unlock(&fx->pool_lock);
}

/* Starts a read: returns with fx->gate held shared and either *r a reader
 * inside a read transaction whose snapshot fx->meta matches, or *r NULL
 * and fx->lock held (in memory, or rebuilding: the caller uses fx->db,
 * after fts5_meta_refresh).  -1 with err set (and nothing held) on
 * failure.  End with read_end. */
static int read_begin(struct fts5 *fx, struct fts5_reader **r, struct error *err)
{
    *r = NULL;
    for (;;) {
        bool current = false;
        pthread_rwlock_rdlock(&fx->gate);
        pthread_mutex_lock(&fx->lock);
        if (fx->path == NULL || fx->rebuilding)
            return 0;
        int rc = fts5_meta_current(fx, &current, err);
        pthread_mutex_unlock(&fx->lock);
        if (rc == 0 && current) {
            *r = reader_take(fx, err);
            /* The snapshot starts at the first read; a commit from another
             * connection before it moves data_version, and the copy may
             * then miss it: start over. */
            if (*r == NULL)
                rc = -1;
            else if (fts5_exec((*r)->db, "BEGIN; SELECT 1 FROM docs WHERE id = 0", err) != 0)
                rc = -1;
            if (rc == 0) {
                pthread_mutex_lock(&fx->lock);
                rc = fts5_meta_current(fx, &current, err);
                pthread_mutex_unlock(&fx->lock);
                if (rc == 0 && current)
                    return 0;
            }
            if (*r != NULL) {
                sqlite3_exec((*r)->db, "ROLLBACK", NULL, NULL, NULL);
                reader_give(fx, *r);
                *r = NULL;
            }
        }
        pthread_rwlock_unlock(&fx->gate);
        if (rc != 0)
            return -1;
        /* Stale: reload alone (queries share the copy read-only), from
         * fx->db in a read transaction of its own, then try again. */
        pthread_rwlock_wrlock(&fx->gate);
        pthread_mutex_lock(&fx->lock);
        if (!fx->rebuilding && fts5_exec(fx->db, "BEGIN", err) == 0) {
            rc = fts5_meta_refresh(fx, err);
            sqlite3_exec(fx->db, "COMMIT", NULL, NULL, NULL);
            /* The load filled the writer's page cache (up to 2 MB) with
             * pages of docs_load and facets that queries, on the readers,
             * never use; writes refill what they need. */
            sqlite3_db_release_memory(fx->db);
        }
        pthread_mutex_unlock(&fx->lock);
        pthread_rwlock_unlock(&fx->gate);
        if (rc != 0)
            return -1;
    }
}

static void read_end(struct fts5 *fx, struct fts5_reader *r)
{
    if (r != NULL) {
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
        reader_give(fx, r);
    } else {
        pthread_mutex_unlock(&fx->lock);
    }
    pthread_rwlock_unlock(&fx->gate);
}

/* On fx->db with fx->lock held: one read transaction (a rebuild already
 * holds the write one), the copy made current inside it. */
static int locked_begin(struct fts5 *fx, bool *in_txn, struct error *err)
{
    *in_txn = false;
    if (!fx->rebuilding) {
        if (fts5_exec(fx->db, "BEGIN", err) != 0)
            return -1;
        *in_txn = true;
    }
    return fts5_meta_refresh(fx, err);
}

static int fts5_query(struct search *search, const struct search_request *rq,
                      struct search_result *result, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    struct fts5_reader *r = NULL;
    memset(result, 0, sizeof *result);
    result->hits = json_array();
    if (rq->want_facets)
        result->facets = json_pack("{s:{}, s:{}}", "fields", "queries");
    if (result->hits == NULL || (rq->want_facets && result->facets == NULL)) {
        search_result_clear(result);
        return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    }
    int rc = read_begin(fx, &r, err);
    if (rc != 0) {
        search_result_clear(result);
        return -1;
    }
    bool in_txn = false;
    if (r == NULL)
        rc = locked_begin(fx, &in_txn, err);
    if (rc == 0)
        rc = query_run(fx, r ? r->db : fx->db, rq, result, err);
    if (in_txn)
        sqlite3_exec(fx->db, "COMMIT", NULL, NULL, NULL);
    read_end(fx, r);
    if (rc != 0)
        search_result_clear(result);
    return rc;
}

/* ---- writing ---- */

int fts5_exec(sqlite3 *db, const char *sql, struct error *err)
{
    char what[48];
    /* The start of the statement is enough to say which step failed. */
    snprintf(what, sizeof what, "%.40s%s", sql, strlen(sql) > 40 ? "..." : "");
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fts5_db_error(db, err, what);
    return 0;
}

/* ---- reading ---- */

static int fts5_count(struct search *search, size_t *out, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    pthread_mutex_lock(&fx->lock);
    if (sqlite3_prepare_v2(fx->db, "SELECT count(*) FROM docs", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *out = (size_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        fts5_db_error(fx->db, err, "count");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&fx->lock);
    return rc;
}

static int fts5_health(struct search *search, struct error *err)
{
    size_t n;
    return fts5_count(search, &n, err);
}

/* The typeahead SQL's bm25 weights (fts5_suggest): titles, keys and
 * organizations only. */
static const double suggest_weights[] = {10.0, 0.0, 0.0, 3.0, 5.0, 0.0};

/* A typeahead match is scored when it is live, visible and of a known
 * content type; w->t is one tally per content type. */
static bool suggest_want(struct fts5_rank *rank, sqlite3_int64 id, int *len)
{
    struct rank_walk *w = (struct rank_walk *)rank;
    const struct meta_entry *d = meta_seek(w->m, &w->at, id);
    if (d == NULL || (d->flags & M_DEAD) || (w->f->public_only && !(d->flags & M_PUBLIC)) ||
        d->content >= SEARCH_CONTENT_COUNT)
        return false;
    uint16_t len16 = w->m->lens ? w->m->lens[d - w->m->docs] : FTS5_LEN_UNKNOWN;
    *len = len16 == FTS5_LEN_UNKNOWN ? -1 : (int)len16;
    w->d = d;
    w->id = id;
    return true;
}

static void suggest_scored(struct fts5_rank *rank, double bm25)
{
    struct rank_walk *w = (struct rank_walk *)rank;
    cand_push(&w->t[w->d->content], w->id, -bm25, 0.0, 0.0);
}

/* Typeahead from one FTS5 pass over every content type, filtered by the
 * memory copy and ranked as the SQL below would; *done false (lists left
 * empty) when a cut is too tied or limit too large.  On db inside a read
 * transaction, fx->meta current and held still. */
static int suggest_in_memory(struct fts5 *fx, sqlite3 *db, const char *match, size_t limit,
                             bool public_only, json_t *out, bool *done, struct error *err)
{
    struct tally t[SEARCH_CONTENT_COUNT] = {{0}};
    sqlite3_stmt *st = NULL;
    int rc = 0, step = SQLITE_DONE;
    *done = false;
    if (limit > PAGE_IN_C_MAX)
        return 0;
    for (int c = 0; rc == 0 && c < SEARCH_CONTENT_COUNT; c++)
        if (!tally_rank(&t[c], limit))
            rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    /* catalogd_bm25 with the SQL's weights: the same scores, with lengths
     * from the copy, and rows the filter drops never scored. */
    struct doc_filter f = {.public_only = public_only};
    struct rank_walk w = {.rank = {.weights = suggest_weights,
                                   .n_weights = sizeof suggest_weights / sizeof *suggest_weights,
                                   .want = suggest_want,
                                   .scored = suggest_scored},
                          .m = &fx->meta,
                          .f = &f,
                          .t = t};
    if (rc == 0 && sqlite3_prepare_v2(db,
                                      "SELECT " FTS5_RANK_FUNCTION "(fts, ?1)"
                                      " FROM fts WHERE fts MATCH ?2",
                                      -1, &st, NULL) != SQLITE_OK)
        rc = fts5_db_error(db, err, "suggest");
    if (rc == 0) {
        fts5_rank_bind(st, 1, &w.rank);
        sqlite3_bind_text(st, 2, match, -1, SQLITE_STATIC);
        while ((step = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (step != SQLITE_DONE)
            rc = fts5_db_error(db, err, "suggest");
    }
    sqlite3_finalize(st);
    for (int c = 0; rc == 0 && c < SEARCH_CONTENT_COUNT; c++)
        if (t[c].oom)
            rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    bool all_done = rc == 0;
    for (int c = 0; rc == 0 && all_done && c < SEARCH_CONTENT_COUNT; c++) {
        struct search_request rq = {.limit = limit};
        json_t *hits = json_array();
        bool done_c = false;
        if (hits == NULL)
            rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
        else if (t[c].n_cands > 0)
            rc = page_from_cands(db, &rq, &t[c], hits, &done_c, err);
        else
            done_c = true;
        all_done = done_c;
        json_t *list = json_object_get(out, search_content_names[c]);
        for (size_t i = 0; rc == 0 && i < json_array_size(hits); i++)
            json_array_append(list, json_object_get(json_array_get(hits, i), "doc"));
        json_decref(hits);
    }
    for (int c = 0; c < SEARCH_CONTENT_COUNT; c++) {
        tally_free(&t[c]);
        if (!all_done || rc != 0)
            json_array_clear(json_object_get(out, search_content_names[c]));
    }
    *done = rc == 0 && all_done;
    return rc;
}

static int fts5_suggest(struct search *search, const char *prefix, size_t limit, bool public_only,
                        json_t **out, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    char words[SEARCH_SUGGEST_WORDS_SIZE];
    int n = search_suggest_begin(prefix, words, out, err);
    if (n < 0)
        return -1;
    if (n == 0 || limit == 0)
        return 0;

    /* {title key org} : ("w1"* AND "w2"*): as the user types, every word is
     * the start of one in a title, key or organization. */
    struct sql expr = {0};
    sql_add(&expr, "{title key org} : (");
    char *save = NULL;
    int k = 0;
    for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save), k++) {
        sql_add(&expr, k ? " AND " : "");
        fts_quote(&expr, w);
        sql_add(&expr, "*");
    }
    sql_add(&expr, ")");
    if (expr.oom) {
        sql_free(&expr);
        json_decref(*out), *out = NULL;
        return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    }
    struct fts5_reader *r = NULL;
    bool done = false, in_txn = false;
    int rc = read_begin(fx, &r, err);
    if (rc != 0) {
        sql_free(&expr);
        json_decref(*out), *out = NULL;
        return -1;
    }
    if (r == NULL)
        rc = locked_begin(fx, &in_txn, err);
    sqlite3 *db = r ? r->db : fx->db;
    if (rc == 0)
        rc = suggest_in_memory(fx, db, expr.buf, limit, public_only, *out, &done, err);
    for (int c = 0; rc == 0 && !done && c < SEARCH_CONTENT_COUNT; c++) {
        sqlite3_stmt *st = NULL;
        const char *sql =
            public_only ? "SELECT d.hit, d.id FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts "
                          "MATCH ?1 AND d.content = ?2 AND d.public = 1 ORDER BY bm25(fts, "
                          "10.0, 0.0, 0.0, 3.0, 5.0, 0.0), d.title LIMIT ?3"
                        : "SELECT d.hit, d.id FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts "
                          "MATCH ?1 AND d.content = ?2 ORDER BY bm25(fts, 10.0, 0.0, 0.0, "
                          "3.0, 5.0, 0.0), d.title LIMIT ?3";
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = fts5_db_error(db, err, "suggest");
            break;
        }
        sqlite3_bind_text(st, 1, expr.buf, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, c);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
        json_t *list = json_object_get(*out, search_content_names[c]);
        struct fts5_hit_reader reader = {.db = db};
        int step = SQLITE_DONE;
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            json_t *hit = fts5_hit_read(&reader, sqlite3_column_int64(st, 1),
                                        (const char *)sqlite3_column_text(st, 0), err);
            if (hit == NULL)
                rc = -1;
            else if (json_array_append_new(list, hit) != 0)
                rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
        }
        if (rc == 0 && step != SQLITE_DONE)
            rc = fts5_db_error(db, err, "suggest");
        fts5_hit_reader_end(&reader);
        sqlite3_finalize(st);
    }
    if (in_txn)
        sqlite3_exec(fx->db, "COMMIT", NULL, NULL, NULL);
    read_end(fx, r);
    sql_free(&expr);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- index sync: lookup, digests, rebuild ---- */

static int fts5_lookup(struct search *search, enum search_content content, const char *key,
                       json_t **out, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    *out = NULL;
    if ((int)content < 0 || content >= SEARCH_CONTENT_COUNT || key == NULL)
        return error_set(err, ERR_INVALID, "search lookup: bad content type or key");
    pthread_mutex_lock(&fx->lock);
    struct fts5_hit_reader reader = {.db = fx->db};
    if (sqlite3_prepare_v2(fx->db, "SELECT hit, id FROM docs WHERE content = ? AND key = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = fts5_db_error(fx->db, err, "lookup");
    } else {
        sqlite3_bind_int(st, 1, (int)content);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            *out = fts5_hit_read(&reader, sqlite3_column_int64(st, 1),
                                 (const char *)sqlite3_column_text(st, 0), err);
            if (*out == NULL)
                rc = -1;
        } else if (step != SQLITE_DONE) {
            rc = fts5_db_error(fx->db, err, "lookup");
        }
    }
    sqlite3_finalize(st);
    fts5_hit_reader_end(&reader);
    pthread_mutex_unlock(&fx->lock);
    return rc;
}

static int fts5_digests(struct search *search, json_t **out, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    sqlite3_stmt *st = NULL;
    int rc = 0, step = SQLITE_DONE;
    *out = json_pack("{s:{}, s:{}, s:{}}", "course", "courserun", "program");
    if (*out == NULL)
        return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    pthread_mutex_lock(&fx->lock);
    if (sqlite3_prepare_v2(fx->db, "SELECT content, key, digest FROM docs", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = fts5_db_error(fx->db, err, "digests");
    } else {
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            int content = sqlite3_column_int(st, 0);
            if (content < 0 || content >= SEARCH_CONTENT_COUNT)
                continue;
            json_object_set_new(json_object_get(*out, search_content_names[content]),
                                (const char *)sqlite3_column_text(st, 1),
                                json_string((const char *)sqlite3_column_text(st, 2)));
        }
        if (step != SQLITE_DONE)
            rc = fts5_db_error(fx->db, err, "digests");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&fx->lock);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- open, close ---- */

/* ---- writing, with the gate ----
 *
 * The write path (fts5_write.c) changes fx->meta in place under fx->lock;
 * queries on the pool read it without that lock, so every write hook
 * holds fx->gate exclusive for its call. */

static int gated_index(struct search *search, const json_t *docs, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    pthread_rwlock_wrlock(&fx->gate);
    int rc = fts5_index(search, docs, err);
    pthread_rwlock_unlock(&fx->gate);
    return rc;
}

static int gated_remove(struct search *search, enum search_content content, const char *key,
                        struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    pthread_rwlock_wrlock(&fx->gate);
    int rc = fts5_remove(search, content, key, err);
    pthread_rwlock_unlock(&fx->gate);
    return rc;
}

static int gated_clear(struct search *search, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    pthread_rwlock_wrlock(&fx->gate);
    int rc = fts5_clear(search, err);
    pthread_rwlock_unlock(&fx->gate);
    return rc;
}

static int gated_rebuild_begin(struct search *search, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    pthread_rwlock_wrlock(&fx->gate);
    int rc = fts5_rebuild_begin(search, err);
    pthread_rwlock_unlock(&fx->gate);
    return rc;
}

static int gated_rebuild_end(struct search *search, bool commit, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    pthread_rwlock_wrlock(&fx->gate);
    int rc = fts5_rebuild_end(search, commit, err);
    pthread_rwlock_unlock(&fx->gate);
    return rc;
}

static void fts5_close(struct search *search)
{
    struct fts5 *fx = (struct fts5 *)search;
    if (fx == NULL)
        return;
    for (size_t i = 0; i < fx->n_readers; i++)
        sqlite3_close(fx->readers[i].db);
    free(fx->readers);
    free(fx->path);
    sqlite3_close(fx->db);
    fts5_meta_free(&fx->meta);
    pthread_mutex_destroy(&fx->lock);
    pthread_rwlock_destroy(&fx->gate);
    pthread_mutex_destroy(&fx->pool_lock);
    pthread_cond_destroy(&fx->pool_free);
    for (size_t i = 0; i < fx->n_idf; i++)
        free(fx->idf[i].key);
    free(fx->idf);
    pthread_mutex_destroy(&fx->idf_lock);
    free(fx);
}

extern const struct search_driver search_fts5_driver;

/* Index files written before documents carried a digest get the column
 * (empty digests: verify reports those documents until a reindex). */
static int add_digest_column(sqlite3 *db, struct error *err)
{
    sqlite3_stmt *st = NULL;
    int have = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM pragma_table_info('docs') WHERE name = 'digest'",
                           -1, &st, NULL) != SQLITE_OK)
        return fts5_db_error(db, err, "schema");
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return have ? 0
                : fts5_exec(db, "ALTER TABLE docs ADD COLUMN digest TEXT NOT NULL DEFAULT ''", err);
}

static int fts5_open(const struct config *config, struct search **out, struct error *err)
{
    const char *store_path = config_get(config, "store.path");
    const char *search_path = config_get(config, "search.path");
    char *path = NULL;
    *out = NULL;
    if (search_path[0] != '\0')
        path = strdup(search_path);
    else if (store_path[0] == '\0' || strcmp(store_path, ":memory:") == 0)
        path = strdup(":memory:");
    else if (asprintf(&path, "%s-search", store_path) < 0)
        path = NULL;
    struct fts5 *fx = calloc(1, sizeof *fx);
    if (path == NULL || fx == NULL) {
        free(path);
        free(fx);
        return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    }
    fx->base.driver = &search_fts5_driver;
    pthread_mutex_init(&fx->lock, NULL);
    pthread_mutex_init(&fx->pool_lock, NULL);
    pthread_cond_init(&fx->pool_free, NULL);
    pthread_mutex_init(&fx->idf_lock, NULL);
    /* Writers first: under a steady stream of queries a write would
     * otherwise wait for a moment with none. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&fx->gate, &attr);
    pthread_rwlockattr_destroy(&attr);
    /* One reader per server thread: more could never be busy at once. */
    fx->max_readers = (size_t)config_server_threads(config);
    fx->busy_timeout = (int)config_int(config, "store.busy_timeout");
    int rc = sqlite3_open_v2(
        path, &fx->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        error_set(err, ERR_UNAVAILABLE, "search index (fts5): cannot open %s: %s", path,
                  fx->db ? sqlite3_errmsg(fx->db) : sqlite3_errstr(rc));
        free(path);
        fts5_close(&fx->base);
        return -1;
    }
    sqlite3_busy_timeout(fx->db, fx->busy_timeout);
    if (fts5_exec(fx->db, schema, err) != 0 || add_digest_column(fx->db, err) != 0 ||
        fts5_rank_register(fx->db, err) != 0) {
        error_prefix(err, "%s", path);
        free(path);
        fts5_close(&fx->base);
        return -1;
    }
    /* A file opened twice is the same index; a memory one is not (and a
     * temporary file, "", is private to its connection): no pool there. */
    const char *file = sqlite3_db_filename(fx->db, "main");
    if (file != NULL && file[0] != '\0' && fx->max_readers > 0) {
        fx->path = strdup(file);
        fx->readers = calloc(fx->max_readers, sizeof *fx->readers);
        if (fx->path == NULL || fx->readers == NULL) {
            free(path);
            fts5_close(&fx->base);
            return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
        }
    }
    free(path);
    *out = &fx->base;
    return 0;
}

const struct search_driver search_fts5_driver = {
    .name = "fts5",
    .description = "SQLite FTS5 in a file beside the store (express)",
    .open = fts5_open,
    .close = fts5_close,
    .index = gated_index,
    .remove = gated_remove,
    .query = fts5_query,
    .suggest = fts5_suggest,
    .clear = gated_clear,
    .count = fts5_count,
    .health = fts5_health,
    .lookup = fts5_lookup,
    .digests = fts5_digests,
    .rebuild_begin = gated_rebuild_begin,
    .rebuild_end = gated_rebuild_end,
};
