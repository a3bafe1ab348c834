/*
 * search_query - the one parser of the search language `q` into a query
 * tree (struct search_node, backends/search.h), and the word folding that
 * makes the tree's words equal to the tokens the index holds.
 *
 * Syntax (docs/search.md): words (all must match), "quoted phrases",
 * prefix*, field:value for title, org, key, subject (also field:"phrase"
 * and field:(group)), OR, -negation (also NOT), AND (optional), and
 * parentheses.  OR binds tighter than the implicit AND: `a b OR c` is
 * a AND (b OR c).  A group of negations only means "everything except".
 *
 * Words are folded as SQLite's `unicode61 remove_diacritics 2` tokenizer
 * does: split on non-alphanumerics, lower-cased, diacritics removed.  The
 * Latin-1 Supplement, Latin Extended-A and -B, Greek and Cyrillic blocks
 * come from tables generated from SQLite itself; elsewhere combining marks
 * are dropped, the general punctuation, symbol and CJK punctuation blocks
 * separate words, and other characters are kept as they are.
 */
#ifndef CATALOGD_SEARCH_QUERY_H
#define CATALOGD_SEARCH_QUERY_H

#include <stddef.h>

#include "error.h"
#include "search.h"

enum {
    SEARCH_QUERY_MAX_BYTES = 1000, /* longer q: ERR_INVALID */
    SEARCH_QUERY_MAX_DEPTH = 16,   /* nested parentheses */
    SEARCH_QUERY_MAX_TERMS = 50,   /* words and phrases in one query */
};

/* Parses q (len bytes; it may contain NUL bytes, which are refused).
 * On success returns 0 and *out is a new tree owned by the caller
 * (search_query_free).  On failure returns -1, *out is NULL and err is
 * ERR_INVALID with field "q" and a message naming the 1-based character
 * position of the problem (or the limit exceeded). */
int search_query_parse(const char *q, size_t len, struct search_node **out, struct error *err);

/* Frees a tree from search_query_parse; NULL is fine. */
void search_query_free(struct search_node *node);

/* Folds text (len bytes of UTF-8) into words as the index tokenizer does,
 * written to out separated by single spaces and NUL-terminated (at most
 * out_size - 1 bytes; words that do not fit are left out).  Returns the
 * number of words written, or -1 when text is not valid UTF-8 or holds a
 * NUL byte. */
int search_fold_words(const char *text, size_t len, char *out, size_t out_size);

/* Writes a readable form of the tree ("AND(a, OR(title:b, \"c d\"*))")
 * into buf, truncated to size; for logs and tests. */
void search_query_format(const struct search_node *node, char *buf, size_t size);

#endif
