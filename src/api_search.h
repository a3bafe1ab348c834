/*
 * api_search - the search endpoints (course-discovery's /api/v1/search/):
 * search/{all,courses,course_runs,programs}/ (paginated hits),
 * .../facets/ (term and query facets with narrow URLs, and the hits as
 * "objects"), search/typeahead/, and the full-text restriction behind
 * `q` on the courses/, course_runs/ and programs/ lists.
 *
 * Every handler answers 503 {"detail": ...} when no search backend is
 * configured (app->search == NULL) or the backend is down; the rest of the
 * API keeps serving.  route->kind picks the content type: ENTITY_COURSE,
 * ENTITY_COURSE_RUN, ENTITY_PROGRAM, or ENTITY_KIND_COUNT for all.
 */
#ifndef CATALOGD_API_SEARCH_H
#define CATALOGD_API_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "api_page.h"
#include "app.h"
#include "http_router.h"
#include "search.h"

/* Typeahead answers at most this many course runs and programs each (the
 * contract's 3; a setting may replace it later). */
#define API_SEARCH_TYPEAHEAD_LIMIT 3

/* q on a list keeps at most this many matches, the best by relevance: the
 * store receives them as one IN (...) list, which SQLite and PostgreSQL
 * both bound (32,766 and 65,535 parameters). */
#define API_SEARCH_LIST_MAX_KEYS 10000

/* At most this many field filters and selected facets in one request. */
#define API_SEARCH_MAX_PICKS 32

void api_search(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp);
void api_search_facets(struct app *app, const struct http_request *req, const struct route *route,
                       const struct route_params *params, struct http_response *resp);
void api_search_typeahead(struct app *app, const struct http_request *req,
                          const struct route *route, const struct route_params *params,
                          struct http_response *resp);

/* The natural keys (runs, courses) or uuids (programs) of the documents of
 * kind matching the request's q, as visible to its caller, best first, at
 * most API_SEARCH_LIST_MAX_KEYS.  *out is a malloc'd array of malloc'd
 * strings owned by the caller (query_params_free_list); NULL when *n is 0.
 * Returns 0, or -1 with err: ERR_INVALID naming q for a bad query,
 * ERR_UNAVAILABLE when search is not configured or down. */
int api_search_list_keys(struct app *app, const struct http_request *req, enum entity_kind kind,
                         const char *q, char ***out, size_t *n, struct error *err);

/* ---- shared by api_search*.c only ---- */

/* A parsed search request: the query tree, filters and picks (values
 * borrowed from req->query), and the availability selections. */
struct api_search_params {
    struct search_node *tree; /* owned; NULL: everything */
    struct search_request rq;
    struct search_facet_pick picks[API_SEARCH_MAX_PICKS];
    size_t n_picks;
    /* Conflicting selections (two different availabilities): no document
     * can match, so the answer is empty without asking the backend. */
    bool nothing;
};

/* Fills p from req for content of kind (see above); the page is left to
 * the caller.  On failure (ERR_INVALID naming the parameter) p is
 * released already; on success release it with api_search_params_free. */
int api_search_params_parse(const struct http_request *req, enum entity_kind kind,
                            struct api_search_params *p, struct error *err);
void api_search_params_free(struct api_search_params *p);

/* Re-indexes (inline mode) or wakes the indexer for (thread mode) the
 * documents the clock has made stale, when any may be due: one atomic
 * load otherwise.  Called before every search, and by the server before
 * it looks a search response up in the cache, so a cached answer from
 * before a run boundary is not served after it. */
void api_search_refresh_if_due(struct app *app);

/* Runs p against app->search (or makes the empty answer when p->nothing).
 * result is caller-owned (search_result_clear). */
int api_search_run(struct app *app, const struct api_search_params *p, struct search_result *result,
                   struct error *err);

/* One hit as the API shows it: the document's hit object plus
 * content_type and, for course runs (and courses whose hit carries
 * dates), availability and is_enrollable at now.  New reference or NULL. */
json_t *api_search_hit(const json_t *hit, time_t now);

/* The paginated envelope {count, next, previous, results} of result's
 * hits (api_search_hit each) for page pg.  New reference or NULL. */
json_t *api_search_page_objects(struct app *app, const struct http_request *req,
                                const struct api_page *pg, const struct search_result *result,
                                time_t now);

/* Answers the 503 for "no search backend". */
void api_search_unconfigured(struct http_response *resp);

#endif
