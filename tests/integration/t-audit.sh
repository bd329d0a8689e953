#!/bin/sh
# t-audit.sh - segctl audit verify/export on a chain built with standard
# tools (printf and sha256sum), so the documented hash form is checked
# independently of the code that writes it: a row's hash is SHA-256 over
# its fields in order, each as LENGTH:VALUE, the previous hash last.
# The rows go into the time index (audit_hours: each hour's first row)
# as segmilter puts them (times after 1970: division rounds down).  The
# same tools rewrite history, which only the heads segmilter logs catch.
# Then `audit archive` moves past months into files: verify and export
# across them, the files damaged one way after another, a crash between
# writing them and pruning the store, and an erasure after archiving.
# engines: sqlite pgsql
# On PostgreSQL (T_STORE_ENGINE=pgsql) the two stores are two databases
# of a private cluster in $T/pg, and the archives' directory is named in
# a configuration (a PostgreSQL store has no directory beside it).
set -u
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/segm-t-audit.XXXXXX)
# store_start, qs STORE SQL on either engine
. tests/lib/fixture.sh
trap 'store_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v sha256sum >/dev/null || { echo "no sha256sum"; exit 77; }
A=$T/a
D=$A/audit-archive
store_start "$T"
ST=$STORE
STA=$(store_db segma "$A/store.db") || fail "database segma"
S="$BUILD/segctl -s $ST --now 2026-11-24T12:00:00Z"

$S init >/dev/null || fail init

f() { printf '%s:%s' "${#1}" "$1"; }
# row SEQ AT RECIPIENT CUSTOMER DECISION PREV -> prints the hash
row_hash() {
	{ f "$1"; f "$2"; f email; f 4XyZ1; f "<m1@example.com>"; f bf-2026
	  f "$3"; f "$4"; f "$5"; f ""; f vip; f vip; f "granted checkout"
	  f cfg; f "$6"; } | sha256sum | cut -d' ' -f1
}
insert() {
	cust=$4
	[ "$cust" = 0 ] && cust=NULL
	qs "$ST" "INSERT INTO audit (seq, at, channel, queue_id,
	    message_id, campaign_id, recipient, customer_id, decision,
	    detail, segment, variant, consent, config_hash, prev_hash, hash)
	    VALUES ($1, $2, 'email',
	    '4XyZ1', '<m1@example.com>', 'bf-2026', '$3', $cust, '$5', '',
	    'vip', 'vip', 'granted checkout', 'cfg', '$6', '$7');
	    INSERT INTO audit_hours VALUES ($2 / 3600, $1)
	    ON CONFLICT DO NOTHING" ||
	    fail "insert row $1"
}
h1=$(row_hash 1 1795000000 ann@example.com 7 deliver "")
insert 1 1795000000 ann@example.com 7 deliver "" "$h1"
h2=$(row_hash 2 1795000001 bob@example.com 0 unknown "$h1")
insert 2 1795000001 bob@example.com 0 unknown "$h1" "$h2"

$S audit verify > "$T/v.out" || fail "verify: $(cat "$T/v.out")"
grep -q "intact: 2 rows" "$T/v.out" || fail "verify: $(cat "$T/v.out")"
grep -q "^head 2:$h2$" "$T/v.out" || fail "head: $(cat "$T/v.out")"

$S -q audit export --since 2026-11-18T11:06:41Z > "$T/x.jsonl" || fail export
[ "$(wc -l < "$T/x.jsonl")" = 1 ] || fail "export --since: $(cat "$T/x.jsonl")"
python3 -c 'import json,sys
r = json.loads(open(sys.argv[1]).readline())
assert r["seq"] == 2 and r["recipient"] == "bob@example.com", r
assert r["customer_id"] is None and r["decision"] == "unknown", r
assert r["at"] == "2026-11-18T11:06:41Z", r' "$T/x.jsonl" ||
	fail "export content: $(cat "$T/x.jsonl")"

# the time index is no part of the chain: a damaged one is told apart,
# and rebuilt
qs "$ST" "DELETE FROM audit_hours"
$S audit verify > "$T/vi.out" && fail "a damaged time index must fail verify"
grep -q "intact: 2 rows" "$T/vi.out" || fail "index: $(cat "$T/vi.out")"
grep -q "^audit time index DAMAGED: row 1 .* has no row for its hour" "$T/vi.out" ||
	fail "index: $(cat "$T/vi.out")"
