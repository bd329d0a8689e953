#!/bin/sh
# history.sh - make bench, part history: what segmilter costs a message
# as its customers' history grows.  tests/bench/msgbench, the end of the
# message on a real store, no MTA: 50 recipients a message spread over
# CUSTOMERS, each of whom has H past campaigns delivered (the last 30
# days ago, then a day apart), an open of every third and a click
# yesterday (nobody fatigued), for each H of BENCH_HISTORY; BENCH_ROUNDS
# rounds alternating them.  Prints the CPU per message, median (rounds).
set -eu
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-5}
MESSAGES=${BENCH_HISTORY_MESSAGES:-200}
CUSTOMERS=${BENCH_HISTORY_CUSTOMERS:-10000}
HISTORY=${BENCH_HISTORY:-0 2 100 1000}
D=${BENCH_HISTORY_DIR:-/tmp/segm-bench-history}
. tests/bench/lib.sh

rm -rf "$D"
mkdir -p "$D"
chmod 700 "$D"
bench_customers "$D" "$CUSTOMERS"
bench_message "$D/message.eml"
now=$(date +%s)
for h in $HISTORY; do
	mkdir -p "$D/$h/campaigns"
	chmod 700 "$D/$h"
	cat > "$D/$h/segmilter.conf" <<CONF
store = "$D/$h/store.db";
retention = { horizon_days = 0; };
milter = { socket = "unix:$D/$h/segmilter.sock"; user = "";
  campaigns = "$D/$h/campaigns"; spool_dir = "$D/$h"; };
CONF
	printf 'id = "bench";\nvariants = { default = { offer = "10%% off"; }; };\n' \
	    > "$D/$h/campaigns/bench.conf"
	S="$BUILD/segctl -q -c $D/$h/segmilter.conf"
	$S init
	$S import customers "$D/customers.csv"
	$S import consent "$D/consent.csv"
	$S segments rebuild
	# the history, written as segmilter and the imports leave it
	sqlite3 "$D/$h/store.db" <<SQL
WITH RECURSIVE past(k) AS (SELECT 1 WHERE $h > 0
    UNION ALL SELECT k + 1 FROM past WHERE k < $h)
INSERT INTO ledger (campaign_id, recipient, message_key, customer_id,
    queue_id, decision, variant, at)
  SELECT 'past-' || k, email, 'past-' || k, id, 'PAST', 'deliver',
      'default', $now - 30 * 86400 - k * 86400
  FROM customers, past;
INSERT INTO engagement (customer_id, campaign_id, type, at)
  SELECT customer_id, campaign_id, 'open', at + 3600 FROM ledger
  WHERE CAST(substr(campaign_id, 6) AS INTEGER) % 3 = 0;
INSERT INTO engagement (customer_id, campaign_id, type, at)
  SELECT id, 'past-1', 'click', $now - 86400 FROM customers;
SQL
	# each customer's delivery summary as segmilter's own deliveries
	# trim it (store_lookup.h, store_deliveries_window), for all at once
	$S prune
	cp "$D/$h/store.db" "$D/$h/pristine.db"
done

echo "== history: $MESSAGES messages of 50 recipients over $CUSTOMERS customers, $ROUNDS rounds ($(nproc) cores)"
: > "$D/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for h in $HISTORY; do
		db_fresh "$D/$h/pristine.db" "$D/$h/store.db"
		sync
		"$BUILD/msgbench" "$D/$h/segmilter.conf" "$D/message.eml" \
		    "$MESSAGES" 50 "$CUSTOMERS" 2>/dev/null |
		    sed -n 's/.*cpu \([0-9]*\) us\/message.*/\1/p' |
		    sed "s/^/$h /" >> "$D/results"
	done
	r=$((r + 1))
done
for h in $HISTORY; do
	awk -v h="$h" "$AWK_MEDIAN"'
	    $1 == h { s = s " " $2 }
	    END { printf "%6d past campaigns a customer: %8.0f us cpu a message (%s)\n",
		h, median(s), spread(s, "%.0f") }' "$D/results"
done
rm -rf "$D"
