#!/bin/sh
# explore.sh - runs every libFuzzer target for SECONDS, one after another.
#
#   tests/fuzz/explore.sh SECONDS [SEED]
#
# The targets are BUILD's (default build-fuzz) fuzz_*-fuzz, built by
# `make fuzzers' with clang.  Each starts from its corpus in the source
# tree and keeps what it finds in BUILD/corpus/NAME, never in the source
# tree; a crash, a leak, a sanitizer report, an input that runs longer
# than 20 s or a single allocation of 512 MiB fails it, and libFuzzer
# leaves the input as BUILD/crash-* (copy one worth keeping, once fixed,
# into tests/fuzz/corpus).  SEED fixes libFuzzer's choices, as make check
# does so that one CI run explores as the last did; without it each run
# explores anew.
set -u
seconds=${1:?usage: explore.sh SECONDS [SEED]}
seed=${2:-0}
BUILD=${BUILD:-build-fuzz}
# leaks inside third-party libraries, as tests/run.sh suppresses them
# (libconfig's on a syntax error: fuzz_conf meets one every few inputs)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
passed=0 failed=0
for t in "$BUILD"/fuzz/fuzz_*-fuzz; do
	[ -x "$t" ] || continue
	name=$(basename "$t" -fuzz)
	name=${name#fuzz_}
	mkdir -p "$BUILD/corpus/$name"
	echo "== fuzz_$name: $seconds s"
	if "$t" -seed="$seed" -max_total_time="$seconds" -timeout=20 \
	    -malloc_limit_mb=512 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$BUILD/" "$BUILD/corpus/$name" \
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
