#!/bin/sh
# t-segctl.sh - segctl end to end on a generated store: imports of every
# kind in Shopify and our formats, idempotent re-import, bad rows with
# FILE:LINE and a non-zero exit, --strict, rebuild, segments, explain.
# engines: sqlite pgsql
# On PostgreSQL (T_STORE_ENGINE=pgsql) each store is a database of a
# private cluster in $T/pg: ST the main one, STL the loud one, STB the
# big one.
set -u
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/segm-t-segctl.XXXXXX)
# store_start, qs STORE SQL on either engine
. tests/lib/fixture.sh
trap 'store_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
P="$T/private"
L="$T/loud"
store_start "$T"
ST=$STORE
STL=$(store_db segml "$L/store.db") || fail "database segml"
STB=$(store_db segmb "$L/big.db") || fail "database segmb"
S="$BUILD/segctl -q -s $ST --now 2026-11-24T12:00:00Z"
V="$BUILD/segctl -s $ST --now 2026-11-24T12:00:00Z"

$S demo-data --customers 300 --seed 7 "$T/data" || fail demo-data
$S import customers "$T/data/customers.csv" 2>/dev/null && fail "import before init must fail"
$S init || fail init

# the store is every customer's data: 0600 in a directory init makes
# 0700, whatever the umask, and its -wal and -shm take its mode; an
# existing store or directory open to group or others is warned about
# (SQLite's: PostgreSQL keeps its files, and their modes, in its data
# directory)
if [ "${T_STORE_ENGINE:-sqlite}" = sqlite ]; then
	(umask 0; $BUILD/segctl -q -s "$P/store.db" init) || fail "init in a new directory"
	[ "$(stat -c %a "$P")" = 700 ] || fail "store directory mode $(stat -c %a "$P")"
	[ "$(stat -c %a "$P/store.db")" = 600 ] || fail "store mode $(stat -c %a "$P/store.db")"
	modes=$(printf '%s\n' "BEGIN IMMEDIATE;" "CREATE TABLE t (x);" \
	    ".shell stat -c %a $P/store.db-wal $P/store.db-shm" "ROLLBACK;" |
	    (umask 0; sqlite3 "$P/store.db") | tr '\n' ' ')
	[ "$modes" = "600 600 " ] || fail "-wal and -shm modes: $modes"
	chmod 0750 "$P"
	chmod 0640 "$P/store.db"
	$BUILD/segctl -q -s "$P/store.db" init 2> "$T/init.err" || fail "init of an existing store: $(cat "$T/init.err")"
	grep -q "^segctl: warning: $P: group or others may read or write it (mode 0750): chmod 0700 $P$" "$T/init.err" ||
	    fail "no warning for the directory: $(cat "$T/init.err")"
	grep -q "^segctl: warning: $P/store.db: group or others may read or write it (mode 0640): chmod 0600 $P/store.db$" "$T/init.err" ||
	    fail "no warning for the store: $(cat "$T/init.err")"
	chmod 0700 "$P"
	chmod 0600 "$P/store.db"
	$BUILD/segctl -q -s "$P/store.db" init 2> "$T/init.err" || fail "init again"
	[ -s "$T/init.err" ] && fail "warnings for a private store: $(cat "$T/init.err")"
fi
for k in products customers orders events consent engagement; do
	$V import $k "$T/data/$k.csv" > "$T/$k.out" || fail "import $k: $(cat "$T/$k.out")"
	grep -q ", 0 bad" "$T/$k.out" || fail "import $k reported bad rows: $(cat "$T/$k.out")"
done
grep -q "Shopify customers export" "$T/customers.out" || fail "customers format not detected"
grep -q "Shopify orders export" "$T/orders.out" || fail "orders format not detected"
grep -q "Shopify products export" "$T/products.out" || fail "products format not detected"

