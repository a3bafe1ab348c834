/*
 * test_entity - validation and normalization of every kind of record
 * (src/entity.c, src/json_fields.c): valid minimal and full documents,
 * each field type's bad values with the exact field path, nested runs and
 * seats, uuids, dates and prices.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "entity.h"
#include "json_fields.h"
#include "testutil.h"

#define NOW "2025-01-15T12:00:00Z"

/* The smallest valid document of each kind. */
static const char *const minimal[ENTITY_KIND_COUNT] = {
    [ENTITY_ORGANIZATION] = "{\"key\": \"MITx\", \"name\": \"MIT\"}",
    [ENTITY_SUBJECT] = "{\"slug\": \"computer-science\", \"name\": \"Computer Science\"}",
    [ENTITY_PROGRAM_TYPE] = "{\"slug\": \"micromasters\", \"name\": \"MicroMasters\"}",
    [ENTITY_COURSE] = "{\"key\": \"MITx+6.002x\", \"title\": \"Circuits\", \"owners\": [\"MITx\"]}",
    [ENTITY_COURSE_RUN] = "{\"key\": \"course-v1:MITx+6.002x+2T2025\", \"course\": "
                          "\"MITx+6.002x\", \"start\": \"2025-03-01T00:00:00Z\"}",
    [ENTITY_PROGRAM] = "{\"title\": \"Data\", \"type\": \"micromasters\"}",
    [ENTITY_PATHWAY] = "{\"name\": \"Credit pathway\"}",
};

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* minimal[kind] with patch merged in and, if remove is set, that field
 * deleted. */
static json_t *doc_with(enum entity_kind kind, const char *patch, const char *remove)
{
    json_t *doc = parse(minimal[kind]);
    if (patch != NULL) {
        json_t *p = parse(patch);
        json_object_update(doc, p);
        json_decref(p);
    }
    if (remove != NULL)
        json_object_del(doc, remove);
    return doc;
}

static json_t *normalize_ok(enum entity_kind kind, json_t *input)
{
    json_t *out = NULL;
    struct error err = {0};
    int rc = entity_normalize(kind, input, ENTITY_CREATE, &out, &err);
    ck_assert_msg(rc == 0, "%s: unexpected error %s: %s", entity_kind_name(kind), err.field,
                  err.message);
    ck_assert_ptr_nonnull(out);
    json_decref(input);
    return out;
}

static const char *str(const json_t *doc, const char *field)
{
    return json_string_value(json_object_get(doc, field));
}

static void setup(void)
{
    struct error err = {0};
    ck_assert_int_eq(clock_set_fixed(NOW, &err), 0);
}

static void teardown(void)
{
    clock_set_fixed(NULL, NULL);
}

/* ---- names and keys ---------------------------------------------------- */

START_TEST(kind_names_round_trip)
{
    for (int k = 0; k < ENTITY_KIND_COUNT; k++) {
        enum entity_kind back;
        ck_assert_int_eq(entity_kind_from_name(entity_kind_name((enum entity_kind)k), &back), 0);
        ck_assert_int_eq(back, k);
    }
    enum entity_kind kind;
    ck_assert_int_eq(entity_kind_from_name("courserun", &kind), -1);
    ck_assert_int_eq(entity_kind_from_name(NULL, &kind), -1);
    ck_assert_str_eq(entity_kind_name(ENTITY_COURSE_RUN), "course_run");
    ck_assert_str_eq(entity_key_field(ENTITY_ORGANIZATION), "key");
    ck_assert_str_eq(entity_key_field(ENTITY_SUBJECT), "slug");
    ck_assert_str_eq(entity_key_field(ENTITY_PROGRAM_TYPE), "slug");
    ck_assert_str_eq(entity_key_field(ENTITY_COURSE), "key");
    ck_assert_str_eq(entity_key_field(ENTITY_COURSE_RUN), "key");
    ck_assert_str_eq(entity_key_field(ENTITY_PROGRAM), "uuid");
    ck_assert_str_eq(entity_key_field(ENTITY_PATHWAY), "uuid");
}
END_TEST

START_TEST(new_uuid_is_canonical_v4)
{
    char a[37], b[37];
    entity_new_uuid(a);
    entity_new_uuid(b);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(a[14], '4'); /* version 4 */
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            ck_assert_int_eq(a[i], '-');
        else
            ck_assert_msg(strchr("0123456789abcdef", a[i]) != NULL, "not lower hex: %s", a);
    }
}
END_TEST

/* ---- valid documents --------------------------------------------------- */

/* Every field of the kind is present in the canonical doc. */
static const char *const fields_of[ENTITY_KIND_COUNT][32] = {
    [ENTITY_ORGANIZATION] = {"uuid", "key", "name", "description", "homepage_url", "logo_image_url",
                             "certificate_logo_image_url", "banner_image_url", "tags",
                             "marketing_url", "slug", NULL},
    [ENTITY_SUBJECT] = {"uuid", "slug", "name", "subtitle", "description", "banner_image_url",
                        "card_image_url", NULL},
    [ENTITY_PROGRAM_TYPE] = {"uuid", "slug", "name", "logo_image", "applicable_seat_types",
                             "coaching_supported", NULL},
    [ENTITY_COURSE] = {"uuid", "key", "title", "short_description", "full_description", "owners",
                       "subjects", "level_type", "image", "marketing_url", "entitlements",
                       "prerequisites_raw", "outcome", "course_type", "modified", NULL},
    [ENTITY_COURSE_RUN] = {"uuid",
                           "key",
                           "course",
                           "title",
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
                           NULL},
    [ENTITY_PROGRAM] = {"uuid", "title", "subtitle", "type", "status", "marketing_slug",
                        "marketing_url", "banner_image", "hidden", "courses",
                        "authoring_organizations", "card_image_url", "overview",
                        "weeks_to_complete", "min_hours_effort_per_week",
                        "max_hours_effort_per_week", "modified", NULL},
    [ENTITY_PATHWAY] = {"id", "uuid", "name", "org_name", "email", "description", "destination_url",
                        "pathway_type", "status", "programs", NULL},
};

