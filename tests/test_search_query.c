/*
 * test_search_query - the q parser: a table of queries and the trees (or
 * errors) they give, hostile input, limits, and word folding checked
 * against SQLite's own unicode61 tokenizer.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_query.h"
#include "testutil.h"

struct parse_case {
    const char *q;
    const char *tree;  /* expected search_query_format, or NULL for an error */
    const char *error; /* a substring of the error message */
};

static const struct parse_case cases[] = {
    {"python", "python", NULL},
    {"Python Data", "AND(python, data)", NULL},
    {"\"machine learning\"", "\"machine learning\"", NULL},
    {"mach*", "mach*", NULL},
    {"title:python", "title:python", NULL},
    {"ORG:MITx", "org:mitx", NULL},
    {"key:MITx+6.002x", "key:\"mitx 6 002x\"", NULL},
    {"subject:\"computer science\"", "subject:\"computer science\"", NULL},
    {"title:(intro OR basics)", "OR(title:intro, title:basics)", NULL},
    {"a b OR c", "AND(a, OR(b, c))", NULL},
    {"a OR b c", "AND(OR(a, b), c)", NULL},
    {"a OR b OR c", "OR(a, b, c)", NULL},
    {"(a b) OR c", "OR(AND(a, b), c)", NULL},
    {"a -b", "AND(a, NOT(b))", NULL},
    {"-foo", "AND(ALL, NOT(foo))", NULL},
    {"-foo -bar", "AND(ALL, NOT(foo), NOT(bar))", NULL},
    {"NOT foo", "AND(ALL, NOT(foo))", NULL},
    {"--foo", "foo", NULL},
    {"a OR -b", "OR(a, AND(ALL, NOT(b)))", NULL},
    {"a (-b)", "AND(a, NOT(b))", NULL},
    {"a AND b", "AND(a, b)", NULL},
    {"-\"x y\"", "AND(ALL, NOT(\"x y\"))", NULL},
    {"-(a OR b)", "AND(ALL, NOT(OR(a, b)))", NULL},
    {"((a))", "a", NULL},
    {"a (b c)", "AND(a, b, c)", NULL},
    {"Café ÉCOLE", "AND(cafe, ecole)", NULL},
    {"ÑANDÚ straße", "AND(nandu, straße)", NULL},
    {"Łódź", "łodz", NULL},
    {"cafe\xcc\x81", "cafe", NULL}, /* e + combining acute */
    {"ΑΘΗΝΑ", "αθηνα", NULL},
    {"\"new york\"*", "\"new york\"*", NULL},
    {"6.00*", "\"6 00\"*", NULL},
    {"or and not", "AND(or, and, not)", NULL},
    {"foo:bar", "\"foo bar\"", NULL},
    /* FTS5 syntax is only text here. */
    {"NEAR(a b)", "AND(near, a, b)", NULL},
    {"col:x ^y", "AND(\"col x\", y)", NULL},
    {"a * b", "AND(a, b)", NULL},
    {"x - y", "AND(x, y)", NULL},
    {"a {b c} : d", "AND(a, b, c, d)", NULL},
    {"-!!! a", "a", NULL},
    {"\"\" a", "a", NULL},
    {"() a", "a", NULL},
    /* Errors, each naming a position. */
    {"", NULL, "no word"},
    {"   ", NULL, "no word"},
    {"!!! ***", NULL, "no word"},
    {"*", NULL, "no word"},
    {"\"abc", NULL, "unterminated quote at position 1"},
    {"a \"b c", NULL, "unterminated quote at position 3"},
    {"OR", NULL, "OR at position 1"},
    {"a OR", NULL, "OR at position 3"},
    {"OR a", NULL, "OR at position 1"},
    {"a OR OR b", NULL, "OR at position"},
    {"AND", NULL, "AND at position 1"},
    {"a AND", NULL, "AND at position 3"},
    {"-", NULL, "no word"},
    {"a NOT", NULL, "negation at position 3"},
    {"(a", NULL, "unbalanced '(' at position 1"},
    {"a)", NULL, "unbalanced ')' at position 2"},
    {"a (b))", NULL, "unbalanced ')' at position 6"},
    {"title:", NULL, "title: at position 1 needs a value"},
    {"title: x", NULL, "title: at position 1 needs a value"},
    {"title:OR", NULL, "title: at position 1 needs a value"},
    {"a\xff", NULL, "invalid UTF-8 at position 2"},
    {"\xc3\xa9\xc3", NULL, "invalid UTF-8 at position 2"},
    {"\xc0\xaf", NULL, "invalid UTF-8 at position 1"},         /* overlong '/' */
    {"\xed\xa0\x80", NULL, "invalid UTF-8 at position 1"},     /* a surrogate */
    {"\xf4\x90\x80\x80", NULL, "invalid UTF-8 at position 1"}, /* > U+10FFFF */
};

