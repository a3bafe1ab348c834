/*
 * indexer_thread - the background indexer of normal and giant mode (see
 * indexer.h): writes return as soon as the store commits, and this thread
 * brings the index up to date behind them.
 */
#include "indexer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"

struct indexer_thread {
    struct store *store;
    struct search *search;
    struct cache *cache;
    struct indexer_thread_config config;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a signal or stop for the thread */
    pthread_cond_t done; /* a pass finished, for waiters */
    bool stop, signalled;
    _Atomic bool leader;
    _Atomic unsigned failures;
};

static struct timespec deadline_in(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The delay before the next pass after `failures` failed ones. */
static long backoff_ms(const struct indexer_thread_config *c, unsigned failures)
{
    if (failures == 0)
        return c->poll_ms;
    long ms = c->retry_min_ms;
    for (unsigned i = 1; i < failures && ms < c->retry_max_ms; i++)
        ms *= 2;
    return ms < c->retry_max_ms ? ms : c->retry_max_ms;
}

/* One pass: take (or keep) the lease, then apply what is pending.
 * Returns 0 (also when another process holds the lease) or -1. */
static int pass(struct indexer_thread *t, struct error *err)
{
    bool held = false;
    if (store_lease_try(t->store, INDEXER_LEASE_KEY, &held, err) != 0)
        return -1;
    bool was = atomic_exchange(&t->leader, held);
    if (held != was && t->store->driver->lease_try != NULL)
        log_msg(LOG_INFO, "indexer: %s the outbox lease", held ? "took" : "does not hold");
    if (!held)
        return 0;
    return indexer_catch_up(t->store, t->search, t->cache, NULL, err);
}

static void *run(void *arg)
{
    struct indexer_thread *t = arg;
    pthread_mutex_lock(&t->lock);
    t->signalled = true; /* start-up: apply what a crash left behind */
    while (!t->stop) {
        unsigned failures = atomic_load(&t->failures);
        struct timespec until = deadline_in(backoff_ms(&t->config, failures));
        /* While backing off a signal does not cut the wait short: the
         * search backend is down, and every write would retry at once. */
        while (!t->stop && !(t->signalled && failures == 0))
            if (pthread_cond_timedwait(&t->wake, &t->lock, &until) == ETIMEDOUT)
                break;
        if (t->stop)
            break;
        t->signalled = false;
        pthread_mutex_unlock(&t->lock);
        struct error err = {0};
        int rc = pass(t, &err);
        if (rc != 0) {
            unsigned n = atomic_fetch_add(&t->failures, 1) + 1;
            log_msg(n == 1 ? LOG_ERROR : LOG_WARN,
                    "indexer: pass failed (%u in a row; next try in %ld ms): %s", n,
                    backoff_ms(&t->config, n), err.message);
        } else {
            if (atomic_exchange(&t->failures, 0) > 0)
                log_msg(LOG_INFO, "indexer: caught up again");
        }
        pthread_mutex_lock(&t->lock);
        pthread_cond_broadcast(&t->done);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int indexer_thread_start(struct store *store, struct search *search, struct cache *cache,
                         const struct indexer_thread_config *config, struct indexer_thread **out,
                         struct error *err)
{
    *out = NULL;
    struct indexer_thread *t = calloc(1, sizeof *t);
    if (t == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    t->store = store;
    t->search = search;
    t->cache = cache;
    t->config = *config;
    if (t->config.poll_ms < 1)
        t->config.poll_ms = 1;
    if (t->config.retry_min_ms < 1)
        t->config.retry_min_ms = 1;
    if (t->config.retry_max_ms < t->config.retry_min_ms)
        t->config.retry_max_ms = t->config.retry_min_ms;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    pthread_cond_init(&t->done, NULL);
    if (pthread_create(&t->thread, NULL, run, t) != 0) {
        pthread_cond_destroy(&t->done);
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return error_set(err, ERR_INTERNAL, "cannot start the indexer thread");
    }
    *out = t;
    return 0;
}

void indexer_thread_signal(struct indexer_thread *t)
{
    pthread_mutex_lock(&t->lock);
    t->signalled = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
}

int indexer_thread_wait(struct indexer_thread *t, uint64_t id, long timeout_ms, bool *applied,
                        struct error *err)
{
    double end = indexer_monotonic() + (double)timeout_ms / 1000.0;
    *applied = false;
    indexer_thread_signal(t);
    for (;;) {
        if (indexer_applied(t->store, id, applied, err) != 0)
            return -1;
        double left = end - indexer_monotonic();
        if (*applied || left <= 0)
            return 0;
        /* Woken by this process's passes; another process's show only in
         * the store, so look again at least every 50 ms. */
        long ms = left < 0.05 ? (long)(left * 1000) + 1 : 50;
        struct timespec until = deadline_in(ms);
        pthread_mutex_lock(&t->lock);
        bool stopping = t->stop;
        if (!stopping)
            pthread_cond_timedwait(&t->done, &t->lock, &until);
        pthread_mutex_unlock(&t->lock);
        if (stopping)
            return 0;
    }
}

bool indexer_thread_leader(struct indexer_thread *t)
{
    return atomic_load(&t->leader);
}

unsigned indexer_thread_failures(struct indexer_thread *t)
{
    return atomic_load(&t->failures);
}

void indexer_thread_stop(struct indexer_thread *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_broadcast(&t->wake);
    pthread_cond_broadcast(&t->done);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->done);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