START_TEST(minimal_documents_are_complete)
{
    enum entity_kind kind = (enum entity_kind)_i;
    json_t *in = doc_with(kind, "{\"kind\": \"whatever\", \"unknown_field\": 1}", NULL);
    json_t *out = normalize_ok(kind, in);
    size_t n = 0;
    for (; fields_of[kind][n] != NULL; n++)
        ck_assert_msg(json_object_get(out, fields_of[kind][n]) != NULL, "%s lacks %s",
                      entity_kind_name(kind), fields_of[kind][n]);
    /* exactly those: unknown fields and "kind" dropped */
    ck_assert_uint_eq(json_object_size(out), n);
    ck_assert_ptr_null(json_object_get(out, "unknown_field"));
    ck_assert_ptr_null(json_object_get(out, "kind"));
    ck_assert_uint_eq(strlen(str(out, "uuid")), 36);
    json_decref(out);
}
END_TEST

START_TEST(minimal_defaults)
{
    json_t *run = normalize_ok(ENTITY_COURSE_RUN, doc_with(ENTITY_COURSE_RUN, NULL, NULL));
    ck_assert_str_eq(str(run, "pacing_type"), "instructor_paced");
    ck_assert_str_eq(str(run, "status"), "unpublished");
    ck_assert(json_is_false(json_object_get(run, "hidden")));
    ck_assert(json_is_true(json_object_get(run, "eligible_for_financial_aid")));
    ck_assert(json_is_null(json_object_get(run, "end")));
    ck_assert(json_is_array(json_object_get(run, "seats")));
    ck_assert_uint_eq(json_array_size(json_object_get(run, "seats")), 0);
    ck_assert(json_is_null(json_object_get(run, "image")));
    ck_assert_str_eq(str(run, "modified"), NOW);
    json_decref(run);

    json_t *program = normalize_ok(ENTITY_PROGRAM, doc_with(ENTITY_PROGRAM, NULL, NULL));
    ck_assert_str_eq(str(program, "status"), "unpublished");
    ck_assert(json_is_false(json_object_get(program, "hidden")));
    ck_assert_uint_eq(json_array_size(json_object_get(program, "courses")), 0);
    json_decref(program);

    json_t *type = normalize_ok(ENTITY_PROGRAM_TYPE, doc_with(ENTITY_PROGRAM_TYPE, NULL, NULL));
    ck_assert(json_is_false(json_object_get(type, "coaching_supported")));
    json_decref(type);

    json_t *pathway = normalize_ok(ENTITY_PATHWAY, doc_with(ENTITY_PATHWAY, NULL, NULL));
    ck_assert(json_is_null(json_object_get(pathway, "id")));
    ck_assert_str_eq(str(pathway, "pathway_type"), "credit");
    json_decref(pathway);
}
END_TEST

START_TEST(full_course_run)
{
    json_t *in = parse(
        "{\"uuid\": \"A0B1C2D3-E4F5-4789-8abc-DEF012345678\","
        " \"key\": \"course-v1:MITx+6.002x+2T2025\", \"course\": \"MITx+6.002x\","
        " \"title\": \"  Circuits and Electronics  \", \"short_description\": \"s\","
        " \"full_description\": \"<p>f</p>\","
        " \"start\": \"2025-03-01T09:30:00+02:00\", \"end\": \"2025-06-01\","
        " \"enrollment_start\": \"2025-01-01T00:00:00.123456Z\","
        " \"enrollment_end\": \"2025-05-01T00:00:00Z\", \"pacing_type\": \"self_paced\","
        " \"status\": \"published\", \"hidden\": true,"
        " \"image\": {\"src\": \"https://example.org/i.png\", \"description\": \"d\","
        "   \"height\": 480, \"width\": 640, \"extra\": 1},"
        " \"marketing_url\": \"https://www.example.org/course/circuits\","
        " \"seats\": [{\"type\": \"verified\", \"price\": \"149\", \"currency\": \"EUR\","
        "   \"upgrade_deadline\": \"2025-04-01T00:00:00Z\", \"sku\": \"ABC\"},"
        "   {\"type\": \"audit\"}],"
        " \"content_language\": \"en-us\", \"transcript_languages\": [\"en\", \"zh-Hans\"],"
        " \"min_effort\": 2, \"max_effort\": 4, \"weeks_to_complete\": 12,"
        " \"level_type\": \"Introductory\","
        " \"staff\": [{\"given_name\": \"Anant\", \"family_name\": \"Agarwal\"}],"
        " \"eligible_for_financial_aid\": false, \"modified\": \"2024-12-31T23:00:00-01:00\"}");
    json_t *out = normalize_ok(ENTITY_COURSE_RUN, in);
    ck_assert_str_eq(str(out, "uuid"), "a0b1c2d3-e4f5-4789-8abc-def012345678");
    ck_assert_str_eq(str(out, "title"), "Circuits and Electronics");
    ck_assert_str_eq(str(out, "start"), "2025-03-01T07:30:00Z");
    ck_assert_str_eq(str(out, "end"), "2025-06-01T00:00:00Z");
    ck_assert_str_eq(str(out, "enrollment_start"), "2025-01-01T00:00:00Z");
    ck_assert_str_eq(str(out, "modified"), "2025-01-01T00:00:00Z");
    ck_assert_str_eq(str(out, "pacing_type"), "self_paced");
    ck_assert(json_is_true(json_object_get(out, "hidden")));
    ck_assert(json_is_false(json_object_get(out, "eligible_for_financial_aid")));
    json_t *image = json_object_get(out, "image");
    ck_assert_uint_eq(json_object_size(image), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(image, "width")), 640);
    json_t *seats = json_object_get(out, "seats");
    ck_assert_uint_eq(json_array_size(seats), 2);
    ck_assert_str_eq(str(json_array_get(seats, 0), "price"), "149.00");
    ck_assert_str_eq(str(json_array_get(seats, 0), "currency"), "EUR");
    ck_assert_str_eq(str(json_array_get(seats, 1), "price"), "0.00");
    ck_assert_str_eq(str(json_array_get(seats, 1), "currency"), "USD");
    ck_assert(json_is_null(json_object_get(json_array_get(seats, 1), "upgrade_deadline")));
    json_t *staff = json_array_get(json_object_get(out, "staff"), 0);
    ck_assert_str_eq(str(staff, "given_name"), "Anant");
    ck_assert(json_is_null(json_object_get(staff, "bio")));
    ck_assert_uint_eq(json_array_size(json_object_get(out, "transcript_languages")), 2);
    json_decref(out);
}
END_TEST

