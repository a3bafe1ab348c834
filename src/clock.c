/*
 * clock - see clock.h.  The fixed instant is set once at start-up (or by a
 * test) and read by request threads, so it lives in atomics rather than
 * behind a lock.
 */
#include "clock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants that have a
 * four-digit year. */
static const time_t CLOCK_MIN_INSTANT = -62135596800LL;
static const time_t CLOCK_MAX_INSTANT = 253402300799LL;

static atomic_bool fixed_set;
static _Atomic long long fixed_now;

int clock_set_fixed(const char *iso8601, struct error *err)
{
    if (iso8601 == NULL || iso8601[0] == '\0') {
        atomic_store(&fixed_set, false);
        return 0;
    }
    time_t t;
    if (clock_parse_iso8601(iso8601, &t) != 0)
        return error_set(err, ERR_INVALID,
                         "'%s' is not an ISO 8601 instant (e.g. 2025-03-01T00:00:00Z)", iso8601);
    atomic_store(&fixed_now, (long long)t);
    atomic_store(&fixed_set, true);
    return 0;
}

time_t clock_now(void)
{
    if (atomic_load(&fixed_set))
        return (time_t)atomic_load(&fixed_now);
    return time(NULL);
}

/* Reads exactly n digits; returns -1 when any is not a digit. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

int clock_parse_iso8601(const char *text, time_t *out)
{
    if (text == NULL)
        return -1;
    const char *p = text;
    int year = digits(&p, 4);
    if (year < 0 || *p++ != '-')
        return -1;
    int month = digits(&p, 2);
    if (month < 1 || month > 12 || *p++ != '-')
        return -1;
    int day = digits(&p, 2);
    if (day < 1 || year < 1 || day > days_in_month(year, month))
        return -1;
    int hour = 0, min = 0, sec = 0, offset = 0;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't')
            return -1;
        p++;
        hour = digits(&p, 2);
        if (hour < 0 || hour > 23 || *p++ != ':')
            return -1;
        min = digits(&p, 2);
        if (min < 0 || min > 59 || *p++ != ':')
            return -1;
        sec = digits(&p, 2);
        if (sec < 0 || sec > 59)
            return -1;
        if (*p == '.' || *p == ',') {
            /* Fractions are accepted and dropped: time_t has whole seconds. */
            p++;
            if (*p < '0' || *p > '9')
                return -1;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int oh = digits(&p, 2);
            if (oh < 0 || oh > 23 || *p++ != ':')
                return -1;
            int om = digits(&p, 2);
            if (om < 0 || om > 59)
                return -1;
            offset = sign * (oh * 3600 + om * 60);
        } else {
            /* Without a zone the instant is ambiguous; refuse it. */
            return -1;
        }
        if (*p != '\0')
            return -1;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm(&tm) - offset;
    /* An offset can carry 0001-01-01 or 9999-12-31 into a year that has no
     * four-digit form; refused, so that every instant accepted here is one
     * clock_format_iso8601 writes and this function reads back. */
    if (t < CLOCK_MIN_INSTANT || t > CLOCK_MAX_INSTANT)
        return -1;
    *out = t;
    return 0;
}

void clock_format_iso8601(time_t t, char *buf, size_t size)
{
    struct tm tm;
    if (size == 0)
        return;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "%s", "");
        return;
    }
    /* Not strftime's %Y: it writes year 596 as "596", which no ISO 8601
     * reader (ours included) accepts back. */
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
