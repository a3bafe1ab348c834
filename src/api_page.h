/*
 * api_page - DRF pagination for the catalog lists: page/page_size and
 * limit/offset, and the {"count", "next", "previous", "results"} envelope
 * whose links are absolute URLs built from the configured public URL (never
 * from the request's Host header).
 */
#ifndef CATALOGD_API_PAGE_H
#define CATALOGD_API_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "http.h"

struct api_page {
    bool limit_offset; /* ?limit= given: limit/offset style */
    size_t page;       /* 1-based; page style only */
    size_t size;       /* page_size or limit, clamped to the maximum */
    size_t offset;     /* rows to skip, for either style */
};

/* Reads page, page_size, limit and offset.  page_size/limit above
 * app->page_size_max are clamped; below 1 or not an integer is ERR_INVALID
 * naming the parameter, as is a page that is not a positive integer or an
 * offset that is not a non-negative integer. */
int api_page_parse(const struct app *app, const struct query_params *query, struct api_page *out,
                   struct error *err);

/* True when the page starts past the end of count rows and is not the
 * first page: DRF's 404 "Invalid page." (limit/offset never is). */
bool api_page_out_of_range(const struct api_page *page, size_t count);

/* The envelope for one page of count rows; results is stolen.  Returns a
 * new reference, or NULL when out of memory. */
json_t *api_page_envelope(const struct app *app, const struct http_request *req,
                          const struct api_page *page, size_t count, json_t *results);

/* public_url + req->path + the request's query with parameter name set to
 * value (replacing its first occurrence in place, dropping any others, or
 * appended), or removed when value is NULL.  Names and values are
 * percent-encoded so that the link reproduces the same parameters.
 * Returns a malloc'd string (caller frees), or NULL when out of memory. */
char *api_page_url(const struct app *app, const struct http_request *req, const char *name,
                   const char *value);

#endif
