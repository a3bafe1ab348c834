/*
 * api - the read handlers (list and retrieve) for every catalog kind, and
 * what the write handlers (api_write.c) share with them.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "api_filters.h"
#include "api_internal.h"
#include "api_page.h"
#include "api_repr.h"
#include "api_search.h"
#include "clock.h"

void api_respond_error(struct http_response *resp, const struct error *err)
{
    if (err->code == ERR_CONFLICT) {
        http_respond_detail(resp, 409, err->message);
        return;
    }
    if (err->code == ERR_NOT_FOUND) {
        /* DRF's wording; the store's message (which key) is not needed by
         * clients and would differ between drivers. */
        http_respond_detail(resp, 404, "Not found.");
        return;
    }
    http_respond_error(resp, err);
}

json_t *api_represent_one(struct app *app, const struct http_request *req, enum entity_kind kind,
                          const json_t *doc, struct error *err)
{
    struct api_repr r;
    json_t *out = NULL;
    if (api_repr_init(&r, app->store, req->caller.staff, clock_now(), err) == 0)
        out = api_repr_build(&r, kind, doc, true, err);
    api_repr_free(&r);
    return out;
}

/* programs/?uuids_only=1: a bare list of every matching uuid, unpaginated,
 * as the LMS's cache job expects. */
static void list_uuids(struct app *app, struct store_query *q, struct http_response *resp)
{
    struct error err = {0};
    struct store_page page = {0};
    if (store_list(app->store, q, &page, &err) != 0) {
        api_respond_error(resp, &err);
        return;
    }
    json_t *out = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(page.items, i, doc)
    {
        json_t *uuid = json_object_get(doc, "uuid");
        if (json_is_string(uuid))
            json_array_append(out, uuid);
    }
    json_decref(page.items);
    http_respond_json(resp, 200, out);
}

/* The keys q matched, kept for the store query to point into. */
struct text_match {
    char **found;
    size_t n_found;
    const char **keys; /* found, less those a keys=/uuids= filter leaves out */
};

static void text_match_free(struct text_match *m)
{
    query_params_free_list(m->found, m->n_found);
    free((void *)m->keys);
    memset(m, 0, sizeof *m);
}

static bool listed(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

/* q on courses/, course_runs/ and programs/: the search backend finds the
 * matching keys (uuids for programs), best first and at most
 * API_SEARCH_LIST_MAX_KEYS, and the store lists only those, with the
 * list's own filters, ordering and pagination (so count and pages are the
 * store's, over the matches).  An explicit keys=/uuids= filter narrows
 * the matches further. */
static int restrict_to_text(struct app *app, const struct http_request *req, enum entity_kind kind,
                            struct store_query *sq, struct text_match *m, struct error *err)
{
    memset(m, 0, sizeof *m);
    const char *q = query_params_get(req->query, "q");
    if (q == NULL || *q == '\0' ||
        (kind != ENTITY_COURSE && kind != ENTITY_COURSE_RUN && kind != ENTITY_PROGRAM))
        return 0;
    if (api_search_list_keys(app, req, kind, q, &m->found, &m->n_found, err) != 0)
        return -1;
    /* One more slot: a list filter with no keys must still be non-NULL
     * to match nothing (store.h). */
    m->keys = calloc(m->n_found + 1, sizeof *m->keys);
    if (m->keys == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    bool by_uuid = kind == ENTITY_PROGRAM;
    const char *const *given = by_uuid ? sq->uuids : sq->keys;
    size_t n_given = by_uuid ? sq->n_uuids : sq->n_keys, n = 0;
    for (size_t i = 0; i < m->n_found; i++)
        if (given == NULL || listed(m->found[i], given, n_given))
            m->keys[n++] = m->found[i];
    if (by_uuid) {
        sq->uuids = m->keys;
        sq->n_uuids = n;
    } else {
        sq->keys = m->keys;
        sq->n_keys = n;
    }
    return 0;
}

void api_list(struct app *app, const struct http_request *req, const struct route *route,
              const struct route_params *params, struct http_response *resp)
{
    (void)params;
    struct error err = {0};
    struct api_filters f;
    struct api_page pg;
    struct store_page page = {0};
    struct api_repr r;
    bool repr_ready = false;
    struct text_match match = {0};

    if (api_filters_parse(route->kind, req, &f, &err) != 0)
        goto fail;
    if (restrict_to_text(app, req, route->kind, &f.query, &match, &err) != 0)
        goto fail;
    if (f.uuids_only) {
        list_uuids(app, &f.query, resp);
        text_match_free(&match);
        api_filters_free(&f);
        return;
    }
    if (api_page_parse(app, req->query, &pg, &err) != 0)
        goto fail;
    f.query.offset = pg.offset;
    f.query.limit = pg.size;
    f.query.count_total = true;
    if (store_list(app->store, &f.query, &page, &err) != 0)
        goto fail;
    if (api_page_out_of_range(&pg, page.total)) {
        json_decref(page.items);
        text_match_free(&match);
        api_filters_free(&f);
        http_respond_detail(resp, 404, "Invalid page.");
        return;
    }
    /* api_repr_free is safe after a failed init, which may have allocated. */
    repr_ready = true;
    if (api_repr_init(&r, app->store, req->caller.staff, f.query.now, &err) != 0)
        goto fail_repr;
    if (api_repr_prefetch(&r, route->kind, page.items, &err) != 0)
        goto fail_repr;
    json_t *results = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(page.items, i, doc)
    {
        json_t *item = api_repr_build(&r, route->kind, doc, false, &err);
        if (item == NULL) {
            json_decref(results);
            goto fail_repr;
        }
        json_array_append_new(results, item);
    }
    api_repr_free(&r);
    json_decref(page.items);
    json_t *env = api_page_envelope(app, req, &pg, page.total, results);
    text_match_free(&match);
    api_filters_free(&f);
    if (env == NULL) {
        http_respond_detail(resp, 500, "out of memory");
        return;
    }
    http_respond_json(resp, 200, env);
    return;

fail_repr:
    if (repr_ready)
        api_repr_free(&r);
    json_decref(page.items);
fail:
    text_match_free(&match);
    api_filters_free(&f);
    api_respond_error(resp, &err);
}

void api_retrieve(struct app *app, const struct http_request *req, const struct route *route,
                  const struct route_params *params, struct http_response *resp)
{
    struct error err = {0};
    const char *key = route_param(params, "key");
    json_t *doc = NULL;
    if (key == NULL || store_get(app->store, route->kind, key, &doc, &err) != 0) {
        if (key == NULL)
            error_set(&err, ERR_NOT_FOUND, "Not found.");
        api_respond_error(resp, &err);
        return;
    }
    struct api_repr r;
    json_t *out = NULL;
    if (api_repr_init(&r, app->store, req->caller.staff, clock_now(), &err) == 0) {
        /* A record the caller may not see does not exist for them. */
        if (!api_repr_visible(&r, route->kind, doc))
            error_set(&err, ERR_NOT_FOUND, "Not found.");
        else
            out = api_repr_build(&r, route->kind, doc, true, &err);
    }
    api_repr_free(&r);
    json_decref(doc);
    if (out == NULL) {
        api_respond_error(resp, &err);
        return;
    }
    http_respond_json(resp, 200, out);
}
