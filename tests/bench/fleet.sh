#!/bin/sh
# fleet.sh - make bench, part fleet: segmilter on a shared PostgreSQL
# store against SQLite.  tests/bench/msgbench, the end of the message on
# a real store, no MTA: MESSAGES messages of 50 recipients spread over
# CUSTOMERS, for
#   sqlite   one relay on its SQLite file;
#   pgsql    one relay on a private PostgreSQL (unix socket);
#   pgsql2   two relays side by side on that server, each MESSAGES on
#            recipients of its own;
# each round on a fresh copy of the same store (segctl store copy), the
# configurations interleaved.  Prints messages a second (wall: a fleet
# is about throughput), the CPU a message and the store round trips a
# message, median (least to greatest) of BENCH_ROUNDS rounds.
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
ROUNDS=${BENCH_ROUNDS:-3}
MESSAGES=${BENCH_FLEET_MESSAGES:-200}
CUSTOMERS=${BENCH_FLEET_CUSTOMERS:-20000}
D=${BENCH_FLEET_DIR:-/tmp/segm-bench-fleet}
. tests/bench/lib.sh
. tests/lib/pgsql.sh

pgsql_available || { echo "bench fleet: no PostgreSQL server"; exit 0; }
rm -rf "$D"
mkdir -p "$D/campaigns"
chmod 700 "$D"
trap 'pgsql_cleanup' EXIT
pgsql_start "$D/pg" > "$D/pg.out" 2>&1 || { cat "$D/pg.out"; exit 1; }
bench_customers "$D" "$CUSTOMERS"
bench_message "$D/message.eml"
printf 'id = "bench";\nvariants = { default = { offer = "10%% off"; }; };\n' \
    > "$D/campaigns/bench.conf"
# STORE's configuration, as CONF
conf() {	# CONF STORE
	cat > "$1" <<CONF
store = "$2";
retention = { horizon_days = 0; };
milter = { socket = "unix:$D/segmilter.sock"; user = "";
  campaigns = "$D/campaigns"; spool_dir = "$D"; };
CONF
}
conf "$D/base.conf" "$D/base.db"
S="$BUILD/segctl -q -c $D/base.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild

# a round's store: the base copied, into a file or a schema of its own
fresh() {	# NAME -> prints the store
	case $1 in
	sqlite*)
		rm -f "$D/$1.db" "$D/$1.db-wal" "$D/$1.db-shm"
		db_fresh "$D/base.db" "$D/$1.db"
		echo "$D/$1.db" ;;
	*)
		pgsql_psql "$D/pg" "DROP SCHEMA IF EXISTS $1 CASCADE" \
		    "CREATE SCHEMA $1" > /dev/null
		s="$PGSQL_URL&options=-csearch_path%3D$1"
		$S store copy "$D/base.db" "$s" > /dev/null
		echo "$s" ;;
	esac
}
# one msgbench: its messages a second, CPU and round trips a message
run() {	# CONF FIRST OUT
	MSGBENCH_FIRST=$2 "$BUILD/msgbench" "$1" "$D/message.eml" \
	    "$MESSAGES" 50 "$CUSTOMERS" > "$3"
}
per_second() {	# OUT...: messages a second over the slowest's wall time
	awk -v m="$MESSAGES" '/us\/message/ { for (i = 1; i <= NF; i++)
	    if ($i == "us/message") { w = $(i - 1); if (w > max) max = w } n++ }
	    END { printf "%.1f", n * m / (max * m / 1e6) }' "$@"
}
field() {	# OUT WORD: the number before WORD
	awk -v w="$2" '{ for (i = 2; i <= NF; i++) if ($i == w) print $(i - 1) }' \
	    "$1" | head -1 | tr -d '(,'
}

sq="" pg="" pg2="" sqcpu="" pgcpu="" trips=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	conf "$D/sqlite.conf" "$(fresh sqlite)"
	run "$D/sqlite.conf" 0 "$D/sqlite.out"
	sq="$sq $(per_second "$D/sqlite.out")"
	sqcpu="$sqcpu $(awk '/cpu/ { for (i = 1; i <= NF; i++) if ($i == "(cpu") print $(i + 1) }' "$D/sqlite.out")"

	conf "$D/pgsql.conf" "$(fresh pgsql)"
	run "$D/pgsql.conf" 0 "$D/pgsql.out"
	pg="$pg $(per_second "$D/pgsql.out")"
	pgcpu="$pgcpu $(awk '/cpu/ { for (i = 1; i <= NF; i++) if ($i == "(cpu") print $(i + 1) }' "$D/pgsql.out")"
	trips="$trips $(awk '/round trips/ { print $3 }' "$D/pgsql.out")"

	conf "$D/pgsql2.conf" "$(fresh pgsql2)"
	run "$D/pgsql2.conf" 0 "$D/pgsql2a.out" &
	a=$!
	run "$D/pgsql2.conf" $((MESSAGES * 50)) "$D/pgsql2b.out" &
	b=$!
	wait $a
	wait $b
	pg2="$pg2 $(per_second "$D/pgsql2a.out" "$D/pgsql2b.out")"
	r=$((r + 1))
done

awk -v sq="$sq" -v pg="$pg" -v pg2="$pg2" -v sqcpu="$sqcpu" \
    -v pgcpu="$pgcpu" -v trips="$trips" -v m="$MESSAGES" \
    -v c="$CUSTOMERS" "$AWK_MEDIAN"'
BEGIN {
	printf "fleet: %d messages of 50 recipients over %d customers, %d" \
	    " rounds (msgbench; median, least to greatest)\n", m, c,
	    split(sq, x, " ")
	printf "  one relay, SQLite:        %7.1f messages/s (%s), cpu %s us/message\n",
	    median(sq), spread(sq, "%.1f"), median(sqcpu)
	printf "  one relay, PostgreSQL:    %7.1f messages/s (%s), cpu %s us/message, %s round trips/message\n",
	    median(pg), spread(pg, "%.1f"), median(pgcpu), median(trips)
	printf "  two relays, PostgreSQL:   %7.1f messages/s (%s)\n",
	    median(pg2), spread(pg2, "%.1f")
	printf "  PostgreSQL/SQLite %.2fx (goal 0.8x); two relays/one %.2fx" \
	    " (goal 1.6x)\n", median(pg) / median(sq), median(pg2) / median(pg)
}'
