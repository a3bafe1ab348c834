/*
 * testutil - see testutil.h.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/catalogd-test-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    return strdup(dir);
}

struct config *test_config(const char *const *sets)
{
    size_t n = 0;
    while (sets != NULL && sets[n] != NULL)
        n++;
    char *envp[] = {NULL};
    char profiles[4096];
    const char *src = getenv("CATALOGD_SOURCE_DIR");
    snprintf(profiles, sizeof profiles, "%s/profiles", src ? src : ".");
    struct config_sources sources = {
        .file = NULL, .sets = sets, .n_sets = n, .envp = envp, .profile_dir = profiles};
    struct config *config = NULL;
    struct error err = {0};
    if (config_load(&sources, &config, &err) != 0)
        ck_abort_msg("test_config: %s", err.message);
    return config;
}

int test_run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
