#!/bin/sh
# demo.sh - the main job, end to end on a synthetic store:
#   1. generate Shopify-format exports, create the SQLite store, import
#      them and compute the eight segments;
#   2. preview the spring-launch broadcast (contrib/demo-broadcast.eml)
#      as the marketing team would, per variant;
#   3. start segmilter and a private Postfix on loopback (127.0.0.1:12525,
#      relaying to smtp-sink on 12526; never the system MTA; copies are
#      re-injected on 12527) and send the broadcast to every demo
#      customer, as a sending tool would: one message, 500 recipients per
#      SMTP transaction; segmilter tailors a copy per segment;
#   4. print what happened per segment, which versions went out, and
#      where the delivered mail is.
#
#   contrib/demo.sh [DIR] [CUSTOMERS]     (default demo/, 2000 customers)
#
# Needs root for step 3 (Postfix's master runs as root); without it the
# demo stops after the preview.
set -eu
BUILD=${BUILD:-build}
DIR=${1:-demo}
N=${2:-2000}
PORT=${DEMO_PORT:-12525}
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SRC=$(pwd)

rm -rf "$DIR"
mkdir -p "$DIR/campaigns"
DIR=$(realpath "$DIR")
chmod 755 "$DIR"	# Postfix's smtpd (user postfix) reaches the socket
cp conf/campaigns/spring-launch.conf "$DIR/campaigns/"
openssl rand -hex 32 > "$DIR/copy.key"
chmod 600 "$DIR/copy.key"
cat > "$DIR/segmilter.conf" <<CONF
# The demo's configuration: the defaults of conf/segmilter.conf, with
# everything under $DIR, and tailored copies re-injected on port
# $((PORT + 2)).
store = "$DIR/store.db";
milter = {
  socket = "unix:$DIR/segmilter.sock";
  socket_mode = "0666";
  user = "";
  campaigns = "$DIR/campaigns";
  spool_dir = "$DIR";
};
outbox = {
  reinject_url = "smtp://127.0.0.1:$((PORT + 2))";
  key_file = "$DIR/copy.key";
};
CONF
SEGCTL="$BUILD/segctl -c $DIR/segmilter.conf --now $NOW"

echo "== 1. the store: $N synthetic customers"
$SEGCTL demo-data --customers "$N" --seed 42 "$DIR/data"
$SEGCTL init
# consent first: its dated statements are the evidence that the customers
# export's undated yes/no then confirms
for kind in products consent customers orders events engagement; do
	$SEGCTL import "$kind" "$DIR/data/$kind.csv"
done
$SEGCTL segments rebuild
echo
$SEGCTL segments

echo
echo "== 2. segctl preview contrib/demo-broadcast.eml"
$SEGCTL preview contrib/demo-broadcast.eml | sed -n '1,60p'

if [ "$(id -u)" != 0 ]; then
	echo
	echo "demo: sending through Postfix needs root; stopped after the preview"
	exit 0
fi

echo
echo "== 3. the broadcast through Postfix + segmilter"
"$BUILD/segmilter" -n -c "$DIR/segmilter.conf"
"$BUILD/segmilter" -f -c "$DIR/segmilter.conf" > "$DIR/segmilter.log" 2>&1 &
MPID=$!
cleanup() {
	"$SRC/tests/lib/postfix.sh" stop "$DIR/postfix"
	kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	return 0
}
trap cleanup EXIT
i=0
while [ ! -S "$DIR/segmilter.sock" ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$DIR/segmilter.log"; exit 1; }
	sleep 0.1
done
tests/lib/postfix.sh start "$DIR/postfix" "$PORT" "$((PORT + 1))" \
    "unix:$DIR/segmilter.sock"
# the re-injection port: segmilter there only passes copies through
tests/lib/postfix.sh listen "$DIR/postfix" "$((PORT + 2))" \
    "unix:$DIR/segmilter.sock"
sqlite3 "$DIR/store.db" "SELECT email FROM customers ORDER BY id" > "$DIR/recipients"
split -l 500 "$DIR/recipients" "$DIR/batch."
for b in "$DIR"/batch.*; do
	swaks -n --server "127.0.0.1:$PORT" --from news@shop.example \
	    --to "$(paste -sd, "$b")" --data contrib/demo-broadcast.eml \
	    > "$b.swaks" 2>&1 || { tail -5 "$b.swaks"; exit 1; }
done
# the copies: wait for the outbox to drain, then for Postfix
i=0
while [ "$(sqlite3 "$DIR/store.db" "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")" != 0 ]; do
	i=$((i + 1))
	[ $i -lt 1200 ] || { echo "demo: the outbox did not drain"; exit 1; }
	sleep 0.1
done
tests/lib/postfix.sh wait "$DIR/postfix" 120
echo "sent $(wc -l < "$DIR/recipients") recipients in $(ls "$DIR"/batch.*.swaks | wc -l) messages;" \
    "segmilter made $(sqlite3 "$DIR/store.db" "SELECT count(*) FROM outbox") tailored copies"

echo
echo "== 4. what happened"
$SEGCTL report spring-launch
echo
echo "versions at the far end (recipients per Subject):"
find "$DIR/postfix/sink" -type f | while read -r f; do
	subject=$(grep -m1 '^Subject:' "$f")
	grep -c '^X-Rcpt-Args:' "$f" | sed "s|\$| $subject|"
done | awk '{ n = $1; $1 = ""; c[$0] += n } END { for (s in c) printf "  %5d %s\n", c[s], s }' | sort -rn
msgs=$(find "$DIR/postfix/sink" -type f | wc -l)
rcpts=$(find "$DIR/postfix/sink" -type f -exec grep -h '^X-Rcpt-Args:' {} + | wc -l)
echo
echo "at the far end: $msgs messages for $rcpts recipients in $DIR/postfix/sink/"
echo "segmilter's log: $DIR/segmilter.log; Postfix's: $DIR/postfix/maillog"
$SEGCTL audit verify
