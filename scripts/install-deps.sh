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
    # Tests start private PostgreSQL and Redis instances on loopback; the
    # packages' system-wide services must not start.  policy-rc.d (exit
    # 101: "action forbidden") is Debian's switch for that during install.
    policy=/usr/sbin/policy-rc.d
    own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        own_policy=yes
    fi
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing || status=$?
    [ -n "$own_policy" ] && rm -f "$policy"
    [ "${status:-0}" -eq 0 ] || exit "$status"
fi
# A machine that had them installed (and started) before: stop the
# system-wide services, so that only the tests' private instances run.
for service in postgresql redis-server; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
        systemctl stop "$service" || true
        systemctl disable "$service" 2>/dev/null || true
    elif [ -x "/etc/init.d/$service" ]; then
        "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    fi
done
