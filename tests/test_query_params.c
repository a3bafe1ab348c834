/*
 * test_query_params - query string decoding per the API contract: '+' is
 * a space, %2B a '+', repeated names kept, bad escapes and bad UTF-8
 * refused naming the parameter; flags and sizes.
 */
#include <stdlib.h>
#include <string.h>

#include "query_params.h"
#include "testutil.h"

static struct query_params parse_ok(const char *raw)
{
    struct query_params q;
    struct error err = {0};
    int rc = query_params_parse(raw, &q, &err);
    ck_assert_msg(rc == 0, "parse(%s): %s", raw, err.message);
    return q;
}

START_TEST(test_plus_and_escapes)
{
    struct query_params q =
        parse_ok("keys=MITx%2B6.002x,HarvardX%2bCS50&q=intro+to+python&x=a%20b");
    ck_assert_str_eq(query_params_get(&q, "keys"), "MITx+6.002x,HarvardX+CS50");
    ck_assert_str_eq(query_params_get(&q, "q"), "intro to python");
    ck_assert_str_eq(query_params_get(&q, "x"), "a b");
    ck_assert_ptr_null(query_params_get(&q, "absent"));
    query_params_free(&q);
}
END_TEST

START_TEST(test_repeated_and_empty)
{
    struct query_params q = parse_ok("status=active&exclude_utm=1&status=retired&&empty=&bare&");
    ck_assert_uint_eq(q.count, 5);
    ck_assert_str_eq(query_params_get(&q, "status"), "active");
    ck_assert_str_eq(query_params_get(&q, "empty"), "");
    ck_assert_str_eq(query_params_get(&q, "bare"), "");
    char **all = NULL;
    size_t n = query_params_get_all(&q, "status", false, &all);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(all[0], "active");
    ck_assert_str_eq(all[1], "retired");
    query_params_free_list(all, n);
    n = query_params_get_all(&q, "nothing", true, &all);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(all);
    query_params_free(&q);
}
END_TEST

START_TEST(test_split_commas)
{
    struct query_params q = parse_ok("keys=a,,b,&keys=c&keys=&keys=d%2Ce");
    char **all = NULL;
    size_t n = query_params_get_all(&q, "keys", true, &all);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(all[0], "a");
    ck_assert_str_eq(all[1], "b");
    ck_assert_str_eq(all[2], "c");
    ck_assert_str_eq(all[3], "d");
    ck_assert_str_eq(all[4], "e");
    query_params_free_list(all, n);
    n = query_params_get_all(&q, "keys", false, &all);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(all[0], "a,,b,");
    ck_assert_str_eq(all[2], "");
    query_params_free_list(all, n);
    query_params_free(&q);
}
END_TEST

START_TEST(test_null_and_empty_input)
{
    struct query_params q = parse_ok(NULL);
    ck_assert_uint_eq(q.count, 0);
    query_params_free(&q);
    q = parse_ok("");
    ck_assert_uint_eq(q.count, 0);
    query_params_free(&q);
}
END_TEST

static const struct {
    const char *raw;
    const char *field;
} bad_inputs[] = {
    {"page=1&q=%zz", "q"},
    {"q=abc%", "q"},
    {"q=abc%4", "q"},
    {"q=%C3%28", "q"},
    {"name=%FF", "name"},
    {"q=%ED%A0%80", "q"},
    {"q=%C0%AF", "q"},
    {"q=%F4%90%80%80", "q"},
    {"q=a%00b", "q"},
    {"na%zzme=1", "na%zzme"},
    {"ok=1&%E2%82=2", "%E2%82"},
};

START_TEST(test_bad_input_names_parameter)
{
    struct query_params q = {(void *)1, 99};
    struct error err = {0};
    int rc = query_params_parse(bad_inputs[_i].raw, &q, &err);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, bad_inputs[_i].field);
    ck_assert(err.message[0] != '\0');
    ck_assert_uint_eq(q.count, 0);
    ck_assert_ptr_null(q.items);
}
END_TEST

