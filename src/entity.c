/*
 * entity - see entity.h.  One field table per kind drives validation
 * (json_fields.c); what a table cannot say (dates in order, a run key
 * that belongs to its course, nested runs, generated uuids, modified) is
 * checked here after the table has been applied.
 */
#include "entity.h"

#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "clock.h"
#include "json_fields.h"

#define N(table) (sizeof(table) / sizeof((table)[0]))

static const char *const kind_names[ENTITY_KIND_COUNT] = {
    [ENTITY_ORGANIZATION] = "organization", [ENTITY_SUBJECT] = "subject",
    [ENTITY_PROGRAM_TYPE] = "program_type", [ENTITY_COURSE] = "course",
    [ENTITY_COURSE_RUN] = "course_run",     [ENTITY_PROGRAM] = "program",
    [ENTITY_PATHWAY] = "pathway",
};

static const char *const key_fields[ENTITY_KIND_COUNT] = {
    [ENTITY_ORGANIZATION] = "key", [ENTITY_SUBJECT] = "slug",   [ENTITY_PROGRAM_TYPE] = "slug",
    [ENTITY_COURSE] = "key",       [ENTITY_COURSE_RUN] = "key", [ENTITY_PROGRAM] = "uuid",
    [ENTITY_PATHWAY] = "uuid",
};

const char *entity_kind_name(enum entity_kind kind)
{
    return (unsigned)kind < ENTITY_KIND_COUNT ? kind_names[kind] : "unknown";
}

int entity_kind_from_name(const char *name, enum entity_kind *kind)
{
    for (int k = 0; name != NULL && k < ENTITY_KIND_COUNT; k++) {
        if (strcmp(kind_names[k], name) == 0) {
            *kind = (enum entity_kind)k;
            return 0;
        }
    }
    return -1;
}

const char *entity_key_field(enum entity_kind kind)
{
    return (unsigned)kind < ENTITY_KIND_COUNT ? key_fields[kind] : "uuid";
}

void entity_new_uuid(char buf[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, buf);
}

/* ---- the tables ------------------------------------------------------- */

static const char *const seat_types[] = {"audit",
                                         "verified",
                                         "professional",
                                         "credit",
                                         "honor",
                                         "masters",
                                         "no-id-professional",
                                         "unpaid-executive-education",
                                         "paid-executive-education",
                                         NULL};
static const char *const pacing_types[] = {"instructor_paced", "self_paced", NULL};
static const char *const run_statuses[] = {"published",       "unpublished",        "reviewed",
                                           "review_by_legal", "review_by_internal", NULL};
static const char *const program_statuses[] = {"unpublished", "active", "retired", "deleted", NULL};
static const char *const pathway_types[] = {"credit", "industry", NULL};
static const char *const pathway_statuses[] = {"unpublished", "published", "retired", NULL};

/* Field constructors: designated initializers with the defaults that
 * matter. */
#define F(n, t, ...)                                                                               \
    {                                                                                              \
        .name = (n), .type = (t), __VA_ARGS__                                                      \
    }
#define REQ .required = true
#define LIST_OF(t) .item_type = (t)
#define SUB(table) .sub = (table), .n_sub = N(table)

static const struct jf_field image_fields[] = {
    F("src", JF_URL, REQ, .max_len = 2048),
    F("description", JF_STRING),
    F("height", JF_INT),
    F("width", JF_INT),
};

static const struct jf_field seat_fields[] = {
    F("type", JF_ENUM, REQ, .choices = seat_types),
    F("price", JF_DECIMAL, .default_str = "0.00"),
    F("currency", JF_CURRENCY, .default_str = "USD"),
    F("upgrade_deadline", JF_DATETIME),
    F("credit_provider", JF_STRING),
    F("credit_hours", JF_INT),
    F("sku", JF_STRING, .max_len = 128),
};

static const struct jf_field entitlement_fields[] = {
    F("mode", JF_ENUM, REQ, .choices = seat_types),
    F("price", JF_DECIMAL, REQ),
    F("currency", JF_CURRENCY, .default_str = "USD"),
    F("sku", JF_STRING, .max_len = 128),
};

