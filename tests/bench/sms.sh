#!/bin/sh
# sms.sh - what SMS costs the email path, and how fast the workers send.
# Part of `make bench`; prints figures, never passes or fails.
#
# 1. Milter throughput: the same 20 KB campaign message through a private
#    Postfix with segmilter, to 1 and to 50 recipients, as a campaign
#    without an SMS block; as the same campaign with an SMS block for a
#    high-intent segment holding one recipient in ten (country_ca here:
#    a stand-in for cart abandoners); and, the worst case, with an SMS
#    block for every recipient.  Each SMS recipient costs a lookup, a
#    text, a job and an audit row in the message's transaction.  BENCH_SMS_SEND=held (default)
#    sets a quiet-hours window that keeps the jobs from going out during
#    the run, so the figures are the email path and the SMS decisions;
#    BENCH_SMS_SEND=now sends them meanwhile to the local test gateway
#    (tests/lib/smsgw.py, answering after BENCH_GW_DELAY_MS like a real
#    one), whose CPU then shares the machine's cores.  Rounds interleave
#    the three, in a rotating order.
# 2. Worker sends per second: a store holding BENCH_JOBS queued SMS jobs,
#    segmilter started with 2 and with 8 workers, each driver in turn
#    against the local gateway answering at once.
#
#   BENCH_MESSAGES=2000 BENCH_MESSAGES_1=(5 x BENCH_MESSAGES, to one
#   recipient each) BENCH_SESSIONS=10 BENCH_ROUNDS=5
#   BENCH_GW_DELAY_MS=50 BENCH_JOBS=5000 BENCH_SMS_SEND=held
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
MESSAGES=${BENCH_MESSAGES:-2000}
MESSAGES_1=${BENCH_MESSAGES_1:-$((MESSAGES * 5))}
SESSIONS=${BENCH_SESSIONS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
DELAY=${BENCH_GW_DELAY_MS:-50}
JOBS=${BENCH_JOBS:-5000}
SEND=${BENCH_SMS_SEND:-held}
RCPTS=${BENCH_RCPTS:-1 50}	# recipients per message, one run each
BASE=${BENCH_PORT:-13625}
D=${BENCH_SMS_DIR:-/tmp/segm-bench-sms}
. "$SRC/tests/bench/lib.sh"

[ "$(id -u)" = 0 ] || { echo "bench sms: needs root (Postfix)"; exit 0; }
cg_start
rm -rf "$D"
mkdir -p "$D/campaigns"
chmod 755 "$D"
SPID="" GWPID=""
cleanup() {
	for p in $SPID $GWPID; do kill "$p" 2>/dev/null; done
	for p in $SPID $GWPID; do wait "$p" 2>/dev/null || true; done
	"$SRC/tests/lib/postfix.sh" stop "$D/pf"
	cg_stop
}
trap cleanup EXIT

# --- the gateway --------------------------------------------------------
faults() { printf '%s\n' "$1" > "$D/f.new"; mv "$D/f.new" "$D/faults.json"; }
faults "{\"delay_ms\": $DELAY}"
python3 "$SRC/tests/lib/smsgw.py" --port-file "$D/gw.port" --log /dev/null \
    --faults "$D/faults.json" --twilio-sid AC1 --twilio-token t1 \
    --kannel-user u1 --kannel-pass p1 --webhook-secret s1 2> "$D/gw.err" &
GWPID=$!
i=0
while [ ! -s "$D/gw.port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$D/gw.err"; exit 1; }; sleep 0.05
done
GW=$(cat "$D/gw.port")
printf 'account_sid = "AC1";\nauth_token = "t1";\n' > "$D/twilio.cred"
printf 'username = "u1";\npassword = "p1";\n' > "$D/kannel.cred"
printf 'secret = "s1";\n' > "$D/webhook.cred"
chmod 600 "$D"/*.cred

# held: a one-hour window half a day from now in Chicago (and Toronto,
# an hour on), so the run decides and queues every SMS but sends none
if [ "$SEND" = held ]; then
	h=$(( ($(TZ=America/Chicago date +%H | sed 's/^0//') + 12) % 24 ))
	WINDOW=$(printf '%02d:00-%02d:00' $h $((h + 1)))
else
	WINDOW="00:00-24:00"
fi

write_conf() {	# DRIVER URL WORKERS [WINDOW]
	cat > "$D/segmilter.conf" <<-CONF
	store = "$D/store.db";
	milter = { socket = "unix:$D/segmilter.sock"; socket_mode = "0666";
	  user = ""; campaigns = "$D/campaigns"; spool_dir = "$D"; };
	outbox = { workers = $3; };
	sms = { driver = "$1"; url = "$2"; credentials_file = "$D/$1.cred";
	  from = "+15005550006"; window = "${4:-00:00-24:00}"; };
	CONF
}
write_conf webhook "http://127.0.0.1:$GW/sms" 2 "$WINDOW"

# --- customers with email and SMS consent, phones, a time zone ----------
max=$((MESSAGES * 50 > MESSAGES_1 ? MESSAGES * 50 : MESSAGES_1))
awk -v n="$max" 'BEGIN { print "email,first_name,phone,country,time_zone";
    for (i = 1; i <= n; i++)
	printf "%dbench@example.com,Cust%d,+1555%07d,%s\n", i, i, i,
	    i % 10 == 0 ? "CA,America/Toronto" : "US,America/Chicago" }' \
    > "$D/customers.csv"
awk -v n="$max" 'BEGIN { print "email,channel,status,source,recorded_at,evidence";
    for (i = 1; i <= n; i++) {
	printf "%dbench@example.com,email,granted,checkout,2025-01-01,box\n", i
	printf "%dbench@example.com,sms,granted,checkout,2025-01-01,sms box\n", i } }' \
    > "$D/consent.csv"
CAMPAIGNS="bench bench-sms bench-sms-all"
for c in $CAMPAIGNS; do
	{
		echo "id = \"$c\";"
		echo 'variants = { subscriber = { offer = "15% off"; code = "SUB15"; };'
		echo '  default = { offer = "10% off"; code = "TEN"; }; };'
		case $c in
		bench-sms) seg=country_ca ;;
		bench-sms-all) seg=subscriber ;;
		*) seg="" ;;
		esac
		[ -z "$seg" ] || echo "sms = { segments = [ \"$seg\" ];
  text = \"{{first_name}}: {{offer}} with {{code}} this week. Reply STOP to opt out\"; };"
	} > "$D/campaigns/$c.conf"
done
S="$BUILD/segctl -q -c $D/segmilter.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild
cp "$D/store.db" "$D/pristine.db"

for c in $CAMPAIGNS; do
	bench_message "$D/$c.eml" "$c"
done

SINK_DUMP=0 "$SRC/tests/lib/postfix.sh" start "$D/pf" "$BASE" "$((BASE + 1))" \
    "unix:$D/segmilter.sock"

segmilter_fresh() {	# STORE
	[ -n "$SPID" ] && { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
	SPID=""
	if [ "$1" != keep ]; then
		db_fresh "$1" "$D/store.db"
	fi
	: > "$D/segmilter.log"
	"$BUILD/segmilter" -f -c "$D/segmilter.conf" > "$D/segmilter.log" 2>&1 &
	SPID=$!
	i=0
	until grep -q listening "$D/segmilter.log"; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$D/segmilter.log"; exit 1; }
		sleep 0.1
	done
}

run() {	# CAMPAIGN RCPTS ROUND -> seconds, segmilter's and the pipeline's
	sync	# the last run's dirty pages go now, not during this one
	c0=$(cpu_of "$SPID")
	p0=$(cg_cpu)
	t0=$(date +%s.%N)
	smtp-source -N -s "$SESSIONS" -m "$(msgs_for "$2")" -r "$2" -F "$D/$1.eml" \
	    -f news@shop.example -t bench@example.com "127.0.0.1:$BASE" \
	    > "$D/source.log" 2>&1 || { echo "smtp-source failed:"; cat "$D/source.log"; exit 1; }
	"$SRC/tests/lib/postfix.sh" wait "$D/pf" 600
	t1=$(date +%s.%N)
	c1=$(cpu_of "$SPID")
	p1=$(cg_cpu)
	echo "$1 $2 $(awk "BEGIN { print $t1 - $t0, $c1 - $c0 }") ${3:-0}" \
	    "$(awk "BEGIN { print $p1 - $p0 }")" >> "$D/results"
}

echo "== sms: $MESSAGES messages of 20 KB ($MESSAGES_1 to one recipient), $SESSIONS sessions, $ROUNDS rounds ($(nproc) cores);" \
    "SMS $( [ "$SEND" = held ] && echo "decided, held by quiet hours ($WINDOW)" ||
    echo "sent meanwhile, gateway answering in $DELAY ms")"
: > "$D/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	# a rotating order, so that nothing order-bound favours one
	case $((r % 3)) in
	0) order="bench bench-sms bench-sms-all" ;;
	1) order="bench-sms bench-sms-all bench" ;;
	*) order="bench-sms-all bench bench-sms" ;;
	esac
	for rc in $RCPTS; do
		for c in $order; do
			segmilter_fresh "$D/pristine.db"
			run $c $rc $r
		done
	done
	r=$((r + 1))
done
[ -n "$SPID" ] && { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
SPID=""
# Medians per campaign; and, steadier on a shared machine whose speed
# drifts between rounds, the median of each round's own ratio (the
# three campaigns of a round run minutes apart, the rounds further).
awk -v mn="$MESSAGES" -v m1="$MESSAGES_1" -v rcpts="$RCPTS" "$AWK_MEDIAN"'
{ t[$1 " " $2] = t[$1 " " $2] " " $3; c[$1 " " $2] = c[$1 " " $2] " " $4
  r[$1 " " $2 " " $5] = $3; p[$1 " " $2] = p[$1 " " $2] " " $6 }
function paired(rc, cmp,   k, s) {
	s = ""
	for (k = 0; ("bench " rc " " k) in r; k++)
		s = s " " (r["bench " rc " " k] / r[cmp " " rc " " k] - 1) * 100
	return s
}
# and the pipeline'"'"'s CPU per message: a CPU-bound box runs at its inverse
function line(name, cmp, rc, base,   m, x, q, y, b, s) {
	m = rc == 1 ? m1 : mn
	x = median(t[cmp " " rc])
	y = median(p[cmp " " rc]) * 1000 / m
	printf "   %-30s %7.2f s %9.1f rcpt/s  milter cpu %.2f ms/msg", name, x,
	    m * rc / x, median(c[cmp " " rc]) * 1000 / m
	if (y > 0)
		printf ", pipeline %.2f", y
	if (cmp != "bench") {
		s = paired(rc, cmp)
		q = median(s)
		printf "  %.3fx without (%+.1f%%), by round %+.1f%% (rounds %s)",
		    base / x, (base / x - 1) * 100, q, spread(s, "%+.1f%%")
		b = median(p["bench " rc]) * 1000 / m
		if (y > 0)
			printf ", by CPU %+.1f%%", (b / y - 1) * 100
	}
	printf "\n"
}
END {
	nrc = split(rcpts, rcs, " ")
	for (k = 1; k <= nrc; k++) {
		rc = rcs[k]
		a = median(t["bench " rc])
		printf "-- %d recipient%s per message (median seconds, rcpt/s; ratios of the medians; the median of the rounds'"'"' own changes and their range; the change in pipeline CPU)\n", rc, rc == 1 ? "" : "s"
		line("campaign without SMS", "bench", rc, a)
		line("with SMS for 1 in 10", "bench-sms", rc, a)
		line("with SMS for all (worst case)", "bench-sms-all", rc, a)
	}
}' "$D/results"

# segmilter's own CPU per recipient, no MTA (tests/bench/msgbench)
echo "-- segmilter alone, 50 recipients per message (tests/bench/msgbench, no MTA)"
for c in $CAMPAIGNS; do
	db_fresh "$D/pristine.db" "$D/msgbench.db"
	sed "s|$D/store.db|$D/msgbench.db|" "$D/segmilter.conf" > "$D/msgbench.conf"
	printf '   %-14s' "$c"
	"$BUILD/msgbench" "$D/msgbench.conf" "$D/$c.eml" "$MESSAGES" 50 2>/dev/null |
	    sed 's/^ *segmilter alone, 50 rcpts: *//'
done

# --- 2. worker sends per second ------------------------------------------
faults '{}'
segmilter_fresh "$D/pristine.db"
run bench-sms-all 50
kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""
echo "-- one more run, SMS for all, 50 recipients: $(sqlite3 "$D/store.db" \
    "SELECT count(*) FROM outbox WHERE kind = 'sms'") SMS jobs queued," \
    "$(sqlite3 "$D/store.db" "SELECT count(*) FROM outbox WHERE kind = 'sms' AND state = 'sent'") sent during it"
sqlite3 "$D/store.db" "DELETE FROM outbox WHERE id NOT IN (SELECT id FROM outbox WHERE kind = 'sms' AND customer_id IS NOT NULL ORDER BY id LIMIT $JOBS)"
cp "$D/store.db" "$D/jobs.db"
echo "-- outbox workers: $JOBS SMS jobs, local gateway answering at once"
for driver in twilio kannel webhook; do
	case $driver in
	twilio) url="http://127.0.0.1:$GW" ;;
	kannel) url="http://127.0.0.1:$GW" ;;
	webhook) url="http://127.0.0.1:$GW/sms" ;;
	esac
	for w in 2 8; do
		sqlite3 "$D/jobs.db" "UPDATE outbox SET state = 'queued', next_at = 0, attempts = 0, gateway_ref = NULL"
		write_conf $driver "$url" $w
		# the previous segmilter's shutdown is not the workers' time
		[ -n "$SPID" ] && { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
		SPID=""
		t0=$(date +%s.%N)
		segmilter_fresh "$D/jobs.db"
		until [ "$(sqlite3 "$D/store.db" "SELECT count(*) FROM outbox WHERE state = 'queued' OR state = 'sending'")" = 0 ]; do
			sleep 0.2
		done
		t1=$(date +%s.%N)
		ok=$(sqlite3 "$D/store.db" "SELECT count(*) FROM outbox WHERE state = 'sent'")
		awk -v d=$driver -v w=$w -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN {
		    printf "   %-8s %d workers: %5d sent in %6.2f s  %7.1f SMS/s\n", d, w, n, b - a, n / (b - a) }'
	done
done
