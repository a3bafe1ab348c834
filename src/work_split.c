/*
 * work_split - see work_split.h.  A thread per call, not a pool: a call is
 * a block of about a thousand lines (milliseconds of work), so starting a
 * thread (tens of microseconds) costs nothing worth a pool's bookkeeping.
 */
#include "work_split.h"

#include <pthread.h>

struct half {
    work_split_fn *fn;
    void *ctx;
    size_t from, to;
};

static void *run_half(void *arg)
{
    const struct half *h = arg;
    for (size_t i = h->from; i < h->to; i++)
        h->fn(h->ctx, i, 1);
    return NULL;
}

void work_split(size_t n, size_t min_split, work_split_fn *fn, void *ctx)
{
    struct half helper = {.fn = fn, .ctx = ctx, .from = 0, .to = n / 2};
    pthread_t thread;
    size_t from = 0;
    if (n >= min_split && n >= 2 && pthread_create(&thread, NULL, run_half, &helper) == 0)
        from = helper.to;
    else
        helper.to = 0;
    for (size_t i = from; i < n; i++)
        fn(ctx, i, 0);
    if (helper.to > 0)
        pthread_join(thread, NULL);
}
