#!/bin/sh
# t-segmilter.sh - the daemon's command line and life cycle: -V, -n on a
# good and a broken configuration (every problem as FILE:LINE, exit 78),
# a store it cannot open, SIGHUP with a broken campaign refused and a good
# one taken, SIGTERM ending cleanly.  The stores milter.user cannot open
# or write are SQLite's (a file's owner and mode): on PostgreSQL, skipped.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
SRC=$(pwd)
M="$SRC/$BUILD/segmilter"
T=$(mktemp -d /tmp/segm-t-segmilter.XXXXXX)
# the re-injection listener's port
R=${T_SEGMILTER_PORT:-13641}
PID=""
. "$SRC/tests/lib/fixture.sh"	# and wait.sh
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; store_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; [ -f "$T/log" ] && tail -20 "$T/log"; exit 1; }
store_start "$T"
fixture_store "$T" || fail "fixture store"

"$M" -V | grep -q "^segmilter [0-9.]* (libmilter " || fail "-V"
"$M" -n -c "$T/segmilter.conf" > "$T/out" 2>&1 || fail "-n: $(cat "$T/out")"
grep -q "configuration OK, 1 campaigns in $T/campaigns" "$T/out" || fail "-n output"
# what passes but leaves tailoring out is said plainly
grep -q "warning: no outbox.reinject_url: a message for several recipients goes out once" "$T/out" ||
    fail "-n without reinject_url: $(cat "$T/out")"
grep -q "warning: no milter.unsubscribe_url" "$T/out" || fail "-n without unsubscribe_url: $(cat "$T/out")"
# with re-injection: -n says when nothing listens there (a closed
# loopback port), and is quiet once something does
openssl rand -hex 32 > "$T/copy.key"
chmod 600 "$T/copy.key"
cp "$T/segmilter.conf" "$T/split.conf"
printf 'outbox = { reinject_url = "smtp://127.0.0.1:%s"; key_file = "%s/copy.key"; };\n' "$R" "$T" >> "$T/split.conf"
"$M" -n -c "$T/split.conf" > "$T/out" 2>&1 || fail "-n with reinject_url: $(cat "$T/out")"
grep -q "^$T/split.conf: warning: outbox.reinject_url: smtp://127.0.0.1:$R: .*: copies wait in the outbox until it answers" "$T/out" ||
    fail "-n with nothing at reinject_url: $(cat "$T/out")"
python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); open(sys.argv[2], "w").close()
while True:
    c = s.accept()[0]; f = c.makefile("rb"); c.sendall(b"220 test\r\n")
    for line in f:
        c.sendall(b"221 bye\r\n" if line.upper().startswith(b"QUIT") else b"250 ok\r\n")
        if line.upper().startswith(b"QUIT"): break
    c.close()' "$R" "$T/listening" &
LPID=$!
wait_until '[ -e "$T/listening" ]' "the test listener did not start"
"$M" -n -c "$T/split.conf" > "$T/out" 2>&1 || fail "-n with a listener: $(cat "$T/out")"
kill "$LPID"
grep -q "reinject_url" "$T/out" && fail "-n warned with a listener there: $(cat "$T/out")"

# every problem, FILE:LINE first, exit 78
sed 's/^policy = .*/policy = { cap_count = -1; colour = 1; };/' "$T/segmilter.conf" > "$T/bad.conf"
line=$(grep -n "^policy" "$T/bad.conf" | cut -d: -f1)
"$M" -n -c "$T/bad.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n on a bad file must exit 78"
grep -q "^$T/bad.conf:$line: policy.cap_count: -1 is out of range" "$T/out" || fail "cap_count: $(cat "$T/out")"
grep -q "^$T/bad.conf:$line: policy.colour: unknown setting" "$T/out" || fail "colour: $(cat "$T/out")"
printf 'id = "x";\naudience = { include = [ "Big Spenders" ]; };\n' > "$T/campaigns/x.conf"
"$M" -n -c "$T/segmilter.conf" > "$T/out" 2>&1 && fail "-n with a bad campaign must fail"
grep -q "^$T/campaigns/x.conf:2: audience.include: element 1: 'Big Spenders': column 5: expected '&', '|' or the end, found 'Spenders'" "$T/out" ||
    fail "campaign error: $(cat "$T/out")"
