/*
 * derived - see derived.h.
 */
#include "derived.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json_fields.h"

int derived_time(const json_t *doc, const char *field, time_t *out)
{
    const char *text = json_string_value(json_object_get(doc, field));
    if (text == NULL || clock_parse_iso8601(text, out) != 0)
        return -1;
    return 0;
}

/* &storage when doc[field] is an instant, else NULL (unknown). */
static const time_t *time_or_null(const json_t *doc, const char *field, time_t *storage)
{
    return derived_time(doc, field, storage) == 0 ? storage : NULL;
}

enum availability derived_availability_at(const time_t *start, const time_t *end, time_t now)
{
    time_t cutoff = now + (time_t)DERIVED_STARTING_SOON_DAYS * 24 * 60 * 60;
    if (end != NULL && *end < now)
        return AVAILABILITY_ARCHIVED;
    if (start != NULL && *start <= now)
        return AVAILABILITY_CURRENT;
    if (start != NULL && *start < cutoff)
        return AVAILABILITY_STARTING_SOON;
    return AVAILABILITY_UPCOMING;
}

enum availability derived_availability(const json_t *run, time_t now)
{
    time_t s, e;
    return derived_availability_at(time_or_null(run, "start", &s), time_or_null(run, "end", &e),
                                   now);
}

const char *derived_availability_label(enum availability a)
{
    switch (a) {
    case AVAILABILITY_ARCHIVED:
        return "Archived";
    case AVAILABILITY_CURRENT:
        return "Current";
    case AVAILABILITY_STARTING_SOON:
        return "Starting Soon";
    case AVAILABILITY_UPCOMING:
    default:
        return "Upcoming";
    }
}

const char *derived_availability_slug(enum availability a)
{
    switch (a) {
    case AVAILABILITY_ARCHIVED:
        return "archived";
    case AVAILABILITY_CURRENT:
        return "current";
    case AVAILABILITY_STARTING_SOON:
        return "starting_soon";
    case AVAILABILITY_UPCOMING:
    default:
        return "upcoming";
    }
}

bool derived_is_enrollable_at(const time_t *enrollment_start, const time_t *enrollment_end,
                              time_t now)
{
    return (enrollment_end == NULL || *enrollment_end >= now) &&
           (enrollment_start == NULL || *enrollment_start <= now);
}

bool derived_is_enrollable(const json_t *run, time_t now)
{
    time_t s, e;
    return derived_is_enrollable_at(time_or_null(run, "enrollment_start", &s),
                                    time_or_null(run, "enrollment_end", &e), now);
}

bool derived_is_marketable(const json_t *run)
{
    const char *status = json_string_value(json_object_get(run, "status"));
    const char *url = json_string_value(json_object_get(run, "marketing_url"));
    return status != NULL && strcmp(status, "published") == 0 &&
           json_array_size(json_object_get(run, "seats")) > 0 && url != NULL && url[0] != '\0';
}

static bool run_has_seat(const json_t *run, const char *type)
{
    size_t i;
    const json_t *seat;
    json_array_foreach(json_object_get(run, "seats"), i, seat)
    {
        const char *t = json_string_value(json_object_get(seat, "type"));
        if (t != NULL && strcmp(t, type) == 0)
            return true;
    }
    return false;
}

const char *derived_seat_type(const json_t *run)
{
    /* course-discovery's CourseRun.type_legacy mapping, in its order */
    static const struct {
        const char *type;
        const char *seats[2];
    } mapping[] = {
        {"credit", {"credit", NULL}},     {"professional", {"professional", "no-id-professional"}},
        {"verified", {"verified", NULL}}, {"honor", {"honor", NULL}},
        {"audit", {"audit", NULL}},
    };
    for (size_t m = 0; m < sizeof mapping / sizeof mapping[0]; m++)
        for (size_t s = 0; s < 2 && mapping[m].seats[s] != NULL; s++)
            if (run_has_seat(run, mapping[m].seats[s]))
                return mapping[m].type;
    return NULL;
}

bool derived_run_is_active(const json_t *run, time_t now)
{
    time_t end, enrollment_end;
    bool end_ok = derived_time(run, "end", &end) != 0 || end > now;
    bool enrollment_ok =
        derived_time(run, "enrollment_end", &enrollment_end) != 0 || enrollment_end > now;
    return end_ok && enrollment_ok;
}

json_t *derived_run_seat_types(const json_t *run)
{
    json_t *types = json_array();
    size_t i, j;
    const json_t *seat, *seen;
    json_array_foreach(json_object_get(run, "seats"), i, seat)
    {
        const json_t *type = json_object_get(seat, "type");
        if (!json_is_string(type))
            continue;
        bool dup = false;
        json_array_foreach(types, j, seen) dup = dup || json_equal(seen, type);
        if (!dup)
            json_array_append(types, (json_t *)type);
    }
    return types;
}

/* ---- price ranges ------------------------------------------------------ */

/* One priced product: a seat (run set) or an entitlement (run NULL). */
struct product {
    const char *course;
    const char *currency;
    long long cents;
    const json_t *run;
    bool removed;
};

struct products {
    struct product *items;
    size_t n, cap;
};

static int push(struct products *p, struct product item)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct product *items = realloc(p->items, cap * sizeof *items);
        if (items == NULL)
            return -1;
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n++] = item;
    return 0;
}

