/*
 * fuzz_search_query - the search language parser (search_query_parse), the
 * tree printer and the word folding on arbitrary bytes: any input either
 * parses into a tree that can be printed and freed, or is a clean
 * ERR_INVALID naming "q".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so ASan sees any read past the end. */
    char *q = malloc(size > 0 ? size : 1);
    if (q == NULL)
        return 0;
    if (size > 0)
        memcpy(q, data, size);

    struct search_node *tree = NULL;
    struct error err = {0};
    if (search_query_parse(q, size, &tree, &err) == 0) {
        if (tree == NULL)
            abort(); /* success must yield a tree */
        char text[4096];
        search_query_format(tree, text, sizeof text);
        if (memchr(text, '\0', sizeof text) == NULL)
            abort(); /* the printer must terminate what it writes */
        search_query_free(tree);
    } else {
        if (tree != NULL || err.code != ERR_INVALID || strcmp(err.field, "q") != 0 ||
            err.message[0] == '\0')
            abort(); /* a refusal must be the documented clean error */
    }

    /* Folding into buffers of every small size exercises the truncation. */
    char folded[64];
    size_t out_size = size > 0 ? (size_t)data[0] % sizeof folded + 1 : sizeof folded;
    int words = search_fold_words(q, size, folded, out_size);
    if (words >= 0 && strnlen(folded, out_size) >= out_size)
        abort();
    free(q);
    return 0;
}
