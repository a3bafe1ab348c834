/*
 * server - the libmicrohttpd daemon: reads requests, routes them through
 * catalog_routes, writes responses, logs and counts them; drains on
 * SIGTERM/SIGINT and reopens the log on SIGHUP.
 */
#ifndef CATALOGD_SERVER_H
#define CATALOGD_SERVER_H

#include "app.h"
#include "error.h"

/* Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight
 * requests finish ([server] drain_timeout) and returns 0.  Returns -1 with
 * err set when the daemon cannot start (port in use, ...). */
int server_run(struct app *app, struct error *err);

#endif
