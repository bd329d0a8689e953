#!/bin/sh
# dsn.sh - how many bounce reports a second are recorded, taken the two
# ways Postfix can hand them over:
# 1. segctl bounce as pipe(8) runs it: a process per message, reading it
#    on standard input, two at a time (the 2 cores; pipe's process limit
#    is higher, so this is what the machine allows, not a cap); beside
#    it, segctl --version started the same way: the floor under any
#    process per message;
# 2. segfeed's LMTP listener, as Postfix's lmtp(8) client delivers: two
#    connections kept open (tests/lib/lmtp.py), half the messages each.
# Each message is a Postfix DSN (tests/fixtures/dsn/postfix-hard.eml) for
# a different customer of a store of BENCH_DSN_CUSTOMERS, with that
# customer's genuine token (tests/lib/bounce.sh), so each is parsed,
# checked and recorded with its engagement and audit rows, committed,
# into a fresh copy of the store each round; every one must be recorded.
# Part of `make bench`; prints figures, never passes or fails.
#
#   BENCH_DSN=1000 messages per round, BENCH_DSN_CUSTOMERS=100000,
#   BENCH_ROUNDS=5
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
N=${BENCH_DSN:-1000}
CUSTOMERS=${BENCH_DSN_CUSTOMERS:-100000}
ROUNDS=${BENCH_ROUNDS:-5}
D=${BENCH_DSN_DIR:-/tmp/segm-bench-dsn}
. "$SRC/tests/bench/lib.sh"
. "$SRC/tests/lib/bounce.sh"

rm -rf "$D"
mkdir -p "$D/msgs" "$D/q"
chmod 700 "$D"
FPID=""
trap '[ -n "$FPID" ] && kill "$FPID" 2>/dev/null; rm -rf "$D"' EXIT
(umask 077; openssl rand -hex 32 > "$D/key")
cat > "$D/segmilter.conf" <<CONF
store = "$D/store.db";
outbox = { key_file = "$D/key"; };
CONF
S="$SRC/$BUILD/segctl -q -c $D/segmilter.conf"
$S demo-data --customers "$CUSTOMERS" --seed 1 "$D/data" > /dev/null
$S init
$S import customers "$D/data/customers.csv" > /dev/null

# N customers spread over the store, a report each
sqlite3 "$D/store.db" "SELECT id, email FROM customers ORDER BY id % 97, id
    LIMIT $N" | tr '|' ' ' > "$D/who"
i=0
while read -r id email; do
	i=$((i + 1))
	tok=$(bounce_token "$id" "$email" launch "$D/key")
	sed -e "s/XTOKENX/$tok/g" -e "s/sue@example.com/$email/g" \
	    "$SRC/tests/fixtures/dsn/postfix-hard.eml" > "$D/msgs/$i.eml"
	echo "bounces+$tok@shop.example" > "$D/msgs/$i.rcpt"
done < "$D/who"
n=$(ls "$D/msgs" | grep -c '\.eml$')

# one message: what pipe(8) runs for it
cat > "$D/one" <<EOF
#!/bin/sh
exec $S bounce --quarantine $D/q --recipient "\$(cat "\$1.rcpt")" < "\$1.eml" > /dev/null
EOF
chmod 755 "$D/one"

echo "== dsn: segctl bounce, $n Postfix DSNs for as many customers of $CUSTOMERS, 2 at a time, $ROUNDS rounds ($(nproc) cores)"
rates=""
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	db_fresh "$D/store.db" "$D/round.db"
	sed "s|$D/store.db|$D/round.db|" "$D/segmilter.conf" > "$D/round.conf"
	sed -i "s|-c $D/segmilter.conf|-c $D/round.conf|" "$D/one"
	t0=$(date +%s.%N)
	ls "$D/msgs" | sed -n 's/\.eml$//p' | sed "s|^|$D/msgs/|" |
	    xargs -P 2 -n 1 "$D/one" || { echo "bench dsn: a report failed"; exit 1; }
	t1=$(date +%s.%N)
	got=$(sqlite3 "$D/round.db" "SELECT count(*) FROM engagement WHERE type = 'bounce'")
	[ "$got" = "$n" ] || { echo "bench dsn: $got of $n recorded"; exit 1; }
	rate=$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.0f", n / (b - a) }')
	printf '   round %d: %s reports/s\n' "$r" "$rate"
	rates="$rates $rate"
	sed -i "s|-c $D/round.conf|-c $D/segmilter.conf|" "$D/one"
