/*
 * pgfts - the normal-mode search driver: PostgreSQL full-text search in the
 * table search_docs of the database named by search.url (else store.url).
 *
 * One row per document: natural key, visibility, dates (epoch seconds, so
 * availability and boosts are computed at query time), the facet values as
 * columns and arrays (facets are one GROUP BY over the hit set), the hit
 * JSON, the search_doc_digest, and a weighted tsvector with a GIN index.
 *
 * Folding.  PostgreSQL never tokenizes anything: the driver folds every
 * field in C with search_fold_words, the very function that folds q, and
 * writes the tsvector as a literal (each lexeme single-quoted, backslash-
 * escaped).  So an indexed word equals a query word exactly when fts5's
 * unicode61 tokenizer would say so (no stemming, no stop words, ß kept),
 * which is what the conformance suite demands of both drivers.
 *
 * Fields.  A tsvector has four weights and the query language six fields,
 * so every word of a field that q can name (title, org, key, subject) is
 * written twice at the same position: plain, and prefixed by ':' and the
 * field's letter (":tcircuits").  Folded words never hold ':', so no plain
 * query word, prefix or not, can reach a prefixed lexeme.  Weights: title A,
 * short_description B, full_description C, orgs, key and subjects D.
 * Fields are one position apart, so a phrase never spans two of them.
 *
 * A query tree becomes one tsquery text (& | ! <-> :*) passed as a $n
 * parameter and cast with ::tsquery (no parsing, no normalisation); every
 * other user string (facet picks) is a parameter too.  Only integers the
 * driver computed are written into SQL text.
 *
 * Connections: a small pool, each connection used by one thread at a time.
 * A dead one is dropped and a read retried once on a fresh one; a server
 * that is down fails within the connect timeout with ERR_UNAVAILABLE.  A
 * rebuild holds one connection in a transaction: this handle's calls all go
 * through it (the index looks empty to them, then fills) while every other
 * connection keeps reading the committed index until COMMIT.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "search.h"
#include "doc_fields.h"
#include "search_query.h"
#include "strbuf.h"

#define SOON_SECONDS (60 * 24 * 3600)
#define POOL_MAX 8
#define MAX_POSITION 16383 /* tsvector positions stop here */
#define MAX_LEXEME 2000    /* bytes; PostgreSQL refuses 2048 and more */
#define MAX_VECTOR 800000  /* bytes of literal; a tsvector holds < 1 MiB */
#define MAX_PARAMS 64

/* ts_rank weights {D, C, B, A}: title above short description above full
 * description; keys, organizations and subjects between the last two. */
#define RANK_WEIGHTS "'{0.3, 0.1, 0.4, 1.0}'::float4[]"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS search_docs ("
    " content smallint NOT NULL, key text NOT NULL, public boolean NOT NULL,"
    " title text NOT NULL, start bigint, end_ bigint, enr_start bigint, enr_end bigint,"
    " self_paced boolean NOT NULL, hit text NOT NULL, digest text NOT NULL,"
    " organizations text[] NOT NULL, subjects text[] NOT NULL, seat_types text[] NOT NULL,"
    " orgs text[] NOT NULL, level_type text, language text, pacing_type text,"
    " tsv tsvector NOT NULL, PRIMARY KEY (content, key));"
    "CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING gin (tsv);"
    "CREATE INDEX IF NOT EXISTS search_docs_start ON search_docs (start);";

/* The statements whose text never varies, prepared on every connection as
 * it is made (or reset), so each call sends only a name and parameters.
 * The query statement's text follows the request, so it is not here. */
enum stmt_id { S_UPSERT, S_DELETE, S_LOOKUP, S_COUNT, S_DIGESTS, S_N };

struct stmt {
    const char *name;
    const char *sql;
    int n_params;
};

/* One batch in one statement: $1 is a JSON array of rows (see rows_add).
 * A key given twice in a batch keeps its last document (DISTINCT ON over
 * the array position, latest first), as writing them in turn would, and
 * so that ON CONFLICT never meets the same row twice. */
#define ROW_FIELDS                                                                                 \
    " (r->>'c')::smallint, r->>'k', (r->>'p')::boolean, r->>'t', (r->>'s')::bigint,"               \
    " (r->>'e')::bigint, (r->>'es')::bigint, (r->>'ee')::bigint, (r->>'sp')::boolean, r->>'h',"    \
    " r->>'d', ARRAY(SELECT DISTINCT jsonb_array_elements_text(r->'og')),"                         \
    " ARRAY(SELECT DISTINCT jsonb_array_elements_text(r->'sb')),"                                  \
    " ARRAY(SELECT DISTINCT jsonb_array_elements_text(r->'st')),"                                  \
    " ARRAY(SELECT DISTINCT jsonb_array_elements_text(r->'o')), r->>'lt', r->>'lg', r->>'pt',"     \
    " (r->>'v')::tsvector"

static const char upsert_sql[] =
    "INSERT INTO search_docs (content, key, public, title, start, end_, enr_start, enr_end,"
    " self_paced, hit, digest, organizations, subjects, seat_types, orgs, level_type, language,"
    " pacing_type, tsv) SELECT DISTINCT ON ((r->>'c')::smallint, r->>'k')" ROW_FIELDS
    " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(r, n)"
    " ORDER BY (r->>'c')::smallint, r->>'k', n DESC"
    " ON CONFLICT (content, key) DO UPDATE SET public = EXCLUDED.public,"
    " title = EXCLUDED.title, start = EXCLUDED.start, end_ = EXCLUDED.end_,"
    " enr_start = EXCLUDED.enr_start, enr_end = EXCLUDED.enr_end,"
    " self_paced = EXCLUDED.self_paced, hit = EXCLUDED.hit, digest = EXCLUDED.digest,"
    " organizations = EXCLUDED.organizations, subjects = EXCLUDED.subjects,"
    " seat_types = EXCLUDED.seat_types, orgs = EXCLUDED.orgs, level_type = EXCLUDED.level_type,"
    " language = EXCLUDED.language, pacing_type = EXCLUDED.pacing_type, tsv = EXCLUDED.tsv";

static const struct stmt stmts[] = {
    [S_UPSERT] = {"catalogd_search_upsert", upsert_sql, 1},
    [S_DELETE] = {"catalogd_search_delete",
                  "DELETE FROM search_docs WHERE content = $1::smallint AND key = $2", 2},
    [S_LOOKUP] = {"catalogd_search_lookup",
                  "SELECT hit FROM search_docs WHERE content = $1::smallint AND key = $2", 2},
    [S_COUNT] = {"catalogd_search_count", "SELECT count(*) FROM search_docs", 0},
    [S_DIGESTS] = {"catalogd_search_digests", "SELECT content, key, digest FROM search_docs", 0},
};