START_TEST(test_parse_table)
{
    const struct parse_case *c = &cases[_i];
    struct search_node *tree = NULL;
    struct error err = {0};
    int rc = search_query_parse(c->q, strlen(c->q), &tree, &err);
    if (c->tree != NULL) {
        ck_assert_msg(rc == 0, "q=%s: %s", c->q, err.message);
        char buf[512];
        search_query_format(tree, buf, sizeof buf);
        ck_assert_msg(strcmp(buf, c->tree) == 0, "q=%s: got %s, want %s", c->q, buf, c->tree);
    } else {
        ck_assert_msg(rc == -1, "q=%s parsed but should not", c->q);
        ck_assert_ptr_null(tree);
        ck_assert_int_eq(err.code, ERR_INVALID);
        ck_assert_str_eq(err.field, "q");
        ck_assert_msg(strstr(err.message, c->error) != NULL, "q=%s: message '%s' lacks '%s'", c->q,
                      err.message, c->error);
    }
    search_query_free(tree);
}
END_TEST

static int parse(const char *q, size_t len, struct error *err)
{
    struct search_node *tree = NULL;
    int rc = search_query_parse(q, len, &tree, err);
    search_query_free(tree);
    return rc;
}

START_TEST(test_nul_byte)
{
    struct error err = {0};
    ck_assert_int_eq(parse("ab\0cd", 5, &err), -1);
    ck_assert_str_eq(err.field, "q");
    ck_assert_msg(strstr(err.message, "NUL byte at position 3") != NULL, "%s", err.message);
}
END_TEST

START_TEST(test_length_limit)
{
    char q[SEARCH_QUERY_MAX_BYTES + 2];
    struct error err = {0};
    memset(q, 'a', sizeof q);
    ck_assert_int_eq(parse(q, SEARCH_QUERY_MAX_BYTES, &err), 0); /* one long word is fine */
    ck_assert_int_eq(parse(q, SEARCH_QUERY_MAX_BYTES + 1, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "at most 1000"));
}
END_TEST

START_TEST(test_ten_kb_of_parens)
{
    size_t n = 10 * 1024;
    char *q = malloc(n);
    struct error err = {0};
    memset(q, '(', n);
    ck_assert_int_eq(parse(q, n, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    /* Under the byte limit, the depth limit speaks. */
    ck_assert_int_eq(parse(q, 900, &err), -1);
    ck_assert_msg(strstr(err.message, "nested deeper than 16 at position 17") != NULL, "%s",
                  err.message);
    free(q);
}
END_TEST

START_TEST(test_depth_limit_boundary)
{
    char q[64];
    struct error err = {0};
    int d = SEARCH_QUERY_MAX_DEPTH;
    snprintf(q, sizeof q, "%.*sx%.*s", d, "((((((((((((((((((((", d, "))))))))))))))))))))");
    ck_assert_msg(parse(q, strlen(q), &err) == 0, "%s", err.message);
    snprintf(q, sizeof q, "%.*sx%.*s", d + 1, "((((((((((((((((((((", d + 1,
             "))))))))))))))))))))");
    ck_assert_int_eq(parse(q, strlen(q), &err), -1);
}
END_TEST

START_TEST(test_term_limit)
{
    char q[600] = "";
    struct error err = {0};
    for (int i = 0; i < SEARCH_QUERY_MAX_TERMS; i++)
        sprintf(q + strlen(q), "w%d ", i);
    ck_assert_msg(parse(q, strlen(q), &err) == 0, "%s", err.message);
    strcat(q, "last");
    ck_assert_int_eq(parse(q, strlen(q), &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "too many words"));
}
END_TEST

/* Every NOT in a parsed tree sits in an AND beside something positive. */
static void check_not_placement(const struct search_node *node, const struct search_node *parent)
{
    if (node->type == SEARCH_NOT) {
        ck_assert_ptr_nonnull(parent);
        ck_assert_int_eq(parent->type, SEARCH_AND);
        bool positive = false;
        for (size_t i = 0; i < parent->n_children; i++)
            positive |= parent->children[i]->type != SEARCH_NOT;
        ck_assert(positive);
    }
    for (size_t i = 0; i < node->n_children; i++)
        check_not_placement(node->children[i], node);
}

START_TEST(test_random_input_never_crashes)
{
    /* Hostile bytes drawn from the characters the grammar cares about. */
    static const char alphabet[] = "abc -()\"*:ORxyNOTtitle:^{} ";
    static const char bad[] = {'\0', '\xff', '\xc3'};
    unsigned seed = 12345;
    char q[64];
    int parsed = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = (seed = seed * 1103515245u + 12345u) % sizeof q;
        for (size_t i = 0; i < len; i++)
            q[i] = alphabet[(seed = seed * 1103515245u + 12345u) % (sizeof alphabet - 1)];
        if (len > 0 && round % 10 == 0) /* now and then a NUL or a broken sequence */
            q[seed % len] = bad[(seed >> 8) % sizeof bad];
        struct search_node *tree = NULL;
        struct error err = {0};
        if (search_query_parse(q, len, &tree, &err) == 0) {
            ck_assert_ptr_nonnull(tree);
            check_not_placement(tree, NULL);
            parsed++;
        } else {
            ck_assert_ptr_null(tree);
            ck_assert_int_eq(err.code, ERR_INVALID);
            ck_assert_ptr_nonnull(strstr(err.message, "position"));
        }
        search_query_free(tree);
    }
    ck_assert_int_gt(parsed, 100);
}
END_TEST

/* The words SQLite's unicode61 tokenizer makes of text, space-separated. */
static void sqlite_tokens(sqlite3 *db, const char *text, char *out, size_t size)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM t", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t(rowid, x) VALUES (1, ?)", -1, &st, 0),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT term FROM v ORDER BY offset", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (out[0])
            strncat(out, " ", size - strlen(out) - 1);
        strncat(out, (const char *)sqlite3_column_text(st, 0), size - strlen(out) - 1);
    }
    sqlite3_finalize(st);
}

