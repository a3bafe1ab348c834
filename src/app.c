/*
 * app - opens what `catalogd serve` needs, in one place, and closes it in
 * reverse order.
 */
#include "app.h"

#include <jansson.h>
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

#define MAX_ISSUERS 16

/* Strings an issuer list borrows, freed together once auth_new copied
 * what it needs. */
struct auth_build {
    struct auth_issuer_config issuers[MAX_ISSUERS];
    size_t n;
    char *owned[MAX_ISSUERS * (AUTH_MAX_AUDIENCES + 4) + 4];
    size_t n_owned;
    json_t *doc;
};

static const char *keep(struct auth_build *b, char *s)
{
    if (s != NULL && b->n_owned < sizeof b->owned / sizeof b->owned[0])
        b->owned[b->n_owned++] = s;
    else if (s != NULL) {
        free(s);
        return NULL;
    }
    return s;
}

/* Splits a comma-separated audience list into issuer->audiences. */
static int split_audiences(struct auth_build *b, struct auth_issuer_config *is, const char *list,
                           struct error *err)
{
    const char *p = list;
    while (*p != '\0') {
        p += strspn(p, ", \t");
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0)
            break;
        if (is->n_audiences == AUTH_MAX_AUDIENCES)
            return error_set(err, ERR_CONFIG, "auth.audience: more than %d audiences",
                             AUTH_MAX_AUDIENCES);
        const char *a = keep(b, strndup(p, len));
        if (a == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        is->audiences[is->n_audiences++] = a;
        p += strcspn(p, ",");
    }
    return 0;
}

/* A file named in the issuers file, relative to that file's directory. */
static const char *resolve_beside(struct auth_build *b, const char *file, const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '/')
        return name;
    const char *slash = strrchr(file, '/');
    int dir = slash != NULL ? (int)(slash - file) : 1;
    char *path = NULL;
    if (asprintf(&path, "%.*s/%s", dir, slash != NULL ? file : ".", name) < 0)
        return NULL;
    return keep(b, path);
}

static int issuers_from_file(struct auth_build *b, const char *file, struct error *err)
{
    json_error_t jerr;
    b->doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (b->doc == NULL)
        return error_set(err, ERR_CONFIG, "auth.issuers_file %s: %s (line %d)", file, jerr.text,
                         jerr.line);
    if (!json_is_array(b->doc))
        return error_set(err, ERR_CONFIG, "auth.issuers_file %s: expected a JSON list", file);
    size_t i;
    json_t *item;
    json_array_foreach(b->doc, i, item)
    {
        if (b->n == MAX_ISSUERS)
            return error_set(err, ERR_CONFIG, "auth: more than %d issuers", MAX_ISSUERS);
        struct auth_issuer_config *is = &b->issuers[b->n];
        memset(is, 0, sizeof *is);
        is->issuer = json_string_value(json_object_get(item, "ISSUER"));
        if (!json_is_object(item) || is->issuer == NULL || is->issuer[0] == '\0')
            return error_set(err, ERR_CONFIG, "auth.issuers_file %s: entry %zu has no ISSUER", file,
                             i + 1);
        json_t *aud = json_object_get(item, "AUDIENCE");
        if (json_is_string(aud)) {
            is->audiences[is->n_audiences++] = json_string_value(aud);
        } else if (json_is_array(aud)) {
            size_t j;
            json_t *a;
            json_array_foreach(aud, j, a)
            {
                if (!json_is_string(a) || is->n_audiences == AUTH_MAX_AUDIENCES)
                    return error_set(err, ERR_CONFIG,
                                     "auth.issuers_file %s: entry %zu: AUDIENCE must be at most "
                                     "%d strings",
                                     file, i + 1, AUTH_MAX_AUDIENCES);
                is->audiences[is->n_audiences++] = json_string_value(a);
            }
        } else {
            return error_set(err, ERR_CONFIG,
                             "auth.issuers_file %s: entry %zu: AUDIENCE must be a string or list",
                             file, i + 1);
        }
        is->hs256_secret = json_string_value(json_object_get(item, "SECRET_KEY"));
        is->rsa_public_key_file =
            resolve_beside(b, file, json_string_value(json_object_get(item, "PUBLIC_KEY_FILE")));
        is->jwks_file =
            resolve_beside(b, file, json_string_value(json_object_get(item, "JWKS_FILE")));
        b->n++;
    }
    return 0;
}

