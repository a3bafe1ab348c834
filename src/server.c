/*
 * server - catalogd's HTTP front: a libmicrohttpd daemon (internal polling
 * thread, epoll, a thread pool) whose access handler turns each request
 * into a struct http_request, routes it through catalog_routes and sends
 * back the handler's struct http_response.
 *
 * libmicrohttpd 0.9.75 calls the access handler several times per request.
 * The first call only says "headers are in": answering then would make it
 * send Connection: close (every request would pay a new TCP connection),
 * so we answer only on the final call (*upload_data_size == 0 after the
 * body), except to refuse an oversized body, where closing is the point.
 *
 * The raw query string is taken in the URI log callback, which sees the
 * request target before libmicrohttpd unescapes it, so that '+' and %2B
 * and malformed escapes are decoded by query_params_parse per the API
 * contract.
 *
 * GET and HEAD on the catalog API go through the response cache
 * (response_cache.h) around the handler: a hit skips the handler, a miss
 * offers the handler's response to the cache, and either says so in an
 * X-Cache header.
 *
 * Requests under /api/ are authenticated and rate limited before routing
 * (docs/security.md): the Authorization header is verified once, the
 * caller's bucket (token subject, else client IP) is charged, a bad token
 * or a read without the required token gets 401 with WWW-Authenticate, and
 * only then is the response cache consulted, under the caller's visibility
 * class, so a cached response never reaches a caller who may not see it.
 * Operational routes (/health/, /healthz, /readyz, /metrics) skip both:
 * probes carry no token and must not be throttled.  Accepted tokens are
 * remembered briefly (auth_cache.h), so a client's every request does not
 * pay another signature check.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_search.h"
#include "app.h"
#include "auth.h"
#include "auth_cache.h"
#include "http.h"
#include "http_listener.h"
#include "http_router.h"
#include "log.h"
#include "metrics.h"
#include "query_params.h"
#include "rate_limit.h"
#include "cache_refresher.h"
#include "response_cache.h"

#define REQUEST_ID_MAX 128
#define API_PREFIX "/api/"
/* The longest Origin we compare against the allowed list. */
#define ORIGIN_MAX 512
/* Verified tokens remembered (auth_cache.h): at most 2 MiB of headers. */
#define TOKEN_CACHE_ENTRIES 1024

struct server {
    struct app *app;
    size_t max_body;
    size_t max_url;
    /* server.cors_origins as configured (comma-separated), "" when off. */
    const char *cors_origins;
    /* Tokens verified recently; NULL (verify every time) if out of memory. */
    struct auth_cache *tokens;
    atomic_int in_flight;
    atomic_bool draining;
    /* Recomputes expired cache entries off the workers; NULL without a
     * cache (or when it could not start: workers then refresh inline). */
    struct cache_refresher *refresher;
    char id_prefix[17];
    atomic_uint_fast64_t id_counter;
};

/* One request's state, created in the URI log callback and freed when
 * libmicrohttpd reports the request completed. */
struct request_state {
    struct timespec start;
    bool headers_seen;
    bool responded;
    bool too_large;
    size_t target_len; /* bytes of the request target, query included */
    char *raw_query;   /* NULL when the target had no '?' */
    char *body;
    size_t body_len, body_cap;
};

static uint64_t elapsed_us(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t us =
        (int64_t)(now.tv_sec - start->tv_sec) * 1000000 + (now.tv_nsec - start->tv_nsec) / 1000;
    return us > 0 ? (uint64_t)us : 0;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    struct server *srv = cls;
    struct request_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &st->start);
    st->target_len = uri != NULL ? strlen(uri) : 0;
    const char *q = uri != NULL ? strchr(uri, '?') : NULL;
    if (q != NULL) {
        size_t len = strcspn(q + 1, "#");
        st->raw_query = strndup(q + 1, len);
    }
    atomic_fetch_add(&srv->in_flight, 1);
    return st;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)conn;
    (void)code;
    struct server *srv = cls;
    struct request_state *st = *con_cls;
    if (st == NULL)
        return;
    free(st->raw_query);
    free(st->body);
    free(st);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->in_flight, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    log_msg(LOG_DEBUG, "libmicrohttpd: %s", line);
}

