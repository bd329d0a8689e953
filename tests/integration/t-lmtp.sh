#!/bin/sh
# t-lmtp.sh - segfeed's LMTP listener for bounces (feedback.lmtp_listen)
# on the fixture store, driven by tests/lib/lmtp.py as Postfix's lmtp(8)
# would: several reports over one connection, a reply per recipient.  A
# hard bounce and a complaint recorded (250), each with its audit row; a
# forged token changes nothing and is kept (250); an unreadable message
# is kept and refused (554); a report for two return paths answered for
# each; the store gone: 451, nothing lost, recorded once it is back; -n
# names the listener, a bad lmtp_listen is refused with FILE:LINE;
# SIGTERM removes the socket.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
SRC=$(pwd)
F="$SRC/$BUILD/segfeed"
PORT=${T_LMTP_PORT:-13145}
T=$(mktemp -d /tmp/segm-t-lmtp.XXXXXX)
PID=""
. "$SRC/tests/lib/fixture.sh"	# and wait.sh
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; store_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; [ -f "$T/log" ] && tail -20 "$T/log"; exit 1; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db=psql
for c in python3 openssl xxd base32 $db; do
	command -v $c >/dev/null 2>&1 || { echo "t-lmtp: no $c"; exit 77; }
done
store_start "$T"
. "$SRC/tests/lib/bounce.sh"
fixture_store "$T" 2>/dev/null || fail "fixture store"
(umask 077; openssl rand -hex 32 > "$T/key"; openssl rand -hex 32 > "$T/other")
mkdir "$T/q"
sed -i "s|^  spool_dir = \(.*\);|  spool_dir = \1; unsubscribe_url = \"https://shop.example/u/\";|" "$T/segmilter.conf"
cat >> "$T/segmilter.conf" <<CONF
outbox = { key_file = "$T/key"; };
feedback = {
  listen = "127.0.0.1:$PORT";
  page_template = "$SRC/conf/unsubscribe.html";
  lmtp_listen = "unix:$T/lmtp.sock";
  quarantine_dir = "$T/q";
};
CONF
L="python3 $SRC/tests/lib/lmtp.py unix:$T/lmtp.sock"
FX="$SRC/tests/fixtures/dsn"
cust_id() { q "SELECT id FROM customers WHERE email = '$1'"; }
tok() { bounce_token "$(cust_id "$1")" "$1" launch "${2:-$T/key}"; }
# FIXTURE with its token and recipient replaced, into FILE
report() { sed -e "s/XTOKENX/$2/g" -e "s/sue@example.com/$3/g" "$FX/$1" > "$4"; }
engaged() { q "SELECT count(*) FROM engagement e JOIN customers c ON c.id = e.customer_id WHERE c.email = '$1' AND e.type = '$2'"; }

# -n: the listener named; a bad address refused at its line
"$F" -n -c "$T/segmilter.conf" > "$T/out" 2>&1 || fail "-n: $(cat "$T/out")"
grep -q "bounces by LMTP: unix:$T/lmtp.sock" "$T/out" || fail "-n said: $(cat "$T/out")"
sed 's|lmtp_listen = ".*"|lmtp_listen = "somewhere"|' "$T/segmilter.conf" > "$T/bad.conf"
line=$(grep -n "^feedback" "$T/bad.conf" | cut -d: -f1)
"$F" -n -c "$T/bad.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with a bad lmtp_listen must exit 78"
grep -q "^$T/bad.conf:$line: feedback: lmtp_listen: 'somewhere' is not unix:/PATH" "$T/out" ||
    fail "bad lmtp_listen said: $(cat "$T/out")"

"$F" -f -c "$T/segmilter.conf" > "$T/log" 2>&1 &
PID=$!
wait_until '[ -S "$T/lmtp.sock" ] || ! kill -0 "$PID" 2>/dev/null' \
    "segfeed did not start"
[ -S "$T/lmtp.sock" ] || fail "segfeed exited at start"

# --- one connection: recorded, complaint, forged, unreadable, two rcpts
sue=$(tok sue@example.com)
rita=$(tok rita@example.com)
forged=$(tok fred@example.com "$T/other")
report postfix-hard.eml "$sue" sue@example.com "$T/hard.eml"
sed -e "s/XTOKENX/$rita/g" "$FX/yahoo-arf.eml" > "$T/arf.eml"
report postfix-hard.eml "$forged" fred@example.com "$T/forged.eml"
vera=$(tok vera@example.com)
report postfix-hard.eml "$vera" vera@example.com "$T/vera.eml"
$L "bounces+$sue@shop.example=$T/hard.eml" \
    "bounces+$rita@shop.example=$T/arf.eml" \
    "bounces+$forged@shop.example=$T/forged.eml" \
    "bounces@shop.example=$FX/malformed-not-mime.eml" \
    "bounces+$vera@shop.example,bounces+$forged@shop.example=$T/vera.eml" \
    > "$T/replies" 2>&1 || fail "lmtp.py: $(cat "$T/replies")"