static bool applies(const json_t *seat_types, const char *type)
{
    if (type == NULL)
        return false;
    if (seat_types == NULL)
        return true;
    size_t i;
    const json_t *t;
    json_array_foreach(seat_types, i, t) if (json_is_string(t) &&
                                             strcmp(json_string_value(t), type) == 0) return true;
    return false;
}

/* A product from a seat or entitlement object; -1 when it has no usable
 * price or currency (a canonical doc always has both). */
static int product_of(const json_t *obj, const char *course, const json_t *run, struct product *out)
{
    const char *currency = json_string_value(json_object_get(obj, "currency"));
    const char *price = json_string_value(json_object_get(obj, "price"));
    long long cents;
    if (currency == NULL || course == NULL || price == NULL || jf_decimal_cents(price, &cents) != 0)
        return -1;
    *out = (struct product){
        .course = course, .currency = currency, .cents = cents, .run = run, .removed = false};
    return 0;
}

/* course-discovery's Program._select_for_total_price: the candidate's run
 * has not ended, and its enrollment start is unknown or later than the
 * selected one's and already past. */
static bool better_for_total(const struct product *selected, const struct product *candidate,
                             time_t now)
{
    time_t end, cand_start, sel_start;
    if (derived_time(candidate->run, "end", &end) == 0 && end < now)
        return false;
    if (derived_time(candidate->run, "enrollment_start", &cand_start) != 0)
        return true;
    bool sel_known = derived_time(selected->run, "enrollment_start", &sel_start) == 0;
    return (!sel_known || cand_start > sel_start) && cand_start < now;
}

/* The products counted in the total, after course-discovery's selection:
 * marks the others removed.  seats come first, then entitlements. */
static void select_for_total(struct products *all, size_t n_seats, time_t now)
{
    for (size_t i = 0; i < all->n; i++)
        all->items[i].removed = true;
    for (size_t i = 0; i < n_seats; i++) {
        struct product *seat = &all->items[i];
        bool any = false, add = false;
        for (size_t j = 0; j < i; j++) {
            struct product *sel = &all->items[j];
            if (sel->removed || strcmp(sel->course, seat->course) != 0)
                continue;
            any = true;
            if (strcmp(sel->currency, seat->currency) != 0) {
                add = true;
            } else if (better_for_total(sel, seat, now)) {
                add = true;
                sel->removed = true;
            }
        }
        seat->removed = any && !add;
    }
    for (size_t i = n_seats; i < all->n; i++) {
        struct product *ent = &all->items[i];
        for (size_t j = 0; j < i; j++) {
            struct product *sel = &all->items[j];
            if (!sel->removed && strcmp(sel->course, ent->course) == 0 &&
                strcmp(sel->currency, ent->currency) == 0)
                sel->removed = true;
        }
        ent->removed = false;
    }
}

static json_t *price_string(long long cents)
{
    char buf[32];
    jf_format_cents(cents, buf, sizeof buf);
    return json_string(buf);
}

json_t *derived_price_ranges(const json_t *seat_types, const json_t *courses, const json_t *runs,
                             time_t now)
{
    struct products all = {0};
    size_t i, j;
    const json_t *run, *course, *item;
    int rc = 0;
    json_array_foreach(runs, i, run)
    {
        const char *key = json_string_value(json_object_get(run, "course"));
        json_array_foreach(json_object_get(run, "seats"), j, item)
        {
            struct product p;
            if (applies(seat_types, json_string_value(json_object_get(item, "type"))) &&
                product_of(item, key, run, &p) == 0)
                rc |= push(&all, p);
        }
    }
    size_t n_seats = all.n;
    json_array_foreach(courses, i, course)
    {
        const char *key = json_string_value(json_object_get(course, "key"));
        json_array_foreach(json_object_get(course, "entitlements"), j, item)
        {
            struct product p;
            if (applies(seat_types, json_string_value(json_object_get(item, "mode"))) &&
                product_of(item, key, NULL, &p) == 0)
                rc |= push(&all, p);
        }
    }
    json_t *ranges = json_array();
    if (rc != 0 || ranges == NULL) {
        free(all.items);
        json_decref(ranges);
        return NULL;
    }
    select_for_total(&all, n_seats, now);
    for (i = 0; i < all.n; i++) {
        const char *currency = all.items[i].currency;
        bool seen = false;
        for (j = 0; j < i && !seen; j++)
            seen = strcmp(all.items[j].currency, currency) == 0;
        if (seen)
            continue;
        long long lo = all.items[i].cents, hi = lo, total = 0;
        for (j = i; j < all.n; j++) {
            if (strcmp(all.items[j].currency, currency) != 0)
                continue;
            lo = all.items[j].cents < lo ? all.items[j].cents : lo;
            hi = all.items[j].cents > hi ? all.items[j].cents : hi;
            if (!all.items[j].removed)
                total += all.items[j].cents;
        }
        json_t *range = json_object();
        json_object_set_new(range, "currency", json_string(currency));
        json_object_set_new(range, "min", price_string(lo));
        json_object_set_new(range, "max", price_string(hi));
        json_object_set_new(range, "total", price_string(total));
        json_array_append_new(ranges, range);
    }
    free(all.items);
    return ranges;
}