struct pgfts {
    struct search base;
    char *url; /* without catalogd's schema= */
    char *options;
    char *schema; /* unquoted, checked to be [a-z0-9_]+, or NULL */
    char *password;
    char timeout_s[24];
    pthread_mutex_t lock; /* pool and rebuild fields */
    PGconn *idle[POOL_MAX];
    size_t n_idle;
    PGconn *rebuild;              /* in its transaction while rebuilding */
    pthread_mutex_t rebuild_lock; /* one user of the rebuild connection */
    bool ready;                   /* the table exists: new connections prepare statements */
};

/* A connection lent to one call. */
struct lease {
    PGconn *pg;
    bool rebuild;
};

/* ---- growing strings (struct strbuf) ---- */

/* A single-quoted lexeme with an optional ":<letter>" field mark; quotes
 * and backslashes are backslash-escaped (tsvector and tsquery syntax). */
static void buf_lexeme(struct strbuf *b, char field, const char *word, size_t n)
{
    strbuf_add(b, "'");
    if (field) {
        char mark[3] = {':', field, 0};
        strbuf_add(b, mark);
    }
    for (size_t i = 0; i < n; i++) {
        if (word[i] == '\'' || word[i] == '\\')
            strbuf_add(b, "\\");
        strbuf_addn(b, &word[i], 1);
    }
    strbuf_add(b, "'");
}

/* ---- errors and connections ---- */

static bool starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int pg_error(PGconn *pg, const PGresult *res, struct error *err, const char *what)
{
    char msg[300];
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *text = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(msg, sizeof msg, "%s", text ? text : pg ? PQerrorMessage(pg) : "no connection");
    msg[strcspn(msg, "\n")] = '\0';
    enum error_code code = ERR_INTERNAL;
    /* Connection trouble, shutdown, overload, timeouts, lock waits and
     * serialization failures are worth retrying later. */
    if (pg == NULL || PQstatus(pg) == CONNECTION_BAD || starts_with(state, "08") ||
        starts_with(state, "53") || starts_with(state, "57") || starts_with(state, "40") ||
        starts_with(state, "55P03"))
        code = ERR_UNAVAILABLE;
    return error_set(err, code, "search index (pgfts): %s: %s", what, msg);
}

/* Prepares the fixed statements on a new (or reset) connection; they last
 * as long as its session.  Needs the table (PREPARE resolves names). */
static int prepare_all(PGconn *pg, struct error *err)
{
    for (int i = 0; i < S_N; i++) {
        PGresult *res = PQprepare(pg, stmts[i].name, stmts[i].sql, stmts[i].n_params, NULL);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            pg_error(pg, res, err, "prepare");
            PQclear(res);
            return -1;
        }
        PQclear(res);
    }
    return 0;
}

static PGconn *connect_new(struct pgfts *px, struct error *err)
{
    const char *keys[10], *vals[10];
    int n = 0;
    keys[n] = "dbname", vals[n++] = px->url;
    keys[n] = "connect_timeout", vals[n++] = px->timeout_s;
    keys[n] = "client_encoding", vals[n++] = "UTF8";
    keys[n] = "application_name", vals[n++] = "catalogd-search";
    keys[n] = "options", vals[n++] = px->options;
    if (px->password)
        keys[n] = "password", vals[n++] = px->password;
    keys[n] = NULL, vals[n] = NULL;
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL) {
        error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        pg_error(pg, NULL, err, "cannot connect");
        PQfinish(pg);
        return NULL;
    }
    pthread_mutex_lock(&px->lock);
    bool ready = px->ready;
    pthread_mutex_unlock(&px->lock);
    if (ready && prepare_all(pg, err) != 0) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static int acquire(struct pgfts *px, struct lease *l, struct error *err)
{
    l->pg = NULL;
    l->rebuild = false;
    pthread_mutex_lock(&px->lock);
    if (px->rebuild != NULL) {
        pthread_mutex_unlock(&px->lock);
        pthread_mutex_lock(&px->rebuild_lock);
        pthread_mutex_lock(&px->lock);
        if (px->rebuild != NULL) {
            l->pg = px->rebuild;
            l->rebuild = true;
            pthread_mutex_unlock(&px->lock);
            return 0;
        }
        pthread_mutex_unlock(&px->rebuild_lock); /* it ended meanwhile */
    }
    if (px->n_idle > 0)
        l->pg = px->idle[--px->n_idle];
    pthread_mutex_unlock(&px->lock);
    if (l->pg != NULL && PQstatus(l->pg) == CONNECTION_OK)
        return 0;
    if (l->pg != NULL)
        PQfinish(l->pg);
    l->pg = connect_new(px, err);
    return l->pg ? 0 : -1;
}

static void release(struct pgfts *px, struct lease *l)
{
    if (l->rebuild) {
        pthread_mutex_unlock(&px->rebuild_lock);
        return;
    }
    /* A connection left in a transaction or broken is not lent again. */
    bool keep =
        l->pg && PQstatus(l->pg) == CONNECTION_OK && PQtransactionStatus(l->pg) == PQTRANS_IDLE;
    pthread_mutex_lock(&px->lock);
    if (keep && px->n_idle < POOL_MAX) {
        px->idle[px->n_idle++] = l->pg;
        l->pg = NULL;
    }
    pthread_mutex_unlock(&px->lock);
    if (l->pg)
        PQfinish(l->pg);
    l->pg = NULL;
}

/* Runs sql with text parameters; returns the result (caller clears) or
 * NULL with err set.  Outside a transaction a connection found dead is
 * replaced and the statement sent once more (a server restart loses the
 * idle connections, not the call). */
static PGresult *run_any(struct lease *l, const struct stmt *stmt, const char *sql, int n,
                         const char *const *params, struct error *err, const char *what)
{
    for (int attempt = 0;; attempt++) {
        PGresult *res =
            stmt ? PQexecPrepared(l->pg, stmt->name, stmt->n_params, params, NULL, NULL, 0)
                 : PQexecParams(l->pg, sql, n, NULL, params, NULL, NULL, 0);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return res;
        bool dead = PQstatus(l->pg) == CONNECTION_BAD;
        if (dead && attempt == 0 && !l->rebuild) {
            PQclear(res);
            PQreset(l->pg); /* a new session: its prepared statements are gone */
            if (PQstatus(l->pg) == CONNECTION_OK && prepare_all(l->pg, err) == 0)
                continue;
            if (PQstatus(l->pg) != CONNECTION_OK)
                pg_error(l->pg, NULL, err, what);
            return NULL;
        }
        pg_error(l->pg, res, err, what);
        PQclear(res);
        return NULL;
    }
}

