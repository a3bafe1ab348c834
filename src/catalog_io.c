/*
 * catalog_io - see catalog_io.h; the file format is docs/import-format.md.
 *
 * Import works in three passes so that a line may name a record defined
 * further down the file and so that a bad line is found before anything
 * is written:
 *   1. read: every line is parsed and normalized once (a block of lines at
 *      a time, on two threads; checked against the rest of the file in
 *      file order); only its canonical text (compact JSON), its key and the
 *      keys it references are kept, grouped by kind, so memory grows with
 *      the file's size, never with the size of parsed trees;
 *   2. check: in dependency order, each reference must name a good record
 *      of this file or one already in the store (this is what lets
 *      skip_invalid drop a line and everything that depends on it without
 *      a failed write poisoning the transaction);
 *   3. write: one store transaction, STORE_UPSERT, records equal to what
 *      the store holds are left alone so that a second import is a no-op.
 *      Each course is written with the runs of it that the file carries
 *      right after it, so that a sink (catalog_io.h) sees a course's whole
 *      group together and can derive from it at once (a first import's
 *      search documents), without keeping every record until the end.
 */
#include "catalog_io.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "json_compact.h"
#include "work_split.h"

/* Export (and so the write pass of import) follows this order: every
 * record comes after those it references. */
static const enum entity_kind kind_order[ENTITY_KIND_COUNT] = {
    ENTITY_ORGANIZATION, ENTITY_SUBJECT, ENTITY_PROGRAM_TYPE, ENTITY_COURSE,
    ENTITY_COURSE_RUN,   ENTITY_PROGRAM, ENTITY_PATHWAY,
};

/* ---- references between kinds ---------------------------------------- */

struct reference {
    enum entity_kind from;
    const char *field;
    enum entity_kind to;
};

static const struct reference references[] = {
    {ENTITY_COURSE, "owners", ENTITY_ORGANIZATION},
    {ENTITY_COURSE, "subjects", ENTITY_SUBJECT},
    {ENTITY_COURSE_RUN, "course", ENTITY_COURSE},
    {ENTITY_PROGRAM, "type", ENTITY_PROGRAM_TYPE},
    {ENTITY_PROGRAM, "courses", ENTITY_COURSE},
    {ENTITY_PROGRAM, "authoring_organizations", ENTITY_ORGANIZATION},
    {ENTITY_PATHWAY, "programs", ENTITY_PROGRAM},
};

static const char *kind_label(enum entity_kind kind)
{
    switch (kind) {
    case ENTITY_ORGANIZATION:
        return "organization";
    case ENTITY_SUBJECT:
        return "subject";
    case ENTITY_PROGRAM_TYPE:
        return "program type";
    case ENTITY_COURSE:
        return "course";
    case ENTITY_COURSE_RUN:
        return "course run";
    case ENTITY_PROGRAM:
        return "program";
    case ENTITY_PATHWAY:
        return "pathway";
    default:
        return "record";
    }
}

/* ---- a small hash table: (kind, text) -> value ------------------------- */

struct slot {
    char *text; /* owned; NULL when the slot is free */
    uint64_t hash;
    unsigned kind;
    size_t value;
};

struct table {
    struct slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t used;
};

static uint64_t hash_of(unsigned kind, const char *text)
{
    uint64_t h = 1469598103934665603ULL ^ kind; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

static struct slot *table_find(const struct table *t, unsigned kind, const char *text,
                               uint64_t hash)
{
    if (t->cap == 0)
        return NULL;
    for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct slot *s = &t->slots[i];
        if (s->text == NULL)
            return s;
        if (s->hash == hash && s->kind == kind && strcmp(s->text, text) == 0)
            return s;
    }
}

static int table_grow(struct table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    struct slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return -1;
    struct table bigger = {.slots = slots, .cap = cap, .used = t->used};
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].text != NULL)
            *table_find(&bigger, t->slots[i].kind, t->slots[i].text, t->slots[i].hash) =
                t->slots[i];
    }
    free(t->slots);
    *t = bigger;
    return 0;
}

/* Returns the value stored for (kind, text) in *value and 1, or 0 when
 * there is none. */
static int table_get(const struct table *t, unsigned kind, const char *text, size_t *value)
{
    struct slot *s = table_find(t, kind, text, hash_of(kind, text));
    if (s == NULL || s->text == NULL)
        return 0;
    *value = s->value;
    return 1;
}

