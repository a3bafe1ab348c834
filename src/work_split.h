/*
 * work_split - one loop's iterations shared between the calling thread
 * and one helper thread, for work whose items are independent (the
 * import's parse of a block of lines).
 */
#ifndef CATALOGD_WORK_SPLIT_H
#define CATALOGD_WORK_SPLIT_H

#include <stddef.h>

/* Called for item i by the thread part says (0: the caller, 1: the
 * helper), so that fn can keep per-thread state in ctx. */
typedef void work_split_fn(void *ctx, size_t i, int part);

/* Calls fn(ctx, i, part) once for every i in [0, n): the first half on a
 * helper thread (part 1), the rest on the calling thread (part 0), and
 * returns when both are done.  Below min_split items, or when no thread
 * can be started, the caller does them all; the result is the same. */
void work_split(size_t n, size_t min_split, work_split_fn *fn, void *ctx);

#endif
