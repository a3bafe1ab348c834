/*
 * api_internal - what the api_*.c handlers share; not for other modules.
 */
#ifndef CATALOGD_API_INTERNAL_H
#define CATALOGD_API_INTERNAL_H

#include <jansson.h>

#include "app.h"
#include "http.h"

/* Answers err in DRF's shape.  A conflict is 409 {"detail": message}
 * even when the store named a field (docs/api.md explains the choice). */
void api_respond_error(struct http_response *resp, const struct error *err);

/* The detail representation of one canonical doc of kind as the caller of
 * req sees it.  Returns a new reference, or NULL with err set. */
json_t *api_represent_one(struct app *app, const struct http_request *req, enum entity_kind kind,
                          const json_t *doc, struct error *err);

#endif
