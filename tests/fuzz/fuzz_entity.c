/*
 * fuzz_entity - the JSON entity decoders: the first byte picks the kind and
 * the write mode, the rest is parsed as an API body is (jansson, duplicate
 * keys refused) and given to entity_normalize.  A document it accepts must
 * be an object that normalizes again to itself (the canonical form is a
 * fixed point), so a decoder that accepts what it then cannot read back is
 * found too.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "entity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    if (!initialised) {
        /* A fixed "now": "modified" then depends on the input only. */
        struct error cerr = {0};
        if (clock_set_fixed("2025-03-01T00:00:00Z", &cerr) != 0)
            abort();
        initialised = 1;
    }
    if (size < 1)
        return 0;
    enum entity_kind kind = (enum entity_kind)(data[0] % ENTITY_KIND_COUNT);
    enum entity_write mode = (data[0] / ENTITY_KIND_COUNT) % 2 ? ENTITY_REPLACE : ENTITY_CREATE;

    json_error_t jerr;
    json_t *input = json_loadb((const char *)data + 1, size - 1,
                               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (input == NULL)
        return 0;

    json_t *out = NULL;
    struct error err = {0};
    if (entity_normalize(kind, input, mode, &out, &err) == 0) {
        if (!json_is_object(out))
            abort();
        /* Nested runs come back beside the course; normalize them alone. */
        json_t *runs = json_incref(json_object_get(out, "course_runs"));
        json_object_del(out, "course_runs");
        json_t *again = NULL;
        struct error err2 = {0};
        if (entity_normalize(kind, out, mode, &again, &err2) != 0)
            abort(); /* canonical output refused as input */
        if (!json_equal(out, again))
            abort(); /* normalizing is not idempotent */
        json_decref(again);
        size_t i;
        json_t *run;
        json_array_foreach(runs, i, run)
        {
            json_t *r2 = NULL;
            if (entity_normalize(ENTITY_COURSE_RUN, run, ENTITY_CREATE, &r2, &err2) != 0)
                abort();
            json_decref(r2);
        }
        json_decref(runs);
        char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        free(text);
        json_decref(out);
    } else if (out != NULL || err.code != ERR_INVALID || err.message[0] == '\0' ||
               err.field[0] == '\0') {
        abort(); /* a refusal must be ERR_INVALID naming a field */
    }
    json_decref(input);
    return 0;
}
