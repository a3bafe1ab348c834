/*
 * api_write - the write handlers: POST creates, PUT replaces, PATCH merges
 * the body into the stored record and replaces, DELETE removes.  Each
 * either commits completely or leaves the store as it was: a course and
 * the runs nested in its body are written in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "after_commit.h"
#include "indexer.h"
#include "api_internal.h"
#include "log.h"

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)

static const char forbidden[] = "You do not have permission to perform this action.";

/* application/json, optionally with charset=utf-8 (any case, any spacing);
 * any other type or charset is refused. */
static bool json_content_type(const char *ct)
{
    static const char type[] = "application/json";
    if (ct == NULL || strncasecmp(ct, type, sizeof type - 1) != 0)
        return false;
    const char *p = ct + sizeof type - 1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return true;
    if (*p++ != ';')
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "charset=", 8) != 0)
        return false;
    p += 8;
    if (*p == '"')
        p++;
    if (strncasecmp(p, "utf-8", 5) != 0 && strncasecmp(p, "utf8", 4) != 0)
        return false;
    p += strncasecmp(p, "utf-8", 5) == 0 ? 5 : 4;
    if (*p == '"')
        p++;
    while (*p == ' ' || *p == '\t' || *p == ';')
        p++;
    return *p == '\0';
}

/* DRF's texts, so that clients written against course-discovery match. */
static const char unauthenticated[] = "Authentication credentials were not provided.";

/* The write decision (app_may_write): 401 for an anonymous caller, 403
 * for one without the right.  The server adds WWW-Authenticate to 401s. */
static int check_may_write(const struct app *app, const struct http_request *req,
                           struct http_response *resp)
{
    struct error err = {0};
    if (app_may_write(app, &req->caller, &err) == 0)
        return 0;
    http_respond_detail(resp, err.code == ERR_FORBIDDEN ? 403 : 401,
                        err.code == ERR_FORBIDDEN ? forbidden : unauthenticated);
    return -1;
}

/* Deeper documents are refused before parsing: no entity nests more than a
 * few levels, and jansson's own limit (2048) is far above what we need. */
#define JSON_MAX_DEPTH 32

/* True when text nests arrays and objects deeper than JSON_MAX_DEPTH
 * (brackets inside strings do not count). */
static bool json_too_deep(const char *text, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > JSON_MAX_DEPTH)
                return true;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return false;
}

/* Checks the caller and the body; on success *body is the request's JSON
 * object (caller owns).  Otherwise the response is set and -1 returned. */
static int read_body(const struct app *app, const struct http_request *req,
                     struct http_response *resp, json_t **body)
{
    *body = NULL;
    if (check_may_write(app, req, resp) != 0)
        return -1;
    if (!json_content_type(req->content_type)) {
        char msg[300];
        snprintf(msg, sizeof msg, "Unsupported media type \"%.200s\" in request.",
                 req->content_type ? req->content_type : "");
        http_respond_detail(resp, 415, msg);
        return -1;
    }
    if (json_too_deep(req->body ? req->body : "", req->body_len)) {
        http_respond_detail(
            resp, 400,
            "JSON parse error - nesting deeper than " STRINGIFY(JSON_MAX_DEPTH) " levels");
        return -1;
    }
    json_error_t jerr;
    /* Strict: duplicate keys refused (a second "key" must not silently win
     * over the first); json_loadb already refuses trailing data and
     * invalid UTF-8. */
    json_t *doc =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        char msg[400];
        snprintf(msg, sizeof msg, "JSON parse error - %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        http_respond_detail(resp, 400, msg);
        return -1;
    }
    if (!json_is_object(doc)) {
        static const char *const names[] = {"dict",  "list", "str",  "int",
                                            "float", "bool", "bool", "null"};
        char msg[128];
        snprintf(msg, sizeof msg, "Invalid data. Expected a dictionary, but got %s.",
                 names[json_typeof(doc)]);
        json_decref(doc);
        json_t *err = json_pack("{s:[s]}", "non_field_errors", msg);
        http_respond_json(resp, 400, err);
        return -1;
    }
    *body = doc;
    return 0;
}

