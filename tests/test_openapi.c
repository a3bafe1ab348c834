/*
 * test_openapi - the OpenAPI document and the router agree: every route of
 * catalog_routes is described with each of its methods, every path the
 * document names is served by the router with exactly the methods it
 * lists, path parameters match the {name} segments, lists carry their
 * query parameters, writes their bodies and 401/403, every $ref resolves,
 * and an undescribed route is refused.
 */
#include <string.h>

#include "app.h"
#include "http_router.h"
#include "openapi.h"
#include "testutil.h"

static const struct {
    enum http_method method;
    const char *verb;
} verbs[] = {{HTTP_GET, "get"},     {HTTP_POST, "post"},     {HTTP_PUT, "put"},
             {HTTP_PATCH, "patch"}, {HTTP_DELETE, "delete"}, {HTTP_OPTIONS, "options"}};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static json_t *document(void)
{
    struct error err = {0};
    json_t *doc =
        openapi_document(catalog_routes, catalog_routes_count, "http://catalog.test", &err);
    ck_assert_msg(doc != NULL, "%s", err.message);
    return doc;
}

/* A concrete path for a pattern: each {name} becomes "x1". */
static void concrete(const char *pattern, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p != '\0' && o + 3 < size; p++) {
        if (*p == '{') {
            p = strchr(p, '}');
            ck_assert_ptr_nonnull(p);
            out[o++] = 'x';
            out[o++] = '1';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

START_TEST(test_every_route_is_documented)
{
    json_t *doc = document();
    json_t *paths = json_object_get(doc, "paths");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    for (size_t i = 0; i < catalog_routes_count; i++) {
        const struct route *r = &catalog_routes[i];
        ck_assert_msg(r->summary != NULL && r->summary[0] != '\0', "%s has no description",
                      r->pattern);
        json_t *item = json_object_get(paths, r->pattern);
        ck_assert_msg(item != NULL, "route %s missing from the document", r->pattern);
        for (size_t v = 0; v < N_VERBS; v++) {
            json_t *op = json_object_get(item, verbs[v].verb);
            ck_assert_msg((op != NULL) == ((r->methods & verbs[v].method) != 0),
                          "%s %s: documented %d, served %d", verbs[v].verb, r->pattern, op != NULL,
                          (r->methods & verbs[v].method) != 0);
            if (op == NULL)
                continue;
            ck_assert_str_eq(json_string_value(json_object_get(op, "summary")), r->summary);
            ck_assert_ptr_nonnull(json_object_get(json_object_get(op, "responses"),
                                                  verbs[v].method == HTTP_POST     ? "201"
                                                  : verbs[v].method == HTTP_DELETE ? "204"
                                                                                   : "200"));
        }
    }
    json_decref(doc);
}
END_TEST

START_TEST(test_every_documented_path_is_served)
{
    json_t *doc = document();
    const char *pattern;
    json_t *item;
    size_t n = 0;
    json_object_foreach(json_object_get(doc, "paths"), pattern, item)
    {
        n++;
        char path[512], allow[64];
        concrete(pattern, path, sizeof path);
        for (size_t v = 0; v < N_VERBS; v++) {
            bool documented = json_object_get(item, verbs[v].verb) != NULL;
            struct route_params params;
            struct error err = {0};
            const struct route *r =
                router_match(catalog_routes, catalog_routes_count, verbs[v].method, path, &params,
                             allow, sizeof allow, &err);
            ck_assert_msg((r != NULL) == documented, "%s %s: documented %d, router %s",
                          verbs[v].verb, path, documented, r ? "serves it" : err.message);
            if (r != NULL)
                ck_assert_str_eq(r->pattern, pattern);
        }
    }
    ck_assert_uint_eq(n, catalog_routes_count);
    json_decref(doc);
}
END_TEST

static json_t *param_named(json_t *op, const char *name, const char *in)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
            strcmp(json_string_value(json_object_get(p, "in")), in) == 0)
            return p;
    }
    return NULL;
}

