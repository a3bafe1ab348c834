/*
 * api_search - request parsing, the hits endpoints and q on lists; see
 * api_search.h.  Facets are in api_search_facets.c, typeahead in
 * api_search_typeahead.c.
 */
#include "api_search.h"

#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_page.h"
#include "clock.h"
#include "derived.h"
#include "indexer.h"
#include "log.h"
#include "search_query.h"

/* The term facet fields (backends/search.h), as selected_facets names
 * them; the static strings become the picks' field names. */
static const char *const facet_fields[] = {"organizations", "subjects",   "level_type",  "language",
                                           "pacing_type",   "seat_types", "content_type"};

/* Field filters: the parameter, the pick field it becomes, and the values
 * allowed (NULL: any non-empty text). */
static const char *const pacing_values[] = {"self_paced", "instructor_paced", NULL};
static const char *const content_values[] = {"course", "courserun", "program", NULL};
static const struct {
    const char *param;
    const char *field;
    const char *const *allowed;
} filters[] = {
    {"org", "org", NULL},
    {"content_type", "content_type", content_values},
    {"pacing_type", "pacing_type", pacing_values},
    {"level_type", "level_type", NULL},
    {"language", "language", NULL},
    {"subjects", "subjects", NULL},
};

static const char *const availabilities[] = {"current", "starting_soon", "upcoming", "archived"};

void api_search_unconfigured(struct http_response *resp)
{
    http_respond_detail(resp, 503,
                        "Search is not available: no search backend is configured "
                        "(search.driver = none).");
}

static bool one_of(const char *value, const char *const *allowed)
{
    for (; *allowed != NULL; allowed++)
        if (strcmp(value, *allowed) == 0)
            return true;
    return false;
}

static int add_pick(struct api_search_params *p, const char *param, const char *field,
                    const char *value, struct error *err)
{
    if (p->n_picks == API_SEARCH_MAX_PICKS)
        return error_set_field(err, ERR_INVALID, param,
                               "At most %d filters and selected facets are accepted.",
                               API_SEARCH_MAX_PICKS);
    p->picks[p->n_picks].field = field;
    p->picks[p->n_picks].value = value;
    p->n_picks++;
    return 0;
}

/* Records one availability selection; two different ones leave nothing to
 * find. */
static int select_availability(struct api_search_params *p, const char *param, const char *slug,
                               struct error *err)
{
    for (size_t i = 0; i < sizeof availabilities / sizeof *availabilities; i++) {
        if (strcmp(slug, availabilities[i]) != 0)
            continue;
        if (p->rq.availability != NULL && strcmp(p->rq.availability, availabilities[i]) != 0)
            p->nothing = true;
        p->rq.availability = availabilities[i];
        return 0;
    }
    return error_set_field(err, ERR_INVALID, param,
                           "Select a valid choice. %s is not one of the available choices "
                           "(current, starting_soon, upcoming, archived).",
                           slug);
}

/* selected_facets=<field>_exact:<value> (drf-haystack also takes
 * <field>:<value>, and so do we). */
static int select_facet(struct api_search_params *p, const char *text, struct error *err)
{
    const char *colon = strchr(text, ':');
    size_t name_len = colon ? (size_t)(colon - text) : 0;
    if (colon == NULL || colon[1] == '\0')
        return error_set_field(err, ERR_INVALID, "selected_facets",
                               "Expected <field>_exact:<value>, not '%s'.", text);
    if (name_len > 6 && memcmp(text + name_len - 6, "_exact", 6) == 0)
        name_len -= 6;
    for (size_t i = 0; i < sizeof facet_fields / sizeof *facet_fields; i++)
        if (strlen(facet_fields[i]) == name_len && memcmp(text, facet_fields[i], name_len) == 0)
            return add_pick(p, "selected_facets", facet_fields[i], colon + 1, err);
    return error_set_field(err, ERR_INVALID, "selected_facets",
                           "Unknown facet field '%.*s' (organizations, subjects, level_type, "
                           "language, pacing_type, seat_types, content_type).",
                           (int)(name_len > 64 ? 64 : name_len), text);
}

static int parse_instant(const char *param, const char *value, time_t *out, struct error *err)
{
    if (clock_parse_iso8601(value, out) != 0)
        return error_set_field(err, ERR_INVALID, param,
                               "Enter a valid date/time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).");
    /* 0 means "unbounded" to the backend; the epoch itself is a bound no
     * catalog needs, so nudge it by a second rather than lose it. */
    if (*out == 0)
        *out = strcmp(param, "start__gte") == 0 ? 1 : -1;
    return 0;
}

static int parse_ordering(const char *value, enum search_sort *out, struct error *err)
{
    static const struct {
        const char *name;
        enum search_sort sort;
    } orders[] = {{"relevance", SEARCH_SORT_RELEVANCE},
                  {"start", SEARCH_SORT_START},
                  {"-start", SEARCH_SORT_START_DESC},
                  {"title", SEARCH_SORT_TITLE}};
    for (size_t i = 0; i < sizeof orders / sizeof *orders; i++)
        if (strcmp(value, orders[i].name) == 0) {
            *out = orders[i].sort;
            return 0;
        }
    return error_set_field(err, ERR_INVALID, "ordering",
                           "Select a valid choice (relevance, start, -start, title).");
}