START_TEST(test_valid_utf8_kept)
{
    struct query_params q = parse_ok("q=%C3%A9cole+%E2%82%AC+%F0%9F%98%80&raw=caf\xc3\xa9");
    ck_assert_str_eq(query_params_get(&q, "q"), "\xc3\xa9"
                                                "cole \xe2\x82\xac \xf0\x9f\x98\x80");
    ck_assert_str_eq(query_params_get(&q, "raw"), "caf\xc3\xa9");
    query_params_free(&q);
}
END_TEST

START_TEST(test_flags)
{
    struct query_params q = parse_ok("a=1&b=true&c=True&d=0&e=false&f=False&g=abc&h=&i=2");
    struct error err = {0};
    int v = 99;
    const char *ones[] = {"a", "b", "c"}, *zeros[] = {"d", "e", "f"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(query_params_flag(&q, ones[i], &v, &err), 0);
        ck_assert_int_eq(v, 1);
        ck_assert_int_eq(query_params_flag(&q, zeros[i], &v, &err), 0);
        ck_assert_int_eq(v, 0);
    }
    ck_assert_int_eq(query_params_flag(&q, "absent", &v, &err), 0);
    ck_assert_int_eq(v, -1);
    const char *bad[] = {"g", "h", "i"};
    for (int i = 0; i < 3; i++) {
        error_clear(&err);
        ck_assert_int_eq(query_params_flag(&q, bad[i], &v, &err), -1);
        ck_assert_int_eq(err.code, ERR_INVALID);
        ck_assert_str_eq(err.field, bad[i]);
    }
    query_params_free(&q);
}
END_TEST

START_TEST(test_sizes)
{
    struct query_params q = parse_ok("a=20&b=0&c=501&d=-1&e=%2B5&f=5x&g=&h=99999999999999999999999&"
                                     "i=%205&j=500");
    struct error err = {0};
    size_t v = 0;
    ck_assert_int_eq(query_params_size(&q, "a", 7, 1, 500, &v, &err), 0);
    ck_assert_uint_eq(v, 20);
    ck_assert_int_eq(query_params_size(&q, "j", 7, 1, 500, &v, &err), 0);
    ck_assert_uint_eq(v, 500);
    ck_assert_int_eq(query_params_size(&q, "absent", 7, 1, 500, &v, &err), 0);
    ck_assert_uint_eq(v, 7);
    const char *bad[] = {"b", "c", "d", "e", "f", "g", "h", "i"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        error_clear(&err);
        v = 12345;
        ck_assert_msg(query_params_size(&q, bad[i], 7, 1, 500, &v, &err) == -1, "%s", bad[i]);
        ck_assert_int_eq(err.code, ERR_INVALID);
        ck_assert_str_eq(err.field, bad[i]);
        ck_assert_uint_eq(v, 12345);
    }
    /* min 0 admits 0 */
    ck_assert_int_eq(query_params_size(&q, "b", 7, 0, 10, &v, &err), 0);
    ck_assert_uint_eq(v, 0);
    query_params_free(&q);
}
END_TEST

START_TEST(test_many_params)
{
    char raw[8192] = "";
    for (int i = 0; i < 300; i++) {
        char part[32];
        snprintf(part, sizeof part, "%sk=%d", i ? "&" : "", i);
        strcat(raw, part);
    }
    struct query_params q = parse_ok(raw);
    ck_assert_uint_eq(q.count, 300);
    ck_assert_str_eq(q.items[299].value, "299");
    query_params_free(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_params");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_plus_and_escapes);
    tcase_add_test(tc, test_repeated_and_empty);
    tcase_add_test(tc, test_split_commas);
    tcase_add_test(tc, test_null_and_empty_input);
    tcase_add_loop_test(tc, test_bad_input_names_parameter, 0,
                        sizeof bad_inputs / sizeof bad_inputs[0]);
    tcase_add_test(tc, test_valid_utf8_kept);
    tcase_add_test(tc, test_flags);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_many_params);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
