/*
 * testutil - helpers shared by the Check programs.
 */
#ifndef CATALOGD_TESTUTIL_H
#define CATALOGD_TESTUTIL_H

#include <check.h>

#include "config.h"

/* A fresh temporary directory (mkdtemp); the path is malloc'd, caller frees.
 * The directory is not removed automatically. */
char *test_tmpdir(void);

/* A config with the built-in defaults plus the given "section.key=value"
 * overrides (NULL-terminated); aborts the test on error.  Caller frees. */
struct config *test_config(const char *const *sets);

/* Runs a suite and returns a process exit status. */
int test_run_suite(Suite *suite);

#endif