START_TEST(test_operations_detail)
{
    json_t *doc = document();
    json_t *paths = json_object_get(doc, "paths");
    json_t *detail = json_object_get(paths, "/api/v1/courses/{key}/");
    json_t *patch = json_object_get(detail, "patch");
    json_t *key = param_named(patch, "key", "path");
    ck_assert_ptr_nonnull(key);
    ck_assert(json_is_true(json_object_get(key, "required")));
    ck_assert_ptr_nonnull(json_object_get(patch, "requestBody"));
    json_t *resp = json_object_get(patch, "responses");
    for (const char *const *c =
             (const char *const[]){"400", "401", "403", "404", "413", "415", "429", NULL};
         *c != NULL; c++)
        ck_assert_msg(json_object_get(resp, *c) != NULL, "PATCH lacks %s", *c);
    /* Writes need the token; reads may go without. */
    ck_assert_uint_eq(json_array_size(json_object_get(patch, "security")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(detail, "get"), "security")),
                      2);

    json_t *list = json_object_get(json_object_get(paths, "/api/v1/course_runs/"), "get");
    for (const char *const *n = (const char *const[]){"page", "page_size", "q", "course",
                                                      "pacing_type", "hidden", NULL};
         *n != NULL; n++)
        ck_assert_msg(param_named(list, *n, "query") != NULL, "course_runs list lacks %s", *n);
    ck_assert_ptr_null(json_object_get(
        json_object_get(json_object_get(paths, "/api/v1/course_runs/"), "get"), "requestBody"));
    json_t *search = json_object_get(json_object_get(paths, "/api/v1/search/all/facets/"), "get");
    ck_assert_ptr_nonnull(param_named(search, "selected_facets", "query"));
    json_t *typeahead = json_object_get(json_object_get(paths, "/api/v1/search/typeahead/"), "get");
    ck_assert(json_is_true(json_object_get(param_named(typeahead, "q", "query"), "required")));
    ck_assert_ptr_null(json_object_get(json_object_get(paths, "/healthz"), "post"));
    ck_assert_ptr_null(
        json_object_get(json_object_get(json_object_get(paths, "/healthz"), "get"), "security"));

    json_t *scheme = json_object_get(
        json_object_get(json_object_get(doc, "components"), "securitySchemes"), "jwt");
    ck_assert_str_eq(json_string_value(json_object_get(scheme, "scheme")), "bearer");
    ck_assert_str_eq(json_string_value(json_object_get(scheme, "bearerFormat")), "JWT");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(doc, "servers"), 0), "url")),
                     "http://catalog.test");
    json_decref(doc);
}
END_TEST

/* Every "$ref" in v names something under components. */
static void check_refs(json_t *doc, json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child)
        {
            if (strcmp(k, "$ref") == 0) {
                const char *target = json_string_value(child);
                ck_assert_ptr_nonnull(target);
                char where[64], name[64];
                ck_assert_int_eq(sscanf(target, "#/components/%63[^/]/%63s", where, name), 2);
                ck_assert_msg(
                    json_object_get(json_object_get(json_object_get(doc, "components"), where),
                                    name) != NULL,
                    "dangling $ref %s", target);
            } else {
                check_refs(doc, child);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) check_refs(doc, child);
    }
}

START_TEST(test_refs_resolve)
{
    json_t *doc = document();
    check_refs(doc, doc);
    json_decref(doc);
}
END_TEST

static void h(struct app *a, const struct http_request *r, const struct route *ro,
              const struct route_params *p, struct http_response *resp)
{
    (void)a, (void)r, (void)ro, (void)p, (void)resp;
}

START_TEST(test_undescribed_route_refused)
{
    const struct route bad[] = {
        {HTTP_GET, "/a/", h, "a", ENTITY_KIND_COUNT, "A"},
        {HTTP_GET, "/b/", h, "b", ENTITY_KIND_COUNT, ""},
    };
    struct error err = {0};
    ck_assert_int_eq(openapi_check_routes(bad, 2, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "/b/"));
    ck_assert_ptr_null(openapi_document(bad, 2, "", &err));
    ck_assert_int_eq(openapi_check_routes(bad, 1, &err), 0);
    const struct route unnamed[] = {{HTTP_GET, "/c/", h, NULL, ENTITY_KIND_COUNT, "C"}};
    ck_assert_int_eq(openapi_check_routes(unnamed, 1, &err), -1);
    struct error ok = {0};
    ck_assert_int_eq(openapi_check_routes(catalog_routes, catalog_routes_count, &ok), 0);
}
END_TEST

START_TEST(test_served_document)
{
    struct app app = {0};
    snprintf(app.public_url, sizeof app.public_url, "http://served.test");
    const struct route *route = NULL;
    for (size_t i = 0; i < catalog_routes_count; i++)
        if (strcmp(catalog_routes[i].pattern, "/api/v1/openapi.json") == 0)
            route = &catalog_routes[i];
    ck_assert_ptr_nonnull(route);
    struct http_request req = {.method = HTTP_GET, .path = "/api/v1/openapi.json"};
    struct http_response resp = {0};
    route->handler(&app, &req, route, NULL, &resp);
    ck_assert_int_eq(resp.status, 200);
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(doc, "paths"), "/api/v1/openapi.json"));
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(doc, "servers"), 0), "url")),
                     "http://served.test");
    json_decref(doc);
    free(resp.body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("openapi");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_route_is_documented);
    tcase_add_test(tc, test_every_documented_path_is_served);
    tcase_add_test(tc, test_operations_detail);
    tcase_add_test(tc, test_refs_resolve);
    tcase_add_test(tc, test_undescribed_route_refused);
    tcase_add_test(tc, test_served_document);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
