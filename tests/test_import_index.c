/*
 * test_import_index - a first import indexed while it is written
 * (indexer.h, "a first import"; catalog_io's sink): against a real sqlite
 * store and fts5 index, the index it builds is exactly the one a reindex
 * of the store builds (runs on their own lines, before their course or
 * nested, a course without runs, hidden and unpublished runs, programs,
 * refresh times); it is not taken when the store holds records, nor by a
 * store without serialized writers; a failed index page or index commit
 * falls back to indexing after the commit, and a failed store write
 * leaves neither store nor index changed.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "after_commit.h"
#include "catalog_io.h"
#include "clock.h"
#include "indexer.h"
#include "testutil.h"

static struct store *st;
static struct search *idx;
static struct cache *cache;
static struct config *cfg;

/* Besides the bundled sample: a run on its own line before its course, a
 * course with nested runs (one unpublished, one hidden) whose pick changes
 * when the clock passes 2025-08-01, a course without runs, and a program
 * over both. */
static const char extra_lines[] =
    "{\"kind\":\"course_run\",\"key\":\"course-v1:AldenX+ZZ1+B\",\"course\":\"AldenX+ZZ1\","
    "\"status\":\"published\",\"start\":\"2026-01-01T00:00:00Z\",\"pacing_type\":\"self_paced\"}\n"
    "{\"kind\":\"course\",\"key\":\"AldenX+ZZ1\",\"title\":\"Zig zag\",\"owners\":[\"AldenX\"],"
    "\"subjects\":[\"computer-science\",\"data-science\"],\"course_runs\":["
    "{\"key\":\"course-v1:AldenX+ZZ1+A\",\"status\":\"published\","
    "\"start\":\"2025-07-01T00:00:00Z\",\"end\":\"2025-08-01T00:00:00Z\"},"
    "{\"key\":\"course-v1:AldenX+ZZ1+C\",\"status\":\"unpublished\","
    "\"start\":\"2024-01-01T00:00:00Z\"},"
    "{\"key\":\"course-v1:AldenX+ZZ1+D\",\"status\":\"published\",\"hidden\":true,"
    "\"start\":\"2024-02-01T00:00:00Z\"}]}\n"
    "{\"kind\":\"course\",\"key\":\"AldenX+ZZ2\",\"title\":\"No runs yet\",\"owners\":[\"AldenX\"],"
    "\"subjects\":[\"data-science\"]}\n"
    "{\"kind\":\"program\",\"uuid\":\"0b6c35a4-9c1e-4d55-8f59-2f5a9e1e0b11\",\"title\":\"Zed\","
    "\"type\":\"micromasters\",\"status\":\"active\",\"courses\":[\"AldenX+ZZ1\",\"AldenX+ZZ2\"],"
    "\"authoring_organizations\":[\"AldenX\"]}\n";

static void setup(void)
{
    char *dir = test_tmpdir();
    char path[600], spath[600];
    snprintf(path, sizeof path, "store.path=%s/c.db", dir);
    snprintf(spath, sizeof spath, "search.path=%s/c.db-search", dir);
    const char *sets[] = {
        path, spath, "search.driver=fts5", "cache.driver=memory", "store.driver=sqlite", NULL};
    free(dir);
    indexer_forget();
    cfg = test_config(sets);
    test_backends_open(cfg, "2025-06-01T00:00:00Z", &st, &idx, &cache);
    /* Pages of 20 documents: a dozen pages, so the writer thread queues. */
    indexer_set_batch_size(20);
    /* The sample is smaller than INDEXER_REBUILD_EMPTY_MIN records. */
    indexer_set_rebuild_threshold(100);
}

static void teardown(void)
{
    test_backends_close(cfg, st, idx, cache);
    indexer_set_batch_size(500);
    indexer_set_rebuild_threshold(INDEXER_REBUILD_THRESHOLD);
}

/* A sink wrapper that fails the import at the record fail_at (0: never),
 * as a store write failing there would. */
