/*
 * http_listener - the listening socket, accepted on one thread of its own
 * and each connection handed to libmicrohttpd with MHD_add_connection.
 *
 * Why not let libmicrohttpd accept: in its thread pool every worker polls
 * the one listening socket and whichever wakes first takes the
 * connection, so a burst of connections (a proxy's keep-alive pool, a
 * load generator) lands unevenly.  Measured with 2 workers and 32
 * keep-alive connections: 20 on one worker, 10 on the other, and the
 * crowded worker's requests waited about twice as long, which is what a
 * p99 sees.  Connections added by the application are spread by their
 * descriptor over the workers (libmicrohttpd's rule), so consecutive
 * connections alternate and the workers carry equal shares.
 */
#ifndef CATALOGD_HTTP_LISTENER_H
#define CATALOGD_HTTP_LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>

#include "error.h"

struct MHD_Daemon;
struct http_listener;

/* Binds addr and listens (SO_REUSEADDR, and SO_REUSEPORT when reuse_port:
 * several processes on one port).  *out is owned by the caller
 * (http_listener_close).  Returns 0, or -1 with err saying why the
 * address cannot be bound (ERR_IO). */
int http_listener_open(const struct sockaddr_storage *addr, socklen_t len, bool reuse_port,
                       struct http_listener **out, struct error *err);

/* Starts the accepting thread, which hands every connection to daemon
 * (started with MHD_USE_NO_LISTEN_SOCKET and MHD_USE_ITC).  Returns 0 or -1
 * (ERR_INTERNAL). */
int http_listener_start(struct http_listener *listener, struct MHD_Daemon *daemon,
                        struct error *err);

/* Stops accepting: new connections are refused at once (the socket is
 * closed), connections already handed over are the daemon's.  Returns when
 * the accepting thread has ended.  NULL is a no-op. */
void http_listener_close(struct http_listener *listener);

#endif
