/*
 * api_repr - see api_repr.h.  The shapes follow course-discovery's
 * serializers: OrganizationSerializer, SubjectSerializer,
 * ProgramTypeSerializer, CourseRunWithProgramsSerializer,
 * CourseWithProgramsSerializer, MinimalProgramSerializer /
 * ProgramSerializer, NestedProgramSerializer and PathwaySerializer.
 */
#include "api_repr.h"

#include <stdlib.h>
#include <string.h>

#include "derived.h"

static const char *const org_fields[] = {"uuid",
                                         "key",
                                         "name",
                                         "description",
                                         "homepage_url",
                                         "logo_image_url",
                                         "certificate_logo_image_url",
                                         "banner_image_url",
                                         "tags",
                                         "marketing_url",
                                         "slug",
                                         NULL};
static const char *const subject_fields[] = {
    "uuid", "slug", "name", "subtitle", "description", "banner_image_url", "card_image_url", NULL};
static const char *const program_type_fields[] = {
    "uuid", "name", "slug", "logo_image", "applicable_seat_types", "coaching_supported", NULL};
static const char *const run_fields[] = {"key",
                                         "uuid",
                                         "title",
                                         "course",
                                         "short_description",
                                         "full_description",
                                         "start",
                                         "end",
                                         "enrollment_start",
                                         "enrollment_end",
                                         "pacing_type",
                                         "status",
                                         "hidden",
                                         "image",
                                         "marketing_url",
                                         "seats",
                                         "content_language",
                                         "transcript_languages",
                                         "min_effort",
                                         "max_effort",
                                         "weeks_to_complete",
                                         "level_type",
                                         "staff",
                                         "eligible_for_financial_aid",
                                         "modified",
                                         NULL};
static const char *const course_fields[] = {"key",
                                            "uuid",
                                            "title",
                                            "short_description",
                                            "full_description",
                                            "level_type",
                                            "image",
                                            "marketing_url",
                                            "entitlements",
                                            "prerequisites_raw",
                                            "outcome",
                                            "course_type",
                                            "modified",
                                            NULL};
/* MinimalCourseSerializer's share of the course, nested in a program. */
static const char *const program_course_fields[] = {
    "key",          "uuid",        "title", "short_description", "image", "marketing_url",
    "entitlements", "course_type", NULL};
static const char *const program_fields[] = {
    "uuid",          "title",        "subtitle", "status",         "marketing_slug",
    "marketing_url", "banner_image", "hidden",   "card_image_url", NULL};
static const char *const program_detail_fields[] = {"overview", "weeks_to_complete",
                                                    "min_hours_effort_per_week",
                                                    "max_hours_effort_per_week", NULL};
static const char *const pathway_fields[] = {
    "id",           "uuid",   "name", "org_name", "email", "description", "destination_url",
    "pathway_type", "status", NULL};

/* Copies each named field of doc into out; an absent one becomes null so
 * that every representation has the same keys. */
static void copy_fields(json_t *out, const json_t *doc, const char *const *fields)
{
    for (size_t i = 0; fields[i] != NULL; i++) {
        json_t *v = json_object_get(doc, fields[i]);
        json_object_set_new(out, fields[i], v ? json_deep_copy(v) : json_null());
    }
}

/* The values a run's representation computes at read time (never stored):
 * the legacy seat-derived type, availability, is_enrollable and
 * is_marketable, all at instant now. */
static void add_run_derived(json_t *out, const json_t *run, time_t now)
{
    const char *type = derived_seat_type(run);
    json_object_set_new(out, "type", type ? json_string(type) : json_null());
    json_object_set_new(out, "availability",
                        json_string(derived_availability_label(derived_availability(run, now))));
    json_object_set_new(out, "is_enrollable", json_boolean(derived_is_enrollable(run, now)));
    json_object_set_new(out, "is_marketable", json_boolean(derived_is_marketable(run)));
}

static const char *str(const json_t *doc, const char *field)
{
    return json_string_value(json_object_get(doc, field));
}

