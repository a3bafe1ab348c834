/*
 * json_compact - compact JSON text without jansson's dump.
 *
 * jansson's json_dumps walks every string a code point at a time through
 * a callback; for the documents catalogd writes (objects, arrays,
 * strings, integers, true, false, null) this writer produces the same
 * bytes as json_dumps(v, JSON_COMPACT [| JSON_SORT_KEYS]) several times
 * faster, and falls back to jansson for anything else (a real, whose
 * formatting is jansson's own).  Used where a dump is done per record or
 * per document: the import's first pass, the store's row text, the fts5
 * writer's digest and hit text.
 */
#ifndef CATALOGD_JSON_COMPACT_H
#define CATALOGD_JSON_COMPACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A reusable output buffer; zero-initialize, json_compact_free when done. */
struct json_compact {
    char *buf; /* NUL-terminated text of the last write; owned */
    size_t len, cap;
    bool failed; /* out of memory or a value it does not write */
};

/* Writes v into w->buf (replacing what it held), keys in sorted order when
 * sort.  Returns 0, or -1 (w->failed) when out of memory or v holds a
 * real: the caller then uses jansson. */
int json_compact_write(struct json_compact *w, const json_t *v, bool sort);

/* Says whether a top-level member's value is left out of the text. */
typedef bool json_compact_elide_fn(const char *key, const json_t *value, void *ctx);

/* json_compact_write(w, object, false), except that each top-level member
 * for which elide(key, value, ctx) is true keeps its key and place but has
 * 0 for its value: the fts5 writer leaves out of a stored hit the text the
 * index already holds.  Returns 0, or -1 (w->failed) as json_compact_write
 * does, or when object is not an object. */
int json_compact_write_elided(struct json_compact *w, const json_t *object,
                              json_compact_elide_fn *elide, void *ctx);

/* json_dumps(v, JSON_COMPACT | (sort ? JSON_SORT_KEYS : 0)), the same
 * bytes, through w when it can.  Returns a malloc'd string the caller
 * owns, or NULL when out of memory. */
char *json_compact_dumps(struct json_compact *w, const json_t *v, bool sort);

void json_compact_free(struct json_compact *w);

#endif
