/*
 * json_compact - see json_compact.h.  Moved here from the fts5 writer
 * (backends/search/fts5_write.c), which measured it first.
 */
#include "json_compact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jw_put(struct json_compact *w, const char *s, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (b == NULL) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* As jansson's dump_string without flags: '"' and '\\' escaped, control
 * characters as \b \f \n \r \t or \u00XX, everything else as it is. */
static void jw_string(struct json_compact *w, const char *s, size_t n)
{
    size_t run = 0;
    jw_put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jw_put(w, s + run, i - run);
        run = i + 1;
        char seq[8];
        const char *e = seq;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            snprintf(seq, sizeof seq, "\\u%04X", c);
        }
        jw_put(w, e, strlen(e));
    }
    jw_put(w, s + run, n - run);
    jw_put(w, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void jw_value(struct json_compact *w, const json_t *v, bool sort);

/* An object's members, those for which elide says so written as 0. */
static void jw_object(struct json_compact *w, const json_t *v, bool sort,
                      json_compact_elide_fn *elide, void *ctx)
{
    size_t n = json_object_size(v), k = 0;
    const char *key;
    json_t *item;
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    if (n && keys == NULL) {
        w->failed = true;
        return;
    }
    json_object_foreach((json_t *)v, key, item) keys[k++] = key;
    if (sort && n > 1)
        qsort(keys, n, sizeof *keys, cmp_keys);
    jw_put(w, "{", 1);
    for (k = 0; k < n && !w->failed; k++) {
        if (k)
            jw_put(w, ",", 1);
        jw_string(w, keys[k], strlen(keys[k]));
        jw_put(w, ":", 1);
        item = json_object_get(v, keys[k]);
        if (elide != NULL && elide(keys[k], item, ctx))
            jw_put(w, "0", 1);
        else
            jw_value(w, item, sort);
    }
    jw_put(w, "}", 1);
    free(keys);
}

static void jw_value(struct json_compact *w, const json_t *v, bool sort)
{
    char num[32];
    size_t i;
    json_t *item;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        jw_object(w, v, sort, NULL, NULL);
        return;
    case JSON_ARRAY:
        jw_put(w, "[", 1);
        json_array_foreach(v, i, item)
        {
            if (i)
                jw_put(w, ",", 1);
            jw_value(w, item, sort);
        }
        jw_put(w, "]", 1);
        return;
    case JSON_STRING:
        jw_string(w, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        jw_put(w, num, strlen(num));
        return;
    case JSON_TRUE:
        jw_put(w, "true", 4);
        return;
    case JSON_FALSE:
        jw_put(w, "false", 5);
        return;
    case JSON_NULL:
        jw_put(w, "null", 4);
        return;
    default: /* reals: jansson's own formatting */
        w->failed = true;
    }
}

int json_compact_write(struct json_compact *w, const json_t *v, bool sort)
{
    w->len = 0;
    w->failed = false;
    jw_value(w, v, sort);
    return w->failed ? -1 : 0;
}

int json_compact_write_elided(struct json_compact *w, const json_t *object,
                              json_compact_elide_fn *elide, void *ctx)
{
    w->len = 0;
    w->failed = !json_is_object(object);
    if (!w->failed)
        jw_object(w, object, false, elide, ctx);
    return w->failed ? -1 : 0;
}

char *json_compact_dumps(struct json_compact *w, const json_t *v, bool sort)
{
    if (json_compact_write(w, v, sort) != 0)
        return json_dumps(v, JSON_COMPACT | (sort ? JSON_SORT_KEYS : 0));
    return strdup(w->buf);
}

void json_compact_free(struct json_compact *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}