# the same files again change nothing
for k in products customers orders events consent engagement; do
	$V import $k "$T/data/$k.csv" > "$T/$k.again" || fail "re-import $k"
	grep -q ": 0 new, 0 updated" "$T/$k.again" || fail "re-import $k changed rows: $(cat "$T/$k.again")"
done

# a bad row: reported with FILE:LINE, the rest imported, exit 1
head -1 "$T/data/events.csv" > "$T/bad.csv"
echo "x@example.com,product_view,2026-11-01T00:00:00Z,tea,,"  >> "$T/bad.csv"
echo "y@example.com,teleport,2026-11-01T00:00:00Z,tea,,"  >> "$T/bad.csv"
$V import events "$T/bad.csv" > "$T/bad.out" 2> "$T/bad.err" && fail "bad row must exit non-zero"
grep -q "bad.csv:3: type: 'teleport'" "$T/bad.err" || fail "bad row not reported: $(cat "$T/bad.err")"
grep -q "2 records: 1 new" "$T/bad.out" || fail "good row not imported: $(cat "$T/bad.out")"
# --strict imports nothing from that file
sed -i 's/x@example.com/z@example.com/' "$T/bad.csv"
$V import --strict events "$T/bad.csv" > "$T/strict.out" 2>/dev/null && fail "--strict must exit non-zero"
grep -q "nothing imported" "$T/strict.out" || fail "--strict: $(cat "$T/strict.out")"
[ "$(qs "$ST" "SELECT count(*) FROM customers WHERE email = 'z@example.com'")" = 0 ] || fail "--strict imported a row"

# control characters in a name: removed with FILE:LINE, the customer kept
printf 'email,first_name,last_name\nw@example.com,"Ann\r\nMarie",\033[1mLee\n' > "$T/ctl.csv"
$V import customers "$T/ctl.csv" > "$T/ctl.out" 2> "$T/ctl.err" || fail "control characters: $(cat "$T/ctl.err")"
grep -q "ctl.csv:2: warning: first_name: 2 control characters removed" "$T/ctl.err" || fail "not reported: $(cat "$T/ctl.err")"
grep -q "1 new" "$T/ctl.out" || fail "customer not imported: $(cat "$T/ctl.out")"
[ "$(qs "$ST" "SELECT first_name || '|' || last_name FROM customers WHERE email = 'w@example.com'")" = "Ann Marie|[1mLee" ] || fail "control characters stored"

