/*
 * http_router - matches a decoded path against the route table, segment by
 * segment, without allocating: the table is small and matching runs on
 * every request.
 */
#include "http_router.h"

#include <stdio.h>
#include <string.h>

const char *route_param(const struct route_params *params, const char *name)
{
    if (params == NULL)
        return NULL;
    for (size_t i = 0; i < params->count; i++)
        if (strcmp(params->items[i].name, name) == 0)
            return params->items[i].value;
    return NULL;
}

/* Length of s without one trailing '/' (but "/" stays "/"). */
static size_t trimmed_len(const char *s)
{
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '/')
        len--;
    return len;
}

/* Whether path[0..path_len) matches pattern; fills params when it does.
 * Both start with '/'; segments are compared one by one. */
static bool match_path(const char *pattern, const char *path, size_t path_len,
                       struct route_params *params)
{
    size_t pat_len = trimmed_len(pattern);
    size_t pi = 0, si = 0;
    params->count = 0;
    while (pi < pat_len && si < path_len) {
        if (pattern[pi] != '/' || path[si] != '/')
            return false;
        pi++;
        si++;
        const char *pseg = pattern + pi;
        size_t plen = strcspn(pseg, "/");
        if (pi + plen > pat_len)
            plen = pat_len - pi;
        const char *sseg = path + si;
        size_t slen = 0;
        while (si + slen < path_len && sseg[slen] != '/')
            slen++;
        if (plen >= 2 && pseg[0] == '{' && pseg[plen - 1] == '}') {
            size_t nlen = plen - 2;
            if (slen == 0 || params->count == ROUTE_MAX_PARAMS ||
                nlen >= sizeof params->items[0].name || slen >= sizeof params->items[0].value)
                return false;
            memcpy(params->items[params->count].name, pseg + 1, nlen);
            params->items[params->count].name[nlen] = '\0';
            memcpy(params->items[params->count].value, sseg, slen);
            params->items[params->count].value[slen] = '\0';
            params->count++;
        } else if (plen != slen || memcmp(pseg, sseg, plen) != 0) {
            return false;
        }
        pi += plen;
        si += slen;
    }
    return pi == pat_len && si == path_len;
}

static unsigned effective_methods(unsigned methods)
{
    return (methods & HTTP_GET) ? methods | HTTP_HEAD : methods;
}

static const struct {
    enum http_method bit;
    const char *name;
} method_names[] = {
    {HTTP_GET, "GET"},     {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},       {HTTP_PUT, "PUT"},
    {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"}, {HTTP_OPTIONS, "OPTIONS"},
};

static const char *method_name(enum http_method method)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (method_names[i].bit == method)
            return method_names[i].name;
    return "?";
}

static void format_allow(unsigned methods, char *allow, size_t size)
{
    if (allow == NULL || size == 0)
        return;
    allow[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++) {
        if (!(methods & method_names[i].bit))
            continue;
        int n = snprintf(allow + used, size - used, "%s%s", used ? ", " : "", method_names[i].name);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

const struct route *router_match(const struct route *routes, size_t n_routes,
                                 enum http_method method, const char *path,
                                 struct route_params *params, char *allow, size_t allow_size,
                                 struct error *err)
{
    unsigned allowed = 0;
    struct route_params scratch;
    if (allow != NULL && allow_size > 0)
        allow[0] = '\0';
    if (path == NULL || path[0] != '/') {
        error_set(err, ERR_NOT_FOUND, "Not found.");
        return NULL;
    }
    size_t path_len = trimmed_len(path);
    for (size_t i = 0; i < n_routes; i++) {
        if (!match_path(routes[i].pattern, path, path_len, &scratch))
            continue;
        unsigned methods = effective_methods(routes[i].methods);
        if (methods & method) {
            *params = scratch;
            return &routes[i];
        }
        allowed |= methods;
    }
    params->count = 0;
    if (allowed != 0) {
        format_allow(allowed, allow, allow_size);
        error_set(err, ERR_METHOD, "Method \"%s\" not allowed.", method_name(method));
        return NULL;
    }
    error_set(err, ERR_NOT_FOUND, "Not found.");
    return NULL;
}
