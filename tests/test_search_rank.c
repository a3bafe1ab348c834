/*
 * test_search_rank - catalogd_bm25 (backends/search/fts5_rank.c) gives the
 * score FTS5's own bm25() gives with the same weights, row by row, on a
 * fixture of varied lengths and for every kind of MATCH the driver writes
 * (words, prefixes, phrases, AND, OR, NOT, a column filter): with the
 * row lengths handed in (as the memory copy does) and read by FTS5; a
 * row its caller does not want is not scored; and with the IDF left to
 * the caller (no_idf) a one-phrase MATCH gives bm25() back exactly.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "search/fts5_internal.h"
#include "testutil.h"

static const double weights[] = {10.0, 4.0, 1.0, 3.0, 5.0, 3.0};

/* Lengths the test computes itself: words separated by single spaces. */
static int words(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        if (*p != ' ' && (p == text || p[-1] == ' '))
            n++;
    return n;
}

struct fixture_rank {
    struct fts5_rank rank;
    int lens[64];
    int scored, skip_odd;
};

static bool want(struct fts5_rank *rank, sqlite3_int64 id, int *len)
{
    struct fixture_rank *fr = (struct fixture_rank *)rank;
    if (fr->skip_odd && id % 2)
        return false;
    *len = fr->lens[id];
    return true;
}

static void scored(struct fts5_rank *rank, double bm25)
{
    (void)bm25;
    ((struct fixture_rank *)rank)->scored++;
}

static sqlite3 *fixture(struct fixture_rank *fr)
{
    sqlite3 *db = NULL;
    struct error err = {0};
    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "CREATE VIRTUAL TABLE fts USING fts5(title, short_description,"
                                  " full_description, org, key, subject,"
                                  " tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *ins = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "INSERT INTO fts(rowid, title, short_description,"
                                        " full_description, org, key, subject)"
                                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                                        -1, &ins, NULL),
                     SQLITE_OK);
    static const char *const vocab[] = {"python", "data",    "science",      "pythonic",
                                        "art",    "history", "data science", "pyt"};
    for (int id = 1; id < 60; id++) {
        char cols[6][512];
        int len = 0;
        for (int c = 0; c < 6; c++) {
            cols[c][0] = '\0';
            /* Lengths from 0 to about 60 words, varying by row and column. */
            int n = (id * (c + 3) + c * 7) % (c == 2 ? 61 : 9);
            for (int w = 0; w < n; w++) {
                strcat(cols[c], w ? " " : "");
                strcat(cols[c], vocab[(id + w * (c + 1)) % 8]);
            }
            len += words(cols[c]);
            sqlite3_bind_text(ins, c + 2, cols[c], -1, SQLITE_TRANSIENT);
        }
        fr->lens[id] = len;
        sqlite3_bind_int(ins, 1, id);
        ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    ck_assert_msg(fts5_rank_register(db, &err) == 0, "%s", err.message);
    return db;
}

static const char *const matches[] = {
    "\"python\"",
    "\"py\"*",
    "\"pyth\"*",
    "\"data science\"",
    "((\"python\" AND \"data\"))",
    "((\"data\") NOT {title} : \"art\")",
    "(\"history\" OR \"science\" OR \"pythonic\")",
    "{title} : \"python\"",
    "{title key org} : (\"py\"* AND \"da\"*)",
};

/* For every match: bm25() and catalogd_bm25 agree within 1e-9 relative
 * on every row (they are in fact the same doubles). */
