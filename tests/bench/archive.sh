#!/bin/sh
# archive.sh - make bench, part archive: what the audit archives cost.
# BENCH_ARCHIVE_ROWS audit rows (default 200,000) over four months, July
# to October 2026, every second one about a customer (sealed: HMAC under
# their own key) of 5,000 in turn, the rest nobody's; the chain is
# written here with Python's hashlib in the documented hashed form (so
# that `audit verify` accepting it checks that form once more).  Then,
# BENCH_ROUNDS rounds (default 3) on a fresh copy each: verify and
# export with every row in the store, `audit archive --keep-days 30` at
# 2026-11-15 (July to September into three files), verify and export
# across the archives and the rows left.  Prints seconds of CPU, median
# (rounds), and the sizes.
set -eu
BUILD=${BUILD:-build}
ROWS=${BENCH_ARCHIVE_ROWS:-200000}
ROUNDS=${BENCH_ROUNDS:-3}
D=${BENCH_ARCHIVE_DIR:-/tmp/segm-bench-archive}
. tests/bench/lib.sh

rm -rf "$D"
mkdir -p "$D"
chmod 700 "$D"
S="$BUILD/segctl -q -s $D/store.db --now 2026-11-15T00:00:00Z"
$S init
python3 - "$D/store.db" "$ROWS" <<'PY'
import hashlib, hmac, os, sqlite3, sys

db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
ncust, start, span = 5000, 1783080000, 4 * 30 * 86400	# from 2026-07-03

def lv(v):
	v = str(v).encode()
	return str(len(v)).encode() + b":" + v

keys = [os.urandom(32) for _ in range(ncust)]
db.executemany("INSERT INTO customers (id, email, audit_key) VALUES (?, ?, ?)",
    ((i + 1, "c%d@example.com" % i, keys[i]) for i in range(ncust)))
prev, rows = "", []
for i in range(n):
	seq, at = i + 1, start + span * i // n
	rcpt, cust = "c%d@example.com" % (i % ncust), (i % ncust) + 1 if i % 2 else 0
	consent = "granted checkout 2026-01-01"
	fixed = [lv("email"), lv("4XyZ1"), lv("<m1@example.com>"), lv("bf-2026")]
	tail = [lv("deliver")]
	if cust:
		seal = hmac.new(keys[cust - 1], lv(rcpt) + lv("") + lv(consent),
		    hashlib.sha256).hexdigest()
		parts = [lv("form 2"), lv(seq), lv(at)] + fixed + [lv(""), lv(cust),
		    lv("deliver"), lv(""), lv("vip"), lv("vip"), lv(""),
		    lv("abcdef0123456789"), lv(seal), lv(prev)]
	else:
		seal = ""
		parts = [lv(seq), lv(at)] + fixed + [lv(rcpt), lv(0), lv("deliver"),
		    lv(""), lv("vip"), lv("vip"), lv(consent),
		    lv("abcdef0123456789"), lv(prev)]
	h = hashlib.sha256(b"".join(parts)).hexdigest()
	rows.append((seq, at, rcpt, cust or None, consent, prev, h, seal))
	prev = h
db.executemany("INSERT INTO audit (seq, at, channel, queue_id, message_id,"
    " campaign_id, recipient, customer_id, decision, detail, segment, variant,"
    " consent, config_hash, prev_hash, hash, form, seal) VALUES (?, ?, 'email',"
    " '4XyZ1', '<m1@example.com>', 'bf-2026', ?, ?, 'deliver', '', 'vip', 'vip',"
    " ?, 'abcdef0123456789', ?, ?, 2, ?)", rows)
db.execute("INSERT INTO audit_hours SELECT at / 3600, min(seq) FROM audit"
    " GROUP BY 1")
db.commit()
PY
$S audit verify > /dev/null
cp "$D/store.db" "$D/pristine.db"

# cpu LABEL COMMAND...: the CPU seconds, appended to the results
cpu() {
	label=$1
	shift
	/usr/bin/time -f "%U %S" -o "$D/time.out" "$@" > /dev/null
	awk -v l="$label" '{ print l, $1 + $2 }' "$D/time.out" >> "$D/results"
}

echo "== archive: $ROWS audit rows, half sealed, $ROUNDS rounds ($(nproc) cores)"
: > "$D/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	db_fresh "$D/pristine.db" "$D/store.db"
	rm -rf "$D/audit-archive"
	cpu store-verify $S audit verify
	cpu store-export $S audit export
	cpu archive $S audit archive --keep-days 30
	cpu archives-verify $S audit verify
	cpu archives-export $S audit export
	r=$((r + 1))
done
for l in store-verify store-export archive archives-verify archives-export; do
	awk -v l="$l" "$AWK_MEDIAN"'
	    $1 == l { s = s " " $2 }
	    END { printf "%-18s %6.2f s cpu (%s)\n", l, median(s),
		spread(s, "%.2f") }' "$D/results"
done
printf 'rows left in the store: %s; archives: %s in %s files\n' \
    "$(sqlite3 "$D/store.db" "SELECT count(*) FROM audit")" \
    "$(du -sh "$D/audit-archive" | cut -f1)" "$(ls "$D/audit-archive" | wc -l)"
rm -rf "$D"