/* Follows a committed write: the write stands whatever happens here, so a
 * failure to index is only logged (the outbox keeps the change, /readyz
 * shows the lag, and the next write or restart applies it). */
static void follow_commit(struct app *app)
{
    struct error err = {0};
    if (after_commit_with(app->store, app->search, app->cache, app->indexer, &err) != 0)
        log_msg(LOG_ERROR, "search index: a committed write is not indexed yet: %s", err.message);
}

/* Whether the caller asked that the write be searchable when answered:
 * ?wait_for_index=1 (or true), or search.wait_for_index (which
 * ?wait_for_index=0 turns off for one write). */
static bool wants_index_wait(const struct app *app, const struct http_request *req)
{
    const char *v = req->query != NULL ? query_params_get(req->query, "wait_for_index") : NULL;
    if (v == NULL)
        return app->wait_for_index;
    return strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
}

/* With the thread indexer, waits (search.wait_timeout) for the index to
 * hold the committed write when asked to.  Returns true when the write is
 * known not to be searchable yet (timed out, or the wait failed); inline
 * indexing has already applied it by now. */
static bool index_pending(struct app *app, const struct http_request *req)
{
    if (app->indexer == NULL || app->search == NULL || !wants_index_wait(app, req))
        return false;
    struct error err = {0};
    uint64_t head = 0;
    bool applied = false;
    /* The head read after our commit is at or above our change. */
    if (indexer_outbox_head(app->store, &head, &err) != 0 ||
        indexer_thread_wait(app->indexer, head, app->index_wait_timeout, &applied, &err) != 0) {
        log_msg(LOG_WARN, "wait_for_index: %s", err.message);
        return true;
    }
    return !applied;
}

/* Writes doc (and, for a course, the runs normalized under "course_runs")
 * in one transaction.  *stored receives the record as stored. */
static int write_all(struct app *app, enum entity_kind kind, json_t *doc, enum store_put mode,
                     json_t **stored, struct error *err)
{
    json_t *runs = json_incref(json_object_get(doc, "course_runs"));
    json_object_del(doc, "course_runs");
    if (store_begin(app->store, err) != 0) {
        json_decref(runs);
        return -1;
    }
    int rc = store_put(app->store, kind, doc, mode, stored, err);
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        if (rc != 0)
            break;
        /* A create makes new runs; a replace may also update the ones the
         * course already has. */
        rc = store_put(app->store, ENTITY_COURSE_RUN, run,
                       mode == STORE_CREATE ? STORE_CREATE : STORE_UPSERT, NULL, err);
        if (rc != 0 && err->field[0] != '\0') {
            char field[128];
            int n = snprintf(field, sizeof field, "course_runs[%zu].%s", i, err->field);
            size_t len = n < 0 ? 0 : (size_t)n;
            if (len >= sizeof err->field)
                len = sizeof err->field - 1;
            memcpy(err->field, field, len);
            err->field[len] = '\0';
        }
    }
    json_decref(runs);
    if (rc == 0)
        rc = store_commit(app->store, err);
    if (rc != 0) {
        store_rollback(app->store);
        json_decref(*stored);
        *stored = NULL;
        return rc;
    }
    follow_commit(app);
    return 0;
}

/* A write the index does not hold yet when answered (wait_for_index
 * timed out) says so with "_index": "pending" in its body (there is no
 * response header to carry it). */
static void respond_written(struct app *app, const struct http_request *req, enum entity_kind kind,
                            const json_t *stored, int status, struct http_response *resp)
{
    struct error err = {0};
    bool pending = index_pending(app, req);
    json_t *out = api_represent_one(app, req, kind, stored, &err);
    if (out == NULL) {
        api_respond_error(resp, &err);
        return;
    }
    if (pending && json_is_object(out))
        json_object_set_new(out, "_index", json_string("pending"));
    http_respond_json(resp, status, out);
}

