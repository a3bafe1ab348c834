/*
 * openapi - builds the OpenAPI 3 document from the route table.  What a
 * route accepts is inferred from where it lives: /api/v1/search/ routes
 * take the search parameters, other /api/v1/ collection routes the list
 * parameters of their kind, {name} segments are path parameters, and
 * POST/PUT/PATCH take a JSON body.  Error responses are shared components
 * so that every operation names the same shapes.
 */
#include "openapi.h"

#include <stdio.h>
#include <string.h>

#include "app.h"

#ifndef CATALOGD_VERSION
#define CATALOGD_VERSION "0"
#endif

#define API_PREFIX "/api/v1/"
#define SEARCH_PREFIX "/api/v1/search/"

int openapi_check_routes(const struct route *routes, size_t n, struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct route *r = &routes[i];
        if (r->pattern == NULL || r->pattern[0] != '/')
            return error_set(err, ERR_INTERNAL, "route %zu has no pattern", i);
        if (r->name == NULL || r->name[0] == '\0')
            return error_set(err, ERR_INTERNAL, "route %s has no name", r->pattern);
        if (r->summary == NULL || r->summary[0] == '\0')
            return error_set(err, ERR_INTERNAL, "route %s has no description", r->pattern);
        if (r->methods == 0)
            return error_set(err, ERR_INTERNAL, "route %s has no methods", r->pattern);
    }
    return 0;
}

static json_t *ref(const char *where, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "#/components/%s/%s", where, name);
    return json_pack("{s:s}", "$ref", path);
}

static json_t *query_param(const char *name, const char *type, const char *description)
{
    return json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "name", name, "in", "query", "required", 0,
                     "description", description, "schema", "type", type);
}

struct param_doc {
    const char *name, *type, *description;
};

static const struct param_doc page_params[] = {
    {"page", "integer", "Page number, from 1."},
    {"page_size", "integer", "Results per page (api.page_size_max at most)."},
    {"limit", "integer", "Results per page, offset style (instead of page_size)."},
    {"offset", "integer", "Results to skip, offset style (with limit)."},
};

static const struct param_doc list_params[] = {
    {"q", "string", "Full-text query: the best matches, in list order."},
    {"ordering", "string", "Sort field; a leading '-' reverses."},
    {"uuids", "string", "Comma-separated uuids to return."},
};

static const struct param_doc search_params[] = {
    {"q", "string", "Search query."},
    {"selected_facets", "string", "A facet value to filter by, field_exact:value; repeatable."},
    {"selected_query_facets", "string", "A query facet (availability_current, ...)."},
    {"availability", "string", "current, starting_soon, upcoming or archived."},
    {"start__gte", "string", "Runs starting at or after this ISO 8601 instant."},
    {"start__lte", "string", "Runs starting at or before this ISO 8601 instant."},
    {"ordering", "string", "relevance (default), start, -start or title."},
    {"org", "string", "Organization key."},
    {"content_type", "string", "course, courserun or program."},
    {"pacing_type", "string", "self_paced or instructor_paced."},
    {"level_type", "string", "Level name."},
    {"language", "string", "Language."},
    {"subjects", "string", "Subject name."},
};

/* Filters of one kind's list (api_filters.c). */
static const struct kind_params {
    enum entity_kind kind;
    struct param_doc params[6];
} kind_filters[] = {
    {ENTITY_ORGANIZATION, {{"keys", "string", "Comma-separated keys."}}},
    {ENTITY_SUBJECT,
     {{"keys", "string", "Comma-separated keys."}, {"slug", "string", "Comma-separated slugs."}}},
    {ENTITY_PROGRAM_TYPE,
     {{"keys", "string", "Comma-separated keys."}, {"slug", "string", "Comma-separated slugs."}}},
    {ENTITY_COURSE,
     {{"keys", "string", "Comma-separated keys."},
      {"org", "string", "Owning organization key."},
      {"marketable", "integer", "1: only marketable courses."},
      {"active", "integer", "1: only courses with an active run."}}},
    {ENTITY_COURSE_RUN,
     {{"keys", "string", "Comma-separated keys."},
      {"course", "string", "Course key."},
      {"pacing_type", "string", "self_paced or instructor_paced."},
      {"marketable", "integer", "1: only marketable runs."},
      {"active", "integer", "1: only runs not yet ended."},
      {"hidden", "integer", "0 or 1: hidden runs."}}},
    {ENTITY_PROGRAM,
     {{"type", "string", "Program type."},
      {"marketable", "integer", "1: only marketable programs."},
      {"hidden", "integer", "0 or 1: hidden programs."},
      {"uuids_only", "integer", "1: answer with the uuids only."},
      {"status", "string", "Comma-separated statuses."}}},
    {ENTITY_PATHWAY, {{"status", "string", "Comma-separated statuses."}}},
};