static PGresult *run(struct lease *l, const char *sql, int n, const char *const *params,
                     struct error *err, const char *what)
{
    return run_any(l, NULL, sql, n, params, err, what);
}

/* Runs one of the prepared statements (see stmts). */
static PGresult *run_stmt(struct lease *l, enum stmt_id id, const char *const *params,
                          struct error *err, const char *what)
{
    return run_any(l, &stmts[id], NULL, 0, params, err, what);
}

static int run_cmd(struct lease *l, const char *sql, struct error *err)
{
    PGresult *res = run(l, sql, 0, NULL, err, sql);
    PQclear(res);
    return res ? 0 : -1;
}

/* ---- documents to rows ---- */

/* Builds the tsvector literal, field by field. */
struct vector {
    struct strbuf b;
    int pos; /* last position used */
};

/* Adds text's folded words at consecutive positions, weight w, also as
 * field-marked lexemes when field is not 0.  Text that is not valid UTF-8
 * adds nothing (fts5 would index its bytes; the store never holds any). */
static void vector_text(struct vector *v, const char *text, char weight, char field)
{
    if (text == NULL || *text == '\0')
        return;
    size_t len = strlen(text), size = len * 3 + 16;
    char *words = malloc(size);
    if (words == NULL) {
        v->b.oom = true;
        return;
    }
    if (search_fold_words(text, len, words, size) > 0) {
        for (char *w = words; *w && v->pos < MAX_POSITION && v->b.len < MAX_VECTOR;) {
            size_t n = strcspn(w, " ");
            if (n <= MAX_LEXEME) {
                v->pos++;
                for (int twice = 0; twice < (field ? 2 : 1); twice++) {
                    buf_lexeme(&v->b, twice ? field : 0, w, n);
                    strbuf_addf(&v->b, ":%d%c ", v->pos, weight);
                }
            }
            w += n + (w[n] == ' ');
        }
    }
    free(words);
}

static void vector_list(struct vector *v, const json_t *list, char weight, char field)
{
    for (size_t k = 0; list && k < json_array_size(list); k++)
        vector_text(v, json_string_value(json_array_get(list, k)), weight, field);
}

/* Ends a field: the next one starts two positions on, so that no phrase
 * (<->, distance 1) joins the last word of one to the first of the next. */
static void vector_gap(struct vector *v)
{
    if (v->pos > 0 && v->pos < MAX_POSITION)
        v->pos++;
}

/* A copy of a string list holding only what C sees of each string (so an
 * embedded NUL, which jsonb refuses, ends the value as elsewhere). */
static json_t *list_copy(const json_t *list)
{
    json_t *copy = json_array();
    for (size_t k = 0; copy && list && k < json_array_size(list); k++)
        if (json_array_append_new(copy, json_string(json_string_value(json_array_get(list, k)))))
            json_decref(copy), copy = NULL;
    return copy;
}