done
[ -z "$(ls "$D/q")" ] || { echo "bench dsn: quarantined $(ls "$D/q" | wc -l)"; exit 1; }
# the floor under any process per message: segctl starting and exiting
t0=$(date +%s.%N)
seq "$n" | xargs -P 2 -n 1 sh -c "exec $SRC/$BUILD/segctl --version > /dev/null"
t1=$(date +%s.%N)
start=$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.0f", n / (b - a) }')
awk -v s="$rates" -v st="$start" "$AWK_MEDIAN"'BEGIN {
	printf "segctl bounce, reports per second: median %s (rounds %s; goal 500)\n",
	    median(s), spread(s, "%d")
	printf "segctl --version alone, the same way: %s per second\n", st }'

# --- 2. segfeed's LMTP listener ------------------------------------------
ls "$D/msgs" | sed -n 's/\.eml$//p' | while read -r m; do
	echo "$(cat "$D/msgs/$m.rcpt") $D/msgs/$m.eml"
done > "$D/all"
half=$(( (n + 1) / 2 ))
head -n "$half" "$D/all" > "$D/list1"
tail -n "+$((half + 1))" "$D/all" > "$D/list2"
echo "== dsn: segfeed by LMTP, the same $n DSNs over 2 connections, $ROUNDS rounds"
rates=""
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	db_fresh "$D/store.db" "$D/round.db"
	cat > "$D/feed.conf" <<CONF
store = "$D/round.db";
milter = { unsubscribe_url = "https://shop.example/u/"; };
outbox = { key_file = "$D/key"; };
feedback = {
  listen = "unix:$D/http.sock";
  page_template = "$SRC/conf/unsubscribe.html";
  lmtp_listen = "unix:$D/lmtp.sock";
  quarantine_dir = "$D/q";
};
CONF
	rm -f "$D/lmtp.sock"
	"$SRC/$BUILD/segfeed" -f -c "$D/feed.conf" > "$D/feed.log" 2>&1 &
	FPID=$!
	i=0
	until [ -S "$D/lmtp.sock" ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "bench dsn: segfeed did not start"; cat "$D/feed.log"; exit 1; }
		sleep 0.05
	done
	t0=$(date +%s.%N)
	python3 "$SRC/tests/lib/lmtp.py" "unix:$D/lmtp.sock" --list "$D/list1" > "$D/out1" &
	p1=$!
	python3 "$SRC/tests/lib/lmtp.py" "unix:$D/lmtp.sock" --list "$D/list2" > "$D/out2"
	wait $p1
	t1=$(date +%s.%N)
	kill "$FPID"
	wait "$FPID" || true
	FPID=""
	got=$(sqlite3 "$D/round.db" "SELECT count(*) FROM engagement WHERE type = 'bounce'")
	[ "$got" = "$n" ] || { echo "bench dsn: $got of $n recorded by LMTP"; cat "$D/out1" "$D/out2"; exit 1; }
	rate=$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.0f", n / (b - a) }')
	printf '   round %d: %s reports/s\n' "$r" "$rate"
	rates="$rates $rate"
done
awk -v s="$rates" "$AWK_MEDIAN"'BEGIN {
	printf "segfeed by LMTP, reports per second: median %s (rounds %s; goal 500)\n",
	    median(s), spread(s, "%d") }'
