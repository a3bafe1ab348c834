/*
 * json_fields - see json_fields.h.  One checker per field type; the tables
 * that use them live in entity.c.
 */
#include "json_fields.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define MSG_REQUIRED "This field is required."
#define MSG_NULL "This field may not be null."
#define MSG_BLANK "This field may not be blank."
#define MSG_URL "Enter a valid URL."
#define MSG_EMAIL "Enter a valid email address."
#define MSG_DATETIME                                                                               \
    "Datetime has wrong format. Use one of these formats instead: "                                \
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
#define MSG_BOOL "Must be a valid boolean."
#define MSG_INT "A valid integer is required."
#define MSG_NUMBER "A valid number is required."
#define MSG_MIN_ZERO "Ensure this value is greater than or equal to 0."
#define MSG_UUID "Must be a valid UUID."
#define MSG_EMPTY_LIST "This list may not be empty."

/* Prices are stored as DECIMAL(10,2) in course-discovery. */
#define PRICE_MAX_INTEGER_DIGITS 8

static int invalid(struct error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int invalid(struct error *err, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, ERR_INVALID, path, fmt, ap);
    va_end(ap);
    return -1;
}

void jf_path(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

const char *jf_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "dict";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
    default:
        return "NoneType";
    }
}

/* Characters, not bytes: DRF's max_length counts code points. */
static size_t utf8_length(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* A new JSON string of s[0..len) without surrounding white space (DRF's
 * CharField trims by default). */
static json_t *trimmed(const char *s, size_t len)
{
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    return json_stringn(s, len);
}

static int need_string(const json_t *value, const char *path, struct error *err)
{
    if (!json_is_string(value))
        return invalid(err, path, "Not a valid string.");
    return 0;
}

static int check_length(const json_t *str, size_t max, const char *path, struct error *err)
{
    if (max > 0 && utf8_length(json_string_value(str), json_string_length(str)) > max)
        return invalid(err, path, "Ensure this field has no more than %zu characters.", max);
    return 0;
}

static bool all_chars(const char *s, size_t len, const char *extra, bool upper_ok)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            continue;
        if (upper_ok && c >= 'A' && c <= 'Z')
            continue;
        if (c != '\0' && strchr(extra, c) != NULL)
            continue;
        return false;
    }
    return true;
}

/* Key parts as opaque-keys allows them, minus ':' and '+' (separators). */
static bool key_part(const char *s, size_t len)
{
    return all_chars(s, len, "_.-~", true);
}

static bool org_key(const char *s, size_t len)
{
    return all_chars(s, len, "_.-", true);
}

static bool course_key(const char *s)
{
    const char *plus = strchr(s, '+');
    if (plus == NULL)
        return false;
    return org_key(s, (size_t)(plus - s)) && key_part(plus + 1, strlen(plus + 1));
}

int jf_run_key_course(const char *key, char *buf, size_t size)
{
    const char *p = key;
    char sep = '/';
    if (strncmp(key, "course-v1:", 10) == 0) {
        p = key + 10;
        sep = '+';
    }
    const char *a = strchr(p, sep);
    if (a == NULL)
        return -1;
    const char *b = strchr(a + 1, sep);
    if (b == NULL)
        return -1;
    const char *run = b + 1;
    if (!org_key(p, (size_t)(a - p)) || !key_part(a + 1, (size_t)(b - a - 1)) ||
        !key_part(run, strlen(run)))
        return -1;
    int n = snprintf(buf, size, "%.*s+%.*s", (int)(a - p), p, (int)(b - a - 1), a + 1);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static bool valid_url(const char *s)
{
    size_t skip;
    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return false; /* javascript:, data:, ftp:, relative ... */
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '<' || *c == '>' || *c == '"')
            return false;
    /* The host: up to the first '/', '?' or '#', without user info. */
    const char *host = s + skip;
    size_t hlen = strcspn(host, "/?#");
    if (hlen == 0 || memchr(host, '@', hlen) != NULL)
        return false;
    if (host[0] == '[') /* an IPv6 literal */
        return memchr(host, ']', hlen) != NULL;
    size_t name = strcspn(host, ":/?#");
    if (name == 0)
        return false;
    for (size_t i = 0; i < name; i++)
        if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.' &&
            (unsigned char)host[i] < 0x80)
            return false;
    if (name < hlen) { /* a port */
        const char *port = host + name + 1;
        size_t plen = hlen - name - 1;
        if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen ||
            strtol(port, NULL, 10) > 65535)
            return false;
    }
    return true;
}