/* A date as epoch seconds (JSON integer) or null when absent. */
static int opt_epoch(const json_t *doc, size_t i, const char *name, json_t **out, struct error *err)
{
    const char *text;
    time_t t;
    *out = NULL;
    if (search_doc_string(doc, i, name, &text, err) != 0)
        return -1;
    if (text == NULL) {
        *out = json_null();
        return 0;
    }
    if (clock_parse_iso8601(text, &t) != 0)
        return error_set_field(err, ERR_INVALID, "docs",
                               "docs[%zu].%s: '%.40s' is not an ISO 8601 instant", i, name, text);
    *out = json_integer((json_int_t)t);
    return *out ? 0 : error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Checks doc and appends its row for upsert_sql to rows: every column as
 * a short member (c k p t s e es ee sp h d og sb st o lt lg pt v). */
static int rows_add(json_t *rows, const json_t *doc, size_t i, struct error *err)
{
    struct search_doc_view view;
    if (search_doc_read(doc, i, &view, err) != 0)
        return -1;
    const int content = view.content;
    const char *key = view.key, *title = view.title, *shortd = view.short_description,
               *fulld = view.full_description, *level = view.level_type, *lang = view.language,
               *pacing = view.pacing_type, *status = view.status;
    const json_t *orgs = view.orgs, *organizations = view.organizations, *subjects = view.subjects,
                 *seats = view.seat_types, *hidden = view.hidden, *hit = view.hit;
    json_t *dates[4] = {0};
    if (opt_epoch(doc, i, "start", &dates[0], err) || opt_epoch(doc, i, "end", &dates[1], err) ||
        opt_epoch(doc, i, "enrollment_start", &dates[2], err) ||
        opt_epoch(doc, i, "enrollment_end", &dates[3], err)) {
        for (int k = 0; k < 4; k++)
            json_decref(dates[k]);
        return -1;
    }

    struct vector v = {0};
    vector_text(&v, title, 'A', 't');
    vector_gap(&v);
    vector_text(&v, shortd, 'B', 0);
    vector_gap(&v);
    vector_text(&v, fulld, 'C', 0);
    vector_gap(&v);
    vector_list(&v, orgs, 'D', 'o');
    vector_list(&v, organizations, 'D', 'o');
    vector_gap(&v);
    vector_text(&v, key, 'D', 'k');
    vector_gap(&v);
    vector_list(&v, subjects, 'D', 's');
    strbuf_add(&v.b, "");

    char digest[17];
    snprintf(digest, sizeof digest, "%016llx", (unsigned long long)search_doc_digest(doc));
    char *hit_text = json_dumps(hit ? hit : doc, JSON_COMPACT);
    json_t *row = NULL;
    if (!v.b.oom && hit_text != NULL)
        row = json_pack(
            "{s:i, s:s, s:b, s:s, s:o, s:o, s:o, s:o, s:b, s:s, s:s, s:o*, s:o*, s:o*, s:o*,"
            " s:o, s:o, s:o, s:s}",
            "c", content, "k", key, "p",
            search_doc_is_public(content, status, json_is_true(hidden)), "t", title, "s", dates[0],
            "e", dates[1], "es", dates[2], "ee", dates[3], "sp",
            pacing && strcmp(pacing, "self_paced") == 0, "h", hit_text, "d", digest, "og",
            list_copy(organizations), "sb", list_copy(subjects), "st", list_copy(seats), "o",
            list_copy(orgs), "lt", str_or_null(level), "lg", str_or_null(lang), "pt",
            str_or_null(pacing), "v", v.b.s);
    else
        for (int k = 0; k < 4; k++)
            json_decref(dates[k]); /* json_pack steals them only when it runs */
    free(v.b.s);
    free(hit_text);
    /* A list copy that failed is missing: the row is incomplete. */
    if (row == NULL || json_object_size(row) != 19 || json_array_append_new(rows, row) != 0)
        return error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    return 0;
}

/* Inside a rebuild a batch runs under a savepoint, so that a bad one still
 * writes nothing and leaves the rebuild going.  Outside, the one statement
 * is all or nothing by itself. */
static int write_rows(struct lease *l, const char *rows_text, struct error *err)
{
    if (l->rebuild && run_cmd(l, "SAVEPOINT batch", err) != 0)
        return -1;
    const char *p[] = {rows_text};
    PGresult *res = run_stmt(l, S_UPSERT, p, err, "write");
    int rc = res ? 0 : -1;
    PQclear(res);
    if (l->rebuild) {
        if (rc == 0)
            rc = run_cmd(l, "RELEASE SAVEPOINT batch", err);
        if (rc != 0) {
            struct error ignored = {0};
            run_cmd(l, "ROLLBACK TO SAVEPOINT batch", &ignored);
        }
    }
    return rc;
}

/* Every document is checked and turned into a row in C first (a bad one
 * names its index and sends nothing); the batch then goes in one round
 * trip as one JSON parameter of one prepared statement. */
static int pgfts_index(struct search *search, const json_t *docs, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    if (!json_is_array(docs))
        return error_set_field(err, ERR_INVALID, "docs", "docs: expected a list");
    if (json_array_size(docs) == 0)
        return 0;
    json_t *rows = json_array();
    int rc = rows ? 0 : error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    for (size_t i = 0; rc == 0 && i < json_array_size(docs); i++)
        rc = rows_add(rows, json_array_get(docs, i), i, err);
    char *text = rc == 0 ? json_dumps(rows, JSON_COMPACT) : NULL;
    json_decref(rows);
    if (rc == 0 && text == NULL)
        rc = error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    struct lease l;
    if (rc == 0 && (rc = acquire(px, &l, err)) == 0) {
        rc = write_rows(&l, text, err);
        release(px, &l);
    }
    free(text);
    return rc;
}

static int pgfts_remove(struct search *search, enum search_content content, const char *key,
                        struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    struct lease l;
    char content_s[16];
    if ((int)content < 0 || content >= SEARCH_CONTENT_COUNT || key == NULL)
        return error_set(err, ERR_INVALID, "search remove: bad content type or key");
    snprintf(content_s, sizeof content_s, "%d", (int)content);
    const char *p[] = {content_s, key};
    if (acquire(px, &l, err) != 0)
        return -1;
    PGresult *res = run_stmt(&l, S_DELETE, p, err, "remove");
    PQclear(res);
    release(px, &l);
    return res ? 0 : -1;
}

static int pgfts_clear(struct search *search, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    struct lease l;
    if (acquire(px, &l, err) != 0)
        return -1;
    int rc = run_cmd(&l, "DELETE FROM search_docs", err);
    release(px, &l);
    return rc;
}

/* ---- query tree to tsquery ---- */

enum truth { T_FALSE, T_TRUE, T_EXPR };

static char field_letter(const char *field)
{
    if (field == NULL)
        return 0;
    if (strcmp(field, "title") == 0)
        return 't';
    if (strcmp(field, "org") == 0)
        return 'o';
    if (strcmp(field, "key") == 0)
        return 'k';
    if (strcmp(field, "subject") == 0)
        return 's';
    return 0;
}

/* Writes node as tsquery text into b, or returns what it always is: ALL is
 * true, and true or false children fold away (tsquery cannot say them). */
static enum truth tsq(struct strbuf *b, const struct search_node *node)
{
    switch (node->type) {
    case SEARCH_TERM:
    case SEARCH_PHRASE: {
        const char *text = node->text ? node->text : "";
        char field = field_letter(node->field);
        if (*text == '\0')
            return T_FALSE;
        strbuf_add(b, "(");
        for (const char *w = text; *w;) {
            size_t n = strcspn(w, " ");
            if (w != text)
                strbuf_add(b, " <-> ");
            buf_lexeme(b, field, w, n);
            w += n;
            while (*w == ' ')
                w++;
            if (*w == '\0' && node->prefix)
                strbuf_add(b, ":*");
        }
        strbuf_add(b, ")");
        return T_EXPR;
    }
    case SEARCH_AND:
    case SEARCH_OR: {
        bool is_and = node->type == SEARCH_AND;
        size_t start = b->len, n = 0;
        strbuf_add(b, "(");
        for (size_t i = 0; i < node->n_children; i++) {
            size_t mark = b->len;
            if (n > 0)
                strbuf_add(b, is_and ? " & " : " | ");
            enum truth t = tsq(b, node->children[i]);
            if (t == T_EXPR) {
                n++;
                continue;
            }
            b->len = mark; /* drop the separator and anything written */
            if (b->s)
                b->s[mark] = '\0';
            if (t == (is_and ? T_FALSE : T_TRUE)) {
                b->len = start;
                if (b->s)
                    b->s[start] = '\0';
                return t;
            }
        }
        strbuf_add(b, ")");
        if (n == 0) {
            b->len = start;
            if (b->s)
                b->s[start] = '\0';
            return is_and ? T_TRUE : T_FALSE;
        }
        return T_EXPR;
    }
    case SEARCH_NOT: {
        size_t start = b->len;
        strbuf_add(b, "!");
        enum truth t = node->n_children ? tsq(b, node->children[0]) : T_FALSE;
        if (t != T_EXPR) {
            b->len = start;
            if (b->s)
                b->s[start] = '\0';
            return t == T_TRUE ? T_FALSE : T_TRUE;
        }
        return T_EXPR;
    }
    default: /* ALL */
        return T_TRUE;
    }
}

/* ---- requests to SQL ---- */

struct params {
    const char *v[MAX_PARAMS];
    int n;
};

static void param(struct strbuf *sql, struct params *p, const char *value)
{
    if (p->n >= MAX_PARAMS) {
        sql->oom = true;
        return;
    }
    p->v[p->n++] = value;
    strbuf_addf(sql, "$%d", p->n);
}

static const char *const pick_fields[] = {"organizations", "subjects",    "seat_types",
                                          "org",           "level_type",  "language",
                                          "pacing_type",   "content_type"};

/* " WHERE ..." for rq into sql; tsquery (owned by the caller, freed after
 * the statement ran) holds the query text parameter. */
static int where(struct strbuf *sql, struct params *p, const struct search_request *rq,
                 struct strbuf *tsquery, struct error *err)
{
    long long now = (long long)rq->now, soon = now + SOON_SECONDS;
    if (rq->availability != NULL && strcmp(rq->availability, "current") != 0 &&
        strcmp(rq->availability, "starting_soon") != 0 &&
        strcmp(rq->availability, "upcoming") != 0 && strcmp(rq->availability, "archived") != 0)
        return error_set_field(err, ERR_INVALID, "availability",
                               "availability must be current, starting_soon, upcoming or archived");
    strbuf_add(sql, " WHERE true");
    enum truth t = rq->query ? tsq(tsquery, rq->query) : T_TRUE;
    if (t == T_FALSE) {
        strbuf_add(sql, " AND false");
    } else if (t == T_EXPR) {
        strbuf_add(sql, " AND d.tsv @@ ");
        param(sql, p, tsquery->s);
        strbuf_add(sql, "::tsquery");
    }
    if (rq->content_mask != 0) {
        strbuf_add(sql, " AND d.content IN (-1");
        for (int c = 0; c < SEARCH_CONTENT_COUNT; c++)
            if (rq->content_mask & (1u << c))
                strbuf_addf(sql, ", %d", c);
        strbuf_add(sql, ")");
    }
    if (rq->public_only)
        strbuf_add(sql, " AND d.public");
    if (rq->start_gte)
        strbuf_addf(sql, " AND d.start >= %lld", (long long)rq->start_gte);
    if (rq->start_lte)
        strbuf_addf(sql, " AND d.start <= %lld", (long long)rq->start_lte);
    if (rq->availability != NULL) {
        const char *a = rq->availability;
        if (strcmp(a, "archived") == 0) {
            strbuf_addf(sql, " AND d.end_ < %lld", now);
        } else {
            strbuf_addf(sql, " AND (d.end_ IS NULL OR d.end_ >= %lld)", now);
            if (strcmp(a, "current") == 0)
                strbuf_addf(sql, " AND d.start <= %lld", now);
            else if (strcmp(a, "starting_soon") == 0)
                strbuf_addf(sql, " AND d.start > %lld AND d.start <= %lld", now, soon);
            else
                strbuf_addf(sql, " AND (d.start IS NULL OR d.start > %lld)", soon);
        }
    }
    for (size_t i = 0; i < rq->n_picks; i++) {
        const struct search_facet_pick *pk = &rq->picks[i];
        int f = -1;
        for (int k = 0; k < (int)(sizeof pick_fields / sizeof pick_fields[0]); k++)
            if (pk->field && strcmp(pk->field, pick_fields[k]) == 0)
                f = k;
        if (f < 0 || pk->value == NULL)
            return error_set_field(err, ERR_INVALID, "selected_facets",
                                   "unknown facet field '%.40s'", pk->field ? pk->field : "");
        if (f < 4) {
            strbuf_add(sql, " AND ");
            param(sql, p, pk->value);
            strbuf_addf(sql, " = ANY(d.%s)", f == 3 ? "orgs" : pick_fields[f]);
        } else if (f < 7) {
            strbuf_addf(sql, " AND d.%s = ", pick_fields[f]);
            param(sql, p, pk->value);
        } else {
            strbuf_addf(sql, " AND d.content = %d", search_content_of(pk->value));
        }
    }
    if (sql->oom || tsquery->oom)
        return error_set(err, ERR_INTERNAL,
                         "search index (pgfts): out of memory or too many picks");
    return 0;
}

static int query_counts(struct lease *l, const struct search_request *rq, const char *where_sql,
                        const struct params *p, size_t *total, json_t *queries, struct error *err)
{
    long long now = (long long)rq->now, soon = now + SOON_SECONDS;
    struct strbuf sql = {0};
    strbuf_addf(&sql,
                "SELECT count(*), count(*) FILTER (WHERE d.end_ < %lld),"
                " count(*) FILTER (WHERE (d.end_ IS NULL OR d.end_ >= %lld) AND d.start <= %lld),",
                now, now, now);
    strbuf_addf(&sql,
                " count(*) FILTER (WHERE (d.end_ IS NULL OR d.end_ >= %lld) AND d.start > %lld"
                " AND d.start <= %lld),",
                now, now, soon);
    strbuf_addf(&sql,
                " count(*) FILTER (WHERE (d.end_ IS NULL OR d.end_ >= %lld) AND (d.start IS NULL OR"
                " d.start > %lld)) FROM search_docs d",
                now, soon);
    strbuf_add(&sql, where_sql);
    if (sql.oom)
        return error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    PGresult *res = run(l, sql.s, p->n, p->v, err, "count");
    free(sql.s);
    if (res == NULL)
        return -1;
    *total = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    if (queries) {
        static const char *const names[] = {"availability_archived", "availability_current",
                                            "availability_starting_soon", "availability_upcoming"};
        for (int i = 0; i < 4; i++)
            json_object_set_new(queries, names[i],
                                json_integer(strtoll(PQgetvalue(res, 0, i + 1), NULL, 10)));
    }
    PQclear(res);
    return 0;
}

static int query_hits(struct lease *l, const struct search_request *rq, const char *where_sql,
                      const struct params *p, bool ranked, json_t *hits, struct error *err)
{
    long long now = (long long)rq->now;
    struct strbuf sql = {0};
    /* keys_only: the hit JSON is neither read nor sent. */
    strbuf_add(&sql, rq->keys_only ? "SELECT d.content, d.key, NULL, "
                                   : "SELECT d.content, d.key, d.hit, ");
    if (ranked)
        strbuf_add(&sql, "ts_rank(" RANK_WEIGHTS ", d.tsv, $1::tsquery)");
    else
        strbuf_add(&sql, "0.0");
    /* Boosts worth keeping from course-discovery, as fts5 applies them:
     * enrollable now, self-paced, starting in the future. */
    strbuf_addf(&sql,
                " * (1.0 + 0.05 * ((d.enr_start IS NULL OR d.enr_start <= %lld) AND"
                " (d.enr_end IS NULL OR d.enr_end >= %lld))::int + 0.05 * d.self_paced::int"
                " + 0.05 * coalesce(d.start > %lld, false)::int) AS score FROM search_docs d",
                now, now, now);
    strbuf_add(&sql, where_sql);
    switch (rq->sort) {
    case SEARCH_SORT_START:
        strbuf_add(&sql, " ORDER BY d.start IS NULL, d.start, d.content, d.key");
        break;
    case SEARCH_SORT_START_DESC:
        strbuf_add(&sql, " ORDER BY d.start IS NULL, d.start DESC, d.content, d.key");
        break;
    case SEARCH_SORT_TITLE:
        strbuf_add(&sql, " ORDER BY d.title COLLATE \"C\", d.content, d.key");
        break;
    default:
        strbuf_add(&sql, " ORDER BY score DESC, d.title COLLATE \"C\", d.content, d.key");
    }
    strbuf_addf(&sql, " LIMIT %llu OFFSET %llu", (unsigned long long)rq->limit,
                (unsigned long long)rq->offset);
    if (sql.oom)
        return error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    PGresult *res = run(l, sql.s, p->n, p->v, err, "query");
    free(sql.s);
    if (res == NULL)
        return -1;
    int rc = 0;
    for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
        int content = atoi(PQgetvalue(res, r, 0));
        const char *ctype = search_content_names[(unsigned)content % SEARCH_CONTENT_COUNT];
        if (rq->keys_only) {
            json_t *hit =
                json_pack("{s:s, s:s}", "content_type", ctype, "key", PQgetvalue(res, r, 1));
            if (hit == NULL || json_array_append_new(hits, hit) != 0)
                rc = error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
            continue;
        }
        json_t *doc = json_loads(PQgetvalue(res, r, 2), 0, NULL);
        json_t *hit = json_pack("{s:s, s:s, s:f, s:o}", "content_type", ctype, "key",
                                PQgetvalue(res, r, 1), "score", strtod(PQgetvalue(res, r, 3), NULL),
                                "doc", doc ? doc : json_object());
        if (hit == NULL || json_array_append_new(hits, hit) != 0)
            rc = error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    }
    PQclear(res);
    return rc;
}