# imports that would lose something silently say so: a Shopify export
# without its consent columns, one customer twice in a file; and the
# rebuild says which orders its rules could not read (no category, a
# currency without a rate), even with -q
mkdir -m 700 "$L"
printf 'First Name,Last Name,Email\nAnn,A,ann@example.com\nBob,B,bob@example.com\nAnn,Again,ANN@example.com\n' > "$L/c.csv"
$BUILD/segctl -q -s "$STL" init || fail "loud: init"
$BUILD/segctl -s "$STL" import customers "$L/c.csv" > "$L/c.out" 2> "$L/c.err" || fail "loud: import: $(cat "$L/c.err")"
grep -q "^$L/c.csv:1: warning: no 'Accepts Email Marketing' column: no email consent is read" "$L/c.err" || fail "no warning for the missing email consent column: $(cat "$L/c.err")"
grep -q "^$L/c.csv:1: warning: no 'Accepts SMS Marketing' column" "$L/c.err" || fail "no warning for the missing SMS consent column: $(cat "$L/c.err")"
grep -q "^$L/c.csv:4: warning: ann@example.com is on line 2 too: this row replaces it$" "$L/c.err" || fail "no warning for the email twice: $(cat "$L/c.err")"
[ "$(grep -c warning "$L/c.err")" = 3 ] || fail "loud: warnings: $(cat "$L/c.err")"
grep -q "3 warnings" "$L/c.out" || fail "loud: summary: $(cat "$L/c.out")"
[ "$(qs "$STL" "SELECT last_name FROM customers WHERE email = 'ann@example.com'")" = Again ] || fail "the later row must win"
printf 'order_id,email,created_at,financial_status,currency,total,sku,quantity,price\n' > "$L/o.csv"
printf '1,ann@example.com,2026-10-01T10:00:00Z,paid,EUR,100.00,ZZ-1,1,100.00\n' >> "$L/o.csv"
printf '2,bob@example.com,2026-10-02T10:00:00Z,paid,USD,50.00,ZZ-2,1,50.00\n' >> "$L/o.csv"
printf '3,bob@example.com,2026-10-03T10:00:00Z,paid,JPY,5000,ZZ-3,1,5000\n' >> "$L/o.csv"
$BUILD/segctl -q -s "$STL" import orders "$L/o.csv" || fail "loud: orders"
$BUILD/segctl -q -s "$STL" --now 2026-11-01T00:00:00Z segments rebuild 2> "$L/r.err" || fail "loud: rebuild: $(cat "$L/r.err")"
grep -q "^segctl: warning: 3 of 3 order lines map to no category" "$L/r.err" || fail "no warning for lines without a category: $(cat "$L/r.err")"
grep -q "^segctl: warning: 2 orders in EUR, JPY, which segments.currency_rates does not rate: counted 1:1 as USD" "$L/r.err" || fail "no warning for unrated currencies: $(cat "$L/r.err")"
printf 'segments = { categories = { sku_prefixes = ( { prefix = "ZZ-"; category = "tea"; } ); };\n  currency_rates = { EUR = 1.1; JPY = 0.0067; }; };\n' > "$L/rated.conf"
$BUILD/segctl -q -c "$L/rated.conf" -s "$STL" --now 2026-11-01T00:00:00Z segments rebuild 2> "$L/r.err" || fail "loud: rebuild rated: $(cat "$L/r.err")"
[ -s "$L/r.err" ] && fail "warnings with every line mapped and rated: $(cat "$L/r.err")"
# on a terminal the rebuild draws its progress (every 4,096 customers),
# then clears the line; `script` gives it one
$S demo-data --customers 4500 --seed 3 "$L/big" > /dev/null || fail "loud: demo-data"
$BUILD/segctl -q -s "$STB" init || fail "loud: init big"
for k in products customers orders; do
	$BUILD/segctl -q -s "$STB" import $k "$L/big/$k.csv" || fail "loud: import $k"
done
script -qec "$BUILD/segctl -s '$STB' --now 2026-11-24T12:00:00Z segments rebuild" /dev/null > "$L/tty.out" < /dev/null ||
    fail "rebuild on a terminal: $(cat "$L/tty.out")"
grep -q "segments rebuild \[#*  *\]  *[0-9]*% 4096 customers" "$L/tty.out" || fail "no progress on a terminal: $(cat -v "$L/tty.out")"
grep -q "generation 1: 4500 customers" "$L/tty.out" || fail "rebuild on a terminal: $(cat -v "$L/tty.out")"
$BUILD/segctl -s "$STB" --now 2026-11-24T12:00:00Z segments rebuild > "$L/notty.out" 2>&1 || fail "rebuild again"
grep -q "\[#" "$L/notty.out" && fail "progress drawn into a file: $(cat -v "$L/notty.out")"

$S segments 2>/dev/null && fail "segments before rebuild must fail"
$V segments rebuild > "$T/rebuild.out" 2> "$T/rebuild.err" || fail "rebuild: $(cat "$T/rebuild.err")"
grep -q "^segctl: warning: [0-9]* orders in .*, which segments.currency_rates does not rate" "$T/rebuild.err" ||
    fail "the demo's foreign currencies not warned about: $(cat "$T/rebuild.err")"
$V segments > "$T/segments.out" || fail segments
for lc in b2b vip lapsed repeat first_time subscriber; do
	grep -q "^  $lc " "$T/segments.out" || fail "segment $lc missing: $(cat "$T/segments.out")"
