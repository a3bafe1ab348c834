/*
 * test_catalog_io - import and export against a real sqlite store: the
 * bundled sample, idempotence, byte-identical round trips, forward
 * references, each kind of bad line, skip_invalid, duplicates, a 2 MB line
 * and empty input.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_io.h"
#include "config.h"
#include "store.h"
#include "testutil.h"

static struct config *open_config;

/* A fresh sqlite store in a new temporary directory. */
static struct store *fresh_store(void)
{
    char *dir = test_tmpdir();
    char path[4200], set_path[4300];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    snprintf(set_path, sizeof set_path, "store.path=%s", path);
    const char *sets[] = {"store.driver=sqlite", set_path, NULL};
    free(dir);
    config_free(open_config);
    open_config = test_config(sets);
    struct store *store = NULL;
    struct error err = {0};
    ck_assert_msg(store_open(open_config, &store, &err) == 0, "store_open: %s", err.message);
    return store;
}

static void close_store(struct store *store)
{
    store_close(store);
    config_free(open_config);
    open_config = NULL;
}

static int import_text(struct store *store, const char *text, bool skip_invalid, char **report,
                       struct import_summary *summary, struct error *err)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    if (strlen(text) == 0) /* fmemopen refuses a zero-sized buffer on old glibc */
        in = fopen("/dev/null", "r");
    ck_assert_ptr_nonnull(in);
    size_t report_size = 0;
    char *report_text = NULL;
    FILE *out = open_memstream(&report_text, &report_size);
    struct import_options options = {.skip_invalid = skip_invalid};
    int rc = catalog_import(store, in, "f.jsonl", &options, out, summary, err);
    fclose(in);
    fclose(out);
    if (report != NULL)
        *report = report_text;
    else
        free(report_text);
    return rc;
}

static char *export_text(struct store *store)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    struct error err = {0};
    ck_assert_msg(catalog_export(store, out, &err) == 0, "export: %s", err.message);
    fclose(out);
    return text;
}

static void import_ok(struct store *store, const char *text, struct import_summary *summary)
{
    struct error err = {0};
    struct import_summary ignored;
    int rc = import_text(store, text, false, NULL, summary ? summary : &ignored, &err);
    ck_assert_msg(rc == 0, "import: %s", err.message);
}

static size_t count_of(struct store *store, enum entity_kind kind)
{
    size_t n = 0;
    struct error err = {0};
    ck_assert_msg(store_count(store, kind, &n, &err) == 0, "count: %s", err.message);
    return n;
}

static bool exists(struct store *store, enum entity_kind kind, const char *key)
{
    json_t *doc = NULL;
    struct error err = {0};
    int rc = store_get(store, kind, key, &doc, &err);
    json_decref(doc);
    ck_assert_msg(rc == 0 || err.code == ERR_NOT_FOUND, "get: %s", err.message);
    return rc == 0;
}

/* Kinds counted from the file itself, so the test follows the sample. */
static void count_kinds(const char *text, size_t counts[ENTITY_KIND_COUNT])
{
    memset(counts, 0, ENTITY_KIND_COUNT * sizeof counts[0]);
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        json_t *line = json_loadb(p, len, 0, NULL);
        enum entity_kind kind;
        if (line != NULL &&
            entity_kind_from_name(json_string_value(json_object_get(line, "kind")), &kind) == 0) {
            counts[kind]++;
            if (kind == ENTITY_COURSE)
                counts[ENTITY_COURSE_RUN] += json_array_size(json_object_get(line, "course_runs"));
        }
        json_decref(line);
        p += len + (end != NULL);
    }
}

START_TEST(sample_imports_with_expected_counts)
{
    struct store *store = fresh_store();
    char *sample = test_sample_catalog_text(NULL);
    size_t expected[ENTITY_KIND_COUNT];
    count_kinds(sample, expected);
    struct import_summary summary;
    import_ok(store, sample, &summary);
    ck_assert_uint_ge(expected[ENTITY_ORGANIZATION], 8);
    ck_assert_uint_ge(expected[ENTITY_SUBJECT], 10);
    ck_assert_uint_ge(expected[ENTITY_COURSE], 60);
    ck_assert_uint_eq(expected[ENTITY_PROGRAM], 6);
    ck_assert_uint_eq(expected[ENTITY_PROGRAM_TYPE], 3);
    ck_assert_uint_eq(expected[ENTITY_PATHWAY], 2);
    size_t total = 0;
    for (int k = 0; k < ENTITY_KIND_COUNT; k++) {
        ck_assert_msg(count_of(store, k) == expected[k], "%s: %zu stored, %zu in the file",
                      entity_kind_name(k), count_of(store, k), expected[k]);
        ck_assert_uint_eq(summary.by_kind[k], expected[k]);
        total += expected[k];
    }
    ck_assert_uint_eq(summary.written, total);
    ck_assert_uint_eq(summary.invalid, 0);
    free(sample);
    close_store(store);
}
END_TEST

