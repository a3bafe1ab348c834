/*
 * sql_store - every store operation, written once in SQL over sql.h.
 *
 * Records: one row per record (key, uuid, the columns filters and
 * orderings use, and the rest of the canonical document as JSON in doc);
 * relation arrays in their own tables in stored order; see schema.h.
 * Reads fetch a page of rows, then each relation of the page in one query
 * (hydrate), so a page costs a fixed number of queries.
 *
 * Writes: each put/remove runs in its own transaction, or in a savepoint
 * when the caller holds an explicit one (store_begin), so an error leaves
 * nothing half-written either way; each also appends to the changes
 * outbox in the same transaction.
 *
 * Connections: one per thread, opened lazily (a pthread key), each with a
 * small cache of prepared statements keyed by SQL text.
 */
#include "store/sql.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json_compact.h"
#include "store/schema.h"
#include "strbuf.h"

/* The longest natural key kept, with its NUL: struct store_change's key. */
#define STORE_KEY_MAX ((int)sizeof(((struct store_change *)0)->key))

/* ---------------------------------------------------------------- model */

enum col_type { COL_TEXT, COL_BOOL };

/* A column copied from a document field on write. */
struct col {
    const char *name;
    const char *field;
    enum col_type type;
    int ref; /* entity kind the value must name, or -1 */
};

/* An array field kept in its own table. */
struct rel {
    const char *field;
    const char *table;
    const char *owner_col;
    const char *value_col; /* a natural key, or "doc" for seat objects */
    int target;            /* kind the keys name, or -1 for objects */
};

struct kind_info {
    const char *table;
    const char *noun; /* for messages: "organization" */
    struct col cols[12];
    struct rel rels[2];
    const char *title_col; /* NULL: no "title" ordering */
    bool has_modified;
    bool has_start;
    const char *fields[32]; /* every canonical field, for nulls */
};

#define NOREF (-1)

static const struct kind_info kinds[ENTITY_KIND_COUNT] = {
    [ENTITY_ORGANIZATION] = {.table = "organizations",
                             .noun = "organization",
                             .cols = {{"name", "name", COL_TEXT, NOREF}},
                             .fields = {"uuid", "key", "name", "description", "homepage_url",
                                        "logo_image_url", "certificate_logo_image_url",
                                        "banner_image_url", "tags", "marketing_url", "slug"}},
    [ENTITY_SUBJECT] = {.table = "subjects",
                        .noun = "subject",
                        .cols = {{"name", "name", COL_TEXT, NOREF}},
                        .fields = {"uuid", "slug", "name", "subtitle", "description",
                                   "banner_image_url", "card_image_url"}},
    [ENTITY_PROGRAM_TYPE] = {.table = "program_types",
                             .noun = "program type",
                             .cols = {{"name", "name", COL_TEXT, NOREF}},
                             .fields = {"uuid", "slug", "name", "logo_image",
                                        "applicable_seat_types", "coaching_supported"}},
    [ENTITY_COURSE] =
        {.table = "courses",
         .noun = "course",
         .cols = {{"title", "title", COL_TEXT, NOREF},
                  {"marketing_url", "marketing_url", COL_TEXT, NOREF},
                  {"modified", "modified", COL_TEXT, NOREF}},
         .rels = {{"owners", "course_owners", "course", "organization", ENTITY_ORGANIZATION},
                  {"subjects", "course_subjects", "course", "subject", ENTITY_SUBJECT}},
         .title_col = "title",
         .has_modified = true,
         .fields = {"uuid", "key", "title", "short_description", "full_description", "owners",
                    "subjects", "level_type", "image", "marketing_url", "entitlements",
                    "prerequisites_raw", "outcome", "course_type", "modified"}},
    [ENTITY_COURSE_RUN] = {.table = "course_runs",
                           .noun = "course run",
                           .cols = {{"course", "course", COL_TEXT, ENTITY_COURSE},
                                    {"title", "title", COL_TEXT, NOREF},
                                    {"status", "status", COL_TEXT, NOREF},
                                    {"hidden", "hidden", COL_BOOL, NOREF},
                                    {"start_at", "start", COL_TEXT, NOREF},
                                    {"end_at", "end", COL_TEXT, NOREF},
                                    {"enrollment_start", "enrollment_start", COL_TEXT, NOREF},
                                    {"enrollment_end", "enrollment_end", COL_TEXT, NOREF},
                                    {"pacing_type", "pacing_type", COL_TEXT, NOREF},
                                    {"marketing_url", "marketing_url", COL_TEXT, NOREF},
                                    {"modified", "modified", COL_TEXT, NOREF}},
                           .rels = {{"seats", "seats", "run", "doc", NOREF}},
                           .title_col = "title",
                           .has_modified = true,
                           .has_start = true,
                           .fields = {"uuid",
                                      "key",
                                      "course",
                                      "title",
                                      "short_description",
                                      "full_description",
                                      "start",
                                      "end",
                                      "enrollment_start",
                                      "enrollment_end",
                                      "pacing_type",
                                      "status",
                                      "hidden",
                                      "image",
                                      "marketing_url",
                                      "seats",
                                      "content_language",
                                      "transcript_languages",
                                      "min_effort",
                                      "max_effort",
                                      "weeks_to_complete",
                                      "level_type",
                                      "staff",
                                      "eligible_for_financial_aid",
                                      "modified"}},
    [ENTITY_PROGRAM] = {.table = "programs",
                        .noun = "program",
                        .cols = {{"type", "type", COL_TEXT, ENTITY_PROGRAM_TYPE},
                                 {"title", "title", COL_TEXT, NOREF},
                                 {"status", "status", COL_TEXT, NOREF},
                                 {"hidden", "hidden", COL_BOOL, NOREF},
                                 {"marketing_slug", "marketing_slug", COL_TEXT, NOREF},
                                 {"marketing_url", "marketing_url", COL_TEXT, NOREF},
                                 {"modified", "modified", COL_TEXT, NOREF}},
                        .rels = {{"courses", "program_courses", "program", "course", ENTITY_COURSE},
                                 {"authoring_organizations", "program_authoring_orgs", "program",
                                  "organization", ENTITY_ORGANIZATION}},
                        .title_col = "title",
                        .has_modified = true,
                        .fields = {"uuid", "title", "subtitle", "type", "status", "marketing_slug",
                                   "marketing_url", "banner_image", "hidden", "courses",
                                   "authoring_organizations", "card_image_url", "overview",
                                   "weeks_to_complete", "min_hours_effort_per_week",
                                   "max_hours_effort_per_week", "modified"}},
    [ENTITY_PATHWAY] = {.table = "pathways",
                        .noun = "pathway",
                        .cols = {{"name", "name", COL_TEXT, NOREF},
                                 {"status", "status", COL_TEXT, NOREF}},
                        .rels = {{"programs", "pathway_programs", "pathway", "program",
                                  ENTITY_PROGRAM}},
                        .fields = {"id", "uuid", "name", "org_name", "email", "description",
                                   "destination_url", "pathway_type", "status", "programs"}},
};

static bool is_rel_field(enum entity_kind kind, const char *field)
{
    for (size_t i = 0; i < 2 && kinds[kind].rels[i].field != NULL; i++)
        if (strcmp(kinds[kind].rels[i].field, field) == 0)
            return true;
    return false;
}

