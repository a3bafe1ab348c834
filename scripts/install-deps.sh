#!/bin/sh
# Installs, from Debian 12's packages, everything catalogd needs to build,
# run and test.  Run as root (or through sudo).  Safe to run again.
set -eu
# Build: the compiler and the libraries.  Tests: Check, Python for the
# end-to-end tests, clang for the libFuzzer targets, and the servers that
# normal-mode tests start privately on loopback (never as system services).
packages="build-essential cmake pkg-config
  libmicrohttpd-dev libjansson-dev libsqlite3-dev uuid-dev libssl-dev
  libpq-dev libhiredis-dev
  check python3 curl sqlite3 clang clang-format cppcheck
  postgresql redis-server"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing
fi