$S -q audit reindex || fail reindex
$S audit verify > /dev/null || fail "verify after reindex"
[ "$(qs "$ST" "SELECT hour, first_seq FROM audit_hours")" = "498611|1" ] ||
	fail "reindex: $(qs "$ST" "SELECT * FROM audit_hours")"

# an edited decision breaks the row's own hash
qs "$ST" "UPDATE audit SET decision = 'deliver' WHERE seq = 2"
$S audit verify > "$T/v2.out" && fail "an edited row must fail verify"
grep -q "row 2 does not match its hash" "$T/v2.out" || fail "$(cat "$T/v2.out")"
qs "$ST" "UPDATE audit SET decision = 'unknown' WHERE seq = 2"

# history rewritten with these very tools, every hash recomputed: row 1
# now delivered to someone else.  Intact by itself; not the chain whose
# heads segmilter logged, as segmilter logs them (syslog lines)
printf '%s\n' "Nov 18 11:06:40 relay segmilter[7]: 4XyZ1: audit=1:$h1" \
    "Nov 18 11:06:41 relay segmilter[7]: 4XyZ2: campaign=bf-2026: delivered to 1 of 1" \
    "Nov 18 11:06:41 relay segmilter[7]: 4XyZ2: audit=2:$h2" > "$T/mail.log"
$S audit verify --anchors "$T/mail.log" > "$T/va.out" || fail "anchors: $(cat "$T/va.out")"
grep -q "intact: 2 rows, 2 anchors found (the latest at row 2)" "$T/va.out" || fail "anchors: $(cat "$T/va.out")"
# segfeed(8) logs its heads under its own name, a request's id first
printf '%s\n' "Nov 18 11:06:40 relay segmilter[7]: 4XyZ1: audit=1:$h1" \
    "Nov 18 11:06:42 relay segfeed[9]: F6932N1: audit=2:$h2" > "$T/feed.log"
$S audit verify --anchors "$T/feed.log" > "$T/vf.out" || fail "segfeed anchors: $(cat "$T/vf.out")"
grep -q "intact: 2 rows, 2 anchors found (the latest at row 2)" "$T/vf.out" || fail "segfeed anchors: $(cat "$T/vf.out")"
r1=$(row_hash 1 1795000000 eve@example.com 7 deliver "")
r2=$(row_hash 2 1795000001 bob@example.com 0 unknown "$r1")
qs "$ST" "DELETE FROM audit"
insert 1 1795000000 eve@example.com 7 deliver "" "$r1"
insert 2 1795000001 bob@example.com 0 unknown "$r1" "$r2"
$S audit verify > /dev/null || fail "a recomputed chain is a chain by itself"
$S audit verify --anchors - < "$T/mail.log" > "$T/vr.out" && fail "rewritten history not caught"
grep -q "BROKEN after 1 rows: row 1 is not the row the log recorded (audit=1:.*the chain was rewritten" "$T/vr.out" ||
    fail "rewrite: $(cat "$T/vr.out")"

# a cut tail is caught against a head recorded earlier, or logged
qs "$ST" "DELETE FROM audit; DELETE FROM audit_hours"
insert 1 1795000000 ann@example.com 7 deliver "" "$h1"
$S audit verify > /dev/null || fail "a shorter chain is still a chain"
$S audit verify --expect "2:$h2" > "$T/v3.out" && fail "cut tail not caught"
grep -q "the log recorded row 2 .*but the chain ends at row 1: rows were cut off" "$T/v3.out" || fail "$(cat "$T/v3.out")"
$S audit verify --anchors "$T/mail.log" > "$T/v4.out" && fail "cut tail not caught by the log"
$S audit verify --expect "2:nothex" > /dev/null 2>&1
[ $? = 2 ] || fail "a malformed --expect must be a usage error"
$S audit verify --anchors "$T/nowhere.log" > /dev/null 2>&1 && fail "a missing anchors file must fail"