int api_repr_init(struct api_repr *r, struct store *store, bool staff, time_t now,
                  struct error *err)
{
    memset(r, 0, sizeof *r);
    r->store = store;
    r->staff = staff;
    r->now = now;
    r->orgs = json_object();
    r->subjects = json_object();
    r->program_types = json_object();
    r->courses = json_object();
    r->programs = json_object();
    r->runs_by_course = json_object();
    r->programs_by_course = json_object();
    if (!r->orgs || !r->subjects || !r->program_types || !r->courses || !r->programs ||
        !r->runs_by_course || !r->programs_by_course)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

void api_repr_free(struct api_repr *r)
{
    json_decref(r->orgs);
    json_decref(r->subjects);
    json_decref(r->program_types);
    json_decref(r->courses);
    json_decref(r->programs);
    json_decref(r->runs_by_course);
    json_decref(r->programs_by_course);
    memset(r, 0, sizeof *r);
}

bool api_repr_visible(const struct api_repr *r, enum entity_kind kind, const json_t *doc)
{
    if (r->staff)
        return true;
    const char *status = str(doc, "status");
    if (kind == ENTITY_COURSE_RUN)
        return status != NULL && strcmp(status, "published") == 0 &&
               !json_is_true(json_object_get(doc, "hidden"));
    if (kind == ENTITY_PROGRAM)
        return status != NULL && (strcmp(status, "active") == 0 || strcmp(status, "retired") == 0);
    return true;
}

static json_t *cache_for(struct api_repr *r, enum entity_kind kind)
{
    switch (kind) {
    case ENTITY_ORGANIZATION:
        return r->orgs;
    case ENTITY_SUBJECT:
        return r->subjects;
    case ENTITY_PROGRAM_TYPE:
        return r->program_types;
    case ENTITY_COURSE:
        return r->courses;
    case ENTITY_PROGRAM:
        return r->programs;
    default:
        return NULL;
    }
}

/* Keys the store is asked for at once; bounded so that one SQL statement
 * stays well under SQLite's parameter limit. */
#define FETCH_BATCH 200

/* Loads into the cache of kind every key of keys[] not cached yet, in
 * batches.  Keys the store does not have are cached as null, so that a
 * dangling reference costs one lookup, not one per mention. */
static int fetch_keys(struct api_repr *r, enum entity_kind kind, const char **keys, size_t n,
                      struct error *err)
{
    json_t *cache = cache_for(r, kind);
    const char *batch[FETCH_BATCH];
    size_t nb = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && keys[i] != NULL && json_object_get(cache, keys[i]) == NULL) {
            json_object_set_new(cache, keys[i], json_null()); /* also dedupes */
            batch[nb++] = keys[i];
        }
        if (nb == 0 || (nb < FETCH_BATCH && i < n))
            continue;
        struct store_query q = {.kind = kind,
                                .keys = batch,
                                .n_keys = nb,
                                .hidden = -1,
                                .marketable = -1,
                                .active = -1,
                                .now = r->now};
        struct store_page page = {0};
        if (store_list(r->store, &q, &page, err) != 0)
            return -1;
        size_t j;
        json_t *doc;
        const char *key_field = entity_key_field(kind);
        json_array_foreach(page.items, j, doc)
        {
            const char *k = str(doc, key_field);
            if (k != NULL)
                json_object_set(cache, k, doc);
        }
        json_decref(page.items);
        nb = 0;
    }
    return 0;
}

/* Adds the string items of doc[field] (an array of keys) to *keys. */
static int collect(const json_t *doc, const char *field, const char ***keys, size_t *n, size_t *cap)
{
    const json_t *arr = json_object_get(doc, field);
    if (json_is_string(arr)) {
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 16;
            const char **g = realloc(*keys, c * sizeof *g);
            if (g == NULL)
                return -1;
            *keys = g;
            *cap = c;
        }
        (*keys)[(*n)++] = json_string_value(arr);
        return 0;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            continue;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 16;
            const char **g = realloc(*keys, c * sizeof *g);
            if (g == NULL)
                return -1;
            *keys = g;
            *cap = c;
        }
        (*keys)[(*n)++] = json_string_value(v);
    }
    return 0;
}