static const struct jf_field staff_fields[] = {
    F("uuid", JF_UUID),
    F("given_name", JF_STRING, REQ),
    F("family_name", JF_STRING),
    F("bio", JF_TEXT),
    F("profile_image_url", JF_URL, .max_len = 2048),
    F("slug", JF_STRING),
};

static const struct jf_field organization_fields[] = {
    F("uuid", JF_UUID),
    F("key", JF_ORG_KEY, REQ),
    F("name", JF_STRING, REQ),
    F("description", JF_TEXT),
    F("homepage_url", JF_URL),
    F("logo_image_url", JF_URL),
    F("certificate_logo_image_url", JF_URL),
    F("banner_image_url", JF_URL),
    F("tags", JF_LIST, LIST_OF(JF_STRING)),
    F("marketing_url", JF_URL),
    F("slug", JF_STRING),
};

static const struct jf_field subject_fields[] = {
    F("uuid", JF_UUID),          F("slug", JF_SLUG, REQ),   F("name", JF_STRING, REQ),
    F("subtitle", JF_STRING),    F("description", JF_TEXT), F("banner_image_url", JF_URL),
    F("card_image_url", JF_URL),
};

static const struct jf_field program_type_fields[] = {
    F("uuid", JF_UUID),
    F("slug", JF_SLUG, REQ),
    F("name", JF_STRING, REQ),
    F("logo_image", JF_OBJECT, SUB(image_fields)),
    F("applicable_seat_types", JF_LIST, LIST_OF(JF_ENUM), .choices = seat_types),
    F("coaching_supported", JF_BOOL, .default_bool = JF_DEFAULT_FALSE),
};

static const struct jf_field course_fields[] = {
    F("uuid", JF_UUID),
    F("key", JF_COURSE_KEY, REQ),
    F("title", JF_STRING, REQ),
    F("short_description", JF_TEXT),
    F("full_description", JF_TEXT),
    F("owners", JF_LIST, REQ, LIST_OF(JF_ORG_KEY), .min_items = 1),
    F("subjects", JF_LIST, LIST_OF(JF_SLUG)),
    F("level_type", JF_STRING),
    F("image", JF_OBJECT, SUB(image_fields)),
    F("marketing_url", JF_URL),
    F("entitlements", JF_OBJECT_LIST, SUB(entitlement_fields)),
    F("prerequisites_raw", JF_TEXT),
    F("outcome", JF_TEXT),
    F("course_type", JF_STRING),
};

static const struct jf_field course_run_fields[] = {
    F("uuid", JF_UUID),
    F("key", JF_RUN_KEY, REQ),
    F("course", JF_COURSE_KEY, REQ),
    F("title", JF_STRING),
    F("short_description", JF_TEXT),
    F("full_description", JF_TEXT),
    F("start", JF_DATETIME, REQ),
    F("end", JF_DATETIME),
    F("enrollment_start", JF_DATETIME),
    F("enrollment_end", JF_DATETIME),
    F("pacing_type", JF_ENUM, .choices = pacing_types, .default_str = "instructor_paced"),
    F("status", JF_ENUM, .choices = run_statuses, .default_str = "unpublished"),
    F("hidden", JF_BOOL, .default_bool = JF_DEFAULT_FALSE),
    F("image", JF_OBJECT, SUB(image_fields)),
    F("marketing_url", JF_URL),
    F("seats", JF_OBJECT_LIST, SUB(seat_fields)),
    F("content_language", JF_LANGUAGE),
    F("transcript_languages", JF_LIST, LIST_OF(JF_LANGUAGE)),
    F("min_effort", JF_INT),
    F("max_effort", JF_INT),
    F("weeks_to_complete", JF_INT),
    F("level_type", JF_STRING),
    F("staff", JF_OBJECT_LIST, SUB(staff_fields)),
    /* course-discovery's default: runs are eligible unless said not */
    F("eligible_for_financial_aid", JF_BOOL, .default_bool = JF_DEFAULT_TRUE),
};

