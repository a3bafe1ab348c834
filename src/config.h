/*
 * config - settings from built-in defaults, a mode profile, a config file,
 * the environment and --set flags, in that order of precedence.
 *
 * One table (config_settings.c) declares every setting: its section, key,
 * type, default, bounds or choices and a one-line doc.  That table drives
 * parsing, validation, `catalogd config show` and docs/configuration.md.
 *
 * Names are "section.key" ("store.path"); the only top-level key is "mode".
 */
#ifndef CATALOGD_CONFIG_H
#define CATALOGD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct config;

struct config_sources {
    /* --config FILE, or NULL for none. */
    const char *file;
    /* --set arguments, each "section.key=value", in command-line order. */
    const char *const *sets;
    size_t n_sets;
    /* Environment ("NAME=value" strings, NULL-terminated), usually environ.
     * Only CATALOGD_MODE and CATALOGD__<SECTION>__<KEY> are read. */
    char *const *envp;
    /* Directory holding <mode>.conf profiles; NULL finds it next to the
     * installed binary (../share/catalogd/profiles) or in the source tree. */
    const char *profile_dir;
};

/* Loads and validates every source.  On success *out is a new config owned
 * by the caller (config_free).  On failure returns -1, *out is NULL and err
 * (ERR_CONFIG) holds one line naming file, line, key, value and what was
 * expected, with a did-you-mean for near-miss keys. */
int config_load(const struct config_sources *sources, struct config **out, struct error *err);

void config_free(struct config *config);

/* Effective value as text; never NULL for a declared setting ("" when
 * empty).  Paths come back resolved against the file that named them.
 * The string is owned by the config.  Aborts (programming error) on an
 * undeclared name, so a typo in code is caught by the first test run. */
const char *config_get(const struct config *config, const char *name);
int64_t config_int(const struct config *config, const char *name); /* ints, bytes, seconds */
/* server.threads as a count: its value, or the online cores when it is 0
 * (at least 1). */
int64_t config_server_threads(const struct config *config);
bool config_bool(const struct config *config, const char *name);

/* Where the effective value came from: "default", "profile express",
 * "file catalogd.conf:12", "env", "flag".  Owned by the config. */
const char *config_origin(const struct config *config, const char *name);

/* Writes every effective value with its origin, one per line, secrets
 * printed as ***.  Returns 0, or -1 on a write error. */
int config_show(const struct config *config, FILE *out);

/* Writes the Markdown reference of every setting (docs/configuration.md). */
int config_write_reference(FILE *out);

#endif