/* Sets (kind, text) -> value, replacing any value.  -1 when out of memory. */
static int table_set(struct table *t, unsigned kind, const char *text, size_t value)
{
    if ((t->used + 1) * 10 >= t->cap * 7 && table_grow(t) != 0)
        return -1;
    uint64_t hash = hash_of(kind, text);
    struct slot *s = table_find(t, kind, text, hash);
    if (s->text == NULL) {
        s->text = strdup(text);
        if (s->text == NULL)
            return -1;
        s->hash = hash;
        s->kind = kind;
        t->used++;
    }
    s->value = value;
    return 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].text);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- records read from the file ---------------------------------------- */

#define NO_PARENT SIZE_MAX

struct record {
    size_t line;
    char *key;           /* owned */
    char *text;          /* canonical document as compact JSON; owned */
    char *refs;          /* its references, for pass 2 (see refs_of); owned */
    size_t parent;       /* a run nested in a course: that course's index */
    bool uuid_given;     /* false: keep the stored uuid of an existing record */
    bool modified_given; /* false: an unchanged record keeps its stamp */
    bool invalid;
};

struct record_list {
    struct record *items;
    size_t n, cap;
};

struct import {
    struct store *store;
    const char *name;
    const struct import_options *options;
    FILE *report;
    struct import_summary *summary;
    struct record_list records[ENTITY_KIND_COUNT];
    struct table keys;        /* (kind, key) -> index of the good record */
    struct table uuids;       /* (kind, uuid) -> line of its first use */
    struct table in_store;    /* (kind, key) -> 1 exists, 0 absent */
    struct table bad_lines;   /* (0, line number) -> 1: reported once */
    struct json_compact dump; /* pass 1's canonical text, reused per record */
};

static void import_free(struct import *im)
{
    for (int k = 0; k < ENTITY_KIND_COUNT; k++) {
        for (size_t i = 0; i < im->records[k].n; i++) {
            free(im->records[k].items[i].key);
            free(im->records[k].items[i].text);
            free(im->records[k].items[i].refs);
        }
        free(im->records[k].items);
    }
    table_free(&im->keys);
    table_free(&im->uuids);
    table_free(&im->in_store);
    table_free(&im->bad_lines);
    json_compact_free(&im->dump);
}

/* Fills err with "FILE:LINE: field: problem" from cause (whose message may
 * or may not already start with "field: "). */
static void line_error(const struct import *im, size_t line, const struct error *cause,
                       struct error *err)
{
    struct error copy = *cause;
    const char *problem = copy.message;
    size_t flen = strlen(copy.field);
    if (flen > 0 && strncmp(problem, copy.field, flen) == 0 &&
        strncmp(problem + flen, ": ", 2) == 0)
        problem += flen + 2;
    if (flen > 0)
        error_set_field(err, copy.code ? copy.code : ERR_INVALID, copy.field, "%s:%zu: %s: %s",
                        im->name, line, copy.field, problem);
    else
        error_set(err, copy.code ? copy.code : ERR_INVALID, "%s:%zu: %s", im->name, line, problem);
}

/* A bad line: with skip_invalid it is reported (once) and 0 returned so
 * that the import goes on; otherwise -1 with err set. */
static int bad_line(struct import *im, size_t line, const struct error *cause, struct error *err)
{
    struct error full = {0};
    line_error(im, line, cause, &full);
    if (!im->options->skip_invalid) {
        *err = full;
        return -1;
    }
    char number[32];
    size_t seen;
    snprintf(number, sizeof number, "%zu", line);
    if (table_get(&im->bad_lines, 0, number, &seen))
        return 0;
    if (table_set(&im->bad_lines, 0, number, 1) != 0)
        return error_set(err, ERR_INTERNAL, "out of memory");
    im->summary->invalid++;
    if (im->report != NULL)
        fprintf(im->report, "%s\n", full.message);
    return 0;
}

static bool has_member(const json_t *input, const char *name)
{
    const json_t *value = json_object_get(input, name);
    return value != NULL && !json_is_null(value);
}

/* The keys a record references, taken while its parsed document is at
 * hand so that pass 2 need not parse its text again (that cost as much
 * as the write pass's own parse): for each reference of `references`
 * from kind, in that order, and each key in it, in array order, one byte
 * (the reference's index + 1) then the key and its NUL; a 0 byte ends
 * the list.  Returns a malloc'd list the caller owns, or NULL when out of
 * memory. */
static char *refs_of(enum entity_kind kind, const json_t *doc)
{
    size_t size = 1;
    for (int pass = 0; pass < 2; pass++) {
        char *out = pass == 0 ? NULL : malloc(size), *at = out;
        if (pass == 1 && out == NULL)
            return NULL;
        for (size_t i = 0; i < sizeof references / sizeof references[0]; i++) {
            if (references[i].from != kind)
                continue;
            const json_t *value = json_object_get(doc, references[i].field);
            size_t n = json_is_array(value) ? json_array_size(value) : 1;
            for (size_t j = 0; j < n; j++) {
                const json_t *item = json_is_array(value) ? json_array_get(value, j) : value;
                const char *key = json_string_value(item);
                if (key == NULL)
                    continue;
                size_t len = strlen(key);
                if (pass == 0)
                    size += len + 2;
                else {
                    *at++ = (char)(i + 1);
                    memcpy(at, key, len + 1);
                    at += len + 1;
                }
            }
        }
        if (pass == 1) {
            *at = 0;
            return out;
        }
    }
    return NULL;
}

