/*
 * ops - the operational endpoints: /health/, /healthz, /readyz, /metrics.
 */
#ifndef CATALOGD_OPS_H
#define CATALOGD_OPS_H

#include "app.h"
#include "http_router.h"

void ops_health(struct app *app, const struct http_request *req, const struct route *route,
                const struct route_params *params, struct http_response *resp);
void ops_ready(struct app *app, const struct http_request *req, const struct route *route,
               const struct route_params *params, struct http_response *resp);
void ops_metrics(struct app *app, const struct http_request *req, const struct route *route,
                 const struct route_params *params, struct http_response *resp);

#endif
