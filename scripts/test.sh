#!/bin/sh
# The README's second command (and CI's): installs what is needed, checks
# formatting and the static analysers, builds, runs every test, then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs every
# test once more, and runs every libFuzzer target for a minute.  Exit
# status 0 only when all of it passes.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/lint.sh

jobs=$(nproc)
echo "== build and test (release)"
sh scripts/build.sh build
(cd build && ctest --output-on-failure -j"$jobs")

echo "== build and test (AddressSanitizer + UndefinedBehaviorSanitizer)"
sh scripts/build.sh build-asan -DCATALOGD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

echo "== fuzz (libFuzzer, 60 s per target; tests/fuzz/run.sh 600 runs them longer)"
sh tests/fuzz/run.sh 60
