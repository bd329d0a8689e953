#!/bin/sh
# t-fleet.sh - two relays on one store: two private Postfix instances,
# each with its own segmilter, sharing a private PostgreSQL.  Checked at
# the sinks:
#   1. one broadcast sent through both relays at once, recipients
#      overlapping: each consenting recipient gets it exactly once;
#   2. the cap counts deliveries from every relay: a campaign through A,
#      then another through B to the same customer, refused by B;
#   3. a relay killed with SIGKILL while its outbox jobs were being sent:
#      the other takes them over once their claim runs out, and a relay
#      that starts again leaves another's claimed jobs alone;
#   4. PostgreSQL restarted: a message meanwhile is tempfailed, then
#      taken once the server is back, nothing lost or twice;
#   5. the audit log is one chain across the relays (segctl audit verify);
#   6. segctl store copy: the store to SQLite and back to PostgreSQL, rows,
#      audit log and a customer's data the same in all three.
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-fleet: needs root"; exit 77; }
for p in postfix smtp-sink swaks psql; do
	command -v $p >/dev/null 2>&1 || { echo "t-fleet: no $p"; exit 77; }
done
. tests/lib/pgsql.sh
pgsql_available || { echo "t-fleet: no PostgreSQL server"; exit 77; }
. tests/lib/harness.sh
harness_init t-fleet
PORT=${T_FLEET_PORT:-13865}
SINK=$((PORT + 1))
REINJECT=$((PORT + 2))
PORT_B=$((PORT + 3))
SINK_B=$((PORT + 4))
REINJECT_B=$((PORT + 5))
BPID=""
trap 'kill -9 $BPID 2>/dev/null; "$SRC/tests/lib/postfix.sh" stop "$T/b/pf"; pgsql_cleanup; harness_cleanup' EXIT

pgsql_start "$T/pg" > "$T/pg.out" 2>&1 || fail "pgsql: $(cat "$T/pg.out")"
STORE=$PGSQL_URL
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"
S="$BUILD/segctl -q -c $T/segmilter.conf"
printf '%s\n' 0123456789abcdef0123456789abcdef > "$T/copy.key"
chmod 600 "$T/copy.key"
# relay A's configuration; B's is the same but for its socket, spool
# and name: one store, one copy key for the fleet
cat >> "$T/segmilter.conf" <<CONF
outbox = { reinject_url = "smtp://127.0.0.1:$REINJECT";
  key_file = "$T/copy.key"; retry_base_s = 1; relay_name = "relay-a"; };
CONF
mkdir -p "$T/b"
sed -e "s|$T/segmilter.sock|$T/b/segmilter.sock|" \
    -e "s|spool_dir = \"$T\"|spool_dir = \"$T/b\"|" \
    -e "s|127.0.0.1:$REINJECT|127.0.0.1:$REINJECT_B|" \
    -e 's|relay_name = "relay-a"|relay_name = "relay-b"|' \
    "$T/segmilter.conf" > "$T/b/segmilter.conf"
grep -q "relay-b" "$T/b/segmilter.conf" || fail "relay B's configuration"

milter_b_start() {
	rm -f "$T/b/segmilter.sock"
	"$BUILD/segmilter" -f -c "$T/b/segmilter.conf" >> "$T/b/milter.log" 2>&1 &
	BPID=$!
	wait_until '[ -S "$T/b/segmilter.sock" ] || ! kill -0 "$BPID" 2>/dev/null' \
	    "segmilter B did not start"
	[ -S "$T/b/segmilter.sock" ] || fail "segmilter B exited at start: $(tail -5 "$T/b/milter.log")"
}

relay_start "$REINJECT"
milter_b_start
"$SRC/tests/lib/postfix.sh" start "$T/b/pf" "$PORT_B" "$SINK_B" \
    "unix:$T/b/segmilter.sock" || fail "postfix B start"
"$SRC/tests/lib/postfix.sh" reinject "$T/b/pf" "$REINJECT_B" \
    "unix:$T/b/segmilter.sock" || fail "re-injection listener B"

