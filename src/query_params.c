/*
 * query_params - application/x-www-form-urlencoded query strings, decoded
 * the way Django's QueryDict does ('+' is a space, %XX a byte), except that
 * malformed escapes and invalid UTF-8 are refused rather than replaced, so
 * that a client learns which parameter it got wrong.
 */
#include "query_params.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above
 * U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= extra)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

enum decode_status { DECODE_OK, DECODE_BAD_ESCAPE, DECODE_NUL, DECODE_BAD_UTF8, DECODE_OOM };

/* Decodes raw[0..len) into a new malloc'd string (*out, caller frees). */
static enum decode_status decode(const char *raw, size_t len, char **out)
{
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return DECODE_OOM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = raw[i];
        if (c == '+') {
            buf[n++] = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_value(raw[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(raw[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(buf);
                return DECODE_BAD_ESCAPE;
            }
            unsigned char byte = (unsigned char)(hi << 4 | lo);
            /* A NUL would silently cut the value short in every C string
             * after this point. */
            if (byte == 0) {
                free(buf);
                return DECODE_NUL;
            }
            buf[n++] = (char)byte;
            i += 2;
        } else {
            buf[n++] = c;
        }
    }
    buf[n] = '\0';
    if (!utf8_valid((const unsigned char *)buf, n)) {
        free(buf);
        return DECODE_BAD_UTF8;
    }
    *out = buf;
    return DECODE_OK;
}

static int decode_error(enum decode_status st, const char *field, struct error *err)
{
    switch (st) {
    case DECODE_BAD_ESCAPE:
        return error_set_field(err, ERR_INVALID, field,
                               "Malformed percent-escape (expected %%XX with two hex digits).");
    case DECODE_NUL:
        return error_set_field(err, ERR_INVALID, field, "Value must not contain a NUL byte.");
    case DECODE_BAD_UTF8:
        return error_set_field(err, ERR_INVALID, field, "Value is not valid UTF-8.");
    default:
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
}

/* The raw name of a pair, bounded, for naming it in an error when the name
 * itself cannot be decoded. */
static void raw_field(const char *raw, size_t len, char *out, size_t size)
{
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(out, raw, n);
    out[n] = '\0';
}

static int add_pair(struct query_params *out, size_t *cap, const char *pair, size_t len,
                    struct error *err)
{
    const char *eq = memchr(pair, '=', len);
    size_t name_len = eq != NULL ? (size_t)(eq - pair) : len;
    const char *value_raw = eq != NULL ? eq + 1 : pair + len;
    size_t value_len = eq != NULL ? len - name_len - 1 : 0;

    char *name = NULL, *value = NULL;
    enum decode_status st = decode(pair, name_len, &name);
    if (st != DECODE_OK) {
        char field[64];
        raw_field(pair, name_len, field, sizeof field);
        return decode_error(st, field, err);
    }
    st = decode(value_raw, value_len, &value);
    if (st != DECODE_OK) {
        int rc = decode_error(st, name, err);
        free(name);
        return rc;
    }
    if (out->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct query_param *items = realloc(out->items, ncap * sizeof *items);
        if (items == NULL) {
            free(name);
            free(value);
            return error_set(err, ERR_INTERNAL, "out of memory");
        }
        out->items = items;
        *cap = ncap;
    }
    out->items[out->count].name = name;
    out->items[out->count].value = value;
    out->count++;
    return 0;
}

int query_params_parse(const char *raw, struct query_params *out, struct error *err)
{
    out->items = NULL;
    out->count = 0;
    if (raw == NULL)
        return 0;
    size_t cap = 0;
    const char *p = raw;
    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        /* "a=1&&b=2" and a trailing '&' carry no pair (as in Django). */
        if (len > 0 && add_pair(out, &cap, p, len, err) != 0) {
            query_params_free(out);
            return -1;
        }
        if (amp == NULL)
            break;
        p = amp + 1;
    }
    return 0;
}

void query_params_free(struct query_params *params)
{
    if (params == NULL)
        return;
    for (size_t i = 0; i < params->count; i++) {
        free(params->items[i].name);
        free(params->items[i].value);
    }
    free(params->items);
    params->items = NULL;
    params->count = 0;
}

const char *query_params_get(const struct query_params *params, const char *name)
{
    if (params == NULL)
        return NULL;
    for (size_t i = 0; i < params->count; i++)
        if (strcmp(params->items[i].name, name) == 0)
            return params->items[i].value;
    return NULL;
}

static int list_push(char ***list, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **grown = realloc(*list, ncap * sizeof *grown);
        if (grown == NULL)
            return -1;
        *list = grown;
        *cap = ncap;
    }
    char *copy = strndup(s, len);
    if (copy == NULL)
        return -1;
    (*list)[(*n)++] = copy;
    return 0;
}

size_t query_params_get_all(const struct query_params *params, const char *name, bool split_commas,
                            char ***out)
{
    char **list = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    if (params == NULL)
        return 0;
    for (size_t i = 0; i < params->count; i++) {
        if (strcmp(params->items[i].name, name) != 0)
            continue;
        const char *v = params->items[i].value;
        if (!split_commas) {
            if (list_push(&list, &n, &cap, v, strlen(v)) != 0)
                goto oom;
            continue;
        }
        while (*v != '\0') {
            const char *comma = strchr(v, ',');
            size_t len = comma != NULL ? (size_t)(comma - v) : strlen(v);
            if (len > 0 && list_push(&list, &n, &cap, v, len) != 0)
                goto oom;
            if (comma == NULL)
                break;
            v = comma + 1;
        }
    }
    if (n == 0) {
        free(list);
        return 0;
    }
    *out = list;
    return n;
oom:
    /* The header gives no error channel here: out of memory reads as "no
     * values", which the caller treats as an absent filter. */
    query_params_free_list(list, n);
    return 0;
}

void query_params_free_list(char **list, size_t count)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

int query_params_flag(const struct query_params *params, const char *name, int *out,
                      struct error *err)
{
    const char *v = query_params_get(params, name);
    if (v == NULL) {
        *out = -1;
        return 0;
    }
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "True") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "False") == 0) {
        *out = 0;
        return 0;
    }
    return error_set_field(err, ERR_INVALID, name, "Must be one of 1, 0, true, false.");
}

int query_params_size(const struct query_params *params, const char *name, size_t dflt, size_t min,
                      size_t max, size_t *out, struct error *err)
{
    const char *v = query_params_get(params, name);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    /* strtoull alone would accept " 5", "+5" and "-1" (as a huge number). */
    if (*v < '0' || *v > '9')
        return error_set_field(err, ERR_INVALID, name, "A valid integer is required.");
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end != '\0')
        return error_set_field(err, ERR_INVALID, name, "A valid integer is required.");
    if (errno == ERANGE || n > SIZE_MAX || n < min || n > max)
        return error_set_field(err, ERR_INVALID, name, "Ensure this value is between %zu and %zu.",
                               min, max);
    *out = (size_t)n;
    return 0;
}
