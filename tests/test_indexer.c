/*
 * test_indexer - the outbox indexer against a real sqlite store and fts5
 * index: apply, checkpoint, batches, resume after a failure part-way,
 * idempotence, deletions, reindex and verify, generation bumps; gaps in
 * the outbox; the background thread (signal, stop, backoff).  Suite
 * "indexer:postgres" (run under tests/pg_fixture.sh) commits two
 * PostgreSQL transactions in the opposite order of their outbox ids, and
 * checks the lease.
 */
#include <check.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "after_commit.h"
#include "clock.h"
#include "indexer.h"
#include "registry.h"
#include "search_docs.h"
#include "testutil.h"

static struct store *st;
static struct search *idx;
static struct cache *cache;
static struct config *cfg;

/* testutil's flaky handle without the rebuild hooks (a reindex then goes
 * the way of a driver without them)... */
static const struct search_driver flaky_driver = {
    .name = "flaky",
    .index = test_flaky_index,
    .remove = test_flaky_remove,
    .lookup = test_flaky_lookup,
};

/* ...and with them (reindex through the writer thread). */
static const struct search_driver flaky_rebuild_driver = {
    .name = "flaky",
    .index = test_flaky_index,
    .remove = test_flaky_remove,
    .lookup = test_flaky_lookup,
    .rebuild_begin = test_flaky_rebuild_begin,
    .rebuild_end = test_flaky_rebuild_end,
};

static void put(enum entity_kind kind, const char *text)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    ck_assert_msg(in != NULL, "bad fixture: %s", jerr.text);
    json_t *doc = NULL;
    struct error err = {0};
    ck_assert_msg(entity_normalize(kind, in, ENTITY_CREATE, &doc, &err) == 0, "normalize: %s",
                  err.message);
    ck_assert_msg(store_put(st, kind, doc, STORE_UPSERT, NULL, &err) == 0, "put: %s", err.message);
    json_decref(in);
    json_decref(doc);
}

static void put_course(int i)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"key\":\"MITx+C%d\",\"title\":\"Course number %d\",\"owners\":[\"MITx\"]}", i, i);
    put(ENTITY_COURSE, text);
    snprintf(text, sizeof text,
             "{\"key\":\"course-v1:MITx+C%d+1T2025\",\"course\":\"MITx+C%d\","
             "\"status\":\"published\",\"start\":\"2025-03-01T00:00:00Z\"}",
             i, i);
    put(ENTITY_COURSE_RUN, text);
}

static char dbpath[512];
static bool on_postgres;

static void setup(void)
{
    char *dir = test_tmpdir();
    char path[600], spath[600], url[4200] = "";
    snprintf(dbpath, sizeof dbpath, "%s/c.db", dir);
    snprintf(path, sizeof path, "store.path=%s", dbpath);
    snprintf(spath, sizeof spath, "search.path=%s/c.db-search", dir);
    const char *server = getenv("CATALOGD_TEST_STORE_URL");
    if (on_postgres && server != NULL)
        snprintf(url, sizeof url, "store.url=%s", server);
    const char *sets[] = {path,
                          spath,
                          "search.driver=fts5",
                          "cache.driver=memory",
                          on_postgres ? "store.driver=postgres" : "store.driver=sqlite",
                          url[0] ? url : NULL,
                          NULL};
    free(dir);
    indexer_forget();
    indexer_set_gap_timeout_ms(INDEXER_GAP_TIMEOUT_MS);
    cfg = test_config(sets);
    test_backends_open(cfg, "2025-06-01T00:00:00Z", &st, &idx, &cache);
    indexer_set_batch_size(500);
    indexer_set_rebuild_threshold(INDEXER_REBUILD_THRESHOLD);
    put(ENTITY_ORGANIZATION, "{\"key\":\"MITx\",\"name\":\"Massachusetts Institute\"}");
}

static void teardown(void)
{
    test_backends_close(cfg, st, idx, cache);
}

static uint64_t outbox_head(void)
{
    struct store_change ch[64];
    size_t n;
    uint64_t last = 0;
    struct error err = {0};
    do {
        ck_assert(st->driver->changes_since(st, last, ch, 64, &n, &err) == 0);
        if (n)
            last = ch[n - 1].id;
    } while (n == 64);
    return last;
}

START_TEST(applies_and_checkpoints)
{
    put_course(1);
    put_course(2);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 0);
    struct indexer_stats stats = {0};
    struct error err = {0};
    uint64_t gen0 = 0, gen1 = 0;
    cache->driver->generation(cache, "index", &gen0, &err);
    ck_assert_msg(indexer_catch_up(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(test_indexer_checkpoint(st), outbox_head());
    ck_assert_uint_eq(stats.changes, 5);
    ck_assert_uint_eq(test_search_count(idx), 4);
    cache->driver->generation(cache, "index", &gen1, &err);
    ck_assert_uint_gt(gen1, gen0);
    char report[4096];
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);

    /* Nothing pending: nothing applied, no bump. */
    memset(&stats, 0, sizeof stats);
    ck_assert(indexer_catch_up(st, idx, cache, &stats, &err) == 0);
    ck_assert_uint_eq(stats.changes, 0);
    uint64_t gen2 = 0;
    cache->driver->generation(cache, "index", &gen2, &err);
    ck_assert_uint_eq(gen2, gen1);
    uint64_t lag = 9;
    ck_assert(indexer_lag(st, &lag, &err) == 0);
    ck_assert_uint_eq(lag, 0);
    put_course(3);
    ck_assert(indexer_lag(st, &lag, &err) == 0);
    ck_assert_uint_eq(lag, 2);
}
END_TEST

