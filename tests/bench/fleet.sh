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
#
# Then the relay as a whole, as root with smtp-source: a private Postfix
# with segmilter, RELAY_MESSAGES messages of 50 recipients over 10
# sessions, timed until the queue is empty, on each engine; and two
# Postfix, each with its segmilter, on one PostgreSQL, sent to at once
# on recipients of their own (example.org's for the second).  The CPU of
# everything (Postfix, segmilter, PostgreSQL, smtp-source: one cgroup)
# a message tells what two cores can carry at most.
#
# The store has a history: a campaign to every customer a month
# before, so that its tables are not empty when the copy's ANALYZE
# reads them (PostgreSQL's plans are made from those statistics; an
# empty ledger has it scan a campaign's rows for every recipient).
#
#   BENCH_ROUNDS=3 BENCH_FLEET_MESSAGES=200 BENCH_FLEET_CUSTOMERS=20000
#   BENCH_FLEET_RELAY_MESSAGES=200 BENCH_FLEET_PORT=14025
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
ROUNDS=${BENCH_ROUNDS:-3}
MESSAGES=${BENCH_FLEET_MESSAGES:-200}
CUSTOMERS=${BENCH_FLEET_CUSTOMERS:-20000}
RELAY_MESSAGES=${BENCH_FLEET_RELAY_MESSAGES:-200}
P=${BENCH_FLEET_PORT:-14025}
D=${BENCH_FLEET_DIR:-/tmp/segm-bench-fleet}
. tests/bench/lib.sh
. tests/lib/pgsql.sh

pgsql_available || { echo "bench fleet: no PostgreSQL server"; exit 0; }
RELAY=""
[ "$(id -u)" = 0 ] && command -v smtp-source > /dev/null && RELAY=1
rm -rf "$D"
mkdir -p "$D/campaigns"
chmod 711 "$D"
MPIDS=""
cleanup() {
	for p in $MPIDS; do kill "$p" 2>/dev/null || true; done
	if [ -n "$RELAY" ]; then
		"$SRC/tests/lib/postfix.sh" stop "$D/pf" || true
		"$SRC/tests/lib/postfix.sh" stop "$D/pf2" || true
	fi
	pgsql_cleanup
	cg_stop
}
trap cleanup EXIT
# before anything starts: PostgreSQL's CPU is the pipeline's too
cg_start
pgsql_start "$D/pg" > "$D/pg.out" 2>&1 || { cat "$D/pg.out"; exit 1; }
bench_customers "$D" "$CUSTOMERS"
# the second relay's recipients, 1bench@example.org and on
awk -F, -v n="$((RELAY_MESSAGES * 50))" 'NR > 1 && NR <= n + 1 {
    sub(/@example.com/, "@example.org"); print }' "$D/customers.csv" \
    > "$D/org.csv"
cat "$D/org.csv" >> "$D/customers.csv"
awk -F, -v n="$((RELAY_MESSAGES * 50))" 'NR > 1 && NR <= n + 1 {
    sub(/@example.com/, "@example.org"); print }' "$D/consent.csv" \
    > "$D/org.csv"
cat "$D/org.csv" >> "$D/consent.csv"
bench_message "$D/message.eml"
bench_message "$D/history.eml" history
for c in bench history; do
	printf 'id = "%s";\nvariants = { default = { offer = "10%% off"; }; };\n' \
	    "$c" > "$D/campaigns/$c.conf"
done
# STORE's configuration, as CONF: a relay's, NAME's (socket NAME.sock,
# spool NAME/; segmilter by default)
conf() {	# CONF STORE [NAME]
	mkdir -p "$D/${3:-segmilter}"
	cat > "$1" <<CONF
store = "$2";
retention = { horizon_days = 0; };
milter = { socket = "unix:$D/${3:-segmilter}.sock"; socket_mode = "0666";
  user = ""; campaigns = "$D/campaigns"; spool_dir = "$D/${3:-segmilter}"; };
CONF
}
conf "$D/base.conf" "$D/base.db"
S="$BUILD/segctl -q -c $D/base.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild
MSGBENCH_NOW=$(($(date +%s) - 30 * 86400)) "$BUILD/msgbench" \
    "$D/base.conf" "$D/history.eml" "$((CUSTOMERS / 50))" 50 \
    "$CUSTOMERS" > "$D/history.out" 2>&1 || { cat "$D/history.out"; exit 1; }