/* One query parameter; unknown names are ignored, as DRF does. */
static int parse_param(struct api_search_params *p, const char *name, const char *value,
                       struct error *err)
{
    if (*value == '\0')
        return 0; /* an empty filter is no filter, as in django-filter */
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
        if (strcmp(name, filters[i].param) != 0)
            continue;
        if (filters[i].allowed != NULL && !one_of(value, filters[i].allowed))
            return error_set_field(err, ERR_INVALID, name,
                                   "Select a valid choice. %s is not one of the available "
                                   "choices.",
                                   value);
        return add_pick(p, name, filters[i].field, value, err);
    }
    if (strcmp(name, "selected_facets") == 0)
        return select_facet(p, value, err);
    if (strcmp(name, "availability") == 0)
        return select_availability(p, name, value, err);
    if (strcmp(name, "selected_query_facets") == 0) {
        if (strncmp(value, "availability_", 13) != 0)
            return error_set_field(err, ERR_INVALID, name,
                                   "Unknown query facet '%s' (availability_current, "
                                   "availability_starting_soon, availability_upcoming, "
                                   "availability_archived).",
                                   value);
        return select_availability(p, name, value + 13, err);
    }
    if (strcmp(name, "start__gte") == 0)
        return parse_instant(name, value, &p->rq.start_gte, err);
    if (strcmp(name, "start__lte") == 0)
        return parse_instant(name, value, &p->rq.start_lte, err);
    if (strcmp(name, "ordering") == 0)
        return parse_ordering(value, &p->rq.sort, err);
    return 0;
}

static unsigned content_mask(enum entity_kind kind)
{
    switch (kind) {
    case ENTITY_COURSE:
        return 1u << SEARCH_COURSE;
    case ENTITY_COURSE_RUN:
        return 1u << SEARCH_COURSE_RUN;
    case ENTITY_PROGRAM:
        return 1u << SEARCH_PROGRAM;
    default:
        return 0;
    }
}

int api_search_params_parse(const struct http_request *req, enum entity_kind kind,
                            struct api_search_params *p, struct error *err)
{
    memset(p, 0, sizeof *p);
    p->rq.content_mask = content_mask(kind);
    p->rq.public_only = !req->caller.staff;
    p->rq.now = clock_now();
    const struct query_params *q = req->query;
    for (size_t i = 0; q != NULL && i < q->count; i++)
        if (parse_param(p, q->items[i].name, q->items[i].value, err) != 0)
            return -1;
    if (p->rq.start_gte != 0 && p->rq.start_lte != 0 && p->rq.start_gte > p->rq.start_lte)
        p->nothing = true;
    const char *text = query_params_get(q, "q");
    if (text != NULL && *text != '\0' && search_query_parse(text, strlen(text), &p->tree, err) != 0)
        return -1;
    p->rq.query = p->tree;
    p->rq.picks = p->picks;
    p->rq.n_picks = p->n_picks;
    return 0;
}

void api_search_params_free(struct api_search_params *p)
{
    search_query_free(p->tree);
    p->tree = NULL;
}