START_TEST(second_import_changes_nothing)
{
    struct store *store = fresh_store();
    char *sample = test_sample_catalog_text(NULL);
    import_ok(store, sample, NULL);
    char *before = export_text(store);
    struct import_summary summary;
    import_ok(store, sample, &summary);
    char *after = export_text(store);
    ck_assert_str_eq(before, after);
    ck_assert_uint_eq(summary.written, 0);
    ck_assert_uint_gt(summary.unchanged, 200);
    free(before);
    free(after);
    free(sample);
    close_store(store);
}
END_TEST

START_TEST(export_import_export_is_identical)
{
    struct store *first = fresh_store();
    char *sample = test_sample_catalog_text(NULL);
    import_ok(first, sample, NULL);
    char *exported = export_text(first);
    close_store(first);

    struct store *second = fresh_store();
    import_ok(second, exported, NULL);
    char *again = export_text(second);
    ck_assert_str_eq(exported, again);
    /* every line starts with its kind, the import format's first member */
    ck_assert_int_eq(strncmp(exported, "{\"kind\":\"organization\",", 23), 0);
    ck_assert_ptr_null(strstr(exported, "\n{\"key\""));
    free(exported);
    free(again);
    free(sample);
    close_store(second);
}
END_TEST

START_TEST(export_of_empty_store_is_empty)
{
    struct store *store = fresh_store();
    char *text = export_text(store);
    ck_assert_str_eq(text, "");
    free(text);
    close_store(store);
}
END_TEST

static const char org_line[] =
    "{\"kind\":\"organization\",\"key\":\"TstX\",\"name\":\"Test Institute\"}";
static const char subject_line[] = "{\"kind\":\"subject\",\"slug\":\"tests\",\"name\":\"Tests\"}";
static const char course_line[] =
    "{\"kind\":\"course\",\"key\":\"TstX+T1\",\"title\":\"Testing\",\"owners\":[\"TstX\"],"
    "\"subjects\":[\"tests\"]}";
static const char run_line[] = "{\"kind\":\"course_run\",\"key\":\"course-v1:TstX+T1+1T2026\","
                               "\"course\":\"TstX+T1\",\"start\":\"2026-01-10T00:00:00Z\","
                               "\"pacing_type\":\"self_paced\",\"status\":\"published\"}";

START_TEST(lines_may_reference_later_lines)
{
    struct store *store = fresh_store();
    char text[2048];
    snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n", run_line, course_line, subject_line, org_line);
    struct import_summary summary;
    import_ok(store, text, &summary);
    ck_assert(exists(store, ENTITY_COURSE_RUN, "course-v1:TstX+T1+1T2026"));
    ck_assert(exists(store, ENTITY_COURSE, "TstX+T1"));
    ck_assert_uint_eq(summary.written, 4);
    ck_assert_uint_eq(summary.lines, 4);
    close_store(store);
}
END_TEST

START_TEST(nested_runs_are_written_and_exported_as_run_lines)
{
    struct store *store = fresh_store();
    char text[4096];
    snprintf(text, sizeof text,
             "%s\n%s\n{\"kind\":\"course\",\"key\":\"TstX+T2\",\"title\":\"Nested\","
             "\"owners\":[\"TstX\"],\"course_runs\":[{\"key\":\"course-v1:TstX+T2+1T2026\","
             "\"start\":\"2026-01-10T00:00:00Z\",\"pacing_type\":\"self_paced\","
             "\"status\":\"published\"},{\"key\":\"course-v1:TstX+T2+2T2026\","
             "\"start\":\"2026-04-10T00:00:00Z\",\"pacing_type\":\"instructor_paced\","
             "\"status\":\"published\"}]}\n",
             org_line, subject_line);
    struct import_summary summary;
    import_ok(store, text, &summary);
    ck_assert_uint_eq(count_of(store, ENTITY_COURSE_RUN), 2);
    ck_assert_uint_eq(summary.by_kind[ENTITY_COURSE_RUN], 2);
    json_t *run = NULL;
    struct error err = {0};
    ck_assert_int_eq(store_get(store, ENTITY_COURSE_RUN, "course-v1:TstX+T2+2T2026", &run, &err),
                     0);
    ck_assert_str_eq(json_string_value(json_object_get(run, "course")), "TstX+T2");
    json_decref(run);
    char *exported = export_text(store);
    ck_assert_ptr_nonnull(strstr(exported, "{\"kind\":\"course_run\","));
    ck_assert_ptr_null(strstr(exported, "\"course_runs\""));
    free(exported);
    close_store(store);
}
END_TEST