r() { sed -n "${1}p" "$T/replies"; }
r 1 | grep -q "^bounces+$sue@shop.example 250 2.0.0 sue@example.com: hard bounce 5.1.1 recorded (campaign launch)$" ||
    fail "hard: $(r 1)"
r 2 | grep -q " 250 2.0.0 rita@example.com: complaint recorded (campaign launch)$" || fail "complaint: $(r 2)"
r 3 | grep -q " 250 2.0.0 no genuine bounce token: nothing recorded; kept: $T/q/" || fail "forged: $(r 3)"
r 4 | grep -q "^bounces@shop.example 554 5.6.0 not a report we can read" || fail "unreadable: $(r 4)"
r 5 | grep -q "^bounces+$vera@shop.example 250 2.0.0 vera@example.com: hard bounce" || fail "two, vera: $(r 5)"
# the same report to a forged return path: a forged envelope token
# records nothing, whatever the original says; kept
r 6 | grep -q "^bounces+$forged@shop.example 250 2.0.0 no genuine bounce token" ||
    fail "two, forged: $(r 6)"
[ "$(engaged sue@example.com bounce)" = 1 ] || fail "sue's bounce not recorded"
[ "$(engaged rita@example.com complaint)" = 1 ] || fail "rita's complaint"
[ "$(engaged fred@example.com bounce)" = 0 ] || fail "fred blamed on a forged token"
[ "$(q "SELECT decision FROM audit WHERE recipient = 'sue@example.com' ORDER BY seq DESC LIMIT 1")" = hard_bounce ] ||
    fail "sue's audit row"
[ "$(ls "$T/q" | grep -c unreadable)" = 1 ] || fail "unreadable not kept: $(ls "$T/q")"
cmp -s "$(ls "$T"/q/*unreadable*)" "$FX/malformed-not-mime.eml" ||
    fail "unreadable not kept byte for byte"
[ "$(ls "$T/q" | grep -c not-ours)" = 2 ] || fail "forged not kept: $(ls "$T/q")"
grep -q "L1: from=<>, to=<bounces+$sue@shop.example>: sue@example.com: hard bounce 5.1.1 recorded" "$T/log" ||
    fail "log line: $(grep L1 "$T/log")"

# --- the store gone: 451, nothing recorded; back: recorded -------------
fred=$(tok fred@example.com)
report postfix-hard.eml "$fred" fred@example.com "$T/fred.eml"
# the file moved away on SQLite; the server stopped on PostgreSQL
if [ "${T_STORE_ENGINE:-sqlite}" = pgsql ]; then
	pgsql_stop "$T/pg" || fail "pgsql stop"
else
	mv "$T/store.db" "$T/store.away"
fi
$L "bounces+$fred@shop.example=$T/fred.eml" > "$T/replies" 2>&1
# SQLite's file cannot be opened; PostgreSQL's link breaks (libpq's why)
gone=" 451 4.3.0 the store cannot be opened"
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && gone=" 451 4.3.0 "
grep -q "$gone" "$T/replies" || fail "store gone: $(cat "$T/replies")"
if [ "${T_STORE_ENGINE:-sqlite}" = pgsql ]; then
	pgsql_start "$T/pg" > "$T/pg.out" 2>&1 || fail "pgsql: $(cat "$T/pg.out")"
else
	mv "$T/store.away" "$T/store.db"
fi
$L "bounces+$fred@shop.example=$T/fred.eml" > "$T/replies" 2>&1
grep -q " 250 2.0.0 fred@example.com: hard bounce 5.1.1 recorded" "$T/replies" ||
    fail "store back: $(cat "$T/replies")"
[ "$(engaged fred@example.com bounce)" = 1 ] || fail "fred's bounce"
"$BUILD/segctl" -c "$T/segmilter.conf" audit verify > /dev/null || fail "audit chain"

# --- SIGTERM: stops, the socket removed --------------------------------
kill "$PID"
wait "$PID"
rc=$?
PID=""
[ $rc = 0 ] || fail "segfeed exit $rc on SIGTERM"
[ ! -e "$T/lmtp.sock" ] || fail "socket left behind"
echo "t-lmtp: ok"
