/*
 * strbuf - a growing NUL-terminated string, for text built piece by piece
 * (SQL statements, tsvector and tsquery text).  An allocation failure is
 * remembered rather than returned at each append: the builder checks once
 * at the end.
 */
#ifndef CATALOGD_STRBUF_H
#define CATALOGD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialize; s is NULL until the first append, then the text so far
 * (owned: strbuf_free). */
struct strbuf {
    char *s;
    size_t len, cap;
    bool oom; /* an append failed: s holds what came before it */
};

void strbuf_addn(struct strbuf *b, const char *text, size_t n);
void strbuf_add(struct strbuf *b, const char *text);
/* Formats straight into the buffer, growing it as needed (no length cap). */
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_free(struct strbuf *b);

#endif