static enum http_method parse_method(const char *name)
{
    static const struct {
        const char *name;
        enum http_method method;
    } methods[] = {{"GET", HTTP_GET},        {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
                   {"PUT", HTTP_PUT},        {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
                   {"OPTIONS", HTTP_OPTIONS}};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].method;
    return (enum http_method)0;
}

/* A client's X-Request-Id is echoed and logged, so only a short token of
 * safe characters is taken; anything else gets an id of ours. */
static bool request_id_sane(const char *id)
{
    size_t len = 0;
    for (const char *p = id; *p != '\0'; p++, len++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok || len >= REQUEST_ID_MAX)
            return false;
    }
    return len > 0;
}

static void make_request_id(struct server *srv, struct MHD_Connection *conn, char *out, size_t size)
{
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given != NULL && request_id_sane(given)) {
        snprintf(out, size, "%s", given);
        return;
    }
    /* A random per-process prefix and a counter: unique across restarts
     * and instances without a syscall per request.  Formatted by hand:
     * snprintf was a twentieth of a cached GET's own instructions. */
    uint64_t n = atomic_fetch_add_explicit(&srv->id_counter, 1, memory_order_relaxed);
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    size_t nd = 0;
    do {
        digits[nd++] = hex[n & 15];
        n >>= 4;
    } while (n != 0);
    size_t plen = sizeof srv->id_prefix - 1;
    if (size < plen + 1 + nd + 1) {
        out[0] = '\0';
        return;
    }
    memcpy(out, srv->id_prefix, plen);
    out[plen] = '-';
    for (size_t i = 0; i < nd; i++)
        out[plen + 1 + i] = digits[nd - 1 - i];
    out[plen + 1 + nd] = '\0';
}

/* Headers beyond what struct http_response carries. */
struct reply_meta {
    const char *x_cache;          /* X-Cache, or NULL */
    const char *www_authenticate; /* for a 401; NULL: a generic one */
    unsigned retry_after;         /* seconds for a 429, 0 for none */
    bool no_store;                /* Cache-Control: no-store */
    bool close;
};

/* True when origin is one of the comma-separated allowed origins ("*"
 * allows any).  Compared exactly: an origin is scheme://host[:port]. */