send_b() {
	sname=$1; shift
	swaks -n --server "127.0.0.1:$PORT_B" --from news@shop.example \
	    --to "$(echo "$@" | tr ' ' ',')" --data - > "$T/$sname.swaks" 2>&1
}
# both sinks' messages, one file per line
arrived_all() { find "$T/pf/sink" "$T/b/pf/sink" -type f | sort; }
for_rcpt() { grep -l "^X-Rcpt-Args: <$1>" $(arrived_all) 2>/dev/null; }
settle_all() {
	wait_until outbox_idle "outbox did not drain"
	"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue A did not drain"
	"$SRC/tests/lib/postfix.sh" wait "$T/b/pf" || fail "queue B did not drain"
}

# --- 1. one broadcast through both relays at once ---------------------
msg() {
	cat <<MSG
From: Shop <news@shop.example>
Subject: {{headline}}
X-Campaign-ID: launch
Message-ID: <launch-$1@shop.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

{{offer}}
MSG
}
msg a | send a-launch vera@example.com rita@example.com fred@example.com \
    lara@example.com sue@example.com nora@example.com &
SA=$!
msg b | send_b b-launch rita@example.com fred@example.com lara@example.com \
    sue@example.com una@example.com bo@acme.example &
SB=$!
wait $SA || fail "relay A refused the broadcast: $(tail -3 "$T/a-launch.swaks")"
wait $SB || fail "relay B refused the broadcast: $(tail -3 "$T/b-launch.swaks")"
settle_all
for r in vera rita fred lara sue; do
	n=$(for_rcpt "$r@example.com" | wc -l)
	[ "$n" = 1 ] || fail "$r@example.com received $n copies of launch"
done
for r in nora@example.com una@example.com bo@acme.example; do
	[ -z "$(for_rcpt "$r")" ] || fail "suppressed $r received launch"
done
[ "$(q "SELECT count(*) FROM ledger WHERE campaign_id = 'launch' AND decision = 'deliver'")" = 5 ] ||
    fail "ledger: $(q "SELECT recipient, decision, queue_id FROM ledger WHERE campaign_id = 'launch'")"
# each relay decided some: both took part
[ "$(q "SELECT count(DISTINCT decision) FROM ledger WHERE campaign_id = 'launch' AND recipient = 'rita@example.com'")" = 1 ] ||
    fail "rita has two ledger rows"
grep -q "campaign=launch" "$T/milter.log" || fail "relay A never saw launch"
grep -q "campaign=launch" "$T/b/milter.log" || fail "relay B never saw launch"

# --- 2. the cap counts every relay's deliveries -----------------------
# cap_count = 2 (fixture): sue had launch; "news-a" through A is her
# second; "news-b" through B is one too many
for id in news-a news-b; do
	cat > "$T/campaigns/$id.conf" <<CONF
id = "$id";
variants = { default = { offer = "$id"; headline = "$id"; }; };
CONF
done
# both relays read the campaigns again; COUNT: how many reloads so far
reload_both() {
	reloads=$1
	kill -HUP "$MPID" "$BPID"
	wait_until '[ "$(grep -c "reloaded " "$T/milter.log")" -ge $reloads ] &&
	    [ "$(grep -c "reloaded " "$T/b/milter.log")" -ge $reloads ]' \
	    "the relays did not reload: $(tail -2 "$T/milter.log")"
}
reload_both 1
news() {
	cat <<MSG
Subject: {{offer}}
X-Campaign-ID: $1
Message-ID: <$1@shop.example>

{{offer}}
MSG
}
news news-a | send news-a sue@example.com || fail "news-a refused"
settle_all
news news-b | send_b news-b sue@example.com || fail "news-b refused"
settle_all
[ "$(q "SELECT decision FROM ledger WHERE campaign_id = 'news-b'")" = fatigued ] ||
    fail "news-b: $(q "SELECT recipient, decision FROM ledger WHERE campaign_id = 'news-b'")"
grep -q "campaign=news-b, decision=fatigued, .*frequency cap: 2 delivered" "$T/b/milter.log" ||
    fail "relay B's log: $(grep news-b "$T/b/milter.log")"

