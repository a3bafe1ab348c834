/*
 * json_fields - table-driven validation of JSON objects, field by field.
 *
 * A record kind is described by an array of struct jf_field (name, type,
 * required, limits, default).  jf_normalize_object walks that table over an
 * input object and builds the canonical object: every field of the table
 * present (null or [] when absent), values normalized (dates to
 * "YYYY-MM-DDTHH:MM:SSZ", prices to "149.00", uuids lower-cased), unknown
 * input fields dropped, as Django REST framework serializers do.
 *
 * Error messages are DRF's own wording so that clients written for
 * course-discovery see what they expect; err->field holds the full path of
 * the offending value ("seats[0].price", "course_runs[1].start").
 */
#ifndef CATALOGD_JSON_FIELDS_H
#define CATALOGD_JSON_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum jf_type {
    JF_STRING,      /* short string, trimmed, max_len characters */
    JF_TEXT,        /* long string, trimmed, max_len (0 = unlimited) */
    JF_URL,         /* http or https URL; "" becomes null */
    JF_EMAIL,       /* local@domain; "" becomes null */
    JF_DATETIME,    /* ISO 8601 instant, normalized to UTC with a Z */
    JF_BOOL,        /* JSON true or false only */
    JF_INT,         /* JSON integer >= 0 */
    JF_DECIMAL,     /* price: "149", 149, "149.5" -> "149.50"; >= 0 */
    JF_ORG_KEY,     /* [A-Za-z0-9_.-]+ */
    JF_COURSE_KEY,  /* ORG+NUMBER */
    JF_RUN_KEY,     /* course-v1:ORG+NUMBER+RUN or ORG/NUMBER/RUN */
    JF_SLUG,        /* [a-z0-9-]+ */
    JF_UUID,        /* canonical 8-4-4-4-12 hex form, lower-cased */
    JF_ENUM,        /* one of choices[] */
    JF_CURRENCY,    /* three upper-case letters */
    JF_LANGUAGE,    /* BCP 47 tag: "en", "en-us", "zh-Hans" */
    JF_LIST,        /* array of item_type values (items validated alone) */
    JF_OBJECT,      /* object described by sub[] */
    JF_OBJECT_LIST, /* array of objects described by sub[] */
};

enum jf_bool_default { JF_NO_DEFAULT = 0, JF_DEFAULT_FALSE, JF_DEFAULT_TRUE };

struct jf_field {
    const char *name;
    enum jf_type type;
    bool required;
    /* JF_STRING, JF_TEXT, JF_URL, JF_EMAIL and list items: the maximum
     * length in characters; 0 means unlimited (JF_STRING uses 255). */
    size_t max_len;
    /* JF_ENUM (also list items of type JF_ENUM): NULL-terminated. */
    const char *const *choices;
    /* Default when absent or null: a string (JF_ENUM, JF_CURRENCY,
     * JF_DECIMAL) ... */
    const char *default_str;
    /* ... or for JF_BOOL one of enum jf_bool_default. */
    int default_bool;
    /* JF_LIST: the type of each item. */
    enum jf_type item_type;
    /* JF_LIST, JF_OBJECT_LIST: the minimum number of items (1 = may not be
     * empty). */
    size_t min_items;
    /* JF_OBJECT, JF_OBJECT_LIST: the fields of the nested object. */
    const struct jf_field *sub;
    size_t n_sub;
};

/* Validates one value (never NULL; may be JSON null only when the caller
 * has already handled null) against field and returns the normalized
 * value as a new reference in *out (JSON null for "" URLs and emails).
 * path names the value in error messages.  Returns 0, or -1 with
 * ERR_INVALID, err->field = path. */
int jf_check_value(const struct jf_field *field, const json_t *value, const char *path,
                   json_t **out, struct error *err);

/* Builds the canonical object of input (a JSON object) from the table
 * fields[0..n): validates every field, fills absent ones with their
 * default, null or [].  prefix is prepended to field names in errors
 * ("" at top level, "seats[0]." for a nested object).  On success returns
 * 0 and *out is a new object the caller owns; on failure -1 with
 * ERR_INVALID and *out untouched. */
int jf_normalize_object(const json_t *input, const struct jf_field *fields, size_t n,
                        const char *prefix, json_t **out, struct error *err);

/* snprintf into a path buffer; a path too long for it is cut short
 * (err->field is bounded) rather than overflowing. */
void jf_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* DRF's name for the JSON type of value ("list", "str", "int", "float",
 * "bool", "dict", "NoneType"), used in messages about wrong types. */
const char *jf_type_name(const json_t *value);

/* Parses a canonical decimal price ("149.00") into cents.  Returns 0, or
 * -1 when text is not a non-negative decimal with at most two places. */
int jf_decimal_cents(const char *text, long long *cents);

/* Formats cents as a canonical decimal string ("149.00") into buf. */
void jf_format_cents(long long cents, char *buf, size_t size);

/* The ORG and NUMBER parts of a run key ("course-v1:MITx+6.002x+2T2025" or
 * "MITx/6.002x/2T2025") as a course key "MITx+6.002x" into buf.  Returns 0,
 * or -1 when key is not a run key or buf is too small. */
int jf_run_key_course(const char *key, char *buf, size_t size);

#endif
