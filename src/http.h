/*
 * http - the request and response that handlers see, independent of
 * libmicrohttpd (so that handlers and the router are unit-testable).
 */
#ifndef CATALOGD_HTTP_H
#define CATALOGD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "query_params.h"

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_PATCH = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
};

/* Who is asking.  Until JWT auth lands, a caller is staff only when
 * [auth] allow_anonymous_writes is on (a development switch). */
struct caller {
    bool authenticated;
    bool staff;
    unsigned scopes; /* enum auth_scope bits (src/auth.h) from the token */
    char subject[128];
};

struct http_request {
    enum http_method method;
    const char *method_name;
    const char *path; /* percent-decoded, without the query string */
    const struct query_params *query;
    const char *body; /* NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    const char *content_type; /* NULL when absent */
    const char *request_id;
    struct caller caller;
};

struct http_response {
    int status;
    /* malloc'd and freed by the server, unless body_release is set: then
     * the body is borrowed (read-only, e.g. a cache entry) and given back by
     * body_release(body_cls) once sent.  http_response_free_body does
     * whichever applies. */
    char *body;
    size_t body_len;
    void (*body_release)(void *cls);
    void *body_cls;
    const char *content_type; /* static; NULL means application/json */
    char allow[64];           /* Allow header (405), "" for none */
    char location[512];       /* Location header (redirects), "" for none */
};

/* Sets status and the body to the compact JSON text of body, which is
 * stolen (decref'd).  Falls back to a 500 when encoding fails. */
void http_respond_json(struct http_response *resp, int status, json_t *body);

/* {"detail": message} with the given status. */
void http_respond_detail(struct http_response *resp, int status, const char *message);

/* Maps err to a status and a DRF-shaped body: {"<field>": ["<message>"]}
 * for a field error, {"detail": "<message>"} otherwise. */
void http_respond_error(struct http_response *resp, const struct error *err);

/* Frees resp's body, or gives a borrowed one back (body_release), and
 * leaves resp without a body. */
void http_response_free_body(struct http_response *resp);

/* The one place error codes become HTTP statuses. */
int http_status_for_error(enum error_code code);

#endif
