/*
 * indexer - outbox to search index, reindex and verify (see indexer.h).
 *
 * Concurrency.  Each batch is applied inside a store write transaction
 * (store_begin; BEGIN IMMEDIATE in SQLite): reading the checkpoint and the
 * changes, flattening the touched records, writing the index and moving
 * the checkpoint all happen while this process holds the store's write
 * lock.  So no two appliers, in this process or another (serve, import,
 * a second serve on the same file), ever interleave, and the records
 * flattened are exactly the committed state that includes every change
 * of the batch: a slower applier can never write an older document over
 * a newer one.  A mutex serializes the threads of one process before
 * they reach the store, so they queue here rather than in SQLite's busy
 * handler.  If the store commit fails after the index was written, the
 * batch is applied again next time, which is harmless.
 *
 * Order.  SQLite hands out outbox ids in commit order (one writer at a
 * time).  In PostgreSQL ids from concurrent transactions commit out of
 * order (design.md, "Outbox order"): id 12 may be visible while id 11 is
 * still in flight, so "every id above the highest applied" would skip 11.
 * So the checkpoint is a watermark below which everything is applied, and
 * the ids applied above it are remembered (`above`, in memory).  Every
 * pass applies whatever is new above the watermark, and the watermark
 * moves up only over ids applied or over a gap that has stayed open
 * gap_timeout after a later id was seen (a transaction that rolled back,
 * or a sequence value never used, leaves a gap forever).  Documents are
 * rebuilt from the store as it is when applied, so applying 12 before 11
 * gives the same index as the other way round.  A process that restarts
 * forgets `above` and applies those ids again, which is harmless.
 *
 * In PostgreSQL BEGIN takes no lock, so the store does not keep appliers
 * apart: the thread indexer (indexer_thread.c) applies only while it holds
 * the store's lease, one process at a time.
 */
#include "indexer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "search_docs.h"

static pthread_mutex_t apply_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic size_t batch_size = 500;
static _Atomic size_t rebuild_threshold = INDEXER_REBUILD_THRESHOLD;
static _Atomic long gap_timeout_ms = INDEXER_GAP_TIMEOUT_MS;
static _Atomic int64_t refresh_next; /* see "refresh of clock-dependent documents" */

/* Ids applied above the checkpoint, ascending, with when each was
 * applied (monotonic seconds).  Changed only under apply_lock; read by
 * indexer_lag, hence its own lock. */
struct seen {
    uint64_t id;
    double at;
};
static struct {
    struct seen *v;
    size_t n, cap;
} above;
static pthread_mutex_t above_lock = PTHREAD_MUTEX_INITIALIZER;

void indexer_set_gap_timeout_ms(long ms)
{
    atomic_store(&gap_timeout_ms, ms < 0 ? 0 : ms);
}

