# harness.sh - what the end-to-end tests share: a scratch directory that
# Postfix's smtpd (user postfix) can traverse, segmilter in the
# background, a private Postfix (tests/lib/postfix.sh), and failing with
# the logs that say why.
#
#   . tests/lib/harness.sh
#   harness_init NAME        sets SRC and T, and cleans up on exit
#   milter_start             segmilter -f on $T/segmilter.conf, logging to
#                            $T/milter.log, once its socket is there
#   send NAME RCPT...        swaks to 127.0.0.1:$PORT, message on stdin,
#                            the dialogue in $T/NAME.swaks
#   arrived                  the messages at the sink, one file per line
#   relay_start [REINJECT]   milter_start, then a private Postfix on
#                            $PORT relaying to $SINK (and the
#                            re-injection listener on REINJECT)
#   outbox_idle              the outbox has no work due (q, fixture.sh)
#   settle                   waits for outbox_idle, then for Postfix's
#                            queue to drain
#   wait_until COND WHY      tests/lib/wait.sh
# KEEP=1 keeps $T for a post-mortem.
#
# T_STORE_ENGINE=pgsql (tests/run.sh sets it for the tests whose header
# says "# engines: sqlite pgsql") runs the test on a private PostgreSQL
# started in $T/pg (fixture.sh's store_start): STORE is its URI, and
# fixture.sh's store and q() use it.  A test that runs on both writes its
# SQL for both (q).

. tests/lib/wait.sh
. tests/lib/fixture.sh

harness_init() {
	SRC=$(pwd)
	T=$(mktemp -d "/tmp/segm-$1.XXXXXX")
	chmod 755 "$T"
	MPID=""
	trap harness_cleanup EXIT
	store_start "$T"
}

harness_cleanup() {
	[ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	"$SRC/tests/lib/postfix.sh" stop "$T/pf"
	store_stop
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}

fail() {
	echo "FAIL: $*"
	echo "--- segmilter log"; tail -20 "$T/milter.log" 2>/dev/null
	echo "--- postfix log"; tail -15 "$T/pf/maillog" 2>/dev/null
	exit 1
}

milter_start() {
	rm -f "$T/segmilter.sock"
	"$BUILD/segmilter" -f -c "$T/segmilter.conf" >> "$T/milter.log" 2>&1 &
	MPID=$!
	wait_until '[ -S "$T/segmilter.sock" ] || ! kill -0 "$MPID" 2>/dev/null' \
	    "segmilter did not start"
	[ -S "$T/segmilter.sock" ] || fail "segmilter exited at start"
}

send() {
	sname=$1; shift
	swaks -n --server "127.0.0.1:$PORT" --from news@shop.example \
	    --to "$(echo "$@" | tr ' ' ',')" --data - > "$T/$sname.swaks" 2>&1
}

arrived() { find "$T/pf/sink" -type f | sort; }

relay_start() {
	milter_start
	"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" \
	    "unix:$T/segmilter.sock" || fail "postfix start"
	[ -z "${1:-}" ] || "$SRC/tests/lib/postfix.sh" reinject "$T/pf" "$1" \
	    "unix:$T/segmilter.sock" || fail "re-injection listener"
}

outbox_idle() {
	[ "$(q "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending') AND next_at <= $(date +%s)")" = 0 ]
}

settle() {
	wait_until outbox_idle "outbox did not drain"
	"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
}
