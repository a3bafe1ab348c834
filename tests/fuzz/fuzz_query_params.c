/*
 * fuzz_query_params - the query-string parser and the helpers the API
 * reads parameters with (get, get_all with and without comma splitting,
 * flag, size), on arbitrary bytes as a raw query string.  Every
 * parameter name found is also asked for as a flag and a size, so the
 * helpers see the values the parser produced, not only fixed names.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, const struct error *err)
{
    if (rc != 0 && (err->code != ERR_INVALID || err->message[0] == '\0'))
        abort();
}

static void read_param(const struct query_params *params, const char *name)
{
    struct error err = {0};
    (void)query_params_get(params, name);
    for (int split = 0; split < 2; split++) {
        char **list = NULL;
        size_t n = query_params_get_all(params, name, split != 0, &list);
        for (size_t i = 0; i < n; i++)
            if (list[i] == NULL || (split && (list[i][0] == '\0' || strchr(list[i], ','))))
                abort(); /* split pieces are non-empty and comma-free */
        query_params_free_list(list, n);
    }
    int flag = 7;
    int rc = query_params_flag(params, name, &flag, &err);
    check_error(rc, &err);
    if (rc == 0 && flag != -1 && flag != 0 && flag != 1)
        abort();
    size_t value = 0;
    error_clear(&err);
    rc = query_params_size(params, name, 20, 1, 500, &value, &err);
    check_error(rc, &err);
    if (rc == 0 && (value < 1 || value > 500))
        abort();
    error_clear(&err);
    rc = query_params_size(params, name, 0, 0, SIZE_MAX, &value, &err);
    check_error(rc, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1);
    if (raw == NULL)
        return 0;
    memcpy(raw, data, size);
    raw[size] = '\0';

    struct query_params params = {0};
    struct error err = {0};
    int rc = query_params_parse(raw, &params, &err);
    check_error(rc, &err);
    if (rc == 0) {
        static const char *const fixed[] = {"page",   "page_size",  "limit",  "offset", "q",
                                            "active", "marketable", "hidden", "keys",   ""};
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            read_param(&params, fixed[i]);
        for (size_t i = 0; i < params.count && i < 16; i++) {
            if (params.items[i].name == NULL || params.items[i].value == NULL)
                abort();
            read_param(&params, params.items[i].name);
        }
        query_params_free(&params);
    }
    free(raw);
    return 0;
}
