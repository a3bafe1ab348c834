/*
 * fuzz_import - the import line parser: the input is a JSON Lines file
 * given to catalog_import.  One sqlite store in a temporary directory is
 * opened once and loaded with the sample catalog, so references in the
 * input can resolve and updates meet stored records; every run imports
 * inside a transaction that is rolled back, which keeps runs independent
 * and fast.  An import that fails all-or-nothing is run again with
 * --skip-invalid, so the per-line report path is fuzzed too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_io.h"
#include "clock.h"
#include "config.h"
#include "store.h"

#ifndef CATALOGD_FUZZ_SOURCE_DIR
#define CATALOGD_FUZZ_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store;
static FILE *devnull;

static void die(const char *what, const struct error *err)
{
    fprintf(stderr, "fuzz_import: %s: %s\n", what, err->message);
    abort();
}

static void init(void)
{
    /* Under TMPDIR: run.sh points it into its work directory, which it
     * removes, so runs leave nothing behind in /tmp. */
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/catalogd-fuzz-import-XXXXXX", base && *base ? base : "/tmp");
    const char *dir = mkdtemp(tmpl);
    devnull = fopen("/dev/null", "w");
    if (dir == NULL || devnull == NULL)
        abort();
    char path_set[4200];
    snprintf(path_set, sizeof path_set, "store.path=%s/fuzz.db", dir);
    const char *sets[] = {"store.driver=sqlite", path_set, "search.driver=none",
                          "clock.now=2025-03-01T00:00:00Z"};
    char *env[] = {NULL};
    struct config_sources sources = {.sets = sets,
                                     .n_sets = sizeof sets / sizeof sets[0],
                                     .envp = env,
                                     .profile_dir = CATALOGD_FUZZ_SOURCE_DIR "/profiles"};
    struct config *config = NULL;
    struct error err = {0};
    if (config_load(&sources, &config, &err) != 0)
        die("config", &err);
    if (clock_set_fixed(config_get(config, "clock.now"), &err) != 0)
        die("clock", &err);
    if (store_open(config, &store, &err) != 0)
        die("store_open", &err);
    config_free(config);

    FILE *sample = fopen(CATALOGD_FUZZ_SOURCE_DIR "/data/sample-catalog.jsonl", "r");
    if (sample == NULL)
        abort();
    struct import_summary summary = {0};
    if (catalog_import(store, sample, "sample-catalog.jsonl", NULL, NULL, &summary, &err) != 0)
        die("sample import", &err);
    fclose(sample);
}

static int import_once(const uint8_t *data, size_t size, bool skip_invalid, struct error *err)
{
    /* fmemopen refuses a zero-sized buffer; an empty file reads the same. */
    static const char empty[1];
    FILE *in = size > 0 ? fmemopen((void *)data, size, "r") : fmemopen((void *)empty, 1, "r");
    if (in == NULL)
        abort();
    if (size == 0)
        fgetc(in);
    struct import_options options = {.skip_invalid = skip_invalid};
    struct import_summary summary = {0};
    struct error berr = {0};
    if (store_begin(store, &berr) != 0)
        die("begin", &berr);
    int rc = catalog_import(store, in, "fuzz.jsonl", &options, devnull, &summary, err);
    store_rollback(store);
    fclose(in);
    if (rc != 0 && (err->message[0] == '\0' || err->code == ERR_NONE || err->code == ERR_INTERNAL))
        die("import failed without a clean error", err);
    if (rc == 0 && summary.written + summary.unchanged + summary.invalid > summary.lines)
        abort(); /* more records than lines */
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store == NULL)
        init();
    struct error err = {0};
    if (import_once(data, size, false, &err) != 0) {
        error_clear(&err);
        import_once(data, size, true, &err);
    }
    return 0;
}
