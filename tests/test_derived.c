/*
 * test_derived - read-time values (src/derived.c) at their boundaries:
 * availability around now and the 60-day line, enrollment windows,
 * active=1, marketability, seat type precedence and program price ranges.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "derived.h"
#include "testutil.h"

#define DAY (24 * 60 * 60)

static time_t now;

static void setup(void)
{
    ck_assert_int_eq(clock_parse_iso8601("2025-03-01T12:00:00Z", &now), 0);
}

static void iso(time_t t, char *buf, size_t size)
{
    clock_format_iso8601(t, buf, size);
}

/* A run doc with the given instants (offsets from now in seconds; absent
 * when has_* is false). */
static json_t *run_at(bool has_start, long start, bool has_end, long end)
{
    json_t *run = json_object();
    char buf[32];
    if (has_start) {
        iso(now + start, buf, sizeof buf);
        json_object_set_new(run, "start", json_string(buf));
    } else {
        json_object_set_new(run, "start", json_null());
    }
    if (has_end) {
        iso(now + end, buf, sizeof buf);
        json_object_set_new(run, "end", json_string(buf));
    } else {
        json_object_set_new(run, "end", json_null());
    }
    return run;
}

static const struct {
    bool has_start;
    long start;
    bool has_end;
    long end;
    enum availability want;
} availability_cases[] = {
    {true, -10 * DAY, true, 10 * DAY, AVAILABILITY_CURRENT},
    {true, 0, true, 10 * DAY, AVAILABILITY_CURRENT},       /* start exactly now */
    {true, 1, true, 10 * DAY, AVAILABILITY_STARTING_SOON}, /* a second ahead */
    {true, 59 * DAY, false, 0, AVAILABILITY_STARTING_SOON},
    {true, 60 * DAY - 1, false, 0, AVAILABILITY_STARTING_SOON},
    {true, 60 * DAY, false, 0, AVAILABILITY_UPCOMING}, /* the cutoff is strict */
    {true, 61 * DAY, false, 0, AVAILABILITY_UPCOMING},
    {true, -100 * DAY, true, -1, AVAILABILITY_ARCHIVED},
    {true, -100 * DAY, true, 0, AVAILABILITY_CURRENT}, /* end exactly now: not yet ended */
    {true, -100 * DAY, true, 1, AVAILABILITY_CURRENT},
    {false, 0, false, 0, AVAILABILITY_UPCOMING}, /* no start: Upcoming */
    {false, 0, true, -DAY, AVAILABILITY_ARCHIVED},
    {false, 0, true, DAY, AVAILABILITY_UPCOMING},
    {true, 10 * DAY, true, -DAY, AVAILABILITY_ARCHIVED}, /* ended wins */
};

START_TEST(availability_boundaries)
{
    json_t *run = run_at(availability_cases[_i].has_start, availability_cases[_i].start,
                         availability_cases[_i].has_end, availability_cases[_i].end);
    enum availability got = derived_availability(run, now);
    ck_assert_msg(got == availability_cases[_i].want, "case %d: got %s want %s", _i,
                  derived_availability_label(got),
                  derived_availability_label(availability_cases[_i].want));
    json_decref(run);
}
END_TEST

START_TEST(availability_names)
{
    ck_assert_str_eq(derived_availability_label(AVAILABILITY_ARCHIVED), "Archived");
    ck_assert_str_eq(derived_availability_label(AVAILABILITY_CURRENT), "Current");
    ck_assert_str_eq(derived_availability_label(AVAILABILITY_STARTING_SOON), "Starting Soon");
    ck_assert_str_eq(derived_availability_label(AVAILABILITY_UPCOMING), "Upcoming");
    ck_assert_str_eq(derived_availability_slug(AVAILABILITY_ARCHIVED), "archived");
    ck_assert_str_eq(derived_availability_slug(AVAILABILITY_CURRENT), "current");
    ck_assert_str_eq(derived_availability_slug(AVAILABILITY_STARTING_SOON), "starting_soon");
    ck_assert_str_eq(derived_availability_slug(AVAILABILITY_UPCOMING), "upcoming");
    time_t s = now, e = now - 1;
    ck_assert_int_eq(derived_availability_at(&s, NULL, now), AVAILABILITY_CURRENT);
    ck_assert_int_eq(derived_availability_at(&s, &e, now), AVAILABILITY_ARCHIVED);
}
END_TEST