grep -q "^$T/campaigns/x.conf: variants: missing" "$T/out" || fail "missing variants: $(cat "$T/out")"
rm "$T/campaigns/x.conf"
# no store there: a file in a directory that is not there, or a server
# socket directory that is not there
sed -e "s|$T/store.db|$T/nowhere/store.db|" -e "s|host=$T/pg/sock|host=$T/nowhere|" \
    "$T/segmilter.conf" > "$T/nostore.conf"
grep -q nowhere "$T/nostore.conf" || fail "nostore.conf: $(cat "$T/nostore.conf")"
"$M" -n -c "$T/nostore.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with no store must exit 78"
grep -q "store:" "$T/out" || fail "no store: $(cat "$T/out")"
# a socket nobody can listen on is no configuration OK
"$M" -n -c "$T/segmilter.conf" -p bogus > "$T/out" 2>&1
[ $? = 64 ] || fail "-p bogus must be a usage error (64): $(cat "$T/out")"
grep -q "^segmilter: -p: 'bogus' is not unix:/PATH or inet:PORT@HOST" "$T/out" || fail "-p bogus: $(cat "$T/out")"
"$M" -n -c "$T/segmilter.conf" -p "unix:$T/nowhere/s.sock" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with no socket directory must exit 78: $(cat "$T/out")"
grep -q "milter.socket: unix:$T/nowhere/s.sock: the directory $T/nowhere is not there" "$T/out" ||
    fail "socket directory: $(cat "$T/out")"

# reloads: a broken campaign is refused, a good one taken
"$M" -f -c "$T/segmilter.conf" > "$T/log" 2>&1 &
PID=$!
wait_log() {
	wl_pattern=$1
	wait_until 'grep -qs "$wl_pattern" "$T/log"' 'no "$wl_pattern" in the log'
}
wait_log "listening on unix:$T/segmilter.sock, 1 campaigns"
printf 'id = "y"\nvariants = { default = { offer = 5; }; };\n' > "$T/campaigns/y.conf"
kill -HUP "$PID"
wait_log "reload refused, the running configuration stays:"
wait_log "  $T/campaigns/y.conf:2: variants.default.offer: expected a string"
printf 'id = "y";\nvariants = { default = { offer = "5%%"; }; };\n' > "$T/campaigns/y.conf"
kill -HUP "$PID"
wait_log "reloaded $T/segmilter.conf: 2 campaigns"
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=""
[ $rc = 0 ] || fail "SIGTERM: exit $rc"
grep -q "NOQUEUE: stopped" "$T/log" || fail "no 'stopped' line"

# A job the last process left 'sending' (its lease 10 minutes off) is
# queued again once the store can be written, not at the lease's end:
# here another writer holds the store (store_hold) until segmilter's
# first try has failed: on SQLite the file's write lock, on PostgreSQL
# the outbox table's.
# The message a byte, in each engine's blob literal (bytea is no text)
now=$(date +%s)
blob="x'00'"
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && blob="'\\x00'::bytea"
q "INSERT INTO outbox (kind, campaign_id, message_key, variant, sender,
    recipients, message, not_before, next_at, state, lease_until,
    created_at) VALUES ('email', 'launch', 'left', 'default', 's@x.example',
    'r@x.example', $blob, 0, 0, 'sending', $((now + 600)), $now)" || fail "the job left sending"
store_hold outbox
: > "$T/log"	# wait_log must not find the last run's lines
"$M" -f -c "$T/segmilter.conf" > "$T/log" 2>&1 &
PID=$!
wait_log "listening on unix:$T/segmilter.sock"
# the first try found the store held: else the retry goes untested
wait_log "the jobs the last process left being sent wait for the next try"
store_release
left_state() { q "SELECT state FROM outbox WHERE message_key = 'left'"; }
wait_until '[ "$(left_state)" = queued ]' \
    'the job left sending is still $(left_state)'
wait_log "outbox: 1 jobs were being sent when segmilter stopped: 0 copies had gone through segmilter on the re-injection port, 1 queued again"
kill -TERM "$PID"
wait "$PID"
PID=""

# Started as root with milter.user: the tests run as root and use
# nobody, with a store and directory of nobody's, $T traversable.
if [ "$(id -u)" != 0 ]; then
	echo "t-segmilter: ok (not root: milter.user not tested)"
	exit 0
