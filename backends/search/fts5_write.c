/*
 * fts5_write - the fts5 driver's write path: documents into the docs, fts
 * and facets tables, one transaction per batch (a savepoint inside a
 * rebuild), with a log of what changed for the memory copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "doc_fields.h"
#include "fts5_internal.h"
#include "json_compact.h"

static int opt_date(const json_t *doc, size_t i, const char *name, sqlite3_stmt *st, int col,
                    struct meta_doc *md, struct error *err)
{
    static const uint8_t bits[] = {M_START, M_END, M_ENROLLABLE_FROM, M_ENROLLABLE_UNTIL};
    sqlite3_int64 *slots[] = {&md->start, &md->end, &md->enr_start, &md->enr_end};
    const char *text;
    time_t t;
    if (search_doc_string(doc, i, name, &text, err) != 0)
        return -1;
    if (text == NULL)
        return sqlite3_bind_null(st, col), 0;
    if (clock_parse_iso8601(text, &t) != 0)
        return error_set_field(err, ERR_INVALID, "docs",
                               "docs[%zu].%s: '%.40s' is not an ISO 8601 instant", i, name, text);
    sqlite3_bind_int64(st, col, (sqlite3_int64)t);
    *slots[col - 5] = (sqlite3_int64)t; /* columns 5..8: start .. enr_end */
    md->flags |= bits[col - 5];
    return 0;
}

/* Joins the strings of up to two lists with ". " so FTS5 sees word
 * boundaries between them. */
static char *join_lists(const json_t *a, const json_t *b)
{
    size_t len = 1;
    const json_t *lists[2] = {a, b};
    for (int l = 0; l < 2; l++)
        for (size_t k = 0; lists[l] && k < json_array_size(lists[l]); k++)
            len += strlen(json_string_value(json_array_get(lists[l], k))) + 2;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (int l = 0; l < 2; l++)
        for (size_t k = 0; lists[l] && k < json_array_size(lists[l]); k++) {
            if (out[0])
                strcat(out, ". ");
            strcat(out, json_string_value(json_array_get(lists[l], k)));
        }
    return out;
}

/* ---- the digest ----
 *
 * search_doc_digest(doc) is FNV-1a over json_dumps(doc) with sorted keys;
 * verify recomputes it that way from the store's side, so the value must
 * stay exactly that.  Writing the sorted text only to hash it afterwards
 * was a seventh of the writer thread's instructions (a whole second dump
 * of the document, hit included, with a malloc, a qsort and a lookup per
 * key of every object): instead the bytes that dump would hold are hashed
 * as they are produced, in one walk, with each object's members sorted on
 * the stack.  The escapes are jansson's (and json_compact's), checked
 * against search_doc_digest by the tests. */

#define FNV_OFFSET UINT64_C(14695981039346656037)
#define FNV_PRIME UINT64_C(1099511628211)
/* Objects of up to this many members are sorted on the stack. */
#define DIGEST_STACK_MEMBERS 32

static uint64_t fnv_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    return h;
}

/* A string as jansson dumps it without flags: '"' and '\\' escaped,
 * control characters as \b \f \n \r \t or \u00XX. */
static uint64_t fnv_string(uint64_t h, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    h = (h ^ '"') * FNV_PRIME;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            h = (h ^ c) * FNV_PRIME;
            continue;
        }
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        size_t len = 2;
        switch (c) {
        case '"':
        case '\\':
            e[1] = (char)c;
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        default:
            len = sizeof e;
        }
        h = fnv_bytes(h, e, len);
    }
    return (h ^ '"') * FNV_PRIME;
}

struct digest_member {
    const char *key;
    const json_t *value;
};

static int cmp_members(const void *a, const void *b)
{
    return strcmp(((const struct digest_member *)a)->key, ((const struct digest_member *)b)->key);
}

/* Hashes v's sorted compact text into *h; -1 for what this walk does not
 * write (a real: jansson's own formatting) or out of memory. */