static const struct jf_field program_fields[] = {
    F("uuid", JF_UUID),
    F("title", JF_STRING, REQ),
    F("subtitle", JF_STRING),
    F("type", JF_SLUG, REQ),
    F("status", JF_ENUM, .choices = program_statuses, .default_str = "unpublished"),
    F("marketing_slug", JF_STRING),
    F("marketing_url", JF_URL),
    F("banner_image", JF_OBJECT, SUB(image_fields)),
    F("hidden", JF_BOOL, .default_bool = JF_DEFAULT_FALSE),
    F("courses", JF_LIST, LIST_OF(JF_COURSE_KEY)),
    F("authoring_organizations", JF_LIST, LIST_OF(JF_ORG_KEY)),
    F("card_image_url", JF_URL),
    F("overview", JF_TEXT),
    F("weeks_to_complete", JF_INT),
    F("min_hours_effort_per_week", JF_INT),
    F("max_hours_effort_per_week", JF_INT),
};

static const struct jf_field pathway_fields[] = {
    F("id", JF_INT),
    F("uuid", JF_UUID),
    F("name", JF_STRING, REQ),
    F("org_name", JF_STRING),
    F("email", JF_EMAIL, .max_len = 254),
    F("description", JF_TEXT),
    F("destination_url", JF_URL),
    F("pathway_type", JF_ENUM, .choices = pathway_types, .default_str = "credit"),
    F("status", JF_ENUM, .choices = pathway_statuses, .default_str = "unpublished"),
    F("programs", JF_LIST, LIST_OF(JF_UUID)),
};

struct kind_table {
    const struct jf_field *fields;
    size_t n;
    bool has_modified;
};

static const struct kind_table tables[ENTITY_KIND_COUNT] = {
    [ENTITY_ORGANIZATION] = {organization_fields, N(organization_fields), false},
    [ENTITY_SUBJECT] = {subject_fields, N(subject_fields), false},
    [ENTITY_PROGRAM_TYPE] = {program_type_fields, N(program_type_fields), false},
    [ENTITY_COURSE] = {course_fields, N(course_fields), true},
    [ENTITY_COURSE_RUN] = {course_run_fields, N(course_run_fields), true},
    [ENTITY_PROGRAM] = {program_fields, N(program_fields), true},
    [ENTITY_PATHWAY] = {pathway_fields, N(pathway_fields), false},
};

/* ---- what the tables cannot say --------------------------------------- */

static int invalid_field(struct error *err, const char *prefix, const char *name, const char *msg)
{
    char path[sizeof err->field];
    jf_path(path, sizeof path, "%s%s", prefix, name);
    return error_set_field(err, ERR_INVALID, path, "%s", msg);
}

/* a and b are canonical instants or null; canonical text orders as time */
static bool after(const json_t *doc, const char *a, const char *b)
{
    const char *x = json_string_value(json_object_get(doc, a));
    const char *y = json_string_value(json_object_get(doc, b));
    return x != NULL && y != NULL && strcmp(x, y) > 0;
}

static int check_run(const json_t *run, const char *prefix, struct error *err)
{
    if (after(run, "start", "end"))
        return invalid_field(err, prefix, "start", "Start date cannot be after the End date");
    if (after(run, "enrollment_start", "enrollment_end"))
        return invalid_field(err, prefix, "enrollment_start",
                             "Enrollment start date cannot be after the enrollment end date");
    /* course-discovery derives a run's course from its key: a run key
     * whose ORG+NUMBER names another course is refused. */
    const char *key = json_string_value(json_object_get(run, "key"));
    const char *course = json_string_value(json_object_get(run, "course"));
    char owner[256];
    if (jf_run_key_course(key, owner, sizeof owner) == 0 && strcmp(owner, course) != 0) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "Course run key \"%.200s\" does not belong to course \"%.200s\".",
                 key, course);
        return invalid_field(err, prefix, "key", msg);
    }
    return 0;
}

static int check_program(const json_t *program, const char *prefix, struct error *err)
{
    const json_t *lo = json_object_get(program, "min_hours_effort_per_week");
    const json_t *hi = json_object_get(program, "max_hours_effort_per_week");
    if (json_is_integer(lo) && json_is_integer(hi) &&
        json_integer_value(lo) > json_integer_value(hi))
        return invalid_field(err, prefix, "min_hours_effort_per_week",
                             "Minimum effort cannot be greater than maximum effort.");
    return 0;
}

/* modified is the store's, not the client's: a valid given instant is kept
 * (so that export -> import keeps it), anything else is replaced by now,
 * as DRF ignores input to a read-only field. */