static bool cors_allowed(const char *allowed, const char *origin)
{
    if (allowed[0] == '\0' || origin == NULL || origin[0] == '\0')
        return false;
    size_t olen = strlen(origin);
    const char *p = allowed;
    while (*p != '\0') {
        p += strspn(p, ", \t");
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if ((len == 1 && p[0] == '*') || (len == olen && strncmp(p, origin, len) == 0))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

static void add_cors_headers(struct server *srv, struct MHD_Connection *conn,
                             struct MHD_Response *r)
{
    if (srv->cors_origins[0] == '\0')
        return;
    /* The answer depends on Origin even when it is refused: shared caches
     * must not hand one origin's answer to another. */
    MHD_add_response_header(r, "Vary", "Origin");
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (origin == NULL || strlen(origin) > ORIGIN_MAX || !cors_allowed(srv->cors_origins, origin))
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "Location, Retry-After, WWW-Authenticate, X-Cache, X-Request-Id");
}

static void add_security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* JSON is never a document to render: nothing may load or frame it. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

/* Sends resp (taking its body) and records the request.  route_index is
 * catalog_routes_count for requests that matched no route. */
static enum MHD_Result send_response(struct server *srv, struct MHD_Connection *conn,
                                     struct request_state *st, const char *method, const char *path,
                                     const char *request_id, struct http_response *resp,
                                     size_t route_index, const struct reply_meta *meta)
{
    if (resp->status == 0) {
        /* A handler that set nothing is a bug; the client still gets JSON. */
        struct error err;
        error_set(&err, ERR_INTERNAL, "handler gave no response");
        http_respond_error(resp, &err);
    }
    struct MHD_Response *r;
    if (resp->body == NULL)
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else if (resp->body_release != NULL)
        /* A cache hit: libmicrohttpd sends the entry's bytes in place and
         * gives them back when the response is destroyed (after the send). */
        r = MHD_create_response_from_buffer_with_free_callback_cls(
            resp->body_len, resp->body, resp->body_release, resp->body_cls);
    else
        r = MHD_create_response_from_buffer_with_free_callback_cls(resp->body_len, resp->body, free,
                                                                   resp->body);
    if (r == NULL) {
        http_response_free_body(resp);
        return MHD_NO;
    }
    /* libmicrohttpd owns it now */
    resp->body = NULL;
    resp->body_release = NULL;
    resp->body_cls = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type != NULL ? resp->content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", request_id);
    add_security_headers(r);
    if (resp->allow[0] != '\0')
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
    if (resp->location[0] != '\0')
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
    if (meta->x_cache != NULL)
        MHD_add_response_header(r, "X-Cache", meta->x_cache);
    if (resp->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                meta->www_authenticate != NULL ? meta->www_authenticate
                                                               : "Bearer realm=\"catalogd\"");
    if (meta->retry_after > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", meta->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    /* What a caller with credentials saw, and refusals, are for that
     * caller only, and only now. */
    if (meta->no_store || resp->status >= 400)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    add_cors_headers(srv, conn, r);
    if (meta->close || atomic_load_explicit(&srv->draining, memory_order_relaxed))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    if (ret != MHD_YES)
        return ret;
    st->responded = true;
    uint64_t us = elapsed_us(&st->start);
    metrics_observe_request(srv->app->metrics, route_index, resp->status, us);
    log_access(method, path, resp->status, us, request_id);
    return ret;
}

static enum MHD_Result respond_too_large(struct server *srv, struct MHD_Connection *conn,
                                         struct request_state *st, const char *method,
                                         const char *url)
{
    char request_id[REQUEST_ID_MAX + 1];
    make_request_id(srv, conn, request_id, sizeof request_id);
    struct http_response resp = {0};
    struct error err;
    error_set(&err, ERR_TOO_LARGE, "Request body is larger than %zu bytes.", srv->max_body);
    http_respond_error(&resp, &err);
    struct reply_meta meta = {.close = true};
    return send_response(srv, conn, st, method, url, request_id, &resp, catalog_routes_count,
                         &meta);
}

static enum MHD_Result respond_uri_too_long(struct server *srv, struct MHD_Connection *conn,
                                            struct request_state *st, const char *method)
{
    char request_id[REQUEST_ID_MAX + 1];
    make_request_id(srv, conn, request_id, sizeof request_id);
    struct http_response resp = {0};
    char msg[128];
    snprintf(msg, sizeof msg, "Request URI is longer than %zu bytes.", srv->max_url);
    http_respond_detail(&resp, 414, msg);
    struct reply_meta meta = {.close = true};
    /* The path is not logged: it is the oversized part. */
    return send_response(srv, conn, st, method, "(too long)", request_id, &resp,
                         catalog_routes_count, &meta);
}

/* The peer's address as text (for the rate limit key); "" if unknown. */
static void peer_address(struct MHD_Connection *conn, char *out, size_t size)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* The gate in front of the catalog API: who is calling, whether they are
 * over their rate, whether they may read.  Returns true when the request
 * may go on, with *id the caller; false with resp and meta set. */
static bool api_gate(struct server *srv, struct MHD_Connection *conn, enum http_method method,
                     struct auth_identity *id, struct http_response *resp, struct reply_meta *meta)
{
    struct app *app = srv->app;
    struct error aerr = {0};
    const char *authorization =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    time_t now = time(NULL);
    int auth_rc = 0;
    if (app->auth != NULL && !auth_cache_get(srv->tokens, authorization, now, id)) {
        auth_rc = auth_authenticate(app->auth, authorization, now, id, &aerr);
        if (auth_rc == 0 && id->caller.authenticated)
            auth_cache_put(srv->tokens, authorization, now, id);
    }
    if (id->caller.authenticated)
        meta->no_store = true;

    if (app->limiter != NULL) {
        /* Keys live on the stack: the common path allocates nothing. */
        char key[160];
        enum rl_class cls = RL_ANONYMOUS;
        if (id->caller.authenticated) {
            snprintf(key, sizeof key, "sub:%s", id->caller.subject);
            cls = id->caller.staff ? RL_STAFF : RL_AUTHENTICATED;
        } else {
            char peer[INET6_ADDRSTRLEN + 1], client[INET6_ADDRSTRLEN + 1];
            peer_address(conn, peer, sizeof peer);
            client_ip_pick(app->proxies, peer,
                           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"),
                           client, sizeof client);
            snprintf(key, sizeof key, "ip:%s", client);
        }
        struct rl_decision d = {0};
        struct error rerr = {0};
        /* A limiter that cannot decide lets the request through: a broken
         * limiter must not take the catalog down. */
        if (rate_limiter_check(app->limiter, key, cls, &d, &rerr) == 0 && !d.allowed) {
            char msg[96];
            snprintf(msg, sizeof msg, "Request was throttled. Expected available in %u seconds.",
                     d.retry_after);
            http_respond_detail(resp, 429, msg);
            meta->retry_after = d.retry_after;
            return false;
        }
    }
    if (auth_rc != 0) {
        /* A bad token is refused even where none is needed, so that a
         * broken client notices rather than silently reading as anonymous. */
        static _Thread_local char challenge[sizeof aerr.message + 96];
        auth_www_authenticate(&aerr, challenge, sizeof challenge);
        meta->www_authenticate = challenge;
        http_respond_detail(resp, 401, aerr.message);
        return false;
    }
    if ((method == HTTP_GET || method == HTTP_HEAD) && app->auth != NULL &&
        auth_may_read(app->auth, id, &aerr) != 0) {
        http_respond_detail(resp, 401, "Authentication credentials were not provided.");
        return false;
    }
    if (!id->caller.authenticated)
        id->caller.staff = app->allow_anonymous_writes;
    return true;
}

/* A CORS preflight from an allowed origin: 204 with what may be sent. */
static bool is_preflight(struct server *srv, struct MHD_Connection *conn, enum http_method method)
{
    if (method != HTTP_OPTIONS || srv->cors_origins[0] == '\0')
        return false;
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *wanted =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Method");
    return wanted != NULL && origin != NULL && strlen(origin) <= ORIGIN_MAX &&
           cors_allowed(srv->cors_origins, origin);
}

static enum MHD_Result respond_preflight(struct server *srv, struct MHD_Connection *conn,
                                         struct request_state *st, const char *method,
                                         const char *url, const char *request_id)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "X-Request-Id", request_id);
    add_security_headers(r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods",
                            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, X-Request-Id");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    add_cors_headers(srv, conn, r);
    enum MHD_Result ret = MHD_queue_response(conn, 204, r);
    MHD_destroy_response(r);
    if (ret != MHD_YES)
        return ret;
    st->responded = true;
    uint64_t us = elapsed_us(&st->start);
    metrics_observe_request(srv->app->metrics, catalog_routes_count, 204, us);
    log_access(method, url, 204, us, request_id);
    return ret;
}

static int append_body(struct request_state *st, const char *data, size_t len)
{
    if (st->body_len + len + 1 > st->body_cap) {
        size_t cap = st->body_cap ? st->body_cap : 1024;
        while (cap < st->body_len + len + 1)
            cap *= 2;
        char *grown = realloc(st->body, cap);
        if (grown == NULL)
            return -1;
        st->body = grown;
        st->body_cap = cap;
    }
    memcpy(st->body + st->body_len, data, len);
    st->body_len += len;
    st->body[st->body_len] = '\0';
    return 0;
}

/* Routes the complete request and answers it. */
static enum MHD_Result dispatch(struct server *srv, struct MHD_Connection *conn,
                                struct request_state *st, const char *url, const char *method)
{
    char request_id[REQUEST_ID_MAX + 1];
    make_request_id(srv, conn, request_id, sizeof request_id);
    struct http_response resp = {0};
    struct error err = {0};
    struct query_params query = {0};
    size_t route_index = catalog_routes_count;

    struct reply_meta meta = {0};
    enum http_method m = parse_method(method);
    if (is_preflight(srv, conn, m))
        return respond_preflight(srv, conn, st, method, url, request_id);
    /* Matched first only to tell the operational routes apart by their
     * pattern (never by the raw URL, which may be spelled many ways);
     * everything else, unknown paths included, passes the gate. */
    struct route_params params;
    char allow[sizeof resp.allow] = {0};
    struct error route_err = {0};
    const struct route *route = router_match(catalog_routes, catalog_routes_count, m, url, &params,
                                             allow, sizeof allow, &route_err);
    bool ops = route != NULL && strncmp(route->pattern, API_PREFIX, sizeof API_PREFIX - 1) != 0;
    struct auth_identity id = {0};
    if (!ops && !api_gate(srv, conn, m, &id, &resp, &meta))
        return send_response(srv, conn, st, method, url, request_id, &resp, route_index, &meta);
    if (query_params_parse(st->raw_query, &query, &err) != 0) {
        http_respond_error(&resp, &err);
        return send_response(srv, conn, st, method, url, request_id, &resp, route_index, &meta);
    }
    struct http_request req = {
        .method = m,
        .method_name = method,
        .path = url,
        .query = &query,
        .body = st->body != NULL ? st->body : "",
        .body_len = st->body_len,
        .content_type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .request_id = request_id,
        .caller = id.caller,
    };
    struct response_cache_probe probe; /* the key buffer needs no clearing */
    probe.active = probe.hit = probe.stale = false;
    if (route == NULL) {
        memcpy(resp.allow, allow, sizeof resp.allow);
        if (route_err.code == ERR_NOT_FOUND)
            http_respond_detail(&resp, 404, "Not found.");
        else
            http_respond_error(&resp, &route_err);
    } else {
        route_index = (size_t)(route - catalog_routes);
        if (response_cache_scope(route, &req) == RESPONSE_CACHE_SEARCH)
            api_search_refresh_if_due(srv->app);
        int cached =
            srv->refresher != NULL
                ? response_cache_lookup_lending(srv->app->cache, route, &req, &probe, &resp)
                : response_cache_lookup(srv->app->cache, route, &req, &probe, &resp);
        /* The stale bytes go out now; the page is recomputed off this
         * worker, or here as before if it cannot be queued. */
        if (cached == 1 && probe.refresh &&
            !cache_refresher_queue(srv->refresher, route, &params, &req, st->raw_query, &probe)) {
            http_response_free_body(&resp);
            probe.hit = probe.stale = probe.refresh = false;
            cached = 0;
        }
        if (cached != 1) {
            route->handler(srv->app, &req, route, &params, &resp);
            response_cache_store(srv->app->cache, &probe, &resp);
        }
    }
    /* X-Cache only on responses the cache was asked about. */
    meta.x_cache = probe.hit ? (probe.stale ? "stale" : "hit") : probe.active ? "miss" : NULL;
    enum MHD_Result ret =
        send_response(srv, conn, st, method, url, request_id, &resp, route_index, &meta);
    query_params_free(&query);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct server *srv = cls;
    struct request_state *st = *con_cls;
    if (st == NULL) /* the URI callback ran out of memory */
        return MHD_NO;
    if (!st->headers_seen) {
        st->headers_seen = true;
        if (st->target_len > srv->max_url) {
            st->too_large = true;
            return respond_uri_too_long(srv, conn, st, method);
        }
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length != NULL) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(length, &end, 10);
            if (errno == ERANGE || n > srv->max_body) {
                st->too_large = true;
                return respond_too_large(srv, conn, st, method, url);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->responded || st->too_large)
            return MHD_YES;
        if (st->body_len + n > srv->max_body) {
            /* A chunked body grew past the limit: refuse it now rather than
             * reading the rest. */
            st->too_large = true;
            respond_too_large(srv, conn, st, method, url);
            return MHD_YES; /* if it could not be queued now, the final call answers */
        }
        if (append_body(st, upload_data, n) != 0)
            return MHD_NO;
        return MHD_YES;
    }
    if (st->responded)
        return MHD_YES;
    if (st->too_large && st->target_len > srv->max_url)
        return respond_uri_too_long(srv, conn, st, method);
    if (st->too_large)
        return respond_too_large(srv, conn, st, method, url);
    return dispatch(srv, conn, st, url, method);
}