/* Enrollment window and active=1: offsets of enrollment_start,
 * enrollment_end and end (absent when NONE). */
#define NONE 0x7fffffffL

static json_t *window(long es, long ee, long end)
{
    json_t *run = json_object();
    const char *names[] = {"enrollment_start", "enrollment_end", "end"};
    long values[] = {es, ee, end};
    for (int i = 0; i < 3; i++) {
        char buf[32];
        if (values[i] == NONE) {
            json_object_set_new(run, names[i], json_null());
            continue;
        }
        iso(now + values[i], buf, sizeof buf);
        json_object_set_new(run, names[i], json_string(buf));
    }
    return run;
}

static const struct {
    long es, ee, end;
    bool enrollable, active;
} window_cases[] = {
    {NONE, NONE, NONE, true, true},
    {0, NONE, NONE, true, true},           /* enrollment opens exactly now */
    {1, NONE, NONE, false, true},          /* opens in a second */
    {-DAY, 0, NONE, true, false},          /* closes exactly now: enrollable, not active */
    {-DAY, 1, NONE, true, true},           /* closes in a second */
    {-DAY, -1, NONE, false, false},        /* closed a second ago */
    {NONE, NONE, 0, true, false},          /* ends exactly now: not active */
    {NONE, NONE, 1, true, true},           /* ends in a second */
    {NONE, NONE, -DAY, true, false},       /* ended: still enrollable (no window) */
    {-DAY, DAY, -DAY, true, false},        /* window open, run ended */
    {DAY, 2 * DAY, 10 * DAY, false, true}, /* future window */
};

START_TEST(enrollment_and_active)
{
    json_t *run = window(window_cases[_i].es, window_cases[_i].ee, window_cases[_i].end);
    ck_assert_msg(derived_is_enrollable(run, now) == window_cases[_i].enrollable,
                  "case %d: is_enrollable", _i);
    ck_assert_msg(derived_run_is_active(run, now) == window_cases[_i].active, "case %d: active",
                  _i);
    json_decref(run);
}
END_TEST

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    ck_assert_msg(v != NULL, "bad test JSON: %s", jerr.text);
    return v;
}

static const struct {
    const char *run;
    bool want;
} marketable_cases[] = {
    {"{\"status\": \"published\", \"seats\": [{\"type\": \"audit\"}], \"marketing_url\": "
     "\"https://x.org/c\"}",
     true},
    {"{\"status\": \"unpublished\", \"seats\": [{\"type\": \"audit\"}], \"marketing_url\": "
     "\"https://x.org/c\"}",
     false},
    {"{\"status\": \"published\", \"seats\": [], \"marketing_url\": \"https://x.org/c\"}", false},
    {"{\"status\": \"published\", \"seats\": [{\"type\": \"audit\"}], \"marketing_url\": null}",
     false},
    {"{\"status\": \"published\", \"seats\": [{\"type\": \"audit\"}], \"marketing_url\": \"\"}",
     false},
    {"{\"status\": \"reviewed\", \"seats\": [{\"type\": \"audit\"}], \"marketing_url\": "
     "\"https://x.org/c\"}",
     false},
    {"{}", false},
};

START_TEST(marketable)
{
    json_t *run = parse(marketable_cases[_i].run);
    ck_assert_msg(derived_is_marketable(run) == marketable_cases[_i].want, "case %d", _i);
    json_decref(run);
}
END_TEST

static const struct {
    const char *seats; /* comma-separated types */
    const char *want;  /* NULL: no legacy type */
} seat_type_cases[] = {
    {"audit", "audit"},
    {"audit,honor", "honor"},
    {"honor,verified,audit", "verified"},
    {"verified,professional", "professional"},
    {"audit,no-id-professional", "professional"},
    {"professional,credit,verified", "credit"},
    {"masters", NULL},
    {"", NULL},
    {"masters,audit", "audit"},
};

