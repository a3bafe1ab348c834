/*
 * api_search_facets - search/.../facets/: drf-haystack's facet response as
 * course-discovery serves it,
 *   {"fields":  {"<field>": [{"text", "count", "narrow_url"}, ...]},
 *    "queries": {"availability_<slug>": {"count", "narrow_url"}, ...},
 *    "objects": {"count", "next", "previous", "results"}}
 * Field values are ordered by count (largest first), then text; query
 * facets with a count of 0 are left out.  A narrow_url is the same request
 * with one more selection, built as drf-haystack builds it: the page
 * parameter dropped (a narrowed set may have fewer pages), the selections
 * of that parameter de-duplicated, sorted and put last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_search.h"

static const char *const query_facets[] = {"availability_current", "availability_starting_soon",
                                           "availability_upcoming", "availability_archived"};

/* Percent-encodes all but RFC 3986's unreserved characters ('/' kept in
 * the path), as api_page.c does for next/previous links. */
static void put_encoded(FILE *f, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/'))
            fputc(c, f);
        else
            fprintf(f, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

static void put_param(FILE *f, bool *first, const char *name, const char *value)
{
    fputc(*first ? '?' : '&', f);
    *first = false;
    put_encoded(f, name, false);
    fputc('=', f);
    put_encoded(f, value, false);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The absolute URL of req with `name=added` selected too (see above).
 * Returns a malloc'd string (caller frees), or NULL when out of memory. */
static char *narrow_url(const struct app *app, const struct http_request *req, const char *name,
                        const char *added)
{
    const struct query_params *q = req->query;
    size_t n_items = q != NULL ? q->count : 0;
    const char **picked = malloc((n_items + 1) * sizeof *picked);
    if (picked == NULL)
        return NULL;
    char *buf = NULL;
    size_t len = 0, n_picked = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        free(picked);
        return NULL;
    }
    fputs(app->public_url, f);
    put_encoded(f, req->path ? req->path : "/", true);
    bool first = true;
    for (size_t i = 0; i < n_items; i++) {
        const char *iname = q->items[i].name;
        if (strcmp(iname, "page") == 0)
            continue;
        if (strcmp(iname, name) == 0)
            picked[n_picked++] = q->items[i].value;
        else
            put_param(f, &first, iname, q->items[i].value);
    }
    picked[n_picked++] = added;
    qsort(picked, n_picked, sizeof *picked, cmp_str);
    for (size_t i = 0; i < n_picked; i++)
        if (i == 0 || strcmp(picked[i], picked[i - 1]) != 0)
            put_param(f, &first, name, picked[i]);
    free(picked);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static json_t *url_value(char *url)
{
    json_t *v = url ? json_string(url) : NULL;
    free(url);
    return v;
}

struct term {
    const char *text;
    json_int_t count;
};

static int cmp_term(const void *a, const void *b)
{
    const struct term *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->text, y->text);
}

/* [{"text", "count", "narrow_url"}, ...] for one field's {value: count}. */
static json_t *field_out(const struct app *app, const struct http_request *req, const char *field,
                         const json_t *counts)
{
    size_t n = json_object_size(counts);
    struct term *terms = calloc(n ? n : 1, sizeof *terms);
    json_t *out = json_array();
    if (terms == NULL || out == NULL)
        goto oom;
    size_t m = 0;
    const char *value;
    json_t *count;
    json_object_foreach((json_t *)counts, value, count)
    {
        if (json_integer_value(count) <= 0)
            continue;
        terms[m].text = value;
        terms[m].count = json_integer_value(count);
        m++;
    }
    qsort(terms, m, sizeof *terms, cmp_term);
    for (size_t i = 0; i < m; i++) {
        size_t size = strlen(field) + strlen(terms[i].text) + sizeof "_exact:";
        char *pick = malloc(size);
        if (pick == NULL)
            goto oom;
        snprintf(pick, size, "%s_exact:%s", field, terms[i].text);
        json_t *url = url_value(narrow_url(app, req, "selected_facets", pick));
        free(pick);
        json_t *item = url ? json_pack("{s:s, s:I, s:o}", "text", terms[i].text, "count",
                                       terms[i].count, "narrow_url", url)
                           : NULL;
        if (item == NULL || json_array_append_new(out, item) != 0)
            goto oom;
    }
    free(terms);
    return out;
oom:
    free(terms);
    json_decref(out);
    return NULL;
}

/* The "fields" and "queries" parts from the backend's facet counts. */
static int facets_out(const struct app *app, const struct http_request *req, const json_t *facets,
                      json_t *body)
{
    json_t *fields = json_object(), *queries = json_object();
    json_object_set_new(body, "fields", fields);
    json_object_set_new(body, "queries", queries);
    if (fields == NULL || queries == NULL)
        return -1;
    const char *field;
    json_t *counts;
    json_object_foreach(json_object_get(facets, "fields"), field, counts)
    {
        json_t *list = field_out(app, req, field, counts);
        if (list == NULL || json_object_set_new(fields, field, list) != 0)
            return -1;
    }
    const json_t *qcounts = json_object_get(facets, "queries");
    for (size_t i = 0; i < sizeof query_facets / sizeof *query_facets; i++) {
        json_int_t n = json_integer_value(json_object_get(qcounts, query_facets[i]));
        if (n <= 0)
            continue; /* course-discovery omits empty query facets */
        json_t *url = url_value(narrow_url(app, req, "selected_query_facets", query_facets[i]));
        json_t *item = url ? json_pack("{s:I, s:o}", "count", n, "narrow_url", url) : NULL;
        if (item == NULL || json_object_set_new(queries, query_facets[i], item) != 0)
            return -1;
    }
    return 0;
}

void api_search_facets(struct app *app, const struct http_request *req, const struct route *route,
                       const struct route_params *params, struct http_response *resp)
{
    (void)params;
    if (app->search == NULL) {
        api_search_unconfigured(resp);
        return;
    }
    struct error err = {0};
    struct api_search_params p;
    struct api_page pg;
    struct search_result result = {0};
    if (api_search_params_parse(req, route->kind, &p, &err) != 0)
        goto fail;
    if (api_page_parse(app, req->query, &pg, &err) != 0)
        goto fail;
    p.rq.offset = pg.offset;
    p.rq.limit = pg.size;
    p.rq.want_facets = true;
    if (api_search_run(app, &p, &result, &err) != 0)
        goto fail;
    if (api_page_out_of_range(&pg, result.total)) {
        search_result_clear(&result);
        api_search_params_free(&p);
        http_respond_detail(resp, 404, "Invalid page.");
        return;
    }
    json_t *body = json_object();
    json_t *objects = api_search_page_objects(app, req, &pg, &result, p.rq.now);
    int rc = body && objects ? facets_out(app, req, result.facets, body) : -1;
    if (rc == 0)
        rc = json_object_set_new(body, "objects", objects);
    else
        json_decref(objects);
    search_result_clear(&result);
    api_search_params_free(&p);
    if (rc != 0) {
        json_decref(body);
        http_respond_detail(resp, 500, "out of memory");
        return;
    }
    http_respond_json(resp, 200, body);
    return;
fail:
    api_search_params_free(&p);
    api_respond_error(resp, &err);
}
