/*
 * app - opens what `catalogd serve` needs, in one place, and closes it in
 * reverse order.
 */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_router.h"
#include "indexer.h"
#include "log.h"
#include "metrics.h"

static int open_metrics(struct app *app, struct error *err)
{
    const char **names = calloc(catalog_routes_count, sizeof *names);
    if (names == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < catalog_routes_count; i++)
        names[i] = catalog_routes[i].name;
    app->metrics = metrics_new(names, catalog_routes_count);
    free(names);
    if (app->metrics == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

int app_open(struct app *app, const struct config *config, struct error *err)
{
    memset(app, 0, sizeof *app);
    app->config = config;
    snprintf(app->public_url, sizeof app->public_url, "%s",
             config_get(config, "server.public_url"));
    size_t len = strlen(app->public_url);
    while (len > 0 && app->public_url[len - 1] == '/')
        app->public_url[--len] = '\0';
    app->page_size_default = (size_t)config_int(config, "api.page_size_default");
    app->page_size_max = (size_t)config_int(config, "api.page_size_max");
    if (app->page_size_default > app->page_size_max)
        app->page_size_default = app->page_size_max;
    app->allow_anonymous_writes = config_bool(config, "auth.allow_anonymous_writes");

    if (store_open(config, &app->store, err) != 0) {
        error_prefix(err, "store (%s)", config_get(config, "store.driver"));
        goto fail;
    }
    if (cache_open(config, &app->cache, err) != 0) {
        error_prefix(err, "cache (%s)", config_get(config, "cache.driver"));
        goto fail;
    }
    indexer_set_batch_size((size_t)config_int(config, "search.batch_size"));
    if (search_open(config, &app->search, err) != 0) {
        error_prefix(err, "search (%s)", config_get(config, "search.driver"));
        goto fail;
    }
    if (app->search != NULL) {
        /* A crash between a commit and its indexing left changes in the
         * outbox: apply them before serving.  An index that cannot be
         * brought up to date does not stop the catalog API; /readyz shows
         * the lag and the next write tries again. */
        struct indexer_stats stats = {0};
        struct error ierr = {0};
        if (indexer_catch_up(app->store, app->search, app->cache, &stats, &ierr) != 0)
            log_msg(LOG_ERROR, "search index: catching up with the store failed: %s", ierr.message);
        else if (stats.changes > 0)
            log_msg(LOG_INFO, "search index: applied %zu pending changes (%zu documents)",
                    stats.changes, stats.indexed + stats.removed);
    }
    if (open_metrics(app, err) != 0)
        goto fail;
    if (app->allow_anonymous_writes)
        log_msg(LOG_WARN, "auth.allow_anonymous_writes is on: ANY client can change the catalog "
                          "(a development switch; never use it on a reachable address)");
    return 0;
fail:
    app_close(app);
    return -1;
}

void app_close(struct app *app)
{
    metrics_free(app->metrics);
    app->metrics = NULL;
    search_close(app->search);
    app->search = NULL;
    cache_close(app->cache);
    app->cache = NULL;
    store_close(app->store);
    app->store = NULL;
}