int app_auth_new(const struct config *config, struct auth **out, struct error *err)
{
    *out = NULL;
    struct auth_build *b = calloc(1, sizeof *b);
    if (b == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    int rc = 0;
    const char *issuer = config_get(config, "auth.issuer");
    if (issuer[0] != '\0') {
        struct auth_issuer_config *is = &b->issuers[b->n++];
        is->issuer = issuer;
        is->hs256_secret = config_get(config, "auth.hs256_secret");
        is->rsa_public_key_file = config_get(config, "auth.public_key_file");
        is->jwks_file = config_get(config, "auth.jwks_file");
        rc = split_audiences(b, is, config_get(config, "auth.audience"), err);
    }
    const char *file = config_get(config, "auth.issuers_file");
    if (rc == 0 && file[0] != '\0')
        rc = issuers_from_file(b, file, err);
    if (rc == 0) {
        struct auth_config ac = {
            .issuers = b->issuers,
            .n_issuers = b->n,
            .leeway = (long)config_int(config, "auth.leeway"),
            .max_token_length = (size_t)config_int(config, "auth.max_token_bytes"),
            .read = strcmp(config_get(config, "auth.read"), "authenticated") == 0
                        ? AUTH_READ_AUTHENTICATED
                        : AUTH_READ_PUBLIC,
            .read_scope = config_get(config, "auth.read_scope"),
            .write_scope = config_get(config, "auth.write_scope"),
        };
        rc = auth_new(&ac, out, err);
    }
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    json_decref(b->doc);
    free(b);
    return rc;
}

static int open_rate_limiter(struct app *app, const struct config *config, struct error *err)
{
    if (trusted_proxies_parse(config_get(config, "ratelimit.trusted_proxies"), &app->proxies,
                              err) != 0) {
        error_prefix(err, "ratelimit.trusted_proxies");
        return -1;
    }
    if (!config_bool(config, "ratelimit.enabled"))
        return 0;
    struct rl_config rl;
    rl_config_defaults(&rl);
    static const char *const names[RL_N_CLASSES] = {"anonymous", "authenticated", "staff"};
    for (int c = 0; c < RL_N_CLASSES; c++) {
        char key[64];
        snprintf(key, sizeof key, "ratelimit.%s_rate", names[c]);
        rl.limits[c].rate = (double)config_int(config, key);
        snprintf(key, sizeof key, "ratelimit.%s_burst", names[c]);
        rl.limits[c].burst = (double)config_int(config, key);
    }
    rl.max_keys = (size_t)config_int(config, "ratelimit.max_keys");
    return rate_limiter_memory_new(&rl, &app->limiter, err);
}

int app_may_write(const struct app *app, const struct caller *caller, struct error *err)
{
    /* An anonymous caller is staff only through auth.allow_anonymous_writes
     * (the server sets it so): the development switch. */
    if (caller->staff)
        return 0;
    if (app->auth == NULL)
        return error_set(err, ERR_FORBIDDEN, "you do not have permission to perform this action");
    struct auth_identity id = {.caller = *caller, .scopes = caller->scopes};
    return auth_may_write(app->auth, &id, err);
}

/* Brings the index up to date with the store (inline), or starts the
 * thread that does (search.indexer = thread). */
static int start_indexer(struct app *app, const struct config *config, struct error *err)
{
    indexer_set_gap_timeout_ms((long)config_int(config, "search.gap_timeout") * 1000);
    app->wait_for_index = config_bool(config, "search.wait_for_index");
    app->index_wait_timeout = (long)config_int(config, "search.wait_timeout");
    if (strcmp(config_get(config, "search.indexer"), "thread") == 0) {
        /* API threads query the same handle the thread writes, and a
         * rebuild would show them the half-built index: backlogs are
         * replayed change by change (reindex runs in its own process). */
        indexer_set_rebuild_threshold(0);
        struct indexer_thread_config tc = {
            .poll_ms = (long)config_int(config, "search.poll_interval"),
            .retry_min_ms = (long)config_int(config, "search.retry_min"),
            .retry_max_ms = (long)config_int(config, "search.retry_max"),
        };
        /* Its first pass applies what a crash left in the outbox. */
        return indexer_thread_start(app->store, app->search, app->cache, &tc, &app->indexer, err);
    }
    /* A crash between a commit and its indexing left changes in the
     * outbox: apply them before serving.  An index that cannot be brought
     * up to date does not stop the catalog API; /readyz shows the lag and
     * the next write tries again. */
    struct indexer_stats stats = {0};
    struct error ierr = {0};
    if (indexer_catch_up(app->store, app->search, app->cache, &stats, &ierr) != 0)
        log_msg(LOG_ERROR, "search index: catching up with the store failed: %s", ierr.message);
    else if (stats.changes > 0 || stats.rebuilt)
        log_msg(LOG_INFO, "search index: applied %zu pending changes (%zu documents%s)",
                stats.changes, stats.indexed + stats.removed,
                stats.rebuilt ? ", by a rebuild" : "");
    /* See above: no rebuilds under live readers. */
    indexer_set_rebuild_threshold(0);
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
    if (app->search != NULL && start_indexer(app, config, err) != 0)
        goto fail;
    if (open_metrics(app, err) != 0)
        goto fail;
    if (app_auth_new(config, &app->auth, err) != 0)
        goto fail;
    if (open_rate_limiter(app, config, err) != 0)
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
    rate_limiter_free(app->limiter);
    app->limiter = NULL;
    trusted_proxies_free(app->proxies);
    app->proxies = NULL;
    auth_free(app->auth);
    app->auth = NULL;
    metrics_free(app->metrics);
    app->metrics = NULL;
    /* Before the backends it borrows. */
    indexer_thread_stop(app->indexer);
    app->indexer = NULL;
    search_close(app->search);
    app->search = NULL;
    cache_close(app->cache);
    app->cache = NULL;
    store_close(app->store);
    app->store = NULL;
}