static void add_params(json_t *array, const struct param_doc *docs, size_t n)
{
    for (size_t i = 0; i < n && docs[i].name != NULL; i++)
        json_array_append_new(array, query_param(docs[i].name, docs[i].type, docs[i].description));
}

#define ADD_ALL(array, docs) add_params(array, docs, sizeof docs / sizeof docs[0])

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A collection of the catalog API (no {name} segment, not search). */
static bool is_list(const struct route *r)
{
    return starts_with(r->pattern, API_PREFIX) && !starts_with(r->pattern, SEARCH_PREFIX) &&
           strchr(r->pattern, '{') == NULL && r->kind != ENTITY_KIND_COUNT;
}

/* The parameters of one operation: path segments, then query. */
static json_t *parameters(const struct route *r, enum http_method m)
{
    json_t *array = json_array();
    for (const char *p = strchr(r->pattern, '{'); p != NULL; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (end == NULL)
            break;
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(end - p - 1), p + 1);
        json_array_append_new(array, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in",
                                               "path", "required", 1, "schema", "type", "string"));
    }
    if (m != HTTP_GET)
        return array;
    if (starts_with(r->pattern, SEARCH_PREFIX)) {
        if (strstr(r->pattern, "/typeahead/") != NULL) {
            json_t *q = query_param("q", "string", "Prefix to complete.");
            json_object_set_new(q, "required", json_true());
            json_array_append_new(array, q);
        } else {
            ADD_ALL(array, search_params);
            ADD_ALL(array, page_params);
        }
    } else if (is_list(r)) {
        ADD_ALL(array, list_params);
        ADD_ALL(array, page_params);
        for (size_t i = 0; i < sizeof kind_filters / sizeof kind_filters[0]; i++)
            if (kind_filters[i].kind == r->kind)
                ADD_ALL(array, kind_filters[i].params);
    }
    return array;
}

static json_t *json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

static json_t *success(const struct route *r, enum http_method m)
{
    if (m == HTTP_DELETE)
        return json_pack("{s:s}", "description", "Deleted.");
    const char *what = m == HTTP_POST ? "Created." : "OK.";
    if (strcmp(r->name, "metrics") == 0)
        return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", what, "content", "text/plain",
                         "schema", "type", "string");
    bool page = m == HTTP_GET && (is_list(r) || (starts_with(r->pattern, SEARCH_PREFIX) &&
                                                 strstr(r->pattern, "/typeahead/") == NULL));
    return json_pack("{s:s, s:o}", "description", what, "content",
                     json_content(ref("schemas", page ? "Page" : "Object")));
}

static json_t *responses(const struct route *r, enum http_method m)
{
    json_t *out = json_object();
    static const char *const codes[] = {"200", "201", "204"};
    int ok = m == HTTP_POST ? 1 : m == HTTP_DELETE ? 2 : 0;
    json_object_set_new(out, codes[ok], success(r, m));
    bool api = starts_with(r->pattern, API_PREFIX);
    bool write = m != HTTP_GET;
    if (api) {
        json_object_set_new(out, "400", ref("responses", "BadRequest"));
        json_object_set_new(out, "401", ref("responses", "Unauthorized"));
        json_object_set_new(out, "414", ref("responses", "UriTooLong"));
        json_object_set_new(out, "429", ref("responses", "Throttled"));
    }
    if (strchr(r->pattern, '{') != NULL)
        json_object_set_new(out, "404", ref("responses", "NotFound"));
    if (write) {
        json_object_set_new(out, "403", ref("responses", "Forbidden"));
        json_object_set_new(out, "409", ref("responses", "Conflict"));
    }
    if (m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH) {
        json_object_set_new(out, "413", ref("responses", "TooLarge"));
        json_object_set_new(out, "415", ref("responses", "UnsupportedMediaType"));
    }
    if (api || strcmp(r->name, "readyz") == 0)
        json_object_set_new(out, "503", ref("responses", "Unavailable"));
    return out;
}

static json_t *operation(const struct route *r, enum http_method m, const char *verb)
{
    char id[160];
    snprintf(id, sizeof id, "%s_%s", r->name, verb);
    json_t *op = json_pack("{s:s, s:s, s:o, s:o}", "operationId", id, "summary", r->summary,
                           "parameters", parameters(r, m), "responses", responses(r, m));
    if (starts_with(r->pattern, API_PREFIX)) {
        /* Reads: anonymous or a token (auth.read decides); writes: a token. */
        json_t *security = json_array();
        if (m == HTTP_GET)
            json_array_append_new(security, json_object());
        json_array_append_new(security, json_pack("{s:[]}", "jwt"));
        json_object_set_new(op, "security", security);
    }
    if (m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:o}", "required", 1, "content",
                                      json_content(ref("schemas", "Object"))));
    return op;
}

static json_t *error_response(const char *description, const char *schema)
{
    return json_pack("{s:s, s:o}", "description", description, "content",
                     json_content(ref("schemas", schema)));
}

