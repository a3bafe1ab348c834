/*
 * api_filters - a list request's query parameters turned into a
 * store_query, per kind, with course-discovery's names and semantics.
 */
#ifndef CATALOGD_API_FILTERS_H
#define CATALOGD_API_FILTERS_H

#include <stdbool.h>

#include "http.h"
#include "store.h"

#define API_MAX_KEYS 100

struct api_filters {
    struct store_query query; /* points into the lists below */
    char **keys;
    size_t n_keys;
    char **uuids;
    size_t n_uuids;
    char **statuses;
    size_t n_statuses;
    bool uuids_only; /* programs: ?uuids_only=1 */
};

/* Fills f for a list of kind as req asks (visibility from req->caller,
 * now from clock_now()).  Pagination is left to the caller.  A bad flag,
 * too many keys or an unknown program status is ERR_INVALID naming the
 * parameter.  On success and on failure f must be released with
 * api_filters_free. */
int api_filters_parse(enum entity_kind kind, const struct http_request *req, struct api_filters *f,
                      struct error *err);

void api_filters_free(struct api_filters *f);

#endif
