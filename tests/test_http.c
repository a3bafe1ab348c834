/*
 * test_http - DRF-shaped responses and the error-to-status mapping; the
 * access log line; the operational endpoints that need no backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "testutil.h"

static json_t *body_json(const struct http_response *resp)
{
    json_error_t jerr;
    ck_assert_ptr_nonnull(resp->body);
    ck_assert_uint_eq(strlen(resp->body), resp->body_len);
    json_t *j = json_loadb(resp->body, resp->body_len, 0, &jerr);
    ck_assert_msg(j != NULL, "not JSON: %s", resp->body);
    return j;
}

START_TEST(test_status_mapping)
{
    static const struct {
        enum error_code code;
        int status;
    } map[] = {
        {ERR_INVALID, 400},   {ERR_NOT_FOUND, 404},   {ERR_CONFLICT, 409}, {ERR_UNAVAILABLE, 503},
        {ERR_TOO_LARGE, 413}, {ERR_UNSUPPORTED, 415}, {ERR_METHOD, 405},   {ERR_UNAUTHORIZED, 401},
        {ERR_FORBIDDEN, 403}, {ERR_CONFIG, 500},      {ERR_IO, 500},       {ERR_INTERNAL, 500},
        {ERR_NONE, 500},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        ck_assert_int_eq(http_status_for_error(map[i].code), map[i].status);
}
END_TEST

START_TEST(test_field_error_shape)
{
    struct http_response resp = {0};
    struct error err = {0};
    error_set_field(&err, ERR_INVALID, "marketable", "Must be one of 1, 0, true, false.");
    http_respond_error(&resp, &err);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_null(resp.content_type);
    json_t *j = body_json(&resp);
    ck_assert_uint_eq(json_object_size(j), 1);
    json_t *list = json_object_get(j, "marketable");
    ck_assert(json_is_array(list));
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_array_get(list, 0)),
                     "Must be one of 1, 0, true, false.");
    json_decref(j);
    free(resp.body);
}
END_TEST

START_TEST(test_detail_shape)
{
    struct http_response resp = {0};
    struct error err = {0};
    error_set(&err, ERR_CONFLICT, "organization MITx owns courses: MITx+6.002x");
    http_respond_error(&resp, &err);
    ck_assert_int_eq(resp.status, 409);
    json_t *j = body_json(&resp);
    ck_assert_uint_eq(json_object_size(j), 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "detail")),
                     "organization MITx owns courses: MITx+6.002x");
    json_decref(j);

    /* A second response into the same struct frees the first body. */
    error_set(&err, ERR_NOT_FOUND, "%s", "");
    http_respond_error(&resp, &err);
    ck_assert_int_eq(resp.status, 404);
    j = body_json(&resp);
    ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), "Not found.");
    json_decref(j);
    free(resp.body);
}
END_TEST

START_TEST(test_500_hides_internals)
{
    struct http_response resp = {0};
    struct error err = {0};
    error_set_field(&err, ERR_INTERNAL, "title",
                    "sqlite3_step: no such column courses.secret in /var/lib/catalogd.db");
    http_respond_error(&resp, &err);
    ck_assert_int_eq(resp.status, 500);
    ck_assert_ptr_null(strstr(resp.body, "sqlite"));
    ck_assert_ptr_null(strstr(resp.body, "title"));
    json_t *j = body_json(&resp);
    ck_assert(json_is_string(json_object_get(j, "detail")));
    json_decref(j);
    free(resp.body);
}
END_TEST

