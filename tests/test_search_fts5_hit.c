/*
 * test_search_fts5_hit - what the fts5 driver stores of a hit and how it
 * writes a first build: a hit's title, short and full description are
 * stored once, in the fts row, and put back on every read (search,
 * typeahead, lookup) in their places; a hit whose text differs from the
 * row's, or one stored whole by an older catalogd, reads as stored; a
 * rebuild into an empty index file goes through a rollback journal and
 * leaves the WAL set again, while one with another connection on the file
 * keeps the WAL throughout.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "search.h"
#include "search_query.h"
#include "testutil.h"

static char *tmpdir;
static char dbpath[4200];
static struct search *handle;
static time_t now;

static void setup(void)
{
    tmpdir = test_tmpdir();
    snprintf(dbpath, sizeof dbpath, "%s/index.db", tmpdir);
    ck_assert_int_eq(clock_parse_iso8601("2025-06-01T00:00:00Z", &now), 0);
    handle = test_fts5_open(dbpath);
}

static void teardown(void)
{
    search_close(handle);
    handle = NULL;
    free(tmpdir);
}

/* A course document; its hit has the three text members in the middle of
 * others, with the document's own text unless hit_full says otherwise. */
static json_t *course(const char *key, const char *title, const char *full, const char *hit_full)
{
    json_t *hit =
        json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:[s]}", "key", key, "uuid",
                  "0b5c0a1e-0000-4000-8000-000000000001", "title", title, "short_description",
                  "A short one", "full_description", hit_full ? hit_full : full, "marketing_url",
                  "https://example.com/course", "seat_types", "verified");
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:[s], s:[s], s:[s], s:o}", "content_type",
                     "course", "key", key, "title", title, "short_description", "A short one",
                     "full_description", full, "status", "published", "orgs", "MITx",
                     "organizations", "MITx: Massachusetts", "subjects", "Computing", "hit", hit);
}

static void put(struct search *s, json_t *docs)
{
    struct error err = {0};
    ck_assert_msg(s->driver->index(s, docs, &err) == 0, "%s", err.message);
    json_decref(docs);
}

/* The hit column of key's row, parsed (caller frees). */
static json_t *stored_hit(const char *key)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT hit FROM docs WHERE key = ?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    json_t *hit = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    ck_assert_ptr_nonnull(hit);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return hit;
}

static void exec_sql(const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The first hit's doc of a search for q (a new reference). */
static json_t *searched(struct search *s, const char *q)
{
    struct search_node *tree = NULL;
    struct error err = {0};
    struct search_result res = {0};
    ck_assert_msg(search_query_parse(q, strlen(q), &tree, &err) == 0, "%s", err.message);
    struct search_request rq = {.query = tree, .now = now, .limit = 10};
    ck_assert_msg(s->driver->query(s, &rq, &res, &err) == 0, "%s", err.message);
    search_query_free(tree);
    ck_assert_uint_eq(json_array_size(res.hits), 1);
    json_t *doc = json_incref(json_object_get(json_array_get(res.hits, 0), "doc"));
    search_result_clear(&res);
    return doc;
}

static json_t *suggested(struct search *s, const char *prefix)
{
    json_t *out = NULL;
    struct error err = {0};
    ck_assert_msg(s->driver->suggest(s, prefix, 5, true, &out, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "course")), 1);
    json_t *hit = json_incref(json_array_get(json_object_get(out, "course"), 0));
    json_decref(out);
    return hit;
}

static json_t *looked_up(struct search *s, const char *key)
{
    json_t *out = NULL;
    struct error err = {0};
    ck_assert_msg(s->driver->lookup(s, SEARCH_COURSE, key, &out, &err) == 0, "%s", err.message);
    ck_assert_ptr_nonnull(out);
    return out;
}

/* Every read path returns want, byte for byte (so members in their order). */
static void reads_as(struct search *s, const char *key, const char *q, const json_t *want)
{
    char *want_text = json_dumps(want, JSON_COMPACT);
    json_t *got[] = {searched(s, q), suggested(s, q), looked_up(s, key)};
    for (size_t i = 0; i < sizeof got / sizeof got[0]; i++) {
        char *text = json_dumps(got[i], JSON_COMPACT);
        ck_assert_str_eq(text, want_text);
        free(text);
        json_decref(got[i]);
    }
    free(want_text);
}

START_TEST(hit_text_stored_once_and_put_back)
{
    const char *full = "Lambda calculus, from first principles to type systems.";
    json_t *doc = course("MITx+LAMBDA", "Lambda Calculus", full, NULL);
    json_t *want = json_incref(json_object_get(doc, "hit"));
    put(handle, json_pack("[o]", doc));

    json_t *stored = stored_hit("MITx+LAMBDA");
    const char *members[] = {"title", "short_description", "full_description"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = json_object_get(stored, members[i]);
        ck_assert_msg(json_is_integer(v) && json_integer_value(v) == 0, "%s stored as text",
                      members[i]);
    }
    ck_assert_str_eq(json_string_value(json_object_get(stored, "marketing_url")),
                     "https://example.com/course");
    json_decref(stored);

    reads_as(handle, "MITx+LAMBDA", "lambda", want);
    struct search *fresh = test_fts5_open(dbpath);
    reads_as(fresh, "MITx+LAMBDA", "lambda", want);
    search_close(fresh);
    json_decref(want);
}
END_TEST