static void compare(bool own_lengths, bool skip_odd)
{
    struct fixture_rank fr = {0};
    sqlite3 *db = fixture(&fr);
    fr.rank = (struct fts5_rank){.weights = weights, .n_weights = 6, .scored = scored};
    if (own_lengths)
        fr.rank.want = want;
    fr.skip_odd = skip_odd;
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(
        sqlite3_prepare_v2(
            db,
            "SELECT rowid, bm25(fts, 10.0, 4.0, 1.0, 3.0, 5.0, 3.0), " FTS5_RANK_FUNCTION
            "(fts, ?1) FROM fts WHERE fts MATCH ?2",
            -1, &st, NULL),
        SQLITE_OK);
    for (size_t q = 0; q < sizeof matches / sizeof *matches; q++) {
        int rows = 0, expect_scored = 0;
        fr.scored = 0;
        ck_assert_int_eq(fts5_rank_bind(st, 1, &fr.rank), SQLITE_OK);
        sqlite3_bind_text(st, 2, matches[q], -1, SQLITE_STATIC);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            rows++;
            sqlite3_int64 id = sqlite3_column_int64(st, 0);
            if (skip_odd && id % 2) {
                ck_assert_int_eq(sqlite3_column_type(st, 2), SQLITE_NULL);
                continue;
            }
            expect_scored++;
            double ref = sqlite3_column_double(st, 1), got = sqlite3_column_double(st, 2);
            ck_assert_msg(ref < 0, "%s row %lld: bm25 %g", matches[q], (long long)id, ref);
            ck_assert_msg(fabs(got - ref) <= 1e-9 * fabs(ref), "%s row %lld: %.17g, bm25 %.17g",
                          matches[q], (long long)id, got, ref);
        }
        ck_assert_int_eq(step, SQLITE_DONE);
        ck_assert_msg(rows > 2, "%s: %d rows", matches[q], rows);
        ck_assert_int_eq(fr.scored, expect_scored);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

START_TEST(same_as_bm25_fts5_lengths)
{
    compare(false, false);
}
END_TEST

START_TEST(same_as_bm25_given_lengths)
{
    compare(true, false);
}
END_TEST

START_TEST(unwanted_rows_not_scored)
{
    compare(true, true);
}
END_TEST

/* With no_idf, a one-phrase MATCH (a word, a prefix, a phrase) gives the
 * sum before the IDF; IDF from fts5_rank_idf with the rows the MATCH
 * returned, applied as bm25 applies it, gives bm25()'s double exactly:
 * what the driver's one-phrase path relies on. */
START_TEST(deferred_idf_same_as_bm25)
{
    static const char *const one_phrase[] = {"\"python\"", "\"py\"*", "\"data science\"",
                                             "\"art\""};
    struct fixture_rank fr = {0};
    sqlite3 *db = fixture(&fr);
    fr.rank = (struct fts5_rank){.weights = weights, .n_weights = 6, .want = want, .no_idf = true};
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(
        sqlite3_prepare_v2(
            db,
            "SELECT rowid, bm25(fts, 10.0, 4.0, 1.0, 3.0, 5.0, 3.0), " FTS5_RANK_FUNCTION
            "(fts, ?1) FROM fts WHERE fts MATCH ?2",
            -1, &st, NULL),
        SQLITE_OK);
    for (size_t q = 0; q < sizeof one_phrase / sizeof *one_phrase; q++) {
        double ref[64], raw[64];
        sqlite3_int64 ids[64];
        int rows = 0, step;
        fr.rank.n_row = 0;
        ck_assert_int_eq(fts5_rank_bind(st, 1, &fr.rank), SQLITE_OK);
        sqlite3_bind_text(st, 2, one_phrase[q], -1, SQLITE_STATIC);
        while ((step = sqlite3_step(st)) == SQLITE_ROW && rows < 64) {
            ids[rows] = sqlite3_column_int64(st, 0);
            ref[rows] = sqlite3_column_double(st, 1);
            raw[rows++] = -sqlite3_column_double(st, 2);
        }
        ck_assert_int_eq(step, SQLITE_DONE);
        ck_assert_msg(rows > 2, "%s: %d rows", one_phrase[q], rows);
        ck_assert_int_eq(fr.rank.n_row, 59);
        double idf = fts5_rank_idf(fr.rank.n_row, rows);
        for (int i = 0; i < rows; i++)
            ck_assert_msg(-1.0 * (0.0 + idf * raw[i]) == ref[i], "%s row %lld: %.17g, bm25 %.17g",
                          one_phrase[q], (long long)ids[i], -1.0 * (idf * raw[i]), ref[i]);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}
END_TEST

START_TEST(no_context_is_an_error)
{
    struct fixture_rank fr = {0};
    sqlite3 *db = fixture(&fr);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT " FTS5_RANK_FUNCTION "(fts, NULL) FROM fts"
                                        " WHERE fts MATCH 'python'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ERROR);
    sqlite3_finalize(st);
    sqlite3_close(db);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("search_rank");
    TCase *tc = tcase_create("bm25");
    tcase_add_test(tc, same_as_bm25_fts5_lengths);
    tcase_add_test(tc, same_as_bm25_given_lengths);
    tcase_add_test(tc, unwanted_rows_not_scored);
    tcase_add_test(tc, deferred_idf_same_as_bm25);
    tcase_add_test(tc, no_context_is_an_error);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
