/*
 * api_repr_derived - see api_repr_derived.h.
 */
#include "api_repr_derived.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define STARTING_SOON_SECONDS (60 * 24 * 3600)

/* *out = the instant in doc[field]; false when absent or unparseable. */
static bool instant(const json_t *doc, const char *field, time_t *out)
{
    const char *text = json_string_value(json_object_get(doc, field));
    return text != NULL && clock_parse_iso8601(text, out) == 0;
}

static const char *availability(const json_t *run, time_t now)
{
    time_t start, end;
    if (instant(run, "end", &end) && end < now)
        return "Archived";
    if (instant(run, "start", &start)) {
        if (start <= now)
            return "Current";
        if (start - STARTING_SOON_SECONDS <= now)
            return "Starting Soon";
    }
    return "Upcoming";
}

static bool is_enrollable(const json_t *run, time_t now)
{
    time_t t;
    if (instant(run, "enrollment_start", &t) && t > now)
        return false;
    if (instant(run, "enrollment_end", &t) && t < now)
        return false;
    return true;
}

static bool is_marketable(const json_t *run)
{
    const char *status = json_string_value(json_object_get(run, "status"));
    const char *url = json_string_value(json_object_get(run, "marketing_url"));
    return status != NULL && strcmp(status, "published") == 0 &&
           json_array_size(json_object_get(run, "seats")) > 0 && url != NULL && *url != '\0';
}

/* The first of credit > professional > verified > honor > audit found
 * among the run's seats, or NULL. */
static const char *legacy_type(const json_t *run)
{
    static const char *const order[] = {"credit", "professional", "verified", "honor", "audit"};
    const json_t *seats = json_object_get(run, "seats");
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        size_t i;
        json_t *seat;
        json_array_foreach(seats, i, seat)
        {
            const char *type = json_string_value(json_object_get(seat, "type"));
            if (type != NULL && strcmp(type, order[k]) == 0)
                return order[k];
        }
    }
    return NULL;
}

void api_repr_run_derived(json_t *out, const json_t *run, time_t now)
{
    const char *type = legacy_type(run);
    json_object_set_new(out, "type", type ? json_string(type) : json_null());
    json_object_set_new(out, "availability", json_string(availability(run, now)));
    json_object_set_new(out, "is_enrollable", json_boolean(is_enrollable(run, now)));
    json_object_set_new(out, "is_marketable", json_boolean(is_marketable(run)));
}

/* A decimal price string ("149", "149.5", "149.00") in cents; -1 when it
 * is not one.  Integer cents keep sums exact. */
static long long cents(const json_t *price)
{
    const char *p = json_string_value(price);
    if (p == NULL || *p == '\0')
        return -1;
    long long whole = 0, frac = 0;
    int frac_digits = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > 1000000000000LL)
            return -1;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (frac_digits < 2) {
                frac = frac * 10 + (*p - '0');
                frac_digits++;
            }
    }
    if (*p != '\0')
        return -1;
    while (frac_digits++ < 2)
        frac *= 10;
    return whole * 100 + frac;
}

static json_t *money(long long c)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld.%02lld", c / 100, c % 100);
    return json_string(buf);
}

static bool applicable(const json_t *seat_types, const char *type)
{
    if (json_array_size(seat_types) == 0)
        return true;
    size_t i;
    json_t *t;
    json_array_foreach(seat_types, i, t)
    {
        if (type != NULL && json_is_string(t) && strcmp(json_string_value(t), type) == 0)
            return true;
    }
    return false;
}

/* Per currency: {"min", "max", "courses": {course key: lowest}} in cents. */
json_t *api_repr_price_ranges(const json_t *runs, const json_t *seat_types)
{
    json_t *acc = json_object();
    size_t i, j;
    json_t *run, *seat;
    json_array_foreach(runs, i, run)
    {
        const char *course = json_string_value(json_object_get(run, "course"));
        json_array_foreach(json_object_get(run, "seats"), j, seat)
        {
            const char *currency = json_string_value(json_object_get(seat, "currency"));
            long long c = cents(json_object_get(seat, "price"));
            if (c < 0 || currency == NULL ||
                !applicable(seat_types, json_string_value(json_object_get(seat, "type"))))
                continue;
            json_t *cur = json_object_get(acc, currency);
            if (cur == NULL) {
                cur = json_pack("{s:I,s:I,s:{}}", "min", (json_int_t)c, "max", (json_int_t)c,
                                "courses");
                json_object_set_new(acc, currency, cur);
            }
            if (c < json_integer_value(json_object_get(cur, "min")))
                json_object_set_new(cur, "min", json_integer(c));
            if (c > json_integer_value(json_object_get(cur, "max")))
                json_object_set_new(cur, "max", json_integer(c));
            json_t *per = json_object_get(cur, "courses");
            const char *ck = course ? course : "";
            json_t *low = json_object_get(per, ck);
            if (low == NULL || c < json_integer_value(low))
                json_object_set_new(per, ck, json_integer(c));
        }
    }
    json_t *out = json_array();
    const char *currency;
    json_t *cur;
    json_object_foreach(acc, currency, cur)
    {
        long long total = 0;
        const char *ck;
        json_t *low;
        json_object_foreach(json_object_get(cur, "courses"), ck, low) total +=
            json_integer_value(low);
        json_array_append_new(out, json_pack("{s:s,s:o,s:o,s:o}", "currency", currency, "min",
                                             money(json_integer_value(json_object_get(cur, "min"))),
                                             "max",
                                             money(json_integer_value(json_object_get(cur, "max"))),
                                             "total", money(total)));
    }
    json_decref(acc);
    return out;
}