double indexer_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Index of the first entry with id >= want. */
static size_t above_find(uint64_t want)
{
    size_t lo = 0, hi = above.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (above.v[mid].id < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool above_has(uint64_t id)
{
    pthread_mutex_lock(&above_lock);
    size_t i = above_find(id);
    bool has = i < above.n && above.v[i].id == id;
    pthread_mutex_unlock(&above_lock);
    return has;
}

/* Forgets ids at or below the watermark (another process, or this one,
 * moved the checkpoint past them). */
static void above_prune(uint64_t watermark)
{
    pthread_mutex_lock(&above_lock);
    size_t k = above_find(watermark + 1);
    if (k > 0) /* above.v may still be NULL */
        memmove(above.v, above.v + k, (above.n - k) * sizeof *above.v);
    above.n -= k;
    pthread_mutex_unlock(&above_lock);
}

static int above_add(uint64_t id, double at, struct error *err)
{
    int rc = 0;
    pthread_mutex_lock(&above_lock);
    size_t i = above_find(id);
    if (i < above.n && above.v[i].id == id) {
        pthread_mutex_unlock(&above_lock);
        return 0;
    }
    if (above.n == above.cap) {
        size_t cap = above.cap ? above.cap * 2 : 64;
        struct seen *v = realloc(above.v, cap * sizeof *v);
        if (v == NULL)
            rc = error_set(err, ERR_INTERNAL, "out of memory");
        else {
            above.v = v;
            above.cap = cap;
        }
    }
    if (rc == 0) {
        memmove(above.v + i + 1, above.v + i, (above.n - i) * sizeof *above.v);
        above.v[i] = (struct seen){id, at};
        above.n++;
    }
    pthread_mutex_unlock(&above_lock);
    return rc;
}

/* Moves the watermark over applied ids while nothing below them is
 * missing, or the gap below them has been open long enough to be given
 * up; returns the new watermark. */
static uint64_t above_advance(uint64_t watermark, double now)
{
    double timeout = (double)atomic_load(&gap_timeout_ms) / 1000.0;
    pthread_mutex_lock(&above_lock);
    size_t k = 0;
    while (k < above.n && (above.v[k].id <= watermark + 1 || now - above.v[k].at >= timeout)) {
        if (above.v[k].id > watermark + 1)
            log_msg(LOG_WARN,
                    "indexer: outbox ids %" PRIu64 "..%" PRIu64 " never committed within the gap "
                    "timeout; taken as rolled back",
                    watermark + 1, above.v[k].id - 1);
        if (above.v[k].id > watermark)
            watermark = above.v[k].id;
        k++;
    }
    if (k > 0)
        memmove(above.v, above.v + k, (above.n - k) * sizeof *above.v);
    above.n -= k;
    pthread_mutex_unlock(&above_lock);
    return watermark;
}

/* How many applied ids lie above the watermark (test and lag). */
static size_t above_count(uint64_t watermark)
{
    pthread_mutex_lock(&above_lock);
    size_t n = above.n - above_find(watermark + 1);
    pthread_mutex_unlock(&above_lock);
    return n;
}

void indexer_forget(void)
{
    pthread_mutex_lock(&apply_lock);
    pthread_mutex_lock(&above_lock);
    free(above.v);
    above.v = NULL;
    above.n = above.cap = 0;
    pthread_mutex_unlock(&above_lock);
    atomic_store(&refresh_next, 0);
    pthread_mutex_unlock(&apply_lock);
}

void indexer_set_rebuild_threshold(size_t n)
{
    atomic_store(&rebuild_threshold, n);
}

void indexer_set_batch_size(size_t n)
{
    atomic_store(&batch_size, n ? n : 1);
}

size_t indexer_batch_size(void)
{
    return atomic_load(&batch_size);
}

static int apply_docs(struct search *search, const json_t *index, const json_t *remove,
                      struct error *err)
{
    if (json_array_size(index) > 0 && search->driver->index(search, index, err) != 0)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach(remove, i, r)
    {
        const char *type = json_string_value(json_object_get(r, "content_type"));
        enum search_content content = SEARCH_COURSE;
        for (int c = 0; c < SEARCH_CONTENT_COUNT; c++)
            if (strcmp(type, search_docs_content_name((enum search_content)c)) == 0)
                content = (enum search_content)c;
        if (search->driver->remove(search, content, json_string_value(json_object_get(r, "key")),
                                   err) != 0)
            return -1;
    }
    return 0;
}

/* ---- refresh of clock-dependent documents ----
 *
 * A course's document holds the run a visitor would pick at the time it
 * was built, so it goes stale when the clock passes a start or end of its
 * runs.  Every batch that writes course documents also writes, in the
 * same store transaction, when each must be rebuilt (search_refresh, in
 * the store so every process sees it); indexer_refresh re-indexes the
 * rows due.  refresh_next is the earliest such time this process knows
 * of, so a search can tell with one atomic load whether one is due.  It
 * is also capped at REFRESH_RECHECK seconds after it was read, as other
 * processes may write earlier rows.  0: unknown (due at once). */
#define REFRESH_RECHECK 60

/* Lowers refresh_next to at (a row just written). */
static void refresh_note(time_t at)
{
    int64_t cur = atomic_load(&refresh_next);
    while (at > 0 && (cur == 0 || (int64_t)at < cur) &&
           !atomic_compare_exchange_weak(&refresh_next, &cur, (int64_t)at))
        ;
}

bool indexer_refresh_due(time_t now)
{
    int64_t next = atomic_load(&refresh_next);
    return next == 0 || (int64_t)now >= next;
}

/* Writes the refresh times of the course documents of the slice just
 * resolved. */
static int write_refresh(struct store *store, const json_t *refresh, struct error *err)
{
    const char *key;
    json_t *at;
    json_object_foreach((json_t *)refresh, key, at)
    {
        time_t t = (time_t)json_integer_value(at);
        if (store_refresh_set(store, ENTITY_COURSE, key, t, err) != 0)
            return -1;
        refresh_note(t);
    }
    return 0;
}

/* Writes the plan's documents, and the refresh times of its courses, a
 * slice of batch_size at a time, as they are at now. */
static int apply_plan(struct search_docs_plan *plan, struct store *store, struct search *search,
                      time_t now, struct indexer_stats *stats, struct error *err)
{
    size_t slice = indexer_batch_size(), total = search_docs_plan_size(plan);
    for (size_t from = 0; from < total; from += slice) {
        json_t *index = NULL, *remove = NULL;
        int rc = search_docs_plan_resolve(plan, store, now, from, slice, &index, &remove, err);
        if (rc == 0)
            rc = apply_docs(search, index, remove, err);
        if (rc == 0)
            rc = write_refresh(store, plan->refresh, err);
        if (rc == 0) {
            stats->indexed += json_array_size(index);
            stats->removed += json_array_size(remove);
        }
        json_decref(index);
        json_decref(remove);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Applies one batch of changes above *cursor (or the checkpoint, when
 * higher) inside a store transaction, skipping those applied already, and
 * moves the checkpoint as far as the gaps allow.  *fetched receives the
 * number of outbox rows read, *applied how many of them were applied now;
 * *cursor moves to the last row read. */
static int apply_batch(struct store *store, struct search *search, struct store_change *changes,
                       size_t max, uint64_t *cursor, size_t *fetched, size_t *applied,
                       struct indexer_stats *stats, struct error *err)
{
    uint64_t checkpoint = 0;
    size_t n = 0, fresh = 0;
    struct search_docs_plan plan = {0};
    struct indexer_stats batch = {0};
    bool planned = false, moved = false;
    *applied = *fetched = 0;
    if (store_begin(store, err) != 0)
        return -1;
    int rc = store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &checkpoint, err);
    if (rc == 0) {
        above_prune(checkpoint);
        rc = store->driver->changes_since(store, *cursor > checkpoint ? *cursor : checkpoint,
                                          changes, max, &n, err);
    }
    if (rc == 0 && n > 0) {
        *cursor = changes[n - 1].id;
        for (size_t i = 0; i < n; i++)
            if (!above_has(changes[i].id))
                changes[fresh++] = changes[i];
    }
    if (rc == 0 && fresh > 0) {
        planned = true;
        rc = search_docs_plan_init(&plan, err);
        for (size_t i = 0; rc == 0 && i < fresh; i++)
            rc = search_docs_plan_change(&plan, store, search, &changes[i], err);
        if (rc == 0)
            rc = search_docs_plan_expand(&plan, store, err);
        if (rc == 0)
            rc = apply_plan(&plan, store, search, clock_now(), &batch, err);
        double now = indexer_monotonic();
        for (size_t i = 0; rc == 0 && i < fresh; i++)
            rc = above_add(changes[i].id, now, err);
    }
    uint64_t watermark = checkpoint;
    if (rc == 0) {
        /* Also with nothing fresh: a gap may have timed out meanwhile. */
        watermark = above_advance(checkpoint, indexer_monotonic());
        moved = watermark != checkpoint;
        if (moved)
            rc = store->driver->checkpoint_set(store, INDEXER_CHECKPOINT, watermark, err);
    }
    if (rc == 0 && moved)
        rc = store_commit(store, err);
    else
        store_rollback(store);
    if (rc == 0) {
        *fetched = n;
        *applied = fresh;
        if (stats != NULL) {
            stats->changes += fresh;
            stats->indexed += batch.indexed;
            stats->removed += batch.removed;
            stats->batches += fresh > 0;
            stats->checkpoint = watermark;
        }
    }
    if (planned)
        search_docs_plan_clear(&plan);
    return rc;
}

static void bump_index(struct cache *cache)
{
    uint64_t gen;
    struct error err = {0};
    if (cache != NULL && cache->driver->bump(cache, "index", &gen, &err) != 0)
        log_msg(LOG_WARN, "indexer: cannot bump the index generation: %s", err.message);
}

/* Re-indexes one batch of the rows due at now inside a store transaction;
 * *n receives how many were due. */
static int refresh_batch(struct store *store, struct search *search, time_t now,
                         struct store_refresh *due, size_t max, size_t *n,
                         struct indexer_stats *stats, struct error *err)
{
    /* Read first outside a transaction: most passes find nothing due, and
     * should not take the store's write lock for that. */
    if (store_refresh_due(store, now, due, max, n, err) != 0)
        return -1;
    if (*n == 0)
        return 0;
    struct search_docs_plan plan = {0};
    if (store_begin(store, err) != 0)
        return -1;
    int rc = store_refresh_due(store, now, due, max, n, err);
    if (rc == 0)
        rc = search_docs_plan_init(&plan, err);
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        enum search_content content;
        /* Cleared first, so that every row read makes progress; the plan
         * writes the next time of the documents that still have one. */
        rc = store_refresh_set(store, due[i].kind, due[i].key, 0, err);
        if (rc == 0 && search_docs_content_of(due[i].kind, &content) == 0)
            rc = search_docs_plan_add(&plan, content, due[i].key, err);
    }
    if (rc == 0)
        rc = apply_plan(&plan, store, search, now, stats, err);
    if (rc == 0)
        rc = store_commit(store, err);
    else
        store_rollback(store);
    search_docs_plan_clear(&plan);
    if (rc == 0)
        stats->refreshed += *n;
    return rc;
}

/* Refreshes every document due, then learns the next time one is.  Called
 * with apply_lock held. */
static int refresh_locked(struct store *store, struct search *search, struct cache *cache,
                          struct indexer_stats *stats, struct error *err)
{
    time_t now = clock_now();
    size_t max = indexer_batch_size(), n = 0;
    struct store_refresh *due = calloc(max, sizeof *due);
    if (due == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    struct indexer_stats batch = {0};
    int rc;
    do
        rc = refresh_batch(store, search, now, due, max, &n, &batch, err);
    while (rc == 0 && n == max);
    free(due);
    stats->refreshed += batch.refreshed;
    stats->indexed += batch.indexed;
    stats->removed += batch.removed;
    if (batch.refreshed > 0)
        bump_index(cache);
    time_t next = 0;
    if (rc == 0 && (rc = store_refresh_next(store, &next, err)) == 0) {
        int64_t cap = (int64_t)now + REFRESH_RECHECK;
        atomic_store(&refresh_next, next > 0 && (int64_t)next < cap ? (int64_t)next : cap);
    }
    return rc;
}

int indexer_refresh(struct store *store, struct search *search, struct cache *cache,
                    struct indexer_stats *stats, struct error *err)
{
    struct indexer_stats local = {0};
    pthread_mutex_lock(&apply_lock);
    int rc = refresh_locked(store, search, cache, stats ? stats : &local, err);
    pthread_mutex_unlock(&apply_lock);
    return rc;
}

/* Applies the outbox batch after batch.  Called with apply_lock held. */
static int catch_up_locked(struct store *store, struct search *search, struct cache *cache,
                           struct indexer_stats *stats, struct error *err)
{
    size_t max = indexer_batch_size();
    struct store_change *changes = calloc(max, sizeof *changes);
    if (changes == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    int rc = 0;
    size_t applied = 0, fetched = 0, total = 0;
    uint64_t cursor = 0;
    do {
        rc = apply_batch(store, search, changes, max, &cursor, &fetched, &applied, stats, err);
        total += applied;
    } while (rc == 0 && fetched == max);
    free(changes);
    /* Even a failed catch-up may have applied earlier batches. */
    if (total > 0)
        bump_index(cache);
    return rc;
}

static int reindex_locked(struct store *store, struct search *search, struct cache *cache,
                          struct indexer_stats *stats, struct error *err);
static int scan_outbox(struct store *store, uint64_t after, uint64_t bound, uint64_t *count,
                       uint64_t *last, struct error *err);

/* A backlog this large (a bulk import, or a store written without an
 * index) is cheaper to rebuild than to replay: replaying touches most
 * documents several times (an organization's change rebuilds all its
 * courses, then each course's own change again), a rebuild writes each
 * once into an empty index. */
static bool worth_rebuilding(struct store *store, struct search *search)
{
    uint64_t checkpoint, lag, last;
    size_t docs = 0;
    struct error ignored = {0};
    size_t threshold = atomic_load(&rebuild_threshold);
    if (threshold == 0 || search->driver->rebuild_begin == NULL ||
        search->driver->count(search, &docs, &ignored) != 0)
        return false;
    /* Into an empty index a backlog of any size worth the name is a bulk
     * load (a first import): one rebuild writes each document once, where
     * replaying plans every change and commits batch by batch. */
    if (docs == 0 && threshold > INDEXER_REBUILD_EMPTY_MIN)
        threshold = INDEXER_REBUILD_EMPTY_MIN;
    if (store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &checkpoint, &ignored) != 0 ||
        scan_outbox(store, checkpoint, threshold, &lag, &last, &ignored) != 0 || lag < threshold)
        return false;
    return lag >= docs;
}

int indexer_catch_up(struct store *store, struct search *search, struct cache *cache,
                     struct indexer_stats *stats, struct error *err)
{
    struct indexer_stats local = {0};
    if (stats == NULL)
        stats = &local;
    pthread_mutex_lock(&apply_lock);
    int rc = worth_rebuilding(store, search) ? reindex_locked(store, search, cache, stats, err)
                                             : catch_up_locked(store, search, cache, stats, err);
    /* The clock moves too: documents it made stale are part of catching
     * up (so verify, import, serve's start and every write refresh them). */
    if (rc == 0)
        rc = refresh_locked(store, search, cache, stats, err);
    pthread_mutex_unlock(&apply_lock);
    return rc;
}

/* Counts changes after `after` up to bound; *last receives the highest id
 * seen (after when none). */
static int scan_outbox(struct store *store, uint64_t after, uint64_t bound, uint64_t *count,
                       uint64_t *last, struct error *err)
{
    struct store_change chunk[64];
    size_t n;
    *count = 0;
    *last = after;
    do {
        if (store->driver->changes_since(store, *last, chunk, 64, &n, err) != 0)
            return -1;
        if (n > 0)
            *last = chunk[n - 1].id;
        *count += n;
    } while (n == 64 && *count < bound);
    return 0;
}

struct outbox_ids {
    uint64_t *v; /* ascending; owned */
    size_t n, cap;
};

/* Appends the id of every change after `after` to ids. */
static int collect_outbox(struct store *store, uint64_t after, struct outbox_ids *ids,
                          struct error *err)
{
    struct store_change chunk[64];
    size_t n;
    do {
        if (store->driver->changes_since(store, after, chunk, 64, &n, err) != 0)
            return -1;
        if (ids->n + n > ids->cap) {
            size_t cap = ids->cap ? ids->cap * 2 : 256;
            uint64_t *v = realloc(ids->v, cap * sizeof *v);
            if (v == NULL)
                return error_set(err, ERR_INTERNAL, "out of memory");
            ids->v = v;
            ids->cap = cap;
        }
        for (size_t i = 0; i < n; i++)
            ids->v[ids->n++] = chunk[i].id;
        if (n > 0)
            after = chunk[n - 1].id;
    } while (n == 64);
    return 0;
}

int indexer_lag(struct store *store, uint64_t *lag, struct error *err)
{
    uint64_t checkpoint, last;
    if (store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &checkpoint, err) != 0 ||
        scan_outbox(store, checkpoint, 1000000, lag, &last, err) != 0)
        return -1;
    /* Changes this process applied above a gap are in the index already. */
    size_t done = above_count(checkpoint);
    *lag = *lag > done ? *lag - done : 0;
    return 0;
}

int indexer_applied(struct store *store, uint64_t id, bool *applied, struct error *err)
{
    uint64_t checkpoint;
    if (store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &checkpoint, err) != 0)
        return -1;
    *applied = id <= checkpoint || above_has(id);
    return 0;
}

int indexer_outbox_head(struct store *store, uint64_t *head, struct error *err)
{
    uint64_t checkpoint, count;
    if (store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &checkpoint, err) != 0)
        return -1;
    return scan_outbox(store, checkpoint, UINT64_MAX, &count, head, err);
}

