/*
 * test_clock - ISO 8601 parsing and formatting, and the fixed clock.
 */
#include <string.h>

#include "clock.h"
#include "testutil.h"

static const struct {
    const char *text;
    long long epoch;
} good[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"2025-03-01T00:00:00Z", 1740787200},
    {"2025-03-01", 1740787200},
    {"2025-03-01T00:00:00+00:00", 1740787200},
    {"2025-03-01T01:00:00+01:00", 1740787200},
    {"2025-02-28T19:00:00-05:00", 1740787200},
    {"2025-03-01T00:00:00.123Z", 1740787200},
    {"2025-03-01T00:00:00.999999+00:00", 1740787200},
    {"2024-02-29T23:59:59Z", 1709251199},
    {"2000-02-29", 951782400},
    {"2038-01-19T03:14:08Z", 2147483648LL},
    {"9999-12-31T23:59:59Z", 253402300799LL},
    /* Years before 1000 (found by fuzz_entity: they used to come back as
     * "596-01-10T00:00:00Z", which is then refused). */
    {"0596-01-10T00:00:00Z", -43358457600LL},
    {"0001-01-01T00:00:00Z", -62135596800LL},
    {"0001-01-01T01:00:00+01:00", -62135596800LL},
};

static const char *const bad[] = {
    "",
    "garbage",
    "2025-3-01",
    "2025-03-1",
    "2025-13-01",
    "2025-00-10",
    "2025-02-29",
    "1900-02-29",
    "2025-04-31",
    "2025-03-00",
    "2025-03-01T24:00:00Z",
    "2025-03-01T23:60:00Z",
    "2025-03-01T23:59:60Z",
    "2025-03-01T00:00:00",
    "2025-03-01T00:00Z",
    "2025-03-01T00:00:00.Z",
    "2025-03-01T00:00:00Zjunk",
    "2025-03-01T00:00:00+0100",
    "2025-03-01T00:00:00+24:00",
    "2025-03-01 00:00:00Z",
    "2025-03-01x",
    "0000-01-01",
    " 2025-03-01",
    /* An offset may not carry the instant out of years 1-9999. */
    "0001-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59-00:01",
};

START_TEST(parses_valid_instants)
{
    time_t t = -1;
    ck_assert_msg(clock_parse_iso8601(good[_i].text, &t) == 0, "%s rejected", good[_i].text);
    ck_assert_msg((long long)t == good[_i].epoch, "%s -> %lld, want %lld", good[_i].text,
                  (long long)t, good[_i].epoch);
}
END_TEST

START_TEST(rejects_invalid_instants)
{
    time_t t = 12345;
    ck_assert_msg(clock_parse_iso8601(bad[_i], &t) == -1, "'%s' accepted", bad[_i]);
}
END_TEST

START_TEST(null_is_rejected)
{
    time_t t;
    ck_assert_int_eq(clock_parse_iso8601(NULL, &t), -1);
}
END_TEST

START_TEST(format_round_trips)
{
    static const long long instants[] = {0,
                                         1,
                                         59,
                                         86399,
                                         951782400,
                                         1709251199,
                                         1740787200,
                                         2147483648LL,
                                         -1,
                                         -43358457600LL,
                                         -62135596800LL,
                                         253402300799LL};
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        char buf[32];
        time_t back = 0;
        clock_format_iso8601((time_t)instants[i], buf, sizeof buf);
        ck_assert_int_eq(strlen(buf), 20);
        ck_assert_int_eq(clock_parse_iso8601(buf, &back), 0);
        ck_assert_int_eq((long long)back, instants[i]);
    }
    char buf[32];
    clock_format_iso8601(1740787200, buf, sizeof buf);
    ck_assert_str_eq(buf, "2025-03-01T00:00:00Z");
    clock_format_iso8601(1709251199, buf, sizeof buf);
    ck_assert_str_eq(buf, "2024-02-29T23:59:59Z");
    clock_format_iso8601(-43358457600LL, buf, sizeof buf);
    ck_assert_str_eq(buf, "0596-01-10T00:00:00Z");
}
END_TEST

START_TEST(fixed_clock)
{
    struct error err = {0};
    ck_assert_int_eq(clock_set_fixed("2025-03-01T00:00:00Z", &err), 0);
    ck_assert_int_eq((long long)clock_now(), 1740787200LL);
    ck_assert_int_eq(clock_set_fixed("2030-01-01", &err), 0);
    ck_assert_int_eq((long long)clock_now(), 1893456000LL);

    /* A bad instant is refused and leaves the fixed time alone. */
    ck_assert_int_eq(clock_set_fixed("tomorrow", &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "tomorrow"));
    ck_assert_int_eq((long long)clock_now(), 1893456000LL);

    ck_assert_int_eq(clock_set_fixed("", &err), 0);
    time_t sys = time(NULL);
    ck_assert(clock_now() >= sys - 1 && clock_now() <= sys + 1);
    ck_assert_int_eq(clock_set_fixed("2025-03-01T00:00:00Z", &err), 0);
    ck_assert_int_eq(clock_set_fixed(NULL, &err), 0);
    ck_assert(clock_now() >= sys - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("clock");
    tcase_add_loop_test(tc, parses_valid_instants, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_loop_test(tc, rejects_invalid_instants, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, null_is_rejected);
    tcase_add_test(tc, format_round_trips);
    tcase_add_test(tc, fixed_clock);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
