#!/bin/sh
# redis_fixture.sh COMMAND [ARG...]
#
# Starts a private redis-server on 127.0.0.1 at a free high port, with no
# persistence, in a temporary directory; prints its URL; runs COMMAND with
#   CATALOGD_TEST_REDIS_URL  redis://127.0.0.1:PORT/0
#   CATALOGD_TEST_REDIS_CTL  a script taking "stop" or "start", so that a
#                            test can take the server down and bring it back
#                            (same port, empty, as after a restart);
# then stops the server and removes the directory, whatever COMMAND did.
# Exits with COMMAND's status, or 1 when no server could be started.
set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi
server=$(command -v redis-server) || { echo "redis_fixture: redis-server not found" >&2; exit 1; }
client=$(command -v redis-cli) || { echo "redis_fixture: redis-cli not found" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/catalogd-redis-XXXXXX") || exit 1

cleanup() {
    [ -x "$dir/ctl" ] && "$dir/ctl" stop >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The control script knows the port once one has been found.
write_ctl() {
    cat >"$dir/ctl" <<EOF
#!/bin/sh
set -u
case "\${1:-}" in
start)
    "$server" --bind 127.0.0.1 --port $1 --save '' --appendonly no --dir "$dir" \\
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" || exit 1
    i=0
    while [ \$i -lt 100 ]; do
        [ "\$("$client" -h 127.0.0.1 -p $1 ping 2>/dev/null)" = PONG ] && exit 0
        sleep 0.05
        i=\$((i + 1))
    done
    exit 1
    ;;
stop)
    # Stopped means the port no longer answers: a test that takes Redis
    # down must not go on while it still serves (on a loaded machine a
    # SIGTERM'd server took more than the 5 s this once waited).
    if [ -f "$dir/redis.pid" ]; then
        pid=\$(cat "$dir/redis.pid")
        kill "\$pid" 2>/dev/null
        i=0
        while kill -0 "\$pid" 2>/dev/null && [ \$i -lt 300 ]; do
            sleep 0.05
            i=\$((i + 1))
        done
        if kill -0 "\$pid" 2>/dev/null; then
            kill -9 "\$pid" 2>/dev/null
            sleep 0.2
        fi
        rm -f "$dir/redis.pid"
    fi
    i=0
    while [ "\$("$client" -h 127.0.0.1 -p $1 ping 2>/dev/null)" = PONG ]; do
        [ \$i -ge 100 ] && { echo "redis_fixture: port $1 still answers" >&2; exit 1; }
        "$client" -h 127.0.0.1 -p $1 shutdown nosave >/dev/null 2>&1
        sleep 0.1
        i=\$((i + 1))
    done
    exit 0
    ;;
*)
    echo "usage: \$0 start|stop" >&2
    exit 2
    ;;
esac
EOF
    chmod +x "$dir/ctl"
}

port=
tries=0
while [ $tries -lt 20 ]; do
    candidate=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 40000) }')
    candidate=$((candidate + tries * 97))
    write_ctl "$candidate"
    if "$dir/ctl" start >/dev/null 2>&1; then
        port=$candidate
        break
    fi
    "$dir/ctl" stop >/dev/null 2>&1
    tries=$((tries + 1))
done
if [ -z "$port" ]; then
    echo "redis_fixture: could not start redis-server (see $dir/redis.log)" >&2
    cat "$dir/redis.log" >&2 2>/dev/null
    exit 1
fi

CATALOGD_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
CATALOGD_TEST_REDIS_CTL="$dir/ctl"
export CATALOGD_TEST_REDIS_URL CATALOGD_TEST_REDIS_CTL
echo "redis_fixture: $CATALOGD_TEST_REDIS_URL"
"$@"