/* Fetches the records of target kind named by field in each of docs. */
static int fetch_refs(struct api_repr *r, const json_t *docs, const char *field,
                      enum entity_kind target, struct error *err)
{
    const char **keys = NULL;
    size_t n = 0, cap = 0, i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        if (collect(doc, field, &keys, &n, &cap) != 0) {
            free(keys);
            return error_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    int rc = fetch_keys(r, target, keys, n, err);
    free(keys);
    return rc;
}

/* The cached record of kind with key, or NULL (unknown or dangling). */
static const json_t *lookup(struct api_repr *r, enum entity_kind kind, const char *key,
                            struct error *err, int *rc)
{
    if (key == NULL)
        return NULL;
    json_t *cache = cache_for(r, kind);
    json_t *doc = json_object_get(cache, key);
    if (doc == NULL) {
        if (fetch_keys(r, kind, &key, 1, err) != 0) {
            *rc = -1;
            return NULL;
        }
        doc = json_object_get(cache, key);
    }
    return json_is_object(doc) ? doc : NULL;
}

/* The visible runs (kind course_run) or programs (kind program) of the
 * course with key, as a borrowed array, fetched once per course. */
static const json_t *of_course(struct api_repr *r, enum entity_kind kind, const char *course,
                               struct error *err, int *rc)
{
    json_t *cache = kind == ENTITY_COURSE_RUN ? r->runs_by_course : r->programs_by_course;
    json_t *arr = json_object_get(cache, course);
    if (arr != NULL)
        return arr;
    struct store_query q = {.kind = kind,
                            .course = course,
                            .hidden = -1,
                            .marketable = -1,
                            .active = -1,
                            .public_only = !r->staff,
                            .now = r->now};
    struct store_page page = {0};
    if (store_list(r->store, &q, &page, err) != 0) {
        *rc = -1;
        return NULL;
    }
    arr = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(page.items, i, doc)
    {
        /* The store filters too; checking here keeps visibility right
         * whatever the driver does with public_only.  Deleted programs are
         * left out of nested lists, as course-discovery does. */
        if (!api_repr_visible(r, kind, doc))
            continue;
        if (kind == ENTITY_PROGRAM) {
            const char *status = str(doc, "status");
            if (status != NULL && strcmp(status, "deleted") == 0)
                continue;
            json_object_set(r->programs, str(doc, "uuid") ? str(doc, "uuid") : "", doc);
        }
        json_array_append(arr, doc);
    }
    json_decref(page.items);
    json_object_set_new(cache, course, arr);
    return arr;
}

int api_repr_prefetch(struct api_repr *r, enum entity_kind kind, const json_t *docs,
                      struct error *err)
{
    size_t i;
    json_t *doc;
    int rc = 0;
    switch (kind) {
    case ENTITY_COURSE:
        if (fetch_refs(r, docs, "owners", ENTITY_ORGANIZATION, err) != 0 ||
            fetch_refs(r, docs, "subjects", ENTITY_SUBJECT, err) != 0)
            return -1;
        json_array_foreach(docs, i, doc)
        {
            const char *key = str(doc, "key");
            if (key != NULL) {
                of_course(r, ENTITY_COURSE_RUN, key, err, &rc);
                of_course(r, ENTITY_PROGRAM, key, err, &rc);
            }
            if (rc != 0)
                return -1;
        }
        break;
    case ENTITY_COURSE_RUN:
        if (fetch_refs(r, docs, "course", ENTITY_COURSE, err) != 0)
            return -1;
        json_array_foreach(docs, i, doc)
        {
            const char *course = str(doc, "course");
            if (course != NULL)
                of_course(r, ENTITY_PROGRAM, course, err, &rc);
            if (rc != 0)
                return -1;
        }
        break;
    case ENTITY_PROGRAM:
        if (fetch_refs(r, docs, "type", ENTITY_PROGRAM_TYPE, err) != 0 ||
            fetch_refs(r, docs, "courses", ENTITY_COURSE, err) != 0 ||
            fetch_refs(r, docs, "authoring_organizations", ENTITY_ORGANIZATION, err) != 0)
            return -1;
        break;
    case ENTITY_PATHWAY:
        if (fetch_refs(r, docs, "programs", ENTITY_PROGRAM, err) != 0)
            return -1;
        break;
    default:
        break;
    }
    return 0;
}

/* An array of the cached records of kind named by doc[field], each through
 * copy_fields(fields); dangling keys are skipped. */
static json_t *resolve_list(struct api_repr *r, const json_t *doc, const char *field,
                            enum entity_kind kind, const char *const *fields, struct error *err,
                            int *rc)
{
    json_t *out = json_array();
    size_t i;
    json_t *key;
    json_array_foreach(json_object_get(doc, field), i, key)
    {
        const json_t *ref = lookup(r, kind, json_string_value(key), err, rc);
        if (*rc != 0)
            break;
        if (ref == NULL)
            continue;
        json_t *item = json_object();
        copy_fields(item, ref, fields);
        json_array_append_new(out, item);
    }
    return out;
}

/* Sets type (the program type's name) and type_attrs of a program. */
static void set_program_type(struct api_repr *r, json_t *out, const json_t *program,
                             struct error *err, int *rc)
{
    const json_t *type = lookup(r, ENTITY_PROGRAM_TYPE, str(program, "type"), err, rc);
    if (type == NULL) {
        json_object_set_new(out, "type", json_null());
        json_object_set_new(out, "type_attrs", json_null());
        return;
    }
    json_t *name = json_object_get(type, "name");
    json_object_set_new(out, "type", name ? json_deep_copy(name) : json_null());
    json_t *attrs = json_object();
    copy_fields(attrs, type, (const char *const[]){"uuid", "slug", "coaching_supported", NULL});
    json_object_set_new(out, "type_attrs", attrs);
}

/* NestedProgramSerializer. */
static json_t *nested_program(struct api_repr *r, const json_t *program, struct error *err, int *rc)
{
    json_t *out = json_object();
    copy_fields(out, program,
                (const char *const[]){"uuid", "title", "marketing_slug", "marketing_url", NULL});
    set_program_type(r, out, program, err, rc);
    json_object_set_new(
        out, "number_of_courses",
        json_integer((json_int_t)json_array_size(json_object_get(program, "courses"))));
    return out;
}

static json_t *nested_programs_of_course(struct api_repr *r, const char *course, struct error *err,
                                         int *rc)
{
    json_t *out = json_array();
    if (course == NULL)
        return out;
    const json_t *programs = of_course(r, ENTITY_PROGRAM, course, err, rc);
    size_t i;
    json_t *p;
    json_array_foreach(programs, i, p)
    {
        json_array_append_new(out, nested_program(r, p, err, rc));
        if (*rc != 0)
            break;
    }
    return out;
}

/* True when v is null, absent or "". */
static bool blank(const json_t *v)
{
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

static json_t *run_repr(struct api_repr *r, const json_t *run, bool with_programs,
                        struct error *err, int *rc)
{
    json_t *out = json_object();
    copy_fields(out, run, run_fields);
    const json_t *course = lookup(r, ENTITY_COURSE, str(run, "course"), err, rc);
    json_t *cu = course ? json_object_get(course, "uuid") : NULL;
    json_object_set_new(out, "course_uuid", cu ? json_deep_copy(cu) : json_null());
    /* A run without its own title or short description shows the course's,
     * as course-discovery's CourseRun properties do. */
    static const char *const inherited[] = {"title", "short_description"};
    for (size_t i = 0; course != NULL && i < 2; i++) {
        json_t *own = json_object_get(run, inherited[i]);
        json_t *theirs = json_object_get(course, inherited[i]);
        if (blank(own) && theirs != NULL)
            json_object_set_new(out, inherited[i], json_deep_copy(theirs));
    }
    add_run_derived(out, run, r->now);
    if (with_programs)
        json_object_set_new(out, "programs",
                            nested_programs_of_course(r, str(run, "course"), err, rc));
    return out;
}

/* The visible runs of a course, each represented without programs (as
 * CourseSerializer nests CourseRunSerializer). */
static json_t *course_runs(struct api_repr *r, const char *course, json_t *keys_out,
                           struct error *err, int *rc)
{
    json_t *out = json_array();
    const json_t *runs = course ? of_course(r, ENTITY_COURSE_RUN, course, err, rc) : NULL;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        json_array_append_new(out, run_repr(r, run, false, err, rc));
        if (keys_out != NULL && json_object_get(run, "key"))
            json_array_append(keys_out, json_object_get(run, "key"));
        if (*rc != 0)
            break;
    }
    return out;
}

static json_t *course_repr(struct api_repr *r, const json_t *course, struct error *err, int *rc)
{
    json_t *out = json_object();
    const char *key = str(course, "key");
    copy_fields(out, course, course_fields);
    json_object_set_new(
        out, "owners", resolve_list(r, course, "owners", ENTITY_ORGANIZATION, org_fields, err, rc));
    json_object_set_new(
        out, "subjects",
        resolve_list(r, course, "subjects", ENTITY_SUBJECT, subject_fields, err, rc));
    json_t *keys = json_array();
    json_object_set_new(out, "course_runs", course_runs(r, key, keys, err, rc));
    json_object_set_new(out, "course_run_keys", keys);
    json_object_set_new(out, "programs", nested_programs_of_course(r, key, err, rc));
    return out;
}

/* Adds each string of items to set (an array) unless present. */
static void add_unique(json_t *set, json_t *value)
{
    size_t i;
    json_t *v;
    json_array_foreach(set, i, v)
    {
        if (json_equal(v, value))
            return;
    }
    json_array_append(set, value);
}

static json_t *program_repr(struct api_repr *r, const json_t *program, bool detail,
                            struct error *err, int *rc)
{
    json_t *out = json_object();
    copy_fields(out, program, program_fields);
    set_program_type(r, out, program, err, rc);
    json_object_set_new(out, "authoring_organizations",
                        resolve_list(r, program, "authoring_organizations", ENTITY_ORGANIZATION,
                                     org_fields, err, rc));
    json_t *courses = json_array();
    json_t *all_runs = json_array();    /* borrowed docs, for languages and prices */
    json_t *course_docs = json_array(); /* for entitlements in price_ranges */
    json_t *subjects = json_array();
    size_t i;
    json_t *ck;
    json_array_foreach(json_object_get(program, "courses"), i, ck)
    {
        const json_t *course = lookup(r, ENTITY_COURSE, json_string_value(ck), err, rc);
        if (*rc != 0)
            break;
        if (course == NULL)
            continue;
        json_t *c = json_object();
        copy_fields(c, course, program_course_fields);
        json_object_set_new(
            c, "owners",
            resolve_list(r, course, "owners", ENTITY_ORGANIZATION, org_fields, err, rc));
        json_object_set_new(c, "course_runs", course_runs(r, str(course, "key"), NULL, err, rc));
        json_array_append_new(courses, c);
        json_array_append(course_docs, (json_t *)course);
        const json_t *runs = of_course(r, ENTITY_COURSE_RUN, str(course, "key"), err, rc);
        json_array_extend(all_runs, (json_t *)runs);
        if (detail) {
            json_t *subj =
                resolve_list(r, course, "subjects", ENTITY_SUBJECT, subject_fields, err, rc);
            size_t j;
            json_t *s;
            json_array_foreach(subj, j, s) add_unique(subjects, s);
            json_decref(subj);
        }
    }
    json_object_set_new(out, "courses", courses);
    if (detail) {
        copy_fields(out, program, program_detail_fields);
        json_t *languages = json_array();
        json_t *run;
        json_array_foreach(all_runs, i, run)
        {
            json_t *lang = json_object_get(run, "content_language");
            if (json_is_string(lang))
                add_unique(languages, lang);
        }
        json_object_set_new(out, "languages", languages);
        json_object_set_new(out, "subjects", subjects);
        subjects = NULL;
        const json_t *type = lookup(r, ENTITY_PROGRAM_TYPE, str(program, "type"), err, rc);
        json_t *seat_types = type ? json_object_get(type, "applicable_seat_types") : NULL;
        json_object_set_new(out, "price_ranges",
                            derived_price_ranges(seat_types, course_docs, all_runs, r->now));
        json_object_set_new(out, "applicable_seat_types",
                            json_is_array(seat_types) ? json_deep_copy(seat_types) : json_array());
        /* catalogd does not model curricula; clients get the empty list. */
        json_object_set_new(out, "curricula", json_array());
    }
    json_decref(subjects);
    json_decref(all_runs);
    json_decref(course_docs);
    return out;
}

static json_t *pathway_repr(struct api_repr *r, const json_t *pathway, struct error *err, int *rc)
{
    json_t *out = json_object();
    copy_fields(out, pathway, pathway_fields);
    json_t *programs = json_array();
    size_t i;
    json_t *uuid;
    json_array_foreach(json_object_get(pathway, "programs"), i, uuid)
    {
        const json_t *p = lookup(r, ENTITY_PROGRAM, json_string_value(uuid), err, rc);
        if (*rc != 0)
            break;
        if (p != NULL && api_repr_visible(r, ENTITY_PROGRAM, p))
            json_array_append_new(programs, nested_program(r, p, err, rc));
    }
    json_object_set_new(out, "programs", programs);
    return out;
}

json_t *api_repr_build(struct api_repr *r, enum entity_kind kind, const json_t *doc, bool detail,
                       struct error *err)
{
    int rc = 0;
    json_t *out = NULL;
    switch (kind) {
    case ENTITY_ORGANIZATION:
        out = json_object();
        copy_fields(out, doc, org_fields);
        break;
    case ENTITY_SUBJECT:
        out = json_object();
        copy_fields(out, doc, subject_fields);
        break;
    case ENTITY_PROGRAM_TYPE:
        out = json_object();
        copy_fields(out, doc, program_type_fields);
        break;
    case ENTITY_COURSE:
        out = course_repr(r, doc, err, &rc);
        break;
    case ENTITY_COURSE_RUN:
        out = run_repr(r, doc, true, err, &rc);
        break;
    case ENTITY_PROGRAM:
        out = program_repr(r, doc, detail, err, &rc);
        break;
    case ENTITY_PATHWAY:
        out = pathway_repr(r, doc, err, &rc);
        break;
    default:
        error_set(err, ERR_INTERNAL, "no representation for kind %d", (int)kind);
        return NULL;
    }
    if (rc != 0 || out == NULL) {
        json_decref(out);
        if (rc == 0)
            error_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    return out;
}
