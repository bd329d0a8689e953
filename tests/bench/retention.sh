#!/bin/sh
# retention.sh - make bench, part retention: a store over ten years of
# campaigns, with and without retention.  CAMPAIGNS campaigns (500: one
# a week) to every one of CUSTOMERS customers, each delivered and opened
# by one customer in five, written by SQL as segmilter leaves them; every
# quarter `segctl prune` with retention.horizon_days = HORIZON (and with
# retention off on the other store, which trims the delivery summaries
# as segmilter's deliveries would).  Prints
# at the end of each year the ledger and engagement rows and the store's
# size in use, pruned and not, and what the prunes took.  The audit log
# is left out: it is bounded by archiving, not by retention.
set -eu
BUILD=${BUILD:-build}
CUSTOMERS=${BENCH_RETENTION_CUSTOMERS:-10000}
CAMPAIGNS=${BENCH_RETENTION_CAMPAIGNS:-500}
HORIZON=${BENCH_RETENTION_DAYS:-730}
D=${BENCH_RETENTION_DIR:-/tmp/segm-bench-retention}
. tests/bench/lib.sh

rm -rf "$D"
mkdir -p "$D"
chmod 700 "$D"
bench_customers "$D" "$CUSTOMERS"
for s in pruned kept; do
	printf 'store = "%s/%s.db";\nretention = { horizon_days = %s; };\n' \
	    "$D" "$s" "$([ $s = pruned ] && echo "$HORIZON" || echo 0)" \
	    > "$D/$s.conf"
	$BUILD/segctl -q -c "$D/$s.conf" init
	$BUILD/segctl -q -c "$D/$s.conf" import customers "$D/customers.csv"
done
start=$(date -d 2016-01-04 +%s)
week=$((7 * 86400))

# bytes of pages in use (the file keeps its free pages for reuse)
in_use() {
	sqlite3 "$1" "SELECT (page_count - freelist_count) * page_size / 1e6
	    FROM pragma_page_count, pragma_freelist_count, pragma_page_size"
}
rows() { sqlite3 "$1" "SELECT count(*) FROM $2"; }

echo "== retention: $CAMPAIGNS weekly campaigns to $CUSTOMERS customers, horizon $HORIZON days ($(nproc) cores)"
printf '%4s %12s %12s %10s %10s %10s %10s\n' year ledger engagement \
    summary "MB pruned" "MB kept" "prune s"
k=1
prune_s=0
while [ $k -le "$CAMPAIGNS" ]; do
	at=$((start + (k - 1) * week))
	for s in pruned kept; do
		sqlite3 "$D/$s.db" <<SQL
INSERT INTO ledger (campaign_id, recipient, message_key, customer_id,
    queue_id, decision, variant, at, route, arm, segment)
  SELECT 'c$k', email, 'c$k', id, 'Q$k', 'deliver', 'default',
      $at + id % 3600, 'inplace', 'tailored', 'repeat' FROM customers;
INSERT INTO engagement (customer_id, campaign_id, type, at)
  SELECT id, 'c$k', 'open', $at + 3600 + id % 3600 FROM customers
  WHERE (id + $k) % 5 = 0;
SQL
	done
	if [ $((k % 13)) = 0 ] || [ $k = "$CAMPAIGNS" ]; then
		t0=$(date +%s.%N)
		$BUILD/segctl -q -c "$D/pruned.conf" \
		    --now "$(date -u -d @$((at + 86400)) +%Y-%m-%d)" prune
		prune_s=$(awk -v a="$prune_s" -v b="$t0" -v c="$(date +%s.%N)" \
		    'BEGIN { print a + c - b }')
		# retention off: the delivery summaries trimmed as
		# segmilter's own deliveries would have trimmed them
		$BUILD/segctl -q -c "$D/kept.conf" \
		    --now "$(date -u -d @$((at + 86400)) +%Y-%m-%d)" prune
	fi
	if [ $((k % 52)) = 0 ] || [ $k = "$CAMPAIGNS" ]; then
		printf '%4.1f %12d %12d %10d %10.1f %10.1f %10.1f\n' \
		    "$(awk -v k="$k" 'BEGIN { print k / 52 }')" \
		    "$(rows "$D/pruned.db" ledger)" \
		    "$(rows "$D/pruned.db" engagement)" \
		    "$(rows "$D/pruned.db" deliveries)" \
		    "$(in_use "$D/pruned.db")" "$(in_use "$D/kept.db")" \
		    "$prune_s"
		prune_s=0
	fi
	k=$((k + 1))
done
printf 'file: %.1f MB pruned, %.1f MB kept\n' \
    "$(stat -c %s "$D/pruned.db" | awk '{ print $1 / 1e6 }')" \
    "$(stat -c %s "$D/kept.db" | awk '{ print $1 / 1e6 }')"
rm -rf "$D"
