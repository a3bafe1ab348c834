/*
 * routes - every route catalogd serves, in one table: the router, the
 * metrics labels and the OpenAPI document all read it.
 */
#include "api.h"
#include "api_search.h"
#include "http_router.h"
#include "openapi.h"
#include "ops.h"

#define READ (HTTP_GET)
#define COLLECTION (HTTP_GET | HTTP_POST)
#define DETAIL (HTTP_GET | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)

/* Each catalog kind: a list/create route and a detail route.  The detail
 * routes dispatch on method in api_detail below. */
static void api_collection(struct app *app, const struct http_request *req,
                           const struct route *route, const struct route_params *params,
                           struct http_response *resp)
{
    if (req->method == HTTP_POST)
        api_create(app, req, route, params, resp);
    else
        api_list(app, req, route, params, resp);
}

static void api_detail(struct app *app, const struct http_request *req, const struct route *route,
                       const struct route_params *params, struct http_response *resp)
{
    switch (req->method) {
    case HTTP_PUT:
    case HTTP_PATCH:
        api_update(app, req, route, params, resp);
        break;
    case HTTP_DELETE:
        api_delete(app, req, route, params, resp);
        break;
    default:
        api_retrieve(app, req, route, params, resp);
        break;
    }
}

#define KIND_ROUTES(path, label, entity, what)                                                     \
    {COLLECTION, "/api/v1/" path "/",   api_collection, label "_list",                             \
     entity,     "List or create " what},                                                          \
    {                                                                                              \
        DETAIL, "/api/v1/" path "/{key}/", api_detail, label "_detail", entity,                    \
            "Retrieve, replace, update or delete one of the " what                                 \
    }

/* Each search content type: hits, and hits with facets. */
#define SEARCH_ROUTES(path, label, entity, what)                                                   \
    {READ, "/api/v1/search/" path "/", api_search, "search_" label, entity, "Search " what},       \
    {                                                                                              \
        READ, "/api/v1/search/" path "/facets/", api_search_facets, "search_" label "_facets",     \
            entity, "Search " what ", with facet counts"                                           \
    }

const struct route catalog_routes[] = {
    {READ, "/health/", ops_health, "health", ENTITY_KIND_COUNT, "Process is alive"},
    {READ, "/healthz", ops_health, "healthz", ENTITY_KIND_COUNT, "Process is alive"},
    {READ, "/readyz", ops_ready, "readyz", ENTITY_KIND_COUNT, "Every backend answers"},
    {READ, "/metrics", ops_metrics, "metrics", ENTITY_KIND_COUNT, "Prometheus metrics"},
    {READ, "/api/v1/openapi.json", openapi_serve, "openapi", ENTITY_KIND_COUNT,
     "This API's OpenAPI 3 document"},
    KIND_ROUTES("organizations", "organizations", ENTITY_ORGANIZATION, "organizations"),
    KIND_ROUTES("subjects", "subjects", ENTITY_SUBJECT, "subjects"),
    KIND_ROUTES("program_types", "program_types", ENTITY_PROGRAM_TYPE, "program types"),
    KIND_ROUTES("courses", "courses", ENTITY_COURSE, "courses"),
    KIND_ROUTES("course_runs", "course_runs", ENTITY_COURSE_RUN, "course runs"),
    KIND_ROUTES("programs", "programs", ENTITY_PROGRAM, "programs"),
    KIND_ROUTES("pathways", "pathways", ENTITY_PATHWAY, "pathways"),
    SEARCH_ROUTES("all", "all", ENTITY_KIND_COUNT, "courses, course runs and programs"),
    SEARCH_ROUTES("courses", "courses", ENTITY_COURSE, "courses"),
    SEARCH_ROUTES("course_runs", "course_runs", ENTITY_COURSE_RUN, "course runs"),
    SEARCH_ROUTES("programs", "programs", ENTITY_PROGRAM, "programs"),
    {READ, "/api/v1/search/typeahead/", api_search_typeahead, "search_typeahead", ENTITY_KIND_COUNT,
     "Course runs and programs whose titles, keys or organizations start "
     "with q"},
};

const size_t catalog_routes_count = sizeof catalog_routes / sizeof catalog_routes[0];
