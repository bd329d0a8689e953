#!/bin/sh
# run.sh - runs every test program and prints one closing tally.
#
#   tests/run.sh               unit tests and fuzz corpora (those on a
#                              store: on SQLite, then on a private
#                              PostgreSQL), then integration tests
#   tests/run.sh --unit-only   unit tests and fuzz corpora only
#
# BUILD names the build directory (default build).  Each unit test is a
# cmocka program; each integration test is tests/integration/t-*.sh and
# exits 0 (pass), 77 (skipped: a prerequisite is missing) or other (fail).
set -u
BUILD=${BUILD:-build}
export SEGM_SRCDIR=${SEGM_SRCDIR:-$(pwd)}
export BUILD
# leaks inside third-party libraries, listed with the reason for each
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SEGM_SRCDIR/tests/lsan.supp:print_suppressions=0}
passed=0 failed=0 skipped=0
failures=""

run() {
	name=$1
	shift
	echo "== $name"
	"$@"
	rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)); echo "-- $name: skipped" ;;
	*) failed=$((failed + 1)); failures="$failures $name"
	   echo "-- $name: FAILED (exit $rc)" ;;
	esac
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done

# each fuzz target over its corpus: the inputs that once found a bug,
# and seeds; a crash or a sanitizer report fails it
for t in "$BUILD"/fuzz/fuzz_*; do
	case $t in *-fuzz) continue ;; esac
	[ -x "$t" ] || continue
	name=$(basename "$t")
	run "$name" "$t" "tests/fuzz/corpus/${name#fuzz_}"
done

# the unit tests that take their store from tstore (tests/unit/tstore.h),
# and the fuzz targets from fstore (tests/fuzz/fstore.h), again on a
# private PostgreSQL: the same assertions on the other engine
. tests/lib/pgsql.sh
if pgsql_available; then
	pgdir=$(mktemp -d /tmp/segm-pgsql.XXXXXX)
	trap 'pgsql_cleanup; rm -rf "$pgdir"' EXIT
	if pgsql_start "$pgdir/pg"; then
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] || continue
			grep -q tstore_name "tests/unit/$(basename "$t").c" ||
			    continue
			run "pgsql:$(basename "$t")" env \
			    SEGM_TEST_PGSQL="$PGSQL_URL" "$t"
		done
		for t in "$BUILD"/fuzz/fuzz_*; do
			case $t in *-fuzz) continue ;; esac
			[ -x "$t" ] || continue
			name=$(basename "$t")
			grep -q fstore_name "tests/fuzz/$name.c" || continue
			run "pgsql:$name" env SEGM_TEST_PGSQL="$PGSQL_URL" \
			    "$t" "tests/fuzz/corpus/${name#fuzz_}"
		done
		pgsql_stop "$pgdir/pg"
	else
		run "pgsql" false
	fi
else
	echo "== pgsql: no PostgreSQL to start (initdb, pg_ctl); skipped"
	skipped=$((skipped + 1))
fi

if [ "${1:-}" != "--unit-only" ]; then
	for t in tests/integration/t-*.sh; do
		[ -f "$t" ] || continue
		run "$(basename "$t" .sh)" sh "$t"
	done
	# again on PostgreSQL, those written for both engines
	for t in tests/integration/t-*.sh; do
		grep -q '^# engines: sqlite pgsql$' "$t" || continue
		run "pgsql:$(basename "$t" .sh)" env T_STORE_ENGINE=pgsql sh "$t"
	done
fi

echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