START_TEST(full_other_kinds)
{
    json_t *org = normalize_ok(
        ENTITY_ORGANIZATION,
        parse("{\"key\": \"Harvard_X.2-a\", \"name\": \"Harvard\", \"tags\": [\"charter\"],"
              " \"homepage_url\": \"\", \"logo_image_url\": \"HTTPS://EXAMPLE.ORG:8443/l.png\","
              " \"marketing_url\": \"http://[::1]/x\"}"));
    ck_assert(json_is_null(json_object_get(org, "homepage_url"))); /* "" -> null */
    ck_assert_str_eq(str(org, "logo_image_url"), "HTTPS://EXAMPLE.ORG:8443/l.png");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(org, "tags"), 0)), "charter");
    json_decref(org);

    json_t *type = normalize_ok(
        ENTITY_PROGRAM_TYPE,
        parse("{\"slug\": \"professional-certificate\", \"name\": \"Professional Certificate\","
              " \"applicable_seat_types\": [\"verified\", \"no-id-professional\"],"
              " \"coaching_supported\": true, \"logo_image\": {\"src\": \"https://x.org/l\"}}"));
    ck_assert_uint_eq(json_array_size(json_object_get(type, "applicable_seat_types")), 2);
    ck_assert(json_is_true(json_object_get(type, "coaching_supported")));
    json_decref(type);

    json_t *course = normalize_ok(
        ENTITY_COURSE,
        parse("{\"key\": \"MITx+6.002x\", \"title\": \"Circuits\", \"owners\": [\"MITx\", "
              "\"HarvardX\"],"
              " \"subjects\": [\"engineering\"], \"entitlements\": [{\"mode\": \"verified\","
              " \"price\": 99.5, \"currency\": \"USD\", \"sku\": \"S\"}],"
              " \"image\": {\"src\": \"https://x.org/i\"}, \"course_type\": \"verified-audit\"}"));
    json_t *ent = json_array_get(json_object_get(course, "entitlements"), 0);
    ck_assert_str_eq(str(ent, "price"), "99.50");
    ck_assert_ptr_null(json_object_get(course, "course_runs")); /* none given */
    json_decref(course);

    json_t *program = normalize_ok(
        ENTITY_PROGRAM,
        parse("{\"uuid\": \"0123456789ABCDEF0123456789abcdef\", \"title\": \"Data\","
              " \"type\": \"micromasters\", \"status\": \"active\", \"courses\": [\"MITx+6.002x\"],"
              " \"authoring_organizations\": [\"MITx\"], \"min_hours_effort_per_week\": 4,"
              " \"max_hours_effort_per_week\": 4, \"modified\": \"bogus\"}"));
    ck_assert_str_eq(str(program, "uuid"), "01234567-89ab-cdef-0123-456789abcdef");
    ck_assert_str_eq(str(program, "status"), "active");
    ck_assert_str_eq(str(program, "modified"), NOW); /* read-only: bad value replaced */
    json_decref(program);

    json_t *pathway = normalize_ok(
        ENTITY_PATHWAY,
        parse("{\"id\": 7, \"name\": \"P\", \"email\": \"a.b@example.org\", \"pathway_type\": "
              "\"industry\", \"programs\": [\"01234567-89ab-cdef-0123-456789abcdef\"]}"));
    ck_assert_int_eq(json_integer_value(json_object_get(pathway, "id")), 7);
    ck_assert_str_eq(str(pathway, "email"), "a.b@example.org");
    json_decref(pathway);
}
END_TEST

START_TEST(uuid_kept_or_generated)
{
    json_t *a = normalize_ok(ENTITY_SUBJECT, doc_with(ENTITY_SUBJECT, NULL, NULL));
    json_t *b = normalize_ok(ENTITY_SUBJECT, doc_with(ENTITY_SUBJECT, NULL, NULL));
    ck_assert_str_ne(str(a, "uuid"), str(b, "uuid"));
    json_t *c = normalize_ok(
        ENTITY_SUBJECT,
        doc_with(ENTITY_SUBJECT, "{\"uuid\": \"11111111-2222-4333-8444-555555555555\"}", NULL));
    ck_assert_str_eq(str(c, "uuid"), "11111111-2222-4333-8444-555555555555");
    json_t *d = normalize_ok(ENTITY_SUBJECT, doc_with(ENTITY_SUBJECT, "{\"uuid\": null}", NULL));
    ck_assert_uint_eq(strlen(str(d, "uuid")), 36);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
}
END_TEST

