#!/bin/sh
# Fails when core code (src/) includes a backend driver's own files instead
# of the interface headers backends/store.h, search.h, cache.h, registry.h.
# Drivers live in backends/<kind>/; nothing in src/ may name that folder
# or a driver's header.
set -u
status=0
hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*[<"][^>"]*(store|search|cache)/' src || true)
if [ -n "$hits" ]; then
    echo "src/ includes a driver's file (use backends/<kind>.h):"
    echo "$hits"
    status=1
fi
hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*[<"][^>"]*(sqlite|postgres|pgfts|fts5|xapian|redis|memory|sql_store|sql)[^>"/]*\.h[>"]' src \
       | grep -vE '[<"]sqlite3\.h[>"]' || true)
if [ -n "$hits" ]; then
    echo "src/ includes a driver's header (use backends/<kind>.h):"
    echo "$hits"
    status=1
fi
# Core code may not call SQLite itself either: the store is the only door.
hits=$(grep -rln 'sqlite3_' src || true)
if [ -n "$hits" ]; then
    echo "src/ calls SQLite directly (go through backends/store.h):"
    echo "$hits"
    status=1
fi
[ $status -eq 0 ] && echo "architecture: src/ uses backend interfaces only"
exit $status
