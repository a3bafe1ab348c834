/*
 * fts5_meta - the fts5 driver's copy of every document's filter fields and
 * facet value ids in memory (see fts5_internal.h for why), loaded from the
 * docs and facets tables and kept current by the write path's logs.
 */
#include <stdlib.h>
#include <string.h>

#include "fts5_internal.h"

void fts5_meta_free(struct meta *m)
{
    for (size_t i = 0; i < m->n_values; i++)
        free(m->values[i].text);
    free(m->values);
    free(m->ids);
    free(m->ids64);
    free(m->docs);
    free(m->lens);
    free(m->facets);
    free(m->facets32);
    free(m->wide);
    free(m->slots);
    uint64_t generation = m->generation;
    memset(m, 0, sizeof *m);
    m->generation = generation + 1;
}

static uint32_t value_hash(int field, const char *text)
{
    uint32_t h = 2166136261u ^ (uint32_t)field;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* The slot of (field, text): holds its id + 1, or 0 where it would go. */
static uint32_t *value_slot(const struct meta *m, int field, const char *text)
{
    size_t mask = m->n_slots - 1;
    for (size_t i = value_hash(field, text) & mask;; i = (i + 1) & mask) {
        uint32_t v = m->slots[i];
        if (v == 0 || (m->values[v - 1].field == field && strcmp(m->values[v - 1].text, text) == 0))
            return &m->slots[i];
    }
}

/* The id of (field, text), or -1 when no document carries it. */
long fts5_value_find(const struct meta *m, int field, const char *text)
{
    if (m->n_slots == 0)
        return -1;
    uint32_t v = *value_slot(m, field, text);
    return v ? (long)v - 1 : -1;
}

bool fts5_grow(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap * 2 : 1024;
    while (cap2 < need)
        cap2 *= 2;
    void *grown = realloc(*buf, cap2 * size);
    if (grown == NULL)
        return false;
    *buf = grown;
    *cap = cap2;
    return true;
}

/* Interns (field, text); -1 when out of memory. */
long fts5_value_intern(struct meta *m, int field, const char *text)
{
    if (m->n_values * 2 + 2 > m->n_slots) {
        size_t n = m->n_slots ? m->n_slots * 2 : 256;
        uint32_t *slots = calloc(n, sizeof *slots);
        if (slots == NULL)
            return -1;
        free(m->slots);
        m->slots = slots;
        m->n_slots = n;
        for (size_t i = 0; i < m->n_values; i++)
            *value_slot(m, m->values[i].field, m->values[i].text) = (uint32_t)i + 1;
    }
    uint32_t *slot = value_slot(m, field, text);
    if (*slot)
        return (long)*slot - 1;
    char *copy = strdup(text);
    if (copy == NULL ||
        !fts5_grow((void **)&m->values, &m->cap_values, m->n_values + 1, sizeof *m->values)) {
        free(copy);
        return -1;
    }
    m->values[m->n_values] = (struct meta_value){.field = field, .text = copy};
    *slot = (uint32_t)++m->n_values;
    return (long)m->n_values - 1;
}

static int data_version(sqlite3 *db, sqlite3_int64 *out, struct error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        fts5_db_error(db, err, "data_version");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Resizes the per-document arrays (ids, docs, lens) to cap entries
 * (cap >= n_docs), new lengths unknown; false when out of memory (the
 * arrays keep their contents and at least their old capacity). */
static bool docs_resize(struct meta *m, size_t cap)
{
    struct meta_entry *docs = realloc(m->docs, cap * sizeof *docs);
    if (docs == NULL)
        return false;
    m->docs = docs;
    if (m->ids64 != NULL) {
        sqlite3_int64 *ids = realloc(m->ids64, cap * sizeof *ids);
        if (ids == NULL)
            return false;
        m->ids64 = ids;
    } else {
        uint32_t *ids = realloc(m->ids, cap * sizeof *ids);
        if (ids == NULL)
            return false;
        m->ids = ids;
    }
    uint16_t *lens = realloc(m->lens, cap * sizeof *lens);
    if (lens == NULL)
        return false;
    m->lens = lens;
    for (size_t i = m->cap_docs; i < cap; i++)
        lens[i] = FTS5_LEN_UNKNOWN;
    m->cap_docs = m->cap_lens = cap;
    return true;
}

/* Room for need documents, doubling; false when out of memory. */
static bool docs_reserve(struct meta *m, size_t need)
{
    if (need <= m->cap_docs)
        return true;
    size_t cap = m->cap_docs ? m->cap_docs * 2 : 1024;
    while (cap < need)
        cap *= 2;
    return docs_resize(m, cap);
}

/* Makes ids able to hold id: uint32 until one does not fit, then every
 * id as sqlite3_int64 (rowids only grow past 2^32 after billions of
 * writes, but a file may hold anything). */
static bool ids_hold(struct meta *m, sqlite3_int64 id)
{
    if (m->ids64 != NULL || (id >= 0 && id <= (sqlite3_int64)UINT32_MAX))
        return true;
    sqlite3_int64 *ids = malloc((m->cap_docs ? m->cap_docs : 1) * sizeof *ids);
    if (ids == NULL)
        return false;
    for (size_t i = 0; i < m->n_docs; i++)
        ids[i] = m->ids[i];
    free(m->ids);
    m->ids = NULL;
    m->ids64 = ids;
    return true;
}

static void id_set(struct meta *m, size_t i, sqlite3_int64 id)
{
    if (m->ids64 != NULL)
        m->ids64[i] = id;
    else
        m->ids[i] = (uint32_t)id;
}

static bool date_fits(sqlite3_int64 t)
{
    return t >= META_EPOCH + INT32_MIN && t <= META_EPOCH + INT32_MAX;
}

/* Sets e's content, flags and dates from d (a meta_doc as the write log
 * carries it); false when out of memory. */
static bool entry_set(struct meta *m, struct meta_entry *e, const struct meta_doc *d)
{
    static const uint8_t bits[4] = {M_START, M_END, M_ENROLLABLE_FROM, M_ENROLLABLE_UNTIL};
    const sqlite3_int64 dates[4] = {d->start, d->end, d->enr_start, d->enr_end};
    bool fits = true;
    e->content = d->content;
    e->flags = d->flags & (uint8_t)~M_WIDE;
    for (int i = 0; i < 4; i++)
        fits &= !(d->flags & bits[i]) || date_fits(dates[i]);
    if (fits) {
        for (int i = 0; i < 4; i++)
            e->dates[i] = (d->flags & bits[i]) ? (int32_t)(dates[i] - META_EPOCH) : 0;
        return true;
    }
    if (m->n_wide >= INT32_MAX ||
        !fts5_grow((void **)&m->wide, &m->cap_wide, m->n_wide + 1, sizeof *m->wide))
        return false;
    memset(e->dates, 0, sizeof e->dates);
    e->dates[0] = (int32_t)m->n_wide;
    e->flags |= M_WIDE;
    memcpy(m->wide[m->n_wide++].dates, dates, sizeof dates);
    return true;
}

/* Appends value id v to m's facet ids, widening them to uint32 the first
 * time an id does not fit in 16 bits; false when out of memory. */
static bool facet_push(struct meta *m, uint32_t v)
{
    if (m->facets32 == NULL && v > UINT16_MAX) {
        size_t cap = m->cap_facets ? m->cap_facets : 1024;
        uint32_t *wide = malloc(cap * sizeof *wide);
        if (wide == NULL)
            return false;
        for (size_t i = 0; i < m->n_facets; i++)
            wide[i] = m->facets[i];
        free(m->facets);
        m->facets = NULL;
        m->facets32 = wide;
        m->cap_facets = cap;
    }
    if (m->facets32 != NULL) {
        if (!fts5_grow((void **)&m->facets32, &m->cap_facets, m->n_facets + 1, sizeof *m->facets32))
            return false;
        m->facets32[m->n_facets++] = v;
    } else {
        if (!fts5_grow((void **)&m->facets, &m->cap_facets, m->n_facets + 1, sizeof *m->facets))
            return false;
        m->facets[m->n_facets++] = (uint16_t)v;
    }
    return true;
}

/* Gives back the doubling slack of a fresh load (a third of the arrays on
 * average); the copy then grows again only if this handle writes. */
static void meta_fit(struct meta *m)
{
    if (m->n_docs > 0 && m->n_docs < m->cap_docs)
        docs_resize(m, m->n_docs); /* failing to shrink keeps the bigger arrays */
    if (m->n_facets > 0 && m->n_facets < m->cap_facets) {
        void **buf = m->facets32 != NULL ? (void **)&m->facets32 : (void **)&m->facets;
        size_t size = m->facets32 != NULL ? sizeof *m->facets32 : sizeof *m->facets;
        void *fit = realloc(*buf, m->n_facets * size);
        if (fit != NULL) {
            *buf = fit;
            m->cap_facets = m->n_facets;
        }
    }
}

/* The sum of the varints (SQLite's format) of a %_docsize record: the
 * row's length over every column, as xColumnSize(-1) gives it. */
static uint64_t docsize_total(const unsigned char *p, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n;) {
        uint64_t v = 0;
        for (int k = 0; i < n; k++) {
            unsigned char c = p[i++];
            if (k == 8) {
                v = (v << 8) | c;
                break;
            }
            v = (v << 7) | (c & 0x7f);
            if (!(c & 0x80))
                break;
        }
        total += v;
    }
    return total;
}

/* Fills m->lens from fts_docsize (both in id order).  Lengths are an
 * optimisation only: a document without one stays unknown. */
static int lens_read(sqlite3 *db, struct meta *m, struct error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, sz FROM fts_docsize ORDER BY id", -1, &st, NULL) !=
        SQLITE_OK)
        return fts5_db_error(db, err, "load lengths");
    size_t j = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(st, 0);
        while (j < m->n_docs && fts5_meta_id(m, j) < id)
            j++;
        if (j == m->n_docs)
            break;
        if (fts5_meta_id(m, j) != id)
            continue;
        uint64_t len = docsize_total(sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1));
        m->lens[j] = len < FTS5_LEN_UNKNOWN ? (uint16_t)len : FTS5_LEN_UNKNOWN;
    }
    int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : fts5_db_error(db, err, "load lengths");
    sqlite3_finalize(st);
    return rc;
}

