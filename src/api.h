/*
 * api - the catalog handlers (course-discovery's /api/v1 shape).  One
 * handler per action serves every kind; route->kind says which.
 */
#ifndef CATALOGD_API_H
#define CATALOGD_API_H

#include "app.h"
#include "http_router.h"

void api_list(struct app *app, const struct http_request *req, const struct route *route,
              const struct route_params *params, struct http_response *resp);
void api_retrieve(struct app *app, const struct http_request *req, const struct route *route,
                  const struct route_params *params, struct http_response *resp);
void api_create(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp);
/* PUT replaces; PATCH merges the body into the stored record first. */
void api_update(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp);
void api_delete(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp);

#endif
