#!/bin/sh
# t-bounce.sh - segctl bounce on the fixture store, as Postfix's pipe(8)
# runs it: reports from tests/fixtures/dsn/ with tokens made here from
# the key file by the recipe in include/bounce.h (openssl, xxd, base32:
# a second implementation of the format), then the store's rows, the
# next decision segctl preview makes, the exit codes pipe(8) acts on
# (0, EX_DATAERR 65, EX_TEMPFAIL 75, EX_USAGE 64) and the quarantine.
# engines: sqlite pgsql
# On PostgreSQL (T_STORE_ENGINE=pgsql) the store is the database of a
# private cluster in $T/pg (tests/lib/pgsql.sh).  No ports opened.
set -u
BUILD=${BUILD:-build}
SRC=$(pwd)
T=$(mktemp -d /tmp/segm-t-bounce.XXXXXX)
. "$SRC/tests/lib/fixture.sh"
trap 'store_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db=psql
for c in openssl xxd base32 $db; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
store_start "$T"
if [ "${T_STORE_ENGINE:-sqlite}" = pgsql ]; then
	# a server nobody listens for: the store cannot be reached
	NOSTORE="postgresql:///segm?host=$T/none&user=segm"
else
	NOSTORE=$T/none/store.db
fi
fixture_store "$T" || fail "fixture store"
(umask 077; openssl rand -hex 32 > "$T/key")
echo "outbox = { key_file = \"$T/key\"; };" >> "$T/segmilter.conf"
mkdir "$T/q"
B="$BUILD/segctl -c $T/segmilter.conf bounce"
F="$SRC/tests/fixtures/dsn"

# token ID EMAIL CAMPAIGN [KEYFILE]: bounces+TOKEN's TOKEN
. "$SRC/tests/lib/bounce.sh"
token() { bounce_token "$1" "$2" "$3" "${4:-$T/key}"; }
id() { q "SELECT id FROM customers WHERE email = '$1'"; }
# with FIXTURE's XTOKENX replaced by TOKEN
report() { sed "s/XTOKENX/$2/g" "$F/$1"; }
decision() {
	printf 'Subject: s\nX-Campaign-ID: launch\n\nHi\n' > "$T/m.eml"
	$BUILD/segctl -c "$T/segmilter.conf" preview --to "$1" "$T/m.eml" |
	    grep -E "^  [a-z_]+ +1$" | awk '{ print $1 }'
}
nq() { ls "$T/q" | grep -c "$1"; }

[ "$(decision sue@example.com)" = "" ] || fail "sue suppressed before"