static const char *const facet_fields[] = {"organizations", "subjects",   "level_type",  "language",
                                           "pacing_type",   "seat_types", "content_type"};

static int query_facets(struct lease *l, const char *where_sql, const struct params *p,
                        json_t *fields, struct error *err)
{
    for (size_t f = 0; f < sizeof facet_fields / sizeof facet_fields[0]; f++)
        json_object_set_new(fields, facet_fields[f], json_object());
    /* The hit set once, then one GROUP BY per field over it. */
    struct strbuf sql = {0};
    strbuf_add(&sql, "WITH h AS MATERIALIZED (SELECT d.content, d.organizations, d.subjects,"
                     " d.seat_types, d.level_type, d.language, d.pacing_type FROM search_docs d");
    strbuf_add(&sql, where_sql);
    strbuf_add(&sql,
               ") SELECT 0, v, count(*) FROM h, unnest(h.organizations) v GROUP BY v"
               " UNION ALL SELECT 1, v, count(*) FROM h, unnest(h.subjects) v GROUP BY v"
               " UNION ALL SELECT 2, level_type, count(*) FROM h WHERE level_type IS NOT NULL"
               " GROUP BY level_type"
               " UNION ALL SELECT 3, language, count(*) FROM h WHERE language IS NOT NULL"
               " GROUP BY language"
               " UNION ALL SELECT 4, pacing_type, count(*) FROM h WHERE pacing_type IS NOT NULL"
               " GROUP BY pacing_type"
               " UNION ALL SELECT 5, v, count(*) FROM h, unnest(h.seat_types) v GROUP BY v"
               " UNION ALL SELECT 6, content::text, count(*) FROM h GROUP BY content");
    if (sql.oom)
        return error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    PGresult *res = run(l, sql.s, p->n, p->v, err, "facets");
    free(sql.s);
    if (res == NULL)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        int f = atoi(PQgetvalue(res, r, 0));
        const char *value = PQgetvalue(res, r, 1);
        if (f < 0 || f > 6)
            continue;
        if (f == 6) {
            int c = atoi(value);
            if (c < 0 || c >= SEARCH_CONTENT_COUNT)
                continue;
            value = search_content_names[c];
        }
        json_object_set_new(json_object_get(fields, facet_fields[f]), value,
                            json_integer(strtoll(PQgetvalue(res, r, 2), NULL, 10)));
    }
    PQclear(res);
    return 0;
}