static json_t *components(void)
{
    json_t *schemas = json_pack(
        "{s:{s:s, s:[s], s:{s:{s:s}}}, s:{s:s, s:s, s:{s:s, s:{s:s}}}, "
        "s:{s:s, s:{s:{s:s}, s:{s:s, s:b}, s:{s:s, s:b}, s:{s:s, s:o}}}, s:{s:s, s:b}}",
        "Error", "type", "object", "required", "detail", "properties", "detail", "type", "string",
        "ValidationError", "type", "object", "description", "Field name to its messages",
        "additionalProperties", "type", "array", "items", "type", "string", "Page", "type",
        "object", "properties", "count", "type", "integer", "next", "type", "string", "nullable", 1,
        "previous", "type", "string", "nullable", 1, "results", "type", "array", "items",
        ref("schemas", "Object"), "Object", "type", "object", "additionalProperties", 1);
    json_t *bad = json_pack("{s:s, s:{s:{s:{s:[o, o]}}}}", "description",
                            "Malformed request: {\"detail\": ...} or field errors", "content",
                            "application/json", "schema", "oneOf", ref("schemas", "Error"),
                            ref("schemas", "ValidationError"));
    json_t *unauthorized = error_response("No valid token where one is needed, or a bad token; "
                                          "WWW-Authenticate says why",
                                          "Error");
    json_object_set_new(unauthorized, "headers",
                        json_pack("{s:{s:{s:s}}}", "WWW-Authenticate", "schema", "type", "string"));
    json_t *throttled =
        error_response("Rate limit reached: \"Request was throttled. Expected available in N "
                       "seconds.\"",
                       "Error");
    json_object_set_new(throttled, "headers",
                        json_pack("{s:{s:{s:s}}}", "Retry-After", "schema", "type", "integer"));
    json_t *resp = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "BadRequest", bad, "Unauthorized",
        unauthorized, "Forbidden",
        error_response("A valid token without the right (staff or the write scope)", "Error"),
        "NotFound", error_response("No such record (or not visible to the caller)", "Error"),
        "Conflict", error_response("A reference or uniqueness conflict", "Error"), "TooLarge",
        error_response("Body larger than server.max_body_bytes", "Error"), "UriTooLong",
        error_response("Request target longer than server.max_url_bytes", "Error"),
        "UnsupportedMediaType", error_response("Body is not application/json", "Error"),
        "Throttled", throttled, "Unavailable",
        error_response("A backend is down; retry later", "Error"));
    json_t *security =
        json_pack("{s:{s:s, s:s, s:s, s:s}}", "jwt", "type", "http", "scheme", "bearer",
                  "bearerFormat", "JWT", "description",
                  "A JWT (HS256, RS256 or RS512) from a configured issuer, sent as "
                  "\"Authorization: Bearer <token>\" or \"Authorization: JWT <token>\".  Staff "
                  "(administrator: true) or the write scope may write.");
    return json_pack("{s:o, s:o, s:o}", "schemas", schemas, "responses", resp, "securitySchemes",
                     security);
}

json_t *openapi_document(const struct route *routes, size_t n, const char *server_url,
                         struct error *err)
{
    if (openapi_check_routes(routes, n, err) != 0)
        return NULL;
    static const struct {
        enum http_method method;
        const char *verb;
    } verbs[] = {{HTTP_GET, "get"},     {HTTP_POST, "post"},     {HTTP_PUT, "put"},
                 {HTTP_PATCH, "patch"}, {HTTP_DELETE, "delete"}, {HTTP_OPTIONS, "options"}};
    json_t *paths = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_object();
        for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
            if (routes[i].methods & verbs[v].method)
                json_object_set_new(item, verbs[v].verb,
                                    operation(&routes[i], verbs[v].method, verbs[v].verb));
        json_object_set_new(paths, routes[i].pattern, item);
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:o}", "openapi", "3.0.3", "info", "title",
        "catalogd", "version", CATALOGD_VERSION, "description",
        "Course catalog API (course-discovery compatible).  Lists are paginated; errors are "
        "{\"detail\": ...} or field errors; see docs/api.md and docs/security.md.",
        "servers", "url", server_url != NULL ? server_url : "", "paths", paths, "components",
        components());
    if (doc == NULL)
        error_set(err, ERR_INTERNAL, "out of memory building the OpenAPI document");
    return doc;
}

void openapi_serve(struct app *app, const struct http_request *req, const struct route *route,
                   const struct route_params *params, struct http_response *resp)
{
    (void)req;
    (void)route;
    (void)params;
    struct error err = {0};
    json_t *doc = openapi_document(catalog_routes, catalog_routes_count, app->public_url, &err);
    if (doc == NULL) {
        http_respond_error(resp, &err);
        return;
    }
    http_respond_json(resp, 200, doc);
}