# a hard bounce, the token in the envelope recipient (${recipient})
tok=$(token "$(id sue@example.com)" sue@example.com launch)
[ ${#tok} = 40 ] || fail "token length ${#tok}"
report postfix-hard.eml "$tok" | $B --recipient "bounces+$tok@shop.example" \
    --quarantine "$T/q" > "$T/out" 2>&1 || fail "hard bounce: $(cat "$T/out")"
grep -q "^sue@example.com: hard bounce 5.1.1 recorded (campaign launch)$" \
    "$T/out" || fail "hard bounce said: $(cat "$T/out")"
[ "$(q "SELECT count(*) FROM engagement e JOIN customers c ON c.id = \
    e.customer_id WHERE c.email = 'sue@example.com' AND e.type = 'bounce' \
    AND e.campaign_id = 'launch'")" = 1 ] || fail "no bounce row"
[ "$(q "SELECT decision || ' ' || substr(detail, 1, 9) FROM audit \
    WHERE recipient = 'sue@example.com'")" = "hard_bounce 5.1.1 550" ] ||
    fail "audit row: $(q "SELECT * FROM audit")"
[ "$(decision sue@example.com)" = bounced ] || fail "sue not bounced"
$BUILD/segctl -c "$T/segmilter.conf" audit verify > /dev/null ||
    fail "audit chain"

# forged: a token from another key changes nothing, is kept, exit 0
(umask 077; openssl rand -hex 32 > "$T/other.key")
bad=$(token "$(id fred@example.com)" fred@example.com launch "$T/other.key")
before=$(q "SELECT count(*) FROM engagement")
report postfix-hard.eml "$bad" | $B --recipient "bounces+$bad@shop.example" \
    --quarantine "$T/q" 2> "$T/err"
[ $? = 0 ] || fail "forged: exit $?"
grep -q "no genuine bounce token: nothing recorded" "$T/err" ||
    fail "forged said: $(cat "$T/err")"
[ "$(q "SELECT count(*) FROM engagement")" = "$before" ] || fail "forged wrote"
[ "$(nq not-ours)" = 1 ] || fail "forged not kept: $(ls "$T/q")"

# soft bounces: three within 30 days suppress; the token in the returned
# headers only
tok=$(token "$(id fred@example.com)" fred@example.com launch)
for d in 3 2 1; do
	report postfix-delayed.eml "$tok" | $BUILD/segctl -c "$T/segmilter.conf" \
	    --now "$(ago "$d hours")" bounce --quarantine "$T/q" > "$T/out" 2>&1 ||
	    fail "soft: $(cat "$T/out")"
	grep -q "^fred@example.com: soft bounce 4.4.1 recorded" "$T/out" ||
	    fail "soft said: $(cat "$T/out")"
	if [ $d = 2 ]; then
		[ "$(decision fred@example.com)" = "" ] ||
		    fail "fred suppressed after 2 soft bounces"
	fi
done
[ "$(decision fred@example.com)" = bounced ] || fail "fred not bounced"

# a complaint (Yahoo's ARF): the token in Original-Mail-From
tok=$(token "$(id rita@example.com)" rita@example.com launch)
report yahoo-arf.eml "$tok" | $B --quarantine "$T/q" > "$T/out" 2>&1 ||
    fail "complaint: $(cat "$T/out")"
grep -q "^rita@example.com: complaint recorded (campaign launch)$" "$T/out" ||
    fail "complaint said: $(cat "$T/out")"
[ "$(decision rita@example.com)" = unsubscribed ] || fail "rita not suppressed"
[ "$(q "SELECT count(*) FROM engagement WHERE type = 'complaint'")" = 1 ] ||
    fail "no complaint row"

# unreadable: EX_DATAERR, kept byte for byte first
for m in malformed-not-mime.eml malformed-no-report.eml \
    malformed-truncated.eml; do
	$B --quarantine "$T/q" < "$F/$m" 2> "$T/err"
	rc=$?
	[ $rc = 65 ] || fail "$m: exit $rc"
	grep -q "not a report we can read" "$T/err" || fail "$m said: $(cat "$T/err")"
done
[ "$(nq unreadable)" = 3 ] || fail "unreadable not kept: $(ls "$T/q")"
for m in malformed-not-mime.eml malformed-no-report.eml \
    malformed-truncated.eml; do
	kept=0
	for k in "$T"/q/*.unreadable.eml; do
		cmp -s "$k" "$F/$m" && kept=1
	done
	[ $kept = 1 ] || fail "$m not kept byte for byte"
done
[ "$(stat -c %a "$(ls "$T"/q/*.eml | head -1)")" = 600 ] || fail "quarantine mode"
$B < "$F/malformed-not-mime.eml" 2>/dev/null
[ $? = 65 ] || fail "unreadable without a quarantine: not 65"

# EX_TEMPFAIL: no store to write, a quarantine that takes nothing
report postfix-hard.eml x | $BUILD/segctl -c "$T/segmilter.conf" \
    -s "$NOSTORE" bounce --recipient "bounces+$tok@shop.example" \
    2>/dev/null
[ $? = 75 ] || fail "no store: not 75"
$B --quarantine "$T/none" < "$F/malformed-not-mime.eml" 2>/dev/null
[ $? = 75 ] || fail "no quarantine: not 75"

# usage, and a configuration without a key
$B extra < /dev/null 2>/dev/null
[ $? = 64 ] || fail "usage: not 64"
grep -v key_file "$T/segmilter.conf" > "$T/nokey.conf"
$BUILD/segctl -c "$T/nokey.conf" bounce < "$F/postfix-hard.eml" 2>/dev/null
[ $? = 78 ] || fail "no key: not 78"
echo "t-bounce: ok"