done
for facet in cart_abandoner interest country currency language; do
	grep -q "^$facet" "$T/segments.out" || fail "facet $facet missing"
done
# counts add up to the customers
total=$(awk '/^lifecycle/{on=1;next} /^[a-z]/{on=0} on{s+=$2} END{print s}' "$T/segments.out")
customers=$(qs "$ST" "SELECT count(*) FROM customers")
[ "$total" = "$customers" ] || fail "lifecycle counts $total != customers $customers"

email=$(qs "$ST" "SELECT c.email FROM customers c JOIN customer_segments s ON s.customer_id = c.id WHERE s.lifecycle = 'vip' LIMIT 1")
$V explain "$email" > "$T/explain.out" || fail explain
grep -q "^segment     vip" "$T/explain.out" || fail "explain: $(cat "$T/explain.out")"
grep -q "vip         yes" "$T/explain.out" || fail "explain vip rule"
grep -q "^  email" "$T/explain.out" || fail "explain consent"
grep -q "^fatigue     [0-9]* campaigns unanswered since .*; personal cadence " "$T/explain.out" ||
    fail "explain fatigue: $(cat "$T/explain.out")"
grep -q "^            a campaign to everyone now: " "$T/explain.out" || fail "explain decision"
grep -q "^  profile     import customers .*customers.csv, arrived " "$T/explain.out" ||
    fail "explain: the profile's source: $(cat "$T/explain.out")"
grep -q "^  order .* of .*: import orders .*orders.csv, arrived " "$T/explain.out" ||
    fail "explain: the orders' source: $(cat "$T/explain.out")"
$S explain nobody@example.com 2>/dev/null && fail "explain of an unknown address must fail"
# the same for BI tools: JSON and CSV
$V segments --format json > "$T/segments.json" || fail "segments --format json"
python3 - "$T/segments.json" "$customers" <<'PY' || fail "segments json: $(head -c 300 "$T/segments.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
life = [r for r in rows if r["facet"] == "lifecycle"]
assert sum(r["customers"] for r in life) == int(sys.argv[2]), life
PY
$V segments --format csv | head -1 | grep -qx "facet,value,customers" || fail "segments csv header"
$V explain --format json "$email" > "$T/explain.json" || fail "explain --format json"
python3 - "$T/explain.json" "$email" <<'PY' || fail "explain json: $(head -c 400 "$T/explain.json")"
import json, sys
rows = {(r["section"], r["key"]): r["value"] for r in json.load(open(sys.argv[1]))}
assert rows[("customer", "email")] == sys.argv[2]
assert rows[("segment", "stored")] == "vip"
assert rows[("consent.email", "state")] in ("granted", "revoked", "none")
assert any(k[0] == "rules" and v.strip().startswith("vip") for k, v in rows.items())
PY
# segctl check checks what segmilter -n does: the campaign files too
mkdir -p "$T/campaigns"
printf 'store = "%s";\nmilter = { campaigns = "%s/campaigns"; };\n' "$ST" "$T" > "$T/check.conf"
printf 'id = "ok";\nvariants = { default = { offer = "1"; }; };\n' > "$T/campaigns/ok.conf"
"$BUILD/segctl" -c "$T/check.conf" check > "$T/check.out" 2>&1 || fail "check: $(cat "$T/check.out")"
grep -q "configuration OK, 1 campaigns in $T/campaigns" "$T/check.out" || fail "check: $(cat "$T/check.out")"
printf 'id = "x";\nvariants = { default = { offer = "1"; }; };\nsendafter = "x";\n' > "$T/campaigns/x.conf"
"$BUILD/segctl" -c "$T/check.conf" check > "$T/check.out" 2>&1 && fail "check passed a misspelt key"
grep -q "^$T/campaigns/x.conf:3: sendafter: unknown setting" "$T/check.out" || fail "check: $(cat "$T/check.out")"
# every slip in every file at once, each at its line, with what was meant
printf 'id = "y";\naudience = { include = [ "vpi" ]; };\nvariants = { default = { offer = "1";\n  sendafter = "x"; }; };\n' > "$T/campaigns/y.conf"
"$BUILD/segctl" -c "$T/check.conf" check > "$T/check.out" 2>&1 && fail "check passed a misspelt segment"
grep -q "^$T/campaigns/x.conf:3: sendafter: unknown setting" "$T/check.out" || fail "check, all at once: $(cat "$T/check.out")"
grep -q "^$T/campaigns/y.conf:2: audience.include: 'vpi' is no segment or facet: did you mean 'vip'?$" "$T/check.out" ||
    fail "check, a misspelt segment: $(cat "$T/check.out")"
