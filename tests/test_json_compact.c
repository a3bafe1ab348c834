/*
 * test_json_compact - json_compact writes the same bytes as jansson's
 * json_dumps(JSON_COMPACT [| JSON_SORT_KEYS]) for every kind of value a
 * record or document holds, escapes included, and falls back to jansson
 * for a real.  The store keeps this text and the index digests it, so a
 * byte that differed would show as a changed record or a dirty verify.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "json_compact.h"
#include "testutil.h"

static const char *const cases[] = {
    "{}",
    "[]",
    "\"\"",
    "null",
    "true",
    "false",
    "0",
    "-9223372036854775807",
    "{\"b\":1,\"a\":[1,2,{\"z\":null,\"y\":true}],\"c\":{}}",
    /* every control character, quote, backslash, slash, DEL, non-ASCII,
     * U+2028 (jansson escapes none of the last four) */
    "\"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\\u007f\\u00e9\\u2028\\ud83d\\ude00\"",
    "{\"k\\n\\\"\":\"v\",\"\\u00e9\":\"\\u0007\",\"A\":\"a\",\"a\":\"A\"}",
    "{\"title\":\"Intro to C\",\"runs\":[{\"key\":\"r1\",\"seats\":[{\"type\":\"verified\"}]}],"
    "\"hidden\":false,\"weeks\":12}",
};

START_TEST(same_bytes_as_jansson)
{
    struct json_compact w = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_error_t jerr;
        json_t *v = json_loads(cases[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        ck_assert_msg(v != NULL, "case %zu: %s", i, jerr.text);
        for (int sort = 0; sort < 2; sort++) {
            char *want =
                json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | (sort ? JSON_SORT_KEYS : 0));
            ck_assert_int_eq(json_compact_write(&w, v, sort), 0);
            ck_assert_str_eq(w.buf, want);
            ck_assert_uint_eq(w.len, strlen(want));
            char *got = json_compact_dumps(&w, v, sort);
            ck_assert_str_eq(got, want);
            free(got);
            free(want);
        }
        json_decref(v);
    }
    json_compact_free(&w);
    ck_assert_ptr_null(w.buf);
}
END_TEST

START_TEST(real_falls_back_to_jansson)
{
    struct json_compact w = {0};
    json_t *v = json_pack("{s:f,s:s}", "price", 49.5, "name", "x");
    ck_assert_int_eq(json_compact_write(&w, v, true), -1);
    ck_assert(w.failed);
    char *want = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    char *got = json_compact_dumps(&w, v, true);
    ck_assert_str_eq(got, want);
    /* the next write starts afresh */
    json_t *s = json_string("ok");
    ck_assert_int_eq(json_compact_write(&w, s, false), 0);
    ck_assert_str_eq(w.buf, "\"ok\"");
    free(got);
    free(want);
    json_decref(s);
    json_decref(v);
    json_compact_free(&w);
}
END_TEST

/* elide_hit_text's shape: top-level members named "drop*" go. */
static bool drop_named(const char *key, const json_t *value, void *ctx)
{
    (void)value;
    ++*(int *)ctx;
    return strncmp(key, "drop", 4) == 0;
}

START_TEST(elided_members_keep_their_place)
{
    struct json_compact w = {0};
    json_t *v = json_loads("{\"a\":1,\"drop1\":\"long text\",\"b\":{\"drop2\":\"kept: nested\"},"
                           "\"drop3\":[1,2],\"c\":null}",
                           0, NULL);
    int asked = 0;
    ck_assert_int_eq(json_compact_write_elided(&w, v, drop_named, &asked), 0);
    ck_assert_str_eq(w.buf, "{\"a\":1,\"drop1\":0,\"b\":{\"drop2\":\"kept: nested\"},"
                            "\"drop3\":0,\"c\":null}");
    ck_assert_int_eq(asked, 5); /* top-level members only */
    /* Nothing elided: json_compact_write's bytes. */
    ck_assert_int_eq(json_compact_write_elided(&w, v, NULL, NULL), 0);
    char *whole = json_dumps(v, JSON_COMPACT);
    ck_assert_str_eq(w.buf, whole);
    free(whole);
    json_decref(v);
    /* Not an object: refused, as a real is. */
    json_t *list = json_pack("[i]", 1);
    ck_assert_int_eq(json_compact_write_elided(&w, list, drop_named, &asked), -1);
    json_decref(list);
    json_compact_free(&w);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("json_compact");
    TCase *tc = tcase_create("json_compact");
    tcase_add_test(tc, same_bytes_as_jansson);
    tcase_add_test(tc, real_falls_back_to_jansson);
    tcase_add_test(tc, elided_members_keep_their_place);
    suite_add_tcase(suite, tc);
    return test_run_suite(suite);
}
