/*
 * http - response helpers shared by every handler, and the one mapping
 * from error codes to HTTP statuses.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

/* Used when even the error body cannot be encoded (out of memory): a
 * constant so that this path allocates nothing it could fail on. */
static const char fallback_500[] = "{\"detail\": \"Internal server error.\"}";

static void set_fallback(struct http_response *resp)
{
    resp->status = 500;
    resp->body = strdup(fallback_500);
    resp->body_len = resp->body != NULL ? strlen(resp->body) : 0;
    resp->content_type = NULL;
}

void http_response_free_body(struct http_response *resp)
{
    if (resp->body_release != NULL)
        resp->body_release(resp->body_cls);
    else
        free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->body_release = NULL;
    resp->body_cls = NULL;
}

void http_respond_json(struct http_response *resp, int status, json_t *body)
{
    http_response_free_body(resp);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    if (text == NULL) {
        set_fallback(resp);
        return;
    }
    resp->status = status;
    resp->body = text;
    resp->body_len = strlen(text);
    resp->content_type = NULL;
}

void http_respond_detail(struct http_response *resp, int status, const char *message)
{
    json_t *body = json_pack("{s:s}", "detail", message != NULL ? message : "");
    http_respond_json(resp, status, body);
}

int http_status_for_error(enum error_code code)
{
    switch (code) {
    case ERR_INVALID:
        return 400;
    case ERR_NOT_FOUND:
        return 404;
    case ERR_CONFLICT:
        return 409;
    case ERR_UNAVAILABLE:
        return 503;
    case ERR_TOO_LARGE:
        return 413;
    case ERR_UNSUPPORTED:
        return 415;
    case ERR_METHOD:
        return 405;
    case ERR_UNAUTHORIZED:
        return 401;
    case ERR_FORBIDDEN:
        return 403;
    default:
        return 500;
    }
}

/* DRF's wording, for errors raised without a message of their own. */
static const char *default_message(int status)
{
    switch (status) {
    case 401:
        return "Authentication credentials were not provided.";
    case 403:
        return "You do not have permission to perform this action.";
    case 404:
        return "Not found.";
    case 405:
        return "Method not allowed.";
    case 413:
        return "Request body too large.";
    case 415:
        return "Unsupported media type in request.";
    case 503:
        return "Service temporarily unavailable, try again later.";
    default:
        return "Invalid request.";
    }
}

void http_respond_error(struct http_response *resp, const struct error *err)
{
    int status = http_status_for_error(err->code);
    /* A 500 is our bug or a backend's surprise: its message may hold SQL,
     * paths or driver text, which a client has no use for. */
    if (status == 500) {
        http_respond_detail(resp, 500, "Internal server error.");
        return;
    }
    const char *message = err->message[0] != '\0' ? err->message : default_message(status);
    if (err->field[0] != '\0') {
        json_t *body = json_pack("{s:[s]}", err->field, message);
        http_respond_json(resp, status, body);
        return;
    }
    http_respond_detail(resp, status, message);
}
