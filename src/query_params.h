/*
 * query_params - a parsed query string: application/x-www-form-urlencoded,
 * '+' as space, %XX decoded, repeated names kept in order.
 */
#ifndef CATALOGD_QUERY_PARAMS_H
#define CATALOGD_QUERY_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct query_param {
    char *name;
    char *value;
};

struct query_params {
    struct query_param *items;
    size_t count;
};

/* Parses raw (without the leading '?'; may be NULL or "").  On success the
 * caller owns *out's contents (query_params_free).  Malformed escapes
 * ("%zz") and invalid UTF-8 are ERR_INVALID naming the parameter. */
int query_params_parse(const char *raw, struct query_params *out, struct error *err);

void query_params_free(struct query_params *params);

/* The first value of name, or NULL.  Borrowed. */
const char *query_params_get(const struct query_params *params, const char *name);

/* Every value of name, in order, each split further on ',' when
 * split_commas (empty pieces dropped).  *out is a malloc'd array of
 * malloc'd strings owned by the caller (query_params_free_list); NULL when
 * the count is 0.  Returns the count. */
size_t query_params_get_all(const struct query_params *params, const char *name, bool split_commas,
                            char ***out);
void query_params_free_list(char **list, size_t count);

/* Flags: "1"/"true"/"True" -> 1, "0"/"false"/"False" -> 0; absent -> -1.
 * Anything else is ERR_INVALID naming the parameter. */
int query_params_flag(const struct query_params *params, const char *name, int *out,
                      struct error *err);

/* A non-negative integer parameter in [min, max]; absent -> *out = dflt. */
int query_params_size(const struct query_params *params, const char *name, size_t dflt, size_t min,
                      size_t max, size_t *out, struct error *err);

#endif