START_TEST(uuid_of_existing_record_is_kept_when_line_has_none)
{
    struct store *store = fresh_store();
    char text[512];
    snprintf(text, sizeof text, "%s\n", org_line);
    import_ok(store, text, NULL);
    char *before = export_text(store);
    struct import_summary summary;
    import_ok(store, text, &summary);
    char *after = export_text(store);
    ck_assert_str_eq(before, after);
    ck_assert_uint_eq(summary.unchanged, 1);
    free(before);
    free(after);
    close_store(store);
}
END_TEST

/* Each bad line: what it is, the message it must give (line 3). */
static const struct {
    const char *line;
    const char *message_prefix;
    const char *field;
} bad_lines[] = {
    {"{\"kind\":\"organization\",", "f.jsonl:3: not valid JSON", ""},
    {"[1,2,3]", "f.jsonl:3: expected a JSON object", ""},
    {"\"organization\"", "f.jsonl:3: expected a JSON object", ""},
    {"{\"key\":\"NoKind\",\"name\":\"No kind\"}", "f.jsonl:3: kind: missing", "kind"},
    {"{\"kind\":\"teacher\",\"name\":\"T\"}", "f.jsonl:3: kind: unknown kind \"teacher\"", "kind"},
    {"{\"kind\":7}", "f.jsonl:3: kind: unknown kind 7", "kind"},
    {"{\"kind\":\"organization\",\"key\":\"A\",\"key\":\"B\",\"name\":\"Dup\"}",
     "f.jsonl:3: not valid JSON: duplicate object key", ""},
    {"{\"kind\":\"course\",\"key\":\"TstX+B1\",\"title\":42,\"owners\":[\"TstX\"]}",
     "f.jsonl:3: title: ", "title"},
    {"{\"kind\":\"course\",\"key\":\"TstX+B2\",\"title\":\"Orphan\",\"owners\":[\"NoSuchX\"]}",
     "f.jsonl:3: owners: no organization \"NoSuchX\"", "owners"},
    {"{\"kind\":\"course_run\",\"key\":\"course-v1:Nope+N1+1T2026\",\"course\":\"Nope+N1\","
     "\"start\":\"2026-01-10T00:00:00Z\",\"pacing_type\":\"self_paced\",\"status\":\"published\"}",
     "f.jsonl:3: course: no course \"Nope+N1\"", "course"},
    {"{\"kind\":\"program\",\"title\":\"No uuid\",\"type\":\"xseries\"}",
     "f.jsonl:3: uuid: required", "uuid"},
    {"{\"kind\":\"pathway\",\"uuid\":\"0b6e1a34-8f2c-4a6b-9d1e-5c3f7a2b4d60\",\"name\":\"P\","
     "\"programs\":[\"7d0f5a44-1e2b-4c3d-8e9f-a0b1c2d3e4f5\"]}",
     "f.jsonl:3: programs: no program \"7d0f5a44-1e2b-4c3d-8e9f-a0b1c2d3e4f5\"", "programs"},
    {"{\"kind\":\"course\",\"key\":\"TstX+B3\",\"title\":\"Bad run\",\"owners\":[\"TstX\"],"
     "\"course_runs\":[{\"key\":\"course-v1:TstX+B3+1T2026\",\"start\":\"2026-01-10T00:00:00Z\","
     "\"pacing_type\":\"self_paced\",\"status\":\"published\"},{\"key\":\"course-v1:TstX+B3+"
     "2T2026\","
     "\"start\":\"not a date\",\"pacing_type\":\"self_paced\",\"status\":\"published\"}]}",
     "f.jsonl:3: course_runs[1].start: ", "course_runs[1].start"},
};

