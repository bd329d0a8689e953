#!/bin/sh
# t-lift.sh - the lift report recovers a known truth.  A synthetic store
# of 12,000 customers; a campaign with arms (tailored 45%, broad 45%,
# none 10%) sent to all of them through a private Postfix and
# segmilter; then what its recipients order is simulated with a known
# true effect per segment and arm (segctl demo-data --outcomes: lapsed
# answers the tailored mail 3 points better than the broad one, VIPs
# not at all), imported, and reported.  Over five fixed seeds the 95%
# intervals of tailored - broad hold the true differences (in four runs
# of five at least), and the VIPs' null effect is called "no
# difference".  The JSON report
# agrees with the text one, and the HTML one, rendered in a headless
# Chromium, with the JSON.  Each seed starts from the store as sent: a
# copy of the file on SQLite, of the database (a template) on PostgreSQL.
# engines: sqlite pgsql
#
# Needs root (Postfix's master), postfix, smtp-sink, swaks, sqlite3 (psql
# on PostgreSQL) and python3: skipped (77) without them.
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-lift: needs root"; exit 77; }
client=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && client=psql
for p in postfix smtp-sink swaks $client python3 openssl; do
	command -v $p >/dev/null 2>&1 || { echo "t-lift: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-lift
# q, on either engine
. "$SRC/tests/lib/fixture.sh"
PORT=${T_LIFT_PORT:-13425}
SINK=$((PORT + 1))
N=12000
NOW=2026-12-01T10:00:00Z
S="$BUILD/segctl -q -c $T/segmilter.conf --now $NOW"
mkdir -p "$T/campaigns"
# a fixed key: who falls in which arm is the same on every run
(umask 077; echo 5e9a1c0b7d3f4e2a8b6c9d0e1f2a3b4c5d6e7f8091a2b3c4 > "$T/key")
cat > "$T/segmilter.conf" <<CONF
store = "${STORE:-$T/store.db}";
milter = { socket = "unix:$T/segmilter.sock"; socket_mode = "0666";
  user = ""; campaigns = "$T/campaigns"; spool_dir = "$T"; };
outbox = { key_file = "$T/key"; };
policy = { cap_count = 0; fatigue_unanswered = 0; };
# VIPs the top 20%, so that their arms can show "no difference"; the
# report calls a difference it could miss under 8 points "too few"
segments = { vip = { top_percent = 20.0; }; };
report = { min_effect_points = 8; };
CONF
cat > "$T/campaigns/autumn.conf" <<'CONF'
id = "autumn";
arms = { tailored = 45; broad = 45; none = 10; };
variants = {
  lapsed = { offer = "We miss you: 15% off"; code = "MISSYOU15"; };
  vip = { offer = "Early access"; code = "VIPEARLY"; };
  default = { offer = "10% off"; code = "AUTUMN10"; };
};
CONF
$S demo-data --customers $N --seed 7 "$T/data" || fail "demo-data"
$S init || fail init
for k in products consent customers orders events engagement; do
	$S import $k "$T/data/$k.csv" 2> "$T/import.err" || fail "import $k: $(cat "$T/import.err")"
done
$S segments rebuild || fail rebuild

milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"
q "SELECT email FROM customers ORDER BY id" > "$T/recipients"
split -l 500 "$T/recipients" "$T/batch."
for b in "$T"/batch.*; do
	printf 'From: Shop <news@shop.example>\nSubject: {{offer}}\nX-Campaign-ID: autumn\n\n{{offer}}: {{code}}\n' |
	    swaks -n --server "127.0.0.1:$PORT" --from news@shop.example \
	    --to "$(paste -sd, "$b")" --data - > "$b.swaks" 2>&1 ||
	    fail "send $b: $(tail -3 "$b.swaks")"
done
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
# segmilter holds the store open: it goes before the store is copied
# (on PostgreSQL, a template database may have no one connected)
kill "$MPID" && wait "$MPID" 2>/dev/null
MPID=""
[ "$(q "SELECT count(*) FROM ledger WHERE campaign_id = 'autumn' AND arm IS NOT NULL")" -gt 5000 ] ||
    fail "arms: $(q "SELECT arm, count(*) FROM ledger GROUP BY arm")"
# the store as sent, put back before each seed
if [ "${T_STORE_ENGINE:-sqlite}" = pgsql ]; then
	PGSQL_DB=postgres pgsql_psql "$T/pg" "CREATE DATABASE sent TEMPLATE segm" ||
	    fail "the store as sent"
	restore_sent() {
		PGSQL_DB=postgres pgsql_psql "$T/pg" "DROP DATABASE segm" \
		    "CREATE DATABASE segm TEMPLATE sent"
	}
else
	cp "$T/store.db" "$T/sent.db"
	restore_sent() {
		cp "$T/sent.db" "$T/store.db" &&
		    rm -f "$T/store.db-wal" "$T/store.db-shm"
	}
fi

# Five seeds: a 95% interval misses the truth one time in twenty, so
# each truth must be inside in at least four of the five runs (the odds
# of two misses in five, by chance, are 2%), and VIP's null effect be
# called "no difference" in at least four
SEEDS="1 2 3 4 5"
for seed in $SEEDS; do
	restore_sent || fail "the store as sent, seed $seed"
	$S demo-data --outcomes autumn --seed $seed "$T/sim.csv" || fail "simulate $seed"
	$S import orders "$T/sim.csv" 2> "$T/import.err" || fail "import $seed: $(cat "$T/import.err")"
	$S report --format json autumn > "$T/r$seed.json" || fail "report $seed"
	$S report autumn > "$T/r$seed.txt" || fail "report text $seed"
	python3 - "$T/r$seed.json" "$T/r$seed.txt" <<'PY' || fail "seed $seed: $(cat "$T/r$seed.txt")"
import json, sys
r = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
cmp = {(c["segment"], c["a"], c["b"]): c for c in r["lift"]["comparisons"]}
for seg in ("lapsed", "vip"):
    assert (seg, "tailored", "broad") in cmp, seg
    # the text report says the same
    line = "%s %s" % (seg.ljust(12), "tailored  - broad")
    assert line in text, line
# the held out order less than those mailed: the campaign did something
assert cmp[("all", "broad", "none")]["conversion_points"]["estimate"] > 0
# every recipient in one cell; the codes counted
cells = r["lift"]["cells"]
assert sum(c["recipients"] for c in cells) > 5000
assert sum(c["code_orders"] for c in cells if c["arm"] != "none") > 0
assert all(c["code_orders"] == 0 for c in cells if c["arm"] == "none")
PY
done
python3 - "$T" $SEEDS <<'PY' || fail "the truth not recovered"
import json, sys
truth = {"lapsed": 3.0, "vip": 0.0}	# tailored - broad, in points
hits = {seg: 0 for seg in truth}
null = 0
for seed in sys.argv[2:]:
    r = json.load(open("%s/r%s.json" % (sys.argv[1], seed)))
    cmp = {(c["segment"], c["a"], c["b"]): c for c in r["lift"]["comparisons"]}
    for seg, d in truth.items():
        iv = cmp[(seg, "tailored", "broad")]["conversion_points"]
        hits[seg] += iv["low"] <= d <= iv["high"]
        print("seed %s: %s %+.2f [%+.2f, %+.2f], truth %+.1f" % (seed, seg,
            iv["estimate"], iv["low"], iv["high"], d))
    null += cmp[("vip", "tailored", "broad")]["verdict"] == "no difference"
n = len(sys.argv) - 2
assert all(h >= n - 1 for h in hits.values()), hits
assert null >= n - 1, null
PY
# the HTML report of the last seed, in a real browser: it renders with
# nothing on the console, and its tables say what the JSON report says;
# the screenshot stays in $BUILD/artifacts
if command -v chromium >/dev/null 2>&1; then
	A=${ARTIFACTS:-$BUILD/artifacts}
	mkdir -p "$A"
	$S report --format html autumn > "$T/report.html" || fail "report html"
	grep -Eq '<(script|link|img)[ >]|src=|https?://' "$T/report.html" &&
	    fail "the HTML is not self-contained"
	B="chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0"
	$B --dump-dom "file://$T/report.html" > "$T/dom.html" 2> "$T/chromium.err" ||
	    fail "chromium: $(tail -3 "$T/chromium.err")"
	grep -i "console" "$T/chromium.err" && fail "console messages"
	$B --screenshot="$A/t-lift-report.png" --window-size=1000,2400 \
	    "file://$T/report.html" 2>> "$T/chromium.err" || fail "screenshot"
	[ -s "$A/t-lift-report.png" ] || fail "no screenshot"
	python3 - "$T/dom.html" "$T/r5.json" <<'PY' || fail "the page and the JSON report disagree"
import html.parser, json, sys

class Tables(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.table, self.row, self.cell = {}, None, None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.row = [a]
            self.table.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "table":
            self.table = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

p = Tables()
p.feed(open(sys.argv[1]).read())
r = json.load(open(sys.argv[2]))["lift"]
rows = {(x[0].get("data-segment"), x[0].get("data-a"), x[0].get("data-b")): x[1:]
        for x in p.tables["comparisons"][1:]}
assert len(rows) == len(r["comparisons"]) > 0
for c in r["comparisons"]:
    row = rows[(c["segment"], c["a"], c["b"])]
    cv, rv = c["conversion_points"], c["revenue_per_recipient"]
    assert row[2] == "%d / %d" % (c["recipients_a"], c["recipients_b"]), row
    assert row[3] == "%+.2f" % cv["estimate"], (row, cv)
    assert row[4] == "%+.2f to %+.2f" % (cv["low"], cv["high"]), (row, cv)
    assert row[5] == "%+.2f" % rv["estimate"], (row, rv)
    assert row[7].startswith(c["verdict"]), (row, c)
cells = p.tables["cells"][1:]
assert len(cells) == len(r["cells"])
for row, c in zip(cells, r["cells"]):
    assert row[1:5] == [c["segment"], c["variant"], c["arm"], str(c["recipients"])], (row, c)
    assert row[5] == str(c["converters"]) and row[9] == str(c["code_orders"]), (row, c)
    assert row[8] == "%.2f" % c["revenue"], (row, c)
days = {x[0]["data-arm"]: x[2:] for x in p.tables["days-table"][1:]}
for arm, v in r["first_orders_by_day"].items():
    assert days[arm] == [str(n) for n in v], (arm, days[arm], v)
PY
fi
echo "t-lift: ok ($(q "SELECT count(*) FROM ledger WHERE campaign_id = 'autumn'") decisions; seeds $SEEDS)"