# a sealed row (form 2, schema 12): its recipient, detail and consent are
# hashed as their seal, HMAC-SHA256 under the customer's own key, and the
# row's hash is over "form 2", the fields with those three left empty,
# and the seal before the previous hash
qs "$ST" "INSERT INTO customers (id, email, audit_key)
    VALUES (7, 'ann@example.com', randomblob(32))" || fail "customer 7"
k=$(qs "$ST" "SELECT hex(audit_key) FROM customers WHERE id = 7")
seal=$({ f ann@example.com; f ""; f "granted checkout"; } |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$k" | sed 's/.*= //')
h2s=$({ f "form 2"; f 2; f 1795000001; f email; f 4XyZ1; f "<m1@example.com>"
    f bf-2026; f ""; f 7; f deliver; f ""; f vip; f vip; f ""; f cfg
    f "$seal"; f "$h1"; } | sha256sum | cut -d' ' -f1)
qs "$ST" "INSERT INTO audit (seq, at, channel, queue_id,
    message_id, campaign_id, recipient, customer_id, decision, detail,
    segment, variant, consent, config_hash, prev_hash, hash, form, seal)
    VALUES (2, 1795000001, 'email', '4XyZ1', '<m1@example.com>', 'bf-2026',
    'ann@example.com', 7, 'deliver', '', 'vip', 'vip', 'granted checkout',
    'cfg', '$h1', '$h2s', 2, '$seal')" || fail "insert sealed row"
$S audit verify --expect "2:$h2s" > "$T/vs.out" || fail "sealed row: $(cat "$T/vs.out")"
qs "$ST" "UPDATE audit SET recipient = 'eve@example.com' WHERE seq = 2"
$S audit verify > "$T/vs2.out" && fail "an edited sealed recipient must fail verify"
grep -q "row 2's recipient, detail or consent does not match its seal" "$T/vs2.out" ||
    fail "sealed edit: $(cat "$T/vs2.out")"
# Archives: the rows of past months leave the store for sealed files,
# and verify and export go on across them.  A fresh store: Ann
# (customer 7, sealed rows), Bob nobody's, from October to March.
mkdir -m 0700 "$A"
SA="$BUILD/segctl -s $STA --now 2027-03-15T00:00:00Z"
if [ "${T_STORE_ENGINE:-sqlite}" = pgsql ]; then
	printf 'audit = { archive_dir = "%s"; };\n' "$D" > "$A/pg.conf"
	SA="$BUILD/segctl -c $A/pg.conf -s $STA --now 2027-03-15T00:00:00Z"
fi
$SA init >/dev/null || fail "init the archived store"
qs "$STA" "INSERT INTO customers (id, email, audit_key)
    VALUES (7, 'ann@example.com', randomblob(32))" || fail "customer 7"
k=$(qs "$STA" "SELECT hex(audit_key) FROM customers WHERE id = 7")
seal=$({ f ann@example.com; f ""; f "granted checkout"; } |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$k" | sed 's/.*= //')
# sealed SEQ AT PREV -> Ann's sealed row, inserted; prints its hash
sealed() {
	h=$({ f "form 2"; f "$1"; f "$2"; f email; f 4XyZ1; f "<m1@example.com>"
	    f bf-2026; f ""; f 7; f deliver; f ""; f vip; f vip; f ""; f cfg
	    f "$seal"; f "$3"; } | sha256sum | cut -d' ' -f1)
	qs "$STA" "INSERT INTO audit (seq, at, channel, queue_id,
	    message_id, campaign_id, recipient, customer_id, decision, detail,
	    segment, variant, consent, config_hash, prev_hash, hash, form,
	    seal) VALUES ($1, $2, 'email', '4XyZ1', '<m1@example.com>',
	    'bf-2026', 'ann@example.com', 7, 'deliver', '', 'vip', 'vip',
	    'granted checkout', 'cfg', '$3', '$h', 2, '$seal');
	    INSERT INTO audit_hours VALUES ($2 / 3600, $1)
	    ON CONFLICT DO NOTHING" ||
	    fail "insert sealed row $1"
	echo "$h"
}
# plain SEQ AT PREV -> Bob's row (nobody's), inserted; prints its hash
plain() {
	h=$(row_hash "$1" "$2" bob@example.com 0 unknown "$3")
	qs "$STA" "INSERT INTO audit (seq, at, channel, queue_id,
	    message_id, campaign_id, recipient, customer_id, decision,
	    detail, segment, variant, consent, config_hash, prev_hash, hash)
	    VALUES ($1, $2, 'email', '4XyZ1', '<m1@example.com>', 'bf-2026',
	    'bob@example.com', NULL, 'unknown', '', 'vip', 'vip',
	    'granted checkout', 'cfg', '$3', '$h');
	    INSERT INTO audit_hours VALUES ($2 / 3600, $1)
	    ON CONFLICT DO NOTHING" ||
	    fail "insert row $1"
	echo "$h"
}
a1=$(sealed 1 1791201600 "")		# 2026-10-05
a2=$(plain 2 1791201601 "$a1")
a3=$(plain 3 1793707200 "$a2")		# 2026-11-03
a4=$(sealed 4 1796126400 "$a3")		# 2026-12-01
a5=$(plain 5 1803902400 "$a4")		# 2027-03-01
$SA audit verify > "$T/av.out" || fail "archived store: $(cat "$T/av.out")"
$SA -q audit export > "$T/before.jsonl" || fail "export before archiving"
# the store as it was, for the crash below: SQLite's file, whole
if [ "${T_STORE_ENGINE:-sqlite}" = sqlite ]; then
	qs "$STA" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	cp "$A/store.db" "$T/unarchived.db"
