#!/bin/sh
# run.sh - make bench: prints figures, never passes or fails on them.
#
#   BENCH_PARTS="store milter arms split bigmsg sms dsn feed report history
#                retention archive audience fleet"
#   BENCH_SIZES="100000 1000000"   customer counts for the store benchmark
#   BENCH_DIR=/tmp/segm-bench      scratch space (several GB at 1M)
# tests/bench/bigmsg.sh's BENCH_BIGMSG_MB and BENCH_BIGMSG_ROUNDS,
# and tests/bench/milter.sh's BENCH_MESSAGES, BENCH_MESSAGES_1,
# BENCH_SESSIONS, BENCH_ROUNDS
# (also used by tests/bench/sms.sh, with BENCH_GW_DELAY_MS, BENCH_JOBS).
set -eu
BUILD=${BUILD:-build}
SIZES=${BENCH_SIZES:-100000 1000000}
DIR=${BENCH_DIR:-/tmp/segm-bench}
SEGCTL="$(pwd)/$BUILD/segctl"
NOW=2026-11-24T12:00:00Z
TIME=/usr/bin/time

[ -x "$TIME" ] || { echo "bench: /usr/bin/time missing (make deps)"; exit 1; }

# Runs a command; prints its wall time, CPU time (user + system: steadier
# than wall time on a shared machine whose page cache comes and goes) and
# peak RSS.
measure() {
	label=$1
	shift
	"$TIME" -f "%e %M %U %S" -o "$DIR/time.out" "$@" > "$DIR/cmd.out" 2>&1 || {
		echo "bench: $label failed:"; cat "$DIR/cmd.out"; exit 1; }
	awk -v l="$label" '{ printf "%-28s %8s s wall %8.2f s cpu %8.1f MB\n",
	    l, $1, $3 + $4, $2 / 1024 }' "$DIR/time.out"
}

PARTS=${BENCH_PARTS:-store milter arms split bigmsg sms dsn feed report history retention archive audience fleet}
case " $PARTS " in *" store "*) ;; *) SIZES="" ;; esac

[ -z "$SIZES" ] || echo "== store: import and segments rebuild ($(nproc) cores)"
for n in $SIZES; do
	rm -rf "$DIR"
	mkdir -p "$DIR"
	S="$SEGCTL -q -s $DIR/store.db --now $NOW"
	echo "-- $n customers"
	measure "demo-data" $S demo-data --customers "$n" --seed 1 "$DIR/data"
	printf '   exports: %s\n' "$(du -sh "$DIR/data" | cut -f1)"
	$S init
	t0=$(date +%s.%N)
	for k in products customers orders events consent engagement; do
		measure "import $k" $S import $k "$DIR/data/$k.csv"
	done
	t1=$(date +%s.%N)
	printf '%-28s %8s s\n' "import total" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
	printf '   rows: %s customers, %s orders, %s order lines, %s events\n' \
	    "$(sqlite3 "$DIR/store.db" 'SELECT count(*) FROM customers')" \
	    "$(sqlite3 "$DIR/store.db" 'SELECT count(*) FROM orders')" \
	    "$(sqlite3 "$DIR/store.db" 'SELECT count(*) FROM order_lines')" \
	    "$(sqlite3 "$DIR/store.db" 'SELECT count(*) FROM events')"
	measure "segments rebuild" $S segments rebuild
	measure "segments rebuild (again)" $S segments rebuild
	printf '   store: %s\n' "$(du -sh "$DIR/store.db" | cut -f1)"
done
rm -rf "$DIR"

case " $PARTS " in
*" milter "*) BUILD=$BUILD tests/bench/milter.sh ;;
esac
case " $PARTS " in
*" arms "*) BUILD=$BUILD tests/bench/arms.sh ;;
esac
case " $PARTS " in
*" split "*) BUILD=$BUILD tests/bench/split.sh ;;
esac
case " $PARTS " in
*" bigmsg "*) BUILD=$BUILD tests/bench/bigmsg.sh ;;
esac
case " $PARTS " in
*" sms "*) BUILD=$BUILD tests/bench/sms.sh ;;
esac
case " $PARTS " in
*" dsn "*) BUILD=$BUILD tests/bench/dsn.sh ;;
esac
case " $PARTS " in
*" feed "*) BUILD=$BUILD tests/bench/feed.sh ;;
esac
case " $PARTS " in
*" report "*) BUILD=$BUILD tests/bench/report.sh ;;
esac
case " $PARTS " in
*" history "*) BUILD=$BUILD tests/bench/history.sh ;;
esac
case " $PARTS " in
*" retention "*) BUILD=$BUILD tests/bench/retention.sh ;;
esac
case " $PARTS " in
*" archive "*) BUILD=$BUILD tests/bench/archive.sh ;;
esac
case " $PARTS " in
*" audience "*) BUILD=$BUILD tests/bench/audience.sh ;;
esac
case " $PARTS " in
*" fleet "*) BUILD=$BUILD tests/bench/fleet.sh ;;
esac