/* ---- pass 1, per line: parse and normalize (either thread) ------------
 *
 * Parsing a line and normalizing it is most of pass 1 (11.6 s of a 100k
 * import, with the index writer idle meanwhile), and it depends on
 * nothing but the line: lines are read in blocks and each block's lines
 * parsed on two threads (work_split), then applied in file order on this
 * one, where every check against the rest of the file (a key or uuid used
 * twice) and every table lives.  Each thread frees the trees it parsed; only
 * the records' strings move to this thread. */

/* A record a line yields, before the checks against the rest of the file. */
struct line_record {
    enum entity_kind kind;
    char *key;  /* owned; NULL when missing */
    char *uuid; /* owned; NULL when missing */
    char *text; /* canonical document as compact JSON; owned */
    char *refs; /* see refs_of; owned */
    bool uuid_given, modified_given;
};

/* One line of a block and what it yields. */
struct parsed_line {
    size_t number;
    char *text; /* owned copy of the line */
    size_t len;
    struct line_record *records; /* [0] the line's, [1..] a course's nested runs */
    size_t n;
    size_t nested_twice;  /* records index of the first run nested twice, or 0 */
    struct error problem; /* of the line itself (code set), before the file checks */
    struct error nested;  /* what nested_twice says */
    bool failed;          /* out of memory: an import failure, not the line's */
};

static void parsed_line_clear(struct parsed_line *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        free(pl->records[i].key);
        free(pl->records[i].uuid);
        free(pl->records[i].text);
        free(pl->records[i].refs);
    }
    free(pl->records);
    free(pl->text);
    memset(pl, 0, sizeof *pl);
}

static char *string_copy(const json_t *doc, const char *field)
{
    const char *s = json_string_value(json_object_get(doc, field));
    return s ? strdup(s) : NULL;
}

/* Fills out from doc (the normalized record) and input (the line's own
 * object, for what it gave); false when out of memory. */
static bool line_record_of(enum entity_kind kind, const json_t *input, const json_t *doc,
                           struct json_compact *dump, struct line_record *out)
{
    out->kind = kind;
    out->uuid_given = has_member(input, "uuid");
    out->modified_given = has_member(input, "modified");
    out->key = string_copy(doc, entity_key_field(kind));
    out->uuid = string_copy(doc, "uuid");
    out->text = json_compact_dumps(dump, doc, false);
    out->refs = refs_of(kind, doc);
    /* A NULL key or uuid is one the record lacks, unless strdup failed. */
    bool key_lost =
        out->key == NULL && json_is_string(json_object_get(doc, entity_key_field(kind)));
    bool uuid_lost = out->uuid == NULL && json_is_string(json_object_get(doc, "uuid"));
    return !key_lost && !uuid_lost && out->text != NULL && out->refs != NULL;
}

/* The records of a normalized line: a course's nested runs become
 * course_run records of the same line, and a run nested twice is noted. */
static void split_line(struct parsed_line *pl, enum entity_kind kind, const json_t *input,
                       json_t *doc, struct json_compact *dump)
{
    json_t *runs = json_incref(json_object_get(doc, "course_runs"));
    const json_t *input_runs = json_object_get(input, "course_runs");
    struct table nested = {0}; /* run keys of this course -> position */
    if (kind == ENTITY_COURSE)
        json_object_del(doc, "course_runs");
    size_t n = 1 + json_array_size(runs);
    pl->records = calloc(n, sizeof *pl->records);
    pl->failed = pl->records == NULL;
    if (!pl->failed)
        pl->n = n;
    if (!pl->failed && !line_record_of(kind, input, doc, dump, &pl->records[0]))
        pl->failed = true;
    size_t i, first;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        if (pl->failed)
            break;
        if (!line_record_of(ENTITY_COURSE_RUN, json_array_get(input_runs, i), run, dump,
                            &pl->records[i + 1])) {
            pl->failed = true;
            break;
        }
        const char *run_key = pl->records[i + 1].key;
        if (run_key == NULL || pl->nested_twice != 0)
            continue;
        if (table_get(&nested, 0, run_key, &first)) {
            pl->nested_twice = i + 1;
            error_set_field(&pl->nested, ERR_INVALID, "key",
                            "course run \"%s\" is nested twice in this course (course_runs[%zu])",
                            run_key, first);
        } else if (table_set(&nested, 0, run_key, i) != 0) {
            pl->failed = true;
        }
    }
    table_free(&nested);
    json_decref(runs);
}