START_TEST(hit_text_unlike_the_row_kept_whole)
{
    /* The hit says something else than the indexed text; and a text with
     * a NUL in it, which the fts row (a C string) cannot hold whole. */
    json_t *other = course("MITx+OTHER", "Other Course", "Indexed words", "Shown words");
    json_t *want_other = json_incref(json_object_get(other, "hit"));
    json_t *nul = course("MITx+NUL", "Nul Course", "before", NULL);
    json_object_set_new(json_object_get(nul, "hit"), "full_description",
                        json_stringn("before\0after", 12));
    json_t *want_nul = json_incref(json_object_get(nul, "hit"));
    put(handle, json_pack("[o, o]", other, nul));

    json_t *stored = stored_hit("MITx+OTHER");
    ck_assert_str_eq(json_string_value(json_object_get(stored, "full_description")), "Shown words");
    json_decref(stored);
    reads_as(handle, "MITx+OTHER", "other", want_other);
    reads_as(handle, "MITx+NUL", "nul", want_nul);
    json_decref(want_other);
    json_decref(want_nul);
}
END_TEST

START_TEST(hit_stored_whole_reads_as_stored)
{
    /* An index written before the text was stored once. */
    put(handle, json_pack("[o]", course("MITx+OLD", "Old Course", "Old words", NULL)));
    exec_sql("UPDATE docs SET hit = '{\"key\":\"MITx+OLD\",\"title\":\"Old Course\","
             "\"short_description\":null,\"full_description\":\"Old words\"}'");
    json_t *want = json_pack("{s:s, s:s, s:n, s:s}", "key", "MITx+OLD", "title", "Old Course",
                             "short_description", "full_description", "Old words");
    struct search *fresh = test_fts5_open(dbpath);
    reads_as(fresh, "MITx+OLD", "old", want);
    search_close(fresh);
    json_decref(want);
}
END_TEST

/* The journal mode the file's header records: 2 for WAL, 1 for a
 * rollback journal (bytes 18 and 19, https://sqlite.org/fileformat.html). */
static int header_journal(void)
{
    unsigned char header[20];
    FILE *f = fopen(dbpath, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(header, 1, sizeof header, f), sizeof header);
    fclose(f);
    ck_assert_int_eq(header[18], header[19]);
    return header[18];
}

static void rebuild(struct search *s, const char *key, int journal_during)
{
    struct error err = {0};
    ck_assert_msg(s->driver->rebuild_begin(s, &err) == 0, "%s", err.message);
    put(s, json_pack("[o]", course(key, "Rebuilt Course", "Rebuilt words", NULL)));
    ck_assert_int_eq(header_journal(), journal_during);
    ck_assert_msg(s->driver->rebuild_end(s, true, &err) == 0, "%s", err.message);
    ck_assert_int_eq(header_journal(), 2);
}

START_TEST(rebuild_of_empty_index_without_wal)
{
    ck_assert_int_eq(header_journal(), 2);
    rebuild(handle, "MITx+FIRST", 1);
    /* Another process's handle sees the build and can write after it. */
    struct search *other = test_fts5_open(dbpath);
    json_decref(looked_up(other, "MITx+FIRST"));
    put(other, json_pack("[o]", course("MITx+SECOND", "Second Course", "Second words", NULL)));
    search_close(other);
    json_decref(looked_up(handle, "MITx+SECOND"));
    /* Not empty any more: the next rebuild keeps the WAL. */
    rebuild(handle, "MITx+THIRD", 2);
}
END_TEST

START_TEST(rebuild_with_another_connection_keeps_wal)
{
    sqlite3 *reader = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &reader), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(reader, "SELECT count(*) FROM docs", NULL, NULL, NULL),
                     SQLITE_OK);
    rebuild(handle, "MITx+SHARED", 2);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(reader, "SELECT count(*) FROM docs", -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(reader);
}
END_TEST

START_TEST(abandoned_rebuild_leaves_wal)
{
    struct error err = {0};
    ck_assert_msg(handle->driver->rebuild_begin(handle, &err) == 0, "%s", err.message);
    ck_assert_int_eq(header_journal(), 1);
    ck_assert_msg(handle->driver->rebuild_end(handle, false, &err) == 0, "%s", err.message);
    ck_assert_int_eq(header_journal(), 2);
    size_t n = 1;
    ck_assert_msg(handle->driver->count(handle, &n, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(n, 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("search_fts5_hit");
    TCase *tc = tcase_create("hit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hit_text_stored_once_and_put_back);
    tcase_add_test(tc, hit_text_unlike_the_row_kept_whole);
    tcase_add_test(tc, hit_stored_whole_reads_as_stored);
    tcase_add_test(tc, rebuild_of_empty_index_without_wal);
    tcase_add_test(tc, rebuild_with_another_connection_keeps_wal);
    tcase_add_test(tc, abandoned_rebuild_leaves_wal);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
