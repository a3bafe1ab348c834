/*
 * app - what every handler can reach: the config and the open backends.
 * Built once by `catalogd serve` (app.c) and read-only afterwards.
 */
#ifndef CATALOGD_APP_H
#define CATALOGD_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "config.h"
#include "error.h"
#include "search.h"
#include "store.h"

struct metrics;

struct app {
    const struct config *config;
    struct store *store;
    struct cache *cache;   /* NULL when [cache] driver = none */
    struct search *search; /* NULL until a search driver is configured */
    struct metrics *metrics;
    char public_url[512]; /* [server] public_url without a trailing '/' */
    size_t page_size_default;
    size_t page_size_max;
    bool allow_anonymous_writes;
};

/* Opens every configured backend.  On failure returns -1 with err set and
 * nothing left open.  app_close releases what app_open opened. */
int app_open(struct app *app, const struct config *config, struct error *err);
void app_close(struct app *app);

#endif