static bool valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return false;
    const char *dot = strrchr(at + 1, '.');
    return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

static bool valid_language(const char *s)
{
    /* primary subtag: 2-3 letters; then subtags of 1-8 alphanumerics */
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (n < 2 || n > 3)
        return false;
    s += n;
    while (*s == '-' || *s == '_') {
        s++;
        size_t m = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (m < 1 || m > 8)
            return false;
        s += m;
    }
    return *s == '\0';
}

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

/* Accepts what Python's uuid.UUID accepts in practice: 8-4-4-4-12 or 32
 * bare hex digits, either case; writes the canonical lower-case form. */
static int canonical_uuid(const char *s, char out[37])
{
    size_t len = strlen(s);
    if (len != 36 && len != 32)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        if (hex_value(s[i]) < 0)
            return -1;
        if (o == 8 || o == 13 || o == 18 || o == 23)
            out[o++] = '-';
        out[o++] = (char)tolower((unsigned char)s[i]);
    }
    out[o] = '\0';
    return 0;
}

int jf_decimal_cents(const char *text, long long *cents)
{
    const char *p = text;
    long long whole = 0;
    int digits = 0, places = 0, frac = 0;
    while (*p >= '0' && *p <= '9') {
        if (whole > 100000000000000LL)
            return -1;
        whole = whole * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (++places > 2)
                return -1;
            frac = frac * 10 + (*p++ - '0');
        }
    }
    if (*p != '\0' || (digits == 0 && places == 0))
        return -1;
    if (places == 1)
        frac *= 10;
    *cents = whole * 100 + frac;
    return 0;
}

void jf_format_cents(long long cents, char *buf, size_t size)
{
    snprintf(buf, size, "%lld.%02lld", cents / 100, cents % 100);
}

/* DRF's DecimalField(max_digits=10, decimal_places=2, min_value=0),
 * applied to the text of the number. */
static int check_decimal_text(const char *text, const char *path, json_t **out, struct error *err)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    size_t len = strlen(p);
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return invalid(err, path, MSG_NUMBER);
    memcpy(buf, p, len);
    buf[len] = '\0';
    const char *num = buf;
    bool negative = false;
    if (*num == '-' || *num == '+') {
        negative = *num == '-';
        num++;
    }
    size_t int_digits = strspn(num, "0123456789");
    const char *after = num + int_digits;
    size_t frac_digits = 0;
    if (*after == '.')
        frac_digits = strspn(after + 1, "0123456789");
    const char *end = *after == '.' ? after + 1 + frac_digits : after;
    if (*end != '\0' || int_digits + frac_digits == 0)
        return invalid(err, path, MSG_NUMBER);
    /* Zero is zero whatever its sign; anything else negative is refused. */
    bool nonzero = strspn(num, "0.") < strlen(num);
    if (negative && nonzero)
        return invalid(err, path, MSG_MIN_ZERO);
    /* Trailing zeros of the fraction do not count as places (DRF
     * normalizes the Decimal first); leading zeros are not digits. */
    size_t places = frac_digits;
    while (places > 0 && after[places] == '0')
        places--;
    if (places > 2)
        return invalid(err, path, "Ensure that there are no more than 2 decimal places.");
    size_t lead = 0;
    while (lead < int_digits && num[lead] == '0')
        lead++;
    if (int_digits - lead > PRICE_MAX_INTEGER_DIGITS)
        return invalid(err, path,
                       "Ensure that there are no more than %d digits before the "
                       "decimal point.",
                       PRICE_MAX_INTEGER_DIGITS);
    long long cents = 0;
    for (size_t i = lead; i < int_digits; i++)
        cents = cents * 10 + (num[i] - '0');
    cents *= 100;
    if (places >= 1)
        cents += (after[1] - '0') * 10;
    if (places >= 2)
        cents += after[2] - '0';
    char formatted[32];
    jf_format_cents(cents, formatted, sizeof formatted);
    *out = json_string(formatted);
    return 0;
}

