#!/bin/sh
# dsn.sh - how many bounce reports a second segctl bounce records, run as
# Postfix's pipe(8) runs it: one process per message, reading it on
# standard input, two at a time (the 2 cores; pipe's default process
# limit is higher, so this is what the machine allows, not a cap).  Each
# message is a Postfix DSN (tests/fixtures/dsn/postfix-hard.eml) for a
# different customer of a store of BENCH_DSN_CUSTOMERS, with that
# customer's genuine token (tests/lib/bounce.sh), so each is parsed,
# checked and recorded with its engagement and audit rows, committed.
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
trap 'rm -rf "$D"' EXIT
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
	printf "reports per second: median %s (rounds %s; goal 500)\n",
	    median(s), spread(s, "%d")
	printf "segctl --version alone, the same way: %s per second\n", st }'
