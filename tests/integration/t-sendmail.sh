#!/bin/sh
# t-sendmail.sh - segmilter inside a real, private Sendmail on loopback
# (tests/lib/sendmail.sh: Debian's 8.17, unpacked by contrib/install-deps.sh,
# run with -C), hooked up with contrib/sendmail/segmilter.mc's own lines:
# INPUT_MAIL_FILTER (F=T) on the MTA daemon, and the re-injection
# DAEMON_OPTIONS, segmilter there too, for the tailored copies.  Checked
# at the far end (smtp-sink), in segmilter's log and store, and in
# Sendmail's own milter trace (-d64.10):
#   1. transactional mail untouched (segmilter is sent no body); the
#      actions agreed, the macros asked for (smfi_setsymlist)
#   2. a campaign for one recipient tailored in place, its return path
#      changed with smfi_chgfrom to the exact signed token, its one-click
#      unsubscribe headers added; the queue id ({i}, given at MAIL) one
#      and the same in Sendmail's reply, its Received: line, segmilter's
#      log and the audit rows
#   3. a broadcast to eleven: five delivered, each in their segment's
#      variant, the six suppressed nowhere; one recipient kept in the
#      original (unsubscribe links are personal), four copies
#      re-injected through the re-injection daemon, passed there by
#      segmilter and noted under the queue id Sendmail gave them; each
#      recipient once at the sink with their own return path
#   4. exactly once: the same message retried and sent again, and a
#      genuine copy replayed with the campaign header (to its recipient,
#      and to one without consent), deliver nobody twice
#   5. segmilter down: Sendmail tempfails all mail (F=T); back, it flows
# and the audit chain verifies.
# Every step runs on either engine: nothing here is a store file's own.
#
# Loopback ports 13625-13629 (T_SENDMAIL_PORT, +1 the sink, +2 the
# re-injection daemon).  Needs root; skipped (77) without smtp-sink,
# swaks, sqlite3 (psql on PostgreSQL), openssl, xxd or base32, as the
# other MTA tests are; FAILS, naming contrib/install-deps.sh, without the
# unpacked Sendmail.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-sendmail: needs root"; exit 77; }
DBCLI=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && DBCLI=psql
for p in smtp-sink swaks $DBCLI openssl xxd base32; do
	command -v $p >/dev/null 2>&1 || { echo "t-sendmail: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-sendmail
PORT=${T_SENDMAIL_PORT:-13625}
SINK=$((PORT + 1))
REINJECT=$((PORT + 2))
SM="$SRC/tests/lib/sendmail.sh"
trap '"$SM" stop "$T/sm"; harness_cleanup' EXIT
fail() {
	echo "FAIL: $*"
	echo "--- segmilter log"; tail -20 "$T/milter.log" 2>/dev/null
	echo "--- sendmail's SMTP traffic"; tail -15 "$T/sm/traffic" 2>/dev/null
	exit 1
}
arrived() { find "$T/sm/sink" -type f | sort; }
# RCPT: the sink's messages for that recipient, one per line
for_rcpt() { grep -l "^X-Rcpt-Args: <$1>" $(arrived) 2>/dev/null; }
# FILE: the queue id Sendmail gave the message (its Received: line)
sm_qid() { sed -n 's/.*by relay\.segmilter\.test (8[^)]*) with ESMTP id \([0-9A-Za-z]*\).*/\1/p' "$1"; }
# NAME: the queue id in Sendmail's answer to swaks' DATA
swaks_qid() { sed -n 's/^<-  250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery.*/\1/p' "$T/$1.swaks"; }

"$SM" check > "$T/check.out" 2>&1 || fail "$(cat "$T/check.out")"
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"
S="$BUILD/segctl -q -c $T/segmilter.conf"
. "$SRC/tests/lib/bounce.sh"
KEY=0123456789abcdef0123456789abcdef
printf '%s\n' "$KEY" > "$T/copy.key"
chmod 600 "$T/copy.key"
sed -i 's|^  user = "";|  user = "";\n  bounce_domain = "shop.example";\n  unsubscribe_url = "https://shop.example/u?t=";|' \
    "$T/segmilter.conf"
cat >> "$T/segmilter.conf" <<CONF
outbox = { reinject_url = "smtp://127.0.0.1:$REINJECT";
  key_file = "$T/copy.key"; retry_base_s = 1; };
CONF
grep -q 'bounce_domain = "shop.example"' "$T/segmilter.conf" || fail "config"
cat > "$T/campaigns/spring4.conf" <<'CONF'
id = "spring4";
audience = { exclude = [ "b2b" ]; };
variants = {
  vip = { offer = "VIP: 25% off"; };
  lapsed = { offer = "Come back: 15% off"; };
  first_time = { offer = "Second order: 10% off"; };
  default = { offer = "Spring: free shipping"; };
};
CONF

milter_start
"$SM" start "$T/sm" "$PORT" "$SINK" "unix:$T/segmilter.sock" || fail "sendmail start"
"$SM" reinject "$T/sm" "$REINJECT" || fail "re-injection daemon"
# the shipped lines, and nothing on a port but loopback ones
grep -q "^Xsegmilter, S=unix:$T/segmilter.sock, F=T, T=S:30s;R:30s;E:5m$" "$T/sm/sendmail.cf" ||
    fail "segmilter.mc's INPUT_MAIL_FILTER line not in sendmail.cf"
grep -q "^O DaemonPortOptions=Port=$REINJECT, Addr=127.0.0.1, Name=MTA-reinject, InputMailFilters=segmilter$" \
    "$T/sm/sendmail.cf" || fail "segmilter.mc's re-injection daemon not in sendmail.cf"
[ "$(grep -c '^O DaemonPortOptions=' "$T/sm/sendmail.cf")" = 2 ] ||
    fail "daemons: $(grep '^O DaemonPortOptions=' "$T/sm/sendmail.cf")"

D="$T/sm/debug"	# Sendmail's milter trace
# the outbox empty of due work, then Sendmail's queue
settle() {
	wait_until outbox_idle "outbox did not drain"
	"$SM" wait "$T/sm" || fail "sendmail's queue did not drain"
}

# --- 1. transactional mail: untouched, whoever it is for --------------
send receipt nora@example.com <<'MSG' || fail "receipt refused: $(tail -3 "$T/receipt.swaks")"
Subject: Your order V1 {{offer}}
Message-ID: <receipt-1@shop.example>

Thanks for your order, {{first_name}}.
MSG
settle
M=$(for_rcpt nora@example.com)
[ -n "$M" ] || fail "transactional mail suppressed"
grep -q '^Thanks for your order, {{first_name}}.$' "$M" || fail "transactional mail rewritten"
grep -q '^Subject: Your order V1 {{offer}}$' "$M" || fail "transactional Subject rewritten"
grep -q '^X-Mail-Args: <news@shop.example>' "$M" || fail "transactional sender: $(grep ^X-Mail-Args "$M")"
[ "$(q "SELECT count(*) FROM audit")" = 0 ] || fail "transactional mail audited"
# accepted at the end of its headers: Sendmail sends segmilter no body
rq=$(swaks_qid receipt)
grep -q "^milter_send_macros(segmilter, N): i=$rq$" "$D" || fail "no end of headers for $rq in the trace"
grep -q "^milter_send_macros(segmilter, E): i=$rq$" "$D" && fail "transactional mail went to segmilter whole"

# what Sendmail offered and sends, in its milter trace: segmilter asks
# for {i} alone at each step (smfi_setsymlist); Sendmail honours the
# list, CHGFROM and SETSYMLIST among the actions agreed
for st in envfrom envrcpt data eoh eom; do
	grep -q "milter_getsymlist(segmilter, macros.$st, \"i\")=1" "$D" ||
	    fail "no symbol list for $st: $(grep getsymlist "$D" | head -5)"
done
f=$(sed -n 's/^milter_negotiate(segmilter): received: version 6, fflags \(0x[0-9a-f]*\),.*/\1/p' "$D" | head -1)
[ -n "$f" ] || fail "no negotiation in the trace"
# ADDHDRS 0x1 CHGBODY 0x2 DELRCPT 0x8 CHGHDRS 0x10 CHGFROM 0x40 SETSYMLIST 0x100
[ $((f & 0x15b)) = $((0x15b)) ] || fail "actions agreed: $f"

# --- 2. one recipient: tailored in place, its own return path ---------
send single sue@example.com <<'MSG' || fail "single refused: $(tail -3 "$T/single.swaks")"
From: Shop <news@shop.example>
Subject: {{headline}}: {{offer}}
X-Campaign-ID: launch
Message-ID: <launch-sue@shop.example>

Hello {{first_name|default:"there"}}, {{offer}} this week.
MSG
settle
M=$(for_rcpt sue@example.com)
[ "$(echo "$M" | wc -w)" = 1 ] || fail "sue: $(echo "$M" | wc -w) messages"
grep -q '^Subject: Spring launch: 10% off$' "$M" || fail "single Subject: $(grep ^Subject "$M")"
grep -q '^Hello Sue, 10% off this week.$' "$M" || fail "single body: $(sed -n '/^$/,$p' "$M")"
grep -qi '^X-Campaign-ID' "$M" && fail "the campaign header reached the sink"
# smfi_chgfrom: the envelope sender is sue's own signed return path
tok=$(bounce_token "$(q "SELECT id FROM customers WHERE email = 'sue@example.com'")" \
    sue@example.com launch "$T/copy.key")
grep -q "^X-Mail-Args: <bounces+$tok@shop.example>$" "$M" ||
    fail "return path: $(grep ^X-Mail-Args "$M"), want bounces+$tok@shop.example"
grep -q 'milter_chgfrom: <bounces+' "$D" || fail "no CHGFROM in Sendmail's trace"
# smfi_addheader: her one-click unsubscribe link (RFC 8058)
grep -q '^List-Unsubscribe: <https://shop.example/u?t=[^>]*>$' "$M" || fail "no List-Unsubscribe: $(grep -i unsubscribe "$M")"
grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click$' "$M" || fail "no List-Unsubscribe-Post"
# the queue id: Sendmail's (given at MAIL), in its reply, its Received:
# line, segmilter's log and the audit rows
qid=$(swaks_qid single)
[ -n "$qid" ] || fail "no queue id in Sendmail's reply: $(grep '^<-  250' "$T/single.swaks")"
[ "$(sm_qid "$M")" = "$qid" ] || fail "Received: id $(sm_qid "$M"), reply $qid"
[ "$(q "SELECT DISTINCT queue_id FROM audit WHERE campaign_id = 'launch'")" = "$qid" ] ||
    fail "audit queue id: $(q "SELECT DISTINCT queue_id FROM audit")"
grep -q "^segmilter\[[0-9]*\]: $qid: campaign=launch: delivered to 1 of 1" "$T/milter.log" ||
    fail "log line with the queue id first: $(grep campaign=launch "$T/milter.log")"
for st in M R T N E; do
	grep -q "^milter_send_macros(segmilter, $st): i=$qid$" "$D" ||
	    fail "{i} not sent at $st: $(grep "milter_send_macros(segmilter, $st)" "$D" | tail -2)"
done

# --- 3. one broadcast, four segments: split, copies re-injected -------
send broadcast vera@example.com lara@example.com fred@example.com \
    rita@example.com sue@example.com nora@example.com una@example.com \
    bo@acme.example bob@example.com fay@example.com ghost@example.com <<'MSG' || fail "broadcast refused: $(tail -3 "$T/broadcast.swaks")"
From: Shop <news@shop.example>
Subject: {{offer}}
X-Campaign-ID: spring4
Message-ID: <spring4@shop.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

This week: {{offer}}.
MSG
settle
n_before=$(arrived | wc -l)
for r in vera lara fred rita sue; do
	n=$(for_rcpt "$r@example.com" | xargs -r grep -l '^This week' | wc -l)
	[ "$n" = 1 ] || fail "$r@example.com received the broadcast $n times"
done
for r in nora@example.com una@example.com bo@acme.example bob@example.com \
    fay@example.com ghost@example.com; do
	for_rcpt "$r" | xargs -r grep -l '^This week' | grep -q . &&
	    fail "suppressed $r received the broadcast"
done
body_of() { for_rcpt "$1" | xargs grep -h '^This week'; }
[ "$(body_of vera@example.com)" = "This week: VIP: 25% off." ] || fail "vip body: $(body_of vera@example.com)"
[ "$(body_of lara@example.com)" = "This week: Come back: 15% off." ] || fail "lapsed body"
[ "$(body_of fred@example.com)" = "This week: Second order: 10% off." ] || fail "first_time body"
[ "$(body_of rita@example.com)" = "This week: Spring: free shipping." ] || fail "default body (rita)"
[ "$(body_of sue@example.com)" = "This week: Spring: free shipping." ] || fail "default body (sue)"
B=$(grep -l '^This week' $(arrived))
# a personal unsubscribe link each: one message per recipient, the
# original kept for one of them, four copies
[ "$(echo "$B" | wc -w)" = 5 ] || fail "expected 5 messages (1 in place, 4 copies), got $(echo "$B" | wc -w)"
grep -l '^X-Campaign-ID\|^X-Segmilter-Copy' $B && fail "a control header or marker reached the sink"
grep -q '^Subject: VIP: 25% off$' "$(for_rcpt vera@example.com | xargs grep -l '^This week')" || fail "copy Subject"
# the suppressed, each with its reason
for d in nora:no_consent una:unsubscribed bob:bounced fay:fatigued ghost:unknown; do
	[ "$(q "SELECT decision FROM ledger WHERE campaign_id = 'spring4' AND recipient = '${d%%:*}@example.com'")" = "${d#*:}" ] ||
	    fail "${d%%:*}: $(q "SELECT decision FROM ledger WHERE campaign_id = 'spring4' AND recipient = '${d%%:*}@example.com'")"
done
[ "$(q "SELECT decision FROM ledger WHERE recipient = 'bo@acme.example'")" = audience ] || fail "bo"
[ "$(q "SELECT count(*) FROM outbox WHERE state = 'sent'")" = 4 ] ||
    fail "outbox: $(q "SELECT id, state, last_error FROM outbox")"
# Each delivered recipient, at the sink once, with their own return
# path.  The original (Sendmail's queue id for the broadcast) went to one
# of them, its sender changed with smfi_chgfrom.  Each copy was sent by
# an outbox worker to the re-injection daemon, which gave it a queue id
# of its own; segmilter there passed it untouched and noted it under that
# queue id ({i} at the end of the message); it reached the sink under
# that id.
bq=$(swaks_qid broadcast)
inplace=""
for v in vip:vera lapsed:lara first_time:fred default:rita default:sue; do
	r=${v#*:}@example.com
	M=$(for_rcpt "$r" | xargs grep -l '^This week')
	[ "$(grep -c '^X-Rcpt-Args:' "$M")" = 1 ] || fail "$r shares a message: $(grep '^X-Rcpt-Args:' "$M")"
	tok=$(bounce_token "$(q "SELECT id FROM customers WHERE email = '$r'")" "$r" spring4 "$T/copy.key")
	grep -q "^X-Mail-Args: <bounces+$tok@shop.example>$" "$M" || fail "$r's sender: $(grep ^X-Mail-Args "$M")"
	if [ "$(sm_qid "$M")" = "$bq" ]; then
		inplace="$inplace $r"
		[ "$(q "SELECT route FROM ledger WHERE campaign_id = 'spring4' AND recipient = '$r'")" = inplace ] ||
		    fail "$r: in the original, routed $(q "SELECT route FROM ledger WHERE campaign_id = 'spring4' AND recipient = '$r'")"
		continue
	fi
	job=$(q "SELECT id FROM outbox WHERE campaign_id = 'spring4' AND recipients LIKE '%$r%'")
	[ -n "$job" ] || fail "$r: neither the original ($bq) nor a copy: $(sm_qid "$M")"
	cq=$(q "SELECT gateway_ref FROM outbox WHERE id = $job")
	grep -q "outbox: job $job: campaign=spring4, variant=${v%%:*}, attempt 1: sent: 250 2.0.0 $cq Message accepted for delivery" \
	    "$T/milter.log" || fail "job $job's line: $(grep "job $job:" "$T/milter.log")"
	[ -n "$cq" ] && [ "$(sm_qid "$M")" = "$cq" ] || fail "$r: at the sink as $(sm_qid "$M"), the outbox says '$cq'"
	[ "$(q "SELECT queue_id FROM audit WHERE decision = 'copy_passed' AND recipient = '$r'")" = "$cq" ] ||
	    fail "$r: copy_passed $(q "SELECT queue_id, detail FROM audit WHERE decision = 'copy_passed' AND recipient = '$r'")"
	[ "$(q "SELECT s.queue_id FROM copy_seen s JOIN outbox o ON o.nonce = s.nonce WHERE o.id = $job")" = "$cq" ] ||
	    fail "$r: copy_seen $(q "SELECT * FROM copy_seen")"
done
[ "$(echo $inplace | wc -w)" = 1 ] || fail "in the original:$inplace"
copies=$(for r in vera lara fred rita sue; do
	[ " $r@example.com" = "$inplace" ] || echo "$r@example.com"; done)
# the re-injection daemon, by its name, ran segmilter on the copies
grep -q '^milter_send_macros(segmilter, C): {daemon_name}=MTA-reinject$' "$D" ||
    fail "segmilter never ran on the re-injection daemon"

# --- 4. exactly once: the same broadcast again, a copy replayed -------
# the sending tool retrying the same message (same Message-ID) to the
# copies' recipients: the copies are not made again (who was kept in
# place would get it: segmilter takes a retry of the very message for one
# whose answer was lost); sent again under a new Message-ID to all five:
# nobody twice
send retry $copies <<'MSG' || fail "retry refused: $(tail -3 "$T/retry.swaks")"
From: Shop <news@shop.example>
Subject: {{offer}}
X-Campaign-ID: spring4
Message-ID: <spring4@shop.example>

This week: {{offer}}.
MSG
send resend vera@example.com lara@example.com fred@example.com \
    rita@example.com sue@example.com <<'MSG' || fail "resend refused: $(tail -3 "$T/resend.swaks")"
From: Shop <news@shop.example>
Subject: {{offer}}
X-Campaign-ID: spring4
Message-ID: <spring4-again@shop.example>

This week: {{offer}}.
MSG
settle
[ "$(arrived | wc -l)" = "$n_before" ] || fail "a retry or resend delivered again"
[ "$(q "SELECT count(*) FROM outbox")" = 4 ] || fail "a retry queued copies again"
for s in retry resend; do
	rq=$(swaks_qid $s)
	grep -q "$rq: campaign=spring4: nobody left in the original: discarded" "$T/milter.log" ||
	    fail "$s not discarded: $(grep "$rq" "$T/milter.log")"
done
# a copy as the re-injection daemon received it (Sendmail's -X traffic
# log), marker and all, sent again with the campaign header: to its
# recipient (its marker verifies, but was used) and to nora (it does not)
# (lines "PID <<< TEXT"; one session per worker, a transaction per copy)
rc=$(echo $copies | cut -d' ' -f1)
tr -d '\r' < "$T/sm/traffic" | awk -v to="RCPT TO:<$rc>" '
	$2 != "<<<" { next }
	{ p = $1; line = substr($0, length(p) + 6) }
	line ~ /^MAIL FROM:/ { rcpt[p] = ""; next }
	line ~ /^RCPT TO:/ { rcpt[p] = rcpt[p] line; next }
	line == "DATA" { on[p] = rcpt[p] == to; text[p] = ""; next }
	on[p] && line == "." {
		if (text[p] ~ /\nX-Segmilter-Copy: /) { printf "%s", text[p]; exit }
		on[p] = 0; next
	}
	on[p] { text[p] = text[p] line "\n" }' > "$T/copy.eml"
grep -q '^This week: ' "$T/copy.eml" && grep -q '^X-Segmilter-Copy: v2; ' "$T/copy.eml" ||
    fail "$rc's copy from the traffic log: $(cat "$T/copy.eml")"
n=0
for r in "$rc" nora@example.com; do
	n=$((n + 1))
	{ echo "X-Campaign-ID: spring4"; cat "$T/copy.eml"; } |
	    send "replay$n" "$r" || fail "replay $n refused: $(tail -3 "$T/replay$n.swaks")"
done
settle
[ "$(arrived | wc -l)" = "$n_before" ] || fail "a replayed copy was delivered"
grep -q "$(swaks_qid replay1): copy [0-9a-f]*: marker already used once (or store error): judged as a campaign" \
    "$T/milter.log" || fail "replay to $rc: $(grep "$(swaks_qid replay1)" "$T/milter.log")"
grep -q "$(swaks_qid replay2): copy [0-9a-f]*: X-Segmilter-Copy does not verify" \
    "$T/milter.log" || fail "replay to nora: $(grep "$(swaks_qid replay2)" "$T/milter.log")"
[ "$(q "SELECT decision FROM ledger WHERE campaign_id = 'spring4' AND recipient = 'nora@example.com'")" = no_consent ] ||
    fail "nora's decision changed"

# --- 5. segmilter down: Sendmail tempfails everything (F=T) -----------
kill -TERM "$MPID" && wait "$MPID"
MPID=""
# refused at MAIL FROM, before any content: transactional mail too
send down vera@example.com <<'MSG' && fail "accepted with segmilter down"
Subject: Your order V2

x
MSG
grep -q '^<\*\* *451 4\.3\.2 ' "$T/down.swaks" || fail "F=T reply: $(grep '^<' "$T/down.swaks" | tail -2)"
milter_start
send up lara@example.com <<'MSG' || fail "refused once segmilter is back: $(tail -3 "$T/up.swaks")"
Subject: Up: {{offer}}
Message-ID: <up@shop.example>

Transactional again.
MSG
settle
for_rcpt lara@example.com | xargs grep -q '^Transactional again.$' || fail "mail after the restart"

$S audit verify > "$T/verify.out" || fail "audit verify: $(cat "$T/verify.out")"
echo "t-sendmail: ok ($(arrived | wc -l) messages at the sink, $(q "SELECT count(*) FROM outbox") copies re-injected, Sendmail $(sed -n 's/.* ESMTP Sendmail \([0-9.]*\)\/.*/\1/p' "$T/sm/traffic" | head -1))"
