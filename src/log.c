/*
 * log - the process log (text lines, written at once) and the access log
 * (JSON lines, buffered).
 *
 * Access lines are formatted on the caller's stack and copied into one
 * shared buffer under a short lock; the buffer is written with a single
 * write() when it fills, by a flusher thread at least every second, before
 * any process line (so that lines stay in order) and on close.  Each write
 * holds whole lines only, so concurrent writers never interleave.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ACCESS_BUF_SIZE (64 * 1024)
#define LINE_MAX_BYTES 4096

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int fd; /* 2 (stderr) or an opened file */
    char path[4096];
    enum log_level level;
    bool access;
    char buf[ACCESS_BUF_SIZE];
    size_t len;
    bool flusher_running;
    bool stopping;
    pthread_t flusher;
} g = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .fd = STDERR_FILENO,
    .level = LOG_INFO,
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_from_name(const char *name, enum log_level *out)
{
    if (name == NULL)
        return -1;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    if (strcmp(name, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

/* Writes all of data, retrying short writes and EINTR; a failing log has
 * nowhere to report to, so errors are dropped. */
static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

/* Caller holds g.lock. */
static void flush_locked(void)
{
    if (g.len > 0) {
        write_all(g.fd, g.buf, g.len);
        g.len = 0;
    }
}

static void *flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.lock);
    while (!g.stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        pthread_cond_timedwait(&g.wake, &g.lock, &deadline);
        flush_locked();
    }
    pthread_mutex_unlock(&g.lock);
    return NULL;
}

static int open_file(const char *path, int *fd, struct error *err)
{
    if (path == NULL || path[0] == '\0') {
        *fd = STDERR_FILENO;
        return 0;
    }
    int f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f < 0)
        return error_set(err, ERR_IO, "cannot open %s: %s", path, strerror(errno));
    *fd = f;
    return 0;
}

static void stop_flusher(void)
{
    pthread_mutex_lock(&g.lock);
    bool running = g.flusher_running;
    g.stopping = true;
    pthread_cond_signal(&g.wake);
    pthread_mutex_unlock(&g.lock);
    if (running)
        pthread_join(g.flusher, NULL);
    g.flusher_running = false;
    g.stopping = false;
}

int log_open(const char *path, enum log_level level, bool access, struct error *err)
{
    int fd = STDERR_FILENO;
    if (open_file(path, &fd, err) != 0)
        return -1;
    log_close();
    pthread_mutex_lock(&g.lock);
    g.fd = fd;
    snprintf(g.path, sizeof g.path, "%s", path != NULL ? path : "");
    g.level = level;
    g.access = access;
    pthread_mutex_unlock(&g.lock);
    /* Only access lines are buffered, so only a server needs the flusher. */
    if (access) {
        if (pthread_create(&g.flusher, NULL, flusher_main, NULL) != 0) {
            log_close();
            return error_set(err, ERR_INTERNAL, "cannot start the log flusher thread");
        }
        g.flusher_running = true;
    }
    return 0;
}

int log_reopen(struct error *err)
{
    pthread_mutex_lock(&g.lock);
    if (g.path[0] == '\0') {
        pthread_mutex_unlock(&g.lock);
        return 0;
    }
    int fd = STDERR_FILENO;
    if (open_file(g.path, &fd, err) != 0) {
        pthread_mutex_unlock(&g.lock);
        return -1;
    }
    flush_locked();
    int old = g.fd;
    g.fd = fd;
    pthread_mutex_unlock(&g.lock);
    if (old != STDERR_FILENO)
        close(old);
    return 0;
}

void log_close(void)
{
    stop_flusher();
    pthread_mutex_lock(&g.lock);
    flush_locked();
    if (g.fd != STDERR_FILENO)
        close(g.fd);
    g.fd = STDERR_FILENO;
    g.path[0] = '\0';
    g.access = false;
    g.level = LOG_INFO;
    pthread_mutex_unlock(&g.lock);
}

/* "2026-01-02T03:04:05.678Z" into out (96 bytes leave room for any
 * year the compiler can imagine). */
static void format_now(char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < g.level)
        return;
    char line[LINE_MAX_BYTES];
    char now[96];
    format_now(now, sizeof now);
    int head = snprintf(line, sizeof line, "%s %s: ", now, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)head;
    if (body > 0)
        len += (size_t)body < sizeof line - (size_t)head - 1 ? (size_t)body
                                                             : sizeof line - (size_t)head - 2;
    line[len++] = '\n';
    pthread_mutex_lock(&g.lock);
    flush_locked();
    write_all(g.fd, line, len);
    pthread_mutex_unlock(&g.lock);
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4   ? 4
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                                              : 0;
    if (n == 0 || n > avail)
        return 0;
    for (size_t k = 1; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return n;
}

/* Appends s as the inside of a JSON string, bounded by out's space.  Bytes
 * that are not UTF-8 (a path may hold %FF) become U+FFFD so that every
 * line stays valid JSON. */
static size_t json_escape(char *out, size_t size, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    while (*p != '\0' && n + 7 < size) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
            p++;
        } else if (c < 0x20) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[c >> 4];
            out[n + 5] = hex[c & 15];
            n += 6;
            p++;
        } else if (c < 0x80) {
            out[n++] = (char)c;
            p++;
        } else {
            size_t len = utf8_seq(p, strlen((const char *)p));
            if (len == 0) {
                memcpy(out + n, "\\ufffd", 6);
                n += 6;
                p++;
            } else {
                memcpy(out + n, p, len);
                n += len;
                p += len;
            }
        }
    }
    return n;
}

void log_access(const char *method, const char *path, int status, uint64_t duration_us,
                const char *request_id)
{
    if (!g.access)
        return;
    char line[LINE_MAX_BYTES];
    char now[96];
    format_now(now, sizeof now);
    size_t n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"method\":\"", now);
    n += json_escape(line + n, 32, method);
    n += (size_t)snprintf(line + n, sizeof line - n, "\",\"path\":\"");
    n += json_escape(line + n, 2048, path);
    n += (size_t)snprintf(
        line + n, sizeof line - n, "\",\"status\":%d,\"duration_ms\":%llu.%03llu,\"request_id\":\"",
        status, (unsigned long long)(duration_us / 1000), (unsigned long long)(duration_us % 1000));
    n += json_escape(line + n, 256, request_id);
    n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");

    pthread_mutex_lock(&g.lock);
    if (g.len + n > sizeof g.buf)
        flush_locked();
    memcpy(g.buf + g.len, line, n);
    g.len += n;
    pthread_mutex_unlock(&g.lock);
}