/* Parses and normalizes one line; a problem of the line goes to
 * pl->problem. */
static void parse_line(struct parsed_line *pl, struct json_compact *dump)
{
    json_error_t jerr;
    struct error *cause = &pl->problem;
    json_t *input = json_loadb(pl->text, pl->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    json_t *doc = NULL;
    enum entity_kind kind;
    if (input == NULL) {
        error_set(cause, ERR_INVALID, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
        goto out;
    }
    if (!json_is_object(input)) {
        error_set(cause, ERR_INVALID, "expected a JSON object with a \"kind\" member");
        goto out;
    }
    const json_t *kind_value = json_object_get(input, "kind");
    if (kind_value == NULL || json_is_null(kind_value)) {
        error_set_field(cause, ERR_INVALID, "kind",
                        "missing (organization, subject, program_type, course, course_run, "
                        "program or pathway)");
        goto out;
    }
    if (!json_is_string(kind_value) ||
        entity_kind_from_name(json_string_value(kind_value), &kind) != 0) {
        char *shown = json_dumps(kind_value, JSON_ENCODE_ANY | JSON_COMPACT);
        error_set_field(cause, ERR_INVALID, "kind",
                        "unknown kind %.100s (expected organization, subject, program_type, "
                        "course, course_run, program or pathway)",
                        shown ? shown : "?");
        free(shown);
        goto out;
    }
    json_object_del(input, "kind");
    /* A program or pathway is known by its uuid alone: without one, every
     * import would add a new copy and no pathway could name it. */
    if ((kind == ENTITY_PROGRAM || kind == ENTITY_PATHWAY) && !has_member(input, "uuid")) {
        error_set_field(cause, ERR_INVALID, "uuid", "required in an import (it is the %s's key)",
                        kind_label(kind));
        goto out;
    }
    /* The store assigns a pathway's id; export leaves it out and so must
     * import, whatever a hand-written file says. */
    if (kind == ENTITY_PATHWAY)
        json_object_del(input, "id");
    if (entity_normalize(kind, input, ENTITY_CREATE, &doc, cause) != 0) {
        if (cause->code == ERR_NONE)
            error_set(cause, ERR_INVALID, "invalid %s", kind_label(kind));
        goto out;
    }
    error_clear(cause);
    split_line(pl, kind, input, doc, dump);
out:
    json_decref(input);
    json_decref(doc);
}

/* ---- pass 1, in file order: the checks against the rest of the file --- */

/* Problems that make a record clash with an earlier line of the file:
 * the same natural key or the same uuid twice.  Returns 0 when it is
 * new, or -1 with cause set. */
static int check_unique(struct import *im, enum entity_kind kind, size_t line, const char *key,
                        const char *uuid, struct error *cause)
{
    const char *field = entity_key_field(kind);
    size_t index, first;
    if (key == NULL)
        return error_set_field(cause, ERR_INVALID, field, "missing");
    if (table_get(&im->keys, kind, key, &index))
        return error_set_field(cause, ERR_INVALID, field,
                               "%s \"%s\" is defined twice: on line %zu and on line %zu",
                               kind_label(kind), key, im->records[kind].items[index].line, line);
    if (uuid != NULL && strcmp(field, "uuid") != 0 && table_get(&im->uuids, kind, uuid, &first))
        return error_set_field(cause, ERR_INVALID, "uuid",
                               "%s uuid \"%s\" is used twice: on line %zu and on line %zu",
                               kind_label(kind), uuid, first, line);
    return 0;
}

/* Names a nested run's field as entity_normalize does:
 * "course_runs[1].key". */
static void nest_field(struct error *cause, size_t i)
{
    char field[sizeof cause->field + 64];
    snprintf(field, sizeof field, "course_runs[%zu].%s", i, cause->field);
    snprintf(cause->field, sizeof cause->field, "%.63s", field);
}

/* Takes record r of a line (its strings move into the import). */
static int add_record(struct import *im, size_t line, struct line_record *r, size_t parent,
                      size_t *index, struct error *err)
{
    struct record_list *list = &im->records[r->kind];
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        struct record *items = realloc(list->items, cap * sizeof *items);
        if (items == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        list->items = items;
        list->cap = cap;
    }
    struct record rec = {.line = line,
                         .key = r->key ? r->key : strdup(""),
                         .text = r->text,
                         .refs = r->refs,
                         .parent = parent,
                         .uuid_given = r->uuid_given,
                         .modified_given = r->modified_given};
    r->key = r->text = r->refs = NULL;
    if (rec.key == NULL || table_set(&im->keys, r->kind, rec.key, list->n) != 0 ||
        (r->uuid != NULL && table_set(&im->uuids, r->kind, r->uuid, line) != 0)) {
        free(rec.key);
        free(rec.text);
        free(rec.refs);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    *index = list->n;
    list->items[list->n++] = rec;
    return 0;
}

/* Checks a parsed line against the file so far and keeps its records.  A
 * problem of the line goes to cause (-1 with cause->code set); our own
 * failures to err. */
static int keep_line(struct import *im, struct parsed_line *pl, struct error *cause,
                     struct error *err)
{
    if (pl->failed)
        return error_set(err, ERR_INTERNAL, "out of memory");
    if (pl->problem.code != ERR_NONE) {
        *cause = pl->problem;
        return -1;
    }
    for (size_t i = 0; i < pl->n; i++) {
        const struct line_record *r = &pl->records[i];
        if (check_unique(im, r->kind, pl->number, r->key, r->uuid, cause) != 0 ||
            (i == pl->nested_twice && i > 0 && (*cause = pl->nested, true))) {
            if (i > 0)
                nest_field(cause, i - 1);
            return -1;
        }
    }
    size_t index, run_index;
    if (add_record(im, pl->number, &pl->records[0], NO_PARENT, &index, err) != 0)
        return -1;
    for (size_t i = 1; i < pl->n; i++)
        if (add_record(im, pl->number, &pl->records[i], index, &run_index, err) != 0)
            return -1;
    return 0;
}

static bool blank_or_comment(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '#')
            return true;
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
            return false;
    }
    return true;
}

/* Lines parsed together: enough to keep both threads busy between the
 * applies, few enough that the block's text stays small (~3 MB). */
#define BLOCK_LINES 1024

struct block {
    struct parsed_line lines[BLOCK_LINES];
    size_t n;
    struct json_compact dumps[2]; /* one per thread */
};

static void parse_block_line(void *ctx, size_t i, int part)
{
    struct block *b = ctx;
    parse_line(&b->lines[i], &b->dumps[part]);
}

/* Parses b's lines and keeps them in order; stops at the first bad line
 * unless skip_invalid.  Returns 0 or -1 with err set. */
static int keep_block(struct import *im, struct block *b, struct error *err)
{
    work_split(b->n, 64, parse_block_line, b);
    int rc = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct parsed_line *pl = &b->lines[i];
        if (rc == 0) {
            struct error cause = {0};
            im->summary->lines = pl->number;
            if (keep_line(im, pl, &cause, err) != 0 &&
                (cause.code == ERR_NONE || bad_line(im, pl->number, &cause, err) != 0))
                rc = -1;
        }
        parsed_line_clear(pl);
    }
    b->n = 0;
    return rc;
}

