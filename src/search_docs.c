/*
 * search_docs - records to search documents, and the documents a change
 * touches (see search_docs.h for the rules).
 */
#include "search_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derived.h"

/* Larger than any instant a record may hold, small enough for end + 1. */
#define TIME_MAX_SAFE ((time_t)1 << 40)

static const char *const content_names[SEARCH_CONTENT_COUNT] = {"course", "courserun", "program"};

const char *search_docs_content_name(enum search_content content)
{
    return (unsigned)content < SEARCH_CONTENT_COUNT ? content_names[content] : "";
}

int search_docs_content_of(enum entity_kind kind, enum search_content *out)
{
    switch (kind) {
    case ENTITY_COURSE:
        *out = SEARCH_COURSE;
        return 0;
    case ENTITY_COURSE_RUN:
        *out = SEARCH_COURSE_RUN;
        return 0;
    case ENTITY_PROGRAM:
        *out = SEARCH_PROGRAM;
        return 0;
    default:
        return -1;
    }
}

static enum entity_kind kind_of(enum search_content content)
{
    return content == SEARCH_COURSE       ? ENTITY_COURSE
           : content == SEARCH_COURSE_RUN ? ENTITY_COURSE_RUN
                                          : ENTITY_PROGRAM;
}

static const char *str(const json_t *doc, const char *field)
{
    return json_string_value(json_object_get(doc, field));
}

/* doc[field] as a new reference, JSON null when absent. */
static json_t *copy(const json_t *doc, const char *field)
{
    json_t *v = json_object_get(doc, field);
    return v ? json_incref(v) : json_null();
}

/* The first non-null of a[field] and b[field], as a new reference. */
static json_t *first_of(const json_t *a, const char *fa, const json_t *b, const char *fb)
{
    json_t *v = json_object_get(a, fa);
    if (v == NULL || json_is_null(v))
        v = b ? json_object_get(b, fb) : NULL;
    return v ? json_incref(v) : json_null();
}

/* ---- reading what a record names (cached per plan or flatten) ---- */

/* The name a record is kept under in a lookups object. */
static void lookup_name(char *name, size_t size, enum entity_kind kind, const char *key)
{
    snprintf(name, size, "%d\t%s", (int)kind, key);
}

int search_docs_lookups_put(json_t *lookups, enum entity_kind kind, const char *key, json_t *record)
{
    char name[300];
    if (key == NULL)
        return -1;
    lookup_name(name, sizeof name, kind, key);
    return json_object_set(lookups, name, record);
}

void search_docs_lookups_del(json_t *lookups, enum entity_kind kind, const char *key)
{
    char name[300];
    if (key == NULL)
        return;
    lookup_name(name, sizeof name, kind, key);
    json_object_del(lookups, name);
}

/* The record of kind and key, borrowed from cache (a JSON object that
 * owns it); NULL (and 0) when it does not exist. */
static int cached_get(struct store *store, json_t *cache, enum entity_kind kind, const char *key,
                      const json_t **out, struct error *err)
{
    char name[300];
    lookup_name(name, sizeof name, kind, key);
    json_t *hit = json_object_get(cache, name);
    if (hit == NULL) {
        json_t *doc = NULL;
        struct error e = {0};
        if (store_get(store, kind, key, &doc, &e) != 0) {
            if (e.code != ERR_NOT_FOUND) {
                *err = e;
                return -1;
            }
            doc = json_null();
        }
        json_object_set_new(cache, name, doc);
        hit = doc;
    }
    *out = json_is_null(hit) ? NULL : hit;
    return 0;
}

/* ["KEY: Name", ...] for organization keys (a missing one keeps its key
 * alone, so a dangling reference is still searchable by key). */
static int organization_values(struct store *store, json_t *cache, const json_t *keys, json_t *out,
                               struct error *err)
{
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *key = json_string_value(k);
        const json_t *org;
        if (key == NULL)
            continue;
        if (cached_get(store, cache, ENTITY_ORGANIZATION, key, &org, err) != 0)
            return -1;
        const char *name = org ? str(org, "name") : NULL;
        json_array_append_new(out, name ? json_sprintf("%s: %s", key, name) : json_string(key));
    }
    return 0;
}

