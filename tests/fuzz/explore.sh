#!/bin/sh
# explore.sh - runs every libFuzzer target, one after another.
#
#   tests/fuzz/explore.sh SECONDS [SEED]   each for SECONDS (make fuzz)
#   tests/fuzz/explore.sh slice SEED       each for its count of inputs in
#                                          tests/fuzz/slice (make check)
#
# The targets are BUILD's (default build-fuzz) fuzz_*-fuzz, built by
# `make fuzzers' with clang.  Each starts from its corpus in the source
# tree.  A timed run keeps what it finds in BUILD/corpus/NAME, never in
# the source tree; a slice starts afresh in BUILD/slice/NAME each time,
# so that it explores from the same inputs on every machine (SEED fixes
# libFuzzer's choices; threads and hashing in the libraries below still
# vary it a little).  A crash, a leak, a sanitizer report, an input that
# runs longer than 20 s or a single allocation of 512 MiB fails it, and
# libFuzzer leaves the input as BUILD/crash-* (copy one worth keeping,
# once fixed, into tests/fuzz/corpus).
set -u
what=${1:?usage: explore.sh SECONDS|slice [SEED]}
seed=${2:-0}
BUILD=${BUILD:-build-fuzz}
# leaks inside third-party libraries, as tests/run.sh suppresses them
# (libconfig's on a syntax error: fuzz_conf meets one every few inputs)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
# the targets' stores on SQLite, whatever the shell says (fstore.h): the
# counts in tests/fuzz/slice are a SQLite store's; tests/run.sh replays
# the corpora on PostgreSQL too
unset SEGM_TEST_PGSQL
passed=0 failed=0
for t in "$BUILD"/fuzz/fuzz_*-fuzz; do
	[ -x "$t" ] || continue
	name=$(basename "$t" -fuzz)
	name=${name#fuzz_}
	if [ "$what" = slice ]; then
		runs=$(awk -v n="$name" '$1 == n { print $2 }' tests/fuzz/slice)
		if [ -z "$runs" ]; then
			echo "explore.sh: fuzz_$name has no line in tests/fuzz/slice"
			failed=$((failed + 1))
			continue
		fi
		limit="-runs=$runs"
		out=$BUILD/slice/$name
		rm -rf "$out"
		echo "== fuzz_$name: $runs inputs"
	else
		limit="-max_total_time=$what"
		out=$BUILD/corpus/$name
		echo "== fuzz_$name: $what s"
	fi
	mkdir -p "$out"
	if "$t" -seed="$seed" "$limit" -timeout=20 \
	    -malloc_limit_mb=512 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$BUILD/" "$out" \
	    "tests/fuzz/corpus/$name" 2>"$BUILD/fuzz_$name.log"; then
		passed=$((passed + 1))
		grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' \
		    "$BUILD/fuzz_$name.log"
	else
		failed=$((failed + 1))
		tail -40 "$BUILD/fuzz_$name.log"
		echo "-- fuzz_$name: FAILED"
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