/* Parses "host:port", "[v6]:port" or ":port" (every address) into *addr. */
static int resolve_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len,
                          struct error *err)
{
    char host[256];
    const char *port;
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon[1] == '\0')
        return error_set(err, ERR_CONFIG, "server.listen: '%s' is not host:port", listen);
    size_t hlen = (size_t)(colon - listen);
    const char *h = listen;
    if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof host)
        return error_set(err, ERR_CONFIG, "server.listen: host in '%s' is too long", listen);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    port = colon + 1;

    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(hlen > 0 ? host : NULL, port, &hints, &res);
    if (rc != 0)
        return error_set(err, ERR_CONFIG, "server.listen: cannot resolve '%s': %s", listen,
                         gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Whether to set SO_REUSEPORT, so that N catalogd processes listen on one
 * port and the kernel spreads connections among them (docs/operations.md,
 * "Several processes").  Only when every piece of shared state lives
 * outside the process: a memory cache would let one process serve what
 * another's write made stale, and a SQLite store is one host's file.  In
 * any other setup a second process on the port is a mistake, and failing
 * with "Address already in use" says so. */
static bool shares_port(const struct config *cfg)
{
    const char *store = config_get(cfg, "store.driver");
    const char *cache = config_get(cfg, "cache.driver");
    return store != NULL && strcmp(store, "sqlite") != 0 && cache != NULL &&
           strcmp(cache, "memory") != 0;
}

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(signal_pipe[1], &b, 1) < 0) {
        /* The pipe is full: a signal is already pending, nothing is lost. */
    }
    errno = saved;
}