/* Appends the names of subject slugs not yet in out. */
static int subject_names(struct store *store, json_t *cache, const json_t *slugs, json_t *out,
                         struct error *err)
{
    size_t i, j;
    json_t *s, *have;
    json_array_foreach(slugs, i, s)
    {
        const char *slug = json_string_value(s);
        const json_t *subject;
        if (slug == NULL)
            continue;
        if (cached_get(store, cache, ENTITY_SUBJECT, slug, &subject, err) != 0)
            return -1;
        const char *name = subject && str(subject, "name") ? str(subject, "name") : slug;
        bool dup = false;
        json_array_foreach(out, j, have) dup = dup || strcmp(json_string_value(have), name) == 0;
        if (!dup)
            json_array_append_new(out, json_string(name));
    }
    return 0;
}

static bool run_is_public(const json_t *run)
{
    const char *status = str(run, "status");
    return status && strcmp(status, "published") == 0 &&
           !json_is_true(json_object_get(run, "hidden"));
}

/* The run a visitor would pick among the public runs: a current one (the
 * latest to have started), else the next to start, else the last to have
 * ended; NULL when there is no public run. */
static const json_t *pick_run(const json_t *runs, time_t now)
{
    const json_t *current = NULL, *upcoming = NULL, *past = NULL;
    time_t cur_start = 0, up_start = 0, past_end = 0;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        if (!run_is_public(run))
            continue;
        time_t start, end;
        bool has_start = derived_time(run, "start", &start) == 0;
        bool has_end = derived_time(run, "end", &end) == 0;
        enum availability a =
            derived_availability_at(has_start ? &start : NULL, has_end ? &end : NULL, now);
        if (a == AVAILABILITY_CURRENT) {
            if (current == NULL || start > cur_start)
                current = run, cur_start = start;
        } else if (a == AVAILABILITY_ARCHIVED) {
            if (past == NULL || end > past_end)
                past = run, past_end = end;
        } else {
            /* Upcoming: the earliest known start; an unknown start last. */
            time_t s = has_start ? start : (time_t)-1;
            bool better =
                upcoming == NULL || (s != (time_t)-1 && (up_start == (time_t)-1 || s < up_start));
            if (better)
                upcoming = run, up_start = s;
        }
    }
    return current ? current : upcoming ? upcoming : past;
}

time_t search_docs_refresh_at(const json_t *runs, time_t now)
{
    /* pick_run's answer depends on now only through each public run's
     * availability, which changes as now reaches its start (upcoming to
     * current) and passes its end (to archived: end < now, so at end + 1).
     * Enrollment dates and "starting soon" do not move the pick, and the
     * API computes the rest from the dates at query time. */
    time_t next = 0;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        time_t start, end;
        if (!run_is_public(run))
            continue;
        if (derived_time(run, "start", &start) == 0 && start > now && (next == 0 || start < next))
            next = start;
        if (derived_time(run, "end", &end) == 0 && end >= now && end < TIME_MAX_SAFE &&
            (next == 0 || end + 1 < next))
            next = end + 1;
    }
    return next;
}

static json_t *run_summary(const json_t *run)
{
    return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "key", json_object_get(run, "key"), "start",
                     json_object_get(run, "start"), "end", json_object_get(run, "end"),
                     "enrollment_start", json_object_get(run, "enrollment_start"), "enrollment_end",
                     json_object_get(run, "enrollment_end"), "pacing_type",
                     json_object_get(run, "pacing_type"), "status", json_object_get(run, "status"));
}

static const char *image_src(const json_t *doc, const char *field)
{
    return str(json_object_get(doc, field), "src");
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The searchable and facet fields every document has; the hit is added by
 * the caller. */
static json_t *base_doc(const char *content, const char *key, json_t *title)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "content_type", json_string(content));
    json_object_set_new(doc, "key", json_string(key));
    json_object_set_new(doc, "title", json_is_string(title) ? title : json_string(""));
    if (!json_is_string(title))
        json_decref(title);
    return doc;
}

static void copy_fields(json_t *to, const json_t *from, const char *const *fields)
{
    for (size_t i = 0; fields[i]; i++)
        json_object_set(to, fields[i], json_object_get(from, fields[i]));
}

/* A course's document from the course and its runs (in natural key order:
 * the order of the hit's course_runs and of the seat types). */