/* ---- walking every searchable record ---- */

static const enum entity_kind searchable[] = {ENTITY_COURSE, ENTITY_COURSE_RUN, ENTITY_PROGRAM};

/* Called with each page of flattened documents (borrowed), and the refresh
 * times of its courses ({"key": time or 0}, borrowed). */
typedef int (*docs_fn)(void *ctx, const json_t *docs, const json_t *refresh, struct error *err);

struct pager {
    struct store *store;
    enum entity_kind kind;
    time_t now;
    size_t page_size;
    json_t *lookups; /* records read, shared by a page's documents */
    json_t *docs;    /* the page being filled */
    json_t *refresh; /* its courses' refresh times */
    docs_fn fn;
    void *ctx;
};

static int flush_page(struct pager *p, struct error *err)
{
    int rc = json_array_size(p->docs) > 0 ? p->fn(p->ctx, p->docs, p->refresh, err) : 0;
    json_array_clear(p->docs);
    json_object_clear(p->lookups);
    json_object_clear(p->refresh);
    return rc;
}

static int page_record(void *ctx, const json_t *record, struct error *err)
{
    struct pager *p = ctx;
    json_t *doc = NULL;
    time_t at = 0;
    if (search_docs_flatten_refresh(p->store, p->lookups, p->kind, record, p->now, &doc, &at,
                                    err) != 0)
        return -1;
    json_array_append_new(p->docs, doc);
    const char *key = json_string_value(json_object_get(doc, "key"));
    if (p->kind == ENTITY_COURSE && key != NULL &&
        json_object_set_new(p->refresh, key, json_integer((json_int_t)at)) != 0)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return json_array_size(p->docs) >= p->page_size ? flush_page(p, err) : 0;
}

