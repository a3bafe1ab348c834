/*
 * test_router - route matching: literal and {name} segments, optional
 * trailing slash, HEAD where GET is, 405 with Allow, 404; and the real
 * catalog_routes table answers the paths the API contract names.
 */
#include <string.h>

#include "http_router.h"
#include "testutil.h"

static void h_list(struct app *a, const struct http_request *r, const struct route *ro,
                   const struct route_params *p, struct http_response *resp)
{
    (void)a, (void)r, (void)ro, (void)p, (void)resp;
}
static void h_detail(struct app *a, const struct http_request *r, const struct route *ro,
                     const struct route_params *p, struct http_response *resp)
{
    (void)a, (void)r, (void)ro, (void)p, (void)resp;
}
static void h_nested(struct app *a, const struct http_request *r, const struct route *ro,
                     const struct route_params *p, struct http_response *resp)
{
    (void)a, (void)r, (void)ro, (void)p, (void)resp;
}

static const struct route table[] = {
    {HTTP_GET, "/healthz", h_list, "healthz", ENTITY_KIND_COUNT, ""},
    {HTTP_GET | HTTP_POST, "/api/v1/courses/", h_list, "courses_list", ENTITY_COURSE, ""},
    {HTTP_GET | HTTP_PUT | HTTP_PATCH | HTTP_DELETE, "/api/v1/courses/{key}/", h_detail,
     "courses_detail", ENTITY_COURSE, ""},
    {HTTP_GET, "/api/v1/programs/{uuid}/courses/{key}/", h_nested, "nested", ENTITY_PROGRAM, ""},
    {HTTP_DELETE, "/api/v1/search/{kind}/", h_nested, "delete_only", ENTITY_KIND_COUNT, ""},
};
static const size_t n_table = sizeof table / sizeof table[0];

static const struct route *match(enum http_method m, const char *path, struct route_params *p,
                                 char *allow, struct error *err)
{
    return router_match(table, n_table, m, path, p, allow, 64, err);
}

START_TEST(test_literal_and_trailing_slash)
{
    struct route_params p;
    char allow[64];
    struct error err = {0};
    const char *paths[] = {"/api/v1/courses/", "/api/v1/courses"};
    for (int i = 0; i < 2; i++) {
        const struct route *r = match(HTTP_GET, paths[i], &p, allow, &err);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->name, "courses_list");
        ck_assert_uint_eq(p.count, 0);
    }
    const struct route *r = match(HTTP_GET, "/healthz/", &p, allow, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->name, "healthz");
    r = match(HTTP_POST, "/api/v1/courses", &p, allow, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->name, "courses_list");
}
END_TEST