grep -q "^$T/campaigns/y.conf:4: variants.default.sendafter: did you mean send_after?$" "$T/check.out" ||
    fail "check, a misspelt key in a variant: $(cat "$T/check.out")"
rm "$T/campaigns/x.conf" "$T/campaigns/y.conf"

# --help on every command: its usage, to stdout, success
# info: what the store holds, table by table, the rows as SQLite counts
$BUILD/segctl -s "$ST" info > "$T/info.out" || fail "info: $(cat "$T/info.out")"
# a file's size in MB after the version; a PostgreSQL store has no file
mb=', [0-9.]* MB'
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && mb='$'
grep -q "^$ST: schema version [0-9]*$mb" "$T/info.out" || fail "info: $(cat "$T/info.out")"
for tb in customers orders consent engagement; do
	n=$(qs "$ST" "SELECT count(*) FROM $tb")
	grep -Eq "^  $tb +$n rows +[0-9.]+ MB$" "$T/info.out" || fail "info, $tb ($n rows): $(cat "$T/info.out")"
done
grep -Eq "^  \(all\) +[0-9]+ rows" "$T/info.out" || fail "info, the total: $(cat "$T/info.out")"

# retention: info and prune --dry-run say what prune removes, prune does
# it, and the campaign is then a duplicate for everyone
printf 'store = "%s";\nretention = { horizon_days = 400; };\n' "$ST" > "$T/ret.conf"
id=$(qs "$ST" "SELECT min(id) FROM customers")
qs "$ST" "INSERT INTO ledger (campaign_id, recipient, message_key,
    customer_id, queue_id, decision, at) VALUES
    ('winter-2024', 'a@example.com', 'm1', $id, 'Q1', 'deliver', 1733000000),
    ('winter-2024', 'ghost@example.com', 'm1', 0, 'Q1', 'unknown', 1733000000),
    ('spring-2026', 'a@example.com', 'm2', $id, 'Q2', 'deliver', 1775000000)" ||
    fail "insert the ledger rows"
$BUILD/segctl -c "$T/ret.conf" --now 2026-03-01 info > "$T/info.out" || fail "info: $(cat "$T/info.out")"
grep -q "^retention: 400 days; campaigns idle since before 2025-01-25T00:00:00Z$" "$T/info.out" ||
    fail "info, retention: $(cat "$T/info.out")"
grep -q "^  segctl prune would close 1 campaign: 2 ledger rows, 0 engagement rows, 0 outbox jobs, 0 copy notes$" \
    "$T/info.out" || fail "info, what prune removes: $(cat "$T/info.out")"