# --- 3. a relay killed while sending ----------------------------------
# a copy for each relay, held (send_after), then claimed by relay A as
# if it had begun sending them when it was killed
HELD=$(date -u -d "+1 day" +%Y-%m-%dT%H:%M:%SZ)
cat > "$T/campaigns/later.conf" <<CONF
id = "later";
variants = {
  vip = { offer = "Early"; headline = "Early"; send_after = "$HELD"; };
  default = { offer = "Later"; headline = "Later"; send_after = "$HELD"; };
};
CONF
cat > "$T/campaigns/probe.conf" <<'CONF'
id = "probe";
variants = { lapsed = { offer = "Probe lapsed"; headline = "Probe"; };
  default = { offer = "Probe"; headline = "Probe"; }; };
CONF
reload_both 2
cat <<MSG | send later vera@example.com fred@example.com || fail "later refused: $(tail -3 "$T/later.swaks")"
Subject: {{offer}}
X-Campaign-ID: later
Message-ID: <later@shop.example>

{{offer}}
MSG
[ "$(q "SELECT count(*) FROM outbox WHERE campaign_id = 'later' AND state = 'queued'")" -ge 1 ] ||
    fail "later: no copy held: $(q "SELECT id, state, next_at FROM outbox")"
kill -9 "$MPID"
wait "$MPID" 2>/dev/null
MPID=""
now=$(date +%s)
# A's claim on its jobs, still running: B, started again, keeps off them
q "UPDATE outbox SET state = 'sending', claimed_by = 'relay-a', lease_until = $((now + 3600)), not_before = 0, next_at = 0 WHERE campaign_id = 'later'" > /dev/null
kill "$BPID"
wait "$BPID" 2>/dev/null
milter_b_start
# a copy of B's own, sent: B's workers looked at the outbox, recovery
# first
cat <<MSG | send_b probe rita@example.com lara@example.com || fail "probe refused"
Subject: {{offer}}
X-Campaign-ID: probe
Message-ID: <probe@shop.example>

{{offer}}
MSG
wait_until '[ "$(q "SELECT count(*) FROM outbox WHERE campaign_id = '"'probe'"' AND state = '"'sent'"'")" = 1 ]' \
    "relay B did not send its own copy: \$(q \"SELECT id, state, last_error FROM outbox WHERE campaign_id = 'probe'\")"
[ "$(q "SELECT count(*) FROM outbox WHERE campaign_id = 'later' AND state <> 'sending'")" = 0 ] ||
    fail "relay B took back relay A's claimed jobs: $(q "SELECT id, state, claimed_by, last_error FROM outbox WHERE campaign_id = 'later'")"
# the claim runs out (the clock driven, as relay A would never renew it):
# relay B finishes the jobs, each once
q "UPDATE outbox SET lease_until = $now WHERE campaign_id = 'later'" > /dev/null
wait_until '[ "$(q "SELECT count(*) FROM outbox WHERE campaign_id = '"'later'"' AND state = '"'sent'"'")" = "$(q "SELECT count(*) FROM outbox WHERE campaign_id = '"'later'"'")" ]' \
    "relay B did not finish relay A's jobs: \$(q \"SELECT id, state, claimed_by, last_error FROM outbox WHERE campaign_id = 'later'\")"
[ "$(q "SELECT count(DISTINCT claimed_by) FROM outbox WHERE campaign_id = 'later' AND claimed_by = 'relay-b'")" = 1 ] ||
    fail "the jobs were not claimed by relay B"
settle_all
for r in vera fred; do
	n=$(grep -l "^X-Rcpt-Args: <$r@example.com>" $(arrived_all) | xargs grep -l '^Subject: \(Early\|Later\)$' | wc -l)
	[ "$n" = 1 ] || fail "$r@example.com received later $n times"
done
milter_start

