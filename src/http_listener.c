#include "http_listener.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct http_listener {
    int fd;
    struct MHD_Daemon *daemon;
    pthread_t thread;
    bool running;
    atomic_bool stopping;
};

int http_listener_open(const struct sockaddr_storage *addr, socklen_t len, bool reuse_port,
                       struct http_listener **out, struct error *err)
{
    *out = NULL;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return error_set(err, ERR_IO, "%s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        int saved = errno;
        close(fd);
        return error_set(err, ERR_IO, "SO_REUSEPORT: %s", strerror(saved));
    }
    /* "[::]:port" means IPv6 only, as it did when libmicrohttpd bound it. */
    if (addr->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)addr, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int saved = errno;
        close(fd);
        return error_set(err, ERR_IO, "%s", strerror(saved));
    }
    struct http_listener *l = calloc(1, sizeof *l);
    if (l == NULL) {
        close(fd);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    l->fd = fd;
    atomic_init(&l->stopping, false);
    *out = l;
    return 0;
}

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void *accept_loop(void *arg)
{
    struct http_listener *l = arg;
    while (!atomic_load(&l->stopping)) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&l->stopping))
                break;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: the connection waits in the backlog
                 * until one is closed; retrying at once would spin. */
                log_msg(LOG_WARN, "accept: %s", strerror(errno));
                pause_ms(10);
            }
            continue; /* EINTR, ECONNABORTED and the like concern one client */
        }
        /* Closes fd itself when the daemon cannot take it (limit reached). */
        if (MHD_add_connection(l->daemon, fd, (const struct sockaddr *)&peer, len) != MHD_YES)
            log_msg(LOG_DEBUG, "connection refused: %s", strerror(errno));
    }
    return NULL;
}

int http_listener_start(struct http_listener *l, struct MHD_Daemon *daemon, struct error *err)
{
    l->daemon = daemon;
    if (pthread_create(&l->thread, NULL, accept_loop, l) != 0)
        return error_set(err, ERR_INTERNAL, "cannot start the accepting thread");
    l->running = true;
    return 0;
}

void http_listener_close(struct http_listener *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->stopping, true);
    /* shutdown wakes a thread blocked in accept (it returns EINVAL); a
     * plain close would not, and the descriptor could be reused meanwhile. */
    shutdown(l->fd, SHUT_RDWR);
    if (l->running)
        pthread_join(l->thread, NULL);
    close(l->fd);
    free(l);
}