START_TEST(seat_type_precedence)
{
    json_t *seats = json_array();
    char list[128];
    snprintf(list, sizeof list, "%s", seat_type_cases[_i].seats);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        json_t *seat = json_object();
        json_object_set_new(seat, "type", json_string(t));
        json_array_append_new(seats, seat);
    }
    json_t *run = json_object();
    json_object_set_new(run, "seats", seats);
    const char *got = derived_seat_type(run);
    if (seat_type_cases[_i].want == NULL)
        ck_assert_msg(got == NULL, "case %d: got %s", _i, got);
    else
        ck_assert_msg(got != NULL && strcmp(got, seat_type_cases[_i].want) == 0,
                      "case %d: got %s want %s", _i, got ? got : "(null)",
                      seat_type_cases[_i].want);
    json_decref(run);
}
END_TEST

START_TEST(run_seat_types_distinct)
{
    json_t *run = parse("{\"seats\": [{\"type\": \"verified\"}, {\"type\": \"audit\"},"
                        " {\"type\": \"verified\"}]}");
    json_t *types = derived_run_seat_types(run);
    ck_assert_uint_eq(json_array_size(types), 2);
    ck_assert_str_eq(json_string_value(json_array_get(types, 0)), "verified");
    ck_assert_str_eq(json_string_value(json_array_get(types, 1)), "audit");
    json_decref(types);
    json_decref(run);
}
END_TEST

/* ---- price ranges ------------------------------------------------------ */

static void check_range(const json_t *ranges, size_t i, const char *currency, const char *min,
                        const char *max, const char *total)
{
    const json_t *r = json_array_get(ranges, i);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(json_string_value(json_object_get(r, "currency")), currency);
    ck_assert_str_eq(json_string_value(json_object_get(r, "min")), min);
    ck_assert_str_eq(json_string_value(json_object_get(r, "max")), max);
    ck_assert_str_eq(json_string_value(json_object_get(r, "total")), total);
}

START_TEST(price_ranges_min_max_total)
{
    /* Two courses; A has an old run (enrollment opened long ago) and a
     * newer one whose enrollment opened more recently: the newer seat is
     * the one counted.  Audit seats are not applicable. */
    json_t *runs = parse(
        "[{\"course\": \"X+A\", \"end\": \"2025-12-01T00:00:00Z\","
        "  \"enrollment_start\": \"2024-01-01T00:00:00Z\","
        "  \"seats\": [{\"type\": \"verified\", \"price\": \"100.00\", \"currency\": \"USD\"},"
        "             {\"type\": \"audit\", \"price\": \"0.00\", \"currency\": \"USD\"}]},"
        " {\"course\": \"X+A\", \"end\": \"2025-12-01T00:00:00Z\","
        "  \"enrollment_start\": \"2025-02-01T00:00:00Z\","
        "  \"seats\": [{\"type\": \"verified\", \"price\": \"120.00\", \"currency\": \"USD\"}]},"
        " {\"course\": \"X+B\", \"end\": null, \"enrollment_start\": null,"
        "  \"seats\": [{\"type\": \"verified\", \"price\": \"50.50\", \"currency\": \"USD\"},"
        "             {\"type\": \"verified\", \"price\": \"40.00\", \"currency\": \"EUR\"}]}]");
    json_t *courses = parse("[{\"key\": \"X+A\", \"entitlements\": []},"
                            " {\"key\": \"X+B\", \"entitlements\": []}]");
    json_t *types = parse("[\"verified\"]");
    json_t *ranges = derived_price_ranges(types, courses, runs, now);
    ck_assert_uint_eq(json_array_size(ranges), 2);
    check_range(ranges, 0, "USD", "50.50", "120.00", "170.50");
    check_range(ranges, 1, "EUR", "40.00", "40.00", "40.00");
    json_decref(ranges);

    /* With every type applicable the audit seat counts in min. */
    ranges = derived_price_ranges(NULL, courses, runs, now);
    check_range(ranges, 0, "USD", "0.00", "120.00", "170.50");
    json_decref(ranges);

    /* Empty applicable list: nothing applies. */
    json_t *none = json_array();
    ranges = derived_price_ranges(none, courses, runs, now);
    ck_assert_uint_eq(json_array_size(ranges), 0);
    json_decref(ranges);
    json_decref(none);
    json_decref(types);
    json_decref(courses);
    json_decref(runs);
}
END_TEST