START_TEST(test_respond_json)
{
    struct http_response resp = {0};
    http_respond_json(&resp, 201, json_pack("{s:s,s:i}", "key", "MITx+6.002x", "n", 3));
    ck_assert_int_eq(resp.status, 201);
    ck_assert_str_eq(resp.body, "{\"key\":\"MITx+6.002x\",\"n\":3}");
    /* NULL (a failed json_pack) becomes a JSON 500, not a crash. */
    http_respond_json(&resp, 200, NULL);
    ck_assert_int_eq(resp.status, 500);
    json_t *j = body_json(&resp);
    ck_assert(json_is_string(json_object_get(j, "detail")));
    json_decref(j);
    http_respond_detail(&resp, 404, "Invalid page.");
    ck_assert_int_eq(resp.status, 404);
    ck_assert_str_eq(resp.body, "{\"detail\":\"Invalid page.\"}");
    free(resp.body);
}
END_TEST

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_access_log_line)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/access.log", dir);
    struct error err = {0};
    ck_assert_int_eq(log_open(path, LOG_WARN, true, &err), 0);
    log_access("GET", "/api/v1/courses/MITx+6.002x/\"x\"\xff", 200, 1234, "req-1");
    log_msg(LOG_INFO, "below the threshold");
    log_msg(LOG_ERROR, "store down: %s", "timeout");
    log_close();
    char *text = read_file(path);
    char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "not JSON: %s", text);
    ck_assert_str_eq(json_string_value(json_object_get(j, "method")), "GET");
    ck_assert_str_eq(json_string_value(json_object_get(j, "path")),
                     "/api/v1/courses/MITx+6.002x/\"x\"\xef\xbf\xbd");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 200);
    ck_assert(json_real_value(json_object_get(j, "duration_ms")) > 1.233 &&
              json_real_value(json_object_get(j, "duration_ms")) < 1.235);
    ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "req-1");
    ck_assert(json_is_string(json_object_get(j, "time")));
    json_decref(j);
    /* Only the error line follows: info is below the warn threshold. */
    ck_assert_ptr_null(strstr(nl + 1, "below the threshold"));
    ck_assert_ptr_nonnull(strstr(nl + 1, "error: store down: timeout\n"));
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(test_access_log_off_and_reopen)
{
    char *dir = test_tmpdir();
    char path[4096], rotated[4096];
    snprintf(path, sizeof path, "%s/a.log", dir);
    snprintf(rotated, sizeof rotated, "%s/a.log.1", dir);
    struct error err = {0};
    ck_assert_int_eq(log_open(path, LOG_INFO, false, &err), 0);
    log_access("GET", "/x", 200, 1, "r");
    log_close();
    ck_assert_str_eq(read_file(path), "");

    ck_assert_int_eq(log_open(path, LOG_INFO, true, &err), 0);
    log_access("GET", "/before", 200, 1, "r");
    ck_assert_int_eq(rename(path, rotated), 0);
    ck_assert_int_eq(log_reopen(&err), 0);
    log_access("GET", "/after", 200, 1, "r");
    log_close();
    ck_assert_ptr_nonnull(strstr(read_file(rotated), "/before"));
    ck_assert_ptr_null(strstr(read_file(rotated), "/after"));
    ck_assert_ptr_nonnull(strstr(read_file(path), "/after"));

    /* A log that cannot be opened is an error value, not a crash. */
    error_clear(&err);
    ck_assert_int_eq(log_open("/nonexistent-dir/x/y.log", LOG_INFO, true, &err), -1);
    ck_assert_int_eq(err.code, ERR_IO);
    unlink(path);
    unlink(rotated);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(test_access_log_flushes_within_a_second)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/b.log", dir);
    struct error err = {0};
    ck_assert_int_eq(log_open(path, LOG_INFO, true, &err), 0);
    log_access("GET", "/buffered", 200, 1, "r");
    usleep(1500 * 1000);
    ck_assert_ptr_nonnull(strstr(read_file(path), "/buffered"));
    log_close();
    unlink(path);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(test_log_levels)
{
    enum log_level l;
    ck_assert_int_eq(log_level_from_name("debug", &l), 0);
    ck_assert_int_eq(l, LOG_DEBUG);
    ck_assert_int_eq(log_level_from_name("error", &l), 0);
    ck_assert_int_eq(l, LOG_ERROR);
    ck_assert_int_eq(log_level_from_name("loud", &l), -1);
    ck_assert_int_eq(log_level_from_name(NULL, &l), -1);
}
END_TEST

START_TEST(test_ops_health_and_metrics)
{
    const char *names[] = {"health", "courses_list"};
    struct app app = {0};
    app.metrics = metrics_new(names, 2);
    struct http_response resp = {0};
    ops_health(&app, NULL, NULL, NULL, &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"status\":\"ok\"}");

    metrics_observe_request(app.metrics, 1, 200, 1500);
    ops_metrics(&app, NULL, NULL, NULL, &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(
        resp.body, "catalogd_http_requests_total{route=\"courses_list\",status=\"200\"} 1\n"));
    ck_assert_ptr_null(strstr(resp.body, "catalogd_cache_hits_total"));

    /* No store open: not ready, naming the store. */
    ops_ready(&app, NULL, NULL, NULL, &resp);
    ck_assert_int_eq(resp.status, 503);
    json_t *j = body_json(&resp);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "backends"), "store")),
                     "unavailable");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "detail")), "store"));
    json_decref(j);
    free(resp.body);
    metrics_free(app.metrics);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_status_mapping);
    tcase_add_test(tc, test_field_error_shape);
    tcase_add_test(tc, test_detail_shape);
    tcase_add_test(tc, test_500_hides_internals);
    tcase_add_test(tc, test_respond_json);
    tcase_add_test(tc, test_access_log_line);
    tcase_add_test(tc, test_access_log_off_and_reopen);
    tcase_add_test(tc, test_access_log_flushes_within_a_second);
    tcase_add_test(tc, test_log_levels);
    tcase_add_test(tc, test_ops_health_and_metrics);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