static int read_all(struct import *im, FILE *in, struct error *err)
{
    struct block *b = calloc(1, sizeof *b);
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    size_t number = 0;
    int rc = 0;
    if (b == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    while (rc == 0 && (len = getline(&line, &size, in)) != -1) {
        number++;
        char *text = line;
        /* a UTF-8 byte order mark, as some editors write */
        if (number == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
            text += 3;
            len -= 3;
        }
        if (blank_or_comment(text, (size_t)len))
            continue;
        struct parsed_line *pl = &b->lines[b->n];
        pl->number = number;
        pl->len = (size_t)len;
        if ((pl->text = malloc((size_t)len + 1)) == NULL) {
            rc = error_set(err, ERR_INTERNAL, "out of memory");
            break;
        }
        memcpy(pl->text, text, (size_t)len + 1);
        if (++b->n == BLOCK_LINES)
            rc = keep_block(im, b, err);
    }
    if (rc == 0)
        rc = keep_block(im, b, err);
    if (rc == 0) {
        im->summary->lines = number;
        if (ferror(in))
            rc = error_set(err, ERR_IO, "%s: read error: %s", im->name, strerror(errno));
    }
    for (size_t i = 0; i < b->n; i++)
        parsed_line_clear(&b->lines[i]);
    json_compact_free(&b->dumps[0]);
    json_compact_free(&b->dumps[1]);
    free(b);
    free(line);
    return rc;
}

/* ---- pass 2: references --------------------------------------------- */

/* Is there a good record (kind, key) in this file or in the store? */
static int reference_exists(struct import *im, enum entity_kind kind, const char *key, bool *exists,
                            struct error *err)
{
    size_t value;
    if (table_get(&im->keys, kind, key, &value) && !im->records[kind].items[value].invalid) {
        *exists = true;
        return 0;
    }
    if (table_get(&im->in_store, kind, key, &value)) {
        *exists = value != 0;
        return 0;
    }
    json_t *doc = NULL;
    struct error gerr = {0};
    if (store_get(im->store, kind, key, &doc, &gerr) != 0 && gerr.code != ERR_NOT_FOUND) {
        *err = gerr;
        return -1;
    }
    *exists = doc != NULL;
    json_decref(doc);
    if (table_set(&im->in_store, kind, key, *exists) != 0)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

/* Checks one record's references; a missing one sets cause. */
static int check_record(struct import *im, const struct record *r, struct error *cause,
                        struct error *err)
{
    for (const char *at = r->refs; *at != 0;) {
        const struct reference *ref = &references[(unsigned char)*at - 1];
        const char *key = at + 1;
        at = key + strlen(key) + 1;
        bool exists;
        if (reference_exists(im, ref->to, key, &exists, err) != 0)
            return -1;
        if (!exists)
            return error_set_field(cause, ERR_INVALID, ref->field,
                                   "no %s \"%s\" in this file or in the store", kind_label(ref->to),
                                   key);
    }
    return 0;
}

static int check_references(struct import *im, struct error *err)
{
    for (int o = 0; o < ENTITY_KIND_COUNT; o++) {
        enum entity_kind kind = kind_order[o];
        struct record_list *list = &im->records[kind];
        for (size_t i = 0; i < list->n; i++) {
            struct record *r = &list->items[i];
            struct error cause = {0};
            /* a run nested in a course that was dropped goes with it (its
             * only reference is that course, so it cannot fail alone) */
            if (r->parent != NO_PARENT && im->records[ENTITY_COURSE].items[r->parent].invalid) {
                r->invalid = true;
                continue;
            }
            if (check_record(im, r, &cause, err) == 0)
                continue;
            if (cause.code == ERR_NONE)
                return -1;
            if (bad_line(im, r->line, &cause, err) != 0)
                return -1;
            r->invalid = true;
        }
    }
    return 0;
}

/* ---- pass 3: writing -------------------------------------------------- */

/* Fields that do not make a record differ: the pathway id the store
 * assigns, and the modified stamp unless the line gave one (normalization
 * stamps "now" otherwise, which would make every record look changed). */
static bool ignored_field(enum entity_kind kind, const char *field, bool modified_given)
{
    return (kind == ENTITY_PATHWAY && strcmp(field, "id") == 0) ||
           (!modified_given && strcmp(field, "modified") == 0);
}

static bool field_equal(const json_t *a, const json_t *b)
{
    if (a == NULL || json_is_null(a))
        return b == NULL || json_is_null(b);
    return b != NULL && json_equal(a, b);
}

/* Would writing doc over stored change anything? */
static bool same_record(enum entity_kind kind, const json_t *doc, const json_t *stored,
                        bool modified_given)
{
    const char *field;
    const json_t *value;
    json_object_foreach((json_t *)doc, field, value)
    {
        if (ignored_field(kind, field, modified_given))
            continue;
        if (!field_equal(value, json_object_get(stored, field)))
            return false;
    }
    json_object_foreach((json_t *)stored, field, value)
    {
        if (ignored_field(kind, field, modified_given))
            continue;
        if (json_object_get(doc, field) == NULL && !json_is_null(value))
            return false;
    }
    return true;
}

struct progress {
    bool on;
    size_t done, total;
    struct timespec started, shown;
};

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress_step(struct progress *p, bool last)
{
    p->done++;
    if (!p->on)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* a terminal redrawn a few times a second, not once a record */
    if (!last && seconds_between(&p->shown, &now) < 0.2)
        return;
    p->shown = now;
    double elapsed = seconds_between(&p->started, &now);
    fprintf(stderr, "\rimported %zu/%zu records (%.0f records/s)", p->done, p->total,
            elapsed > 0 ? (double)p->done / elapsed : 0.0);
    if (last)
        fputc('\n', stderr);
    fflush(stderr);
}

/* Writes one record (unless the store holds it exactly so) and hands it,
 * as stored, to the sink. */
static int write_record(struct import *im, enum entity_kind kind, const struct record *r,
                        struct error *err)
{
    const struct import_sink *sink = im->options->sink;
    bool want = sink != NULL && sink->record != NULL;
    json_t *written = NULL;
    json_error_t jerr;
    json_t *doc = json_loads(r->text, 0, &jerr);
    json_t *stored = NULL;
    struct error cause = {0};
    int rc = -1;
    if (doc == NULL) {
        error_set(err, ERR_INTERNAL, "re-reading line %zu: %s", r->line, jerr.text);
        goto out;
    }
    if (store_get(im->store, kind, r->key, &stored, &cause) != 0) {
        if (cause.code != ERR_NOT_FOUND)
            goto fail;
        stored = NULL;
    }
    if (stored != NULL) {
        /* a line without a uuid updates the record, not its identity */
        if (!r->uuid_given)
            json_object_set(doc, "uuid", json_object_get(stored, "uuid"));
        if (same_record(kind, doc, stored, r->modified_given)) {
            im->summary->unchanged++;
            rc = want ? sink->record(sink->ctx, kind, stored, err) : 0;
            goto out;
        }
    }
    /* The sink must see what a read of the store would return.  A
     * canonical document comes back from every store exactly as it was
     * put (the store interface's round trip: test_store's roundtrip_* run
     * against every driver), except a pathway's id, which the store
     * assigns: only a pathway is read back.  Reading every record back
     * cost a fifth of the import thread's instructions (callgrind, 1k
     * corpus) and returned the document put for every other record. */
    json_t **back = want && kind == ENTITY_PATHWAY ? &written : NULL;
    if (store_put(im->store, kind, doc, STORE_UPSERT, back, &cause) != 0)
        goto fail;
    im->summary->written++;
    rc = want ? sink->record(sink->ctx, kind, back != NULL ? written : doc, err) : 0;
    goto out;
fail:
    line_error(im, r->line, &cause, err);
out:
    json_decref(doc);
    json_decref(stored);
    json_decref(written);
    return rc;
}

/* The course a run on its own line names, or NULL. */
static const char *run_course_key(const struct record *r)
{
    for (const char *at = r->refs; *at != 0;) {
        const struct reference *ref = &references[(unsigned char)*at - 1];
        const char *key = at + 1;
        at = key + strlen(key) + 1;
        if (ref->from == ENTITY_COURSE_RUN && ref->to == ENTITY_COURSE)
            return key;
    }
    return NULL;
}

/* The write order of the runs, grouped by course: runs[starts[c] ..
 * starts[c + 1]) are the good runs of good course c in file order, and
 * runs[starts[n] .. starts[n + 1]) (n courses) those of courses not in
 * this import.  Both arrays are malloc'd and owned by the caller. */
static int group_runs(struct import *im, size_t **runs_out, size_t **starts_out, struct error *err)
{
    const struct record_list *courses = &im->records[ENTITY_COURSE];
    const struct record_list *runs = &im->records[ENTITY_COURSE_RUN];
    size_t n = courses->n;
    size_t *group = malloc((runs->n + 1) * sizeof *group);
    size_t *starts = calloc(n + 2, sizeof *starts);
    size_t *order = malloc((runs->n + 1) * sizeof *order);
    if (group == NULL || starts == NULL || order == NULL) {
        free(group);
        free(starts);
        free(order);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < runs->n; i++) {
        const struct record *r = &runs->items[i];
        size_t c = r->parent;
        const char *course = NULL;
        if (c == NO_PARENT && (course = run_course_key(r)) != NULL &&
            !table_get(&im->keys, ENTITY_COURSE, course, &c))
            c = NO_PARENT;
        group[i] = c == NO_PARENT || courses->items[c].invalid ? n : c;
        starts[group[i] + 1]++;
    }
    for (size_t c = 0; c <= n; c++)
        starts[c + 1] += starts[c];
    size_t *fill = calloc(n + 1, sizeof *fill);
    if (fill == NULL) {
        free(group);
        free(starts);
        free(order);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < runs->n; i++)
        order[starts[group[i]] + fill[group[i]]++] = i;
    free(fill);
    free(group);
    *runs_out = order;
    *starts_out = starts;
    return 0;
}

/* Writes one good record of the import (a bad one is skipped). */
static int write_one(struct import *im, enum entity_kind kind, size_t i, struct progress *progress,
                     struct error *err)
{
    struct record *r = &im->records[kind].items[i];
    if (r->invalid)
        return 0;
    if (write_record(im, kind, r, err) != 0)
        return -1;
    /* Not needed again: the memory goes back while a first import's index
     * is built beside the writes (catalog_io.h, struct import_sink). */
    free(r->text);
    r->text = NULL;
    im->summary->by_kind[kind]++;
    progress_step(progress, progress->done + 1 == progress->total);
    return 0;
}

/* Writes every good record in the order import_sink describes: the kinds
 * of kind_order, except that each course's runs follow it. */
static int write_each(struct import *im, struct progress *progress, struct error *err)
{
    size_t *runs = NULL, *starts = NULL;
    size_t n = im->records[ENTITY_COURSE].n;
    if (group_runs(im, &runs, &starts, err) != 0)
        return -1;
    int rc = 0;
    for (int o = 0; rc == 0 && o < ENTITY_KIND_COUNT; o++) {
        enum entity_kind kind = kind_order[o];
        if (kind == ENTITY_COURSE_RUN) {
            for (size_t j = starts[n]; rc == 0 && j < starts[n + 1]; j++)
                rc = write_one(im, kind, runs[j], progress, err);
            continue;
        }
        for (size_t i = 0; rc == 0 && i < im->records[kind].n; i++) {
            rc = write_one(im, kind, i, progress, err);
            if (kind != ENTITY_COURSE || im->records[kind].items[i].invalid)
                continue;
            for (size_t j = starts[i]; rc == 0 && j < starts[i + 1]; j++)
                rc = write_one(im, ENTITY_COURSE_RUN, runs[j], progress, err);
        }
    }
    free(runs);
    free(starts);
    return rc;
}

static int write_all(struct import *im, struct error *err)
{
    const struct import_sink *sink = im->options->sink;
    struct progress progress = {.on = im->options->progress && isatty(fileno(stderr))};
    for (int k = 0; k < ENTITY_KIND_COUNT; k++)
        for (size_t i = 0; i < im->records[k].n; i++)
            progress.total += !im->records[k].items[i].invalid;
    clock_gettime(CLOCK_MONOTONIC, &progress.started);

    /* Into an empty store the import is a bulk load, and all or nothing:
     * the store may write it its fastest way (store_driver.begin_bulk). */
    bool empty = false;
    struct error ignored = {0};
    if (store_is_empty(im->store, &empty, &ignored) != 0)
        empty = false;
    if ((empty ? store_begin_bulk(im->store, err) : store_begin(im->store, err)) != 0)
        return -1;
    int rc = sink != NULL && sink->begin != NULL ? sink->begin(sink->ctx, progress.total, err) : 0;
    if (rc == 0)
        rc = write_each(im, &progress, err);
    if (rc == 0 && sink != NULL && sink->finish != NULL)
        rc = sink->finish(sink->ctx, err);
    if (rc != 0) {
        if (progress.on)
            fputc('\n', stderr);
        store_rollback(im->store);
        return -1;
    }
    if (store_commit(im->store, err) != 0) {
        store_rollback(im->store);
        return -1;
    }
    return 0;
}

int catalog_import(struct store *store, FILE *in, const char *name,
                   const struct import_options *options, FILE *report,
                   struct import_summary *summary, struct error *err)
{
    static const struct import_options defaults = {0};
    struct import_summary ignored = {0};
    struct import im = {
        .store = store,
        .name = name != NULL ? name : "-",
        .options = options != NULL ? options : &defaults,
        .report = report,
        .summary = summary != NULL ? summary : &ignored,
    };
    memset(im.summary, 0, sizeof *im.summary);
    error_clear(err);
    int rc = read_all(&im, in, err);
    if (rc == 0)
        rc = check_references(&im, err);
    if (rc == 0)
        rc = write_all(&im, err);
    if (rc != 0) {
        /* nothing was written: a summary must not say otherwise */
        im.summary->written = 0;
        im.summary->unchanged = 0;
        memset(im.summary->by_kind, 0, sizeof im.summary->by_kind);
    }
    import_free(&im);
    return rc;
}

/* ---- export ----------------------------------------------------------- */

struct export
{
    FILE *out;
    enum entity_kind kind;
};

/* One line: "kind" first, then the fields in sorted order, so that the
 * output does not depend on the order a store returns fields in. */
static int export_one(void *ctx, const json_t *doc, struct error *err)
{
    struct export *ex = ctx;
    json_t *copy = NULL;
    if (ex->kind == ENTITY_PATHWAY && json_object_get(doc, "id") != NULL) {
        /* store-assigned: another store assigns its own (uuid is the key) */
        copy = json_copy((json_t *)doc);
        if (copy == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        json_object_del(copy, "id");
        doc = copy;
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    if (text == NULL)
        return error_set(err, ERR_INTERNAL, "cannot encode a %s", kind_label(ex->kind));
    const char *rest = text + 1; /* after the '{' */
    int written = fprintf(ex->out, "{\"kind\":\"%s\"%s%s\n", entity_kind_name(ex->kind),
                          *rest == '}' ? "" : ",", rest);
    free(text);
    if (written < 0 || ferror(ex->out))
        return error_set(err, ERR_IO, "write error: %s", strerror(errno));
    return 0;
}

int catalog_export(struct store *store, FILE *out, struct error *err)
{
    error_clear(err);
    for (int o = 0; o < ENTITY_KIND_COUNT; o++) {
        struct export ex = {.out = out, .kind = kind_order[o]};
        if (store_each(store, ex.kind, export_one, &ex, err) != 0)
            return -1;
    }
    if (fflush(out) != 0)
        return error_set(err, ERR_IO, "write error: %s", strerror(errno));
    return 0;
}