/* Flattens every course, run and program in natural key order and hands
 * them to fn a page of batch_size documents at a time.  The store walk is
 * key-set paged (store_each), so its cost stays linear in the catalog. */
static int each_doc_page(struct store *store, time_t now, docs_fn fn, void *ctx, struct error *err)
{
    struct pager p = {.store = store,
                      .now = now,
                      .page_size = indexer_batch_size(),
                      .lookups = json_object(),
                      .docs = json_array(),
                      .refresh = json_object(),
                      .fn = fn,
                      .ctx = ctx};
    int rc = p.lookups && p.docs && p.refresh ? 0 : error_set(err, ERR_INTERNAL, "out of memory");
    for (size_t k = 0; rc == 0 && k < sizeof searchable / sizeof searchable[0]; k++) {
        p.kind = searchable[k];
        rc = store_each(store, p.kind, page_record, &p, err);
        if (rc == 0)
            rc = flush_page(&p, err);
    }
    json_decref(p.lookups);
    json_decref(p.docs);
    json_decref(p.refresh);
    return rc;
}

/* ---- reindex ---- */

/* A rebuild runs as two stages on two threads: the calling thread walks
 * the store and flattens documents (and writes their refresh times: it
 * owns the store connection), a writer thread puts the pages into the
 * index (it alone uses the search handle until it is joined).  Reading
 * and flattening cost about as much as the index writes, so on two cores
 * the rebuild takes about the longer of the two instead of their sum.
 * A page is handed over whole (the writer releases it); documents may
 * share records with the reader's lookups, which jansson's atomic
 * reference counts and read-only use make safe.  A few pages in flight
 * at most, so memory stays bounded by the page size. */
#define REBUILD_QUEUE 4

struct rebuild {
    struct store *store;
    struct search *search;
    struct indexer_stats *stats;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    json_t *pages[REBUILD_QUEUE];
    size_t first, n;
    bool done;   /* the reader has no more pages */
    bool failed; /* the writer failed: err says why; the reader stops */
    struct error err;
};