static int pgfts_query(struct search *search, const struct search_request *rq,
                       struct search_result *result, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    struct strbuf where_sql = {0}, tsquery = {0};
    struct params p = {0};
    memset(result, 0, sizeof *result);
    strbuf_add(&tsquery, "");
    if (where(&where_sql, &p, rq, &tsquery, err) != 0) {
        free(where_sql.s);
        free(tsquery.s);
        return -1;
    }
    /* The tsquery, when there is one, is always $1 (ranking names it). */
    bool ranked = p.n > 0 && p.v[0] == tsquery.s;
    result->hits = json_array();
    if (rq->want_facets)
        result->facets = json_pack("{s:{}, s:{}}", "fields", "queries");
    struct lease l = {0};
    int rc = 0;
    if (result->hits == NULL || (rq->want_facets && result->facets == NULL))
        rc = error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    if (rc == 0)
        rc = acquire(px, &l, err);
    if (rc == 0) {
        /* Counts, page and facets are separate statements: one snapshot
         * for all of them, or a write committed in between makes the
         * total disagree with the hits and the facet counts.  A rebuild's
         * lease is already inside its own transaction. */
        bool own_snapshot = !l.rebuild;
        if (own_snapshot)
            rc = run_cmd(&l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
        if (rc == 0)
            rc = query_counts(&l, rq, where_sql.s, &p, &result->total,
                              rq->want_facets ? json_object_get(result->facets, "queries") : NULL,
                              err);
        if (rc == 0 && rq->limit > 0 && rq->offset < result->total)
            rc = query_hits(&l, rq, where_sql.s, &p, ranked, result->hits, err);
        if (rc == 0 && rq->want_facets)
            rc = query_facets(&l, where_sql.s, &p, json_object_get(result->facets, "fields"), err);
        if (own_snapshot && PQtransactionStatus(l.pg) != PQTRANS_IDLE) {
            /* Read only: COMMIT and ROLLBACK end it alike; a connection
             * that cannot end it is not lent again (release). */
            struct error end_err = {0};
            if (run_cmd(&l, rc == 0 ? "COMMIT" : "ROLLBACK", &end_err) != 0 && rc == 0)
                rc = error_set(err, end_err.code, "%s", end_err.message);
        }
        release(px, &l);
    }
    free(where_sql.s);
    free(tsquery.s);
    if (rc != 0)
        search_result_clear(result);
    return rc;
}

/* ---- typeahead, counts, lookups ---- */

static int pgfts_suggest(struct search *search, const char *prefix, size_t limit, bool public_only,
                         json_t **out, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    char words[SEARCH_SUGGEST_WORDS_SIZE];
    int n = search_suggest_begin(prefix, words, out, err);
    if (n < 0)
        return -1;
    if (n == 0 || limit == 0)
        return 0;
    /* Every word the start of one in a title, key or organization. */
    struct strbuf q = {0};
    int k = 0;
    for (char *w = words; *w; k++) {
        size_t wl = strcspn(w, " ");
        strbuf_add(&q, k ? " & (" : "(");
        static const char marks[] = "tko";
        for (int m = 0; m < 3; m++) {
            strbuf_add(&q, m ? " | " : "");
            buf_lexeme(&q, marks[m], w, wl);
            strbuf_add(&q, ":*");
        }
        strbuf_add(&q, ")");
        w += wl + (w[wl] == ' ');
    }
    char limit_s[24];
    snprintf(limit_s, sizeof limit_s, "%zu", limit);
    const char *p[] = {q.s, limit_s};
    const char *sql = public_only
                          ? "SELECT content, hit FROM (SELECT d.content, d.hit, row_number() OVER"
                            " (PARTITION BY d.content ORDER BY ts_rank(" RANK_WEIGHTS
                            ", d.tsv, $1::tsquery) DESC, d.title COLLATE \"C\", d.key) AS rn"
                            " FROM search_docs d WHERE d.tsv @@ $1::tsquery AND d.public) s"
                            " WHERE rn <= $2::bigint ORDER BY content, rn"
                          : "SELECT content, hit FROM (SELECT d.content, d.hit, row_number() OVER"
                            " (PARTITION BY d.content ORDER BY ts_rank(" RANK_WEIGHTS
                            ", d.tsv, $1::tsquery) DESC, d.title COLLATE \"C\", d.key) AS rn"
                            " FROM search_docs d WHERE d.tsv @@ $1::tsquery) s"
                            " WHERE rn <= $2::bigint ORDER BY content, rn";
    struct lease l;
    int rc = q.oom ? error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory") : 0;
    if (rc == 0)
        rc = acquire(px, &l, err);
    if (rc == 0) {
        PGresult *res = run(&l, sql, 2, p, err, "suggest");
        rc = res ? 0 : -1;
        for (int r = 0; res && r < PQntuples(res); r++) {
            int c = atoi(PQgetvalue(res, r, 0));
            json_t *hit = json_loads(PQgetvalue(res, r, 1), 0, NULL);
            if (c >= 0 && c < SEARCH_CONTENT_COUNT)
                json_array_append_new(json_object_get(*out, search_content_names[c]),
                                      hit ? hit : json_object());
            else
                json_decref(hit);
        }
        PQclear(res);
        release(px, &l);
    }
    free(q.s);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int pgfts_count(struct search *search, size_t *out, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    struct lease l;
    if (acquire(px, &l, err) != 0)
        return -1;
    PGresult *res = run_stmt(&l, S_COUNT, NULL, err, "count");
    if (res != NULL)
        *out = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    release(px, &l);
    return res ? 0 : -1;
}

static int pgfts_health(struct search *search, struct error *err)
{
    size_t n;
    return pgfts_count(search, &n, err);
}

static int pgfts_lookup(struct search *search, enum search_content content, const char *key,
                        json_t **out, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    struct lease l;
    char content_s[16];
    *out = NULL;
    if ((int)content < 0 || content >= SEARCH_CONTENT_COUNT || key == NULL)
        return error_set(err, ERR_INVALID, "search lookup: bad content type or key");
    snprintf(content_s, sizeof content_s, "%d", (int)content);
    const char *p[] = {content_s, key};
    if (acquire(px, &l, err) != 0)
        return -1;
    PGresult *res = run_stmt(&l, S_LOOKUP, p, err, "lookup");
    int rc = res ? 0 : -1;
    if (res && PQntuples(res) > 0) {
        *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        if (*out == NULL)
            rc = error_set(err, ERR_INTERNAL, "search index (pgfts): unreadable hit");
    }
    PQclear(res);
    release(px, &l);
    return rc;
}

static int pgfts_digests(struct search *search, json_t **out, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    struct lease l;
    *out = json_pack("{s:{}, s:{}, s:{}}", "course", "courserun", "program");
    if (*out == NULL)
        return error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    if (acquire(px, &l, err) != 0) {
        json_decref(*out), *out = NULL;
        return -1;
    }
    PGresult *res = run_stmt(&l, S_DIGESTS, NULL, err, "digests");
    for (int r = 0; res && r < PQntuples(res); r++) {
        int c = atoi(PQgetvalue(res, r, 0));
        if (c >= 0 && c < SEARCH_CONTENT_COUNT)
            json_object_set_new(json_object_get(*out, search_content_names[c]),
                                PQgetvalue(res, r, 1), json_string(PQgetvalue(res, r, 2)));
    }
    int rc = res ? 0 : -1;
    PQclear(res);
    release(px, &l);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- rebuild ---- */

static int pgfts_rebuild_begin(struct search *search, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    pthread_mutex_lock(&px->lock);
    bool busy = px->rebuild != NULL;
    pthread_mutex_unlock(&px->lock);
    if (busy)
        return error_set(err, ERR_CONFLICT, "search index (pgfts): a rebuild is already under way");
    struct lease l;
    if (acquire(px, &l, err) != 0)
        return -1;
    int rc = run_cmd(&l, "BEGIN", err);
    if (rc == 0)
        rc = run_cmd(&l, "DELETE FROM search_docs", err);
    if (rc == 0) {
        pthread_mutex_lock(&px->lock);
        if (px->rebuild == NULL) {
            px->rebuild = l.pg;
            l.pg = NULL;
        } else {
            rc = error_set(err, ERR_CONFLICT,
                           "search index (pgfts): a rebuild is already under way");
        }
        pthread_mutex_unlock(&px->lock);
    }
    if (l.pg != NULL) {
        PQfinish(l.pg); /* rolls its transaction back */
        l.pg = NULL;
    }
    return rc;
}

static int pgfts_rebuild_end(struct search *search, bool commit, struct error *err)
{
    struct pgfts *px = (struct pgfts *)search;
    pthread_mutex_lock(&px->rebuild_lock); /* wait for a call still using it */
    pthread_mutex_lock(&px->lock);
    PGconn *pg = px->rebuild;
    px->rebuild = NULL;
    pthread_mutex_unlock(&px->lock);
    pthread_mutex_unlock(&px->rebuild_lock);
    if (pg == NULL)
        return error_set(err, ERR_CONFLICT, "search index (pgfts): no rebuild under way");
    struct lease l = {.pg = pg, .rebuild = true}; /* no retry on another connection */
    int rc = run_cmd(&l, commit ? "COMMIT" : "ROLLBACK", err);
    if (!commit)
        rc = 0;
    l.rebuild = false;
    release(px, &l);
    return rc;
}

/* ---- open, close ---- */

static void pgfts_close(struct search *search)
{
    struct pgfts *px = (struct pgfts *)search;
    if (px == NULL)
        return;
    for (size_t i = 0; i < px->n_idle; i++)
        PQfinish(px->idle[i]);
    if (px->rebuild)
        PQfinish(px->rebuild);
    pthread_mutex_destroy(&px->lock);
    pthread_mutex_destroy(&px->rebuild_lock);
    free(px->url);
    free(px->options);
    free(px->schema);
    if (px->password)
        memset(px->password, 0, strlen(px->password));
    free(px->password);
    free(px);
}

static uint64_t fnv64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Takes catalogd's schema=NAME or schema=@path (the store driver's rule,
 * so both find the same schema) out of url, in place. */
static int take_schema(struct pgfts *px, const struct config *config, const char *setting,
                       struct error *err)
{
    char *q = strchr(px->url, '?');
    char *p = q ? q + 1 : px->url + strlen(px->url);
    while (*p) {
        size_t len = strcspn(p, "&");
        if (strncmp(p, "schema=", 7) != 0) {
            p += len + (p[len] == '&');
            continue;
        }
        char name[64];
        size_t vlen = len - 7;
        if (vlen == 5 && strncmp(p + 7, "@path", 5) == 0) {
            const char *path = config_get(config, "store.path");
            snprintf(name, sizeof name, "catalogd_%016llx",
                     (unsigned long long)fnv64(path ? path : ""));
        } else if (vlen == 0 || vlen >= sizeof name) {
            return error_set_field(err, ERR_CONFIG, setting, "%s: schema= needs 1 to 63 bytes",
                                   setting);
        } else {
            memcpy(name, p + 7, vlen);
            name[vlen] = '\0';
        }
        for (const char *c = name; *c; c++)
            if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
                return error_set_field(err, ERR_CONFIG, setting,
                                       "%s: schema '%s' may hold only a-z, 0-9 and _", setting,
                                       name);
        free(px->schema);
        if ((px->schema = strdup(name)) == NULL)
            return error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
        char *next = p + len + (p[len] == '&');
        memmove(p, next, strlen(next) + 1);
    }
    size_t n = strlen(px->url);
    while (n > 0 && (px->url[n - 1] == '&' || px->url[n - 1] == '?'))
        px->url[--n] = '\0';
    return 0;
}

static int read_password(struct pgfts *px, const char *path, struct error *err)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    if (f == NULL)
        return error_set_field(err, ERR_CONFIG, "store.password_file", "cannot read %s", path);
    if (fgets(line, sizeof line, f) == NULL) {
        fclose(f);
        return error_set_field(err, ERR_CONFIG, "store.password_file", "%s is empty", path);
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    px->password = strdup(line);
    memset(line, 0, sizeof line);
    return px->password ? 0 : error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
}

/* Creates the schema and table once; concurrent opens take turns on an
 * advisory lock so that CREATE ... IF NOT EXISTS never races. */
static int create_tables(struct pgfts *px, struct error *err)
{
    struct lease l;
    if (acquire(px, &l, err) != 0)
        return -1;
    struct strbuf sql = {0};
    strbuf_add(&sql, "BEGIN; SELECT pg_advisory_xact_lock(1935762280);"); /* "search" */
    if (px->schema)
        strbuf_addf(&sql, "CREATE SCHEMA IF NOT EXISTS \"%s\";", px->schema);
    strbuf_add(&sql, schema_sql);
    strbuf_add(&sql, "COMMIT;");
    int rc = 0;
    if (sql.oom) {
        rc = error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    } else {
        /* A fixed multi-statement text: the simple protocol. */
        PGresult *res = PQexec(l.pg, sql.s);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pg_error(l.pg, res, err, "create tables");
        PQclear(res);
        if (rc != 0)
            PQclear(PQexec(l.pg, "ROLLBACK"));
    }
    if (rc == 0) {
        pthread_mutex_lock(&px->lock);
        px->ready = true;
        pthread_mutex_unlock(&px->lock);
        rc = prepare_all(l.pg, err);
    }
    free(sql.s);
    release(px, &l);
    return rc;
}

extern const struct search_driver search_pgfts_driver;

static int pgfts_open(const struct config *config, struct search **out, struct error *err)
{
    const char *setting = "search.url";
    const char *url = config_get(config, "search.url");
    *out = NULL;
    if (url == NULL || *url == '\0') {
        setting = "store.url";
        url = config_get(config, "store.url");
    }
    if (url == NULL || *url == '\0')
        return error_set_field(err, ERR_CONFIG, "search.url",
                               "search.url and store.url are empty (pgfts needs a PostgreSQL URL)");
    struct pgfts *px = calloc(1, sizeof *px);
    if (px == NULL || (px->url = strdup(url)) == NULL) {
        free(px);
        return error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    }
    px->base.driver = &search_pgfts_driver;
    pthread_mutex_init(&px->lock, NULL);
    pthread_mutex_init(&px->rebuild_lock, NULL);
    const char *pwfile = config_get(config, "store.password_file");
    int rc = take_schema(px, config, setting, err);
    if (rc == 0 && pwfile && *pwfile)
        rc = read_password(px, pwfile, err);
    if (rc == 0) {
        long long secs = (long long)config_int(config, "store.connect_timeout");
        long long ms = (long long)config_int(config, "store.statement_timeout");
        snprintf(px->timeout_s, sizeof px->timeout_s, "%lld", secs < 2 ? 2 : secs);
        struct strbuf opts = {0};
        /* Quiet: IF NOT EXISTS notices would reach stderr at every open. */
        strbuf_addf(&opts,
                    "-c statement_timeout=%lld -c lock_timeout=%lld"
                    " -c client_min_messages=warning",
                    ms, ms);
        if (px->schema)
            strbuf_addf(&opts, " -c search_path=%s", px->schema);
        px->options = opts.s;
        if (opts.oom || px->options == NULL)
            rc = error_set(err, ERR_INTERNAL, "search index (pgfts): out of memory");
    }
    if (rc == 0)
        rc = create_tables(px, err);
    if (rc != 0) {
        pgfts_close(&px->base);
        return -1;
    }
    *out = &px->base;
    return 0;
}

const struct search_driver search_pgfts_driver = {
    .name = "pgfts",
    .description = "PostgreSQL full-text search (normal)",
    .open = pgfts_open,
    .close = pgfts_close,
    .index = pgfts_index,
    .remove = pgfts_remove,
    .query = pgfts_query,
    .suggest = pgfts_suggest,
    .clear = pgfts_clear,
    .count = pgfts_count,
    .health = pgfts_health,
    .lookup = pgfts_lookup,
    .digests = pgfts_digests,
    .rebuild_begin = pgfts_rebuild_begin,
    .rebuild_end = pgfts_rebuild_end,
};
