#!/bin/sh
# milter.sh - segmilter's throughput inside a private Postfix, against
# Postfix alone and against a null milter (the libmilter floor: buffer
# the body, replace it with itself).  Part of `make bench`.
#
# smtp-source sends MESSAGES messages of 20 KB (MESSAGES_1 of them when
# each has one recipient: lib.sh, msgs_for), each a campaign message
# (X-Campaign-ID, placeholders in the body) to 1 or 50 recipients, over
# SESSIONS parallel sessions; every recipient is a distinct consenting
# customer (-N numbers them), so segmilter looks each one up, records a
# ledger and an audit row for each, and rewrites every message.  One
# Postfix serves every configuration, one smtpd port each, and rounds
# are interleaved so that machine noise hits all configurations alike.
#
#   BENCH_MESSAGES=2000 BENCH_MESSAGES_1=(5 x BENCH_MESSAGES)
#   BENCH_SESSIONS=10 BENCH_ROUNDS=5
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
MESSAGES=${BENCH_MESSAGES:-2000}
MESSAGES_1=${BENCH_MESSAGES_1:-$((MESSAGES * 5))}
SESSIONS=${BENCH_SESSIONS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
BASE=${BENCH_PORT:-13525}
D=${BENCH_MILTER_DIR:-/tmp/segm-bench-milter}
. "$SRC/tests/bench/lib.sh"

[ "$(id -u)" = 0 ] || { echo "bench milter: needs root (Postfix)"; exit 0; }
cg_start
rm -rf "$D"
mkdir -p "$D/campaigns"
chmod 755 "$D"
MPIDS=""
cleanup() {
	for p in $MPIDS; do kill "$p" 2>/dev/null; done
	for p in $MPIDS; do wait "$p" 2>/dev/null || true; done
	"$SRC/tests/lib/postfix.sh" stop "$D/pf"
	cg_stop
}
trap cleanup EXIT

# --- a store of 100000 consenting customers: 1bench@ ... -------------
max=$((MESSAGES * 50 > MESSAGES_1 ? MESSAGES * 50 : MESSAGES_1))
bench_customers "$D" "$max"
cat > "$D/segmilter.conf" <<CONF
store = "$D/store.db";
milter = { socket = "unix:$D/segmilter.sock"; socket_mode = "0666";
  user = ""; campaigns = "$D/campaigns"; spool_dir = "$D"; };
CONF
cat > "$D/campaigns/bench.conf" <<'CONF'
id = "bench";
variants = { subscriber = { offer = "15% off"; };
  default = { offer = "10% off"; }; };
CONF
S="$BUILD/segctl -q -c $D/segmilter.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild
cp "$D/store.db" "$D/pristine.db"

bench_message "$D/message.eml"

# --- one Postfix, one smtpd port per configuration --------------------
SINK_DUMP=0 "$SRC/tests/lib/postfix.sh" start "$D/pf" "$BASE" "$((BASE + 1))"
"$BUILD/nullmilter" "unix:$D/null.sock" > "$D/null-unix.log" 2>&1 &
NULL_UNIX=$!
"$BUILD/nullmilter" "inet:$((BASE + 10))@127.0.0.1" > "$D/null-inet.log" 2>&1 &
NULL_INET=$!
MPIDS="$NULL_UNIX $NULL_INET"
sleep 1
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 2)) "unix:$D/null.sock"
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 3)) "inet:127.0.0.1:$((BASE + 10))"
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 4)) "unix:$D/segmilter.sock"
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 5)) "inet:127.0.0.1:$((BASE + 11))"