START_TEST(bad_line_names_file_line_field_and_writes_nothing)
{
    struct store *store = fresh_store();
    char *sample = test_sample_catalog_text(NULL);
    import_ok(store, sample, NULL);
    char *before = export_text(store);
    char text[8192];
    /* good lines around the bad one, new to the store, so that a partial
     * write would show in the export */
    snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n", org_line, subject_line, bad_lines[_i].line,
             course_line);
    struct error err = {0};
    struct import_summary summary;
    int rc = import_text(store, text, false, NULL, &summary, &err);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_msg(strncmp(err.message, bad_lines[_i].message_prefix,
                          strlen(bad_lines[_i].message_prefix)) == 0,
                  "case %d: got \"%s\", expected it to start with \"%s\"", _i, err.message,
                  bad_lines[_i].message_prefix);
    ck_assert_str_eq(err.field, bad_lines[_i].field);
    ck_assert_uint_eq(summary.written, 0);
    char *after = export_text(store);
    ck_assert_str_eq(before, after);
    ck_assert(!exists(store, ENTITY_ORGANIZATION, "TstX"));
    free(before);
    free(after);
    free(sample);
    close_store(store);
}
END_TEST

START_TEST(skip_invalid_writes_good_lines_and_reports_each_bad_one)
{
    struct store *store = fresh_store();
    char text[8192];
    snprintf(text, sizeof text,
             "%s\n"                                                       /* 1 good */
             "not json\n"                                                 /* 2 bad */
             "%s\n"                                                       /* 3 good */
             "{\"kind\":\"organization\",\"key\":\"BadX\",\"name\":17}\n" /* 4 bad */
             "{\"kind\":\"course\",\"key\":\"BadX+C1\",\"title\":\"Owned by a bad line\","
             "\"owners\":[\"BadX\"]}\n" /* 5: references line 4 */
             "{\"kind\":\"course_run\",\"key\":\"course-v1:BadX+C1+1T2026\","
             "\"course\":\"BadX+C1\",\"start\":\"2026-01-10T00:00:00Z\","
             "\"pacing_type\":\"self_paced\",\"status\":\"published\"}\n" /* 6: on line 5 */
             "%s\n"                                                       /* 7 good */
             "%s\n",                                                      /* 8 good */
             org_line, subject_line, course_line, run_line);
    char *report = NULL;
    struct error err = {0};
    struct import_summary summary;
    int rc = import_text(store, text, true, &report, &summary, &err);
    ck_assert_msg(rc == 0, "import: %s", err.message);
    ck_assert_uint_eq(summary.invalid, 4);
    ck_assert_uint_eq(summary.written, 4);
    ck_assert_uint_eq(summary.lines, 8);
    ck_assert(exists(store, ENTITY_ORGANIZATION, "TstX"));
    ck_assert(exists(store, ENTITY_COURSE_RUN, "course-v1:TstX+T1+1T2026"));
    ck_assert(!exists(store, ENTITY_ORGANIZATION, "BadX"));
    ck_assert(!exists(store, ENTITY_COURSE, "BadX+C1"));
    ck_assert(!exists(store, ENTITY_COURSE_RUN, "course-v1:BadX+C1+1T2026"));
    ck_assert_ptr_nonnull(strstr(report, "f.jsonl:2: not valid JSON"));
    ck_assert_ptr_nonnull(strstr(report, "f.jsonl:4: name: "));
    ck_assert_ptr_nonnull(strstr(report, "f.jsonl:5: owners: no organization \"BadX\""));
    ck_assert_ptr_nonnull(strstr(report, "f.jsonl:6: course: no course \"BadX+C1\""));
    /* one report line per bad line */
    size_t lines = 0;
    for (const char *p = report; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, 4);
    free(report);
    close_store(store);
}
END_TEST

/* 3,000 lines: parsed a block at a time on two threads (src/work_split.c),
 * checked and kept in file order.  The bad lines sit in both threads'
 * halves of different blocks, a key comes back a block later, a course
 * nests one run twice; comments shift the line numbers. */
#define MANY_LINES 3000