START_TEST(test_params)
{
    struct route_params p;
    char allow[64];
    struct error err = {0};
    const struct route *r = match(HTTP_GET, "/api/v1/courses/MITx+6.002x/", &p, allow, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->name, "courses_detail");
    ck_assert_uint_eq(p.count, 1);
    ck_assert_str_eq(route_param(&p, "key"), "MITx+6.002x");
    ck_assert_ptr_null(route_param(&p, "uuid"));

    r = match(HTTP_GET, "/api/v1/courses/course-v1:MITx+6.002x+2T2025", &p, allow, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(route_param(&p, "key"), "course-v1:MITx+6.002x+2T2025");

    /* Values arrive percent-decoded from libmicrohttpd: a space or any
     * byte but '/' is part of the segment. */
    r = match(HTTP_GET, "/api/v1/courses/a b%c/", &p, allow, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(route_param(&p, "key"), "a b%c");

    r = match(HTTP_GET, "/api/v1/programs/u-1/courses/K+1", &p, allow, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->name, "nested");
    ck_assert_uint_eq(p.count, 2);
    ck_assert_str_eq(route_param(&p, "uuid"), "u-1");
    ck_assert_str_eq(route_param(&p, "key"), "K+1");
}
END_TEST

START_TEST(test_not_found)
{
    struct route_params p;
    char allow[64];
    const char *paths[] = {"/",
                           "",
                           "api/v1/courses/",
                           "/api/v1/course/",
                           "/api/v1/courses//",
                           "/api/v1/courses/a/b/",
                           "/api/v1/courses/a//",
                           "/api/v1//courses/",
                           "/healthzz",
                           "/health",
                           "/api/v1/programs/u/courses/",
                           "/API/V1/COURSES/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct error err = {0};
        ck_assert_msg(match(HTTP_GET, paths[i], &p, allow, &err) == NULL, "%s", paths[i]);
        ck_assert_int_eq(err.code, ERR_NOT_FOUND);
        ck_assert_str_eq(allow, "");
    }
}
END_TEST

START_TEST(test_method_not_allowed)
{
    struct route_params p;
    char allow[64];
    struct error err = {0};
    ck_assert_ptr_null(match(HTTP_DELETE, "/api/v1/courses/", &p, allow, &err));
    ck_assert_int_eq(err.code, ERR_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD, POST");
    ck_assert_ptr_nonnull(strstr(err.message, "DELETE"));

    error_clear(&err);
    ck_assert_ptr_null(match(HTTP_POST, "/api/v1/courses/X/", &p, allow, &err));
    ck_assert_int_eq(err.code, ERR_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD, PUT, PATCH, DELETE");

    /* HEAD is not implied where there is no GET. */
    error_clear(&err);
    ck_assert_ptr_null(match(HTTP_HEAD, "/api/v1/search/all/", &p, allow, &err));
    ck_assert_int_eq(err.code, ERR_METHOD);
    ck_assert_str_eq(allow, "DELETE");

    /* An unknown method (0) is a 405, not a crash. */
    error_clear(&err);
    ck_assert_ptr_null(match((enum http_method)0, "/healthz", &p, allow, &err));
    ck_assert_int_eq(err.code, ERR_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD");
}
END_TEST

START_TEST(test_head_where_get)
{
    struct route_params p;
    char allow[64];
    struct error err = {0};
    const struct route *r = match(HTTP_HEAD, "/api/v1/courses/K/", &p, allow, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->name, "courses_detail");
    ck_assert_str_eq(route_param(&p, "key"), "K");
}
END_TEST

START_TEST(test_long_segment)
{
    struct route_params p;
    char allow[64];
    struct error err = {0};
    char path[2048] = "/api/v1/courses/";
    memset(path + strlen(path), 'k', 1000);
    path[16 + 1000] = '\0';
    ck_assert_ptr_null(match(HTTP_GET, path, &p, allow, &err));
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    memset(path + 16, 'k', 511);
    path[16 + 511] = '\0';
    ck_assert_ptr_nonnull(match(HTTP_GET, path, &p, allow, &err));
    ck_assert_uint_eq(strlen(route_param(&p, "key")), 511);
}
END_TEST

START_TEST(test_catalog_routes)
{
    struct route_params p;
    char allow[64];
    struct error err = {0};
    static const struct {
        enum http_method m;
        const char *path, *name, *key;
    } cases[] = {
        {HTTP_GET, "/health/", "health", NULL},
        {HTTP_GET, "/healthz", "healthz", NULL},
        {HTTP_GET, "/readyz", "readyz", NULL},
        {HTTP_GET, "/metrics", "metrics", NULL},
        {HTTP_GET, "/api/v1/courses/", "courses_list", NULL},
        {HTTP_GET, "/api/v1/courses/MITx+6.002x/", "courses_detail", "MITx+6.002x"},
        {HTTP_GET, "/api/v1/course_runs/course-v1:MITx+6.002x+2T2025/", "course_runs_detail",
         "course-v1:MITx+6.002x+2T2025"},
        {HTTP_HEAD, "/api/v1/programs", "programs_list", NULL},
        {HTTP_POST, "/api/v1/organizations/", "organizations_list", NULL},
        {HTTP_PATCH, "/api/v1/subjects/math/", "subjects_detail", "math"},
        {HTTP_GET, "/api/v1/program_types/", "program_types_list", NULL},
        {HTTP_GET, "/api/v1/pathways/", "pathways_list", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct route *r = router_match(catalog_routes, catalog_routes_count, cases[i].m,
                                             cases[i].path, &p, allow, sizeof allow, &err);
        ck_assert_msg(r != NULL, "%s: %s", cases[i].path, err.message);
        ck_assert_str_eq(r->name, cases[i].name);
        if (cases[i].key != NULL)
            ck_assert_str_eq(route_param(&p, "key"), cases[i].key);
    }
    ck_assert_ptr_null(router_match(catalog_routes, catalog_routes_count, HTTP_POST, "/healthz", &p,
                                    allow, sizeof allow, &err));
    ck_assert_int_eq(err.code, ERR_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_literal_and_trailing_slash);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_method_not_allowed);
    tcase_add_test(tc, test_head_where_get);
    tcase_add_test(tc, test_long_segment);
    tcase_add_test(tc, test_catalog_routes);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