# segmilter starts on a fresh copy of the store for every run
SPID=""
segmilter_fresh() {
	[ -n "$SPID" ] && { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
	db_fresh "$D/pristine.db" "$D/store.db"
	"$BUILD/segmilter" -f -c "$D/segmilter.conf" -p "$1" > "$D/segmilter.log" 2>&1 &
	SPID=$!
	i=0
	until grep -q listening "$D/segmilter.log"; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$D/segmilter.log"; exit 1; }
		sleep 0.1
	done
}


# run NAME PORT RCPTS [MILTER_PID] -> seconds until the queue is empty,
# the milter's CPU seconds and the pipeline's over the run
run() {
	# dirty pages of the last run, or of segmilter's fresh store copy,
	# are written back now, not during the measured run
	sync
	c0=$(cpu_of "${4:-}")
	p0=$(cg_cpu)
	t0=$(date +%s.%N)
	smtp-source -N -s "$SESSIONS" -m "$(msgs_for "$3")" -r "$3" -F "$D/message.eml" \
	    -f news@shop.example -t bench@example.com "127.0.0.1:$2" \
	    > "$D/source.log" 2>&1 || { echo "smtp-source failed:"; cat "$D/source.log"; exit 1; }
	"$SRC/tests/lib/postfix.sh" wait "$D/pf" 600
	t1=$(date +%s.%N)
	c1=$(cpu_of "${4:-}")
	p1=$(cg_cpu)
	echo "$1 $3 $(awk "BEGIN { print $t1 - $t0, $c1 - $c0, $p1 - $p0 }") $r" >> "$D/results"
}

# One round: each configuration once; every other round segmilter goes
# before the null milter, so that neither always follows Postfix alone.
round() {	# RCPTS
	if [ $((r % 2)) = 0 ]; then
		run postfix "$BASE" $1
		run null-unix $((BASE + 2)) $1 "$NULL_UNIX"
		run null-inet $((BASE + 3)) $1 "$NULL_INET"
	fi
	segmilter_fresh "unix:$D/segmilter.sock"
	run segmilter-unix $((BASE + 4)) $1 "$SPID"
	segmilter_fresh "inet:$((BASE + 11))@127.0.0.1"
	run segmilter-inet $((BASE + 5)) $1 "$SPID"
	if [ $((r % 2)) = 1 ]; then
		run null-inet $((BASE + 3)) $1 "$NULL_INET"
		run null-unix $((BASE + 2)) $1 "$NULL_UNIX"
		run postfix "$BASE" $1
	fi
}

echo "== milter: $MESSAGES messages of 20 KB ($MESSAGES_1 to one recipient), $SESSIONS sessions, $ROUNDS rounds ($(nproc) cores)"
: > "$D/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for rc in 1 50; do
		round $rc
	done
	r=$((r + 1))
done
[ -n "$SPID" ] && { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
sent=$(sqlite3 "$D/store.db" "SELECT count(*) FROM ledger WHERE decision = 'deliver'")
echo "(last run: $sent recipients delivered by segmilter, each with a ledger and an audit row)"

# segmilter's own cost, no MTA: what each message costs it in CPU
echo "-- segmilter alone (tests/bench/msgbench: the end-of-message work, no MTA)"
for rc in 1 50; do
	db_fresh "$D/pristine.db" "$D/store.db"
	"$BUILD/msgbench" "$D/segmilter.conf" "$D/message.eml" \
	    $((MESSAGES * 50 / rc > MESSAGES ? MESSAGES : MESSAGES * 50 / rc)) $rc 2>/dev/null
done
# smtp-source numbers recipients in store order, so each message's ledger
# rows are neighbours; a real list's recipients are spread over the store
db_fresh "$D/pristine.db" "$D/store.db"
"$BUILD/msgbench" "$D/segmilter.conf" "$D/message.eml" "$MESSAGES" 50 \
    $((MESSAGES * 50)) 2>/dev/null

# medians per configuration and recipient count; ratios against the floor
awk -v mn="$MESSAGES" -v m1="$MESSAGES_1" "$AWK_MEDIAN"'
{ t[$1 " " $2] = t[$1 " " $2] " " $3; c[$1 " " $2] = c[$1 " " $2] " " $4
  p[$1 " " $2] = p[$1 " " $2] " " $5; byround[$1 " " $2 " " $6] = $3 }
# each round'"'"'s own ratio of A to B: their median is steadier than the
# ratio of the medians when the machine'"'"'s speed drifts between rounds
function paired(a, b, rc,   k, s) {
	s = ""
	for (k = 0; (a " " rc " " k) in byround; k++)
		s = s " " byround[b " " rc " " k] / byround[a " " rc " " k]
	return s
}
function vs_null(a, b, rc,   s) {
	s = paired(a, b, rc)
	printf "  %.2fx %s (by round %.2fx, rounds %s)", rate[a] / rate[b], b,
	    median(s), spread(s, "%.2f")
}
END {
	split("postfix null-unix null-inet segmilter-unix segmilter-inet", cfg, " ")
	for (k = 1; k <= 2; k++) {
		rc = (k == 1) ? 1 : 50
		m = rc == 1 ? m1 : mn
		printf "-- %d recipient%s per message (median seconds, msg/s, rcpt/s, ratios)\n", rc, rc == 1 ? "" : "s"
		for (i = 1; i <= 5; i++) {
			s = median(t[cfg[i] " " rc]); rate[cfg[i]] = m / s
			printf "   %-15s %7.2f s %8.1f msg/s %9.1f rcpt/s", cfg[i], s, m / s, m * rc / s
			if (i > 1) printf "  %.2fx postfix", rate[cfg[i]] / rate["postfix"]
			if (cfg[i] == "segmilter-unix") vs_null(cfg[i], "null-unix", rc)
			if (cfg[i] == "segmilter-inet") vs_null(cfg[i], "null-inet", rc)
			if (i > 1) printf "  milter cpu %.2f ms/msg", median(c[cfg[i] " " rc]) * 1000 / m
			printf "\n"
			pc[cfg[i]] = median(p[cfg[i] " " rc]) * 1000 / m
		}
		if (pc["postfix"] > 0) {
			printf "   pipeline CPU per message (Postfix, milter and client; a CPU-bound box runs at the inverse):\n"
			printf "   postfix %.2f ms, null-unix %.2f, null-inet %.2f, segmilter-unix %.2f (%.2fx null), segmilter-inet %.2f (%.2fx null)\n",
			    pc["postfix"], pc["null-unix"], pc["null-inet"], pc["segmilter-unix"],
			    pc["null-unix"] / pc["segmilter-unix"], pc["segmilter-inet"],
			    pc["null-inet"] / pc["segmilter-inet"]
		}
	}
}' "$D/results"