static int install_signals(struct sigaction old[3], struct error *err)
{
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return error_set(err, ERR_IO, "pipe: %s", strerror(errno));
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old[0]);
    sigaction(SIGINT, &sa, &old[1]);
    sigaction(SIGHUP, &sa, &old[2]);
    /* libmicrohttpd sends with MSG_NOSIGNAL, but a peer that goes away
     * must never kill the server through another path. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void restore_signals(struct sigaction old[3])
{
    sigaction(SIGTERM, &old[0], NULL);
    sigaction(SIGINT, &old[1], NULL);
    sigaction(SIGHUP, &old[2], NULL);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
}

/* Waits for a signal byte for at most timeout_ms (-1: forever).  Returns
 * the signal number, 0 on timeout. */
static int wait_signal(int timeout_ms)
{
    struct pollfd p = {.fd = signal_pipe[0], .events = POLLIN};
    int rc = poll(&p, 1, timeout_ms);
    if (rc <= 0)
        return 0;
    unsigned char b = 0;
    if (read(signal_pipe[0], &b, 1) != 1)
        return 0;
    return b;
}

static void init_id_prefix(struct server *srv)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
    }
    snprintf(srv->id_prefix, sizeof srv->id_prefix, "%016llx", (unsigned long long)r);
}

/* After SIGTERM: no new connections, in-flight requests get up to
 * drain_timeout to finish; a second SIGTERM/SIGINT stops at once. */