START_TEST(batches)
{
    for (int i = 0; i < 7; i++)
        put_course(i);
    indexer_set_batch_size(4);
    struct indexer_stats stats = {0};
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, &stats, &err) == 0);
    ck_assert_uint_eq(stats.changes, 15);
    ck_assert_uint_eq(stats.batches, 4); /* 4 + 4 + 4 + 3 */
    ck_assert_uint_eq(test_search_count(idx), 14);
}
END_TEST

START_TEST(resumes_after_failure)
{
    struct error err = {0};
    struct indexer_stats stats = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0); /* the organization */
    for (int i = 0; i < 5; i++)
        put_course(i);
    indexer_set_batch_size(3);
    /* Each batch of three changes touches four documents (a course, its
     * run, the next course and its run): two index calls of three and
     * one.  The fifth call, the first of the third batch, fails. */
    struct test_flaky f = {.base.driver = &flaky_driver, .inner = idx, .fail_in = 4};
    ck_assert_int_eq(indexer_catch_up(st, &f.base, NULL, &stats, &err), -1);
    ck_assert_int_eq(err.code, ERR_UNAVAILABLE);
    /* Two batches went in and the checkpoint says exactly that. */
    ck_assert_uint_eq(stats.batches, 2);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 7); /* the organization and two batches */
    uint64_t lag = 0;
    ck_assert(indexer_lag(st, &lag, &err) == 0);
    ck_assert_uint_eq(lag, outbox_head() - 7);
    char report[4096];
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report),
                      4); /* C3, C4 and their runs */
    f.fail_in = -1;
    ck_assert(indexer_catch_up(st, &f.base, NULL, &stats, &err) == 0);
    ck_assert_uint_eq(test_indexer_checkpoint(st), outbox_head());
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
}
END_TEST

START_TEST(idempotent)
{
    put_course(1);
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    json_t *before = NULL, *after = NULL;
    ck_assert(idx->driver->digests(idx, &before, &err) == 0);
    /* Apply everything again from the start. */
    ck_assert(st->driver->checkpoint_set(st, INDEXER_CHECKPOINT, 0, &err) == 0);
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert(idx->driver->digests(idx, &after, &err) == 0);
    ck_assert(json_equal(before, after));
    ck_assert_uint_eq(test_search_count(idx), 2);
    json_decref(before);
    json_decref(after);
}
END_TEST

START_TEST(deletions_and_updates)
{
    put_course(1);
    put(ENTITY_COURSE_RUN, "{\"key\":\"course-v1:MITx+C1+2T2025\",\"course\":\"MITx+C1\","
                           "\"status\":\"published\",\"start\":\"2025-04-01T00:00:00Z\","
                           "\"seats\":[{\"type\":\"verified\",\"price\":\"10\"}]}");
    struct error err = {0};
    ck_assert(after_commit(st, idx, cache, &err) == 0);
    json_t *course = test_search_hit(idx, SEARCH_COURSE, "MITx+C1");
    ck_assert_int_eq(json_array_size(json_object_get(course, "course_runs")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(course, "seat_types"), 0)),
                     "verified");
    json_decref(course);

    /* Deleting the run removes its document and rebuilds the course. */
    ck_assert(store_remove(st, ENTITY_COURSE_RUN, "course-v1:MITx+C1+2T2025", &err) == 0);
    ck_assert(after_commit(st, idx, cache, &err) == 0);
    ck_assert(test_search_hit(idx, SEARCH_COURSE_RUN, "course-v1:MITx+C1+2T2025") == NULL);
    course = test_search_hit(idx, SEARCH_COURSE, "MITx+C1");
    ck_assert_int_eq(json_array_size(json_object_get(course, "course_runs")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(course, "seat_types")), 0);
    json_decref(course);

    /* Renaming the organization reaches the run's facet values. */
    put(ENTITY_ORGANIZATION, "{\"key\":\"MITx\",\"name\":\"MIT\"}");
    ck_assert(after_commit(st, idx, cache, &err) == 0);
    json_t *run = test_search_hit(idx, SEARCH_COURSE_RUN, "course-v1:MITx+C1+1T2025");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(run, "organizations"), 0)),
                     "MITx: MIT");
    json_decref(run);

    /* Deleting the course takes every document with it. */
    ck_assert(store_remove(st, ENTITY_COURSE, "MITx+C1", &err) == 0);
    ck_assert(after_commit(st, idx, cache, &err) == 0);
    ck_assert_uint_eq(test_search_count(idx), 0);
    char report[4096];
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
}
END_TEST

