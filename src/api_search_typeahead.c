/*
 * api_search_typeahead - search/typeahead/?q=: course-discovery's
 * {"course_runs": [{key, title, marketing_url, orgs}],
 *  "programs": [{uuid, title, marketing_url, orgs, type}]},
 * at most API_SEARCH_TYPEAHEAD_LIMIT each, from the backend's suggest
 * (each word of q a prefix of a word of a title, key or organization).
 */
#include <string.h>

#include "api_internal.h"
#include "api_search.h"
#include "search_query.h"

static json_t *field_or_null(const json_t *hit, const char *name)
{
    json_t *v = json_object_get(hit, name);
    return v != NULL ? json_incref(v) : json_null();
}

static json_t *orgs_of(const json_t *hit)
{
    json_t *orgs = json_object_get(hit, "orgs");
    return json_is_array(orgs) ? json_deep_copy(orgs) : json_array();
}

static json_t *run_out(const json_t *hit)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "key", field_or_null(hit, "key"), "title",
                     field_or_null(hit, "title"), "marketing_url",
                     field_or_null(hit, "marketing_url"), "orgs", orgs_of(hit));
}

static json_t *program_out(const json_t *hit)
{
    /* A program's natural key is its uuid; a hit object may name it
     * either way. */
    json_t *uuid = json_object_get(hit, "uuid");
    if (uuid == NULL)
        uuid = json_object_get(hit, "key");
    return json_pack("{s:O?, s:o, s:o, s:o, s:o}", "uuid", uuid, "title",
                     field_or_null(hit, "title"), "marketing_url",
                     field_or_null(hit, "marketing_url"), "orgs", orgs_of(hit), "type",
                     field_or_null(hit, "type"));
}

static json_t *list_out(const json_t *hits, json_t *(*one)(const json_t *))
{
    json_t *out = json_array();
    size_t i;
    json_t *hit;
    json_array_foreach(hits, i, hit)
    {
        if (i >= API_SEARCH_TYPEAHEAD_LIMIT)
            break;
        json_t *item = one(hit);
        if (item == NULL || json_array_append_new(out, item) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

void api_search_typeahead(struct app *app, const struct http_request *req,
                          const struct route *route, const struct route_params *params,
                          struct http_response *resp)
{
    (void)route;
    (void)params;
    if (app->search == NULL) {
        api_search_unconfigured(resp);
        return;
    }
    struct error err = {0};
    const char *q = query_params_get(req->query, "q");
    if (q == NULL || *q == '\0') {
        error_set_field(&err, ERR_INVALID, "q",
                        "The 'q' querystring parameter is required for searching.");
        api_respond_error(resp, &err);
        return;
    }
    if (strlen(q) > SEARCH_QUERY_MAX_BYTES) {
        error_set_field(&err, ERR_INVALID, "q", "Ensure this value has at most %d characters.",
                        SEARCH_QUERY_MAX_BYTES);
        api_respond_error(resp, &err);
        return;
    }
    json_t *found = NULL;
    if (app->search->driver->suggest(app->search, q, API_SEARCH_TYPEAHEAD_LIMIT, !req->caller.staff,
                                     &found, &err) != 0) {
        api_respond_error(resp, &err);
        return;
    }
    json_t *runs = list_out(json_object_get(found, "courserun"), run_out);
    json_t *programs = list_out(json_object_get(found, "program"), program_out);
    json_decref(found);
    json_t *body = runs && programs
                       ? json_pack("{s:o, s:o}", "course_runs", runs, "programs", programs)
                       : NULL;
    if (body == NULL) {
        json_decref(runs);
        json_decref(programs);
        http_respond_detail(resp, 500, "out of memory");
        return;
    }
    http_respond_json(resp, 200, body);
}