static void *rebuild_writer(void *arg)
{
    struct rebuild *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->n == 0 && !r->done)
            pthread_cond_wait(&r->changed, &r->lock);
        if (r->n == 0)
            break;
        json_t *page = r->pages[r->first];
        r->first = (r->first + 1) % REBUILD_QUEUE;
        r->n--;
        bool failed = r->failed;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        struct error err = {0};
        int rc = failed ? 0 : r->search->driver->index(r->search, page, &err);
        json_decref(page);
        pthread_mutex_lock(&r->lock);
        if (rc != 0 && !r->failed) {
            r->failed = true;
            r->err = err;
            pthread_cond_broadcast(&r->changed);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Starts r's writer thread (r zeroed but for store, search and stats). */
static int rebuild_start(struct rebuild *r, pthread_t *writer, struct error *err)
{
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    if (pthread_create(writer, NULL, rebuild_writer, r) != 0) {
        pthread_cond_destroy(&r->changed);
        pthread_mutex_destroy(&r->lock);
        return error_set(err, ERR_INTERNAL, "cannot start the index writer thread");
    }
    return 0;
}

/* Queues a copy of docs (borrowed) for the writer, waiting while the queue
 * is full; -1 with the writer's error once it has failed. */
static int rebuild_push(struct rebuild *r, const json_t *docs, struct error *err)
{
    /* The caller reuses its array: the writer gets its own. */
    json_t *page = json_array();
    if (page == NULL || json_array_extend(page, (json_t *)docs) != 0) {
        json_decref(page);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    pthread_mutex_lock(&r->lock);
    while (r->n == REBUILD_QUEUE && !r->failed)
        pthread_cond_wait(&r->changed, &r->lock);
    bool failed = r->failed;
    if (!failed) {
        r->pages[(r->first + r->n) % REBUILD_QUEUE] = page;
        r->n++;
        pthread_cond_broadcast(&r->changed);
    } else
        *err = r->err;
    pthread_mutex_unlock(&r->lock);
    if (failed) {
        json_decref(page);
        return -1;
    }
    r->stats->indexed += json_array_size(docs);
    r->stats->batches++;
    return 0;
}

/* Tells the writer that no page follows; with give_up, that it must drop
 * what is queued (the rebuild is abandoned). */
static void rebuild_done(struct rebuild *r, bool give_up)
{
    pthread_mutex_lock(&r->lock);
    r->done = true;
    if (give_up)
        r->failed = true;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

/* Joins the writer (after rebuild_done) and releases r; -1 with the
 * writer's error when a page failed or the rebuild was given up. */
static int rebuild_join(struct rebuild *r, pthread_t writer, struct error *err)
{
    pthread_join(writer, NULL);
    int rc = 0;
    if (r->failed) {
        *err = r->err;
        rc = -1;
    }
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    return rc;
}

static int rebuild_page(void *ctx, const json_t *docs, const json_t *refresh, struct error *err)
{
    struct rebuild *r = ctx;
    /* A page's refresh times in one store transaction, not one each.  A
     * rebuild that fails later leaves them: they are harmless (a refresh
     * rebuilds a document as it is). */
    if (json_object_size(refresh) > 0) {
        if (store_begin(r->store, err) != 0)
            return -1;
        if (write_refresh(r->store, refresh, err) != 0) {
            store_rollback(r->store);
            return -1;
        }
        if (store_commit(r->store, err) != 0)
            return -1;
    }
    return rebuild_push(r, docs, err);
}

/* Walks the store into the index through the writer thread; returns when
 * the writer has written (or given up on) every page. */
static int rebuild_pages(struct store *store, struct search *search, struct indexer_stats *stats,
                         struct error *err)
{
    struct rebuild r = {.store = store, .search = search, .stats = stats};
    pthread_t writer;
    if (rebuild_start(&r, &writer, err) != 0)
        return -1;
    int rc = each_doc_page(store, clock_now(), rebuild_page, &r, err);
    /* A reader's failure makes the writer drop what is queued. */
    rebuild_done(&r, rc != 0);
    struct error werr = {0};
    if (rebuild_join(&r, writer, &werr) != 0 && rc == 0) {
        *err = werr;
        rc = -1;
    }
    return rc;
}

static int reindex_locked(struct store *store, struct search *search, struct cache *cache,
                          struct indexer_stats *stats, struct error *err)
{
    uint64_t checkpoint;
    const struct search_driver *d = search->driver;
    stats->rebuilt = true;
    if (d->rebuild_begin == NULL || d->rebuild_end == NULL)
        return error_set(err, ERR_UNSUPPORTED, "search driver %s cannot rebuild its index",
                         d->name);
    /* The outbox is read before the store is: every change listed is in
     * what the rebuild reads, and any later one stays above the
     * checkpoint, to be applied by the catch-up below (or again: it is
     * idempotent).  Its ids, not just the highest: in PostgreSQL a lower
     * id may still be in flight (see "Order"), so the checkpoint may only
     * move over the ids seen without a gap below them; those above a gap
     * are remembered as applied, like a batch's. */
    struct outbox_ids seen = {0};
    if (store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &checkpoint, err) != 0 ||
        collect_outbox(store, checkpoint, &seen, err) != 0) {
        free(seen.v);
        return -1;
    }
    if (d->rebuild_begin(search, err) != 0) {
        free(seen.v);
        return -1;
    }
    if (rebuild_pages(store, search, stats, err) != 0) {
        struct error ignored;
        d->rebuild_end(search, false, &ignored);
        free(seen.v);
        return -1;
    }
    if (d->rebuild_end(search, true, err) != 0) {
        free(seen.v);
        return -1;
    }
    /* Only now: a crash before this point leaves the old checkpoint, and
     * the old changes are applied once more over the new index. */
    double now = indexer_monotonic();
    int rc = 0;
    above_prune(checkpoint);
    for (size_t i = 0; rc == 0 && i < seen.n; i++)
        rc = above_add(seen.v[i], now, err);
    free(seen.v);
    if (rc != 0)
        return -1;
    uint64_t watermark = above_advance(checkpoint, now);
    if (watermark != checkpoint &&
        store->driver->checkpoint_set(store, INDEXER_CHECKPOINT, watermark, err) != 0)
        return -1;
    stats->checkpoint = watermark;
    bump_index(cache);
    struct indexer_stats after = {0};
    if (catch_up_locked(store, search, cache, &after, err) != 0)
        return -1;
    stats->changes += after.changes;
    if (after.changes > 0)
        stats->checkpoint = after.checkpoint;
    return 0;
}

int indexer_reindex(struct store *store, struct search *search, struct cache *cache,
                    struct indexer_stats *stats, struct error *err)
{
    struct indexer_stats local = {0};
    pthread_mutex_lock(&apply_lock);
    int rc = reindex_locked(store, search, cache, stats ? stats : &local, err);
    pthread_mutex_unlock(&apply_lock);
    return rc;
}

/* ---- a first import, indexed while it is written ----
 *
 * A first import into an empty store is the whole catalog, and each record
 * passes through the import (catalog_io's sink) as the store holds it.  So
 * the documents are flattened from those records as they are written,
 * inside the import's store transaction, and handed to a rebuild's writer
 * thread, so that the index is written while the store is instead of
 * after it (the two cost about the same: on two cores the import then
 * takes about the longer of the two).  Nothing is read back from the store:
 * organizations, subjects and program types stay in the lookups, a course
 * is flattened with the runs that follow it in the import's write order,
 * a run with its course, a program with its courses' subjects (kept per
 * course as one string: records are not kept alive).
 *
 * Why it is the same index as a rebuild after the import: the store was
 * empty when the import's transaction began and its writers are
 * serialized (store_driver.serialized_writes), so the records handed over
 * are every record the store holds at the commit; and the index was empty
 * with the rebuild's write lock taken inside that transaction, so no
 * other applier wrote it.  Commit order: the store, then the index
 * (rebuild_end), then the checkpoint, moved over the outbox ids the
 * import's transaction wrote.  A crash or failure in between leaves the
 * checkpoint where it was, and after_commit's catch-up rebuilds as before
 * the fast path existed.  Anything the records cannot answer (a run whose
 * course did not just precede it, a failed page) abandons the build the
 * same way: the fallback is today's path, never a wrong index.
 *
 * A serve process on the same files may poll the outbox meanwhile: its
 * catch-up waits for the store's write lock until the import commits and
 * for the index's until the rebuild commits; at worst it sees the changes
 * before the checkpoint moved and rebuilds or replays them once more,
 * which gives the same documents. */

struct indexer_import {
    struct store *store;
    struct search *search;
    struct cache *cache;
    bool active;    /* the rebuild is open and its writer runs */
    bool abandoned; /* given up: the rebuild is dropped, catch-up does it all */
    bool finished;  /* the writer has been told no page follows */
    size_t min_records;
    time_t now;
    uint64_t checkpoint; /* read when the import's transaction began */
    uint64_t head;       /* the outbox's highest id then */
    uint64_t last;       /* the highest id the import's transaction wrote */
    struct rebuild r;
    pthread_t writer;
    json_t *lookups;  /* organizations, subjects, program types; the open course */
    json_t *subjects; /* {"course key": its subject slugs, NUL-separated} */
    json_t *docs;     /* the page being filled */
    json_t *refresh;  /* its courses' refresh times */
    json_t *course;   /* the course whose runs are being handed over, or NULL */
    json_t *runs;     /* those runs so far */
    struct indexer_stats stats;
};

int indexer_import_open(struct store *store, struct search *search, struct cache *cache,
                        struct indexer_import **out, struct error *err)
{
    *out = NULL;
    size_t threshold = atomic_load(&rebuild_threshold);
    if (search == NULL || search->driver->rebuild_begin == NULL ||
        search->driver->rebuild_end == NULL || search->driver->count == NULL ||
        !store->driver->serialized_writes || threshold == 0)
        return 0;
    struct indexer_import *ii = calloc(1, sizeof *ii);
    if (ii == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    ii->store = store;
    ii->search = search;
    ii->cache = cache;
    /* As worth_rebuilding: a smaller first import is replayed. */
    ii->min_records = threshold < INDEXER_REBUILD_EMPTY_MIN ? threshold : INDEXER_REBUILD_EMPTY_MIN;
    /* Taken before the store's write lock, as every applier does. */
    pthread_mutex_lock(&apply_lock);
    *out = ii;
    return 0;
}

int indexer_import_begin(void *ctx, size_t total, struct error *err)
{
    struct indexer_import *ii = ctx;
    struct error ignored = {0};
    size_t docs = 1;
    bool empty = false;
    (void)err;
    /* Any doubt means today's path: nothing here fails the import. */
    if (total < ii->min_records || ii->search->driver->count(ii->search, &docs, &ignored) != 0 ||
        docs != 0 || store_is_empty(ii->store, &empty, &ignored) != 0 || !empty)
        return 0;
    uint64_t count = 0;
    if (ii->store->driver->checkpoint_get(ii->store, INDEXER_CHECKPOINT, &ii->checkpoint,
                                          &ignored) != 0 ||
        scan_outbox(ii->store, ii->checkpoint, UINT64_MAX, &count, &ii->head, &ignored) != 0)
        return 0;
    ii->lookups = json_object();
    ii->subjects = json_object();
    ii->docs = json_array();
    ii->refresh = json_object();
    ii->runs = json_array();
    if (!ii->lookups || !ii->subjects || !ii->docs || !ii->refresh || !ii->runs)
        return 0;
    /* Takes the index's write lock (fts5: its rebuild transaction). */
    if (ii->search->driver->rebuild_begin(ii->search, &ignored) != 0)
        return 0;
    ii->r = (struct rebuild){.store = ii->store, .search = ii->search, .stats = &ii->stats};
    if (rebuild_start(&ii->r, &ii->writer, &ignored) != 0) {
        ii->search->driver->rebuild_end(ii->search, false, &ignored);
        return 0;
    }
    ii->now = clock_now();
    ii->active = true;
    return 0;
}

/* Gives the index build up: the writer drops what it has, and the rebuild
 * is rolled back at the end (after the store's transaction). */
static void import_abandon(struct indexer_import *ii, const char *why)
{
    if (!ii->active || ii->abandoned)
        return;
    log_msg(LOG_INFO, "import: the index is built after the import instead: %s", why);
    ii->abandoned = true;
    if (!ii->finished) {
        rebuild_done(&ii->r, true);
        ii->finished = true;
    }
}

/* Hands the page to the writer, its courses' refresh times written first
 * into the import's transaction.  A store error fails the import (it is
 * one of its writes); a writer's error only abandons the index build. */
static int import_flush(struct indexer_import *ii, struct error *err)
{
    if (json_array_size(ii->docs) == 0)
        return 0;
    if (write_refresh(ii->store, ii->refresh, err) != 0)
        return -1;
    struct error werr = {0};
    if (rebuild_push(&ii->r, ii->docs, &werr) != 0)
        import_abandon(ii, werr.message);
    json_array_clear(ii->docs);
    json_object_clear(ii->refresh);
    return 0;
}

static int import_add(struct indexer_import *ii, json_t *doc, struct error *err)
{
    if (json_array_append_new(ii->docs, doc) != 0)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return json_array_size(ii->docs) >= indexer_batch_size() ? import_flush(ii, err) : 0;
}

static int by_run_key(const void *a, const void *b)
{
    const char *ka = json_string_value(json_object_get(*(json_t *const *)a, "key"));
    const char *kb = json_string_value(json_object_get(*(json_t *const *)b, "key"));
    return strcmp(ka ? ka : "", kb ? kb : "");
}

/* The course's runs in natural key order, as the store lists them
 * (SQLite's binary collation: byte order, as strcmp). */
static json_t *sorted_runs(const json_t *runs)
{
    size_t n = json_array_size(runs);
    json_t **v = malloc((n + 1) * sizeof *v);
    json_t *out = json_array();
    if (v == NULL || out == NULL) {
        free(v);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(runs, i);
    qsort(v, n, sizeof *v, by_run_key);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

/* The course's subject slugs as one string, NUL-separated, for programs. */
static int remember_subjects(struct indexer_import *ii, const char *key, const json_t *course)
{
    size_t len = 0, i;
    json_t *s;
    const json_t *subjects = json_object_get(course, "subjects");
    json_array_foreach(subjects, i, s) len += json_string_length(s) + 1;
    char *text = malloc(len + 1), *at = text;
    if (text == NULL)
        return -1;
    json_array_foreach(subjects, i, s)
    {
        memcpy(at, json_string_value(s), json_string_length(s) + 1);
        at += json_string_length(s) + 1;
    }
    int rc = json_object_set_new(ii->subjects, key, json_stringn_nocheck(text, len));
    free(text);
    return rc;
}

/* Flattens the course whose group just ended, and its runs. */
static int import_close_course(struct indexer_import *ii, struct error *err)
{
    if (ii->course == NULL)
        return 0;
    json_t *course = ii->course;
    const char *key = json_string_value(json_object_get(course, "key"));
    json_t *runs = sorted_runs(ii->runs), *doc = NULL;
    time_t at = 0;
    struct error ferr = {0};
    int rc = 0;
    if (runs == NULL || key == NULL || remember_subjects(ii, key, course) != 0)
        rc = error_set(err, ERR_INTERNAL, "out of memory");
    else if (search_docs_flatten_course_runs(ii->store, ii->lookups, course, runs, ii->now, &doc,
                                             &at, &ferr) != 0)
        import_abandon(ii, ferr.message);
    else if (json_object_set_new(ii->refresh, key, json_integer((json_int_t)at)) != 0)
        rc = error_set(err, ERR_INTERNAL, "out of memory");
    if (rc == 0 && doc != NULL) {
        rc = import_add(ii, doc, err);
        doc = NULL;
    }
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        if (rc != 0 || ii->abandoned)
            break;
        if (search_docs_flatten_refresh(ii->store, ii->lookups, ENTITY_COURSE_RUN, run, ii->now,
                                        &doc, NULL, &ferr) != 0)
            import_abandon(ii, ferr.message);
        else
            rc = import_add(ii, doc, err);
        doc = NULL; /* import_add took it */
    }
    json_decref(doc);
    json_decref(runs);
    search_docs_lookups_del(ii->lookups, ENTITY_COURSE, key);
    json_array_clear(ii->runs);
    json_decref(ii->course);
    ii->course = NULL;
    return rc;
}

/* A program's document, its courses' subjects lent to the lookups as slim
 * course records for the time of the flattening. */
static int import_program(struct indexer_import *ii, const json_t *program, struct error *err)
{
    const json_t *courses = json_object_get(program, "courses");
    size_t i;
    json_t *k;
    int rc = 0;
    json_array_foreach(courses, i, k)
    {
        const json_t *held = json_object_get(ii->subjects, json_string_value(k));
        if (held == NULL) /* not in the import: flatten reads the store */
            continue;
        json_t *slim = json_object(), *slugs = json_array();
        const char *text = json_string_value(held);
        for (size_t at = 0, len = json_string_length(held); at < len;) {
            json_array_append_new(slugs, json_string(text + at));
            at += strlen(text + at) + 1;
        }
        if (slim == NULL || slugs == NULL || json_object_set_new(slim, "subjects", slugs) != 0 ||
            search_docs_lookups_put(ii->lookups, ENTITY_COURSE, json_string_value(k), slim) != 0)
            rc = error_set(err, ERR_INTERNAL, "out of memory");
        json_decref(slim);
        if (rc != 0)
            break;
    }
    json_t *doc = NULL;
    struct error ferr = {0};
    if (rc == 0 && search_docs_flatten_refresh(ii->store, ii->lookups, ENTITY_PROGRAM, program,
                                               ii->now, &doc, NULL, &ferr) != 0)
        import_abandon(ii, ferr.message);
    else if (rc == 0)
        rc = import_add(ii, doc, err);
    json_array_foreach(courses, i, k)
        search_docs_lookups_del(ii->lookups, ENTITY_COURSE, json_string_value(k));
    return rc;
}

int indexer_import_record(void *ctx, enum entity_kind kind, const json_t *stored, struct error *err)
{
    struct indexer_import *ii = ctx;
    if (!ii->active || ii->abandoned)
        return 0;
    const char *key = json_string_value(json_object_get(stored, entity_key_field(kind)));
    /* A run joins the open course's group; anything else closes it. */
    if (kind == ENTITY_COURSE_RUN) {
        const char *course = json_string_value(json_object_get(stored, "course"));
        const char *open =
            ii->course ? json_string_value(json_object_get(ii->course, "key")) : NULL;
        if (course == NULL || open == NULL || strcmp(course, open) != 0) {
            import_abandon(ii, "a course run does not follow its course");
            return 0;
        }
        if (json_array_append(ii->runs, (json_t *)stored) != 0)
            return error_set(err, ERR_INTERNAL, "out of memory");
        return 0;
    }
    if (import_close_course(ii, err) != 0)
        return -1;
    switch (kind) {
    case ENTITY_ORGANIZATION:
    case ENTITY_SUBJECT:
    case ENTITY_PROGRAM_TYPE:
        if (search_docs_lookups_put(ii->lookups, kind, key, (json_t *)stored) != 0)
            import_abandon(ii, "a record without a key");
        return 0;
    case ENTITY_COURSE:
        if (key == NULL || search_docs_lookups_put(ii->lookups, kind, key, (json_t *)stored) != 0) {
            import_abandon(ii, "a course without a key");
            return 0;
        }
        ii->course = json_incref((json_t *)stored);
        return 0;
    case ENTITY_PROGRAM:
        return import_program(ii, stored, err);
    default:
        return 0;
    }
}

int indexer_import_finish(void *ctx, struct error *err)
{
    struct indexer_import *ii = ctx;
    if (!ii->active || ii->abandoned)
        return 0;
    if (import_close_course(ii, err) != 0 || import_flush(ii, err) != 0)
        return -1;
    if (ii->abandoned)
        return 0;
    /* Read inside the transaction: the ids it wrote, no other's. */
    uint64_t count = 0;
    struct error ignored = {0};
    if (scan_outbox(ii->store, ii->head, UINT64_MAX, &count, &ii->last, &ignored) != 0) {
        import_abandon(ii, ignored.message);
        return 0;
    }
    /* The writer drains its queue while the store commits. */
    rebuild_done(&ii->r, false);
    ii->finished = true;
    return 0;
}

/* Moves the checkpoint up to the import's last outbox id, unless another
 * applier has moved it further meanwhile. */
static int import_checkpoint(struct indexer_import *ii, struct error *err)
{
    struct store *store = ii->store;
    uint64_t now_at;
    if (store_begin(store, err) != 0)
        return -1;
    int rc = store->driver->checkpoint_get(store, INDEXER_CHECKPOINT, &now_at, err);
    if (rc == 0 && now_at < ii->last)
        rc = store->driver->checkpoint_set(store, INDEXER_CHECKPOINT, ii->last, err);
    if (rc == 0)
        rc = store_commit(store, err);
    else
        store_rollback(store);
    if (rc == 0)
        ii->stats.checkpoint = now_at > ii->last ? now_at : ii->last;
    return rc;
}

int indexer_import_end(struct indexer_import *ii, bool committed, struct indexer_stats *stats,
                       struct error *err)
{
    if (ii == NULL)
        return 0;
    int rc = 0;
    if (ii->active) {
        struct error ignored = {0};
        const struct search_driver *d = ii->search->driver;
        if (!ii->finished)
            rebuild_done(&ii->r, true);
        bool written = rebuild_join(&ii->r, ii->writer, &ignored) == 0 && !ii->abandoned;
        if (committed && written) {
            rc = d->rebuild_end(ii->search, true, err);
            if (rc == 0)
                rc = import_checkpoint(ii, err);
            if (rc == 0) {
                above_prune(ii->stats.checkpoint);
                bump_index(ii->cache);
                ii->stats.rebuilt = true;
                ii->stats.during_import = true;
                if (stats != NULL)
                    *stats = ii->stats;
            }
        } else {
            d->rebuild_end(ii->search, false, &ignored);
        }
    }
    json_decref(ii->lookups);
    json_decref(ii->subjects);
    json_decref(ii->docs);
    json_decref(ii->refresh);
    json_decref(ii->course);
    json_decref(ii->runs);
    pthread_mutex_unlock(&apply_lock);
    free(ii);
    return rc;
}

/* ---- verify ---- */

struct compare {
    json_t *index; /* the index's digests; entries are removed as matched */
    FILE *out;
    size_t store_counts[SEARCH_CONTENT_COUNT];
    size_t differences;
};

static int compare_page(void *ctx, const json_t *docs, const json_t *refresh, struct error *err)
{
    struct compare *c = ctx;
    size_t i;
    json_t *doc;
    (void)err;
    (void)refresh;
    json_array_foreach(docs, i, doc)
    {
        const char *type = json_string_value(json_object_get(doc, "content_type"));
        const char *key = json_string_value(json_object_get(doc, "key"));
        for (int k = 0; k < SEARCH_CONTENT_COUNT; k++)
            if (strcmp(type, search_docs_content_name((enum search_content)k)) == 0)
                c->store_counts[k]++;
        json_t *held = json_object_get(c->index, type);
        const char *digest = json_string_value(json_object_get(held, key));
        char want[17];
        snprintf(want, sizeof want, "%016" PRIx64, search_doc_digest(doc));
        if (digest == NULL) {
            fprintf(c->out, "missing in index: %s %s\n", type, key);
            c->differences++;
            continue;
        }
        if (strcmp(digest, want) != 0) {
            fprintf(c->out, "different: %s %s (index %s, store %s)\n", type, key, digest, want);
            c->differences++;
        }
        json_object_del(held, key);
    }
    return 0;
}

int indexer_verify(struct store *store, struct search *search, FILE *out, size_t *differences,
                   struct error *err)
{
    struct compare c = {.out = out};
    *differences = 0;
    if (search->driver->digests == NULL)
        return error_set(err, ERR_UNSUPPORTED, "search driver %s cannot list its documents",
                         search->driver->name);
    if (search->driver->digests(search, &c.index, err) != 0)
        return -1;
    size_t index_counts[SEARCH_CONTENT_COUNT];
    for (int k = 0; k < SEARCH_CONTENT_COUNT; k++)
        index_counts[k] = json_object_size(
            json_object_get(c.index, search_docs_content_name((enum search_content)k)));
    if (each_doc_page(store, clock_now(), compare_page, &c, err) != 0) {
        json_decref(c.index);
        return -1;
    }
    for (int k = 0; k < SEARCH_CONTENT_COUNT; k++) {
        const char *type = search_docs_content_name((enum search_content)k);
        const char *key;
        json_t *unused;
        json_object_foreach(json_object_get(c.index, type), key, unused)
        {
            fprintf(out, "extra in index: %s %s\n", type, key);
            c.differences++;
        }
    }
    for (int k = 0; k < SEARCH_CONTENT_COUNT; k++)
        fprintf(out, "%s: store %zu, index %zu%s\n",
                search_docs_content_name((enum search_content)k), c.store_counts[k],
                index_counts[k], c.store_counts[k] == index_counts[k] ? "" : " (counts differ)");
    json_decref(c.index);
    *differences = c.differences;
    return 0;
}
