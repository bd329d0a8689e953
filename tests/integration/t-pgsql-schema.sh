#!/bin/sh
# t-pgsql-schema.sh - src/store/pgsql/schema.sql against the SQLite store
# segctl init makes (issue 25): it loads into a private PostgreSQL
# (tests/lib/pgsql.sh) without an error or a notice; it has the same
# tables, columns (in order, types mapped, NOT NULL, primary keys), foreign
# keys, unique keys, indexes, triggers and version; and the same writes
# (customers, ledger rows delivered, suppressed, redelivered, withdrawn and
# upserted, imported sends, engagement of every kind, some removed,
# orders added, re-dated, moved and removed) leave the same deliveries and
# engagement_last on both engines.  The writes are one SQL text in the
# subset both engines run.  Then each PostgreSQL trigger is dropped in
# turn, on a copy, and the same writes must then differ from SQLite's: a
# trigger missing is noticed.
#
# Needs sqlite3 and PostgreSQL (initdb, pg_ctl, psql): skipped (77)
# without them.
set -u
BUILD=${BUILD:-build}
command -v sqlite3 >/dev/null 2>&1 || { echo "t-pgsql-schema: no sqlite3"; exit 77; }
. tests/lib/pgsql.sh
pgsql_available || { echo "t-pgsql-schema: no PostgreSQL"; exit 77; }
T=$(mktemp -d /tmp/segm-t-pgsql-schema.XXXXXX)
trap 'pgsql_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
lite() { sqlite3 -bail "$T/store.db" "$@"; }
pg() { pgsql_psql "$T/pg" "$@"; }

$BUILD/segctl -q -s "$T/store.db" init 2>/dev/null || fail "segctl init"
v=$(lite "SELECT max(version) FROM schema_migrations")

pgsql_start "$T/pg" || fail "pgsql_start"
# the baseline alone, as a DBA would load it: no error, no notice
{ echo "BEGIN; CREATE SCHEMA raw; SET search_path TO raw;"
  cat src/store/pgsql/schema.sql; echo "ROLLBACK;"; } |
    pg > "$T/load.out" 2>&1 || fail "schema.sql: $(cat "$T/load.out")"
[ -s "$T/load.out" ] && fail "schema.sql said: $(cat "$T/load.out")"
# the store as segctl makes it: the baseline and the migrations after it
$BUILD/segctl -q -s "$PGSQL_URL" init > "$T/init.out" 2>&1 ||
    fail "segctl init on PostgreSQL: $(cat "$T/init.out")"

# --- the same structure ----------------------------------------------
# one line per column: table, position, name, type, NOT NULL, place in
# the primary key; a primary key column is NOT NULL (SQLite allows NULL
# in a rowid table's, but no writer gives one)
lite "SELECT m.name, c.cid, c.name,
    CASE c.type WHEN 'INTEGER' THEN 'bigint' WHEN 'TEXT' THEN 'text'
     WHEN 'BLOB' THEN 'bytea' WHEN 'REAL' THEN 'double precision'
     ELSE c.type END,
    c.\"notnull\" OR c.pk > 0, c.pk
    FROM sqlite_master m, pragma_table_info(m.name) c
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
    ORDER BY m.name, c.cid" > "$T/lite.columns" || fail "SQLite columns"
pg "SELECT t.relname, a.attnum - 1, a.attname,
    format_type(a.atttypid, a.atttypmod), a.attnotnull::int,
    coalesce(array_position(i.indkey::int2[], a.attnum) + 1, 0)
    FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0
     AND NOT a.attisdropped
    LEFT JOIN pg_index i ON i.indrelid = t.oid AND i.indisprimary
    WHERE n.nspname = 'public' AND t.relkind = 'r'
    ORDER BY t.relname, a.attnum" > "$T/pg.columns" || fail "PostgreSQL columns"
diff "$T/lite.columns" "$T/pg.columns" > "$T/diff" ||
    fail "columns differ (< SQLite, > PostgreSQL): $(cat "$T/diff")"