static char *many_lines_text(void)
{
    size_t cap = MANY_LINES * 200, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (int line = 1; line <= MANY_LINES; line++) {
        char row[400];
        if (line % 500 == 0)
            snprintf(row, sizeof row, "# comment on line %d", line);
        else if (line == 100)
            snprintf(row, sizeof row, "not json on line 100");
        else if (line == 900)
            snprintf(row, sizeof row, "{\"kind\":\"organization\",\"key\":\"Bad900\",\"name\":9}");
        else if (line == 1501)
            snprintf(row, sizeof row,
                     "{\"kind\":\"organization\",\"key\":\"Org0003\",\"name\":\"x\"}");
        else if (line == 2001)
            snprintf(row, sizeof row,
                     "{\"kind\":\"course\",\"key\":\"Org0001+C\",\"title\":\"T\","
                     "\"owners\":[\"Org0001\"],\"course_runs\":["
                     "{\"key\":\"course-v1:Org0001+C+r1\",\"start\":\"2026-01-01T00:00:00Z\"},"
                     "{\"key\":\"course-v1:Org0001+C+r2\",\"start\":\"2026-01-01T00:00:00Z\"},"
                     "{\"key\":\"course-v1:Org0001+C+r1\",\"start\":\"2026-01-01T00:00:00Z\"}]}");
        else if (line == 2999)
            snprintf(row, sizeof row, "{\"kind\":\"planet\",\"key\":\"Mars\"}");
        else
            snprintf(row, sizeof row,
                     "{\"kind\":\"organization\",\"key\":\"Org%04d\",\"name\":\"O\"}", line);
        size_t n = strlen(row);
        ck_assert_uint_lt(len + n + 2, cap);
        memcpy(text + len, row, n);
        text[len + n] = '\n';
        len += n + 1;
    }
    text[len] = '\0';
    return text;
}

START_TEST(many_lines_checked_in_file_order)
{
    char *text = many_lines_text();
    struct store *store = fresh_store();
    struct error err = {0};
    struct import_summary summary;
    /* All or nothing: the first bad line, though both threads parsed on. */
    ck_assert_int_eq(import_text(store, text, false, NULL, &summary, &err), -1);
    ck_assert_msg(strstr(err.message, "f.jsonl:100: not valid JSON") == err.message, "%s",
                  err.message);
    ck_assert_uint_eq(summary.lines, 100);
    ck_assert_uint_eq(count_of(store, ENTITY_ORGANIZATION), 0);

    char *report = NULL;
    ck_assert_int_eq(import_text(store, text, true, &report, &summary, &err), 0);
    const char *expected[] = {
        "f.jsonl:100: not valid JSON",
        "f.jsonl:900: name: ",
        "f.jsonl:1501: key: organization \"Org0003\" is defined twice: on line 3 and on line 1501",
        "f.jsonl:2001: course_runs[2].key: course run \"course-v1:Org0001+C+r1\" is nested twice "
        "in this course "
        "(course_runs[0])",
        "f.jsonl:2999: kind: unknown kind \"planet\"",
    };
    const char *at = report;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const char *found = strstr(at, expected[i]);
        ck_assert_msg(found != NULL, "'%s' not in order in:\n%s", expected[i], report);
        at = found + 1;
    }
    ck_assert_uint_eq(summary.invalid, 5);
    ck_assert_uint_eq(summary.lines, MANY_LINES);
    /* 3,000 lines less 6 comments, 4 bad organization lines and the course */
    ck_assert_uint_eq(count_of(store, ENTITY_ORGANIZATION), MANY_LINES - 6 - 4 - 1);
    ck_assert_uint_eq(count_of(store, ENTITY_COURSE), 0);
    ck_assert(exists(store, ENTITY_ORGANIZATION, "Org2998"));
    ck_assert(exists(store, ENTITY_ORGANIZATION, "Org3000") == false); /* line 3000: a comment */
    free(report);
    free(text);
    close_store(store);
}
END_TEST

