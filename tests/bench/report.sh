#!/bin/sh
# report.sh - make bench, part report: segctl report over a campaign of
# BENCH_REPORT_RECIPIENTS (default 1,000,000) recipients in three arms
# and BENCH_REPORT_ORDERS (default 100,000) orders in their window, in
# every format.  The store is written straight with SQL (a million
# recipients through Postfix would take the benchmark an hour): ledger
# and audit rows as segmilter leaves them, the chain's hashes left out
# (the report does not read them).
set -eu
BUILD=${BUILD:-build}
N=${BENCH_REPORT_RECIPIENTS:-1000000}
O=${BENCH_REPORT_ORDERS:-100000}
D=${BENCH_REPORT_DIR:-/tmp/segm-bench-report}
NOW=2026-11-24T12:00:00Z
AT=1795000000		# the decisions, 2026-11-18
TIME=/usr/bin/time

[ -n "${BENCH_KEEP:-}" ] || rm -rf "$D"
mkdir -p "$D"
chmod 700 "$D"
S="$BUILD/segctl -q -s $D/store.db --now $NOW"
$S init
echo "== report: $N recipients, $O orders in their window ($(nproc) cores)"
sqlite3 "$D/store.db" <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO customers (id, email, audit_key)
  SELECT i, i || 'r@example.com', randomblob(32) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO ledger (customer_id, campaign_id, recipient, message_key,
  queue_id, decision, variant, at, route, arm, segment)
  SELECT i, 'bench', i || 'r@example.com', '<m@x>', 'Q',
    CASE WHEN i % 10 = 0 THEN 'held_out' ELSE 'deliver' END,
    CASE WHEN i % 10 = 0 THEN NULL WHEN i % 2 = 0 THEN 'default'
      ELSE 'lapsed' END,
    $AT + i % 3600, 'inplace',
    CASE WHEN i % 10 = 0 THEN 'none' WHEN i % 2 = 0 THEN 'broad'
      ELSE 'tailored' END,
    CASE i % 6 WHEN 0 THEN 'vip' WHEN 1 THEN 'lapsed' WHEN 2 THEN 'repeat'
      WHEN 3 THEN 'first_time' WHEN 4 THEN 'subscriber' ELSE 'b2b' END
  FROM n;
INSERT INTO audit (seq, at, channel, queue_id, message_id, campaign_id,
  recipient, customer_id, decision, detail, segment, variant, consent,
  config_hash, prev_hash, hash, form, seal)
  SELECT customer_id, at, 'email', 'Q', '<m@x>', 'bench', recipient,
    customer_id, CASE arm WHEN 'broad' THEN 'broad' ELSE decision END, '',
    segment, coalesce(variant, ''), '', '', '', '', 2, '' FROM ledger;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $O)
INSERT INTO orders (ref, customer_id, created_at, financial_status,
  currency, total, refunded)
  SELECT '#B' || i, 1 + (i * 7919) % $N, $AT + 3600 + (i * 104729) % 345600,
    'paid', 'USD', 2000 + i % 9000, 0 FROM n;
COMMIT;
SQL
printf '   store: %s\n' "$(du -sh "$D/store.db" | cut -f1)"
for f in text json csv html; do
	sync
	"$TIME" -f "%e %M %U %S" -o "$D/time.out" $S report --format $f bench \
	    > "$D/report.$f" 2> "$D/report.err" ||
	    { echo "bench: report failed:"; cat "$D/report.err"; exit 1; }
	awk -v f="$f" '{ printf "report --format %-5s %8s s wall %8.2f s cpu %8.1f MB\n",
	    f, $1, $3 + $4, $2 / 1024 }' "$D/time.out"
done
grep '^all .*tailored' "$D/report.text" | head -1 | sed 's/^/   /'
[ -n "${BENCH_KEEP:-}" ] || rm -rf "$D"