$BUILD/segctl -c "$T/ret.conf" --now 2026-03-01 prune --dry-run > "$T/prune.out" || fail "prune --dry-run"
grep -q "^would close 1 campaign: 2 ledger rows" "$T/prune.out" || fail "prune --dry-run: $(cat "$T/prune.out")"
[ "$(qs "$ST" "SELECT count(*) FROM ledger")" = 3 ] || fail "prune --dry-run removed rows"
$BUILD/segctl -c "$T/ret.conf" --now 2026-03-01 prune > "$T/prune.out" || fail "prune: $(cat "$T/prune.out")"
grep -q "^closed 1 campaign: 2 ledger rows" "$T/prune.out" || fail "prune: $(cat "$T/prune.out")"
[ "$(qs "$ST" "SELECT group_concat(campaign_id) FROM ledger")" = spring-2026 ] ||
    fail "prune: the wrong rows went"
# the summary the rules read: the closed campaign's delivery went with
# the trim (before the customer's newer ones, their last answer and the
# window), the open one's stays
[ "$(qs "$ST" "SELECT group_concat(campaign_id) FROM deliveries
    WHERE customer_id = $id AND campaign_id IN ('winter-2024', 'spring-2026')")" = spring-2026 ] ||
    fail "prune: the delivery summary"
grep -q "; [1-9][0-9]* delivery summary rows trimmed$" "$T/prune.out" || fail "prune, the trim: $(cat "$T/prune.out")"
$BUILD/segctl -c "$T/ret.conf" report winter-2024 > "$T/report.out" 2>&1 && fail "report of a closed campaign without decisions"
grep -q "campaign 'winter-2024': closed by retention 2026-03-01T00:00:00Z (2 decided, 1 delivered)" "$T/report.out" ||
    fail "report of a closed campaign: $(cat "$T/report.out")"
$BUILD/segctl -c "$T/ret.conf" --now 2026-03-01 prune > "$T/prune.out" || fail "prune again"
grep -q "^closed 0 campaigns: 0 ledger rows" "$T/prune.out" || fail "prune again: $(cat "$T/prune.out")"
printf 'store = "%s";\nretention = { horizon_days = 20; };\n' "$ST" > "$T/ret.conf"
$BUILD/segctl -c "$T/ret.conf" prune > "$T/prune.out" 2>&1 && fail "prune took a horizon inside the cap window"
grep -q "ret.conf:2: retention.horizon_days: 20: at least 31" "$T/prune.out" || fail "prune, the check: $(cat "$T/prune.out")"
# retention off: nothing closes, the delivery summaries are still trimmed
printf 'store = "%s";\nretention = { horizon_days = 0; };\n' "$ST" > "$T/ret.conf"
$BUILD/segctl -c "$T/ret.conf" prune --dry-run > "$T/prune.out" 2>&1 || fail "prune --dry-run, retention off"
grep -q "^retention off (retention.horizon_days = 0): nothing to close$" "$T/prune.out" ||
    fail "prune --dry-run, retention off: $(cat "$T/prune.out")"
$BUILD/segctl -c "$T/ret.conf" prune > "$T/prune.out" 2>&1 || fail "prune, retention off"
grep -q "^retention off (retention.horizon_days = 0): nothing to close; [0-9]* delivery summary rows trimmed$" \
    "$T/prune.out" || fail "prune, retention off: $(cat "$T/prune.out")"

for c in init import segments explain demo-data check preview report outbox \
    unsubscribe customer optout bounce webhook audit info prune; do
	"$BUILD/segctl" $c --help > "$T/help.out" 2> "$T/help.err" || fail "$c --help: exit $?"
	grep -q "^usage: segctl .* $c" "$T/help.out" || fail "$c --help: $(cat "$T/help.out" "$T/help.err")"
	[ -s "$T/help.err" ] && fail "$c --help wrote to stderr: $(cat "$T/help.err")"
done
for p in segmilter segfeed; do
	"$BUILD/$p" --help > "$T/help.out" 2>&1 || fail "$p --help: exit $?"
	grep -q "^usage: $p" "$T/help.out" || fail "$p --help: $(cat "$T/help.out")"
	"$BUILD/$p" -x > /dev/null 2>&1
	[ $? = 64 ] || fail "$p -x: not a usage error"
done
echo "t-segctl: ok"
