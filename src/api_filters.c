/*
 * api_filters - see api_filters.h.  Unknown parameters are ignored, as
 * DRF does; exclude_utm is accepted and changes nothing.
 */
#include "api_filters.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

static const char *const program_statuses[] = {"unpublished", "active", "retired", "deleted"};

/* Appends every value of name (comma-split) to *list. */
static int add_list(const struct query_params *q, const char *name, char ***list, size_t *n,
                    size_t max, struct error *err)
{
    char **more = NULL;
    size_t m = query_params_get_all(q, name, true, &more);
    if (m == 0)
        return 0;
    if (*n + m > max) {
        query_params_free_list(more, m);
        return error_set_field(err, ERR_INVALID, name, "At most %zu values are accepted.", max);
    }
    char **grown = realloc(*list, (*n + m) * sizeof *grown);
    if (grown == NULL) {
        query_params_free_list(more, m);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    memcpy(grown + *n, more, m * sizeof *more);
    free(more); /* the strings now belong to *list */
    *list = grown;
    *n += m;
    return 0;
}

static int flag(const struct query_params *q, const char *name, int *out, struct error *err)
{
    *out = -1;
    return query_params_flag(q, name, out, err);
}

/* active and marketable narrow the list only when true: course-discovery's
 * FilterSetMixin returns the queryset unfiltered for a false value, and
 * clients rely on active=0 meaning "all". */
static int narrowing_flag(const struct query_params *q, const char *name, int *out,
                          struct error *err)
{
    if (flag(q, name, out, err) != 0)
        return -1;
    if (*out == 0)
        *out = -1;
    return 0;
}

static int check_program_statuses(const struct api_filters *f, struct error *err)
{
    for (size_t i = 0; i < f->n_statuses; i++) {
        bool known = false;
        for (size_t j = 0; j < sizeof program_statuses / sizeof *program_statuses; j++)
            known = known || strcmp(f->statuses[i], program_statuses[j]) == 0;
        if (!known)
            return error_set_field(err, ERR_INVALID, "status",
                                   "Select a valid choice. %s is not one of the available choices.",
                                   f->statuses[i]);
    }
    return 0;
}

/* A non-empty single value, or NULL. */
static const char *single(const struct query_params *q, const char *name)
{
    const char *v = query_params_get(q, name);
    return v != NULL && *v != '\0' ? v : NULL;
}

int api_filters_parse(enum entity_kind kind, const struct http_request *req, struct api_filters *f,
                      struct error *err)
{
    memset(f, 0, sizeof *f);
    const struct query_params *q = req->query;
    struct store_query *sq = &f->query;
    sq->kind = kind;
    sq->hidden = -1;
    sq->marketable = -1;
    sq->active = -1;
    sq->public_only = !req->caller.staff;
    sq->now = clock_now();
    sq->ordering = single(q, "ordering");

    if (add_list(q, "uuids", &f->uuids, &f->n_uuids, API_MAX_KEYS, err) != 0)
        return -1;
    if (kind != ENTITY_PROGRAM && kind != ENTITY_PATHWAY &&
        add_list(q, "keys", &f->keys, &f->n_keys, API_MAX_KEYS, err) != 0)
        return -1;
    if ((kind == ENTITY_SUBJECT || kind == ENTITY_PROGRAM_TYPE) &&
        add_list(q, "slug", &f->keys, &f->n_keys, API_MAX_KEYS, err) != 0)
        return -1;

    switch (kind) {
    case ENTITY_COURSE:
        sq->organization = single(q, "org");
        if (narrowing_flag(q, "marketable", &sq->marketable, err) != 0 ||
            narrowing_flag(q, "active", &sq->active, err) != 0)
            return -1;
        break;
    case ENTITY_COURSE_RUN:
        sq->course = single(q, "course");
        sq->pacing_type = single(q, "pacing_type");
        if (narrowing_flag(q, "marketable", &sq->marketable, err) != 0 ||
            narrowing_flag(q, "active", &sq->active, err) != 0 ||
            flag(q, "hidden", &sq->hidden, err) != 0)
            return -1;
        if (add_list(q, "status", &f->statuses, &f->n_statuses, API_MAX_KEYS, err) != 0)
            return -1;
        break;
    case ENTITY_PROGRAM: {
        int only = -1;
        sq->program_type = single(q, "type");
        if (sq->program_type == NULL)
            sq->program_type = single(q, "types");
        if (narrowing_flag(q, "marketable", &sq->marketable, err) != 0 ||
            flag(q, "hidden", &sq->hidden, err) != 0 || flag(q, "uuids_only", &only, err) != 0)
            return -1;
        f->uuids_only = only == 1;
        if (add_list(q, "status", &f->statuses, &f->n_statuses, API_MAX_KEYS, err) != 0 ||
            check_program_statuses(f, err) != 0)
            return -1;
        break;
    }
    case ENTITY_PATHWAY:
        if (add_list(q, "status", &f->statuses, &f->n_statuses, API_MAX_KEYS, err) != 0)
            return -1;
        break;
    default:
        break;
    }
    /* exclude_utm is accepted and ignored: we add no tracking parameters. */
    sq->keys = (const char *const *)f->keys;
    sq->n_keys = f->n_keys;
    sq->uuids = (const char *const *)f->uuids;
    sq->n_uuids = f->n_uuids;
    sq->statuses = (const char *const *)f->statuses;
    sq->n_statuses = f->n_statuses;
    return 0;
}

void api_filters_free(struct api_filters *f)
{
    query_params_free_list(f->keys, f->n_keys);
    query_params_free_list(f->uuids, f->n_uuids);
    query_params_free_list(f->statuses, f->n_statuses);
    memset(f, 0, sizeof *f);
}
