#!/bin/sh
# t-postfix.sh - segmilter inside a real, private Postfix on loopback:
# one broadcast to eleven addresses, checked at the far end (smtp-sink):
# which recipients arrived, with which body and headers; suppressed ones
# nowhere; a resend delivers nobody twice; a per-segment variant; HTML
# escaping; transactional mail untouched; an unknown campaign tempfailed;
# a campaign added by SIGHUP; a 50 MB campaign spooled to disk; the store
# locked past its timeout tempfails; the store deleted under the daemon
# tempfails, and a copy put back in its place is read after a restart; the audit
# chain intact afterwards.  The deleted store is SQLite's (a file): on
# PostgreSQL, skipped.
#
# Needs root (Postfix's master), postfix, smtp-sink and swaks: skipped
# (77) without them.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-postfix: needs root"; exit 77; }
DBCLI=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && DBCLI=psql
for p in postfix smtp-sink swaks $DBCLI; do
	command -v $p >/dev/null 2>&1 || { echo "t-postfix: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-postfix
PORT=${T_POSTFIX_PORT:-12625}
SINK=$((PORT + 1))
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"
S="$BUILD/segctl -q -c $T/segmilter.conf"

# --- segmilter and Postfix ------------------------------------------
"$BUILD/segmilter" -n -c "$T/segmilter.conf" > "$T/check.out" 2>&1 ||
    fail "segmilter -n: $(cat "$T/check.out")"
grep -q "configuration OK, 1 campaigns" "$T/check.out" || fail "-n: $(cat "$T/check.out")"
milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"

wait_log() {
	wl_pattern=$1
	wait_until 'grep -q "$wl_pattern" "$T/milter.log"' \
	    'no "$wl_pattern" in segmilter'"'"'s log'
}
settle() { "$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"; }

# --- 1. the broadcast -------------------------------------------------
ALL="vera@example.com rita@example.com fred@example.com lara@example.com
sue@example.com bo@acme.example nora@example.com una@example.com
bob@example.com fay@example.com ghost@example.com"
send broadcast $ALL <<'MSG' || fail "broadcast refused: $(cat "$T/broadcast.swaks")"
From: Shop <news@shop.example>
Subject: {{headline}}: {{offer}}
X-Campaign-ID: launch
Message-ID: <launch-1@shop.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello {{first_name|default:"there"}},
{{offer}} on everything this week.
{{#vip}}Your early access starts now.{{/vip}}
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>{{offer}}</p>
--alt--
MSG
settle
[ "$(arrived | wc -l)" = 1 ] || fail "broadcast: expected one message at the sink, got $(arrived | wc -l)"
M=$(arrived)
grep '^X-Rcpt-Args:' "$M" | sed 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/' | sort > "$T/got.rcpts"
printf '%s\n' fred@example.com lara@example.com rita@example.com sue@example.com \
    vera@example.com > "$T/want.rcpts"
cmp -s "$T/got.rcpts" "$T/want.rcpts" || fail "broadcast recipients: $(cat "$T/got.rcpts")"
grep -qi '^X-Campaign-ID' "$M" && fail "the campaign header reached the sink"
grep -q '^Subject: Spring launch: 10% off$' "$M" || fail "Subject: $(grep ^Subject "$M")"
grep -q '^Hello there,' "$M" || fail "plain part: $(cat "$M")"
grep -q '^10% off on everything this week.' "$M" || fail "offer not rendered"
grep -q 'early access' "$M" && fail "a vip section rendered for a mixed group"
grep -q '<p>10% off</p>' "$M" || fail "HTML part not rendered"
grep -q '{{' "$M" && fail "a placeholder left in: $(grep '{{' "$M")"

# every decision recorded, with its reason
[ "$(q "SELECT decision FROM ledger WHERE recipient = 'bo@acme.example'")" = audience ] || fail "b2b not 'audience'"
[ "$(q "SELECT decision FROM ledger WHERE recipient = 'nora@example.com'")" = no_consent ] || fail "nora"
[ "$(q "SELECT decision FROM ledger WHERE recipient = 'una@example.com'")" = unsubscribed ] || fail "una"
[ "$(q "SELECT decision FROM ledger WHERE recipient = 'bob@example.com'")" = bounced ] || fail "bob"
[ "$(q "SELECT decision FROM ledger WHERE recipient = 'fay@example.com'")" = fatigued ] || fail "fay"
[ "$(q "SELECT decision FROM ledger WHERE recipient = 'ghost@example.com'")" = unknown ] || fail "ghost"
[ "$(q "SELECT count(*) FROM ledger WHERE decision = 'deliver'")" = 5 ] || fail "deliveries"
[ "$(q "SELECT count(*) FROM audit")" = 11 ] || fail "audit rows"
qid=$(q "SELECT DISTINCT queue_id FROM audit")
grep -q "^segmilter.*$qid: to=<nora@example.com>, campaign=launch, decision=no_consent" "$T/milter.log" ||
    fail "log line with the queue id first"

# --- 2. the same campaign again: nobody twice -------------------------
send resend vera@example.com fred@example.com <<'MSG' || fail "resend refused"
Subject: {{headline}}
X-Campaign-ID: launch
Message-ID: <launch-2@shop.example>

{{offer}}
MSG
settle
[ "$(arrived | wc -l)" = 1 ] || fail "resend delivered again"
grep -q "milter-discard" "$T/pf/maillog" || fail "resend not discarded"

# the report counts each recipient once, a delivery over a later duplicate
$S report launch > "$T/report.out" || fail "report"
grep -Eq "^all +11 +5 +1 +0 +1 +1 +1 +1 +1( +0)+$" "$T/report.out" || fail "report: $(cat "$T/report.out")"
grep -Eq "^vip +1 +1 " "$T/report.out" || fail "report vip: $(cat "$T/report.out")"

# --- 3. one segment's variant, HTML-escaped ---------------------------
cat > "$T/campaigns/early.conf" <<'CONF'
id = "early";
audience = { include = [ "vip" ]; };
variants = {
  vip = { offer = "VIP: 25% off & free shipping"; };
  default = { offer = "10% off"; };
};
CONF
kill -HUP "$MPID"
wait_log "reloaded .*2 campaigns"
send early vera@example.com rita@example.com <<'MSG' || fail "early refused: $(cat "$T/early.swaks")"
Subject: Early access, {{first_name}}
X-Campaign-ID: early
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p>{{offer}}</p>{{#vip}}<p>VIP only</p>{{/vip}}
MSG
settle
[ "$(arrived | wc -l)" = 2 ] || fail "early: no new message"
M=$(arrived | while read -r f; do grep -l 'Early access' "$f"; done)
[ "$(grep -c '^X-Rcpt-Args:' "$M")" = 1 ] || fail "early: rita is not VIP"
grep -q '^X-Rcpt-Args: <vera@example.com>' "$M" || fail "early: vera"
grep -q '^Subject: Early access, Vera$' "$M" || fail "early Subject: $(grep ^Subject "$M")"
grep -q '<p>VIP: 25% off &amp; free shipping</p><p>VIP only</p>' "$M" ||
    fail "early body: $(sed -n '/^$/,$p' "$M")"

# --- 4. transactional mail: untouched, whoever it is for --------------
send receipt nora@example.com <<'MSG' || fail "receipt refused"
Subject: Your order V1 {{offer}}
Message-ID: <receipt-1@shop.example>

Thanks for your order, {{first_name}}.
MSG
settle
M=$(arrived | while read -r f; do grep -l 'receipt-1' "$f"; done)
[ -n "$M" ] || fail "transactional mail suppressed"
grep -q '^Thanks for your order, {{first_name}}.' "$M" || fail "transactional mail rewritten"

# --- 5. an unknown campaign: tempfailed, the sender keeps it ----------
send unknown vera@example.com <<'MSG' && fail "unknown campaign accepted"
Subject: x
X-Campaign-ID: nope

x
MSG
grep -q "451 4.7.1 segmilter: unknown campaign 'nope'" "$T/unknown.swaks" ||
    fail "unknown campaign reply: $(grep -- '<-' "$T/unknown.swaks" | tail -2)"

# --- 6. a 50 MB campaign: spooled to disk, rendered, delivered -------
cat > "$T/campaigns/big.conf" <<'CONF'
id = "big";
variants = { default = { offer = "the big catalogue"; }; };
CONF
kill -HUP "$MPID"
wait_log "reloaded .*3 campaigns"
{
	printf 'Subject: {{offer}}\nX-Campaign-ID: big\nMIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=utf-8\n\nHello {{first_name}}, {{offer}}:\n'
	yes "A catalogue line of seventy-odd characters, repeated to make fifty MB." |
	    head -n 720000
	printf 'The end.\n'
} > "$T/big.eml"
send big sue@example.com < "$T/big.eml" || fail "50 MB message refused: $(tail -3 "$T/big.swaks")"
settle
M=$(arrived | while read -r f; do grep -l '^Subject: the big catalogue' "$f"; done)
[ -n "$M" ] || fail "50 MB message not at the sink"
[ "$(stat -c %s "$M")" -gt 50000000 ] || fail "50 MB message cut short: $(stat -c %s "$M")"
grep -q '^Hello Sue, the big catalogue:' "$M" || fail "50 MB message not rendered"
grep -q '^The end\.' "$M" || fail "50 MB message lost its end"

# --- 7. the store locked past its timeout: tempfail, nothing lost ------
# held until the refused message is answered, not for a fixed time: on
# SQLite the file's write lock, on PostgreSQL the audit table's (which
# every decision writes), each past store_timeout_ms
store_hold audit
# what each engine's error says
locked=locked
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && locked="lock timeout"
send locked lara@example.com <<'MSG' && fail "accepted while the store was locked"
Subject: {{offer}}
X-Campaign-ID: big

{{offer}}
MSG
store_release
grep -q "451 4.3.0 segmilter: customer store unavailable" "$T/locked.swaks" ||
    fail "locked store reply: $(grep -- '<' "$T/locked.swaks" | tail -2)"
grep -q "campaign=big: store: .*$locked" "$T/milter.log" || fail "locked store not logged"
# the lock gone, the same message goes through
send unlocked lara@example.com <<'MSG' || fail "refused after the lock: $(tail -3 "$T/unlocked.swaks")"
Subject: {{offer}}
X-Campaign-ID: big

{{offer}}
MSG

# --- 8. the store deleted, then a copy put back ----------------------
# SQLite's: a file deleted and copied back; on PostgreSQL, skipped
if [ "${T_STORE_ENGINE:-sqlite}" = sqlite ]; then
# Deleted under the running daemon: tempfail, nothing written where no
# one sees it.  A copy put back, a customer unsubscribed in it: still
# tempfail (SQLite would mix the new file with the old one's WAL) until
# segmilter is restarted, which then reads the copy and suppresses her.
sqlite3 "$T/store.db" ".backup '$T/copy.db'" || fail "backup"
rm -f "$T"/store.db*
send deleted fred@example.com <<'MSG' && fail "accepted with the store deleted"
Subject: {{offer}}
X-Campaign-ID: big

{{offer}}
MSG
grep -q "451 4.3.0 segmilter: customer store unavailable" "$T/deleted.swaks" ||
    fail "deleted store reply: $(grep -- '<' "$T/deleted.swaks" | tail -2)"
grep -q "store: $T/store.db: No such file or directory" "$T/milter.log" ||
    fail "deleted store not logged"
cp "$T/copy.db" "$T/store.db"
printf 'email,campaign_id,type,occurred_at\nrita@example.com,big,unsubscribe,%s\n' \
    "$(ago '1 minutes')" > "$T/unsub.csv"
$S import engagement "$T/unsub.csv" || fail "unsubscribe in the copy"
# a file other than the one it opened: not used until a restart
send replaced fred@example.com <<'MSG' && fail "accepted with the store replaced"
Subject: {{offer}}
X-Campaign-ID: big

{{offer}}
MSG
grep -q "store: $T/store.db was replaced while open" "$T/milter.log" ||
    fail "replaced store not logged"
kill -TERM "$MPID" && wait "$MPID"
milter_start
n=$(arrived | wc -l)
send restarted fred@example.com rita@example.com <<'MSG' || fail "refused on the copy: $(tail -3 "$T/restarted.swaks")"
Subject: {{offer}}
X-Campaign-ID: big

{{offer}}
MSG
settle
[ "$(arrived | wc -l)" = $((n + 1)) ] || fail "replaced store: no new message"
M=$(arrived | while read -r f; do grep -l '^X-Rcpt-Args: <fred@example.com>' "$f"; done | tail -1)
grep -q '^Subject: the big catalogue' "$M" || fail "fred not delivered from the copy"
grep -q '^X-Rcpt-Args: <rita@example.com>' "$M" && fail "rita mailed after unsubscribing in the copy"
[ "$(q "SELECT decision FROM ledger WHERE campaign_id = 'big' AND recipient = 'rita@example.com'")" = unsubscribed ] ||
    fail "rita's decision in the copy: $(q "SELECT decision FROM ledger WHERE recipient = 'rita@example.com'")"
fi	# section 8: SQLite only

# --- the audit chain --------------------------------------------------
# against the heads segmilter logged, one per commit
$BUILD/segctl -c "$T/segmilter.conf" audit verify --anchors "$T/milter.log" > "$T/verify.out" || fail "audit verify: $(cat "$T/verify.out")"
n=$(grep -c ": audit=[0-9]*:[0-9a-f]*$" "$T/milter.log")
[ "$n" -ge 5 ] || fail "heads logged: $n"
grep -q "intact: $(q "SELECT count(*) FROM audit") rows, $n anchors found (the latest at row $(q "SELECT max(seq) FROM audit")" "$T/verify.out" ||
    fail "anchors: $(cat "$T/verify.out")"
echo "t-postfix: ok ($(q "SELECT count(*) FROM audit") audit rows, $(arrived | wc -l) messages at the sink)"