/* Reads docs and facets (both in docs.id order) into a fresh meta. */
static int meta_read(sqlite3 *db, struct meta *m, struct error *err)
{
    sqlite3_stmt *d = NULL, *f = NULL;
    int rc = 0, step;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, content, public, start, end_, enr_start, enr_end,"
                           " self_paced FROM docs INDEXED BY docs_load ORDER BY id",
                           -1, &d, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT doc, field, value FROM facets ORDER BY doc", -1, &f, NULL) !=
            SQLITE_OK) {
        sqlite3_finalize(d);
        sqlite3_finalize(f);
        return fts5_db_error(db, err, "load facets");
    }
    int fstep = sqlite3_step(f);
    while (rc == 0 && (step = sqlite3_step(d)) == SQLITE_ROW) {
        struct meta_doc doc = {0};
        doc.id = sqlite3_column_int64(d, 0);
        doc.content = (uint8_t)sqlite3_column_int(d, 1);
        doc.flags = sqlite3_column_int(d, 2) ? M_PUBLIC : 0;
        if (sqlite3_column_type(d, 3) != SQLITE_NULL)
            doc.start = sqlite3_column_int64(d, 3), doc.flags |= M_START;
        if (sqlite3_column_type(d, 4) != SQLITE_NULL)
            doc.end = sqlite3_column_int64(d, 4), doc.flags |= M_END;
        if (sqlite3_column_type(d, 5) != SQLITE_NULL)
            doc.enr_start = sqlite3_column_int64(d, 5), doc.flags |= M_ENROLLABLE_FROM;
        if (sqlite3_column_type(d, 6) != SQLITE_NULL)
            doc.enr_end = sqlite3_column_int64(d, 6), doc.flags |= M_ENROLLABLE_UNTIL;
        if (sqlite3_column_int(d, 7))
            doc.flags |= M_SELF_PACED;
        size_t j = m->n_docs;
        if (!docs_reserve(m, j + 1) || !ids_hold(m, doc.id) || !entry_set(m, &m->docs[j], &doc)) {
            rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
            break;
        }
        struct meta_entry *e = &m->docs[j];
        id_set(m, j, doc.id);
        e->facet_at = (uint32_t)m->n_facets;
        e->n_facets = 0;
        m->n_docs++;
        /* Facet rows of ids with no docs row (none normally) are skipped,
         * and so are content types: the entry's content says it. */
        while (fstep == SQLITE_ROW && sqlite3_column_int64(f, 0) < doc.id)
            fstep = sqlite3_step(f);
        while (fstep == SQLITE_ROW && sqlite3_column_int64(f, 0) == doc.id) {
            int field = sqlite3_column_int(f, 1);
            long v = field == F_CONTENT_TYPE
                         ? 0
                         : fts5_value_intern(m, field, (const char *)sqlite3_column_text(f, 2));
            if (v < 0 || e->n_facets == UINT16_MAX ||
                (field != F_CONTENT_TYPE && !facet_push(m, (uint32_t)v))) {
                rc = error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
                break;
            }
            if (field != F_CONTENT_TYPE)
                e->n_facets++;
            fstep = sqlite3_step(f);
        }
    }
    if (rc == 0 && (step != SQLITE_DONE || (fstep != SQLITE_DONE && fstep != SQLITE_ROW)))
        rc = fts5_db_error(db, err, "load facets");
    sqlite3_finalize(d);
    sqlite3_finalize(f);
    if (rc == 0)
        meta_fit(m);
    if (rc == 0)
        rc = lens_read(db, m, err);
    return rc;
}