struct failing_sink {
    struct indexer_import *ii;
    size_t seen, fail_at;
};

static int failing_record(void *ctx, enum entity_kind kind, const json_t *stored, struct error *err)
{
    struct failing_sink *f = ctx;
    if (++f->seen == f->fail_at)
        return error_set(err, ERR_UNAVAILABLE, "injected: the store went away");
    return indexer_import_record(f->ii, kind, stored, err);
}

static int failing_begin(void *ctx, size_t total, struct error *err)
{
    return indexer_import_begin(((struct failing_sink *)ctx)->ii, total, err);
}

static int failing_finish(void *ctx, struct error *err)
{
    return indexer_import_finish(((struct failing_sink *)ctx)->ii, err);
}

/* Imports text as `catalogd import` does (the fast path wired when it may
 * apply, then after_commit) through search s; *stats receives the fast
 * path's stats; returns catalog_import's status.  fail_at: see
 * failing_sink. */
static int import_with(struct search *s, const char *text, size_t fail_at,
                       struct indexer_stats *stats, int *end_rc)
{
    struct error err = {0};
    struct indexer_import *ii = NULL;
    ck_assert_msg(indexer_import_open(st, s, cache, &ii, &err) == 0, "open: %s", err.message);
    struct failing_sink f = {.ii = ii, .fail_at = fail_at};
    struct import_sink sink = {
        .begin = failing_begin, .record = failing_record, .finish = failing_finish, .ctx = &f};
    struct import_options options = {.sink = ii != NULL ? &sink : NULL};
    struct import_summary summary = {0};
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    ck_assert_ptr_nonnull(in);
    int rc = catalog_import(st, in, "f.jsonl", &options, NULL, &summary, &err);
    fclose(in);
    memset(stats, 0, sizeof *stats);
    struct error end_err = {0};
    *end_rc = indexer_import_end(ii, rc == 0, stats, &end_err);
    ck_assert_msg(rc == 0 || fail_at > 0, "import: %s", err.message);
    if (rc == 0) {
        struct error aerr = {0};
        ck_assert_msg(after_commit(st, idx, cache, &aerr) == 0, "after_commit: %s", aerr.message);
    }
    return rc;
}

/* import_with of the bundled sample and extra_lines. */
static int import_sample(struct search *s, size_t fail_at, struct indexer_stats *stats, int *end_rc)
{
    char *text = test_sample_catalog_text(extra_lines);
    int rc = import_with(s, text, fail_at, stats, end_rc);
    free(text);
    return rc;
}

/* indexer_verify finds the index equal to the store. */
static void verify_clean(void)
{
    char report[8192] = "";
    ck_assert_msg(test_indexer_verify(st, idx, report, sizeof report) == 0, "verify: %s", report);
}

static json_t *digests(void)
{
    json_t *d = NULL;
    struct error err = {0};
    ck_assert_msg(idx->driver->digests(idx, &d, &err) == 0, "digests: %s", err.message);
    return d;
}

