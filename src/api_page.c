/*
 * api_page - see api_page.h.
 */
#include "api_page.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strict decimal: digits only, no sign, no spaces, no overflow.  strtoull
 * alone would accept " 12", "-1" (wrapping) and "12abc". */
static int parse_size(const char *text, size_t *out)
{
    if (text == NULL || *text == '\0' || strlen(text) > 18)
        return -1;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno != 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* A positive size, clamped to max (DRF clamps rather than refuses). */
static int parse_positive(const struct query_params *query, const char *name, size_t dflt,
                          size_t max, size_t *out, struct error *err)
{
    const char *text = query_params_get(query, name);
    if (text == NULL || *text == '\0') {
        *out = dflt;
        return 0;
    }
    size_t v;
    if (parse_size(text, &v) != 0 || v < 1)
        return error_set_field(err, ERR_INVALID, name, "A positive integer is required, not '%s'.",
                               text);
    *out = v > max ? max : v;
    return 0;
}

int api_page_parse(const struct app *app, const struct query_params *query, struct api_page *out,
                   struct error *err)
{
    size_t max = app->page_size_max > 0 ? app->page_size_max : 1;
    size_t dflt = app->page_size_default > 0 ? app->page_size_default : 1;
    if (dflt > max)
        dflt = max;
    memset(out, 0, sizeof *out);
    const char *limit = query_params_get(query, "limit");
    if (limit != NULL && *limit != '\0') {
        out->limit_offset = true;
        if (parse_positive(query, "limit", dflt, max, &out->size, err) != 0)
            return -1;
        const char *offset = query_params_get(query, "offset");
        if (offset != NULL && *offset != '\0' && parse_size(offset, &out->offset) != 0)
            return error_set_field(err, ERR_INVALID, "offset",
                                   "A non-negative integer is required, not '%s'.", offset);
        return 0;
    }
    if (parse_positive(query, "page_size", dflt, max, &out->size, err) != 0)
        return -1;
    if (parse_positive(query, "page", 1, (size_t)-1, &out->page, err) != 0) {
        /* DRF words it this way for a bad page number. */
        if (err != NULL)
            snprintf(err->message, sizeof err->message, "Invalid page.");
        return -1;
    }
    if (out->page - 1 > ((size_t)-1) / out->size)
        return error_set_field(err, ERR_INVALID, "page", "Invalid page.");
    out->offset = (out->page - 1) * out->size;
    return 0;
}

bool api_page_out_of_range(const struct api_page *page, size_t count)
{
    return !page->limit_offset && page->page > 1 && page->offset >= count;
}

/* Percent-encodes everything but RFC 3986's unreserved characters (and '/'
 * when keep_slash, for the path).  '+' becomes %2B so that a key such as
 * MITx+6.002x survives the round trip through a query string. */
static void put_encoded(FILE *f, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/'))
            fputc(c, f);
        else
            fprintf(f, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

static void put_param(FILE *f, bool *first, const char *name, const char *value)
{
    fputc(*first ? '?' : '&', f);
    *first = false;
    put_encoded(f, name, false);
    fputc('=', f);
    put_encoded(f, value, false);
}

char *api_page_url(const struct app *app, const struct http_request *req, const char *name,
                   const char *value)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fputs(app->public_url, f);
    put_encoded(f, req->path ? req->path : "/", true);
    bool first = true, placed = false;
    const struct query_params *q = req->query;
    for (size_t i = 0; q != NULL && i < q->count; i++) {
        if (strcmp(q->items[i].name, name) == 0) {
            if (value != NULL && !placed)
                put_param(f, &first, name, value);
            placed = true;
            continue;
        }
        put_param(f, &first, q->items[i].name, q->items[i].value);
    }
    if (value != NULL && !placed)
        put_param(f, &first, name, value);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Sets key to the link, or null when there is none (or no memory). */
static void set_link(json_t *env, const char *key, char *url)
{
    json_object_set_new(env, key, url ? json_string(url) : json_null());
    free(url);
}

json_t *api_page_envelope(const struct app *app, const struct http_request *req,
                          const struct api_page *page, size_t count, json_t *results)
{
    json_t *env = json_object();
    if (env == NULL) {
        json_decref(results);
        return NULL;
    }
    char num[32];
    char *next = NULL, *prev = NULL;
    if (page->limit_offset) {
        if (page->offset + page->size < count) {
            snprintf(num, sizeof num, "%zu", page->offset + page->size);
            next = api_page_url(app, req, "offset", num);
        }
        if (page->offset > 0) {
            if (page->offset <= page->size) {
                prev = api_page_url(app, req, "offset", NULL);
            } else {
                snprintf(num, sizeof num, "%zu", page->offset - page->size);
                prev = api_page_url(app, req, "offset", num);
            }
        }
    } else {
        if (page->offset + page->size < count) {
            snprintf(num, sizeof num, "%zu", page->page + 1);
            next = api_page_url(app, req, "page", num);
        }
        if (page->page > 1) {
            /* DRF drops page=1 from the previous link. */
            if (page->page == 2) {
                prev = api_page_url(app, req, "page", NULL);
            } else {
                snprintf(num, sizeof num, "%zu", page->page - 1);
                prev = api_page_url(app, req, "page", num);
            }
        }
    }
    json_object_set_new(env, "count", json_integer((json_int_t)count));
    set_link(env, "next", next);
    set_link(env, "previous", prev);
    json_object_set_new(env, "results", results ? results : json_array());
    return env;
}