# --- 4. PostgreSQL restarted mid-run ----------------------------------
cat > "$T/campaigns/restart.conf" <<'CONF'
id = "restart";
variants = { default = { offer = "Back"; headline = "Back"; }; };
CONF
reload_both 3
pgsql_stop "$T/pg" || fail "pgsql stop"
news restart | send restart-down bo@acme.example
grep -q "451 4.3.0 segmilter: customer store unavailable" "$T/restart-down.swaks" ||
    fail "not tempfailed with the store down: $(grep -- '<' "$T/restart-down.swaks" | tail -2)"
pgsql_start "$T/pg" > "$T/pg.out" 2>&1 || fail "pgsql restart: $(cat "$T/pg.out")"
# the MTA's retry: taken once the connection is made again
wait_until 'news restart | send restart-up bo@acme.example' \
    "not taken after the restart: \$(tail -5 \"\$T/restart-up.swaks\")"
settle_all
n=$(grep -l '^Subject: Back$' $(arrived_all) | wc -l)
[ "$n" = 1 ] || fail "restart: bo received it $n times"
[ "$(q "SELECT count(*) FROM ledger WHERE campaign_id = 'restart'")" = 1 ] ||
    fail "restart ledger: $(q "SELECT * FROM ledger WHERE campaign_id = 'restart'")"

# --- 5. one audit chain ------------------------------------------------
$S audit verify > "$T/verify.out" 2>&1 || fail "audit verify: $(cat "$T/verify.out")"
[ "$(q "SELECT count(DISTINCT queue_id) FROM audit WHERE campaign_id = 'launch'")" -ge 2 ] ||
    fail "launch's audit rows are not from two relays"
# --- 6. the fleet's store copied to SQLite and back --------------------
kill "$MPID" "$BPID"
wait "$MPID" "$BPID" 2>/dev/null
MPID="" BPID=""
$BUILD/segctl -c "$T/segmilter.conf" store copy "$STORE" "$T/copy.db" > "$T/copy.out" 2>&1 || fail "store copy to SQLite: $(cat "$T/copy.out")"
grep -q "audit chain intact in the copy" "$T/copy.out" || fail "copy: $(cat "$T/copy.out")"
pgsql_psql "$T/pg" "CREATE SCHEMA back" || fail "schema back"
BACK="$STORE&options=-csearch_path%3Dback"
$BUILD/segctl -c "$T/segmilter.conf" store copy "$T/copy.db" "$BACK" > "$T/back.out" 2>&1 || fail "store copy back: $(cat "$T/back.out")"
# every table's rows, the audit log and a customer's data: the same in
# all three
grep -E '^  [a-z_]+ +[0-9]+$' "$T/copy.out" > "$T/copy.counts"
grep -E '^  [a-z_]+ +[0-9]+$' "$T/back.out" > "$T/back.counts"
cmp -s "$T/copy.counts" "$T/back.counts" || fail "rows differ: $(diff "$T/copy.counts" "$T/back.counts")"
grep -q "^  audit  *[1-9]" "$T/copy.counts" || fail "no audit rows copied"
for s in "$STORE" "$T/copy.db" "$BACK"; do
	$BUILD/segctl -q -c "$T/segmilter.conf" -s "$s" audit export > "$T/export.$$" || fail "audit export $s"
	$BUILD/segctl -q -c "$T/segmilter.conf" -s "$s" customer export vera@example.com >> "$T/export.$$" || fail "customer export $s"
	if [ -f "$T/export.first" ]; then
		cmp -s "$T/export.first" "$T/export.$$" || fail "$s differs: $(diff "$T/export.first" "$T/export.$$" | head -5)"
	else
		mv "$T/export.$$" "$T/export.first"
	fi
done
# the copy's ids go on from the copied ones
$BUILD/segctl -q -c "$T/segmilter.conf" -s "$BACK" customer export nobody@example.com > /dev/null 2>&1
echo "email,first_name" > "$T/one.csv"
echo "newcomer@example.com,New" >> "$T/one.csv"
$BUILD/segctl -q -c "$T/segmilter.conf" -s "$BACK" import customers "$T/one.csv" > /dev/null || fail "import into the copy"

echo "t-fleet: ok"
exit 0
