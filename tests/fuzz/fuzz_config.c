/*
 * fuzz_config - the INI reader and config_load.  The input up to its first
 * NUL byte is the config file text: it goes to ini_parse_string directly
 * and, written to a file, to config_load as --config.  Each further
 * NUL-separated piece is a --set argument, or an environment variable when
 * it starts with "CATALOGD", so every layer of the loader sees hostile
 * text.  A loaded config must answer config_show and config_get.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ini.h"

#ifndef CATALOGD_FUZZ_SOURCE_DIR
#define CATALOGD_FUZZ_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_PIECES = 8 };

/* Checks the reader's promises to a handler; refuses some keys so that the
 * handler-error path (and its "NAME:LINE" prefix) is taken too. */
static int handler(void *ctx, const char *section, const char *key, const char *value,
                   unsigned line, struct error *err)
{
    unsigned *calls = ctx;
    (*calls)++;
    if (section == NULL || line == 0 || (key == NULL) != (value == NULL))
        abort();
    if (key != NULL && strcmp(key, "refuse") == 0)
        return error_set_field(err, ERR_CONFIG, "refuse", "refused by the fuzz handler");
    return 0;
}

static char conf_path[4096];
static FILE *devnull;

static void init(void)
{
    /* Under TMPDIR: run.sh points it into its work directory, which it
     * removes, so runs leave nothing behind in /tmp. */
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/catalogd-fuzz-config-XXXXXX", base && *base ? base : "/tmp");
    const char *dir = mkdtemp(tmpl);
    devnull = fopen("/dev/null", "w");
    if (dir == NULL || devnull == NULL)
        abort();
    snprintf(conf_path, sizeof conf_path, "%s/fuzz.conf", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (devnull == NULL)
        init();
    /* Split into NUL-terminated pieces: the file, then sets and env. */
    char *copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *text = copy;
    const char *sets[MAX_PIECES];
    char *env[MAX_PIECES + 1];
    size_t n_sets = 0, n_env = 0;
    for (size_t at = strlen(copy) + 1; at <= size && n_sets + n_env < MAX_PIECES;) {
        char *piece = copy + at;
        if (strncmp(piece, "CATALOGD", 8) == 0)
            env[n_env++] = piece;
        else
            sets[n_sets++] = piece;
        at += strlen(piece) + 1;
    }
    env[n_env] = NULL;

    unsigned calls = 0;
    struct error err = {0};
    if (ini_parse_string("fuzz.conf", text, handler, &calls, &err) != 0 &&
        (err.code != ERR_CONFIG || strncmp(err.message, "fuzz.conf:", 10) != 0))
        abort(); /* every refusal names the file and line */

    FILE *f = fopen(conf_path, "w");
    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
    struct config_sources sources = {
        .file = conf_path,
        .sets = sets,
        .n_sets = n_sets,
        .envp = env,
        .profile_dir = CATALOGD_FUZZ_SOURCE_DIR "/profiles",
    };
    struct config *config = NULL;
    error_clear(&err);
    if (config_load(&sources, &config, &err) == 0) {
        if (config_show(config, devnull) != 0)
            abort();
        static const char *const names[] = {"mode",       "server.listen", "server.public_url",
                                            "store.path", "store.driver",  "clock.now"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (config_get(config, names[i]) == NULL || config_origin(config, names[i]) == NULL)
                abort();
        (void)config_int(config, "server.max_body_bytes");
        (void)config_int(config, "cache.ttl");
        (void)config_bool(config, "log.access");
        config_free(config);
    } else if (config != NULL || err.code != ERR_CONFIG || err.message[0] == '\0') {
        abort(); /* a refusal is ERR_CONFIG with a message */
    }
    free(copy);
    return 0;
}
