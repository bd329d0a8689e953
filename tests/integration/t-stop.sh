#!/bin/sh
# t-stop.sh - SIGTERM while a copy's re-injection hangs: segmilter must
# not wait for it.  The re-injection port is a server that greets and
# then never answers MAIL FROM (as an smtpd does while it waits for
# segmilter itself, which is stopping); the transfer is ended, the job
# left claimed, and the restart queues it again.  Without the cancel the
# worker sat out libcurl's 300 s SMTP timeout, with no mail passing.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
command -v python3 >/dev/null 2>&1 || { echo "t-stop: no python3"; exit 77; }
SRC=$(pwd)
T=$(mktemp -d /tmp/segm-t-stop.XXXXXX)
PORT=${T_STOP_PORT:-13025}
MPID="" SPID=""
cleanup() {
	[ -n "$MPID" ] && kill -9 "$MPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	wait 2>/dev/null
	store_stop
	rm -rf "$T"
}
. "$SRC/tests/lib/fixture.sh"	# and wait.sh
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/log" 2>/dev/null; exit 1; }
store_start "$T"
fixture_store "$T" || fail "fixture store"
printf '%s\n' 0123456789abcdef0123456789abcdef > "$T/copy.key"
chmod 600 "$T/copy.key"
cat >> "$T/segmilter.conf" <<CONF
outbox = { reinject_url = "smtp://127.0.0.1:$PORT";
  key_file = "$T/copy.key"; retry_base_s = 1; };
CONF

# an smtpd whose milter does not answer: it greets, says hello, then
# waits for ever at MAIL FROM, as Postfix's does for a stopping milter
python3 - "$PORT" "$T/accepted" <<'PY' &
import socket, sys, threading
def serve(c):
    c.sendall(b"220 stalled ESMTP\r\n")
    f = c.makefile("rb")
    for line in f:
        if line[:4].upper() in (b"EHLO", b"HELO"):
            c.sendall(b"250 stalled\r\n")
        else:
            open(sys.argv[2], "a").write("waiting\n")
            threading.Event().wait()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
open(sys.argv[2] + ".up", "w").close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
SPID=$!

# wait_for WHAT SECONDS CMD...: until CMD succeeds, or fail; for a bound
# that is what the test checks (segmilter stops at once), not a hang's
wait_for() {
	what=$1 n=$(($2 * 10)); shift 2
	until "$@"; do
		n=$((n - 1)); [ $n -gt 0 ] || fail "$what"
		sleep 0.1
	done
}
wait_until '[ -e "$T/accepted.up" ]' "the listener did not start"
now=$(date +%s)
# a blob literal is X'HEX' to SQLite, decode('HEX', 'hex') to PostgreSQL
blob() { echo "X'$1'"; }
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && blob() { echo "decode('$1', 'hex')"; }
q "INSERT INTO outbox (kind, campaign_id, message_key,
    variant, sender, recipients, message, not_before, next_at, state,
    created_at, nonce) VALUES ('email', 'launch', '<stop@shop.example>',
    'default', '<news@shop.example>', 'vera@example.com',
    $(blob ''), $now, $now, 'queued', $now, '00ff00ff00ff00ff00ff00ff')" &&
q "INSERT INTO outbox_body (job_id, message) SELECT max(id),
    $(blob 5375626a6563743a20780d0a0d0a626f64790d0a) FROM outbox" ||
    fail "queue a copy"

"$BUILD/segmilter" -f -c "$T/segmilter.conf" > "$T/log" 2>&1 &
MPID=$!
wait_until '[ -s "$T/accepted" ]' "the worker never reached MAIL FROM"
wait_until '[ "$(q "SELECT state FROM outbox")" = sending ]' \
    "the job was not claimed"
kill -TERM "$MPID"
# ended within a second of the signal; 20 s allows for a loaded machine
wait_for "segmilter still running 20 s after SIGTERM" 20 \
    sh -c "! kill -0 $MPID 2>/dev/null"
wait "$MPID"
rc=$?
MPID=""
[ "$rc" = 0 ] || fail "exit status $rc"
grep -q "outbox: job 1: stopped mid-send: left to the restart's recovery" "$T/log" ||
    fail "the cut transfer not logged"
[ "$(q "SELECT state FROM outbox")" = sending ] ||
    fail "the job must stay claimed: $(q "SELECT state, last_error FROM outbox")"

# the restart queues it again at once, not after its lease
"$BUILD/segmilter" -f -c "$T/segmilter.conf" >> "$T/log" 2>&1 &
MPID=$!
wait_until 'grep -q "1 jobs were being sent when segmilter stopped: 0 copies had gone through segmilter on the re-injection port, 1 queued again" "$T/log"' \
    "the restart did not recover the job"
kill -TERM "$MPID"
wait_for "segmilter still running 20 s after the second SIGTERM" 20 \
    sh -c "! kill -0 $MPID 2>/dev/null"
MPID=""
echo "t-stop: ok"
