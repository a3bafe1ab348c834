/*
 * fts5_hit - a stored hit made whole: the members the writer left out
 * because the fts row holds their text (fts5_internal.h) read back from it.
 */
#include <string.h>

#include "fts5_internal.h"

const char *const fts5_hit_text_members[FTS5_HIT_TEXT_MEMBERS] = {"title", "short_description",
                                                                  "full_description"};

static bool is_elided(const json_t *value)
{
    return json_is_integer(value) && json_integer_value(value) == 0;
}

/* Steps r->text to document id's fts row; 0 when it is there. */
static int read_text(struct fts5_hit_reader *r, sqlite3_int64 id, struct error *err)
{
    if (r->text == NULL &&
        sqlite3_prepare_v2(r->db,
                           "SELECT title, short_description, full_description FROM fts"
                           " WHERE rowid = ?",
                           -1, &r->text, NULL) != SQLITE_OK)
        return fts5_db_error(r->db, err, "hit text");
    sqlite3_reset(r->text);
    sqlite3_bind_int64(r->text, 1, id);
    int step = sqlite3_step(r->text);
    if (step == SQLITE_ROW)
        return 0;
    if (step == SQLITE_DONE)
        return error_set(err, ERR_INTERNAL, "search index (fts5): document %lld has no text row",
                         (long long)id);
    return fts5_db_error(r->db, err, "hit text");
}

json_t *fts5_hit_read(struct fts5_hit_reader *r, sqlite3_int64 id, const char *stored,
                      struct error *err)
{
    json_t *hit = stored ? json_loads(stored, JSON_ALLOW_NUL, NULL) : NULL;
    if (!json_is_object(hit)) {
        json_decref(hit);
        error_set(err, ERR_INTERNAL, "search index (fts5): document %lld: unreadable hit",
                  (long long)id);
        return NULL;
    }
    bool have_row = false;
    for (int c = 0; c < FTS5_HIT_TEXT_MEMBERS; c++) {
        const char *name = fts5_hit_text_members[c];
        if (!is_elided(json_object_get(hit, name)))
            continue;
        if (!have_row && read_text(r, id, err) != 0) {
            json_decref(hit);
            return NULL;
        }
        have_row = true;
        const char *text = (const char *)sqlite3_column_text(r->text, c);
        json_t *value =
            text ? json_stringn(text, (size_t)sqlite3_column_bytes(r->text, c)) : json_null();
        if (value == NULL || json_object_set_new(hit, name, value) != 0) {
            json_decref(hit);
            error_set(err, ERR_INTERNAL, "search index (fts5): out of memory");
            return NULL;
        }
    }
    if (have_row)
        sqlite3_reset(r->text);
    return hit;
}

void fts5_hit_reader_end(struct fts5_hit_reader *r)
{
    sqlite3_finalize(r->text);
    r->text = NULL;
}
