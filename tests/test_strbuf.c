/*
 * test_strbuf - the growing string the SQL builders share: appends keep
 * the text NUL-terminated, and a formatted append is never cut short (the
 * builders it replaced truncated at 512 bytes or gave up).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "testutil.h"

START_TEST(appends_in_order)
{
    struct strbuf b = {0};
    strbuf_add(&b, "SELECT ");
    strbuf_addn(&b, "key, uuid", 3);
    strbuf_addf(&b, " FROM %s WHERE id = %d", "courses", 42);
    strbuf_add(&b, "");
    ck_assert(!b.oom);
    ck_assert_str_eq(b.s, "SELECT key FROM courses WHERE id = 42");
    ck_assert_uint_eq(b.len, strlen(b.s));
    strbuf_free(&b);
    ck_assert_ptr_null(b.s);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(long_formatted_text_whole)
{
    char word[3000];
    memset(word, 'x', sizeof word - 1);
    word[sizeof word - 1] = '\0';
    struct strbuf b = {0};
    strbuf_add(&b, "[");
    for (int i = 0; i < 3; i++)
        strbuf_addf(&b, "%s%d", word, i);
    strbuf_add(&b, "]");
    ck_assert(!b.oom);
    ck_assert_uint_eq(b.len, 2 + 3 * (sizeof word - 1 + 1));
    ck_assert_uint_eq(strlen(b.s), b.len);
    ck_assert_int_eq(b.s[1 + sizeof word - 1], '0');
    ck_assert_int_eq(b.s[b.len - 2], '2');
    strbuf_free(&b);
}
END_TEST

START_TEST(failure_is_sticky)
{
    struct strbuf b = {0};
    strbuf_add(&b, "kept");
    b.oom = true; /* as after a failed realloc */
    strbuf_add(&b, " lost");
    strbuf_addf(&b, " %d", 1);
    ck_assert_str_eq(b.s, "kept");
    strbuf_free(&b);
    ck_assert(!b.oom);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("strbuf");
    TCase *tc = tcase_create("strbuf");
    tcase_add_test(tc, appends_in_order);
    tcase_add_test(tc, long_formatted_text_whole);
    tcase_add_test(tc, failure_is_sticky);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