fi

# a month kept back from the 15th of March: October to December go
$SA audit archive --keep-days 30 > "$T/ar.out" || fail "archive: $(cat "$T/ar.out")"
grep -q "^4 audit rows (1 to 4) before 2027-02-01T00:00:00Z archived in 3 files in $D$" "$T/ar.out" ||
	fail "archive: $(cat "$T/ar.out")"
[ "$(ls "$D" | tr '\n' ' ')" = "audit-2026-10-s1.archive audit-2026-11-s3.archive audit-2026-12-s4.archive " ] ||
	fail "archive files: $(ls -a "$D")"
[ "$(qs "$STA" "SELECT group_concat(CAST(seq AS TEXT)) FROM audit")" = 5 ] ||
	fail "rows left: $(qs "$STA" "SELECT seq FROM audit")"
$SA info | grep -q "^audit archives: 3 files in $D, 4 rows (1 to 4), the latest made 2027-03-15T00:00:00Z$" ||
	fail "info: $($SA info)"
$SA audit verify > "$T/av2.out" || fail "verify across archives: $(cat "$T/av2.out")"
grep -q "intact: 5 rows (3 archive files and the store)" "$T/av2.out" || fail "$(cat "$T/av2.out")"
grep -q "^head 5:$a5$" "$T/av2.out" || fail "head: $(cat "$T/av2.out")"
$SA audit verify --expect "4:$a4" --expect "1:$a1" > /dev/null || fail "heads inside the archives"
$SA -q audit export > "$T/after.jsonl" || fail "export across archives"
cmp -s "$T/before.jsonl" "$T/after.jsonl" || fail "export changed: $(diff "$T/before.jsonl" "$T/after.jsonl")"
grep -q ann@example.com "$D"/* && fail "a sealed row's address in an archive"
grep -q bob@example.com "$D/audit-2026-10-s1.archive" || fail "a plain row is archived as it is"
$SA audit archive --keep-days 30 > "$T/ar2.out" || fail "archive again"
grep -q "^no audit rows before 2027-02-01T00:00:00Z to archive$" "$T/ar2.out" || fail "again: $(cat "$T/ar2.out")"

# an archive edited, removed, cut short: named
cp -p "$D"/* "$T/"
sed -i 's/7:unknown/7:unknowN/' "$D/audit-2026-11-s3.archive"
$SA audit verify > "$T/at.out" && fail "an edited archive must fail verify"
grep -q "BROKEN after 3 rows: archive audit-2026-11-s3.archive: row 3 does not match its hash" "$T/at.out" ||
	fail "edited archive: $(cat "$T/at.out")"
cp -p "$T/audit-2026-11-s3.archive" "$D/"
rm "$D/audit-2026-12-s4.archive"
$SA audit verify > "$T/at2.out" && fail "a missing archive must fail verify"
grep -q "archive audit-2026-12-s4.archive is missing" "$T/at2.out" || fail "missing: $(cat "$T/at2.out")"
cp -p "$T/audit-2026-12-s4.archive" "$D/"
head -c 100 "$T/audit-2026-10-s1.archive" > "$D/audit-2026-10-s1.archive"
$SA audit verify > "$T/at3.out" && fail "a truncated archive must fail verify"
grep -q "archive audit-2026-10-s1.archive is damaged after row" "$T/at3.out" || fail "cut: $(cat "$T/at3.out")"
$SA -q audit export > /dev/null 2>"$T/ae.out" && fail "export from a truncated archive"
grep -q "audit export: archive audit-2026-10-s1.archive" "$T/ae.out" || fail "export: $(cat "$T/ae.out")"
cp -p "$T/audit-2026-10-s1.archive" "$D/"
$SA audit verify > /dev/null || fail "the archives restored"

# a crash between the files' renaming and the rows' deletion: files
# nothing records, the rows still in the store; the next run finishes
if [ "${T_STORE_ENGINE:-sqlite}" = sqlite ]; then
	cp "$T/unarchived.db" "$A/store.db"
	rm -f "$A/store.db-wal" "$A/store.db-shm"
else
	# no file to put back on PostgreSQL: the transaction that never
	# committed undone by hand, the archives unrecorded, the rows back
	qs "$STA" "DELETE FROM audit_archives" || fail "unrecord the archives"
	[ "$(sealed 1 1791201600 "")" = "$a1" ] &&
	    [ "$(plain 2 1791201601 "$a1")" = "$a2" ] &&
	    [ "$(plain 3 1793707200 "$a2")" = "$a3" ] &&
	    [ "$(sealed 4 1796126400 "$a3")" = "$a4" ] ||
	    fail "the archived rows back"
fi
$SA audit verify > "$T/ac.out" || fail "after a crash: $(cat "$T/ac.out")"
grep -q "intact: 5 rows$" "$T/ac.out" || fail "after a crash: $(cat "$T/ac.out")"
$SA -q audit archive --keep-days 30 || fail "archive after a crash"
$SA audit verify > "$T/ac2.out" || fail "after a crash: $(cat "$T/ac2.out")"
grep -q "intact: 5 rows (3 archive files and the store)" "$T/ac2.out" || fail "$(cat "$T/ac2.out")"

# an access request gets Ann's archived rows too, opened with her key
$SA customer export ann@example.com > "$T/ann.json" || fail "customer export: $(cat "$T/ann.json")"
python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
a = d["audit_archived"]
assert [r["seq"] for r in a] == ["1", "4"], a
assert all(r["recipient"] == "ann@example.com" for r in a), a
assert a[0]["at"] == "2026-10-05T12:00:00Z", a' "$T/ann.json" ||
	fail "customer export: $(cat "$T/ann.json")"

# Ann erased after her rows were archived: the chain holds, her values
# are gone from the export, and her key with them
$SA -q customer redact --yes ann@example.com > /dev/null || fail "redact"
$SA audit verify > "$T/ar3.out" || fail "verify after erasure: $(cat "$T/ar3.out")"
$SA -q audit export > "$T/erased.jsonl" || fail "export after erasure"
grep -q ann@example.com "$T/erased.jsonl" && fail "an erased address exported"
[ "$(grep -c '"redacted":true' "$T/erased.jsonl")" = 2 ] || fail "erased rows: $(cat "$T/erased.jsonl")"

# audit.archive_dir names where the archives are
printf 'store = "%s";\naudit = { archive_dir = "%s"; };\n' "$STA" \
    "$T/moved" > "$T/a.conf"
SC="$BUILD/segctl -c $T/a.conf --now 2027-03-15T00:00:00Z"
$SC audit verify > "$T/am.out" && fail "archives looked for where they are not"
grep -q "archive audit-2026-10-s1.archive is missing ($T/moved/" "$T/am.out" ||
	fail "archive_dir: $(cat "$T/am.out")"
mv "$D" "$T/moved"
$SC audit verify > /dev/null || fail "archives moved where audit.archive_dir says"
echo "t-audit: ok"
