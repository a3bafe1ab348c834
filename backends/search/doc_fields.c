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

int search_doc_read(const json_t *doc, size_t i, struct search_doc_view *out, struct error *err)
{
    const char *ctype;
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc))
        return error_set_field(err, ERR_INVALID, "docs", "docs[%zu]: expected an object", i);
    if (search_doc_string(doc, i, "content_type", &ctype, err) ||
        search_doc_string(doc, i, "key", &out->key, err) ||
        search_doc_string(doc, i, "title", &out->title, err) ||
        search_doc_string(doc, i, "short_description", &out->short_description, err) ||
        search_doc_string(doc, i, "full_description", &out->full_description, err) ||
        search_doc_string(doc, i, "level_type", &out->level_type, err) ||
        search_doc_string(doc, i, "language", &out->language, err) ||
        search_doc_string(doc, i, "pacing_type", &out->pacing_type, err) ||
        search_doc_string(doc, i, "status", &out->status, err) ||
        search_doc_strings(doc, i, "orgs", &out->orgs, err) ||
        search_doc_strings(doc, i, "organizations", &out->organizations, err) ||
        search_doc_strings(doc, i, "subjects", &out->subjects, err) ||
        search_doc_strings(doc, i, "seat_types", &out->seat_types, err))
        return -1;
    out->content = search_content_of(ctype);
    if (out->content < 0)
        return error_set_field(err, ERR_INVALID, "docs",
                               "docs[%zu].content_type: expected course, courserun or program", i);
    if (out->key == NULL || out->key[0] == '\0')
        return error_set_field(err, ERR_INVALID, "docs", "docs[%zu].key: required", i);
    if (out->title == NULL)
        return error_set_field(err, ERR_INVALID, "docs", "docs[%zu].title: required", i);
    out->hidden = json_object_get(doc, "hidden");
    if (out->hidden != NULL && !json_is_boolean(out->hidden) && !json_is_null(out->hidden))
        return error_set_field(err, ERR_INVALID, "docs", "docs[%zu].hidden: expected a boolean", i);
    out->hit = json_object_get(doc, "hit");
    if (out->hit != NULL && !json_is_object(out->hit))
        return error_set_field(err, ERR_INVALID, "docs", "docs[%zu].hit: expected an object", i);
    return 0;
}

int search_suggest_begin(const char *prefix, char *words, json_t **out, struct error *err)
{
    size_t len = prefix ? strlen(prefix) : 0;
    *out = NULL;
    if (len > SEARCH_QUERY_MAX_BYTES)
        return error_set_field(err, ERR_INVALID, "q", "q is longer than %d bytes",
                               SEARCH_QUERY_MAX_BYTES);
    int n = search_fold_words(prefix ? prefix : "", len, words, SEARCH_SUGGEST_WORDS_SIZE);
    if (n < 0)
        return error_set_field(err, ERR_INVALID, "q", "q is not valid UTF-8");
    *out = json_pack("{s:[], s:[], s:[]}", "course", "courserun", "program");
    if (*out == NULL)
        return error_set(err, ERR_INTERNAL, "search index: out of memory");
    return n;
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