notc=$(pg "SELECT t.relname || '.' || a.attname FROM pg_attribute a
    JOIN pg_class t ON t.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relkind = 'r' AND a.attnum > 0
    AND a.atttypid = 'text'::regtype AND a.attcollation <> '\"C\"'::regcollation")
[ -z "$notc" ] && [ -n "$(pg "SELECT 1 FROM pg_attribute WHERE attcollation = '\"C\"'::regcollation LIMIT 1")" ] ||
    fail "text columns not COLLATE \"C\": $notc"

# foreign keys: table, column, parent, its column, ON DELETE
lite "SELECT m.name, f.\"from\", f.\"table\", f.\"to\", f.on_delete
    FROM sqlite_master m, pragma_foreign_key_list(m.name) f
    WHERE m.type = 'table' ORDER BY 1, 2" > "$T/lite.fk"
pg "SELECT t.relname, a.attname, r.relname, ra.attname,
    CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'c' THEN 'CASCADE'
     WHEN 'r' THEN 'RESTRICT' WHEN 'n' THEN 'SET NULL'
     ELSE 'SET DEFAULT' END
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_class r ON r.oid = c.confrelid
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    JOIN pg_attribute ra ON ra.attrelid = c.confrelid
     AND ra.attnum = c.confkey[1]
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE c.contype = 'f' AND n.nspname = 'public' ORDER BY 1, 2" > "$T/pg.fk"
diff "$T/lite.fk" "$T/pg.fk" > "$T/diff" ||
    fail "foreign keys differ: $(cat "$T/diff")"

# indexes: named ones by name, unique, partial, columns; the UNIQUE
# constraints (SQLite's autoindexes) by table and columns
lite "SELECT m.name, l.\"unique\", l.partial,
    (SELECT group_concat(name, ',') FROM (SELECT name
     FROM pragma_index_info(m.name) ORDER BY seqno))
    FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) l
     ON l.name = m.name
    WHERE m.type = 'index' AND m.sql IS NOT NULL ORDER BY 1;
    SELECT 'unique', m.name, (SELECT group_concat(name, ',') FROM
     (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno))
    FROM sqlite_master m, pragma_index_list(m.name) l
    WHERE m.type = 'table' AND l.origin = 'u' ORDER BY 2, 3" > "$T/lite.idx"