START_TEST(price_ranges_ended_and_future_runs_not_selected)
{
    /* The second run has ended, the third opens enrollment in the future:
     * neither replaces the first in the total. */
    json_t *runs = parse(
        "[{\"course\": \"X+A\", \"end\": null, \"enrollment_start\": \"2024-01-01T00:00:00Z\","
        "  \"seats\": [{\"type\": \"verified\", \"price\": \"10.00\", \"currency\": \"USD\"}]},"
        " {\"course\": \"X+A\", \"end\": \"2025-02-01T00:00:00Z\","
        "  \"enrollment_start\": \"2025-01-01T00:00:00Z\","
        "  \"seats\": [{\"type\": \"verified\", \"price\": \"20.00\", \"currency\": \"USD\"}]},"
        " {\"course\": \"X+A\", \"end\": null, \"enrollment_start\": \"2025-06-01T00:00:00Z\","
        "  \"seats\": [{\"type\": \"verified\", \"price\": \"30.00\", \"currency\": \"USD\"}]}]");
    json_t *courses = parse("[]");
    json_t *ranges = derived_price_ranges(NULL, courses, runs, now);
    check_range(ranges, 0, "USD", "10.00", "30.00", "10.00");
    json_decref(ranges);
    json_decref(courses);
    json_decref(runs);
}
END_TEST

START_TEST(price_ranges_entitlement_replaces_seat)
{
    json_t *runs = parse(
        "[{\"course\": \"X+A\", \"end\": null, \"enrollment_start\": null,"
        "  \"seats\": [{\"type\": \"verified\", \"price\": \"100.00\", \"currency\": \"USD\"}]}]");
    json_t *courses = parse(
        "[{\"key\": \"X+A\", \"entitlements\": [{\"mode\": \"verified\", \"price\": \"90.00\","
        "  \"currency\": \"USD\"}, {\"mode\": \"professional\", \"price\": \"500.00\","
        "  \"currency\": \"USD\"}]},"
        " {\"key\": \"X+C\", \"entitlements\": [{\"mode\": \"verified\", \"price\": \"25.00\","
        "  \"currency\": \"USD\"}]}]");
    json_t *types = parse("[\"verified\"]");
    json_t *ranges = derived_price_ranges(types, courses, runs, now);
    ck_assert_uint_eq(json_array_size(ranges), 1);
    check_range(ranges, 0, "USD", "25.00", "100.00", "115.00");
    json_decref(ranges);
    json_decref(types);
    json_decref(courses);
    json_decref(runs);
}
END_TEST

START_TEST(derived_time_reads_canonical)
{
    json_t *doc = parse("{\"a\": \"2025-03-01T12:00:00Z\", \"b\": null, \"c\": \"x\", \"d\": 5}");
    time_t t;
    ck_assert_int_eq(derived_time(doc, "a", &t), 0);
    ck_assert(t == now);
    ck_assert_int_eq(derived_time(doc, "b", &t), -1);
    ck_assert_int_eq(derived_time(doc, "c", &t), -1);
    ck_assert_int_eq(derived_time(doc, "d", &t), -1);
    ck_assert_int_eq(derived_time(doc, "missing", &t), -1);
    json_decref(doc);
}
END_TEST

static Suite *derived_suite(void)
{
    Suite *s = suite_create("derived");
    TCase *t = tcase_create("derived");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_loop_test(t, availability_boundaries, 0,
                        (int)(sizeof availability_cases / sizeof availability_cases[0]));
    tcase_add_test(t, availability_names);
    tcase_add_loop_test(t, enrollment_and_active, 0,
                        (int)(sizeof window_cases / sizeof window_cases[0]));
    tcase_add_loop_test(t, marketable, 0,
                        (int)(sizeof marketable_cases / sizeof marketable_cases[0]));
    tcase_add_loop_test(t, seat_type_precedence, 0,
                        (int)(sizeof seat_type_cases / sizeof seat_type_cases[0]));
    tcase_add_test(t, run_seat_types_distinct);
    tcase_add_test(t, price_ranges_min_max_total);
    tcase_add_test(t, price_ranges_ended_and_future_runs_not_selected);
    tcase_add_test(t, price_ranges_entitlement_replaces_seat);
    tcase_add_test(t, derived_time_reads_canonical);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return test_run_suite(derived_suite());
}