START_TEST(same_key_twice_names_both_lines)
{
    struct store *store = fresh_store();
    char text[2048];
    snprintf(text, sizeof text,
             "%s\n%s\n{\"kind\":\"organization\",\"key\":\"TstX\",\"name\":\"Again\"}\n", org_line,
             subject_line);
    struct error err = {0};
    struct import_summary summary;
    ck_assert_int_eq(import_text(store, text, false, NULL, &summary, &err), -1);
    ck_assert_str_eq(err.field, "key");
    ck_assert_ptr_nonnull(strstr(err.message, "f.jsonl:3: key: "));
    ck_assert_ptr_nonnull(strstr(err.message, "line 1"));
    ck_assert_ptr_nonnull(strstr(err.message, "line 3"));
    ck_assert(!exists(store, ENTITY_ORGANIZATION, "TstX"));

    /* with skip_invalid the first one wins */
    char *report = NULL;
    ck_assert_int_eq(import_text(store, text, true, &report, &summary, &err), 0);
    ck_assert_uint_eq(summary.invalid, 1);
    json_t *org = NULL;
    ck_assert_int_eq(store_get(store, ENTITY_ORGANIZATION, "TstX", &org, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(org, "name")), "Test Institute");
    json_decref(org);
    free(report);

    /* two keys, one uuid */
    ck_assert_int_eq(import_text(store,
                                 "{\"kind\":\"subject\",\"slug\":\"one\",\"name\":\"One\","
                                 "\"uuid\":\"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\"}\n"
                                 "{\"kind\":\"subject\",\"slug\":\"two\",\"name\":\"Two\","
                                 "\"uuid\":\"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\"}\n",
                                 false, NULL, &summary, &err),
                     -1);
    ck_assert_str_eq(err.field, "uuid");
    ck_assert_msg(strstr(err.message, "f.jsonl:2: uuid: ") == err.message, "%s", err.message);
    ck_assert_ptr_nonnull(strstr(err.message, "line 1"));
    close_store(store);
}
END_TEST

START_TEST(nested_run_duplicating_a_run_line_is_an_error)
{
    struct store *store = fresh_store();
    char text[4096];
    snprintf(text, sizeof text,
             "%s\n{\"kind\":\"course\",\"key\":\"TstX+T3\",\"title\":\"Dup run\","
             "\"owners\":[\"TstX\"],\"course_runs\":[{\"key\":\"course-v1:TstX+T3+1T2026\","
             "\"start\":\"2026-01-10T00:00:00Z\"}]}\n"
             "{\"kind\":\"course_run\",\"key\":\"course-v1:TstX+T3+1T2026\","
             "\"course\":\"TstX+T3\",\"start\":\"2026-02-10T00:00:00Z\"}\n",
             org_line);
    struct error err = {0};
    struct import_summary summary;
    ck_assert_int_eq(import_text(store, text, false, NULL, &summary, &err), -1);
    ck_assert_msg(strstr(err.message, "f.jsonl:3: key: ") == err.message, "%s", err.message);
    ck_assert_msg(strstr(err.message, "line 2") != NULL, "%s", err.message);

    /* the same run twice inside one course */
    snprintf(text, sizeof text,
             "%s\n{\"kind\":\"course\",\"key\":\"TstX+T3\",\"title\":\"Dup run\","
             "\"owners\":[\"TstX\"],\"course_runs\":[{\"key\":\"course-v1:TstX+T3+1T2026\","
             "\"start\":\"2026-01-10T00:00:00Z\"},{\"key\":\"course-v1:TstX+T3+1T2026\","
             "\"start\":\"2026-01-10T00:00:00Z\"}]}\n",
             org_line);
    ck_assert_int_eq(import_text(store, text, false, NULL, &summary, &err), -1);
    ck_assert_msg(strstr(err.message, "f.jsonl:2: course_runs[1].key: ") == err.message, "%s",
                  err.message);
    ck_assert_str_eq(err.field, "course_runs[1].key");
    ck_assert_uint_eq(count_of(store, ENTITY_COURSE_RUN), 0);
    close_store(store);
}
END_TEST

/* A failure only the store can see (a uuid already used by another
 * record) still names the line and undoes the lines written before it. */
START_TEST(store_failure_mid_import_rolls_back)
{
    struct store *store = fresh_store();
    import_ok(store,
              "{\"kind\":\"organization\",\"key\":\"FirstX\",\"name\":\"First\","
              "\"uuid\":\"3f2d1c0b-5a49-4e8f-9b7a-6c5d4e3f2a10\"}\n",
              NULL);
    char *before = export_text(store);
    struct error err = {0};
    struct import_summary summary;
    int rc = import_text(store,
                         "{\"kind\":\"organization\",\"key\":\"NewX\",\"name\":\"New\"}\n"
                         "{\"kind\":\"organization\",\"key\":\"ThiefX\",\"name\":\"Thief\","
                         "\"uuid\":\"3f2d1c0b-5a49-4e8f-9b7a-6c5d4e3f2a10\"}\n",
                         false, NULL, &summary, &err);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strncmp(err.message, "f.jsonl:2: ", 11) == 0, "%s", err.message);
    ck_assert_uint_eq(summary.written, 0);
    char *after = export_text(store);
    ck_assert_str_eq(before, after);
    ck_assert(!exists(store, ENTITY_ORGANIZATION, "NewX"));
    free(before);
    free(after);
    close_store(store);
}
END_TEST