pg "SELECT x.relname, i.indisunique::int, (i.indpred IS NOT NULL)::int,
    (SELECT string_agg(a.attname, ',' ORDER BY k.n)
     FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
    FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = x.relnamespace
    WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint
     WHERE conindid = i.indexrelid) ORDER BY 1" \
    "SELECT 'unique', t.relname, (SELECT string_agg(a.attname, ','
     ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE c.contype = 'u' AND n.nspname = 'public' ORDER BY 2, 3" > "$T/pg.idx"
diff "$T/lite.idx" "$T/pg.idx" > "$T/diff" ||
    fail "indexes differ: $(cat "$T/diff")"

# triggers by name and table; no views on either side; the version and
# the rows migrations write
lite "SELECT type, name, tbl_name FROM sqlite_master
    WHERE type IN ('trigger', 'view') ORDER BY 1, 2" > "$T/lite.trg"
pg "SELECT 'trigger', tgname::text, tgrelid::regclass::text FROM pg_trigger
    WHERE NOT tgisinternal UNION ALL
    SELECT 'view', viewname::text, viewname::text FROM pg_views
    WHERE schemaname = 'public' ORDER BY 1, 2" > "$T/pg.trg"
diff "$T/lite.trg" "$T/pg.trg" > "$T/diff" ||
    fail "triggers differ: $(cat "$T/diff")"
[ "$(pg "SELECT max(version) FROM schema_migrations")" = "$v" ] ||
    fail "PostgreSQL schema_migrations: $(pg "SELECT * FROM schema_migrations"), SQLite's at $v"
[ "$(lite "SELECT * FROM deliveries_window")" = "$(pg "SELECT * FROM deliveries_window")" ] ||
    fail "deliveries_window differs"

# --- the same writes, the same summaries -----------------------------
# SQL both engines run, statement by statement (each its own
# transaction): multi-row statements on purpose, since SQLite runs a
# row's trigger as the row is written and PostgreSQL at the statement's end
cat > "$T/writes.sql" <<'SQL'
INSERT INTO customers (email) VALUES ('ann@example.com'),
  ('bob@example.com'), ('cy@example.com'), ('dee@example.com'),
  ('eve@example.com');
-- campaign spring: ann delivered (class priority 1), bob suppressed,
-- an unknown address (customer 0), ann again at another address later
INSERT INTO ledger (customer_id, campaign_id, recipient, message_key,
  queue_id, decision, variant, at, route, priority) VALUES
  (1, 'spring', 'ann@example.com', 'k1', 'Q1', 'deliver', 'a', 1000,
   'inplace', 1),
  (2, 'spring', 'bob@example.com', 'k1', 'Q1', 'suppress', NULL, 1000,
   NULL, 1),
  (0, 'spring', 'who@example.com', 'k1', 'Q1', 'deliver', 'a', 1000,
   'inplace', 1),
  (1, 'spring', 'ann+x@example.com', 'k1', 'Q2', 'deliver', 'a', 1500,
   'copy', 0);
INSERT INTO ledger (customer_id, campaign_id, recipient, message_key,
  queue_id, decision, at, priority) VALUES
  (1, 'summer', 'ann@example.com', 'k2', 'Q3', 'deliver', 2000, 2),
  (3, 'summer', 'cy@example.com', 'k2', 'Q3', 'deliver', 2100, 0),
  (4, 'summer', 'dee@example.com', 'k2', 'Q3', 'suppress', 2200, 3),
  (5, 'summer', 'eve@example.com', 'k2', 'Q3', 'suppress', 2200, 0);
-- redelivered: bob's suppression becomes a delivery
UPDATE ledger SET decision = 'deliver', at = 2500
  WHERE campaign_id = 'spring' AND customer_id = 2;
-- re-dated earlier: the summary keeps the later time
UPDATE ledger SET at = 900 WHERE campaign_id = 'summer' AND customer_id = 3;
-- neither decision nor at named: no trigger, priority stays
UPDATE ledger SET priority = 7, queue_id = 'Q9' WHERE customer_id = 3;
-- withdrawn: not a delivery, the summary keeps what it had
UPDATE ledger SET decision = 'withdrawn', at = 3000
  WHERE campaign_id = 'summer' AND customer_id = 1;
-- store_ledger_put's upsert: dee's suppression replaced by a delivery
-- (the UPDATE OF trigger, with the row's own priority); eve's delivery
-- attempt on a row that is kept (the WHERE refuses: no trigger)
INSERT INTO ledger (customer_id, campaign_id, recipient, message_key,
  queue_id, decision, at) VALUES
  (4, 'summer', 'dee@example.com', 'k2', 'Q4', 'deliver', 2300)
  ON CONFLICT (customer_id, campaign_id, recipient) DO UPDATE SET
  queue_id = excluded.queue_id, decision = excluded.decision,
  at = excluded.at WHERE ledger.decision <> 'deliver';
UPDATE ledger SET decision = 'deliver' WHERE customer_id = 5;
INSERT INTO ledger (customer_id, campaign_id, recipient, message_key,
  queue_id, decision, at) VALUES
  (5, 'summer', 'eve@example.com', 'k2', 'Q5', 'deliver', 9999)
  ON CONFLICT (customer_id, campaign_id, recipient) DO UPDATE SET
  queue_id = excluded.queue_id, decision = excluded.decision,
  at = excluded.at WHERE ledger.decision <> 'deliver';
-- many rows at once, some deliveries among them
UPDATE ledger SET at = at + 5 WHERE campaign_id = 'spring';
-- imported sends: promotional, priority 0; folded in by max
INSERT INTO engagement VALUES (2, 'legacy', 'sent', 500),
  (2, 'legacy', 'sent', 700), (1, 'spring', 'sent', 1200),
  (3, 'winter', 'sent', 4000);
-- answers of every kind
INSERT INTO engagement VALUES (1, 'spring', 'open', 1600),
  (1, 'summer', 'open', 2050), (1, 'summer', 'click', 2060),
  (1, 'spring', 'click', 1610), (2, 'spring', 'open', 2600),
  (3, 'summer', 'unsubscribe', 2200), (3, 'summer', 'complaint', 2210),
  (4, 'summer', 'bounce', 2400), (4, 'summer', 'soft_bounce', 2350),
  (4, 'summer', 'soft_bounce', 2450), (5, 'legacy', 'sms_optout', 800);
INSERT INTO engagement VALUES (4, 'spring', 'bounce', 1300);
-- removed: ann's newest open (back to the older), both of dee's soft
-- bounces (back to 0), cy's only unsubscribe, dee's older bounce (the
-- newest stays), a send (no summary change: deliveries are trimmed
-- apart, not by trigger)
DELETE FROM engagement WHERE customer_id = 1 AND campaign_id = 'summer'
  AND type = 'open';
DELETE FROM engagement WHERE customer_id = 4 AND type = 'soft_bounce';
DELETE FROM engagement WHERE customer_id = 3 AND type = 'unsubscribe';
DELETE FROM engagement WHERE customer_id = 4 AND at = 1300;
DELETE FROM engagement WHERE customer_id = 3 AND type = 'sent';
-- a whole customer's answers in one statement
DELETE FROM engagement WHERE customer_id = 2 AND type <> 'sent';
-- older answers arriving late: the newest stays
INSERT INTO engagement VALUES (1, 'autumn', 'open', 1400),
  (1, 'autumn', 'click', 100), (3, 'autumn', 'complaint', 100),
  (2, 'autumn', 'open', 100);
-- orders: added, re-dated, moved to another customer, removed (with
-- their lines, ON DELETE CASCADE); one customer's re-dated at once
INSERT INTO orders (ref, customer_id, created_at, financial_status,
  total) VALUES ('o1', 1, 1700, 'paid', 1000), ('o2', 1, 1800, 'paid', 2000),
  ('o3', 2, 1900, 'paid', 3000), ('o4', 4, 1750, 'paid', 500),
  ('o5', 5, 1000, 'pending', 100);
INSERT INTO orders (ref, customer_id, created_at, financial_status,
  total) VALUES ('o6', 5, 900, 'paid', 100);
INSERT INTO order_lines VALUES (1, 1, 'sku1', 'Thing', 'stuff', 1, 1000),
  (1, 2, 'sku2', 'Other', 'stuff', 2, 0), (2, 1, 'sku1', 'Thing', 'stuff',
  2, 1000);
UPDATE orders SET created_at = created_at + 10 WHERE customer_id = 1;
UPDATE orders SET created_at = 1650 WHERE ref = 'o2';
UPDATE orders SET customer_id = 3 WHERE ref = 'o3';
UPDATE orders SET financial_status = 'refunded', refunded = 500
  WHERE ref = 'o4';
DELETE FROM orders WHERE ref = 'o1';
DELETE FROM orders WHERE ref = 'o4';
SQL
cat > "$T/read.sql" <<'SQL'
SELECT 'deliveries', customer_id, campaign_id, at, priority
  FROM deliveries ORDER BY customer_id, campaign_id;
SELECT 'engagement_last', customer_id, open_at, click_at, order_at,
  unsubscribe_at, complaint_at, bounce_at, soft_bounce_at
  FROM engagement_last ORDER BY customer_id;
SELECT 'customers', id, email FROM customers ORDER BY id;
SELECT 'orders', id, ref, customer_id, created_at FROM orders ORDER BY id;
SELECT 'order_lines', order_id, line_no FROM order_lines
  ORDER BY order_id, line_no;
SQL

# the copy every trigger check starts from: the schema, no rows
pg "CREATE DATABASE fresh TEMPLATE segm" || fail "CREATE DATABASE fresh"
{ echo "PRAGMA foreign_keys = ON;"; cat "$T/writes.sql"; } | lite \
    > "$T/lite.writes" 2>&1 || fail "writes on SQLite: $(cat "$T/lite.writes")"
pg < "$T/writes.sql" > "$T/pg.writes" 2>&1 ||
    fail "writes on PostgreSQL: $(cat "$T/pg.writes")"
lite < "$T/read.sql" > "$T/lite.rows" || fail "reading SQLite"
pg < "$T/read.sql" > "$T/pg.rows" || fail "reading PostgreSQL"
[ "$(grep -c '^deliveries|' "$T/lite.rows")" -ge 8 ] &&
    [ "$(grep -c '^engagement_last|' "$T/lite.rows")" -ge 5 ] ||
    fail "too few summary rows to compare: $(cat "$T/lite.rows")"
diff "$T/lite.rows" "$T/pg.rows" > "$T/diff" ||
    fail "the summaries differ (< SQLite, > PostgreSQL): $(cat "$T/diff")"

# --- a trigger missing is noticed --------------------------------------
n=0
for trg in $(pg "SELECT tgname || ':' || tgrelid::regclass FROM pg_trigger
    WHERE NOT tgisinternal ORDER BY 1"); do
	n=$((n + 1))
	pg "SET client_min_messages = warning" "DROP DATABASE IF EXISTS mutant" \
	    "CREATE DATABASE mutant TEMPLATE fresh" > /dev/null ||
	    fail "CREATE DATABASE mutant"
	PGSQL_DB=mutant pgsql_psql "$T/pg" \
	    "DROP TRIGGER ${trg%%:*} ON ${trg#*:}" || fail "DROP TRIGGER $trg"
	PGSQL_DB=mutant pgsql_psql "$T/pg" < "$T/writes.sql" > /dev/null 2>&1 ||
	    fail "writes without $trg"
	PGSQL_DB=mutant pgsql_psql "$T/pg" < "$T/read.sql" > "$T/mutant.rows" ||
	    fail "reading without $trg"
	cmp -s "$T/lite.rows" "$T/mutant.rows" &&
	    fail "without trigger $trg the summaries are still SQLite's:" \
	    "the writes do not exercise it"
done
[ "$n" = 8 ] || fail "$n triggers checked, not 8"
echo "t-pgsql-schema: ok ($(wc -l < "$T/lite.rows") rows compared, $n triggers each noticed missing)"