static bool is_array_field(const char *f)
{
    static const char *const arrays[] = {"tags",
                                         "applicable_seat_types",
                                         "owners",
                                         "subjects",
                                         "entitlements",
                                         "seats",
                                         "transcript_languages",
                                         "staff",
                                         "courses",
                                         "authoring_organizations",
                                         "programs",
                                         NULL};
    for (size_t i = 0; arrays[i] != NULL; i++)
        if (strcmp(arrays[i], f) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- store */

#define CACHE_SLOTS 256

struct sql_cached {
    char *sql;
    struct sql_stmt *stmt;
    bool busy; /* handed out and not yet done: never evicted then */
};

struct sql_store {
    struct store base;
    const struct sql_ops *ops;
    void *ctx;
    void (*free_ctx)(void *ctx);
    pthread_key_t key;
    pthread_mutex_t lock; /* guards conns */
    struct sql_conn *conns;
};

static struct sql_store *S(struct store *s)
{
    return (struct sql_store *)s;
}

static void conn_close(struct sql_conn *c)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (c->cache[i].stmt != NULL)
            c->ops->finalize(c->cache[i].stmt);
        free(c->cache[i].sql);
    }
    free(c->cache);
    c->ops->disconnect(c);
}

/* Thread exit: the thread's connection leaves the store's list. */
static void conn_thread_exit(void *p)
{
    struct sql_conn *c = p;
    struct sql_store *st = c->owner;
    pthread_mutex_lock(&st->lock);
    for (struct sql_conn **pp = &st->conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
    conn_close(c);
}

static int conn_get(struct store *store, struct sql_conn **out, struct error *err)
{
    struct sql_store *st = S(store);
    struct sql_conn *c = pthread_getspecific(st->key);
    if (c == NULL) {
        if (st->ops->connect(st->ctx, &c, err) != 0)
            return -1;
        c->ops = st->ops;
        c->owner = st;
        c->depth = 0;
        c->cache = calloc(CACHE_SLOTS, sizeof *c->cache);
        if (c->cache == NULL) {
            st->ops->disconnect(c);
            return error_set(err, ERR_INTERNAL, "out of memory");
        }
        pthread_mutex_lock(&st->lock);
        c->next = st->conns;
        st->conns = c;
        pthread_mutex_unlock(&st->lock);
        pthread_setspecific(st->key, c);
    }
    *out = c;
    return 0;
}

/* ------------------------------------------------------------ statements */

/* A statement in use, with a running bind index. */
struct q {
    struct sql_conn *c;
    struct sql_stmt *st;
    struct sql_cached *slot; /* NULL: not cached, finalize when done */
    int i;
    int bad; /* a bind failed; the first error is in err */
};

static uint32_t hash_text(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int q_prepare(struct sql_conn *c, const char *sql, struct q *q, struct error *err)
{
    memset(q, 0, sizeof *q);
    q->c = c;
    struct sql_cached *slot = &c->cache[hash_text(sql) % CACHE_SLOTS];
    if (slot->stmt != NULL && !slot->busy && strcmp(slot->sql, sql) == 0) {
        slot->busy = true;
        q->st = slot->stmt;
        q->slot = slot;
        return 0;
    }
    if (c->ops->prepare(c, sql, &q->st, err) != 0)
        return -1;
    if (!slot->busy) {
        char *copy = strdup(sql);
        if (copy != NULL) {
            if (slot->stmt != NULL)
                c->ops->finalize(slot->stmt);
            free(slot->sql);
            slot->sql = copy;
            slot->stmt = q->st;
            slot->busy = true;
            q->slot = slot;
        }
    }
    return 0;
}

static void q_done(struct q *q)
{
    if (q->st == NULL)
        return;
    if (q->slot != NULL) {
        q->c->ops->reset(q->st);
        q->slot->busy = false;
    } else {
        q->c->ops->finalize(q->st);
    }
    q->st = NULL;
}

static void q_text(struct q *q, const char *v, struct error *err)
{
    if (!q->bad && q->c->ops->bind_text(q->st, ++q->i, v, err) != 0)
        q->bad = 1;
}

static void q_int(struct q *q, int64_t v, struct error *err)
{
    if (!q->bad && q->c->ops->bind_int64(q->st, ++q->i, v, err) != 0)
        q->bad = 1;
}

static int q_step(struct q *q, struct error *err)
{
    if (q->bad)
        return -1;
    return q->c->ops->step(q->st, err);
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
static int q_run(struct q *q, struct error *err)
{
    int rc;
    while ((rc = q_step(q, err)) == 1)
        ;
    q_done(q);
    return rc;
}

static const char *q_col(struct q *q, int i)
{
    return q->c->ops->column_text(q->st, i);
}

static int64_t q_col_int(struct q *q, int i)
{
    return q->c->ops->column_int64(q->st, i);
}

/* ---------------------------------------------------------- transactions */

static int write_begin(struct sql_conn *c, struct error *err)
{
    return c->ops->exec(c, c->depth == 0 ? c->ops->begin_sql : "SAVEPOINT w", err);
}

/* Commits (ok) or undoes the write; returns 0 only when it committed. */
static int write_end(struct sql_conn *c, bool ok, struct error *err)
{
    struct error ignored;
    if (c->depth == 0) {
        if (ok && c->ops->exec(c, "COMMIT", err) == 0)
            return 0;
        c->ops->exec(c, "ROLLBACK", &ignored);
        return -1;
    }
    if (ok && c->ops->exec(c, "RELEASE SAVEPOINT w", err) == 0)
        return 0;
    c->ops->exec(c, "ROLLBACK TO SAVEPOINT w", &ignored);
    c->ops->exec(c, "RELEASE SAVEPOINT w", &ignored);
    return -1;
}

int sql_store_begin(struct store *store, struct error *err)
{
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    char sql[64];
    if (c->depth == 0)
        snprintf(sql, sizeof sql, "%s", c->ops->begin_sql);
    else
        snprintf(sql, sizeof sql, "SAVEPOINT t%d", c->depth);
    if (c->ops->exec(c, sql, err) != 0)
        return -1;
    c->depth++;
    return 0;
}

/* Back in the usual journal once the bulk transaction has ended. */
static void bulk_end(struct sql_conn *c)
{
    if (c->bulk && c->depth == 0) {
        (void)c->ops->bulk_journal(c, false);
        c->bulk = false;
    }
}

int sql_store_begin_bulk(struct store *store, struct error *err)
{
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    if (c->depth == 0 && c->ops->bulk_journal != NULL)
        c->bulk = c->ops->bulk_journal(c, true);
    if (sql_store_begin(store, err) != 0) {
        bulk_end(c);
        return -1;
    }
    return 0;
}

int sql_store_commit(struct store *store, struct error *err)
{
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    if (c->depth == 0)
        return error_set(err, ERR_INTERNAL, "commit without begin");
    char sql[64];
    if (c->depth == 1)
        snprintf(sql, sizeof sql, "COMMIT");
    else
        snprintf(sql, sizeof sql, "RELEASE SAVEPOINT t%d", c->depth - 1);
    if (c->ops->exec(c, sql, err) != 0) {
        sql_store_rollback(store);
        return -1;
    }
    c->depth--;
    bulk_end(c);
    return 0;
}

int sql_store_rollback(struct store *store)
{
    struct error ignored;
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, &ignored) != 0 || c->depth == 0)
        return -1;
    c->depth--;
    if (c->depth == 0) {
        int rc = c->ops->exec(c, "ROLLBACK", &ignored);
        bulk_end(c);
        return rc;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT t%d", c->depth);
    int rc = c->ops->exec(c, sql, &ignored);
    snprintf(sql, sizeof sql, "RELEASE SAVEPOINT t%d", c->depth);
    if (c->ops->exec(c, sql, &ignored) != 0)
        rc = -1;
    return rc;
}

/* ------------------------------------------------------------- builder */

/* SQL text under construction (struct strbuf): only fixed fragments and
 * '?' go in. */

/* "?, ?, ?" for n parameters. */
static void sb_marks(struct strbuf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        strbuf_add(b, i ? ", ?" : "?");
}

/* Parameters collected while building a WHERE clause. */
struct binds {
    struct {
        const char *text;
        int64_t num;
        bool is_num;
    } v[64];
    size_t n;
};

/* ---------------------------------------------------------------- reads */

/* A page of rows being turned into canonical documents. */
struct rows {
    json_t *docs;   /* array */
    json_t *by_key; /* key -> doc (borrowed from docs) */
};

static const char *jstr(const json_t *doc, const char *field)
{
    return json_string_value(json_object_get(doc, field));
}

/* Parses one row (id, key, doc) into the canonical form minus relations. */
static int row_doc(enum entity_kind kind, struct q *q, struct rows *r, struct error *err)
{
    const char *text = q_col(q, 2);
    json_error_t jerr;
    json_t *doc = json_loads(text ? text : "{}", 0, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        return error_set(err, ERR_INTERNAL, "stored %s '%s' is not a JSON object", kinds[kind].noun,
                         q_col(q, 1) ? q_col(q, 1) : "");
    }
    const struct kind_info *k = &kinds[kind];
    for (size_t i = 0; i < 32 && k->fields[i] != NULL; i++) {
        const char *f = k->fields[i];
        if (json_object_get(doc, f) == NULL)
            json_object_set_new(doc, f, is_array_field(f) ? json_array() : json_null());
    }
    for (size_t i = 0; i < 2 && k->rels[i].field != NULL; i++)
        json_object_set_new(doc, k->rels[i].field, json_array());
    if (kind == ENTITY_PATHWAY)
        json_object_set_new(doc, "id", json_integer(q_col_int(q, 0)));
    json_object_set(r->by_key, q_col(q, 1), doc);
    json_array_append_new(r->docs, doc);
    return 0;
}

#define HYDRATE_BATCH 400

/* Fills every relation array of the documents in r, one query per
 * relation per batch of records. */
static int hydrate(struct sql_conn *c, enum entity_kind kind, struct rows *r, struct error *err)
{
    const struct kind_info *k = &kinds[kind];
    const char *key_field = entity_key_field(kind);
    size_t n = json_array_size(r->docs);
    for (size_t ri = 0; ri < 2 && k->rels[ri].field != NULL; ri++) {
        const struct rel *rel = &k->rels[ri];
        for (size_t from = 0; from < n; from += HYDRATE_BATCH) {
            size_t m = n - from < HYDRATE_BATCH ? n - from : HYDRATE_BATCH;
            struct strbuf b = {0};
            strbuf_addf(&b, "SELECT %s, %s FROM %s WHERE %s IN (", rel->owner_col, rel->value_col,
                        rel->table, rel->owner_col);
            sb_marks(&b, m);
            strbuf_addf(&b, ") ORDER BY %s, pos", rel->owner_col);
            if (b.oom) {
                free(b.s);
                return error_set(err, ERR_INTERNAL, "out of memory");
            }
            struct q q;
            int rc = q_prepare(c, b.s, &q, err);
            free(b.s);
            if (rc != 0)
                return -1;
            for (size_t i = 0; i < m; i++)
                q_text(&q, jstr(json_array_get(r->docs, from + i), key_field), err);
            while ((rc = q_step(&q, err)) == 1) {
                json_t *doc = json_object_get(r->by_key, q_col(&q, 0));
                const char *v = q_col(&q, 1);
                if (doc == NULL || v == NULL)
                    continue;
                json_t *val;
                if (rel->target == NOREF) {
                    json_error_t jerr;
                    val = json_loads(v, 0, &jerr);
                    if (val == NULL)
                        val = json_null();
                } else {
                    val = json_string(v);
                }
                json_array_append_new(json_object_get(doc, rel->field), val);
            }
            q_done(&q);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

static void rows_init(struct rows *r)
{
    r->docs = json_array();
    r->by_key = json_object();
}

static void rows_free(struct rows *r)
{
    json_decref(r->docs);
    json_decref(r->by_key);
}

/* Runs a prepared SELECT id, key, doc and hydrates the result into r. */
static int fetch(struct sql_conn *c, enum entity_kind kind, struct q *q, struct rows *r,
                 struct error *err)
{
    int rc;
    while ((rc = q_step(q, err)) == 1)
        if (row_doc(kind, q, r, err) != 0) {
            rc = -1;
            break;
        }
    q_done(q);
    if (rc != 0)
        return -1;
    return hydrate(c, kind, r, err);
}

static int get_on(struct sql_conn *c, enum entity_kind kind, const char *key_or_uuid, json_t **out,
                  struct error *err)
{
    static const char *const by[] = {"key", "uuid"};
    for (size_t i = 0; i < 2; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT id, key, doc FROM %s WHERE %s = ?", kinds[kind].table,
                 by[i]);
        struct q q;
        if (q_prepare(c, sql, &q, err) != 0)
            return -1;
        q_text(&q, key_or_uuid, err);
        struct rows r;
        rows_init(&r);
        if (fetch(c, kind, &q, &r, err) != 0) {
            rows_free(&r);
            return -1;
        }
        if (json_array_size(r.docs) > 0) {
            *out = json_incref(json_array_get(r.docs, 0));
            rows_free(&r);
            return 0;
        }
        rows_free(&r);
    }
    return error_set(err, ERR_NOT_FOUND, "%s '%s' does not exist", kinds[kind].noun, key_or_uuid);
}

int sql_store_get(struct store *store, enum entity_kind kind, const char *key_or_uuid, json_t **out,
                  struct error *err)
{
    struct sql_conn *c = NULL;
    if ((unsigned)kind >= ENTITY_KIND_COUNT)
        return error_set(err, ERR_INVALID, "unknown kind");
    if (key_or_uuid == NULL)
        return error_set(err, ERR_NOT_FOUND, "no key given");
    if (conn_get(store, &c, err) != 0)
        return -1;
    return get_on(c, kind, key_or_uuid, out, err);
}

/* ----------------------------------------------------------------- list */

static void bind_push(struct binds *bs, const char *text, int64_t num, bool is_num)
{
    if (bs->n < sizeof bs->v / sizeof bs->v[0]) {
        bs->v[bs->n].text = text;
        bs->v[bs->n].num = num;
        bs->v[bs->n].is_num = is_num;
        bs->n++;
    }
}

/* Where-clause pieces refer to the listed table as t.  Lists of any
 * length are appended as their own parameters after the fixed ones; to
 * keep parameter order equal to text order, the IN lists come first. */
struct where {
    struct strbuf b;
    struct binds bs;
    const char *const *in_vals[3];
    size_t in_n[3];
    size_t n_in;
};

static void where_and(struct where *w, const char *clause)
{
    strbuf_add(&w->b, w->b.len ? " AND " : " WHERE ");
    strbuf_add(&w->b, clause);
}

static void where_in(struct where *w, const char *col, const char *const *vals, size_t n)
{
    strbuf_add(&w->b, w->b.len ? " AND " : " WHERE ");
    if (n == 0) {
        strbuf_add(&w->b, "1 = 0"); /* any of nothing matches nothing */
        return;
    }
    strbuf_addf(&w->b, "%s IN (", col);
    sb_marks(&w->b, n);
    strbuf_add(&w->b, ")");
    w->in_vals[w->n_in] = vals;
    w->in_n[w->n_in] = n;
    w->n_in++;
}

#define RUN_MARKETABLE(r)                                                                          \
    "(" r ".status = 'published' AND EXISTS (SELECT 1 FROM seats s WHERE s.run = " r ".key)"       \
    " AND " r ".marketing_url IS NOT NULL AND " r ".marketing_url <> '')"
#define RUN_ACTIVE(r)                                                                              \
    "((" r ".end_at IS NULL OR " r ".end_at > ?) AND (" r ".enrollment_end IS NULL OR " r          \
    ".enrollment_end > ?))"

static void where_flag(struct where *w, int flag, const char *cond)
{
    if (flag < 0)
        return;
    char buf[512];
    snprintf(buf, sizeof buf, flag ? "%s" : "NOT %s", cond);
    where_and(w, buf);
}

/* Builds the WHERE clause of a list.  IN lists are placed first so that
 * their parameters precede the fixed ones. */
static void build_where(const struct store_query *qy, struct where *w, char now[32])
{
    enum entity_kind kind = qy->kind;
    if (qy->keys != NULL)
        where_in(w, "t.key", qy->keys, qy->n_keys);
    if (qy->uuids != NULL)
        where_in(w, "t.uuid", qy->uuids, qy->n_uuids);
    bool has_status = kind == ENTITY_COURSE_RUN || kind == ENTITY_PROGRAM || kind == ENTITY_PATHWAY;
    if (qy->statuses != NULL && has_status)
        where_in(w, "t.status", qy->statuses, qy->n_statuses);
    clock_format_iso8601(qy->now, now, 32);

    switch (kind) {
    case ENTITY_COURSE_RUN:
        if (qy->hidden >= 0) {
            where_and(w, "t.hidden = ?");
            bind_push(&w->bs, NULL, qy->hidden ? 1 : 0, true);
        }
        where_flag(w, qy->marketable, RUN_MARKETABLE("t"));
        if (qy->active >= 0) {
            where_flag(w, qy->active, RUN_ACTIVE("t"));
            bind_push(&w->bs, now, 0, false);
            bind_push(&w->bs, now, 0, false);
        }
        if (qy->course != NULL) {
            where_and(w, "t.course = ?");
            bind_push(&w->bs, qy->course, 0, false);
        }
        if (qy->pacing_type != NULL) {
            where_and(w, "t.pacing_type = ?");
            bind_push(&w->bs, qy->pacing_type, 0, false);
        }
        if (qy->public_only)
            where_and(w, "t.status = 'published' AND t.hidden = 0");
        break;
    case ENTITY_COURSE:
        where_flag(w, qy->marketable,
                   "EXISTS (SELECT 1 FROM course_runs r WHERE r.course = t.key AND " RUN_MARKETABLE(
                       "r") ")");
        if (qy->active >= 0) {
            where_flag(w, qy->active,
                       "EXISTS (SELECT 1 FROM course_runs r WHERE r.course = t.key AND " RUN_ACTIVE(
                           "r") ")");
            bind_push(&w->bs, now, 0, false);
            bind_push(&w->bs, now, 0, false);
        }
        if (qy->organization != NULL) {
            where_and(w, "EXISTS (SELECT 1 FROM course_owners o WHERE o.course = t.key AND"
                         " o.organization = ?)");
            bind_push(&w->bs, qy->organization, 0, false);
        }
        break;
    case ENTITY_PROGRAM:
        if (qy->hidden >= 0) {
            where_and(w, "t.hidden = ?");
            bind_push(&w->bs, NULL, qy->hidden ? 1 : 0, true);
        }
        where_flag(w, qy->marketable,
                   "(t.status = 'active' AND t.marketing_slug IS NOT NULL AND"
                   " t.marketing_slug <> '')");
        if (qy->course != NULL) {
            /* IN, not a correlated EXISTS: the planner then starts from
             * program_courses_course instead of scanning every program. */
            where_and(w, "t.key IN (SELECT pc.program FROM program_courses pc WHERE"
                         " pc.course = ?)");
            bind_push(&w->bs, qy->course, 0, false);
        }
        if (qy->program_type != NULL) {
            where_and(w, "t.type IN (SELECT pt.key FROM program_types pt WHERE pt.key = ? OR"
                         " pt.name = ?)");
            bind_push(&w->bs, qy->program_type, 0, false);
            bind_push(&w->bs, qy->program_type, 0, false);
        }
        if (qy->organization != NULL) {
            where_and(w, "EXISTS (SELECT 1 FROM program_authoring_orgs ao WHERE"
                         " ao.program = t.key AND ao.organization = ?)");
            bind_push(&w->bs, qy->organization, 0, false);
        }
        if (qy->public_only)
            where_and(w, "t.status IN ('active', 'retired')");
        break;
    default:
        break;
    }
}

static void bind_where(struct q *q, const struct where *w, struct error *err)
{
    for (size_t i = 0; i < w->n_in; i++)
        for (size_t j = 0; j < w->in_n[i]; j++)
            q_text(q, w->in_vals[i][j], err);
    for (size_t i = 0; i < w->bs.n; i++) {
        if (w->bs.v[i].is_num)
            q_int(q, w->bs.v[i].num, err);
        else
            q_text(q, w->bs.v[i].text, err);
    }
}

/* The ORDER BY clause for ordering (NULL: natural key).  Nulls sort last
 * ascending and first descending in every dialect; ties break by key. */
static int build_order(enum entity_kind kind, const char *ordering, struct strbuf *b,
                       struct error *err)
{
    if (ordering == NULL || *ordering == '\0') {
        strbuf_add(b, " ORDER BY t.key");
        return 0;
    }
    bool desc = ordering[0] == '-';
    const char *name = desc ? ordering + 1 : ordering;
    const struct kind_info *k = &kinds[kind];
    const char *col = NULL;
    if (strcmp(name, "key") == 0)
        col = "t.key";
    else if (strcmp(name, "uuid") == 0)
        col = "t.uuid";
    else if (strcmp(name, "title") == 0 && k->title_col != NULL)
        col = "t.title";
    else if (strcmp(name, "modified") == 0 && k->has_modified)
        col = "t.modified";
    else if (strcmp(name, "start") == 0 && k->has_start)
        col = "t.start_at";
    if (col == NULL)
        return error_set_field(err, ERR_INVALID, "ordering", "cannot order %ss by '%s'", k->noun,
                               name);
    const char *dir = desc ? "DESC" : "ASC";
    strbuf_addf(b, " ORDER BY (%s IS NULL) %s, %s %s", col, dir, col, dir);
    if (strcmp(col, "t.key") != 0)
        strbuf_add(b, ", t.key");
    return 0;
}

int sql_store_list(struct store *store, const struct store_query *qy, struct store_page *page,
                   struct error *err)
{
    page->items = NULL;
    page->total = 0;
    if ((unsigned)qy->kind >= ENTITY_KIND_COUNT)
        return error_set(err, ERR_INVALID, "unknown kind");
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    struct where w;
    memset(&w, 0, sizeof w);
    char now[32];
    build_where(qy, &w, now);
    struct strbuf order = {0};
    if (build_order(qy->kind, qy->ordering, &order, err) != 0) {
        free(w.b.s);
        free(order.s);
        return -1;
    }
    const char *table = kinds[qy->kind].table;
    const char *where = w.b.s ? w.b.s : "";
    int rc = 0;
    struct strbuf b = {0};
    if (qy->count_total) {
        strbuf_addf(&b, "SELECT COUNT(*) FROM %s t", table);
        strbuf_add(&b, where);
        struct q q;
        rc = b.oom ? error_set(err, ERR_INTERNAL, "out of memory") : q_prepare(c, b.s, &q, err);
        if (rc == 0) {
            bind_where(&q, &w, err);
            rc = q_step(&q, err);
            if (rc == 1)
                page->total = (size_t)q_col_int(&q, 0);
            q_done(&q);
            rc = rc == 1 ? 0 : -1;
        }
        b.len = 0;
    }
    struct rows r;
    rows_init(&r);
    if (rc == 0) {
        strbuf_addf(&b, "SELECT t.id, t.key, t.doc FROM %s t", table);
        strbuf_add(&b, where);
        strbuf_add(&b, order.s);
        strbuf_add(&b, " LIMIT ? OFFSET ?");
        struct q q;
        rc = b.oom ? error_set(err, ERR_INTERNAL, "out of memory") : q_prepare(c, b.s, &q, err);
        if (rc == 0) {
            bind_where(&q, &w, err);
            q_int(&q, qy->limit ? (int64_t)qy->limit : INT64_MAX, err);
            q_int(&q, (int64_t)qy->offset, err);
            rc = fetch(c, qy->kind, &q, &r, err);
        }
    }
    free(b.s);
    free(w.b.s);
    free(order.s);
    if (rc != 0) {
        rows_free(&r);
        return -1;
    }
    page->items = json_incref(r.docs);
    rows_free(&r);
    return 0;
}

#define EACH_BATCH 256

int sql_store_each(struct store *store, enum entity_kind kind, store_each_fn fn, void *ctx,
                   struct error *err)
{
    if ((unsigned)kind >= ENTITY_KIND_COUNT)
        return error_set(err, ERR_INVALID, "unknown kind");
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id, key, doc FROM %s WHERE key > ? ORDER BY key LIMIT %d",
             kinds[kind].table, EACH_BATCH);
    /* Key-set paging: each batch starts after the last key seen, so the
     * callback may write to the store without disturbing the walk. */
    char *after = strdup("");
    if (after == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    for (;;) {
        struct q q;
        if (q_prepare(c, sql, &q, err) != 0)
            break;
        q_text(&q, after, err);
        struct rows r;
        rows_init(&r);
        if (fetch(c, kind, &q, &r, err) != 0) {
            rows_free(&r);
            break;
        }
        size_t n = json_array_size(r.docs);
        size_t i;
        json_t *doc;
        int rc = 0;
        json_array_foreach(r.docs, i, doc)
        {
            if ((rc = fn(ctx, doc, err)) != 0)
                break;
        }
        if (rc == 0 && n == EACH_BATCH) {
            free(after);
            after = strdup(jstr(json_array_get(r.docs, n - 1), entity_key_field(kind)));
            rows_free(&r);
            if (after == NULL)
                return error_set(err, ERR_INTERNAL, "out of memory");
            continue;
        }
        rows_free(&r);
        free(after);
        return rc == 0 ? 0 : -1;
    }
    free(after);
    return -1;
}

int sql_store_count(struct store *store, enum entity_kind kind, size_t *out, struct error *err)
{
    if ((unsigned)kind >= ENTITY_KIND_COUNT)
        return error_set(err, ERR_INVALID, "unknown kind");
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", kinds[kind].table);
    struct q q;
    if (q_prepare(c, sql, &q, err) != 0)
        return -1;
    int rc = q_step(&q, err);
    if (rc == 1)
        *out = (size_t)q_col_int(&q, 0);
    q_done(&q);
    return rc == 1 ? 0 : -1;
}

/* --------------------------------------------------------------- writes */

static int add_change(struct sql_conn *c, enum entity_kind kind, const char *key, bool deleted,
                      struct error *err)
{
    char now[32];
    clock_format_iso8601(clock_now(), now, sizeof now);
    struct q q;
    if (q_prepare(c, "INSERT INTO changes (kind, key, op, changed_at) VALUES (?, ?, ?, ?)", &q,
                  err) != 0)
        return -1;
    q_text(&q, entity_kind_name(kind), err);
    q_text(&q, key, err);
    q_text(&q, deleted ? "delete" : "put", err);
    q_text(&q, now, err);
    return q_run(&q, err) == 0 ? 0 : -1;
}

/* 1 when a record of kind has column col = value, 0 when not, -1 on error. */
static int exists(struct sql_conn *c, enum entity_kind kind, const char *col, const char *value,
                  char *other_key, size_t other_size, struct error *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT key FROM %s WHERE %s = ?", kinds[kind].table, col);
    struct q q;
    if (q_prepare(c, sql, &q, err) != 0)
        return -1;
    q_text(&q, value, err);
    int rc = q_step(&q, err);
    if (rc == 1 && other_key != NULL)
        snprintf(other_key, other_size, "%s", q_col(&q, 0) ? q_col(&q, 0) : "");
    q_done(&q);
    return rc;
}

static int check_ref(struct sql_conn *c, int target, const char *field, const char *value,
                     struct error *err)
{
    int rc = exists(c, (enum entity_kind)target, "key", value, NULL, 0, err);
    if (rc == 0)
        return error_set_field(err, ERR_INVALID, field, "%s '%s' does not exist",
                               kinds[target].noun, value);
    return rc == 1 ? 0 : -1;
}

/* Every reference the document makes must name an existing record. */
static int check_refs(struct sql_conn *c, enum entity_kind kind, const json_t *doc,
                      struct error *err)
{
    const struct kind_info *k = &kinds[kind];
    for (size_t i = 0; i < 12 && k->cols[i].name != NULL; i++) {
        const char *v = jstr(doc, k->cols[i].field);
        if (k->cols[i].ref != NOREF && v != NULL &&
            check_ref(c, k->cols[i].ref, k->cols[i].field, v, err) != 0)
            return -1;
    }
    if (kind == ENTITY_COURSE_RUN && jstr(doc, "course") == NULL)
        return error_set_field(err, ERR_INVALID, "course", "a course run needs its course");
    for (size_t i = 0; i < 2 && k->rels[i].field != NULL; i++) {
        const struct rel *rel = &k->rels[i];
        const json_t *arr = json_object_get(doc, rel->field);
        size_t j;
        const json_t *v;
        if (rel->target == NOREF)
            continue;
        json_array_foreach(arr, j, v)
        {
            if (!json_is_string(v))
                return error_set_field(err, ERR_INVALID, rel->field, "%s must hold %s keys",
                                       rel->field, kinds[rel->target].noun);
            if (check_ref(c, rel->target, rel->field, json_string_value(v), err) != 0)
                return -1;
        }
    }
    return 0;
}

/* The document as kept in doc: without relation arrays and store ids. */
static char *doc_text(enum entity_kind kind, const json_t *doc)
{
    json_t *copy = json_object();
    const char *f;
    json_t *v;
    json_object_foreach((json_t *)doc, f, v)
    {
        if (is_rel_field(kind, f) || (kind == ENTITY_PATHWAY && strcmp(f, "id") == 0))
            continue;
        json_object_set(copy, f, v);
    }
    /* json_compact: jansson's dump was 12.8 % of an import's store writes */
    struct json_compact w = {0};
    char *text = json_compact_dumps(&w, copy, true);
    json_compact_free(&w);
    json_decref(copy);
    return text;
}

static void bind_col(struct q *q, const struct col *col, const json_t *doc, struct error *err)
{
    const json_t *v = json_object_get(doc, col->field);
    if (col->type == COL_BOOL)
        q_int(q, json_is_true(v) ? 1 : 0, err);
    else
        q_text(q, json_string_value(v), err);
}

static int write_row(struct sql_conn *c, enum entity_kind kind, const json_t *doc, const char *key,
                     bool update, struct error *err)
{
    const struct kind_info *k = &kinds[kind];
    struct strbuf b = {0};
    size_t ncols = 0;
    while (ncols < 12 && k->cols[ncols].name != NULL)
        ncols++;
    if (update) {
        strbuf_addf(&b, "UPDATE %s SET uuid = ?, doc = ?", k->table);
        for (size_t i = 0; i < ncols; i++)
            strbuf_addf(&b, ", %s = ?", k->cols[i].name);
        strbuf_add(&b, " WHERE key = ?");
    } else {
        strbuf_addf(&b, "INSERT INTO %s (uuid, doc", k->table);
        for (size_t i = 0; i < ncols; i++)
            strbuf_addf(&b, ", %s", k->cols[i].name);
        strbuf_add(&b, ", key) VALUES (");
        sb_marks(&b, ncols + 3);
        strbuf_add(&b, ")");
    }
    char *text = doc_text(kind, doc);
    struct q q;
    int rc = b.oom || text == NULL ? error_set(err, ERR_INTERNAL, "out of memory")
                                   : q_prepare(c, b.s, &q, err);
    free(b.s);
    if (rc == 0) {
        q_text(&q, jstr(doc, "uuid"), err);
        q_text(&q, text, err);
        for (size_t i = 0; i < ncols; i++)
            bind_col(&q, &k->cols[i], doc, err);
        q_text(&q, key, err);
        rc = q_run(&q, err);
    }
    free(text);
    return rc;
}

static int write_rels(struct sql_conn *c, enum entity_kind kind, const json_t *doc, const char *key,
                      bool update, struct error *err)
{
    const struct kind_info *k = &kinds[kind];
    for (size_t i = 0; i < 2 && k->rels[i].field != NULL; i++) {
        const struct rel *rel = &k->rels[i];
        char sql[200];
        struct q q;
        if (update) {
            snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s = ?", rel->table, rel->owner_col);
            if (q_prepare(c, sql, &q, err) != 0)
                return -1;
            q_text(&q, key, err);
            if (q_run(&q, err) != 0)
                return -1;
        }
        if (rel->target == NOREF)
            snprintf(sql, sizeof sql, "INSERT INTO %s (%s, pos, %s, type) VALUES (?, ?, ?, ?)",
                     rel->table, rel->owner_col, rel->value_col);
        else
            snprintf(sql, sizeof sql, "INSERT INTO %s (%s, pos, %s) VALUES (?, ?, ?)", rel->table,
                     rel->owner_col, rel->value_col);
        const json_t *arr = json_object_get(doc, rel->field);
        size_t j;
        const json_t *v;
        json_array_foreach(arr, j, v)
        {
            if (q_prepare(c, sql, &q, err) != 0)
                return -1;
            q_text(&q, key, err);
            q_int(&q, (int64_t)j, err);
            char *text = NULL;
            if (rel->target == NOREF) {
                text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
                q_text(&q, text ? text : "null", err);
                q_text(&q, jstr(v, "type"), err);
            } else {
                q_text(&q, json_string_value(v), err);
            }
            int rc = q_run(&q, err);
            free(text);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

static int put_on(struct sql_conn *c, enum entity_kind kind, const json_t *doc, enum store_put mode,
                  struct error *err)
{
    const char *key_field = entity_key_field(kind);
    const char *key = jstr(doc, key_field);
    const char *uuid = jstr(doc, "uuid");
    const char *noun = kinds[kind].noun;
    if (key == NULL || *key == '\0')
        return error_set_field(err, ERR_INVALID, key_field, "a %s needs its %s", noun, key_field);
    if (uuid == NULL || *uuid == '\0')
        return error_set_field(err, ERR_INVALID, "uuid", "a %s needs its uuid", noun);
    /* Keys travel in fixed buffers (struct store_change, remove). */
    if (strlen(key) >= STORE_KEY_MAX)
        return error_set_field(err, ERR_INVALID, key_field, "a %s longer than %d bytes", key_field,
                               STORE_KEY_MAX - 1);
    int found = exists(c, kind, "key", key, NULL, 0, err);
    if (found < 0)
        return -1;
    if (found && mode == STORE_CREATE)
        return error_set_field(err, ERR_CONFLICT, key_field, "%s '%s' already exists", noun, key);
    if (!found && mode == STORE_REPLACE)
        return error_set(err, ERR_NOT_FOUND, "%s '%s' does not exist", noun, key);
    char holder[STORE_KEY_MAX];
    int taken = exists(c, kind, "uuid", uuid, holder, sizeof holder, err);
    if (taken < 0)
        return -1;
    if (taken && strcmp(holder, key) != 0)
        return error_set_field(err, ERR_CONFLICT, "uuid", "uuid %s is already used by %s '%s'",
                               uuid, noun, holder);
    if (check_refs(c, kind, doc, err) != 0 || write_row(c, kind, doc, key, found, err) != 0 ||
        write_rels(c, kind, doc, key, found, err) != 0 || add_change(c, kind, key, false, err) != 0)
        return -1;
    return 0;
}

int sql_store_put(struct store *store, enum entity_kind kind, const json_t *doc,
                  enum store_put mode, json_t **stored, struct error *err)
{
    if (stored != NULL)
        *stored = NULL;
    if ((unsigned)kind >= ENTITY_KIND_COUNT)
        return error_set(err, ERR_INVALID, "unknown kind");
    if (!json_is_object(doc))
        return error_set(err, ERR_INVALID, "a %s must be a JSON object", kinds[kind].noun);
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0 || write_begin(c, err) != 0)
        return -1;
    int rc = put_on(c, kind, doc, mode, err);
    if (write_end(c, rc == 0, err) != 0)
        return -1;
    if (stored != NULL)
        return get_on(c, kind, jstr(doc, entity_key_field(kind)), stored, err);
    return 0;
}

/* Who holds a record: refused deletes name them. */
struct holder {
    enum entity_kind kind;
    const char *sql;  /* one column: the holder's key */
    const char *verb; /* "owns 3 courses" */
};

static const struct holder holders[] = {
    {ENTITY_ORGANIZATION,
     "SELECT DISTINCT course FROM course_owners WHERE organization = ? ORDER BY course",
     "owns %zu course%s"},
    {ENTITY_ORGANIZATION,
     "SELECT DISTINCT program FROM program_authoring_orgs WHERE organization = ? ORDER BY program",
     "authors %zu program%s"},
    {ENTITY_SUBJECT,
     "SELECT DISTINCT course FROM course_subjects WHERE subject = ? ORDER BY course",
     "is used by %zu course%s"},
    {ENTITY_PROGRAM_TYPE, "SELECT key FROM programs WHERE type = ? ORDER BY key",
     "is used by %zu program%s"},
    {ENTITY_COURSE,
     "SELECT DISTINCT program FROM program_courses WHERE course = ? ORDER BY program",
     "is in %zu program%s"},
    {ENTITY_PROGRAM,
     "SELECT DISTINCT pathway FROM pathway_programs WHERE program = ? ORDER BY pathway",
     "is in %zu pathway%s"},
};

#define HOLDERS_NAMED 3

static int check_holders(struct sql_conn *c, enum entity_kind kind, const char *key,
                         struct error *err)
{
    for (size_t h = 0; h < sizeof holders / sizeof holders[0]; h++) {
        if (holders[h].kind != kind)
            continue;
        struct q q;
        if (q_prepare(c, holders[h].sql, &q, err) != 0)
            return -1;
        q_text(&q, key, err);
        char names[300] = "";
        size_t n = 0;
        int rc;
        while ((rc = q_step(&q, err)) == 1) {
            if (n < HOLDERS_NAMED) {
                size_t len = strlen(names);
                snprintf(names + len, sizeof names - len, "%s%s", n ? ", " : "",
                         q_col(&q, 0) ? q_col(&q, 0) : "");
            }
            n++;
        }
        q_done(&q);
        if (rc != 0)
            return -1;
        if (n > 0) {
            char what[64];
            snprintf(what, sizeof what, holders[h].verb, n, n == 1 ? "" : "s");
            return error_set(err, ERR_CONFLICT, "%s '%s' %s (%s%s)", kinds[kind].noun, key, what,
                             names, n > HOLDERS_NAMED ? ", ..." : "");
        }
    }
    return 0;
}

static int remove_on(struct sql_conn *c, enum entity_kind kind, const char *key_or_uuid,
                     struct error *err)
{
    char key[STORE_KEY_MAX];
    int found = exists(c, kind, "key", key_or_uuid, key, sizeof key, err);
    if (found == 0)
        found = exists(c, kind, "uuid", key_or_uuid, key, sizeof key, err);
    if (found < 0)
        return -1;
    if (found == 0)
        return error_set(err, ERR_NOT_FOUND, "%s '%s' does not exist", kinds[kind].noun,
                         key_or_uuid);
    if (check_holders(c, kind, key, err) != 0)
        return -1;
    struct q q;
    if (kind == ENTITY_COURSE) {
        /* The runs go with the course (ON DELETE CASCADE); the outbox must
         * say so, or the index would keep them. */
        if (q_prepare(c, "SELECT key FROM course_runs WHERE course = ? ORDER BY key", &q, err) != 0)
            return -1;
        q_text(&q, key, err);
        json_t *runs = json_array();
        int rc;
        while ((rc = q_step(&q, err)) == 1)
            json_array_append_new(runs, json_string(q_col(&q, 0) ? q_col(&q, 0) : ""));
        q_done(&q);
        size_t i;
        json_t *run;
        json_array_foreach(runs, i, run)
        {
            if (rc == 0 && add_change(c, ENTITY_COURSE_RUN, json_string_value(run), true, err) != 0)
                rc = -1;
        }
        json_decref(runs);
        if (rc != 0)
            return -1;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE key = ?", kinds[kind].table);
    if (q_prepare(c, sql, &q, err) != 0)
        return -1;
    q_text(&q, key, err);
    if (q_run(&q, err) != 0)
        return -1;
    return add_change(c, kind, key, true, err);
}

int sql_store_remove(struct store *store, enum entity_kind kind, const char *key_or_uuid,
                     struct error *err)
{
    if ((unsigned)kind >= ENTITY_KIND_COUNT)
        return error_set(err, ERR_INVALID, "unknown kind");
    if (key_or_uuid == NULL)
        return error_set(err, ERR_NOT_FOUND, "no key given");
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0 || write_begin(c, err) != 0)
        return -1;
    int rc = remove_on(c, kind, key_or_uuid, err);
    return write_end(c, rc == 0, err);
}

/* ------------------------------------------------------ outbox, checkpoints */

int sql_store_changes_since(struct store *store, uint64_t after, struct store_change *out,
                            size_t max, size_t *n, struct error *err)
{
    *n = 0;
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    struct q q;
    if (q_prepare(c, "SELECT id, kind, key, op FROM changes WHERE id > ? ORDER BY id LIMIT ?", &q,
                  err) != 0)
        return -1;
    q_int(&q, after > INT64_MAX ? INT64_MAX : (int64_t)after, err);
    q_int(&q, max > INT64_MAX ? INT64_MAX : (int64_t)max, err);
    int rc = 0;
    while (*n < max && (rc = q_step(&q, err)) == 1) {
        struct store_change *ch = &out[*n];
        ch->id = (uint64_t)q_col_int(&q, 0);
        const char *kind = q_col(&q, 1);
        if (kind == NULL || entity_kind_from_name(kind, &ch->kind) != 0) {
            q_done(&q);
            return error_set(err, ERR_INTERNAL, "change %" PRIu64 " has an unknown kind", ch->id);
        }
        snprintf(ch->key, sizeof ch->key, "%s", q_col(&q, 2) ? q_col(&q, 2) : "");
        const char *op = q_col(&q, 3);
        ch->deleted = op != NULL && strcmp(op, "delete") == 0;
        (*n)++;
    }
    if (*n == max)
        rc = 0;
    q_done(&q);
    return rc == 0 ? 0 : -1;
}

int sql_store_checkpoint_get(struct store *store, const char *name, uint64_t *out,
                             struct error *err)
{
    *out = 0;
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    struct q q;
    if (q_prepare(c, "SELECT value FROM checkpoints WHERE name = ?", &q, err) != 0)
        return -1;
    q_text(&q, name, err);
    int rc = q_step(&q, err);
    if (rc == 1)
        *out = (uint64_t)q_col_int(&q, 0);
    q_done(&q);
    return rc < 0 ? -1 : 0;
}

int sql_store_checkpoint_set(struct store *store, const char *name, uint64_t value,
                             struct error *err)
{
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    if (value > INT64_MAX)
        return error_set(err, ERR_INVALID, "checkpoint %s: value too large", name);
    struct q q;
    if (q_prepare(c,
                  "INSERT INTO checkpoints (name, value) VALUES (?, ?)"
                  " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                  &q, err) != 0)
        return -1;
    q_text(&q, name, err);
    q_int(&q, (int64_t)value, err);
    return q_run(&q, err) == 0 ? 0 : -1;
}

int sql_store_lease_try(struct store *store, int64_t key, bool *held, struct error *err)
{
    *held = true;
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    if (c->ops->lease_sql == NULL)
        return 0;
    struct q q;
    if (q_prepare(c, c->ops->lease_sql, &q, err) != 0)
        return -1;
    for (const char *p = c->ops->lease_sql, *mark; (mark = strchr(p, '?')) != NULL; p = mark + 1)
        q_int(&q, key, err);
    int rc = q_step(&q, err);
    *held = rc == 1 && q_col_int(&q, 0) != 0;
    q_done(&q);
    return rc < 0 ? -1 : 0;
}

/* --------------------------------------------------------- search refresh */

int sql_store_refresh_set(struct store *store, enum entity_kind kind, const char *key, time_t at,
                          struct error *err)
{
    if ((unsigned)kind >= ENTITY_KIND_COUNT || key == NULL || key[0] == '\0')
        return error_set(err, ERR_INVALID, "search refresh without a kind or key");
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    struct q q;
    if (at <= 0) {
        if (q_prepare(c, "DELETE FROM search_refresh WHERE kind = ? AND key = ?", &q, err) != 0)
            return -1;
        q_text(&q, entity_kind_name(kind), err);
        q_text(&q, key, err);
        return q_run(&q, err) == 0 ? 0 : -1;
    }
    char stamp[32];
    clock_format_iso8601(at, stamp, sizeof stamp);
    if (q_prepare(c,
                  "INSERT INTO search_refresh (kind, key, refresh_at) VALUES (?, ?, ?)"
                  " ON CONFLICT (kind, key) DO UPDATE SET refresh_at = excluded.refresh_at",
                  &q, err) != 0)
        return -1;
    q_text(&q, entity_kind_name(kind), err);
    q_text(&q, key, err);
    q_text(&q, stamp, err);
    return q_run(&q, err) == 0 ? 0 : -1;
}

int sql_store_refresh_due(struct store *store, time_t now, struct store_refresh *out, size_t max,
                          size_t *n, struct error *err)
{
    *n = 0;
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    char stamp[32];
    clock_format_iso8601(now, stamp, sizeof stamp);
    struct q q;
    /* Timestamps are fixed-width UTC text: compared as text, as time. */
    if (q_prepare(c,
                  "SELECT kind, key, refresh_at FROM search_refresh WHERE refresh_at <= ?"
                  " ORDER BY refresh_at, kind, key LIMIT ?",
                  &q, err) != 0)
        return -1;
    q_text(&q, stamp, err);
    q_int(&q, max > INT64_MAX ? INT64_MAX : (int64_t)max, err);
    int rc = 0;
    while (*n < max && (rc = q_step(&q, err)) == 1) {
        struct store_refresh *r = &out[*n];
        const char *kind = q_col(&q, 0), *at = q_col(&q, 2);
        if (kind == NULL || entity_kind_from_name(kind, &r->kind) != 0 || at == NULL ||
            clock_parse_iso8601(at, &r->at) != 0) {
            q_done(&q);
            return error_set(err, ERR_INTERNAL, "search_refresh has a malformed row");
        }
        snprintf(r->key, sizeof r->key, "%s", q_col(&q, 1) ? q_col(&q, 1) : "");
        (*n)++;
    }
    if (*n == max)
        rc = 0;
    q_done(&q);
    return rc == 0 ? 0 : -1;
}

int sql_store_refresh_next(struct store *store, time_t *at, struct error *err)
{
    *at = 0;
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    struct q q;
    if (q_prepare(c, "SELECT MIN(refresh_at) FROM search_refresh", &q, err) != 0)
        return -1;
    int rc = q_step(&q, err);
    const char *text = rc == 1 ? q_col(&q, 0) : NULL;
    if (text != NULL && clock_parse_iso8601(text, at) != 0) {
        q_done(&q);
        return error_set(err, ERR_INTERNAL, "search_refresh has a malformed time");
    }
    q_done(&q);
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ migrations */

int sql_store_schema_version(void)
{
    return SQL_MIGRATION_COUNT;
}

/* script with {ID} and {BOOL} replaced; caller frees. */
static char *dialect_script(const struct sql_ops *ops, const char *script)
{
    struct strbuf b = {0};
    const char *p = script;
    while (*p) {
        if (strncmp(p, "{ID}", 4) == 0) {
            strbuf_add(&b, ops->ddl_id);
            p += 4;
        } else if (strncmp(p, "{BOOL}", 6) == 0) {
            strbuf_add(&b, ops->ddl_bool);
            p += 6;
        } else {
            const char *brace = strchr(p, '{');
            size_t n = brace ? (size_t)(brace - p) : strlen(p);
            if (n == 0)
                n = 1;
            char chunk[1024];
            while (n > 0) {
                size_t m = n < sizeof chunk - 1 ? n : sizeof chunk - 1;
                memcpy(chunk, p, m);
                chunk[m] = '\0';
                strbuf_add(&b, chunk);
                p += m;
                n -= m;
            }
        }
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static int current_version(struct sql_conn *c, int *version, struct error *err)
{
    struct q q;
    if (q_prepare(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &q, err) != 0)
        return -1;
    int rc = q_step(&q, err);
    if (rc == 1)
        *version = (int)q_col_int(&q, 0);
    q_done(&q);
    return rc == 1 ? 0 : -1;
}

/* Begins a migration transaction holding the dialect's migration lock. */
static int migrate_lock(struct sql_conn *c, struct error *err)
{
    if (c->ops->exec(c, c->ops->begin_sql, err) != 0)
        return -1;
    if (c->ops->migrate_lock_sql != NULL && c->ops->exec(c, c->ops->migrate_lock_sql, err) != 0) {
        struct error ignored;
        c->ops->exec(c, "ROLLBACK", &ignored);
        return -1;
    }
    return 0;
}

static int migrate_on(struct sql_conn *c, int *from, int *to, struct error *err)
{
    if (c->depth != 0)
        return error_set(err, ERR_INTERNAL, "migrate inside a transaction");
    /* Under the migration lock too: two PostgreSQL sessions creating the
     * same table at once would otherwise collide in its catalog. */
    if (migrate_lock(c, err) != 0)
        return -1;
    int rc0 = c->ops->exec(c,
                           "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY"
                           " KEY, applied_at TEXT NOT NULL)",
                           err);
    if (write_end(c, rc0 == 0, err) != 0)
        return -1;
    int v;
    if (current_version(c, &v, err) != 0)
        return -1;
    *from = v;
    while (v < SQL_MIGRATION_COUNT) {
        /* Another process may migrate at the same time: re-read the version
         * under the write lock and apply only what is still pending. */
        if (migrate_lock(c, err) != 0)
            return -1;
        int now_v;
        int rc = current_version(c, &now_v, err);
        if (rc == 0 && now_v == v) {
            char *script = dialect_script(c->ops, sql_migrations[v]);
            rc = script == NULL ? error_set(err, ERR_INTERNAL, "out of memory")
                                : c->ops->exec(c, script, err);
            free(script);
            if (rc == 0) {
                char stamp[32];
                clock_format_iso8601(clock_now(), stamp, sizeof stamp);
                struct q q;
                rc = q_prepare(c,
                               "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                               &q, err);
                if (rc == 0) {
                    q_int(&q, v + 1, err);
                    q_text(&q, stamp, err);
                    rc = q_run(&q, err);
                }
            }
            if (rc != 0)
                error_prefix(err, "migration %d", v + 1);
        }
        if (write_end(c, rc == 0, err) != 0)
            return -1;
        v = now_v == v ? v + 1 : now_v;
    }
    *to = v;
    return 0;
}

int sql_store_migrate(struct store *store, int *from, int *to, struct error *err)
{
    struct sql_conn *c = NULL;
    int f = 0, t = 0;
    if (conn_get(store, &c, err) != 0 || migrate_on(c, &f, &t, err) != 0)
        return -1;
    if (from != NULL)
        *from = f;
    if (to != NULL)
        *to = t;
    return 0;
}

int sql_store_health(struct store *store, struct error *err)
{
    struct sql_conn *c = NULL;
    if (conn_get(store, &c, err) != 0)
        return -1;
    struct q q;
    if (q_prepare(c, "SELECT 1", &q, err) != 0)
        return -1;
    return q_run(&q, err) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ lifecycle */

int sql_store_open(const struct store_driver *driver, const struct sql_ops *ops, void *ctx,
                   void (*free_ctx)(void *ctx), struct store **out, struct error *err)
{
    *out = NULL;
    struct sql_store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        if (free_ctx != NULL)
            free_ctx(ctx);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    st->base.driver = driver;
    st->ops = ops;
    st->ctx = ctx;
    st->free_ctx = free_ctx;
    pthread_mutex_init(&st->lock, NULL);
    if (pthread_key_create(&st->key, conn_thread_exit) != 0) {
        pthread_mutex_destroy(&st->lock);
        if (free_ctx != NULL)
            free_ctx(ctx);
        free(st);
        return error_set(err, ERR_INTERNAL, "no thread key left");
    }
    if (sql_store_migrate(&st->base, NULL, NULL, err) != 0) {
        sql_store_close(&st->base);
        return -1;
    }
    *out = &st->base;
    return 0;
}

void sql_store_close(struct store *store)
{
    if (store == NULL)
        return;
    struct sql_store *st = S(store);
    /* Deleting the key first: a thread exiting later finds no connection
     * of this store to close. */
    pthread_key_delete(st->key);
    pthread_mutex_lock(&st->lock);
    struct sql_conn *c = st->conns;
    st->conns = NULL;
    pthread_mutex_unlock(&st->lock);
    while (c != NULL) {
        struct sql_conn *next = c->next;
        conn_close(c);
        c = next;
    }
    pthread_mutex_destroy(&st->lock);
    if (st->free_ctx != NULL)
        st->free_ctx(st->ctx);
    free(st);
}