/* ---- prices ------------------------------------------------------------ */

static const struct {
    const char *json; /* the price as JSON */
    const char *want; /* canonical, or NULL when refused */
    const char *message;
} prices[] = {
    {"\"149\"", "149.00", NULL},
    {"149", "149.00", NULL},
    {"\"149.5\"", "149.50", NULL},
    {"149.5", "149.50", NULL},
    {"\"149.50\"", "149.50", NULL},
    {"\"149.500\"", "149.50", NULL},
    {"\"0\"", "0.00", NULL},
    {"\"-0\"", "0.00", NULL},
    {"\"007.1\"", "7.10", NULL},
    {"\".5\"", "0.50", NULL},
    {"\" 12 \"", "12.00", NULL},
    {"0.1", "0.10", NULL},
    {"\"99999999.99\"", "99999999.99", NULL},
    {"\"-1\"", NULL, "greater than or equal to 0"},
    {"-1", NULL, "greater than or equal to 0"},
    {"-0.5", NULL, "greater than or equal to 0"},
    {"\"abc\"", NULL, "A valid number is required."},
    {"\"\"", NULL, "A valid number is required."},
    {"\"1e3\"", NULL, "A valid number is required."},
    {"\"1.2.3\"", NULL, "A valid number is required."},
    {"\".\"", NULL, "A valid number is required."},
    {"true", NULL, "A valid number is required."},
    {"[1]", NULL, "A valid number is required."},
    {"\"1.234\"", NULL, "no more than 2 decimal places"},
    {"1.234", NULL, "no more than 2 decimal places"},
    {"\"123456789\"", NULL, "no more than 8 digits before the decimal point"},
};

START_TEST(price_normalization)
{
    char text[256];
    snprintf(text, sizeof text, "{\"seats\": [{\"type\": \"verified\", \"price\": %s}]}",
             prices[_i].json);
    json_t *in = doc_with(ENTITY_COURSE_RUN, text, NULL);
    json_t *out = NULL;
    struct error err = {0};
    int rc = entity_normalize(ENTITY_COURSE_RUN, in, ENTITY_CREATE, &out, &err);
    if (prices[_i].want != NULL) {
        ck_assert_msg(rc == 0, "%s refused: %s", prices[_i].json, err.message);
        json_t *seat = json_array_get(json_object_get(out, "seats"), 0);
        ck_assert_str_eq(str(seat, "price"), prices[_i].want);
        json_decref(out);
    } else {
        ck_assert_msg(rc == -1, "%s accepted", prices[_i].json);
        ck_assert_int_eq(err.code, ERR_INVALID);
        ck_assert_str_eq(err.field, "seats[0].price");
        ck_assert_msg(strstr(err.message, prices[_i].message) != NULL, "%s: %s", prices[_i].json,
                      err.message);
    }
    json_decref(in);
}
END_TEST

