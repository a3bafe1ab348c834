/*
 * doc_fields - see doc_fields.h.
 */
#include "doc_fields.h"

#include <string.h>

const char *const search_content_names[SEARCH_CONTENT_COUNT] = {"course", "courserun", "program"};

int search_content_of(const char *name)
{
    for (int c = 0; c < SEARCH_CONTENT_COUNT; c++)
        if (name && strcmp(name, search_content_names[c]) == 0)
            return c;
    return -1;
}

int search_doc_string(const json_t *doc, size_t i, const char *name, const char **out,
                      struct error *err)
{
    const json_t *v = json_object_get(doc, name);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return error_set_field(err, ERR_INVALID, "docs", "docs[%zu].%s: expected a string", i,
                               name);
    *out = json_string_value(v);
    return 0;
}

int search_doc_strings(const json_t *doc, size_t i, const char *name, const json_t **out,
                       struct error *err)
{
    const json_t *v = json_object_get(doc, name);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return error_set_field(err, ERR_INVALID, "docs", "docs[%zu].%s: expected a list", i, name);
    for (size_t k = 0; k < json_array_size(v); k++)
        if (!json_is_string(json_array_get(v, k)))
            return error_set_field(err, ERR_INVALID, "docs", "docs[%zu].%s[%zu]: expected a string",
                                   i, name, k);
    *out = v;
    return 0;
}

bool search_doc_is_public(int content, const char *status, bool hidden)
{
    switch (content) {
    case SEARCH_COURSE_RUN:
        return status && strcmp(status, "published") == 0 && !hidden;
    case SEARCH_PROGRAM:
        return status && (strcmp(status, "active") == 0 || strcmp(status, "retired") == 0);
    default:
        return (status == NULL || strcmp(status, "published") == 0) && !hidden;
    }
}
