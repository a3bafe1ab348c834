#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#
#   sh tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 60 per target; TARGET is a name such as search_query
# (fuzz_search_query.c); default: every tests/fuzz/fuzz_*.c.  `run.sh 600`
# is the longer run by hand.  Exits non-zero when a target fails to build or
# finds a crash, a leak or a timeout, printing the reproducer's path.
#
# Environment: FUZZ_OUT (build and work directory, default a fresh temp
# dir, kept when something failed), FUZZ_JOBS (targets run at once, default
# 2), CC (default clang).
#
# The committed corpus is never written: each target works on a copy of
# tests/fuzz/corpus/<target>/, and new inputs stay in the work directory.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir="$root/tests/fuzz"
seconds=${1:-60}
[ $# -gt 0 ] && shift
case $seconds in
'' | *[!0-9]*)
    echo "run.sh: SECONDS must be a whole number, got '$seconds'" >&2
    exit 2
    ;;
esac

if [ $# -gt 0 ]; then
    targets="$*"
else
    targets=$(cd "$fuzzdir" && for f in fuzz_*.c; do echo "$f"; done | sed 's/^fuzz_//; s/\.c$//')
fi
for t in $targets; do
    if [ ! -f "$fuzzdir/fuzz_$t.c" ]; then
        echo "run.sh: no target '$t' (tests/fuzz/fuzz_$t.c)" >&2
        exit 2
    fi
done

cc=${CC:-clang}
jobs=${FUZZ_JOBS:-2}
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/catalogd-fuzz-XXXXXX")}
mkdir -p "$out/obj" "$out/bin"

# The quotes inside cflags are meant literally: they make the string
# macros C string literals once the shell splits cflags into words (so the
# repository's path may not hold spaces).
# shellcheck disable=SC2089,SC2090
# The same defines as CMakeLists.txt, with only the drivers that need no
# library beyond the core's (the fuzzers exercise parsers, not servers).
cflags="-std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror -D_GNU_SOURCE
  -fsanitize=address,undefined -fno-sanitize-recover=all
  -DCATALOGD_VERSION=\"fuzz\" -DCATALOGD_PROFILE_DIR_REL=\"../share/catalogd/profiles\"
  -DCATALOGD_SOURCE_PROFILE_DIR=\"$root/profiles\"
  -DCATALOGD_FUZZ_SOURCE_DIR=\"$root\"
  -DHAVE_STORE_SQLITE=1 -DHAVE_SEARCH_FTS5=1 -DHAVE_CACHE_MEMORY=1
  -I$root/src -I$root/backends"
libs="$(pkg-config --libs jansson sqlite3 uuid) -lm -lpthread"
# shellcheck disable=SC2086
cflags="$cflags $(pkg-config --cflags jansson sqlite3 uuid)"

# The parsers and what they reach: the config (for the config and import
# targets), the sqlite store and the registry's always-built drivers.  The
# HTTP server, API and app modules are not needed and not compiled, so a
# half-edited server file cannot stop the fuzzers from building.
core="src/error.c src/clock.c src/ini.c src/config.c src/config_settings.c
  src/json_fields.c src/json_compact.c src/strbuf.c src/entity.c src/derived.c src/search_query.c
  src/query_params.c src/catalog_io.c src/work_split.c backends/registry.c backends/open.c
  backends/store/sql_store.c backends/store/sqlite.c backends/search/fts5.c
  backends/search/fts5_meta.c backends/search/fts5_rank.c backends/search/fts5_write.c
  backends/search/fts5_hit.c backends/search/doc_fields.c backends/cache/lru.c backends/cache/memory.c"

echo "== building into $out"
objs=""
for src in $core; do
    obj="$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
    # shellcheck disable=SC2086,SC2090
    $cc $cflags -fsanitize=fuzzer-no-link -c "$root/$src" -o "$obj"
    objs="$objs $obj"
done
rm -f "$out/core.a"
# shellcheck disable=SC2086
ar rcs "$out/core.a" $objs
for t in $targets; do
    # shellcheck disable=SC2086,SC2090
    $cc $cflags -fsanitize=fuzzer "$fuzzdir/fuzz_$t.c" "$out/core.a" $libs -o "$out/bin/fuzz_$t"
done

# One target: a copy of its seeds as the working corpus, artifacts (crash-*,
# leak-*, timeout-*, oom-*) into its own directory.
run_one()
{
    t=$1 # runs in a subshell (&): the caller's t is untouched
    work="$out/work/$t"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
    if [ -d "$fuzzdir/corpus/$t" ]; then
        cp -R "$fuzzdir/corpus/$t/." "$work/corpus/"
    fi
    dict=""
    if [ -f "$fuzzdir/$t.dict" ]; then
        dict="-dict=$fuzzdir/$t.dict"
    fi
    # shellcheck disable=SC2086
    (cd "$work" && TMPDIR="$work/tmp" "$out/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=25 -print_final_stats=1 $dict -artifact_prefix="$work/artifacts/" \
        "$work/corpus" >"$work/log" 2>&1)
}

echo "== running $(echo "$targets" | wc -w) target(s) for ${seconds}s each, $jobs at a time"
running=""
failed=""
nrunning=0
finish_one()
{
    # Waits for the oldest running target and records its result.
    # (sh has no local variables: these names are not used elsewhere.)
    f_job=${running%% *}
    running=${running#* }
    f_name=${f_job#*:}
    f_pid=${f_job%%:*}
    f_log="$out/work/$f_name/log"
    if wait "$f_pid"; then
        echo "   $f_name: ok ($(awk '/^stat::number_of_executed_units/ {print $2}' "$f_log") runs)"
    else
        failed="$failed $f_name"
        echo "   $f_name: FAILED (log: $f_log)"
        tail -n 40 "$f_log" | sed 's/^/     | /'
        for f_art in "$out/work/$f_name/artifacts"/*; do
            [ -e "$f_art" ] && echo "   reproducer: $f_art  (rerun: $out/bin/fuzz_$f_name $f_art)"
        done
    fi
    nrunning=$((nrunning - 1))
}
for t in $targets; do
    while [ "$nrunning" -ge "$jobs" ]; do
        finish_one
    done
    run_one "$t" &
    running="$running$!:$t "
    nrunning=$((nrunning + 1))
done
while [ "$nrunning" -gt 0 ]; do
    finish_one
done

if [ -n "$failed" ]; then
    echo "== fuzzing FAILED:$failed (work directory kept: $out)" >&2
    exit 1
fi
echo "== every target ran ${seconds}s without a crash"
if [ -z "${FUZZ_OUT:-}" ]; then
    rm -rf "$out"
fi
