/*
 * openapi - the OpenAPI 3 document of what the router serves, generated
 * from the route table (routes.c), so that it cannot drift from it: every
 * route with its methods, path parameters, the query parameters of lists
 * and searches, request bodies of writes, responses with their error
 * shapes, and the JWT security scheme.  Served at /api/v1/openapi.json.
 */
#ifndef CATALOGD_OPENAPI_H
#define CATALOGD_OPENAPI_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "http_router.h"

struct app;

/* Checks that every route can be described: a summary, a name, and a
 * pattern starting with '/'.  Returns 0, or -1 with ERR_INTERNAL naming the
 * first route that cannot. */
int openapi_check_routes(const struct route *routes, size_t n, struct error *err);

/* The document for routes (server_url is the servers[0].url, may be "").
 * Returns a new reference (caller decrefs), or NULL with err set when a
 * route is undescribed (openapi_check_routes) or memory runs out. */
json_t *openapi_document(const struct route *routes, size_t n, const char *server_url,
                         struct error *err);

/* The handler of GET /api/v1/openapi.json: the document of catalog_routes. */
void openapi_serve(struct app *app, const struct http_request *req, const struct route *route,
                   const struct route_params *params, struct http_response *resp);

#endif