/* The answer to a request nothing can match, in the backend's shape. */
static int empty_result(const struct search_request *rq, struct search_result *result,
                        struct error *err)
{
    result->hits = json_array();
    result->total = 0;
    result->facets = NULL;
    if (rq->want_facets) {
        json_t *fields = json_object();
        for (size_t i = 0; fields != NULL && i < sizeof facet_fields / sizeof *facet_fields; i++)
            json_object_set_new(fields, facet_fields[i], json_object());
        result->facets = json_pack("{s:o?, s:{s:i, s:i, s:i, s:i}}", "fields", fields, "queries",
                                   "availability_current", 0, "availability_starting_soon", 0,
                                   "availability_upcoming", 0, "availability_archived", 0);
    }
    if (result->hits == NULL || (rq->want_facets && result->facets == NULL)) {
        search_result_clear(result);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

/* Before a search: documents the clock has made stale (a course whose
 * picked run started or ended) are re-indexed first, so the answer is the
 * one a fresh index gives.  Without writes nothing else would do it in
 * inline mode; the background indexer (thread mode) refreshes in its
 * passes, so it is only woken.  One atomic load when nothing is due.  A
 * failure is logged and the search answered from the index as it is. */
void api_search_refresh_if_due(struct app *app)
{
    if (app->store == NULL || app->search == NULL || !indexer_refresh_due(clock_now()))
        return;
    if (app->indexer != NULL) {
        indexer_thread_signal(app->indexer);
        return;
    }
    struct error err = {0};
    if (indexer_refresh(app->store, app->search, app->cache, NULL, &err) != 0)
        log_msg(LOG_WARN, "search: refreshing clock-dependent documents: %s", err.message);
}

int api_search_run(struct app *app, const struct api_search_params *p, struct search_result *result,
                   struct error *err)
{
    memset(result, 0, sizeof *result);
    if (app->search == NULL)
        return error_set(err, ERR_UNAVAILABLE,
                         "Search is not available: no search backend is "
                         "configured (search.driver = none).");
    api_search_refresh_if_due(app);
    if (p->nothing)
        return empty_result(&p->rq, result, err);
    if (app->search->driver->query(app->search, &p->rq, result, err) != 0) {
        search_result_clear(result);
        return -1;
    }
    return 0;
}

json_t *api_search_hit(const json_t *hit, time_t now)
{
    const json_t *doc = json_object_get(hit, "doc");
    json_t *out = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    if (out == NULL)
        return NULL;
    const char *ct = json_string_value(json_object_get(hit, "content_type"));
    if (ct != NULL)
        json_object_set_new(out, "content_type", json_string(ct));
    /* Clock-dependent values are computed here, at read time: an index
     * never stores them, or they would be wrong the day after. */
    bool dated = json_object_get(out, "start") != NULL || json_object_get(out, "end") != NULL;
    if (ct != NULL && (strcmp(ct, "courserun") == 0 || (strcmp(ct, "course") == 0 && dated))) {
        json_object_set_new(
            out, "availability",
            json_string(derived_availability_label(derived_availability(out, now))));
        json_object_set_new(out, "is_enrollable", json_boolean(derived_is_enrollable(out, now)));
    }
    /* A course hit may list its runs with their dates (search_docs.c
     * does): each gets its availability, as course-discovery's course
     * results show it. */
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(out, "course_runs"), i, run)
    {
        if (json_is_object(run))
            json_object_set_new(
                run, "availability",
                json_string(derived_availability_label(derived_availability(run, now))));
    }
    return out;
}

/* The hits of result as the API shows them. */
static json_t *hits_out(const struct search_result *result, time_t now)
{
    json_t *out = json_array();
    size_t i;
    json_t *hit;
    json_array_foreach(result->hits, i, hit)
    {
        json_t *item = api_search_hit(hit, now);
        if (item == NULL || json_array_append_new(out, item) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *api_search_page_objects(struct app *app, const struct http_request *req,
                                const struct api_page *pg, const struct search_result *result,
                                time_t now)
{
    json_t *results = hits_out(result, now);
    if (results == NULL)
        return NULL;
    return api_page_envelope(app, req, pg, result->total, results);
}

void api_search(struct app *app, const struct http_request *req, const struct route *route,
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
    if (api_search_run(app, &p, &result, &err) != 0)
        goto fail;
    if (api_page_out_of_range(&pg, result.total)) {
        search_result_clear(&result);
        api_search_params_free(&p);
        http_respond_detail(resp, 404, "Invalid page.");
        return;
    }
    json_t *env = api_search_page_objects(app, req, &pg, &result, p.rq.now);
    search_result_clear(&result);
    api_search_params_free(&p);
    if (env == NULL) {
        http_respond_detail(resp, 500, "out of memory");
        return;
    }
    http_respond_json(resp, 200, env);
    return;
fail:
    api_search_params_free(&p);
    api_respond_error(resp, &err);
}

int api_search_list_keys(struct app *app, const struct http_request *req, enum entity_kind kind,
                         const char *q, char ***out, size_t *n, struct error *err)
{
    *out = NULL;
    *n = 0;
    if (app->search == NULL)
        return error_set(err, ERR_UNAVAILABLE,
                         "Search is not available: q needs a search "
                         "backend (search.driver = none).");
    struct search_node *tree = NULL;
    if (search_query_parse(q, strlen(q), &tree, err) != 0)
        return -1;
    api_search_refresh_if_due(app);
    struct search_request rq = {
        .query = tree,
        .content_mask = content_mask(kind),
        .public_only = !req->caller.staff,
        .now = clock_now(),
        .limit = API_SEARCH_LIST_MAX_KEYS,
        .keys_only = true, /* only keys are read below: spare the hit JSON */
    };
    struct search_result result = {0};
    int rc = app->search->driver->query(app->search, &rq, &result, err);
    search_query_free(tree);
    if (rc != 0) {
        search_result_clear(&result);
        return -1;
    }
    size_t count = json_array_size(result.hits);
    char **keys = count ? calloc(count, sizeof *keys) : NULL;
    if (count && keys == NULL) {
        search_result_clear(&result);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < count; i++) {
        const char *key = json_string_value(json_object_get(json_array_get(result.hits, i), "key"));
        if (key == NULL)
            continue;
        if ((keys[m] = strdup(key)) == NULL) {
            query_params_free_list(keys, m);
            search_result_clear(&result);
            return error_set(err, ERR_INTERNAL, "out of memory");
        }
        m++;
    }
    search_result_clear(&result);
    if (m == 0) {
        free(keys);
        keys = NULL;
    }
    *out = keys;
    *n = m;
    return 0;
}