/* Makes fx->meta current (called with fx->lock held, inside the query's
 * read transaction so that it and the query see the same snapshot). */
int fts5_meta_refresh(struct fts5 *fx, struct error *err)
{
    sqlite3_int64 version;
    if (data_version(fx->db, &version, err) != 0)
        return -1;
    if (fx->meta.loaded && version == fx->meta.data_version)
        return 0;
    struct meta fresh = {0};
    if (meta_read(fx->db, &fresh, err) != 0) {
        fts5_meta_free(&fresh);
        return -1;
    }
    fresh.generation = fx->meta.generation + 1;
    fts5_meta_free(&fx->meta);
    fx->meta = fresh;
    fx->meta.data_version = version;
    /* While rebuilding, this handle's own uncommitted writes change what it
     * must see without moving data_version: reload every time. */
    fx->meta.loaded = !fx->rebuilding;
    return 0;
}

/* The index of id in m->docs, or where it would go. */
size_t fts5_meta_find(const struct meta *m, sqlite3_int64 id)
{
    size_t lo = 0, hi = m->n_docs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fts5_meta_id(m, mid) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool meta_apply_op(struct meta *m, const struct meta_log *log, const struct log_op *op)
{
    size_t j = fts5_meta_find(m, op->doc.id);
    bool found = j < m->n_docs && fts5_meta_id(m, j) == op->doc.id;
    if (found && !(m->docs[j].flags & M_DEAD)) {
        m->docs[j].flags |= M_DEAD;
        m->n_dead++;
        m->n_garbage += m->docs[j].n_facets;
    }
    if (!op->add)
        return true;
    if (!found) {
        if (!docs_reserve(m, m->n_docs + 1) || !ids_hold(m, op->doc.id))
            return false;
        size_t tail = m->n_docs - j;
        memmove(&m->docs[j + 1], &m->docs[j], tail * sizeof *m->docs);
        memmove(&m->lens[j + 1], &m->lens[j], tail * sizeof *m->lens);
        if (m->ids64 != NULL)
            memmove(&m->ids64[j + 1], &m->ids64[j], tail * sizeof *m->ids64);
        else
            memmove(&m->ids[j + 1], &m->ids[j], tail * sizeof *m->ids);
        id_set(m, j, op->doc.id);
        m->n_docs++;
    } else {
        m->n_dead--;
    }
    struct meta_entry *e = &m->docs[j];
    if (!entry_set(m, e, &op->doc))
        return false;
    m->lens[j] = FTS5_LEN_UNKNOWN; /* the log does not carry it: FTS5 tells */
    e->facet_at = (uint32_t)m->n_facets;
    e->n_facets = 0;
    for (uint16_t k = 0; k < op->doc.n_facets; k++) {
        uint32_t v = log->facets[op->doc.facet_at + k];
        if (v < m->n_values && m->values[v].field == F_CONTENT_TYPE)
            continue; /* the entry's content */
        if (!facet_push(m, v))
            return false;
        e->n_facets++;
    }
    return true;
}

/* Applies a committed batch's log; a failed log, or more dead entries and
 * unused facet ids than live ones by a margin, make the next query reload
 * instead. */
void fts5_meta_apply(struct meta *m, const struct meta_log *log)
{
    bool ok = m->loaded && !log->failed;
    m->generation++;
    for (size_t i = 0; ok && i < log->n_ops; i++)
        ok = meta_apply_op(m, log, &log->ops[i]);
    if (!ok || m->n_dead > m->n_docs / 4 + 1024 || m->n_garbage > m->n_facets / 2 + 8192)
        m->loaded = false;
}

void fts5_meta_log_free(struct meta_log *log)
{
    free(log->ops);
    free(log->facets);
    memset(log, 0, sizeof *log);
}

/* Marks the memory copy stale after this handle wrote. */
void fts5_meta_stale(struct fts5 *fx)
{
    fx->meta.loaded = false;
    fx->meta.generation++;
}

/* Outside a transaction data_version moves with every commit of another
 * connection (the query pool's readers never commit), so an unchanged one
 * says that the copy still matches the file. */
int fts5_meta_current(struct fts5 *fx, bool *current, struct error *err)
{
    sqlite3_int64 version;
    *current = false;
    if (data_version(fx->db, &version, err) != 0)
        return -1;
    *current = fx->meta.loaded && version == fx->meta.data_version;
    return 0;
}
