#!/bin/sh
# The README's first command: installs what is needed, builds, loads the
# bundled sample catalog into var/catalog.db and serves it in express mode
# on 127.0.0.1:8080 (Ctrl-C, or SIGTERM, stops it).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/build.sh build
mkdir -p var
bin=build/catalogd
"$bin" import data/sample-catalog.jsonl --set mode=express --set store.path=var/catalog.db
echo "serving the sample catalog on http://127.0.0.1:8080/api/v1/courses/ (Ctrl-C stops)"
exec "$bin" serve --set mode=express --set store.path=var/catalog.db \
    --set server.listen=127.0.0.1:8080