static int flatten_course_with(struct store *store, json_t *cache, const json_t *course,
                               const json_t *course_runs, time_t now, json_t **out,
                               time_t *refresh_at, struct error *err)
{
    const char *key = str(course, "key");
    if (key == NULL)
        return error_set(err, ERR_INVALID, "course without a key");
    json_t *orgs = json_array(), *subjects = json_array(), *seats = json_array();
    int rc = organization_values(store, cache, json_object_get(course, "owners"), orgs, err);
    if (rc == 0)
        rc = subject_names(store, cache, json_object_get(course, "subjects"), subjects, err);
    size_t i, j;
    json_t *run, *seat, *have;
    json_t *runs = json_array();
    json_array_foreach(course_runs, i, run)
    {
        json_array_append_new(runs, run_summary(run));
        if (!run_is_public(run))
            continue;
        json_t *types = derived_run_seat_types(run);
        json_array_foreach(types, j, seat)
        {
            bool dup = false;
            size_t k;
            json_array_foreach(seats, k, have) dup = dup || json_equal(have, seat);
            if (!dup)
                json_array_append(seats, seat);
        }
        json_decref(types);
    }
    const json_t *pick = pick_run(course_runs, now);
    if (refresh_at != NULL)
        *refresh_at = search_docs_refresh_at(course_runs, now);
    json_t *doc = base_doc("course", key, copy(course, "title"));
    json_object_set_new(doc, "short_description", copy(course, "short_description"));
    json_object_set_new(doc, "full_description", copy(course, "full_description"));
    json_object_set(doc, "orgs", json_object_get(course, "owners"));
    json_object_set_new(doc, "organizations", orgs);
    json_object_set_new(doc, "subjects", subjects);
    json_object_set_new(doc, "level_type", copy(course, "level_type"));
    json_object_set_new(doc, "language", pick ? copy(pick, "content_language") : json_null());
    json_object_set_new(doc, "pacing_type", pick ? copy(pick, "pacing_type") : json_null());
    json_object_set_new(doc, "seat_types", seats);
    static const char *const dates[] = {"start", "end", "enrollment_start", "enrollment_end", NULL};
    for (i = 0; dates[i]; i++)
        json_object_set_new(doc, dates[i], pick ? copy(pick, dates[i]) : json_null());
    json_object_set_new(doc, "status", json_null());
    json_object_set_new(doc, "hidden", json_false());

    json_t *hit = json_object();
    static const char *const same[] = {"content_type",
                                       "key",
                                       "title",
                                       "short_description",
                                       "full_description",
                                       "orgs",
                                       "organizations",
                                       "subjects",
                                       "level_type",
                                       "seat_types",
                                       "start",
                                       "end",
                                       "enrollment_start",
                                       "enrollment_end",
                                       "pacing_type",
                                       "language",
                                       NULL};
    copy_fields(hit, doc, same);
    static const char *const from_course[] = {
        "uuid", "marketing_url", "card_image_url", "course_type", "outcome", "modified", NULL};
    copy_fields(hit, course, from_course);
    json_object_set_new(hit, "aggregation_key", json_sprintf("course:%s", key));
    json_object_set_new(hit, "image_url", string_or_null(image_src(course, "image")));
    json_object_set_new(hit, "org",
                        json_array_size(json_object_get(course, "owners"))
                            ? json_incref(json_array_get(json_object_get(course, "owners"), 0))
                            : json_null());
    json_object_set_new(hit, "course_runs", runs);
    json_object_set_new(doc, "hit", hit);
    if (rc != 0) {
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

static int flatten_course(struct store *store, json_t *cache, const json_t *course, time_t now,
                          json_t **out, time_t *refresh_at, struct error *err)
{
    const char *key = str(course, "key");
    struct store_query q = {
        .kind = ENTITY_COURSE_RUN, .course = key, .hidden = -1, .marketable = -1, .active = -1};
    struct store_page page = {0};
    if (key == NULL)
        return error_set(err, ERR_INVALID, "course without a key");
    if (store_list(store, &q, &page, err) != 0)
        return -1;
    int rc = flatten_course_with(store, cache, course, page.items, now, out, refresh_at, err);
    json_decref(page.items);
    return rc;
}

int search_docs_flatten_course_runs(struct store *store, json_t *lookups, const json_t *course,
                                    const json_t *runs, time_t now, json_t **out,
                                    time_t *refresh_at, struct error *err)
{
    *out = NULL;
    if (refresh_at != NULL)
        *refresh_at = 0;
    return flatten_course_with(store, lookups, course, runs, now, out, refresh_at, err);
}

static int flatten_run(struct store *store, json_t *cache, const json_t *run, json_t **out,
                       struct error *err)
{
    const char *key = str(run, "key"), *course_key = str(run, "course");
    const json_t *course = NULL;
    if (key == NULL)
        return error_set(err, ERR_INVALID, "course run without a key");
    if (course_key && cached_get(store, cache, ENTITY_COURSE, course_key, &course, err) != 0)
        return -1;
    json_t *orgs = json_array(), *subjects = json_array();
    int rc = 0;
    if (course) {
        rc = organization_values(store, cache, json_object_get(course, "owners"), orgs, err);
        if (rc == 0)
            rc = subject_names(store, cache, json_object_get(course, "subjects"), subjects, err);
    }
    json_t *doc = base_doc("courserun", key, first_of(run, "title", course, "title"));
    json_object_set_new(doc, "short_description",
                        first_of(run, "short_description", course, "short_description"));
    json_object_set_new(doc, "full_description",
                        first_of(run, "full_description", course, "full_description"));
    json_object_set_new(doc, "orgs", course ? copy(course, "owners") : json_array());
    json_object_set_new(doc, "organizations", orgs);
    json_object_set_new(doc, "subjects", subjects);
    json_object_set_new(doc, "level_type", first_of(run, "level_type", course, "level_type"));
    json_object_set_new(doc, "language", copy(run, "content_language"));
    json_object_set_new(doc, "pacing_type", copy(run, "pacing_type"));
    json_object_set_new(doc, "seat_types", derived_run_seat_types(run));
    static const char *const from_run[] = {
        "start", "end", "enrollment_start", "enrollment_end", "status", "hidden", NULL};
    copy_fields(doc, run, from_run);

    json_t *hit = json_object();
    static const char *const same[] = {"content_type",
                                       "key",
                                       "title",
                                       "short_description",
                                       "full_description",
                                       "orgs",
                                       "organizations",
                                       "subjects",
                                       "level_type",
                                       "language",
                                       "pacing_type",
                                       "seat_types",
                                       "start",
                                       "end",
                                       "enrollment_start",
                                       "enrollment_end",
                                       "hidden",
                                       NULL};
    copy_fields(hit, doc, same);
    static const char *const also[] = {
        "uuid",       "course",     "marketing_url",     "transcript_languages",
        "min_effort", "max_effort", "weeks_to_complete", "modified",
        NULL};
    copy_fields(hit, run, also);
    const char *image = image_src(run, "image");
    if (image == NULL && course)
        image = image_src(course, "image");
    json_object_set_new(hit, "image_url", string_or_null(image));
    json_object_set_new(hit, "aggregation_key",
                        json_sprintf("courserun:%s", course_key ? course_key : key));
    json_t *owners = course ? json_object_get(course, "owners") : NULL;
    json_object_set_new(
        hit, "org", json_array_size(owners) ? json_incref(json_array_get(owners, 0)) : json_null());
    json_object_set_new(hit, "type", string_or_null(derived_seat_type(run)));
    json_object_set_new(
        hit, "published",
        json_boolean(str(run, "status") && strcmp(str(run, "status"), "published") == 0));
    json_object_set_new(doc, "hit", hit);
    if (rc != 0) {
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

static int flatten_program(struct store *store, json_t *cache, const json_t *program, json_t **out,
                           struct error *err)
{
    const char *uuid = str(program, "uuid"), *type_slug = str(program, "type");
    const json_t *type = NULL;
    if (uuid == NULL)
        return error_set(err, ERR_INVALID, "program without a uuid");
    if (type_slug && cached_get(store, cache, ENTITY_PROGRAM_TYPE, type_slug, &type, err) != 0)
        return -1;
    json_t *orgs = json_array(), *subjects = json_array();
    int rc = organization_values(store, cache, json_object_get(program, "authoring_organizations"),
                                 orgs, err);
    size_t i;
    json_t *ck;
    json_array_foreach(json_object_get(program, "courses"), i, ck)
    {
        const json_t *course = NULL;
        if (rc == 0 && json_is_string(ck))
            rc = cached_get(store, cache, ENTITY_COURSE, json_string_value(ck), &course, err);
        if (rc == 0 && course)
            rc = subject_names(store, cache, json_object_get(course, "subjects"), subjects, err);
    }
    json_t *doc = base_doc("program", uuid, copy(program, "title"));
    json_object_set_new(doc, "short_description", copy(program, "subtitle"));
    json_object_set_new(doc, "full_description", copy(program, "overview"));
    json_object_set(doc, "orgs", json_object_get(program, "authoring_organizations"));
    json_object_set_new(doc, "organizations", orgs);
    json_object_set_new(doc, "subjects", subjects);
    json_object_set_new(doc, "level_type", json_null());
    json_object_set_new(doc, "language", json_null());
    json_object_set_new(doc, "pacing_type", json_null());
    json_t *seats = type ? json_object_get(type, "applicable_seat_types") : NULL;
    json_object_set_new(doc, "seat_types", seats ? json_incref(seats) : json_array());
    static const char *const none[] = {"start", "end", "enrollment_start", "enrollment_end", NULL};
    for (i = 0; none[i]; i++)
        json_object_set_new(doc, none[i], json_null());
    json_object_set_new(doc, "status", copy(program, "status"));
    json_object_set_new(doc, "hidden", copy(program, "hidden"));

    json_t *hit = json_object();
    static const char *const same[] = {"content_type",  "title",    "orgs",
                                       "organizations", "subjects", "seat_types",
                                       "status",        "hidden",   NULL};
    copy_fields(hit, doc, same);
    static const char *const also[] = {"uuid",           "subtitle", "marketing_url",
                                       "card_image_url", "courses",  "weeks_to_complete",
                                       "modified",       NULL};
    copy_fields(hit, program, also);
    json_object_set_new(hit, "key", json_string(uuid));
    json_object_set_new(hit, "type",
                        type && str(type, "name") ? json_string(str(type, "name"))
                                                  : copy(program, "type"));
    json_object_set_new(hit, "type_slug", copy(program, "type"));
    json_object_set_new(hit, "aggregation_key", json_sprintf("program:%s", uuid));
    json_object_set(hit, "authoring_organizations",
                    json_object_get(program, "authoring_organizations"));
    json_object_set_new(doc, "hit", hit);
    if (rc != 0) {
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

int search_docs_flatten_refresh(struct store *store, json_t *cache, enum entity_kind kind,
                                const json_t *record, time_t now, json_t **out, time_t *refresh_at,
                                struct error *err)
{
    *out = NULL;
    if (refresh_at != NULL)
        *refresh_at = 0;
    switch (kind) {
    case ENTITY_COURSE:
        return flatten_course(store, cache, record, now, out, refresh_at, err);
    case ENTITY_COURSE_RUN:
        return flatten_run(store, cache, record, out, err);
    case ENTITY_PROGRAM:
        return flatten_program(store, cache, record, out, err);
    default:
        return error_set(err, ERR_INVALID, "%s records have no search document",
                         entity_kind_name(kind));
    }
}

int search_docs_flatten_cached(struct store *store, json_t *cache, enum entity_kind kind,
                               const json_t *record, time_t now, json_t **out, struct error *err)
{
    return search_docs_flatten_refresh(store, cache, kind, record, now, out, NULL, err);
}

int search_docs_flatten(struct store *store, enum entity_kind kind, const json_t *record,
                        time_t now, json_t **out, struct error *err)
{
    json_t *cache = json_object();
    if (cache == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    int rc = search_docs_flatten_cached(store, cache, kind, record, now, out, err);
    json_decref(cache);
    return rc;
}

/* ---- plans ---- */

/* Courses whose programs are found by one query each; beyond, by one scan
 * of every program. */
#define PROGRAM_QUERY_MAX 8

int search_docs_plan_init(struct search_docs_plan *plan, struct error *err)
{
    plan->targets = json_object();
    plan->order = json_array();
    plan->families = json_object();
    plan->orgs = json_object();
    plan->subjects = json_object();
    plan->lookups = json_object();
    plan->refresh = json_object();
    if (!plan->targets || !plan->order || !plan->families || !plan->orgs || !plan->subjects ||
        !plan->lookups || !plan->refresh) {
        search_docs_plan_clear(plan);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

void search_docs_plan_clear(struct search_docs_plan *plan)
{
    json_t **all[] = {&plan->targets,  &plan->order,   &plan->families, &plan->orgs,
                      &plan->subjects, &plan->lookups, &plan->refresh};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        json_decref(*all[i]);
        *all[i] = NULL;
    }
}

int search_docs_plan_add(struct search_docs_plan *plan, enum search_content content,
                         const char *key, struct error *err)
{
    char name[300];
    if ((unsigned)content >= SEARCH_CONTENT_COUNT || key == NULL || key[0] == '\0')
        return error_set(err, ERR_INVALID, "search document without content type or key");
    snprintf(name, sizeof name, "%s\t%s", content_names[content], key);
    if (json_object_get(plan->targets, name) != NULL)
        return 0;
    if (json_object_set_new(plan->targets, name, json_true()) != 0 ||
        json_array_append_new(plan->order, json_string(name)) != 0)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

size_t search_docs_plan_size(const struct search_docs_plan *plan)
{
    return json_array_size(plan->order);
}

static int set_add(json_t *set, const char *key, struct error *err)
{
    if (key == NULL || key[0] == '\0')
        return 0;
    if (json_object_set_new(set, key, json_true()) != 0)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

/* Whether any string of list is a key of set. */
static bool any_in(const json_t *list, const json_t *set)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && json_object_get(set, json_string_value(v)) != NULL)
            return true;
    }
    return false;
}

/* Adds the documents of every record of kind a store query finds. */
static int add_listed(struct search_docs_plan *plan, struct store *store,
                      const struct store_query *query, struct error *err)
{
    struct store_page page = {0};
    enum search_content content;
    if (search_docs_content_of(query->kind, &content) != 0)
        return 0;
    if (store_list(store, query, &page, err) != 0)
        return -1;
    const char *field = entity_key_field(query->kind);
    size_t i;
    json_t *doc;
    int rc = 0;
    json_array_foreach(page.items, i, doc)
    {
        if (rc == 0)
            rc = search_docs_plan_add(plan, content, str(doc, field), err);
    }
    json_decref(page.items);
    return rc;
}

static struct store_query all_of(enum entity_kind kind)
{
    struct store_query q = {.kind = kind, .hidden = -1, .marketable = -1, .active = -1};
    return q;
}

static int plan_run(struct search_docs_plan *plan, struct store *store, struct search *search,
                    const char *key, struct error *err)
{
    if (search_docs_plan_add(plan, SEARCH_COURSE_RUN, key, err) != 0)
        return -1;
    json_t *run = NULL;
    struct error e = {0};
    if (store_get(store, ENTITY_COURSE_RUN, key, &run, &e) == 0) {
        const char *course = str(run, "course");
        int rc = course ? search_docs_plan_add(plan, SEARCH_COURSE, course, err) : 0;
        json_decref(run);
        if (rc != 0)
            return -1;
    } else if (e.code != ERR_NOT_FOUND) {
        *err = e;
        return -1;
    }
    /* The course the run was indexed under: it lost the run when the run
     * was deleted or moved to another course. */
    if (search != NULL && search->driver->lookup != NULL) {
        json_t *hit = NULL;
        if (search->driver->lookup(search, SEARCH_COURSE_RUN, key, &hit, err) != 0)
            return -1;
        const char *before = str(hit, "course");
        int rc = before ? search_docs_plan_add(plan, SEARCH_COURSE, before, err) : 0;
        json_decref(hit);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int search_docs_plan_change(struct search_docs_plan *plan, struct store *store,
                            struct search *search, const struct store_change *change,
                            struct error *err)
{
    const char *key = change->key;
    switch (change->kind) {
    case ENTITY_COURSE_RUN:
        return plan_run(plan, store, search, key, err);
    case ENTITY_COURSE:
        /* A deleted course has no runs left to list: the store wrote a
         * change for each of them. */
        return search_docs_plan_add(plan, SEARCH_COURSE, key, err) ||
                       set_add(plan->families, key, err)
                   ? -1
                   : 0;
    case ENTITY_PROGRAM:
        return search_docs_plan_add(plan, SEARCH_PROGRAM, key, err);
    case ENTITY_PROGRAM_TYPE: {
        struct store_query q = all_of(ENTITY_PROGRAM);
        q.program_type = key;
        return add_listed(plan, store, &q, err);
    }
    case ENTITY_ORGANIZATION:
        return set_add(plan->orgs, key, err);
    case ENTITY_SUBJECT:
        return set_add(plan->subjects, key, err);
    default:
        return 0;
    }
}

/* Courses owned by a changed organization or naming a changed subject
 * join the families. */
static int scan_course(void *ctx, const json_t *course, struct error *err)
{
    struct search_docs_plan *plan = ctx;
    if (any_in(json_object_get(course, "owners"), plan->orgs) ||
        any_in(json_object_get(course, "subjects"), plan->subjects)) {
        if (search_docs_plan_add(plan, SEARCH_COURSE, str(course, "key"), err) != 0 ||
            set_add(plan->families, str(course, "key"), err) != 0)
            return -1;
    }
    return 0;
}

static int scan_program(void *ctx, const json_t *program, struct error *err)
{
    struct search_docs_plan *plan = ctx;
    if (any_in(json_object_get(program, "courses"), plan->families) ||
        any_in(json_object_get(program, "authoring_organizations"), plan->orgs))
        return search_docs_plan_add(plan, SEARCH_PROGRAM, str(program, "uuid"), err);
    return 0;
}

int search_docs_plan_expand(struct search_docs_plan *plan, struct store *store, struct error *err)
{
    /* The store cannot filter courses by subject, and a bulk import names
     * every organization and subject: one pass over the courses serves
     * every such change of the batch. */
    if ((json_object_size(plan->orgs) > 0 || json_object_size(plan->subjects) > 0) &&
        store_each(store, ENTITY_COURSE, scan_course, plan, err) != 0)
        return -1;
    /* Runs of each family through the store's index of runs by course:
     * proportional to what changed.  Programs by course are a scan of the
     * programs per query in the store, so past a few courses one scan of
     * the programs serves them all (and the changed organizations). */
    const char *key;
    json_t *unused;
    size_t n = json_object_size(plan->families);
    bool scan_programs = n > PROGRAM_QUERY_MAX || json_object_size(plan->orgs) > 0;
    json_object_foreach(plan->families, key, unused)
    {
        struct store_query runs = all_of(ENTITY_COURSE_RUN), programs = all_of(ENTITY_PROGRAM);
        runs.course = key;
        programs.course = key;
        if (add_listed(plan, store, &runs, err) != 0 ||
            (!scan_programs && add_listed(plan, store, &programs, err) != 0))
            return -1;
    }
    if (scan_programs && store_each(store, ENTITY_PROGRAM, scan_program, plan, err) != 0)
        return -1;
    return 0;
}

int search_docs_plan_resolve(struct search_docs_plan *plan, struct store *store, time_t now,
                             size_t from, size_t max, json_t **index, json_t **remove,
                             struct error *err)
{
    *index = json_array();
    *remove = json_array();
    /* Records read for one slice only, so memory stays bounded by it. */
    json_object_clear(plan->lookups);
    json_object_clear(plan->refresh);
    if (*index == NULL || *remove == NULL)
        goto oom;
    size_t end = json_array_size(plan->order);
    if (max > 0 && from + max < end)
        end = from + max;
    for (size_t i = from; i < end; i++) {
        const char *name = json_string_value(json_array_get(plan->order, i));
        const char *tab = name ? strchr(name, '\t') : NULL;
        if (tab == NULL)
            continue;
        enum search_content content = SEARCH_COURSE;
        for (int c = 0; c < SEARCH_CONTENT_COUNT; c++)
            if (strncmp(name, content_names[c], (size_t)(tab - name)) == 0 &&
                content_names[c][tab - name] == '\0')
                content = (enum search_content)c;
        const char *key = tab + 1;
        json_t *record = NULL, *doc = NULL;
        struct error e = {0};
        if (store_get(store, kind_of(content), key, &record, &e) != 0) {
            if (e.code != ERR_NOT_FOUND) {
                *err = e;
                goto fail;
            }
            json_array_append_new(*remove, json_pack("{s:s,s:s}", "content_type",
                                                     content_names[content], "key", key));
            if (content == SEARCH_COURSE &&
                json_object_set_new(plan->refresh, key, json_integer(0)) != 0)
                goto oom;
            continue;
        }
        time_t at = 0;
        int rc = search_docs_flatten_refresh(store, plan->lookups, kind_of(content), record, now,
                                             &doc, &at, err);
        json_decref(record);
        if (rc != 0)
            goto fail;
        json_array_append_new(*index, doc);
        if (content == SEARCH_COURSE &&
            json_object_set_new(plan->refresh, key, json_integer((json_int_t)at)) != 0)
            goto oom;
    }
    return 0;
oom:
    error_set(err, ERR_INTERNAL, "out of memory");
fail:
    json_decref(*index);
    json_decref(*remove);
    *index = *remove = NULL;
    return -1;
}