static int fnv_value(uint64_t *h, const json_t *v)
{
    char num[32];
    size_t i, n;
    const char *key;
    json_t *item;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        struct digest_member stack[DIGEST_STACK_MEMBERS], *m = stack;
        n = json_object_size(v);
        if (n > DIGEST_STACK_MEMBERS && (m = malloc(n * sizeof *m)) == NULL)
            return -1;
        i = 0;
        json_object_foreach((json_t *)v, key, item)
        {
            /* Insertion sort: objects here are small, and their members
             * mostly come in the same order document after document. */
            size_t j = i++;
            if (n > DIGEST_STACK_MEMBERS) {
                m[j] = (struct digest_member){key, item};
                continue;
            }
            while (j > 0 && strcmp(m[j - 1].key, key) > 0) {
                m[j] = m[j - 1];
                j--;
            }
            m[j] = (struct digest_member){key, item};
        }
        if (n > DIGEST_STACK_MEMBERS)
            qsort(m, n, sizeof *m, cmp_members);
        int rc = 0;
        *h = (*h ^ '{') * FNV_PRIME;
        for (i = 0; rc == 0 && i < n; i++) {
            if (i)
                *h = (*h ^ ',') * FNV_PRIME;
            *h = fnv_string(*h, m[i].key, strlen(m[i].key));
            *h = (*h ^ ':') * FNV_PRIME;
            rc = fnv_value(h, m[i].value);
        }
        *h = (*h ^ '}') * FNV_PRIME;
        if (m != stack)
            free(m);
        return rc;
    }
    case JSON_ARRAY:
        *h = (*h ^ '[') * FNV_PRIME;
        n = json_array_size(v);
        for (i = 0; i < n; i++) {
            if (i)
                *h = (*h ^ ',') * FNV_PRIME;
            if (fnv_value(h, json_array_get(v, i)) != 0)
                return -1;
        }
        *h = (*h ^ ']') * FNV_PRIME;
        return 0;
    case JSON_STRING:
        *h = fnv_string(*h, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_INTEGER:
        n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *h = fnv_bytes(*h, num, n);
        return 0;
    case JSON_TRUE:
        *h = fnv_bytes(*h, "true", 4);
        return 0;
    case JSON_FALSE:
        *h = fnv_bytes(*h, "false", 5);
        return 0;
    case JSON_NULL:
        *h = fnv_bytes(*h, "null", 4);
        return 0;
    default:
        return -1;
    }
}

/* search_doc_digest(doc), the same value, without writing the text. */
static uint64_t doc_digest(const json_t *doc)
{
    uint64_t h = FNV_OFFSET;
    return fnv_value(&h, doc) == 0 ? h : search_doc_digest(doc);
}

/* Most documents have 8 to 12 facet values; more go in several
 * statements. */
#define FACET_ROWS 16

struct facet_row {
    int field;
    const char *value; /* borrowed from the document */
};

struct writer {
    sqlite3 *db;
    struct meta *meta;    /* the memory copy to log for, or NULL */
    struct meta_log *log; /* this batch's changes to it */
    sqlite3_stmt *find, *del_doc, *del_fts, *del_facets, *ins_doc, *ins_fts;
    /* A document's facet rows go in with one statement of up to
     * FACET_ROWS rows (ins_facets[k - 1] has k, prepared when first
     * needed) instead of one statement each: a facet row cost about as
     * much in the statement's start and end (two b-tree cursors opened
     * and sought from their roots) as in its two inserts. */
    sqlite3_stmt *ins_facets[FACET_ROWS];
    struct facet_row *rows; /* this document's, n_rows of cap_rows */
    size_t n_rows, cap_rows;
    struct json_compact text; /* reused for every document's hit */
};