START_TEST(verify_reports_and_reindex_repairs)
{
    for (int i = 0; i < 3; i++)
        put_course(i);
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    /* Drift of every sort: missing, extra, different. */
    ck_assert(idx->driver->remove(idx, SEARCH_COURSE, "MITx+C0", &err) == 0);
    json_t *docs =
        json_pack("[{s:s,s:s,s:s}]", "content_type", "program", "key", "ghost", "title", "Ghost");
    ck_assert(idx->driver->index(idx, docs, &err) == 0);
    json_decref(docs);
    docs = json_pack("[{s:s,s:s,s:s}]", "content_type", "courserun", "key",
                     "course-v1:MITx+C1+1T2025", "title", "Stale title");
    ck_assert(idx->driver->index(idx, docs, &err) == 0);
    json_decref(docs);

    char report[4096] = "";
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 3);
    ck_assert_msg(strstr(report, "missing in index: course MITx+C0\n") != NULL, "%s", report);
    ck_assert_msg(strstr(report, "extra in index: program ghost\n") != NULL, "%s", report);
    ck_assert_msg(strstr(report, "different: courserun course-v1:MITx+C1+1T2025") != NULL, "%s",
                  report);
    ck_assert_msg(strstr(report, "course: store 3, index 2 (counts differ)") != NULL, "%s", report);

    struct indexer_stats stats = {0};
    indexer_set_batch_size(2);
    ck_assert_msg(indexer_reindex(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(stats.indexed, 6);
    ck_assert_uint_eq(stats.checkpoint, outbox_head());
    ck_assert_uint_eq(test_indexer_checkpoint(st), outbox_head());
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
}
END_TEST

static void set_clock(const char *at)
{
    struct error err = {0};
    ck_assert_msg(clock_set_fixed(at, &err) == 0, "%s", err.message);
}

static uint64_t index_generation(void)
{
    uint64_t g = 0;
    struct error err = {0};
    ck_assert(cache->driver->generation(cache, "index", &g, &err) == 0);
    return g;
}

/* Documents the clock makes stale are re-indexed by the next catch-up,
 * exactly those due, and verify then finds nothing. */
START_TEST(clock_refresh_reindexes_due_courses)
{
    put(ENTITY_COURSE, "{\"key\":\"MITx+R0\",\"title\":\"R0\",\"owners\":[\"MITx\"]}");
    put(ENTITY_COURSE_RUN, "{\"key\":\"course-v1:MITx+R0+a\",\"course\":\"MITx+R0\","
                           "\"status\":\"published\",\"start\":\"2025-05-01T00:00:00Z\","
                           "\"end\":\"2025-06-10T00:00:00Z\"}");
    put(ENTITY_COURSE_RUN, "{\"key\":\"course-v1:MITx+R0+b\",\"course\":\"MITx+R0\","
                           "\"status\":\"published\",\"start\":\"2025-07-01T00:00:00Z\"}");
    put(ENTITY_COURSE, "{\"key\":\"MITx+R1\",\"title\":\"R1\",\"owners\":[\"MITx\"]}");
    put(ENTITY_COURSE_RUN, "{\"key\":\"course-v1:MITx+R1+a\",\"course\":\"MITx+R1\","
                           "\"status\":\"published\",\"start\":\"2025-06-20T00:00:00Z\"}");
    put_course(2); /* started, no end: never due */
    struct error err = {0};
    struct indexer_stats stats = {0};
    char report[4096] = "";
    ck_assert_msg(indexer_catch_up(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(stats.refreshed, 0);
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
    time_t next, want;
    ck_assert(store_refresh_next(st, &next, &err) == 0);
    clock_parse_iso8601("2025-06-10T00:00:01Z", &want);
    ck_assert_int_eq(next, want);
    /* Not due now (one atomic load says so), due at the time. */
    ck_assert(!indexer_refresh_due(clock_now()));
    ck_assert(indexer_refresh_due(want));

    /* R0's current run ended: its document is stale until refreshed. */
    set_clock("2025-06-12T00:00:00Z");
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 1);
    ck_assert_msg(strstr(report, "different: course MITx+R0 ") != NULL, "%s", report);
    uint64_t gen = index_generation();
    memset(&stats, 0, sizeof stats);
    ck_assert_msg(indexer_catch_up(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(stats.changes, 0);
    ck_assert_uint_eq(stats.refreshed, 1);
    ck_assert_uint_eq(stats.indexed, 1);
    ck_assert_uint_gt(index_generation(), gen);
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
    json_t *hit = test_search_hit(idx, SEARCH_COURSE, "MITx+R0");
    ck_assert_str_eq(json_string_value(json_object_get(hit, "start")), "2025-07-01T00:00:00Z");
    json_decref(hit);
    clock_parse_iso8601("2025-06-20T00:00:00Z", &want);
    ck_assert(!indexer_refresh_due(clock_now()));

    /* Nothing due: a catch-up refreshes nothing and bumps nothing. */
    gen = index_generation();
    memset(&stats, 0, sizeof stats);
    ck_assert(indexer_catch_up(st, idx, cache, &stats, &err) == 0);
    ck_assert_uint_eq(stats.refreshed, 0);
    ck_assert_uint_eq(index_generation(), gen);

    /* Exactly at R1's start, through indexer_refresh (the search path). */
    set_clock("2025-06-20T00:00:00Z");
    ck_assert(indexer_refresh_due(want));
    memset(&stats, 0, sizeof stats);
    ck_assert_msg(indexer_refresh(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(stats.refreshed, 1);
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
    ck_assert(store_refresh_next(st, &next, &err) == 0);
    clock_parse_iso8601("2025-07-01T00:00:00Z", &want);
    ck_assert_int_eq(next, want);

    /* A deleted course leaves no row behind once refreshed; and reindex
     * writes the times too. */
    ck_assert(store_remove(st, ENTITY_COURSE, "MITx+R0", &err) == 0);
    ck_assert(indexer_catch_up(st, idx, cache, NULL, &err) == 0);
    ck_assert(store_refresh_next(st, &next, &err) == 0);
    ck_assert_int_eq(next, 0);
    ck_assert(st->driver->refresh_set(st, ENTITY_COURSE, "MITx+R1", 0, &err) == 0);
    ck_assert(indexer_reindex(st, idx, cache, NULL, &err) == 0);
    ck_assert(store_refresh_next(st, &next, &err) == 0);
    ck_assert_int_eq(next, 0); /* R1 is current and has no end */
    put(ENTITY_COURSE_RUN, "{\"key\":\"course-v1:MITx+R1+b\",\"course\":\"MITx+R1\","
                           "\"status\":\"published\",\"start\":\"2026-01-01T00:00:00Z\"}");
    ck_assert(st->driver->refresh_set(st, ENTITY_COURSE, "MITx+R1", 0, &err) == 0);
    ck_assert(indexer_reindex(st, idx, cache, NULL, &err) == 0);
    ck_assert(store_refresh_next(st, &next, &err) == 0);
    clock_parse_iso8601("2026-01-01T00:00:00Z", &want);
    ck_assert_int_eq(next, want);
}
END_TEST

START_TEST(reindex_keeps_old_index_for_other_readers)
{
    put_course(1);
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    /* A second handle on the same index file: a reader elsewhere. */
    struct search *reader = NULL;
    ck_assert(search_open(cfg, &reader, &err) == 0);
    ck_assert(idx->driver->rebuild_begin(idx, &err) == 0);
    size_t n = 0;
    ck_assert(reader->driver->count(reader, &n, &err) == 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(idx->driver->count(idx, &n, &err) == 0);
    ck_assert_uint_eq(n, 0);
    /* Abandoned: the old index stays. */
    ck_assert(idx->driver->rebuild_end(idx, false, &err) == 0);
    ck_assert(idx->driver->count(idx, &n, &err) == 0);
    ck_assert_uint_eq(n, 2);
    search_close(reader);
}
END_TEST

/* Batches inside a rebuild share its transaction (no savepoint each, so
 * FTS5 does not flush a segment per batch): a failed batch abandons the
 * whole rebuild, which then refuses to commit, and the old index stays. */
START_TEST(rebuild_with_a_failed_batch_keeps_old_index)
{
    put_course(1);
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert(idx->driver->rebuild_begin(idx, &err) == 0);
    json_error_t jerr;
    json_t *good =
        json_loads("[{\"content_type\":\"course\",\"key\":\"X+1\",\"title\":\"X\"}]", 0, &jerr);
    json_t *bad = json_loads("[{\"content_type\":\"course\",\"key\":\"X+2\",\"title\":\"Y\"},"
                             "{\"content_type\":\"nonsense\"}]",
                             0, &jerr);
    ck_assert(good != NULL && bad != NULL);
    ck_assert_msg(idx->driver->index(idx, good, &err) == 0, "%s", err.message);
    ck_assert(idx->driver->index(idx, bad, &err) != 0);
    /* Abandoned: later batches and the commit fail, nothing was switched. */
    ck_assert(idx->driver->index(idx, good, &err) != 0);
    ck_assert(idx->driver->rebuild_end(idx, true, &err) != 0);
    size_t n = 0;
    ck_assert(idx->driver->count(idx, &n, &err) == 0);
    ck_assert_uint_eq(n, 2);
    json_t *kept = test_search_hit(idx, SEARCH_COURSE, "MITx+C1"),
           *gone = test_search_hit(idx, SEARCH_COURSE, "X+1");
    ck_assert(kept != NULL && gone == NULL);
    json_decref(kept);
    /* And the next rebuild works. */
    ck_assert(indexer_reindex(st, idx, NULL, NULL, &err) == 0);
    char report[4096];
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
    json_decref(good);
    json_decref(bad);
}
END_TEST

/* The rebuild writes pages on a writer thread: one failing on a later
 * page (the reader blocked on a full queue meanwhile) ends the rebuild
 * with the writer's error, no page after it is written, and the old
 * index and checkpoint stay. */
START_TEST(rebuild_writer_failure_keeps_old_index)
{
    for (int i = 0; i < 12; i++)
        put_course(i);
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    size_t before = test_search_count(idx);
    uint64_t mark = test_indexer_checkpoint(st);
    indexer_set_batch_size(1);
    struct test_flaky f = {.base.driver = &flaky_rebuild_driver, .inner = idx, .fail_in = 5};
    ck_assert(indexer_reindex(st, &f.base, NULL, NULL, &err) != 0);
    ck_assert_msg(strstr(err.message, "flaky") != NULL, "%s", err.message);
    ck_assert_int_eq(atomic_load(&f.index_calls), 6);
    ck_assert_uint_eq(test_search_count(idx), before);
    ck_assert_uint_eq(test_indexer_checkpoint(st), mark);
    indexer_set_batch_size(500);
    ck_assert(indexer_reindex(st, idx, NULL, NULL, &err) == 0);
    char report[4096];
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
}
END_TEST

/* fts5 writes digests with its own JSON writer: verify recomputes them
 * with search_doc_digest (jansson), so escapes must come out the same. */
START_TEST(digests_of_escaped_text_verify_clean)
{
    put(ENTITY_COURSE, "{\"key\":\"MITx+ESC\",\"title\":\"Q \\\"x\\\" \\\\ \\n\\t\\r\\b\\f"
                       "\\u0001\\u001f / \\u00e9 \\u20ac \\ud83d\\ude00\",\"owners\":[\"MITx\"]}");
    struct error err = {0};
    ck_assert_msg(indexer_catch_up(st, idx, NULL, NULL, &err) == 0, "%s", err.message);
    char report[4096];
    ck_assert_msg(test_indexer_verify(st, idx, report, sizeof report) == 0, "%s", report);
    ck_assert(indexer_reindex(st, idx, NULL, NULL, &err) == 0);
    ck_assert_msg(test_indexer_verify(st, idx, report, sizeof report) == 0, "%s", report);
}
END_TEST

START_TEST(bulk_into_empty_index_is_rebuilt)
{
    /* 140 courses with a run each: 280 changes, under the general
     * threshold but over the empty index's. */
    for (int i = 0; i < 140; i++)
        put_course(i);
    struct indexer_stats stats = {0};
    struct error err = {0};
    ck_assert_msg(indexer_catch_up(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert(stats.rebuilt);
    ck_assert_uint_eq(stats.indexed, 280);
    ck_assert_uint_eq(test_indexer_checkpoint(st), outbox_head());
    char report[4096];
    ck_assert_msg(test_indexer_verify(st, idx, report, sizeof report) == 0, "%s", report);
}
END_TEST

START_TEST(small_backlog_into_empty_index_is_replayed)
{
    for (int i = 0; i < 50; i++)
        put_course(i);
    struct indexer_stats stats = {0};
    struct error err = {0};
    ck_assert_msg(indexer_catch_up(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert(!stats.rebuilt);
    ck_assert_uint_eq(stats.changes, 101); /* and the organization setup wrote */
    char report[4096];
    ck_assert_msg(test_indexer_verify(st, idx, report, sizeof report) == 0, "%s", report);
}
END_TEST

START_TEST(large_backlog_is_rebuilt)
{
    indexer_set_rebuild_threshold(10);
    for (int i = 0; i < 6; i++)
        put_course(i);
    struct indexer_stats stats = {0};
    struct error err = {0};
    ck_assert_msg(indexer_catch_up(st, idx, cache, &stats, &err) == 0, "%s", err.message);
    ck_assert(stats.rebuilt);
    ck_assert_uint_eq(stats.indexed, 12);
    ck_assert_uint_eq(test_indexer_checkpoint(st), outbox_head());
    char report[4096];
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
    /* A small backlog is replayed. */
    put_course(6);
    memset(&stats, 0, sizeof stats);
    ck_assert(indexer_catch_up(st, idx, cache, &stats, &err) == 0);
    ck_assert(!stats.rebuilt);
    ck_assert_uint_eq(stats.changes, 2);
    /* A backlog smaller than the index is replayed too. */
    for (int i = 7; i < 12; i++)
        put_course(i);
    memset(&stats, 0, sizeof stats);
    ck_assert(indexer_catch_up(st, idx, cache, &stats, &err) == 0);
    ck_assert(!stats.rebuilt);
    ck_assert_uint_eq(stats.changes, 10);
    ck_assert_uint_eq(test_indexer_verify(st, idx, report, sizeof report), 0);
}
END_TEST

START_TEST(after_commit_without_search_bumps_catalog)
{
    struct error err = {0};
    uint64_t g0 = 0, g1 = 0;
    ck_assert(cache->driver->generation(cache, "catalog", &g0, &err) == 0);
    put_course(1);
    ck_assert(after_commit(st, NULL, cache, &err) == 0);
    ck_assert(cache->driver->generation(cache, "catalog", &g1, &err) == 0);
    ck_assert_uint_eq(g1, g0 + 1);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 0); /* no index, nothing applied */
}
END_TEST

/* ---- gaps: an outbox id that shows up after higher ones ---- */

static void outbox_sql(const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert(sqlite3_open(dbpath, &db) == SQLITE_OK);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
    sqlite3_close(db);
}

static bool indexed(enum search_content c, const char *key)
{
    json_t *hit = test_search_hit(idx, c, key);
    json_decref(hit);
    return hit != NULL;
}

START_TEST(late_lower_id_is_applied)
{
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0); /* the organization: 1 */
    put(ENTITY_COURSE, "{\"key\":\"MITx+A\",\"title\":\"Alpha\",\"owners\":[\"MITx\"]}");
    put(ENTITY_COURSE, "{\"key\":\"MITx+B\",\"title\":\"Beta\",\"owners\":[\"MITx\"]}");
    put(ENTITY_COURSE, "{\"key\":\"MITx+C\",\"title\":\"Gamma\",\"owners\":[\"MITx\"]}");
    /* Change 3 (B) is not committed yet, as in a PostgreSQL transaction
     * that took its id before 4's and commits after it. */
    outbox_sql("CREATE TABLE held AS SELECT * FROM changes WHERE id = 3;"
               "DELETE FROM changes WHERE id = 3");
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert(indexed(SEARCH_COURSE, "MITx+A"));
    ck_assert(indexed(SEARCH_COURSE, "MITx+C")); /* applied above the gap */
    ck_assert(!indexed(SEARCH_COURSE, "MITx+B"));
    ck_assert_uint_eq(test_indexer_checkpoint(st), 2); /* the watermark waits below the gap */
    uint64_t lag = 99;
    ck_assert(indexer_lag(st, &lag, &err) == 0);
    ck_assert_uint_eq(lag, 0); /* what this process applied is not lag */
    bool applied = false;
    ck_assert(indexer_applied(st, 4, &applied, &err) == 0 && applied);
    ck_assert(indexer_applied(st, 3, &applied, &err) == 0 && !applied);
    /* Applying again does not apply 4 again: nothing fresh. */
    struct indexer_stats stats = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, &stats, &err) == 0);
    ck_assert_uint_eq(stats.changes, 0);
    /* The late transaction commits: 3 is applied and the watermark moves
     * over 3 and 4. */
    outbox_sql("INSERT INTO changes SELECT * FROM held");
    ck_assert(indexer_catch_up(st, idx, NULL, &stats, &err) == 0);
    ck_assert_uint_eq(stats.changes, 1);
    ck_assert(indexed(SEARCH_COURSE, "MITx+B"));
    ck_assert_uint_eq(test_indexer_checkpoint(st), 4);
}
END_TEST

START_TEST(gap_given_up_after_timeout)
{
    struct error err = {0};
    put(ENTITY_COURSE, "{\"key\":\"MITx+A\",\"title\":\"Alpha\",\"owners\":[\"MITx\"]}");
    put(ENTITY_COURSE, "{\"key\":\"MITx+B\",\"title\":\"Beta\",\"owners\":[\"MITx\"]}");
    outbox_sql("DELETE FROM changes WHERE id = 2"); /* rolled back: never comes */
    indexer_set_gap_timeout_ms(200);
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 1);
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 1); /* not yet */
    usleep(300 * 1000);
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 3);
}
END_TEST

START_TEST(restart_forgets_and_reapplies)
{
    struct error err = {0};
    put(ENTITY_COURSE, "{\"key\":\"MITx+A\",\"title\":\"Alpha\",\"owners\":[\"MITx\"]}");
    put(ENTITY_COURSE, "{\"key\":\"MITx+B\",\"title\":\"Beta\",\"owners\":[\"MITx\"]}");
    outbox_sql("CREATE TABLE held AS SELECT * FROM changes WHERE id = 2;"
               "DELETE FROM changes WHERE id = 2");
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert_uint_eq(test_indexer_checkpoint(st), 1);
    indexer_forget();
    struct indexer_stats stats = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, &stats, &err) == 0);
    ck_assert_uint_eq(stats.changes, 1); /* 3 again: harmless */
    uint64_t lag = 0;
    ck_assert(indexer_lag(st, &lag, &err) == 0);
    ck_assert_uint_eq(lag, 0);
}
END_TEST

/* ---- the background thread ---- */

static bool wait_until_indexed(enum search_content c, const char *key, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (indexed(c, key))
            return true;
        usleep(10 * 1000);
    }
    return indexed(c, key);
}

START_TEST(thread_applies_on_signal_and_stops)
{
    struct error err = {0};
    /* A long poll: only the signal can make the write searchable soon. */
    struct indexer_thread_config tc = {.poll_ms = 600000, .retry_min_ms = 10, .retry_max_ms = 50};
    struct indexer_thread *t = NULL;
    ck_assert(indexer_thread_start(st, idx, cache, &tc, &t, &err) == 0);
    put(ENTITY_COURSE, "{\"key\":\"MITx+A\",\"title\":\"Alpha\",\"owners\":[\"MITx\"]}");
    uint64_t g0 = 0, g1 = 0;
    ck_assert(cache->driver->generation(cache, "catalog", &g0, &err) == 0);
    ck_assert(after_commit_with(st, idx, cache, t, &err) == 0);
    ck_assert(cache->driver->generation(cache, "catalog", &g1, &err) == 0);
    ck_assert_uint_eq(g1, g0 + 1);
    ck_assert(wait_until_indexed(SEARCH_COURSE, "MITx+A", 5000));
    ck_assert(indexer_thread_leader(t)); /* SQLite: no lease to share */
    /* wait: the change at the head is applied when it returns. */
    put(ENTITY_COURSE, "{\"key\":\"MITx+B\",\"title\":\"Beta\",\"owners\":[\"MITx\"]}");
    uint64_t head = 0;
    bool applied = false;
    ck_assert(indexer_outbox_head(st, &head, &err) == 0);
    ck_assert(indexer_thread_wait(t, head, 5000, &applied, &err) == 0);
    ck_assert(applied);
    ck_assert(indexed(SEARCH_COURSE, "MITx+B"));
    indexer_thread_stop(t);
    /* Stopped: nothing applies any more, and waiting times out. */
    put(ENTITY_COURSE, "{\"key\":\"MITx+C\",\"title\":\"Gamma\",\"owners\":[\"MITx\"]}");
    usleep(100 * 1000);
    ck_assert(!indexed(SEARCH_COURSE, "MITx+C"));
}
END_TEST

START_TEST(thread_backs_off_then_catches_up)
{
    struct error err = {0};
    struct test_flaky f = {.base.driver = &flaky_driver, .inner = idx, .fail_in = 0};
    struct indexer_thread_config tc = {.poll_ms = 600000, .retry_min_ms = 20, .retry_max_ms = 80};
    struct indexer_thread *t = NULL;
    ck_assert(indexer_thread_start(st, &f.base, NULL, &tc, &t, &err) == 0);
    put(ENTITY_COURSE, "{\"key\":\"MITx+A\",\"title\":\"Alpha\",\"owners\":[\"MITx\"]}");
    /* Signals during a backoff do not make it retry sooner. */
    for (int i = 0; i < 50; i++) {
        indexer_thread_signal(t);
        usleep(10 * 1000);
    }
    int calls = atomic_load(&f.index_calls);
    /* 500 ms at 20, 40, 80, 80... ms: about eight tries, never 50. */
    ck_assert_msg(calls >= 3 && calls <= 12, "%d index calls", calls);
    ck_assert_uint_ge(indexer_thread_failures(t), 3);
    ck_assert(!indexed(SEARCH_COURSE, "MITx+A"));
    atomic_store(&f.fail_in, -1); /* the backend is back */
    ck_assert(wait_until_indexed(SEARCH_COURSE, "MITx+A", 5000));
    for (int i = 0; i < 100 && indexer_thread_failures(t) != 0; i++)
        usleep(10 * 1000);
    ck_assert_uint_eq(indexer_thread_failures(t), 0);
    indexer_thread_stop(t);
}
END_TEST

/* ---- PostgreSQL: ids commit out of order; the lease ---- */

struct late_writer {
    sem_t put_done, may_commit;
    int rc;
};

static void *late_write(void *arg)
{
    struct late_writer *w = arg;
    struct error err = {0};
    json_error_t jerr;
    json_t *in =
        json_loads("{\"key\":\"MITx+LATE\",\"title\":\"Late\",\"owners\":[\"MITx\"]}", 0, &jerr);
    json_t *doc = NULL;
    w->rc = entity_normalize(ENTITY_COURSE, in, ENTITY_CREATE, &doc, &err);
    if (w->rc == 0)
        w->rc = store_begin(st, &err);
    if (w->rc == 0)
        w->rc = store_put(st, ENTITY_COURSE, doc, STORE_CREATE, NULL, &err);
    sem_post(&w->put_done);
    sem_wait(&w->may_commit);
    if (w->rc == 0)
        w->rc = store_commit(st, &err);
    json_decref(in);
    json_decref(doc);
    return NULL;
}

START_TEST(pg_out_of_order_commits_both_indexed)
{
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    struct late_writer w = {.rc = 0};
    sem_init(&w.put_done, 0, 0);
    sem_init(&w.may_commit, 0, 0);
    pthread_t th;
    ck_assert(pthread_create(&th, NULL, late_write, &w) == 0);
    sem_wait(&w.put_done); /* the late transaction holds the lower id */
    ck_assert_int_eq(w.rc, 0);
    put(ENTITY_COURSE, "{\"key\":\"MITx+EARLY\",\"title\":\"Early\",\"owners\":[\"MITx\"]}");
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert(indexed(SEARCH_COURSE, "MITx+EARLY"));
    ck_assert(!indexed(SEARCH_COURSE, "MITx+LATE"));
    uint64_t before = test_indexer_checkpoint(st);
    sem_post(&w.may_commit);
    pthread_join(th, NULL);
    ck_assert_int_eq(w.rc, 0);
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert_msg(indexed(SEARCH_COURSE, "MITx+LATE"), "the lower id committed later was skipped");
    ck_assert_uint_gt(test_indexer_checkpoint(st), before);
    ck_assert_uint_eq(test_indexer_checkpoint(st), outbox_head());
    sem_destroy(&w.put_done);
    sem_destroy(&w.may_commit);
}
END_TEST

/* The rebuild path (a backlog over the threshold) must be as gap-safe as
 * the change-by-change one: the checkpoint it writes may not pass a lower
 * id that was still in flight when it read the outbox. */
START_TEST(pg_out_of_order_commit_during_rebuild_indexed)
{
    struct error err = {0};
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    indexer_set_rebuild_threshold(3);
    struct late_writer w = {.rc = 0};
    sem_init(&w.put_done, 0, 0);
    sem_init(&w.may_commit, 0, 0);
    pthread_t th;
    ck_assert(pthread_create(&th, NULL, late_write, &w) == 0);
    sem_wait(&w.put_done); /* the late transaction holds the lower id */
    ck_assert_int_eq(w.rc, 0);
    for (int i = 0; i < 3; i++)
        put_course(i);
    struct indexer_stats stats = {0};
    ck_assert_msg(indexer_catch_up(st, idx, NULL, &stats, &err) == 0, "%s", err.message);
    ck_assert(stats.rebuilt);
    ck_assert(indexed(SEARCH_COURSE, "MITx+C2"));
    ck_assert(!indexed(SEARCH_COURSE, "MITx+LATE"));
    sem_post(&w.may_commit);
    pthread_join(th, NULL);
    ck_assert_int_eq(w.rc, 0);
    indexer_set_rebuild_threshold(0);
    ck_assert(indexer_catch_up(st, idx, NULL, NULL, &err) == 0);
    ck_assert_msg(indexed(SEARCH_COURSE, "MITx+LATE"),
                  "the rebuild's checkpoint skipped a lower id committed later");
    ck_assert_uint_eq(test_indexer_checkpoint(st), outbox_head());
    sem_destroy(&w.put_done);
    sem_destroy(&w.may_commit);
}
END_TEST

struct lease_probe {
    bool held;
    int rc;
};

static void *probe_lease(void *arg)
{
    struct lease_probe *p = arg;
    struct error err = {0};
    p->rc = store_lease_try(st, INDEXER_LEASE_KEY, &p->held, &err);
    return NULL;
}

START_TEST(pg_lease_is_exclusive_and_reentrant)
{
    struct error err = {0};
    bool held = false;
    ck_assert(store_lease_try(st, INDEXER_LEASE_KEY, &held, &err) == 0 && held);
    ck_assert(store_lease_try(st, INDEXER_LEASE_KEY, &held, &err) == 0 && held);
    /* Another thread has another connection: the lease is taken. */
    struct lease_probe p = {0};
    pthread_t th;
    ck_assert(pthread_create(&th, NULL, probe_lease, &p) == 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(p.rc, 0);
    ck_assert(!p.held);
    /* Another key is free. */
    ck_assert(store_lease_try(st, INDEXER_LEASE_KEY + 1, &held, &err) == 0 && held);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("indexer");
    TCase *tc = tcase_create("indexer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, applies_and_checkpoints);
    tcase_add_test(tc, batches);
    tcase_add_test(tc, resumes_after_failure);
    tcase_add_test(tc, idempotent);
    tcase_add_test(tc, deletions_and_updates);
    tcase_add_test(tc, verify_reports_and_reindex_repairs);
    tcase_add_test(tc, reindex_keeps_old_index_for_other_readers);
    tcase_add_test(tc, rebuild_with_a_failed_batch_keeps_old_index);
    tcase_add_test(tc, digests_of_escaped_text_verify_clean);
    tcase_add_test(tc, rebuild_writer_failure_keeps_old_index);
    tcase_add_test(tc, large_backlog_is_rebuilt);
    tcase_add_test(tc, bulk_into_empty_index_is_rebuilt);
    tcase_add_test(tc, small_backlog_into_empty_index_is_replayed);
    tcase_add_test(tc, after_commit_without_search_bumps_catalog);
    tcase_add_test(tc, late_lower_id_is_applied);
    tcase_add_test(tc, gap_given_up_after_timeout);
    tcase_add_test(tc, restart_forgets_and_reapplies);
    tcase_add_test(tc, clock_refresh_reindexes_due_courses);
    tcase_add_test(tc, thread_applies_on_signal_and_stops);
    tcase_add_test(tc, thread_backs_off_then_catches_up);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(suite, tc);
    int status = test_run_suite(suite);
    /* Under tests/pg_fixture.sh only (CK_RUN_SUITE picks it). */
    const char *only = getenv("CK_RUN_SUITE");
    if (only != NULL && strcmp(only, "indexer:postgres") == 0) {
        on_postgres = true;
        Suite *pg = suite_create("indexer:postgres");
        TCase *tp = tcase_create("postgres");
        tcase_add_checked_fixture(tp, setup, teardown);
        tcase_add_test(tp, pg_out_of_order_commits_both_indexed);
        tcase_add_test(tp, pg_out_of_order_commit_during_rebuild_indexed);
        tcase_add_test(tp, pg_lease_is_exclusive_and_reentrant);
        tcase_set_timeout(tp, 60);
        suite_add_tcase(pg, tp);
        if (test_run_suite(pg) != 0)
            status = 1;
    }
    return status;
}
