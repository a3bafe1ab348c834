#!/bin/sh
# pg_fixture.sh - runs a command against a private PostgreSQL.
#
#   sh tests/pg_fixture.sh COMMAND [ARGS...]
#
# Starts PostgreSQL (the newest installed under /usr/lib/postgresql) in a
# new temp dir, listening on 127.0.0.1 only, on a free high port, with a
# Unix socket in that dir; creates the database catalogd_test (C collation,
# UTF8); prints its URL; runs COMMAND with CATALOGD_TEST_STORE_URL set to
# that URL plus "?schema=@path" (each store.path gets its own schema, so
# each test starts empty), PG_FIXTURE_URL to the plain URL and
# PG_FIXTURE_CTL to a script that stops or starts the server ("sh
# $PG_FIXTURE_CTL stop|start", for fault tests); then stops the server and removes the dir,
# whatever happens.  With no COMMAND it only prints the URL (and stops the
# server again: a smoke test of the fixture itself).  Exits with COMMAND's status.  initdb refuses to run as
# root, so as root the server runs as the `postgres` user (via runuser).
# A server that cannot be started is a failure (exit 1), never a skip.
set -eu

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg_fixture: no PostgreSQL server installed (apt-get install postgresql)" >&2
    exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/catalogd-pg.XXXXXX")
as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as_owner() { runuser -u postgres -- "$@"; }
fi

stop() {
    status=$?
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

# Tests need no crash safety; PG_FIXTURE_DURABLE=1 keeps the server's
# defaults (for measurements that should match a real site).
durability="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
if [ "${PG_FIXTURE_DURABLE:-0}" = 1 ]; then
    durability=
fi

# A port another process may grab between the probe and the start: retry.
started=
for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $durability" \
        start >/dev/null 2>&1; then
        started=1
        break
    fi
done
if [ -z "$started" ]; then
    echo "pg_fixture: PostgreSQL did not start; its log:" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
fi

"$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE catalogd_test TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" >&2

# $dir/ctl.sh stop|start: lets a fault test take the server down and bring
# it back on the same port and data.
cat >"$dir/ctl.sh" <<CTL
#!/bin/sh
if [ "\$1" = stop ]; then
    $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres --" ) "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
else
    $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres --" ) "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $durability" start >/dev/null
fi
CTL
chmod 755 "$dir/ctl.sh"

url="postgresql://postgres@127.0.0.1:$port/catalogd_test"
echo "pg_fixture: $url (data in $dir)" >&2
PG_FIXTURE_URL=$url
PG_FIXTURE_CTL=$dir/ctl.sh
CATALOGD_TEST_STORE_URL="$url?schema=@path"
export PG_FIXTURE_URL PG_FIXTURE_CTL CATALOGD_TEST_STORE_URL
if [ "$#" -eq 0 ]; then
    echo "$url"
    exit 0
fi
set +e
"$@"
exit $?