START_TEST(first_import_indexed_while_written_equals_reindex)
{
    struct indexer_stats stats;
    int end_rc;
    ck_assert_int_eq(import_sample(idx, 0, &stats, &end_rc), 0);
    ck_assert_int_eq(end_rc, 0);
    ck_assert_msg(stats.during_import, "the fast path was not taken");
    /* Every record's outbox change is behind the checkpoint: catch-up
     * (after_commit) found nothing to apply. */
    ck_assert_uint_eq(test_indexer_checkpoint(st), test_store_total(st));
    ck_assert_uint_eq(stats.checkpoint, test_store_total(st));
    uint64_t lag = 99;
    struct error err = {0};
    ck_assert(indexer_lag(st, &lag, &err) == 0);
    ck_assert_uint_eq(lag, 0);
    ck_assert_uint_eq(stats.indexed, test_search_count(idx));
    verify_clean();

    /* The nested runs, the run given before its course, the hidden and the
     * unpublished one, the course without runs and the program. */
    json_t *course = test_search_hit(idx, SEARCH_COURSE, "AldenX+ZZ1");
    ck_assert_ptr_nonnull(course);
    ck_assert_uint_eq(json_array_size(json_object_get(course, "course_runs")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(course, "start")), "2025-07-01T00:00:00Z");
    json_decref(course);
    json_t *norun = test_search_hit(idx, SEARCH_COURSE, "AldenX+ZZ2");
    ck_assert_ptr_nonnull(norun);
    ck_assert_uint_eq(json_array_size(json_object_get(norun, "course_runs")), 0);
    json_decref(norun);
    json_t *program = test_search_hit(idx, SEARCH_PROGRAM, "0b6c35a4-9c1e-4d55-8f59-2f5a9e1e0b11");
    ck_assert_ptr_nonnull(program);
    ck_assert_uint_eq(json_array_size(json_object_get(program, "subjects")), 2);
    json_decref(program);
    const char *runs[] = {"course-v1:AldenX+ZZ1+A", "course-v1:AldenX+ZZ1+B",
                          "course-v1:AldenX+ZZ1+C", "course-v1:AldenX+ZZ1+D"};
    for (size_t i = 0; i < 4; i++) {
        json_t *run = test_search_hit(idx, SEARCH_COURSE_RUN, runs[i]);
        ck_assert_msg(run != NULL, "run %s not indexed", runs[i]);
        json_decref(run);
    }

    /* Refresh times were written (checked before the reindex below, which
     * writes them too): once the clock passes the first run's end the pick
     * moves to the next run, and a catch-up re-indexes it. */
    ck_assert(clock_set_fixed("2025-09-01T00:00:00Z", &err) == 0);
    struct indexer_stats cstats = {0};
    ck_assert_msg(indexer_catch_up(st, idx, cache, &cstats, &err) == 0, "%s", err.message);
    ck_assert_uint_ge(cstats.refreshed, 1);
    course = test_search_hit(idx, SEARCH_COURSE, "AldenX+ZZ1");
    ck_assert_str_eq(json_string_value(json_object_get(course, "start")), "2026-01-01T00:00:00Z");
    json_decref(course);
    verify_clean();

    /* The same documents, digest for digest, as a rebuild from the store. */
    json_t *before = digests();
    struct indexer_stats rstats = {0};
    ck_assert_msg(indexer_reindex(st, idx, cache, &rstats, &err) == 0, "reindex: %s", err.message);
    json_t *after = digests();
    ck_assert_msg(json_equal(before, after), "the fast path's index differs from a reindex");
    json_decref(before);
    json_decref(after);
}
END_TEST

/* The store holds records: a second import goes today's way (catch-up
 * after the commit), and the index is still right. */
START_TEST(second_import_is_indexed_after_the_commit)
{
    char *text = test_sample_catalog_text(extra_lines);
    struct indexer_stats stats;
    int end_rc;
    ck_assert_int_eq(import_with(idx, text, 0, &stats, &end_rc), 0);
    ck_assert(stats.during_import);
    const char *changed = "{\"kind\":\"course\",\"key\":\"AldenX+ZZ2\",\"title\":\"Renamed\","
                          "\"owners\":[\"AldenX\"],\"subjects\":[\"data-science\"]}\n";
    size_t len = strlen(text) + strlen(changed) + 1;
    char *second = malloc(len);
    /* the old line of AldenX+ZZ2 is replaced: the file names it once */
    char *old = strstr(text, "{\"kind\":\"course\",\"key\":\"AldenX+ZZ2\"");
    ck_assert_ptr_nonnull(old);
    char *eol = strchr(old, '\n');
    snprintf(second, len, "%.*s%s%s", (int)(old - text), text, changed, eol + 1);
    ck_assert_int_eq(import_with(idx, second, 0, &stats, &end_rc), 0);
    ck_assert_msg(!stats.during_import, "the fast path was taken over a store with records");
    json_t *hit = test_search_hit(idx, SEARCH_COURSE, "AldenX+ZZ2");
    ck_assert_str_eq(json_string_value(json_object_get(hit, "title")), "Renamed");
    json_decref(hit);
    verify_clean();
    free(second);
    free(text);
}
END_TEST