fi
chmod 711 "$T"
N="$T/nobody"
mkdir -m 700 "$N"
# (on PostgreSQL no file: nobody reaches the server's socket in $T/pg)
[ "${T_STORE_ENGINE:-sqlite}" = sqlite ] && cp "$T/store.db" "$N/store.db"
chown -R nobody "$N"
mkdir "$T/run"
sed -e "s|\"$T/store.db\"|\"$N/store.db\"|" -e 's|user = "";|user = "nobody";|' \
    -e "s|spool_dir = \"$T\"|spool_dir = \"$N\"|" -e 's|socket_mode = "0666"|socket_mode = "0660"|' \
    -e "s|unix:$T/segmilter.sock|unix:$T/run/segmilter.sock|" "$T/segmilter.conf" > "$T/nobody.conf"

# the socket's directory is the MTA's group's, set-group-ID: the socket
# keeps that group when it is given to the user
chgrp 4242 "$T/run"
chmod 2750 "$T/run"
: > "$T/log"	# wait_log must not find the last run's lines
"$M" -f -c "$T/nobody.conf" > "$T/log" 2>&1 &
PID=$!
wait_log "listening on unix:$T/run/segmilter.sock"
[ "$(stat -c '%U %g %a' "$T/run/segmilter.sock")" = "nobody 4242 660" ] ||
    fail "socket in a set-group-ID directory: $(stat -c '%U %g %a' "$T/run/segmilter.sock")"
kill -TERM "$PID"
wait "$PID"
PID=""
# without the bit, the user's primary group, as before
chmod g-s "$T/run"
: > "$T/log"	# wait_log must not find the last run's lines
"$M" -f -c "$T/nobody.conf" > "$T/log" 2>&1 &
PID=$!
wait_log "listening on unix:$T/run/segmilter.sock"
[ "$(stat -c '%U %g %a' "$T/run/segmilter.sock")" = "nobody $(id -g nobody) 660" ] ||
    fail "socket in a plain directory: $(stat -c '%U %g %a' "$T/run/segmilter.sock")"
kill -TERM "$PID"
wait "$PID"
PID=""

# -n checks the store as milter.user, who must read and write it and its
# directory: as root, any store would do
"$M" -n -c "$T/nobody.conf" > "$T/out" 2>&1 || fail "-n as nobody: $(cat "$T/out")"
# the rest is SQLite's: a store file's owner and mode, its directory's
if [ "${T_STORE_ENGINE:-sqlite}" = pgsql ]; then
	echo "t-segmilter: ok (PostgreSQL: the store files milter.user cannot open not tested)"
	exit 0
fi
cp "$N/store.db" "$T/root.db"
chmod 600 "$T/root.db"
sed "s|\"$N/store.db\"|\"$T/root.db\"|" "$T/nobody.conf" > "$T/root.conf"
"$M" -n -c "$T/root.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with a store nobody cannot open must exit 78: $(cat "$T/out")"
grep -q "^$T/root.conf: store: $T/root.db: .* (as user nobody" "$T/out" || fail "-n as nobody: $(cat "$T/out")"
mkdir "$T/rootdir"
cp -p "$N/store.db" "$T/rootdir/store.db"
sed "s|\"$N/store.db\"|\"$T/rootdir/store.db\"|" "$T/nobody.conf" > "$T/rootdir.conf"
"$M" -n -c "$T/rootdir.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with a directory nobody cannot write must exit 78: $(cat "$T/out")"
grep -q "^$T/rootdir.conf: store: .*$T/rootdir.* (as user nobody" "$T/out" || fail "-n, directory: $(cat "$T/out")"
chmod 400 "$N/store.db"
"$M" -n -c "$T/nobody.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with a store nobody cannot write must exit 78: $(cat "$T/out")"
grep -q "^$T/nobody.conf: store: $N/store.db: .* (as user nobody" "$T/out" || fail "-n, read-only: $(cat "$T/out")"
chmod 600 "$N/store.db"

# started as root, a store the user cannot open after the privilege drop
# is a configuration error: exit 78 naming the store and the user, not a
# daemon that tempfails every message
timeout 20 "$M" -f -c "$T/root.conf" > "$T/log" 2>&1
rc=$?
[ $rc = 78 ] || fail "start with a store nobody cannot open: exit $rc"
grep -q "^$T/root.conf: store: $T/root.db: .* (as user nobody" "$T/log" || fail "start as nobody: $(cat "$T/log")"
echo "t-segmilter: ok"
