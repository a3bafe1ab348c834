/*
 * http_router - a table of (methods, path pattern, handler).
 *
 * Patterns are literal segments and {name} segments ("/api/v1/courses/{key}/");
 * a {name} matches one non-empty segment.  A trailing slash is optional
 * when matching, as DRF's clients expect both.
 */
#ifndef CATALOGD_HTTP_ROUTER_H
#define CATALOGD_HTTP_ROUTER_H

#include "entity.h"
#include "http.h"

struct app;
struct route;

#define ROUTE_MAX_PARAMS 4

struct route_params {
    size_t count;
    struct {
        char name[32];
        char value[512];
    } items[ROUTE_MAX_PARAMS];
};

typedef void (*http_handler_fn)(struct app *app, const struct http_request *req,
                                const struct route *route, const struct route_params *params,
                                struct http_response *resp);

struct route {
    unsigned methods; /* enum http_method bits; HEAD is implied by GET */
    const char *pattern;
    http_handler_fn handler;
    const char *name;      /* label for metrics and logs: "courses_detail" */
    enum entity_kind kind; /* for the catalog handlers */
    const char *summary;   /* one line for the OpenAPI document */
};

/* The value of a {name} segment, or NULL. */
const char *route_param(const struct route_params *params, const char *name);

/* Finds the route for method and path.  Returns the route, or NULL with
 * err ERR_NOT_FOUND (no pattern matches) or ERR_METHOD (a pattern matches
 * but not the method; *allow receives "GET, POST" etc.). */
const struct route *router_match(const struct route *routes, size_t n_routes,
                                 enum http_method method, const char *path,
                                 struct route_params *params, char *allow, size_t allow_size,
                                 struct error *err);

/* The table of every route catalogd serves (routes.c). */
extern const struct route catalog_routes[];
extern const size_t catalog_routes_count;

#endif
