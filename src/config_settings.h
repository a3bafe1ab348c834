/*
 * config_settings - the one table of every setting, and how a value of
 * each type is parsed and checked.  config.c layers sources over it;
 * nothing else should need this header.
 */
#ifndef CATALOGD_CONFIG_SETTINGS_H
#define CATALOGD_CONFIG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum setting_type {
    SETTING_STRING,
    SETTING_INT,
    SETTING_BOOL,
    SETTING_ENUM,         /* one of .choices ("a|b|c") */
    SETTING_BACKEND,      /* an enum whose choices come from the backend registry */
    SETTING_BYTES,        /* 1048576, 512K, 16M, 1G, 16MiB */
    SETTING_SECONDS,      /* 30, 30s, 5m, 1h */
    SETTING_MILLISECONDS, /* 5000, 5000ms, 5s */
    SETTING_PATH,         /* resolved against the file that named it */
    SETTING_LISTEN,       /* host:port, [v6]:port */
    SETTING_URL,          /* "" or <scheme>://... with scheme in .choices */
    SETTING_INSTANT,      /* "" or ISO 8601 */
};

struct setting {
    const char *section; /* "" for the top-level "mode" */
    const char *key;
    enum setting_type type;
    const char *def;     /* default as text */
    int64_t min, max;    /* numeric types */
    const char *choices; /* enum: "a|b"; url: schemes "http|https"; backend: kind */
    bool secret;         /* shown as *** (URLs: only the password) */
    const char *doc;
};

extern const struct setting config_settings[];
extern const size_t config_settings_count;

/* The setting named "section.key" (or "mode"), or NULL. */
const struct setting *setting_find(const char *name);

/* Writes "section.key" (or "mode") into buf. */
void setting_name(const struct setting *s, char *buf, size_t size);

/* A type's name as the reference shows it ("bytes", "seconds"...). */
const char *setting_type_name(enum setting_type type);

/* Checks raw against the setting's type and bounds.  On success *value is
 * the normalized text (malloc'd, caller frees; paths are resolved against
 * base_dir unless base_dir is NULL or the path is absolute) and *number the
 * numeric value (ints, bytes, seconds, ms, bools as 0/1).  On failure
 * returns -1 with err->message saying only what was expected (the caller
 * adds where and which key): "expected an integer between 1 and 1024". */
int setting_parse(const struct setting *s, const char *raw, const char *base_dir, char **value,
                  int64_t *number, struct error *err);

/* The setting whose name is nearest to name (edit distance), when it is
 * near enough to be a likely typo; else NULL. */
const struct setting *setting_suggest(const char *name);

/* The declared section nearest to section when it is a likely typo, else
 * NULL.  Static storage. */
const char *setting_suggest_section(const char *section);

/* Writes what the setting accepts ("an integer between 1 and 1024",
 * "one of sqlite|postgres") into buf. */
void setting_expectation(const struct setting *s, char *buf, size_t size);

#endif