START_TEST(test_folding_matches_sqlite)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db,
                     "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics "
                     "2'); CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    static const char *const samples[] = {
        "Introduction to Computer Science",
        "MITx+6.002x course-v1:edX+DemoX+Demo_2025",
        "Ça va? Élève ñandú Øre Ærø Straße",
        "ŁÓDŹ Ğüneş İstanbul ĳssel ŒUVRE",
        "cafe\xcc\x81 na\xc3\xafve",
        "Ελληνικά ΆΛΦΑ Привет МИР Ёлка",
        "a\xc2\xa0"
        "b ½ x² µ ×÷ «quoted»",
        "it's a_b a-b a.b 3.14",
        "‘curly’ — dash…",
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char want[512], got[512];
        sqlite_tokens(db, samples[i], want, sizeof want);
        ck_assert_int_ge(search_fold_words(samples[i], strlen(samples[i]), got, sizeof got), 1);
        ck_assert_msg(strcmp(want, got) == 0, "'%s': sqlite '%s', ours '%s'", samples[i], want,
                      got);
    }
    /* Every code point of the folded blocks, one at a time between letters. */
    for (unsigned cp = 0xA0; cp < 0x530; cp++) {
        char text[16], want[32], got[32];
        if (cp >= 0x250 && cp < 0x370)
            continue; /* IPA and modifier letters are approximated */
        int n = cp < 0x800 ? snprintf(text, sizeof text, "a%c%cb", (char)(0xC0 | (cp >> 6)),
                                      (char)(0x80 | (cp & 0x3F)))
                           : 0;
        sqlite_tokens(db, text, want, sizeof want);
        search_fold_words(text, (size_t)n, got, sizeof got);
        ck_assert_msg(strcmp(want, got) == 0, "U+%04X: sqlite '%s', ours '%s'", cp, want, got);
    }
    sqlite3_close(db);
}
END_TEST

START_TEST(test_fold_words_bounds)
{
    char out[8];
    ck_assert_int_eq(search_fold_words("Hello World", 11, out, sizeof out), 1);
    ck_assert_str_eq(out, "hello");
    ck_assert_int_eq(search_fold_words("\xff", 1, out, sizeof out), -1);
    ck_assert_int_eq(search_fold_words("a\0b", 3, out, sizeof out), -1);
    ck_assert_int_eq(search_fold_words("...", 3, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("search_query");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_parse_table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_nul_byte);
    tcase_add_test(tc, test_length_limit);
    tcase_add_test(tc, test_ten_kb_of_parens);
    tcase_add_test(tc, test_depth_limit_boundary);
    tcase_add_test(tc, test_term_limit);
    tcase_add_test(tc, test_random_input_never_crashes);
    tcase_add_test(tc, test_folding_matches_sqlite);
    tcase_add_test(tc, test_fold_words_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