START_TEST(two_megabyte_line_imports)
{
    struct store *store = fresh_store();
    enum { RUNS = 1800 };
    char filler[1200];
    memset(filler, 'x', sizeof filler - 1);
    filler[sizeof filler - 1] = '\0';
    size_t size = 0;
    char *text = NULL;
    FILE *out = open_memstream(&text, &size);
    fprintf(out,
            "%s\n%s\n{\"kind\":\"course\",\"key\":\"TstX+BIG\",\"title\":\"Many runs\","
            "\"owners\":[\"TstX\"],\"course_runs\":[",
            org_line, subject_line);
    for (int i = 0; i < RUNS; i++)
        fprintf(out,
                "%s{\"key\":\"course-v1:TstX+BIG+R%d\",\"start\":\"2026-01-10T00:00:00Z\","
                "\"pacing_type\":\"self_paced\",\"status\":\"published\","
                "\"full_description\":\"%s\"}",
                i ? "," : "", i, filler);
    fprintf(out, "]}\n");
    fclose(out);
    ck_assert_uint_gt(size, 2 * 1024 * 1024 - 1);
    struct import_summary summary;
    import_ok(store, text, &summary);
    ck_assert_uint_eq(count_of(store, ENTITY_COURSE_RUN), RUNS);
    ck_assert(exists(store, ENTITY_COURSE_RUN, "course-v1:TstX+BIG+R1799"));
    free(text);
    close_store(store);
}
END_TEST

START_TEST(empty_and_comment_only_input)
{
    struct store *store = fresh_store();
    struct import_summary summary;
    import_ok(store, "", &summary);
    ck_assert_uint_eq(summary.lines, 0);
    ck_assert_uint_eq(summary.written, 0);
    import_ok(store, "\n   \n# a comment\r\n\t# indented comment\n\n", &summary);
    ck_assert_uint_eq(summary.lines, 5);
    ck_assert_uint_eq(summary.written, 0);
    char *text = export_text(store);
    ck_assert_str_eq(text, "");
    free(text);
    close_store(store);
}
END_TEST

START_TEST(bom_and_crlf_are_accepted)
{
    struct store *store = fresh_store();
    char text[1024];
    snprintf(text, sizeof text, "\xEF\xBB\xBF%s\r\n%s\r\n", org_line, subject_line);
    struct import_summary summary;
    import_ok(store, text, &summary);
    ck_assert_uint_eq(summary.written, 2);
    ck_assert(exists(store, ENTITY_SUBJECT, "tests"));
    close_store(store);
}
END_TEST

static Suite *catalog_io_suite(void)
{
    Suite *s = suite_create("catalog_io");
    TCase *tc = tcase_create("import_export");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sample_imports_with_expected_counts);
    tcase_add_test(tc, second_import_changes_nothing);
    tcase_add_test(tc, export_import_export_is_identical);
    tcase_add_test(tc, export_of_empty_store_is_empty);
    tcase_add_test(tc, lines_may_reference_later_lines);
    tcase_add_test(tc, nested_runs_are_written_and_exported_as_run_lines);
    tcase_add_test(tc, uuid_of_existing_record_is_kept_when_line_has_none);
    tcase_add_loop_test(tc, bad_line_names_file_line_field_and_writes_nothing, 0,
                        (int)(sizeof bad_lines / sizeof bad_lines[0]));
    tcase_add_test(tc, skip_invalid_writes_good_lines_and_reports_each_bad_one);
    tcase_add_test(tc, same_key_twice_names_both_lines);
    tcase_add_test(tc, many_lines_checked_in_file_order);
    tcase_add_test(tc, nested_run_duplicating_a_run_line_is_an_error);
    tcase_add_test(tc, store_failure_mid_import_rolls_back);
    tcase_add_test(tc, two_megabyte_line_imports);
    tcase_add_test(tc, empty_and_comment_only_input);
    tcase_add_test(tc, bom_and_crlf_are_accepted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(catalog_io_suite());
}