static void set_modified(const json_t *input, json_t *doc)
{
    const json_t *given = json_object_get(input, "modified");
    time_t t;
    if (!json_is_string(given) || clock_parse_iso8601(json_string_value(given), &t) != 0)
        t = clock_now();
    char buf[32];
    clock_format_iso8601(t, buf, sizeof buf);
    json_object_set_new(doc, "modified", json_string(buf));
}

static void ensure_uuid(json_t *doc)
{
    if (json_is_string(json_object_get(doc, "uuid")))
        return;
    char buf[37];
    entity_new_uuid(buf);
    json_object_set_new(doc, "uuid", json_string(buf));
}

static int normalize(enum entity_kind kind, const json_t *input, const char *prefix, json_t **out,
                     struct error *err);

/* A course's nested runs, each normalized as a run of this course. */
static int nested_runs(const json_t *input, json_t *course, const char *prefix, struct error *err)
{
    const json_t *runs = json_object_get(input, "course_runs");
    if (runs == NULL || json_is_null(runs))
        return 0;
    char path[sizeof err->field];
    jf_path(path, sizeof path, "%scourse_runs", prefix);
    if (!json_is_array(runs))
        return error_set_field(err, ERR_INVALID, path,
                               "Expected a list of items but got type \"%s\".", jf_type_name(runs));
    const char *key = json_string_value(json_object_get(course, "key"));
    json_t *list = json_array();
    size_t i;
    const json_t *run;
    json_array_foreach(runs, i, run)
    {
        char run_prefix[sizeof err->field];
        jf_path(run_prefix, sizeof run_prefix, "%s[%zu].", path, i);
        json_t *copy = json_is_object(run) ? json_copy((json_t *)run) : NULL;
        json_t *norm = NULL;
        int rc = -1;
        if (copy == NULL) {
            char item[sizeof err->field];
            jf_path(item, sizeof item, "%s[%zu]", path, i);
            error_set_field(err, ERR_INVALID, item,
                            "Invalid data. Expected a dictionary, but got %s.", jf_type_name(run));
        } else {
            const json_t *given = json_object_get(copy, "course");
            if (given == NULL || json_is_null(given))
                json_object_set_new(copy, "course", json_string(key));
            if (json_is_string(given) && strcmp(json_string_value(given), key) != 0) {
                char msg[sizeof err->message];
                snprintf(msg, sizeof msg,
                         "Nested course run names course \"%.200s\", not \"%.200s\".",
                         json_string_value(given), key);
                invalid_field(err, run_prefix, "course", msg);
            } else {
                rc = normalize(ENTITY_COURSE_RUN, copy, run_prefix, &norm, err);
            }
        }
        json_decref(copy);
        if (rc != 0) {
            json_decref(list);
            return -1;
        }
        json_array_append_new(list, norm);
    }
    json_object_set_new(course, "course_runs", list);
    return 0;
}

static int normalize(enum entity_kind kind, const json_t *input, const char *prefix, json_t **out,
                     struct error *err)
{
    const struct kind_table *t = &tables[kind];
    json_t *doc = NULL;
    if (jf_normalize_object(input, t->fields, t->n, prefix, &doc, err) != 0)
        return -1;
    int rc = 0;
    if (kind == ENTITY_COURSE_RUN)
        rc = check_run(doc, prefix, err);
    else if (kind == ENTITY_PROGRAM)
        rc = check_program(doc, prefix, err);
    else if (kind == ENTITY_COURSE)
        rc = nested_runs(input, doc, prefix, err);
    if (rc != 0) {
        json_decref(doc);
        return -1;
    }
    ensure_uuid(doc);
    if (t->has_modified)
        set_modified(input, doc);
    *out = doc;
    return 0;
}

int entity_normalize(enum entity_kind kind, const json_t *input, enum entity_write mode,
                     json_t **out, struct error *err)
{
    (void)mode; /* PUT needs every required field, as create does */
    if ((unsigned)kind >= ENTITY_KIND_COUNT)
        return error_set(err, ERR_INTERNAL, "unknown entity kind %d", (int)kind);
    if (!json_is_object(input))
        return error_set_field(err, ERR_INVALID, "non_field_errors",
                               "Invalid data. Expected a dictionary, but got %s.",
                               input ? jf_type_name(input) : "NoneType");
    return normalize(kind, input, "", out, err);
}