# a round's store: the base copied, into a file or a schema of its own
fresh() {	# NAME -> prints the store
	case $1 in
	*sqlite*)
		rm -f "$D/$1.db" "$D/$1.db-wal" "$D/$1.db-shm"
		db_fresh "$D/base.db" "$D/$1.db"
		echo "$D/$1.db" ;;
	*)
		pgsql_psql "$D/pg" "SET client_min_messages = warning" \
		    "DROP SCHEMA IF EXISTS $1 CASCADE" \
		    "CREATE SCHEMA $1" > /dev/null
		s="$PGSQL_URL&options=-csearch_path%3D$1"
		$S store copy "$D/base.db" "$s" > /dev/null
		echo "$s" ;;
	esac
}
# one msgbench: its messages a second, CPU and round trips a message
run() {	# CONF FIRST OUT
	MSGBENCH_FIRST=$2 "$BUILD/msgbench" "$1" "$D/message.eml" \
	    "$MESSAGES" 50 "$CUSTOMERS" > "$3" 2> "$3.log"
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

# the CPU seconds a message of everything in the cgroup between C0 and
# now (the relays and the server), over N messages
cpu_per() {	# C0 N
	awk "BEGIN { printf \"%.2f\", ($(cg_cpu) - $1) * 1000 / $2 }"
}

sq="" pg="" pg2="" sqcpu="" pgcpu="" trips="" pgall="" pg2all=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	conf "$D/sqlite.conf" "$(fresh sqlite)"
	run "$D/sqlite.conf" 0 "$D/sqlite.out"
	sq="$sq $(per_second "$D/sqlite.out")"
	sqcpu="$sqcpu $(awk '/cpu/ { for (i = 1; i <= NF; i++) if ($i == "(cpu") print $(i + 1) }' "$D/sqlite.out")"

	conf "$D/pgsql.conf" "$(fresh pgsql)"
	c0=$(cg_cpu)
	run "$D/pgsql.conf" 0 "$D/pgsql.out"
	pgall="$pgall $(cpu_per "$c0" "$MESSAGES")"
	pg="$pg $(per_second "$D/pgsql.out")"
	pgcpu="$pgcpu $(awk '/cpu/ { for (i = 1; i <= NF; i++) if ($i == "(cpu") print $(i + 1) }' "$D/pgsql.out")"
	trips="$trips $(awk '/round trips/ { print $3 }' "$D/pgsql.out")"

	conf "$D/pgsql2.conf" "$(fresh pgsql2)"
	c0=$(cg_cpu)
	run "$D/pgsql2.conf" 0 "$D/pgsql2a.out" &
	a=$!
	run "$D/pgsql2.conf" $((MESSAGES * 50)) "$D/pgsql2b.out" &
	b=$!
	wait $a
	wait $b
	pg2all="$pg2all $(cpu_per "$c0" $((MESSAGES * 2)))"
	pg2="$pg2 $(per_second "$D/pgsql2a.out" "$D/pgsql2b.out")"
	r=$((r + 1))
done

# --- the relay as a whole: Postfix, segmilter and its store -------------
# segmilter on CONF, in the background, until it listens
milter_start() {	# CONF LOG
	"$BUILD/segmilter" -f -c "$1" > "$2" 2>&1 &
	MPIDS="$MPIDS $!"
	i=0
	until grep -q listening "$2"; do
		i=$((i + 1))
		[ $i -lt 600 ] || { cat "$2" >&2; exit 1; }
		sleep 0.1
	done
}
milters_stop() {
	for p in $MPIDS; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	MPIDS=""
}
# RELAY_MESSAGES messages to the relay at PORT, to recipients @DOMAIN
send() {	# PORT DOMAIN
	smtp-source -N -s 10 -m "$RELAY_MESSAGES" -r 50 -F "$D/message.eml" \
	    -f news@shop.example -t "bench@$2" "127.0.0.1:$1" \
	    > "$D/source-$1.log" 2>&1 || { cat "$D/source-$1.log" >&2; return 1; }
}
# relay A on CONF, and relay B on CONF_B beside it when given, sent to at
# once; sets SECS, the seconds until both queues are empty, and CPU, the
# CPU seconds of everything meanwhile (in this shell: the relays' pids
# are the trap's to kill)
relay_run() {	# CONF [CONF_B]
	sync
	milter_start "$1" "$D/relay-a.log"
	[ -z "${2:-}" ] || milter_start "$2" "$D/relay-b.log"
	c0=$(cg_cpu)
	t0=$(date +%s.%N)
	send "$P" example.com &
	a=$!
	if [ -n "${2:-}" ]; then
		send $((P + 3)) example.org || exit 1
	fi
	wait $a || exit 1
	"$SRC/tests/lib/postfix.sh" wait "$D/pf" 600
	[ -z "${2:-}" ] || "$SRC/tests/lib/postfix.sh" wait "$D/pf2" 600
	t1=$(date +%s.%N)
	c1=$(cg_cpu)
	milters_stop
	SECS=$(awk "BEGIN { print $t1 - $t0 }")
	CPU=$(awk "BEGIN { print $c1 - $c0 }")
}

rsq="" rpg="" rpg2="" csq="" cpg="" cpg2=""
if [ -n "$RELAY" ]; then
	SINK_DUMP=0 "$SRC/tests/lib/postfix.sh" start "$D/pf" "$P" \
	    $((P + 1)) "unix:$D/relay-a.sock"
	SINK_DUMP=0 "$SRC/tests/lib/postfix.sh" start "$D/pf2" $((P + 3)) \
	    $((P + 4)) "unix:$D/relay-b.sock"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		for cfg in sqlite pgsql pgsql2; do
			st=$(fresh "r$cfg")
			conf "$D/a.conf" "$st" relay-a
			conf "$D/b.conf" "$st" relay-b
			if [ $cfg = pgsql2 ]; then
				relay_run "$D/a.conf" "$D/b.conf"
				n=$((RELAY_MESSAGES * 2))
			else
				relay_run "$D/a.conf"
				n=$RELAY_MESSAGES
			fi
			rate=$(awk "BEGIN { printf \"%.1f\", $n / $SECS }")
			cpu=$(awk "BEGIN { printf \"%.2f\", $CPU * 1000 / $n }")
			case $cfg in
			sqlite) rsq="$rsq $rate" csq="$csq $cpu" ;;
			pgsql) rpg="$rpg $rate" cpg="$cpg $cpu" ;;
			pgsql2) rpg2="$rpg2 $rate" cpg2="$cpg2 $cpu" ;;
			esac
		done
		r=$((r + 1))
	done
