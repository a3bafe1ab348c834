#!/bin/sh
# clang-format and cppcheck over every C file we own.
set -eu
cd "$(dirname "$0")/.."
files=$(find src backends tests -name '*.[ch]' | sort)
echo "== clang-format"
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "== cppcheck"
# shellcheck disable=SC2086
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
    --inline-suppr --suppress=missingIncludeSystem --library=tests/cppcheck-jansson.cfg \
    -Isrc -Ibackends \
    -DCATALOGD_VERSION='"0"' $files
