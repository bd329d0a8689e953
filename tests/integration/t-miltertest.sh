#!/bin/sh
# t-miltertest.sh - the milter protocol tests: every tests/miltertest/*.lua
# run by miltertest(8) against segmilter on the fixture store.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
command -v miltertest >/dev/null 2>&1 || { echo "t-miltertest: no miltertest"; exit 77; }
SRC=$(pwd)
T=$(mktemp -d /tmp/segm-t-miltertest.XXXXXX)
trap 'store_stop; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. "$SRC/tests/lib/fixture.sh"
store_start "$T"
fixture_store "$T" || fail "fixture store"

export SEGMILTER="$SRC/$BUILD/segmilter" CONF="$T/segmilter.conf" SOCK="unix:$T/segmilter.sock"
for t in "$SRC"/tests/miltertest/t-*.lua; do
	miltertest -s "$t" > "$T/out" 2>&1 || fail "$(basename "$t"): $(cat "$T/out")"
done
echo "t-miltertest: ok"