/* Only a store whose writers are serialized may be indexed during the
 * import (PostgreSQL's transactions interleave). */
START_TEST(not_taken_without_serialized_writes)
{
    struct store_driver copy = *st->driver;
    copy.serialized_writes = false;
    struct store fake = {.driver = &copy};
    struct indexer_import *ii = (struct indexer_import *)1;
    struct error err = {0};
    ck_assert(indexer_import_open(&fake, idx, cache, &ii, &err) == 0);
    ck_assert_ptr_null(ii);
    ck_assert(indexer_import_open(st, NULL, cache, &ii, &err) == 0);
    ck_assert_ptr_null(ii);
}
END_TEST

/* testutil's flaky handle over idx, with the hooks the first import uses. */
static const struct search_driver flaky_driver = {
    .name = "flaky",
    .index = test_flaky_index,
    .count = test_flaky_count,
    .rebuild_begin = test_flaky_rebuild_begin,
    .rebuild_end = test_flaky_rebuild_end,
};

/* Imports the sample through f: the store import commits, the index build
 * is dropped (indexer_import_end returns want_end_rc), and the catch-up
 * after the commit indexes it all. */
static void import_falls_back_to_catch_up(struct test_flaky *f, int want_end_rc)
{
    struct indexer_stats stats;
    int end_rc;
    ck_assert_int_eq(import_sample(&f->base, 0, &stats, &end_rc), 0);
    ck_assert_int_eq(end_rc, want_end_rc);
    ck_assert(!stats.during_import);
    ck_assert_uint_eq(test_indexer_checkpoint(st), test_store_total(st));
    verify_clean();
}

/* A page the index refuses: the build is given up quietly. */
START_TEST(failed_index_page_falls_back_to_catch_up)
{
    struct test_flaky f = {.base = {.driver = &flaky_driver}, .inner = idx, .fail_in = 3};
    import_falls_back_to_catch_up(&f, 0);
}
END_TEST

/* The index commit fails after the store committed: the import stands,
 * the checkpoint has not moved, the catch-up indexes it. */
START_TEST(failed_index_commit_falls_back_to_catch_up)
{
    struct test_flaky f = {
        .base = {.driver = &flaky_driver}, .inner = idx, .fail_in = -1, .fail_commit = true};
    import_falls_back_to_catch_up(&f, -1);
    ck_assert_uint_gt(test_store_total(st), 0);
}
END_TEST

/* A write failing part-way: nothing in the store, nothing in the index,
 * the checkpoint where it was; the next import takes the fast path. */
START_TEST(failed_store_write_changes_nothing)
{
    struct indexer_stats stats;
    int end_rc;
    ck_assert_int_ne(import_sample(idx, 150, &stats, &end_rc), 0);
    ck_assert(!stats.during_import);
    ck_assert_uint_eq(test_store_total(st), 0);
    ck_assert_uint_eq(test_search_count(idx), 0);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 0);
    /* The applier lock was given back: this would hang otherwise. */
    ck_assert_int_eq(import_sample(idx, 0, &stats, &end_rc), 0);
    ck_assert(stats.during_import);
    verify_clean();
}
END_TEST

/* Handed a run whose course did not just precede it, the sink gives the
 * index build up; nothing is indexed and the checkpoint stays. */