static void writer_finalize(struct writer *w)
{
    sqlite3_finalize(w->find);
    sqlite3_finalize(w->del_doc);
    sqlite3_finalize(w->del_fts);
    sqlite3_finalize(w->del_facets);
    sqlite3_finalize(w->ins_doc);
    sqlite3_finalize(w->ins_fts);
    for (int k = 0; k < FACET_ROWS; k++)
        sqlite3_finalize(w->ins_facets[k]);
    free(w->rows);
    json_compact_free(&w->text);
}

static int writer_prepare(struct writer *w, struct error *err)
{
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } all[] = {
        {&w->find, "SELECT id FROM docs WHERE content = ? AND key = ?"},
        {&w->del_doc, "DELETE FROM docs WHERE id = ?"},
        {&w->del_fts, "DELETE FROM fts WHERE rowid = ?"},
        {&w->del_facets, "DELETE FROM facets WHERE doc = ?"},
        {&w->ins_doc, "INSERT INTO docs(content, key, public, title, start, end_, enr_start,"
                      " enr_end, self_paced, hit, digest)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
        {&w->ins_fts, "INSERT INTO fts(rowid, title, short_description, full_description, org,"
                      " key, subject) VALUES (?, ?, ?, ?, ?, ?, ?)"},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (sqlite3_prepare_v2(w->db, all[i].sql, -1, all[i].st, NULL) != SQLITE_OK)
            return fts5_db_error(w->db, err, "prepare");
    return 0;
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, struct error *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fts5_db_error(db, err, "write");
}

static struct log_op *log_push(struct writer *w, bool add, sqlite3_int64 id)
{
    struct meta_log *log = w->log;
    if (w->meta == NULL || log->failed)
        return NULL;
    if (!fts5_grow((void **)&log->ops, &log->cap_ops, log->n_ops + 1, sizeof *log->ops)) {
        log->failed = true;
        return NULL;
    }
    struct log_op *op = &log->ops[log->n_ops++];
    memset(op, 0, sizeof *op);
    op->add = add;
    op->doc.id = id;
    op->doc.facet_at = (uint32_t)log->n_facets;
    return op;
}

static int remove_id(struct writer *w, int content, const char *key, struct error *err)
{
    sqlite3_bind_int(w->find, 1, content);
    sqlite3_bind_text(w->find, 2, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(w->find);
    sqlite3_int64 id = rc == SQLITE_ROW ? sqlite3_column_int64(w->find, 0) : 0;
    sqlite3_reset(w->find);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fts5_db_error(w->db, err, "find");
    if (rc == SQLITE_DONE)
        return 0;
    sqlite3_stmt *dels[] = {w->del_fts, w->del_facets, w->del_doc};
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_int64(dels[i], 1, id);
        if (step_done(w->db, dels[i], err) != 0)
            return -1;
    }
    log_push(w, false, id);
    return 0;
}

/* Queues a facet row of the document being written (see write_facets),
 * and logs it for the memory copy. */
static int add_facet(struct writer *w, int field, const char *value, struct error *err)
{
    if (value == NULL)
        return 0;
    struct meta_log *log = w->log;
    if (w->meta != NULL && !log->failed && log->n_ops > 0) {
        struct log_op *op = &log->ops[log->n_ops - 1];
        long v = fts5_value_intern(w->meta, field, value);
        bool dup = false; /* the table keeps one row per value, so must we */
        for (uint16_t k = 0; v >= 0 && k < op->doc.n_facets; k++)
            dup |= log->facets[op->doc.facet_at + k] == (uint32_t)v;
        if (v < 0 || op->doc.n_facets == UINT16_MAX ||
            !fts5_grow((void **)&log->facets, &log->cap_facets, log->n_facets + 1,
                       sizeof *log->facets))
            log->failed = true;
        else if (!dup)
            log->facets[log->n_facets++] = (uint32_t)v, op->doc.n_facets++;
    }
    if (!fts5_grow((void **)&w->rows, &w->cap_rows, w->n_rows + 1, sizeof *w->rows))
        return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    w->rows[w->n_rows++] = (struct facet_row){field, value};
    return 0;
}

/* Writes the document's facet rows that add_facet queued (INSERT OR
 * IGNORE: the table keeps one row per value). */
static int write_facets(struct writer *w, sqlite3_int64 id, struct error *err)
{
    int rc = 0;
    for (size_t at = 0; rc == 0 && at < w->n_rows; at += FACET_ROWS) {
        size_t k = w->n_rows - at < FACET_ROWS ? w->n_rows - at : FACET_ROWS;
        sqlite3_stmt **st = &w->ins_facets[k - 1];
        if (*st == NULL) {
            char sql[64 + FACET_ROWS * 16] =
                "INSERT OR IGNORE INTO facets(doc, field, value) VALUES ";
            for (size_t j = 0; j < k; j++)
                strcat(sql, j ? ",(?1, ?, ?)" : "(?1, ?, ?)");
            if (sqlite3_prepare_v2(w->db, sql, -1, st, NULL) != SQLITE_OK)
                return fts5_db_error(w->db, err, "prepare");
        }
        sqlite3_bind_int64(*st, 1, id);
        for (size_t j = 0; j < k; j++) {
            sqlite3_bind_int(*st, (int)(2 + 2 * j), w->rows[at + j].field);
            sqlite3_bind_text(*st, (int)(3 + 2 * j), w->rows[at + j].value, -1, SQLITE_STATIC);
        }
        rc = step_done(w->db, *st, err);
    }
    w->n_rows = 0;
    return rc;
}

/* The fts row's text of a document, in fts5_hit_text_members' order. */
struct hit_text {
    const char *column[FTS5_HIT_TEXT_MEMBERS];
};

/* json_compact_elide_fn: a hit member is left out when the fts row holds
 * the same text (byte for byte: a string with a NUL in it is kept). */
static bool elide_hit_text(const char *key, const json_t *value, void *ctx)
{
    const struct hit_text *t = ctx;
    if (!json_is_string(value))
        return false;
    for (int c = 0; c < FTS5_HIT_TEXT_MEMBERS; c++)
        if (strcmp(key, fts5_hit_text_members[c]) == 0)
            return t->column[c] != NULL && json_string_length(value) == strlen(t->column[c]) &&
                   memcmp(json_string_value(value), t->column[c], strlen(t->column[c])) == 0;
    return false;
}

static int write_doc(struct writer *w, const json_t *doc, size_t i, struct error *err)
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

    if (remove_id(w, content, key, err) != 0)
        return -1;
    sqlite3_stmt *st = w->ins_doc;
    struct meta_doc md = {.content = (uint8_t)content};
    if (opt_date(doc, i, "start", st, 5, &md, err) || opt_date(doc, i, "end", st, 6, &md, err) ||
        opt_date(doc, i, "enrollment_start", st, 7, &md, err) ||
        opt_date(doc, i, "enrollment_end", st, 8, &md, err)) {
        sqlite3_clear_bindings(st);
        return -1;
    }
    /* The hit's text is bound from the writer's buffer (it lives until the
     * next document), without the text the fts row holds (fts5_hit.c);
     * jansson's copy, whole, only for what json_compact leaves to it. */
    const json_t *hit_value = hit ? hit : doc;
    struct hit_text columns = {{title, shortd, fulld}};
    char *hit_copy = NULL;
    const char *hit_text =
        json_compact_write_elided(&w->text, hit_value, elide_hit_text, &columns) == 0
            ? w->text.buf
            : (hit_copy = json_dumps(hit_value, JSON_COMPACT));
    char *org_text = join_lists(orgs, organizations);
    char *subject_text = join_lists(subjects, NULL);
    if (hit_text == NULL || org_text == NULL || subject_text == NULL) {
        free(hit_copy), free(org_text), free(subject_text);
        sqlite3_clear_bindings(st);
        return error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
    }
    sqlite3_bind_int(st, 1, content);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, search_doc_is_public(content, status, json_is_true(hidden)));
    sqlite3_bind_text(st, 4, title, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, pacing && strcmp(pacing, "self_paced") == 0);
    sqlite3_bind_text(st, 10, hit_text, -1, SQLITE_STATIC);
    char digest[17];
    snprintf(digest, sizeof digest, "%016llx", (unsigned long long)doc_digest(doc));
    sqlite3_bind_text(st, 11, digest, -1, SQLITE_STATIC);
    int rc = step_done(w->db, st, err);
    free(hit_copy);
    sqlite3_int64 id = sqlite3_last_insert_rowid(w->db);
    struct log_op *op = rc == 0 ? log_push(w, true, id) : NULL;
    if (op != NULL) {
        if (search_doc_is_public(content, status, json_is_true(hidden)))
            md.flags |= M_PUBLIC;
        if (pacing && strcmp(pacing, "self_paced") == 0)
            md.flags |= M_SELF_PACED;
        md.id = id;
        md.facet_at = op->doc.facet_at;
        op->doc = md;
    }
    if (rc == 0) {
        st = w->ins_fts;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, title, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, shortd, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, fulld, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, org_text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, subject_text, -1, SQLITE_STATIC);
        rc = step_done(w->db, st, err);
    }
    free(org_text);
    free(subject_text);
    const json_t *lists[] = {organizations, subjects, seats, orgs};
    const int list_fields[] = {F_ORGANIZATIONS, F_SUBJECTS, F_SEAT_TYPES, F_ORG};
    for (int l = 0; rc == 0 && l < 4; l++)
        for (size_t k = 0; rc == 0 && lists[l] && k < json_array_size(lists[l]); k++)
            rc = add_facet(w, list_fields[l], json_string_value(json_array_get(lists[l], k)), err);
    if (rc == 0)
        rc = add_facet(w, F_LEVEL_TYPE, level, err);
    if (rc == 0)
        rc = add_facet(w, F_LANGUAGE, lang, err);
    if (rc == 0)
        rc = add_facet(w, F_PACING_TYPE, pacing, err);
    if (rc == 0)
        rc = add_facet(w, F_CONTENT_TYPE, search_content_names[content], err);
    if (rc == 0)
        rc = write_facets(w, id, err);
    w->n_rows = 0;
    return rc;
}

