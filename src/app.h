/*
 * app - what every handler can reach: the config and the open backends.
 * Built once by `catalogd serve` (app.c) and read-only afterwards.
 */
#ifndef CATALOGD_APP_H
#define CATALOGD_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "cache.h"
#include "config.h"
#include "error.h"
#include "rate_limit.h"
#include "search.h"
#include "store.h"

struct metrics;
struct indexer_thread;

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
    /* Token verification and the read/write decisions ([auth]); always
     * built by app_open, with no issuers when none is configured (then
     * every token is refused).  NULL in unit tests that build an app by
     * hand: handlers then fall back to caller.staff. */
    struct auth *auth;
    /* Per-caller token buckets; NULL when ratelimit.enabled is off. */
    struct rate_limiter *limiter;
    /* Peers whose X-Forwarded-For names the client; never NULL after
     * app_open (an empty list trusts none). */
    struct trusted_proxies *proxies;
    /* The background indexer (search.indexer = thread); NULL when the
     * writing request indexes inline, or without search. */
    struct indexer_thread *indexer;
    bool wait_for_index;     /* search.wait_for_index */
    long index_wait_timeout; /* search.wait_timeout, milliseconds */
};

/* Opens every configured backend.  On failure returns -1 with err set and
 * nothing left open.  app_close releases what app_open opened. */
int app_open(struct app *app, const struct config *config, struct error *err);
void app_close(struct app *app);

/* Builds the auth of config's [auth] section (auth.issuer and the issuers
 * of auth.issuers_file).  Returns 0 with *out owned by the caller
 * (auth_free), or -1 with ERR_CONFIG naming the setting or file, never a
 * secret. */
int app_auth_new(const struct config *config, struct auth **out, struct error *err);

/* Whether caller may write: 0, or -1 with ERR_UNAUTHORIZED (anonymous) or
 * ERR_FORBIDDEN (authenticated without the right).  Staff always may (the
 * server makes anonymous callers staff under auth.allow_anonymous_writes);
 * others need the write scope.  Without an auth (unit tests) non-staff
 * callers get ERR_FORBIDDEN. */
int app_may_write(const struct app *app, const struct caller *caller, struct error *err);

#endif