void api_create(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp)
{
    (void)params;
    struct error err = {0};
    json_t *body, *doc = NULL, *stored = NULL;
    if (read_body(app, req, resp, &body) != 0)
        return;
    /* modified is the server's to set; an import may carry it, a client
     * may not. */
    json_object_del(body, "modified");
    if (entity_normalize(route->kind, body, ENTITY_CREATE, &doc, &err) != 0 ||
        write_all(app, route->kind, doc, STORE_CREATE, &stored, &err) != 0)
        api_respond_error(resp, &err);
    else
        respond_written(app, req, route->kind, stored, 201, resp);
    json_decref(body);
    json_decref(doc);
    json_decref(stored);
}

/* Keeps the identity of the stored record: the natural key may not change
 * (the body may repeat it), the uuid and a pathway's id are kept. */
static int keep_identity(enum entity_kind kind, const json_t *existing, json_t *doc,
                         struct error *err)
{
    const char *key_field = entity_key_field(kind);
    json_t *old_key = json_object_get(existing, key_field);
    json_t *new_key = json_object_get(doc, key_field);
    if (new_key != NULL && !json_is_null(new_key) && !json_equal(new_key, old_key))
        return error_set_field(err, ERR_INVALID, key_field,
                               "The %s of an existing record cannot be changed.", key_field);
    static const char *const kept[] = {"uuid", "id"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(existing, kept[i]);
        if (v != NULL)
            json_object_set(doc, kept[i], v);
    }
    json_object_set(doc, key_field, old_key);
    return 0;
}

void api_update(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp)
{
    struct error err = {0};
    json_t *body, *existing = NULL, *input = NULL, *doc = NULL, *stored = NULL;
    const char *key = route_param(params, "key");
    if (read_body(app, req, resp, &body) != 0)
        return;
    if (key == NULL) {
        error_set(&err, ERR_NOT_FOUND, "Not found.");
        goto fail;
    }
    if (store_get(app->store, route->kind, key, &existing, &err) != 0)
        goto fail;
    if (req->method == HTTP_PATCH) {
        input = json_deep_copy(existing);
        if (input == NULL || json_object_update(input, body) != 0) {
            error_set(&err, ERR_INTERNAL, "out of memory");
            goto fail;
        }
    } else {
        input = json_incref(body);
    }
    json_object_del(input, "modified");
    if (keep_identity(route->kind, existing, input, &err) != 0 ||
        entity_normalize(route->kind, input, ENTITY_REPLACE, &doc, &err) != 0 ||
        write_all(app, route->kind, doc, STORE_REPLACE, &stored, &err) != 0)
        goto fail;
    respond_written(app, req, route->kind, stored, 200, resp);
    goto done;
fail:
    api_respond_error(resp, &err);
done:
    json_decref(body);
    json_decref(existing);
    json_decref(input);
    json_decref(doc);
    json_decref(stored);
}

void api_delete(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp)
{
    struct error err = {0};
    const char *key = route_param(params, "key");
    if (check_may_write(app, req, resp) != 0)
        return;
    if (key == NULL) {
        http_respond_detail(resp, 404, "Not found.");
        return;
    }
    if (store_remove(app->store, route->kind, key, &err) != 0) {
        api_respond_error(resp, &err);
        return;
    }
    follow_commit(app);
    if (index_pending(app, req)) {
        /* 204 has no body to say it in: 202, the deletion done but not yet
         * visible to search. */
        http_respond_json(resp, 202, json_pack("{s:s}", "_index", "pending"));
        return;
    }
    free(resp->body);
    resp->status = 204;
    resp->body = NULL;
    resp->body_len = 0;
}
