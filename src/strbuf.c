/*
 * strbuf - see strbuf.h.
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; false (oom set) when there is none. */
static bool reserve(struct strbuf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *grown = realloc(b->s, cap);
    if (grown == NULL) {
        b->oom = true;
        return false;
    }
    b->s = grown;
    b->cap = cap;
    return true;
}

void strbuf_addn(struct strbuf *b, const char *text, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void strbuf_add(struct strbuf *b, const char *text)
{
    strbuf_addn(b, text, strlen(text));
}

void strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void strbuf_free(struct strbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