static int check_decimal(const json_t *value, const char *path, json_t **out, struct error *err)
{
    char buf[64];
    if (json_is_string(value))
        return check_decimal_text(json_string_value(value), path, out, err);
    if (json_is_integer(value)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return check_decimal_text(buf, path, out, err);
    }
    if (json_is_real(value)) {
        double v = json_real_value(value);
        if (!isfinite(v))
            return invalid(err, path, MSG_NUMBER);
        /* A binary fraction: accept it when it is a whole number of cents
         * (149.5, 0.1), as the decimal text a client meant. */
        if (fabs(v * 100.0 - nearbyint(v * 100.0)) > 1e-6 * fmax(1.0, fabs(v)))
            return invalid(err, path, "Ensure that there are no more than 2 decimal places.");
        snprintf(buf, sizeof buf, "%.2f", v);
        return check_decimal_text(buf, path, out, err);
    }
    return invalid(err, path, MSG_NUMBER);
}

static int check_string_like(const struct jf_field *f, const json_t *value, const char *path,
                             json_t **out, struct error *err)
{
    if (need_string(value, path, err) != 0)
        return -1;
    json_t *s = trimmed(json_string_value(value), json_string_length(value));
    if (s == NULL)
        return invalid(err, path, "Not a valid string.");
    size_t max = f->max_len;
    if (max == 0 && f->type == JF_STRING)
        max = 255;
    if (f->required && json_string_length(s) == 0) {
        json_decref(s);
        return invalid(err, path, MSG_BLANK);
    }
    if (check_length(s, max, path, err) != 0) {
        json_decref(s);
        return -1;
    }
    const char *text = json_string_value(s);
    size_t len = json_string_length(s);
    bool ok = true;
    const char *msg = NULL;
    switch (f->type) {
    case JF_URL:
    case JF_EMAIL:
        if (len == 0) { /* a blank optional URL means "none" */
            json_decref(s);
            *out = json_null();
            return 0;
        }
        ok = f->type == JF_URL ? valid_url(text) : valid_email(text);
        msg = f->type == JF_URL ? MSG_URL : MSG_EMAIL;
        break;
    case JF_ORG_KEY:
        ok = org_key(text, len);
        msg = "Enter a valid organization key consisting of letters, numbers, underscores, "
              "periods or hyphens.";
        break;
    case JF_COURSE_KEY:
        ok = course_key(text);
        msg = "Enter a valid course key of the form ORG+NUMBER.";
        break;
    case JF_RUN_KEY: {
        char course[256];
        ok = jf_run_key_course(text, course, sizeof course) == 0;
        msg = "Enter a valid course run key of the form course-v1:ORG+NUMBER+RUN.";
        break;
    }
    case JF_SLUG:
        ok = all_chars(text, len, "-", false);
        msg = "Enter a valid \"slug\" consisting of lower-case letters, numbers or hyphens.";
        break;
    case JF_CURRENCY:
        ok = len == 3 && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
        msg = "Enter a valid currency code of three upper-case letters.";
        break;
    case JF_LANGUAGE:
        ok = valid_language(text);
        msg = "Enter a valid language code (BCP 47, e.g. \"en-us\").";
        break;
    default:
        break;
    }
    if (!ok) {
        json_decref(s);
        return invalid(err, path, "%s", msg);
    }
    *out = s;
    return 0;
}

static int check_enum(const struct jf_field *f, const json_t *value, const char *path, json_t **out,
                      struct error *err)
{
    if (!json_is_string(value)) {
        /* DRF quotes the input as Python prints it; JSON text is close. */
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        invalid(err, path, "\"%.200s\" is not a valid choice.", text ? text : "?");
        free(text);
        return -1;
    }
    const char *text = json_string_value(value);
    for (const char *const *c = f->choices; c != NULL && *c != NULL; c++) {
        if (strcmp(*c, text) == 0) {
            *out = json_string(text);
            return 0;
        }
    }
    return invalid(err, path, "\"%.200s\" is not a valid choice.", text);
}

static int check_datetime(const json_t *value, const char *path, json_t **out, struct error *err)
{
    time_t t;
    if (!json_is_string(value) || clock_parse_iso8601(json_string_value(value), &t) != 0)
        return invalid(err, path, MSG_DATETIME);
    char buf[32];
    clock_format_iso8601(t, buf, sizeof buf);
    *out = json_string(buf);
    return 0;
}