START_TEST(run_without_its_course_abandons_the_build)
{
    struct error err = {0};
    struct indexer_import *ii = NULL;
    ck_assert(indexer_import_open(st, idx, cache, &ii, &err) == 0 && ii != NULL);
    ck_assert(store_begin(st, &err) == 0);
    ck_assert(indexer_import_begin(ii, 1000, &err) == 0);
    json_t *org = json_pack("{s:s,s:s}", "key", "AldenX", "name", "Alden");
    json_t *run = json_pack("{s:s,s:s}", "key", "course-v1:AldenX+Q+1", "course", "AldenX+Q");
    ck_assert(indexer_import_record(ii, ENTITY_ORGANIZATION, org, &err) == 0);
    ck_assert(indexer_import_record(ii, ENTITY_COURSE_RUN, run, &err) == 0);
    ck_assert(indexer_import_finish(ii, &err) == 0);
    ck_assert(store_commit(st, &err) == 0);
    struct indexer_stats stats = {0};
    ck_assert(indexer_import_end(ii, true, &stats, &err) == 0);
    ck_assert(!stats.during_import);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 0);
    ck_assert_uint_eq(test_search_count(idx), 0);
    json_decref(org);
    json_decref(run);
}
END_TEST

/* A sink that writes "kind key" of each record it is handed, a line each. */
static int order_record(void *ctx, enum entity_kind kind, const json_t *stored, struct error *err)
{
    (void)err;
    fprintf((FILE *)ctx, "%s %s\n", entity_kind_name(kind),
            json_string_value(json_object_get(stored, entity_key_field(kind))));
    return 0;
}

static char *import_order(const char *text)
{
    char *order = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&order, &size);
    struct import_sink sink = {.record = order_record, .ctx = out};
    struct import_options options = {.sink = &sink};
    struct import_summary summary = {0};
    struct error err = {0};
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    int rc = catalog_import(st, in, "f.jsonl", &options, NULL, &summary, &err);
    fclose(in);
    fclose(out);
    ck_assert_msg(rc == 0, "import: %s", err.message);
    return order;
}

/* Each course is written directly before the runs of it the file carries
 * (on their own lines, even before it, or nested), the runs of courses
 * not in the file after the last course. */
START_TEST(write_order_groups_runs_after_their_course)
{
    const char *first =
        "{\"kind\":\"course_run\",\"key\":\"course-v1:O+A+2\",\"course\":\"O+A\",\"start\":\"2026-"
        "01-01T00:00:00Z\"}\n"
        "{\"kind\":\"course\",\"key\":\"O+B\",\"title\":\"B\",\"owners\":[\"O\"]}\n"
        "{\"kind\":\"course\",\"key\":\"O+A\",\"title\":\"A\",\"owners\":[\"O\"],\"course_runs\":"
        "[{\"key\":\"course-v1:O+A+1\",\"start\":\"2026-01-01T00:00:00Z\"}]}\n"
        "{\"kind\":\"organization\",\"key\":\"O\",\"name\":\"O\"}\n";
    char *order = import_order(first);
    ck_assert_str_eq(order, "organization O\n"
                            "course O+B\n"
                            "course O+A\n"
                            "course_run course-v1:O+A+2\n"
                            "course_run course-v1:O+A+1\n");
    free(order);
    const char *second =
        "{\"kind\":\"course_run\",\"key\":\"course-v1:O+A+3\",\"course\":\"O+A\",\"start\":\"2026-"
        "01-01T00:00:00Z\"}\n"
        "{\"kind\":\"course_run\",\"key\":\"course-v1:O+C+1\",\"course\":\"O+C\",\"start\":\"2026-"
        "01-01T00:00:00Z\"}\n"
        "{\"kind\":\"course\",\"key\":\"O+C\",\"title\":\"C\",\"owners\":[\"O\"]}\n";
    order = import_order(second);
    ck_assert_str_eq(order, "course O+C\n"
                            "course_run course-v1:O+C+1\n"
                            "course_run course-v1:O+A+3\n");
    free(order);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {first_import_indexed_while_written_equals_reindex,
                                  second_import_is_indexed_after_the_commit,
                                  not_taken_without_serialized_writes,
                                  failed_index_page_falls_back_to_catch_up,
                                  failed_index_commit_falls_back_to_catch_up,
                                  failed_store_write_changes_nothing,
                                  run_without_its_course_abandons_the_build,
                                  write_order_groups_runs_after_their_course,
                                  NULL};
    return test_run_tests("import_index", setup, teardown, 60, tests);
}