fi

awk -v sq="$sq" -v pg="$pg" -v pg2="$pg2" -v sqcpu="$sqcpu" \
    -v pgcpu="$pgcpu" -v trips="$trips" -v m="$MESSAGES" \
    -v c="$CUSTOMERS" -v rm="$RELAY_MESSAGES" -v rsq="$rsq" -v rpg="$rpg" \
    -v rpg2="$rpg2" -v csq="$csq" -v cpg="$cpg" -v cpg2="$cpg2" \
    -v pgall="$pgall" -v pg2all="$pg2all" \
    -v cores="$(nproc)" "$AWK_MEDIAN"'
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
	if (pgall != "" && median(pg2all) > 0)
		printf "  CPU of relays and server: one relay %.2f ms/message," \
		    " two %.2f: %d cores carry at most %.1f messages/s at" \
		    " the CPU of two\n", median(pgall), median(pg2all), cores,
		    cores * 1000 / median(pg2all)
	printf "  PostgreSQL/SQLite %.2fx (goal 0.8x); two relays/one %.2fx" \
	    " (goal 1.6x)\n", median(pg) / median(sq), median(pg2) / median(pg)
	if (rsq == "")
		exit
	printf "relays through Postfix: %d messages of 50 recipients a relay," \
	    " 10 sessions (median, least to greatest; CPU: Postfix," \
	    " segmilter, PostgreSQL, smtp-source)\n", rm
	printf "  one relay, SQLite:        %7.1f messages/s (%s), CPU %.2f ms/message\n",
	    median(rsq), spread(rsq, "%.1f"), median(csq)
	printf "  one relay, PostgreSQL:    %7.1f messages/s (%s), CPU %.2f ms/message\n",
	    median(rpg), spread(rpg, "%.1f"), median(cpg)
	printf "  two relays, PostgreSQL:   %7.1f messages/s (%s), CPU %.2f ms/message\n",
	    median(rpg2), spread(rpg2, "%.1f"), median(cpg2)
	printf "  PostgreSQL/SQLite %.2fx (goal 0.8x); two relays/one %.2fx" \
	    " (goal 1.6x)", median(rpg) / median(rsq), median(rpg2) / median(rpg)
	# no CPU figures without a cgroup v1 cpuacct (lib.sh, cg_start)
	if (median(cpg2) > 0)
		printf "; %d cores carry at most %.1f messages/s at the CPU" \
		    " of two", cores, cores * 1000 / median(cpg2)
	printf "\n"
}'