static void drain(struct server *srv, struct MHD_Daemon *daemon, struct http_listener *listener,
                  int64_t timeout_s)
{
    atomic_store(&srv->draining, true);
    /* Closing the listening socket at once (rather than after the drain)
     * makes new connections fail fast, so a load balancer moves on instead
     * of queueing clients in a backlog nobody will accept from. */
    http_listener_close(listener);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int left = atomic_load(&srv->in_flight);
    log_msg(LOG_INFO, "draining: %d request(s) in flight, waiting up to %llds", left,
            (long long)timeout_s);
    while ((left = atomic_load(&srv->in_flight)) > 0) {
        if (elapsed_us(&start) >= (uint64_t)timeout_s * 1000000) {
            log_msg(LOG_WARN, "drain timeout: stopping with %d request(s) in flight", left);
            break;
        }
        int sig = wait_signal(20);
        if (sig == SIGTERM || sig == SIGINT) {
            log_msg(LOG_WARN, "second signal: stopping with %d request(s) in flight", left);
            break;
        }
    }
    MHD_stop_daemon(daemon);
}

int server_run(struct app *app, struct error *err)
{
    const struct config *cfg = app->config;
    const char *listen = config_get(cfg, "server.listen");
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    if (resolve_listen(listen, &addr, &addr_len, err) != 0)
        return -1;

    struct server srv = {.app = app,
                         .max_body = (size_t)config_int(cfg, "server.max_body_bytes"),
                         .max_url = (size_t)config_int(cfg, "server.max_url_bytes"),
                         .cors_origins = config_get(cfg, "server.cors_origins")};
    atomic_init(&srv.in_flight, 0);
    atomic_init(&srv.draining, false);
    atomic_init(&srv.id_counter, 1);
    init_id_prefix(&srv);

    struct sigaction old[3];
    if (install_signals(old, err) != 0)
        return -1;
    srv.tokens = auth_cache_new(TOKEN_CACHE_ENTRIES);
    /* Before the workers start: they read srv.refresher unlocked. */
    struct error rerr = {0};
    if (app->cache != NULL && cache_refresher_start(app, &srv.refresher, &rerr) != 0)
        log_msg(LOG_WARN, "%s; expired cache entries are refreshed by the request", rerr.message);

    struct http_listener *listener = NULL;
    struct error why = {0};
    if (http_listener_open(&addr, addr_len, shares_port(cfg), &listener, &why) != 0) {
        restore_signals(old);
        cache_refresher_stop(srv.refresher);
        auth_cache_free(srv.tokens);
        return error_set(err, ERR_IO, "cannot listen on %s: %s", listen, why.message);
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ITC |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
    int64_t threads = config_server_threads(cfg);
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 1 ? threads : 1),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)config_int(cfg, "server.connection_timeout"),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)config_int(cfg, "server.max_connections"),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)config_int(cfg, "server.max_header_bytes"),
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
        MHD_OPTION_END);
    if (daemon == NULL || http_listener_start(listener, daemon, &why) != 0) {
        http_listener_close(listener);
        if (daemon != NULL)
            MHD_stop_daemon(daemon);
        restore_signals(old);
        cache_refresher_stop(srv.refresher);
        auth_cache_free(srv.tokens);
        return error_set(err, ERR_IO, "cannot serve on %s: %s", listen,
                         daemon == NULL ? "libmicrohttpd could not start (see the log)"
                                        : why.message);
    }
    log_msg(LOG_INFO, "listening on %s (%lld threads)", listen, (long long)threads);

    for (;;) {
        int sig = wait_signal(-1);
        if (sig == SIGHUP) {
            struct error lerr = {0};
            if (log_reopen(&lerr) != 0)
                log_msg(LOG_ERROR, "SIGHUP: cannot reopen the log: %s", lerr.message);
            else
                log_msg(LOG_INFO, "SIGHUP: log reopened");
        } else if (sig == SIGTERM || sig == SIGINT) {
            log_msg(LOG_INFO, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    drain(&srv, daemon, listener, config_int(cfg, "server.drain_timeout"));
    cache_refresher_stop(srv.refresher);
    restore_signals(old);
    auth_cache_free(srv.tokens);
    log_msg(LOG_INFO, "stopped");
    return 0;
}