static int check_list(const struct jf_field *f, const json_t *value, const char *path, json_t **out,
                      struct error *err)
{
    if (!json_is_array(value))
        return invalid(err, path, "Expected a list of items but got type \"%s\".",
                       jf_type_name(value));
    if (json_array_size(value) < f->min_items)
        return invalid(err, path, MSG_EMPTY_LIST);
    /* Each item is checked as a required field of the item type, so that
     * a blank or null item is refused rather than stored. */
    struct jf_field item = *f;
    item.type = f->type == JF_OBJECT_LIST ? JF_OBJECT : f->item_type;
    item.required = true;
    json_t *list = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(value, i, v)
    {
        char item_path[sizeof err->field];
        jf_path(item_path, sizeof item_path, "%s[%zu]", path, i);
        json_t *norm = NULL;
        if (json_is_null(v)) {
            json_decref(list);
            return invalid(err, item_path, MSG_NULL);
        }
        if (jf_check_value(&item, v, item_path, &norm, err) != 0) {
            json_decref(list);
            return -1;
        }
        json_array_append_new(list, norm);
    }
    *out = list;
    return 0;
}

int jf_check_value(const struct jf_field *f, const json_t *value, const char *path, json_t **out,
                   struct error *err)
{
    switch (f->type) {
    case JF_STRING:
    case JF_TEXT:
    case JF_URL:
    case JF_EMAIL:
    case JF_ORG_KEY:
    case JF_COURSE_KEY:
    case JF_RUN_KEY:
    case JF_SLUG:
    case JF_CURRENCY:
    case JF_LANGUAGE:
        return check_string_like(f, value, path, out, err);
    case JF_UUID: {
        char buf[37];
        if (!json_is_string(value) || canonical_uuid(json_string_value(value), buf) != 0)
            return invalid(err, path, MSG_UUID);
        *out = json_string(buf);
        return 0;
    }
    case JF_DATETIME:
        return check_datetime(value, path, out, err);
    case JF_BOOL:
        if (!json_is_boolean(value))
            return invalid(err, path, MSG_BOOL);
        *out = json_boolean(json_is_true(value));
        return 0;
    case JF_INT:
        if (!json_is_integer(value))
            return invalid(err, path, MSG_INT);
        if (json_integer_value(value) < 0)
            return invalid(err, path, MSG_MIN_ZERO);
        *out = json_integer(json_integer_value(value));
        return 0;
    case JF_DECIMAL:
        return check_decimal(value, path, out, err);
    case JF_ENUM:
        return check_enum(f, value, path, out, err);
    case JF_LIST:
    case JF_OBJECT_LIST:
        return check_list(f, value, path, out, err);
    case JF_OBJECT: {
        if (!json_is_object(value))
            return invalid(err, path, "Invalid data. Expected a dictionary, but got %s.",
                           jf_type_name(value));
        char prefix[sizeof err->field];
        jf_path(prefix, sizeof prefix, "%s.", path);
        return jf_normalize_object(value, f->sub, f->n_sub, prefix, out, err);
    }
    }
    return invalid(err, path, "unknown field type");
}

/* The value of an absent (or null) optional field. */
static json_t *absent_value(const struct jf_field *f)
{
    switch (f->type) {
    case JF_LIST:
    case JF_OBJECT_LIST:
        return json_array();
    case JF_BOOL:
        if (f->default_bool == JF_NO_DEFAULT)
            return json_null();
        return json_boolean(f->default_bool == JF_DEFAULT_TRUE);
    default:
        return f->default_str != NULL ? json_string(f->default_str) : json_null();
    }
}

static bool has_default(const struct jf_field *f)
{
    return f->type == JF_BOOL ? f->default_bool != JF_NO_DEFAULT : f->default_str != NULL;
}

int jf_normalize_object(const json_t *input, const struct jf_field *fields, size_t n,
                        const char *prefix, json_t **out, struct error *err)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct jf_field *f = &fields[i];
        char path[sizeof err->field];
        jf_path(path, sizeof path, "%s%s", prefix, f->name);
        const json_t *value = json_object_get(input, f->name);
        json_t *norm = NULL;
        if (value == NULL || json_is_null(value)) {
            if (f->required && !has_default(f)) {
                json_decref(obj);
                return invalid(err, path, value == NULL ? MSG_REQUIRED : MSG_NULL);
            }
            norm = absent_value(f);
        } else if (jf_check_value(f, value, path, &norm, err) != 0) {
            json_decref(obj);
            return -1;
        }
        json_object_set_new(obj, f->name, norm);
    }
    *out = obj;
    return 0;
}