/* A batch is its own transaction.  Inside a rebuild it joins the
 * rebuild's transaction without a savepoint of its own: FTS5 flushes its
 * pending terms into a new segment at every savepoint and release, so a
 * savepoint per batch made a rebuild write, and then merge, a small
 * segment every batch_size documents.  So that a failed batch still
 * leaves nothing behind, it abandons the whole rebuild instead (rolls its
 * transaction back: the old index stays); the rebuild's later batches
 * and its commit then fail, and rebuild_end(false) ends it.  Called with
 * fx->lock held. */
static int write_begin(struct fts5 *fx, struct error *err)
{
    if (!fx->rebuilding)
        return fts5_exec(fx->db, "BEGIN IMMEDIATE", err);
    if (sqlite3_get_autocommit(fx->db))
        return error_set(err, ERR_CONFLICT,
                         "search index (fts5): the rebuild was abandoned after a failed batch");
    return 0;
}

/* Commits when rc is 0, else rolls back; returns the final status. */
static int write_end(struct fts5 *fx, int rc, struct error *err)
{
    if (fx->rebuilding) {
        if (rc != 0)
            sqlite3_exec(fx->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (rc == 0)
        rc = fts5_exec(fx->db, "COMMIT", err);
    if (rc != 0)
        sqlite3_exec(fx->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int fts5_index(struct search *search, const json_t *docs, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    struct meta_log log = {0};
    struct writer w = {.db = fx->db, .log = &log};
    if (!json_is_array(docs))
        return error_set_field(err, ERR_INVALID, "docs", "docs: expected a list");
    pthread_mutex_lock(&fx->lock);
    w.meta = fx->meta.loaded && !fx->rebuilding ? &fx->meta : NULL;
    int rc = write_begin(fx, err);
    if (rc == 0) {
        rc = writer_prepare(&w, err);
        for (size_t i = 0; rc == 0 && i < json_array_size(docs); i++)
            rc = write_doc(&w, json_array_get(docs, i), i, err);
        writer_finalize(&w);
        rc = write_end(fx, rc, err);
    }
    /* Committed: the log says what changed.  Rolled back: nothing did
     * (values interned meanwhile only sit unused). */
    if (rc == 0 && w.meta != NULL)
        fts5_meta_apply(&fx->meta, &log);
    else if (rc == 0)
        fts5_meta_stale(fx);
    fts5_meta_log_free(&log);
    pthread_mutex_unlock(&fx->lock);
    return rc;
}

int fts5_remove(struct search *search, enum search_content content, const char *key,
                struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    struct meta_log log = {0};
    struct writer w = {.db = fx->db, .log = &log};
    if ((int)content < 0 || content >= SEARCH_CONTENT_COUNT || key == NULL)
        return error_set(err, ERR_INVALID, "search remove: bad content type or key");
    pthread_mutex_lock(&fx->lock);
    w.meta = fx->meta.loaded && !fx->rebuilding ? &fx->meta : NULL;
    int rc = write_begin(fx, err);
    if (rc == 0) {
        rc = writer_prepare(&w, err);
        if (rc == 0)
            rc = remove_id(&w, (int)content, key, err);
        writer_finalize(&w);
        rc = write_end(fx, rc, err);
    }
    /* Committed: the log says what changed.  Rolled back: nothing did
     * (values interned meanwhile only sit unused). */
    if (rc == 0 && w.meta != NULL)
        fts5_meta_apply(&fx->meta, &log);
    else if (rc == 0)
        fts5_meta_stale(fx);
    fts5_meta_log_free(&log);
    pthread_mutex_unlock(&fx->lock);
    return rc;
}

int fts5_clear(struct search *search, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    pthread_mutex_lock(&fx->lock);
    int rc = fts5_exec(fx->db,
                       "BEGIN IMMEDIATE; DELETE FROM fts; DELETE FROM facets; DELETE FROM docs;"
                       " COMMIT;",
                       err);
    if (rc != 0)
        sqlite3_exec(fx->db, "ROLLBACK", NULL, NULL, NULL);
    fts5_meta_stale(fx);
    pthread_mutex_unlock(&fx->lock);
    return rc;
}

/* The pending-terms budget of a rebuild and FTS5's default, restored at
 * its end.  Every time the pending terms pass it FTS5 writes a segment,
 * and segments are merged four at a time, level after level: so a larger
 * budget means fewer merges.  16 MiB took 12 % fewer instructions than the
 * default 1 MiB on the 10k corpus; 32 MiB, on the same reindex, 13 % fewer
 * page writes (333k -> 291k) and 18 % fewer reads than 16 MiB, the writer
 * thread 16 % fewer instructions (on the 1k corpus with the budget scaled
 * down alike: 2,513M -> 2,102M), for 25 MB more peak memory (70 -> 95 MB);
 * 64 MiB saved no more I/O at 10k and another 36 MB. */
#define REBUILD_HASHSIZE_SQL "INSERT INTO fts(fts, rank) VALUES('hashsize', 33554432);"
#define DEFAULT_HASHSIZE_SQL "INSERT INTO fts(fts, rank) VALUES('hashsize', 1048576);"

/* Sets db's journal mode; true when it is mode afterwards.  SQLite leaves
 * the WAL only when no other connection has the file open, and otherwise
 * answers with the mode it keeps (or SQLITE_BUSY). */
static bool set_journal_mode(sqlite3 *db, const char *mode)
{
    char sql[64];
    sqlite3_stmt *st = NULL;
    bool set = false;
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", mode);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        set = sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), mode) == 0;
    sqlite3_finalize(st);
    return set;
}

static bool index_is_empty(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    bool empty = sqlite3_prepare_v2(db, "SELECT 1 FROM docs LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
                 sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return empty;
}

/* A rebuild into an empty index file (a first import, a reindex into a new
 * file) is written through a rollback journal rather than the WAL.  A
 * rollback journal keeps only the pages the file had, so nearly all of
 * such a build is written once, straight into the file; through the WAL
 * every page was written twice, into the WAL and again at the checkpoint,
 * and each page read looked through the WAL's hash tables (the 100k
 * import: 114 s -> 97 s, 10 s of it the commit's checkpoint).  Only when
 * nothing else has the file open (set_journal_mode): a server reading the
 * index keeps the WAL and its readers; one that starts during such a build
 * waits for the lock (store.busy_timeout) like any writer would.  The WAL
 * is back at rebuild_end. */
static void rebuild_journal_begin(struct fts5 *fx)
{
    fx->rebuild_journal =
        fx->path != NULL && index_is_empty(fx->db) && set_journal_mode(fx->db, "DELETE");
}

static void rebuild_journal_end(struct fts5 *fx)
{
    /* Should this fail, nothing is lost: the rollback journal is as safe,
     * and every open of the index sets the WAL again (fts5.c, schema). */
    if (fx->rebuild_journal)
        (void)set_journal_mode(fx->db, "WAL");
    fx->rebuild_journal = false;
}

int fts5_rebuild_begin(struct search *search, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    int rc;
    pthread_mutex_lock(&fx->lock);
    if (fx->rebuilding) {
        rc = error_set(err, ERR_CONFLICT, "search index (fts5): a rebuild is already under way");
    } else {
        rebuild_journal_begin(fx);
        rc = fts5_exec(
            fx->db, "BEGIN IMMEDIATE; DELETE FROM fts; DELETE FROM facets; DELETE FROM docs;", err);
        /* FTS5 keeps a rebuild's new terms in memory and writes a segment
         * each time they pass its hash size (1 MiB by default): a larger
         * one means fewer, larger segments and less merging.  Set back
         * before the commit (it is kept in fts_config). */
        if (rc == 0)
            rc = fts5_exec(fx->db, REBUILD_HASHSIZE_SQL, err);
        if (rc != 0) {
            sqlite3_exec(fx->db, "ROLLBACK", NULL, NULL, NULL);
            rebuild_journal_end(fx);
        } else {
            fx->rebuilding = true;
        }
    }
    fts5_meta_stale(fx);
    pthread_mutex_unlock(&fx->lock);
    return rc;
}

int fts5_rebuild_end(struct search *search, bool commit, struct error *err)
{
    struct fts5 *fx = (struct fts5 *)search;
    int rc = 0;
    pthread_mutex_lock(&fx->lock);
    if (!fx->rebuilding) {
        rc = error_set(err, ERR_CONFLICT, "search index (fts5): no rebuild under way");
    } else {
        fx->rebuilding = false;
        if (commit && sqlite3_get_autocommit(fx->db))
            rc = error_set(err, ERR_CONFLICT,
                           "search index (fts5): the rebuild was abandoned after a failed batch");
        else
            rc = commit ? fts5_exec(fx->db, DEFAULT_HASHSIZE_SQL "COMMIT;", err) : -1;
        if (rc != 0)
            sqlite3_exec(fx->db, "ROLLBACK", NULL, NULL, NULL);
        rebuild_journal_end(fx);
        if (!commit)
            rc = 0;
    }
    fts5_meta_stale(fx);
    pthread_mutex_unlock(&fx->lock);
    return rc;
}
