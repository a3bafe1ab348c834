#!/bin/sh
# Builds catalogd into DIR (default build/) with CMake; extra arguments go
# to cmake's configure step (e.g. -DCATALOGD_SANITIZE=ON).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
cmake -S . -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