START_TEST(cents_helpers)
{
    long long c;
    ck_assert_int_eq(jf_decimal_cents("149.00", &c), 0);
    ck_assert_int_eq(c, 14900);
    ck_assert_int_eq(jf_decimal_cents("0.5", &c), 0);
    ck_assert_int_eq(c, 50);
    ck_assert_int_eq(jf_decimal_cents("1.234", &c), -1);
    ck_assert_int_eq(jf_decimal_cents("-1", &c), -1);
    ck_assert_int_eq(jf_decimal_cents("", &c), -1);
    char buf[32];
    jf_format_cents(5, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.05");
    jf_format_cents(123456, buf, sizeof buf);
    ck_assert_str_eq(buf, "1234.56");
    ck_assert_int_eq(jf_run_key_course("course-v1:MITx+6.002x+2T2025", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "MITx+6.002x");
    ck_assert_int_eq(jf_run_key_course("MITx/6.002x/2012_Fall", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "MITx+6.002x");
    ck_assert_int_eq(jf_run_key_course("course-v1:MITx+6.002x", buf, sizeof buf), -1);
    ck_assert_int_eq(jf_run_key_course("MITx+6.002x+2T2025", buf, sizeof buf), -1);
}
END_TEST

/* ---- bad values, with the exact field path ----------------------------- */

#define DT_MSG "Datetime has wrong format. Use one of these formats instead: "

static const struct bad_case {
    enum entity_kind kind;
    const char *patch;  /* merged into the minimal doc (NULL: none) */
    const char *remove; /* field deleted from it (NULL: none) */
    const char *field;
    const char *message; /* a substring of the message */
} bad[] = {
    /* required fields */
    {ENTITY_ORGANIZATION, NULL, "key", "key", "This field is required."},
    {ENTITY_ORGANIZATION, NULL, "name", "name", "This field is required."},
    {ENTITY_ORGANIZATION, "{\"name\": null}", NULL, "name", "This field may not be null."},
    {ENTITY_ORGANIZATION, "{\"name\": \"   \"}", NULL, "name", "This field may not be blank."},
    {ENTITY_SUBJECT, NULL, "slug", "slug", "This field is required."},
    {ENTITY_SUBJECT, NULL, "name", "name", "This field is required."},
    {ENTITY_PROGRAM_TYPE, NULL, "slug", "slug", "This field is required."},
    {ENTITY_PROGRAM_TYPE, NULL, "name", "name", "This field is required."},
    {ENTITY_COURSE, NULL, "key", "key", "This field is required."},
    {ENTITY_COURSE, NULL, "title", "title", "This field is required."},
    {ENTITY_COURSE, NULL, "owners", "owners", "This field is required."},
    {ENTITY_COURSE, "{\"owners\": []}", NULL, "owners", "This list may not be empty."},
    {ENTITY_COURSE_RUN, NULL, "key", "key", "This field is required."},
    {ENTITY_COURSE_RUN, NULL, "course", "course", "This field is required."},
    {ENTITY_COURSE_RUN, NULL, "start", "start", "This field is required."},
    {ENTITY_PROGRAM, NULL, "title", "title", "This field is required."},
    {ENTITY_PROGRAM, NULL, "type", "type", "This field is required."},
    {ENTITY_PATHWAY, NULL, "name", "name", "This field is required."},
    /* strings: no coercion from numbers, length limits */
    {ENTITY_ORGANIZATION, "{\"name\": 42}", NULL, "name", "Not a valid string."},
    {ENTITY_COURSE, "{\"title\": [\"x\"]}", NULL, "title", "Not a valid string."},
    {ENTITY_ORGANIZATION, "{\"description\": 1}", NULL, "description", "Not a valid string."},
    {ENTITY_SUBJECT,
     "{\"name\": "
     "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
     NULL, "name", "no more than 255 characters"},
    /* urls */
    {ENTITY_ORGANIZATION, "{\"homepage_url\": \"javascript:alert(1)\"}", NULL, "homepage_url",
     "Enter a valid URL."},
    {ENTITY_ORGANIZATION, "{\"homepage_url\": \"ftp://example.org/\"}", NULL, "homepage_url",
     "Enter a valid URL."},
    {ENTITY_ORGANIZATION, "{\"homepage_url\": \"https://\"}", NULL, "homepage_url",
     "Enter a valid URL."},
    {ENTITY_ORGANIZATION, "{\"homepage_url\": \"https://exa mple.org\"}", NULL, "homepage_url",
     "Enter a valid URL."},
    {ENTITY_ORGANIZATION, "{\"homepage_url\": \"/relative/path\"}", NULL, "homepage_url",
     "Enter a valid URL."},
    {ENTITY_ORGANIZATION, "{\"homepage_url\": \"https://user@evil.org\"}", NULL, "homepage_url",
     "Enter a valid URL."},
    {ENTITY_ORGANIZATION, "{\"homepage_url\": \"https://x.org:99999/\"}", NULL, "homepage_url",
     "Enter a valid URL."},
    {ENTITY_SUBJECT, "{\"card_image_url\": 5}", NULL, "card_image_url", "Not a valid string."},
    /* datetimes */
    {ENTITY_COURSE_RUN, "{\"start\": \"yesterday\"}", NULL, "start", DT_MSG},
    {ENTITY_COURSE_RUN, "{\"start\": \"2025-02-30T00:00:00Z\"}", NULL, "start", DT_MSG},
    {ENTITY_COURSE_RUN, "{\"start\": \"2025-03-01T00:00:00\"}", NULL, "start", DT_MSG},
    {ENTITY_COURSE_RUN, "{\"start\": 1735689600}", NULL, "start", DT_MSG},
    {ENTITY_COURSE_RUN, "{\"end\": \"2025-13-01T00:00:00Z\"}", NULL, "end", DT_MSG},
    {ENTITY_COURSE_RUN, "{\"enrollment_end\": \"\"}", NULL, "enrollment_end", DT_MSG},
    /* bools */
    {ENTITY_COURSE_RUN, "{\"hidden\": \"true\"}", NULL, "hidden", "Must be a valid boolean."},
    {ENTITY_COURSE_RUN, "{\"hidden\": 1}", NULL, "hidden", "Must be a valid boolean."},
    {ENTITY_PROGRAM_TYPE, "{\"coaching_supported\": 0}", NULL, "coaching_supported",
     "Must be a valid boolean."},
    /* ints */
    {ENTITY_COURSE_RUN, "{\"weeks_to_complete\": \"12\"}", NULL, "weeks_to_complete",
     "A valid integer is required."},
    {ENTITY_COURSE_RUN, "{\"min_effort\": 2.5}", NULL, "min_effort",
     "A valid integer is required."},
    {ENTITY_COURSE_RUN, "{\"max_effort\": -1}", NULL, "max_effort", "greater than or equal to 0"},
    {ENTITY_PATHWAY, "{\"id\": \"7\"}", NULL, "id", "A valid integer is required."},
    /* keys */
    {ENTITY_ORGANIZATION, "{\"key\": \"MIT x\"}", NULL, "key", "organization key"},
    {ENTITY_ORGANIZATION, "{\"key\": \"MITx+1\"}", NULL, "key", "organization key"},
    {ENTITY_ORGANIZATION, "{\"key\": 5}", NULL, "key", "Not a valid string."},
    {ENTITY_COURSE, "{\"key\": \"MITx\"}", NULL, "key", "ORG+NUMBER"},
    {ENTITY_COURSE, "{\"key\": \"MITx+\"}", NULL, "key", "ORG+NUMBER"},
    {ENTITY_COURSE, "{\"key\": \"MITx+6.002x+run\"}", NULL, "key", "ORG+NUMBER"},
    {ENTITY_COURSE_RUN, "{\"key\": \"MITx+6.002x+2T2025\"}", NULL, "key", "course-v1:"},
    {ENTITY_COURSE_RUN, "{\"key\": \"course-v1:MITx+6.002x\"}", NULL, "key", "course-v1:"},
    {ENTITY_COURSE_RUN, "{\"key\": \"course-v1:MITx+6.002x+2T2025+x\"}", NULL, "key", "course-v1:"},
    {ENTITY_COURSE_RUN, "{\"course\": \"MITx/6.002x\"}", NULL, "course", "ORG+NUMBER"},
    {ENTITY_SUBJECT, "{\"slug\": \"Computer-Science\"}", NULL, "slug", "slug"},
    {ENTITY_SUBJECT, "{\"slug\": \"computer_science\"}", NULL, "slug", "slug"},
    {ENTITY_PROGRAM_TYPE, "{\"slug\": \"a b\"}", NULL, "slug", "slug"},
    {ENTITY_PROGRAM, "{\"type\": \"MicroMasters\"}", NULL, "type", "slug"},
    /* uuids */
    {ENTITY_PROGRAM, "{\"uuid\": \"not-a-uuid\"}", NULL, "uuid", "Must be a valid UUID."},
    {ENTITY_PROGRAM, "{\"uuid\": \"0123456789abcdef0123456789abcdeg\"}", NULL, "uuid",
     "Must be a valid UUID."},
    {ENTITY_PROGRAM, "{\"uuid\": 12}", NULL, "uuid", "Must be a valid UUID."},
    {ENTITY_PATHWAY, "{\"programs\": [\"x\"]}", NULL, "programs[0]", "Must be a valid UUID."},
    /* enums */
    {ENTITY_COURSE_RUN, "{\"pacing_type\": \"instructor-paced\"}", NULL, "pacing_type",
     "\"instructor-paced\" is not a valid choice."},
    {ENTITY_COURSE_RUN, "{\"status\": \"archived\"}", NULL, "status", "is not a valid choice."},
    {ENTITY_COURSE_RUN, "{\"status\": 1}", NULL, "status", "\"1\" is not a valid choice."},
    {ENTITY_PROGRAM, "{\"status\": \"published\"}", NULL, "status", "is not a valid choice."},
    {ENTITY_PATHWAY, "{\"pathway_type\": \"other\"}", NULL, "pathway_type",
     "is not a valid choice."},
    {ENTITY_PROGRAM_TYPE, "{\"applicable_seat_types\": [\"verified\", \"gold\"]}", NULL,
     "applicable_seat_types[1]", "\"gold\" is not a valid choice."},
    /* seats and entitlements */
    {ENTITY_COURSE_RUN, "{\"seats\": [{\"price\": \"10\"}]}", NULL, "seats[0].type",
     "This field is required."},
    {ENTITY_COURSE_RUN, "{\"seats\": [{\"type\": \"audit\"}, {\"type\": \"gold\"}]}", NULL,
     "seats[1].type", "not a valid choice"},
    {ENTITY_COURSE_RUN, "{\"seats\": [{\"type\": \"audit\", \"currency\": \"usd\"}]}", NULL,
     "seats[0].currency", "three upper-case letters"},
    {ENTITY_COURSE_RUN, "{\"seats\": [{\"type\": \"audit\", \"currency\": \"USDX\"}]}", NULL,
     "seats[0].currency", "three upper-case letters"},
    {ENTITY_COURSE_RUN, "{\"seats\": [{\"type\": \"verified\", \"upgrade_deadline\": \"soon\"}]}",
     NULL, "seats[0].upgrade_deadline", DT_MSG},
    {ENTITY_COURSE_RUN, "{\"seats\": {\"type\": \"audit\"}}", NULL, "seats",
     "Expected a list of items but got type \"dict\"."},
    {ENTITY_COURSE_RUN, "{\"seats\": [\"audit\"]}", NULL, "seats[0]",
     "Expected a dictionary, but got str."},
    {ENTITY_COURSE_RUN, "{\"seats\": [null]}", NULL, "seats[0]", "This field may not be null."},
    {ENTITY_COURSE, "{\"entitlements\": [{\"mode\": \"verified\"}]}", NULL, "entitlements[0].price",
     "This field is required."},
    {ENTITY_COURSE, "{\"entitlements\": [{\"mode\": \"gold\", \"price\": 1}]}", NULL,
     "entitlements[0].mode", "not a valid choice"},
    /* objects */
    {ENTITY_COURSE_RUN, "{\"image\": \"https://x.org/i.png\"}", NULL, "image",
     "Expected a dictionary, but got str."},
    {ENTITY_COURSE_RUN, "{\"image\": {\"src\": \"javascript:x\"}}", NULL, "image.src",
     "Enter a valid URL."},
    {ENTITY_COURSE, "{\"image\": {\"src\": \"https://x.org/i\", \"width\": -3}}", NULL,
     "image.width", "greater than or equal to 0"},
    {ENTITY_COURSE_RUN, "{\"staff\": [{\"family_name\": \"A\"}]}", NULL, "staff[0].given_name",
     "This field is required."},
    /* lists */
    {ENTITY_ORGANIZATION, "{\"tags\": \"a,b\"}", NULL, "tags",
     "Expected a list of items but got type \"str\"."},
    {ENTITY_ORGANIZATION, "{\"tags\": [\"a\", 2]}", NULL, "tags[1]", "Not a valid string."},
    {ENTITY_ORGANIZATION, "{\"tags\": [\"a\", \"\"]}", NULL, "tags[1]", "may not be blank"},
    {ENTITY_COURSE, "{\"owners\": [\"MITx\", \"bad key\"]}", NULL, "owners[1]", "organization key"},
    {ENTITY_COURSE, "{\"subjects\": [\"Math\"]}", NULL, "subjects[0]", "slug"},
    {ENTITY_PROGRAM, "{\"courses\": [\"MITx+1\", \"nope\"]}", NULL, "courses[1]", "ORG+NUMBER"},
    {ENTITY_PROGRAM, "{\"authoring_organizations\": [null]}", NULL, "authoring_organizations[0]",
     "may not be null"},
    {ENTITY_COURSE_RUN, "{\"transcript_languages\": [\"english\"]}", NULL,
     "transcript_languages[0]", "language code"},
    {ENTITY_COURSE_RUN, "{\"content_language\": \"e\"}", NULL, "content_language", "language code"},
    /* other formats */
    {ENTITY_PATHWAY, "{\"email\": \"nobody\"}", NULL, "email", "Enter a valid email address."},
    {ENTITY_PATHWAY, "{\"email\": \"a@b\"}", NULL, "email", "Enter a valid email address."},
    {ENTITY_PATHWAY, "{\"destination_url\": \"data:text/html,x\"}", NULL, "destination_url",
     "Enter a valid URL."},
    /* cross-field */
    {ENTITY_COURSE_RUN, "{\"end\": \"2025-02-28T23:59:59Z\"}", NULL, "start",
     "Start date cannot be after the End date"},
    {ENTITY_COURSE_RUN,
     "{\"enrollment_start\": \"2025-02-01T00:00:00Z\", \"enrollment_end\": "
     "\"2025-01-31T00:00:00+00:00\"}",
     NULL, "enrollment_start", "Enrollment start date cannot be after the enrollment end date"},
    {ENTITY_COURSE_RUN, "{\"key\": \"course-v1:HarvardX+6.002x+2T2025\"}", NULL, "key",
     "does not belong to course \"MITx+6.002x\""},
    {ENTITY_COURSE_RUN, "{\"key\": \"MITx/6.003x/2012_Fall\"}", NULL, "key",
     "does not belong to course"},
    {ENTITY_PROGRAM, "{\"min_hours_effort_per_week\": 5, \"max_hours_effort_per_week\": 4}", NULL,
     "min_hours_effort_per_week", "Minimum effort"},
};

START_TEST(bad_values_name_their_field)
{
    const struct bad_case *c = &bad[_i];
    json_t *in = doc_with(c->kind, c->patch, c->remove);
    json_t *out = NULL;
    struct error err = {0};
    int rc = entity_normalize(c->kind, in, ENTITY_CREATE, &out, &err);
    ck_assert_msg(rc == -1, "case %d (%s %s) accepted", _i, entity_kind_name(c->kind),
                  c->patch ? c->patch : c->remove);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_msg(strcmp(err.field, c->field) == 0, "case %d: field %s, want %s (%s)", _i,
                  err.field, c->field, err.message);
    ck_assert_msg(strstr(err.message, c->message) != NULL, "case %d: message \"%s\" lacks \"%s\"",
                  _i, err.message, c->message);
    json_decref(in);
}
END_TEST

START_TEST(equal_dates_allowed)
{
    json_t *in = doc_with(ENTITY_COURSE_RUN,
                          "{\"end\": \"2025-03-01T00:00:00Z\", \"enrollment_start\": "
                          "\"2025-01-01T00:00:00Z\", \"enrollment_end\": \"2025-01-01T00:00:00Z\"}",
                          NULL);
    json_decref(normalize_ok(ENTITY_COURSE_RUN, in));
    /* the old key form belongs to its course too */
    json_decref(
        normalize_ok(ENTITY_COURSE_RUN,
                     doc_with(ENTITY_COURSE_RUN, "{\"key\": \"MITx/6.002x/2012_Fall\"}", NULL)));
}
END_TEST

START_TEST(non_object_input)
{
    const char *inputs[] = {"[]", "\"x\"", "3", "null", "true"};
    const char *types[] = {"list", "str", "int", "NoneType", "bool"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        json_t *in = parse(inputs[i]);
        json_t *out = NULL;
        struct error err = {0};
        ck_assert_int_eq(entity_normalize(ENTITY_COURSE, in, ENTITY_REPLACE, &out, &err), -1);
        ck_assert_int_eq(err.code, ERR_INVALID);
        ck_assert_str_eq(err.field, "non_field_errors");
        ck_assert_msg(strstr(err.message, types[i]) != NULL, "%s", err.message);
        json_decref(in);
    }
    json_t *out = NULL;
    struct error err = {0};
    ck_assert_int_eq(entity_normalize(ENTITY_COURSE, NULL, ENTITY_CREATE, &out, &err), -1);
    ck_assert_str_eq(err.field, "non_field_errors");
}
END_TEST

/* ---- nested runs ------------------------------------------------------- */

START_TEST(nested_runs_filled_in)
{
    json_t *in = doc_with(
        ENTITY_COURSE,
        "{\"course_runs\": [{\"key\": \"course-v1:MITx+6.002x+1T2025\", \"start\": "
        "\"2025-01-01\"}, {\"key\": \"course-v1:MITx+6.002x+2T2025\", \"course\": \"MITx+6.002x\","
        " \"start\": \"2025-06-01T00:00:00Z\", \"seats\": [{\"type\": \"verified\", \"price\": "
        "50}]}]}",
        NULL);
    json_t *out = normalize_ok(ENTITY_COURSE, in);
    json_t *runs = json_object_get(out, "course_runs");
    ck_assert_uint_eq(json_array_size(runs), 2);
    json_t *r0 = json_array_get(runs, 0);
    ck_assert_str_eq(str(r0, "course"), "MITx+6.002x");
    ck_assert_str_eq(str(r0, "start"), "2025-01-01T00:00:00Z");
    ck_assert_str_eq(str(r0, "status"), "unpublished");
    ck_assert_uint_eq(strlen(str(r0, "uuid")), 36);
    json_t *r1 = json_array_get(runs, 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(r1, "seats"), 0), "price"), "50.00");
    json_decref(out);
}
END_TEST

static const struct {
    const char *runs;
    const char *field;
    const char *message;
} nested_bad[] = {
    {"[{\"key\": \"course-v1:MITx+6.002x+1T2025\", \"start\": \"2025-01-01\"},"
     " {\"key\": \"course-v1:MITx+6.002x+2T2025\", \"start\": \"bad\"}]",
     "course_runs[1].start", DT_MSG},
    {"[{\"key\": \"course-v1:MITx+6.002x+1T2025\", \"start\": \"2025-01-01\","
     " \"seats\": [{\"type\": \"verified\", \"price\": \"x\"}]}]",
     "course_runs[0].seats[0].price", "A valid number is required."},
    {"[{\"key\": \"course-v1:MITx+6.002x+1T2025\", \"course\": \"MITx+other\","
     " \"start\": \"2025-01-01\"}]",
     "course_runs[0].course", "MITx+other"},
    {"[{\"key\": \"course-v1:MITx+other+1T2025\", \"start\": \"2025-01-01\"}]",
     "course_runs[0].key", "does not belong to course"},
    {"[{\"start\": \"2025-01-01\"}]", "course_runs[0].key", "This field is required."},
    {"[\"course-v1:MITx+6.002x+1T2025\"]", "course_runs[0]", "Expected a dictionary"},
    {"{}", "course_runs", "Expected a list of items"},
};

START_TEST(nested_runs_errors)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"course_runs\": %s}", nested_bad[_i].runs);
    json_t *in = doc_with(ENTITY_COURSE, text, NULL);
    json_t *out = NULL;
    struct error err = {0};
    ck_assert_int_eq(entity_normalize(ENTITY_COURSE, in, ENTITY_CREATE, &out, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_str_eq(err.field, nested_bad[_i].field);
    ck_assert_msg(strstr(err.message, nested_bad[_i].message) != NULL, "%s", err.message);
    json_decref(in);
}
END_TEST

START_TEST(modified_kept_or_now)
{
    json_t *kept = normalize_ok(
        ENTITY_COURSE, doc_with(ENTITY_COURSE, "{\"modified\": \"2020-05-05T05:05:05Z\"}", NULL));
    ck_assert_str_eq(str(kept, "modified"), "2020-05-05T05:05:05Z");
    json_t *now = normalize_ok(ENTITY_COURSE, doc_with(ENTITY_COURSE, NULL, NULL));
    ck_assert_str_eq(str(now, "modified"), NOW);
    json_decref(kept);
    json_decref(now);
    /* kinds without modified do not grow one */
    json_t *org = normalize_ok(ENTITY_ORGANIZATION,
                               doc_with(ENTITY_ORGANIZATION, "{\"modified\": \"2020\"}", NULL));
    ck_assert_ptr_null(json_object_get(org, "modified"));
    json_decref(org);
}
END_TEST

START_TEST(normalizing_twice_is_stable)
{
    /* The canonical form is a fixed point: export -> import -> export. */
    for (int k = 0; k < ENTITY_KIND_COUNT; k++) {
        json_t *once = normalize_ok((enum entity_kind)k, doc_with((enum entity_kind)k, NULL, NULL));
        json_t *twice = normalize_ok((enum entity_kind)k, json_deep_copy(once));
        ck_assert_msg(json_equal(once, twice), "%s changes on a second pass",
                      entity_kind_name((enum entity_kind)k));
        json_decref(once);
        json_decref(twice);
    }
}
END_TEST

START_TEST(early_years_are_stable)
{
    /* Found by fuzz_entity (corpus/entity/regress_year_before_1000): a year
     * before 1000 came back as "596-01-10T00:00:00Z" and was then refused. */
    json_t *once =
        normalize_ok(ENTITY_COURSE_RUN,
                     doc_with(ENTITY_COURSE_RUN, "{\"start\": \"0596-01-10T00:00:00Z\"}", NULL));
    ck_assert_str_eq(json_string_value(json_object_get(once, "start")), "0596-01-10T00:00:00Z");
    json_t *twice = normalize_ok(ENTITY_COURSE_RUN, json_deep_copy(once));
    ck_assert(json_equal(once, twice));
    json_decref(once);
    json_decref(twice);
}
END_TEST

static Suite *entity_suite(void)
{
    Suite *s = suite_create("entity");
    TCase *t = tcase_create("entity");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, kind_names_round_trip);
    tcase_add_test(t, new_uuid_is_canonical_v4);
    tcase_add_loop_test(t, minimal_documents_are_complete, 0, ENTITY_KIND_COUNT);
    tcase_add_test(t, minimal_defaults);
    tcase_add_test(t, full_course_run);
    tcase_add_test(t, full_other_kinds);
    tcase_add_test(t, uuid_kept_or_generated);
    tcase_add_loop_test(t, price_normalization, 0, (int)(sizeof prices / sizeof prices[0]));
    tcase_add_test(t, cents_helpers);
    tcase_add_loop_test(t, bad_values_name_their_field, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(t, equal_dates_allowed);
    tcase_add_test(t, non_object_input);
    tcase_add_test(t, nested_runs_filled_in);
    tcase_add_loop_test(t, nested_runs_errors, 0, (int)(sizeof nested_bad / sizeof nested_bad[0]));
    tcase_add_test(t, modified_kept_or_now);
    tcase_add_test(t, normalizing_twice_is_stable);
    tcase_add_test(t, early_years_are_stable);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return test_run_suite(entity_suite());
}
