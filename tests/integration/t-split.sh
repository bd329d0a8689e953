#!/bin/sh
# t-split.sh - one broadcast, four segments, through a private Postfix:
# the largest group rewritten in place, every other group a tailored copy
# queued in the outbox and re-injected (libcurl SMTP) into a second smtpd
# that runs no milter.  Checked at the sink: four different bodies, each
# recipient exactly once, suppressed recipients nowhere; a send_after
# variant held until its time; a valid copy marker passed untouched and
# stripped, once: replayed or forged, it is ignored; segctl outbox; the
# one-click unsubscribe link; the audit chain intact.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-split: needs root"; exit 77; }
DBCLI=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && DBCLI=psql
for p in postfix smtp-sink swaks $DBCLI openssl; do
	command -v $p >/dev/null 2>&1 || { echo "t-split: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-split
PORT=${T_SPLIT_PORT:-12725}
SINK=$((PORT + 1))
REINJECT=$((PORT + 2))
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"
S="$BUILD/segctl -q -c $T/segmilter.conf"
KEY=0123456789abcdef0123456789abcdef
printf '%s\n' "$KEY" > "$T/copy.key"
chmod 600 "$T/copy.key"
cat >> "$T/segmilter.conf" <<CONF
outbox = { reinject_url = "smtp://127.0.0.1:$REINJECT";
  key_file = "$T/copy.key"; retry_base_s = 1; };
CONF
HELD=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)
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
cat > "$T/campaigns/early.conf" <<CONF
id = "early";
variants = {
  vip = { offer = "Early access"; send_after = "$HELD"; };
  default = { offer = "Public launch"; };
};
CONF

relay_start "$REINJECT"
# RCPT: the sink's messages for that recipient, one per line
for_rcpt() { grep -l "^X-Rcpt-Args: <$1>" $(arrived) 2>/dev/null; }

# --- 1. one broadcast, four segments ----------------------------------
send broadcast vera@example.com lara@example.com fred@example.com \
    rita@example.com sue@example.com nora@example.com una@example.com \
    bo@acme.example ghost@example.com <<'MSG' || fail "broadcast refused: $(tail -3 "$T/broadcast.swaks")"
From: Shop <news@shop.example>
Subject: {{offer}}
X-Campaign-ID: spring4
Message-ID: <spring4@shop.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

This week: {{offer}}.
MSG
settle
for r in vera lara fred rita sue; do
	n=$(for_rcpt "$r@example.com" | wc -l)
	[ "$n" = 1 ] || fail "$r@example.com received $n copies"
done
for r in nora@example.com una@example.com bo@acme.example ghost@example.com; do
	[ -z "$(for_rcpt "$r")" ] || fail "suppressed $r received a copy"
done
body_of() { sed -n '/^$/,$p' "$(for_rcpt "$1")" | grep '^This week'; }
[ "$(body_of vera@example.com)" = "This week: VIP: 25% off." ] || fail "vip body: $(body_of vera@example.com)"
[ "$(body_of lara@example.com)" = "This week: Come back: 15% off." ] || fail "lapsed body"
[ "$(body_of fred@example.com)" = "This week: Second order: 10% off." ] || fail "first_time body"
[ "$(body_of rita@example.com)" = "This week: Spring: free shipping." ] || fail "default body (rita)"
[ "$(body_of sue@example.com)" = "This week: Spring: free shipping." ] || fail "default body (sue)"
[ "$(arrived | wc -l)" = 4 ] || fail "expected 4 messages (1 in place, 3 copies), got $(arrived | wc -l)"
grep -l '^X-Campaign-ID' $(arrived) && fail "a control header reached the sink"
grep -q '^Subject: VIP: 25% off$' "$(for_rcpt vera@example.com)" || fail "copy Subject"
[ "$(q "SELECT count(*) FROM outbox WHERE state = 'sent'")" = 3 ] || fail "outbox: $(q "SELECT id, state, last_error FROM outbox")"
# the summary line: per variant, the copies counted, not listed
line=$(grep "campaign=spring4: delivered to 5 of 9" "$T/milter.log")
echo "$line" | grep -q "; in place: 2, variant=default, body rewritten" || fail "summary: $line"
for v in vip lapsed first_time; do
	echo "$line" | grep -q "; variant=$v: 1 in 1 copy (job [0-9]*)" || fail "summary, $v: $line"
done
# the report counts the copies' recipients delivered, not their note
$S report spring4 > "$T/report.out" || fail "report spring4"
grep -Eq "^all +9 +5 +1 +0 +1 +1 +0 +1( +0)+$" "$T/report.out" || fail "report: $(cat "$T/report.out")"
# each copy recognised by segmilter on the re-injection port, on record
[ "$(q "SELECT group_concat(recipient) FROM (SELECT recipient FROM audit WHERE decision = 'copy_passed' ORDER BY recipient) AS p")" = \
    "fred@example.com,lara@example.com,vera@example.com" ] ||
    fail "copies passed: $(q "SELECT recipient, detail FROM audit WHERE decision = 'copy_passed'")"
[ "$(q "SELECT route FROM ledger WHERE recipient = 'vera@example.com'")" = copy ] || fail "vera's route"
# each copy's outbox line names the queue entry Postfix gave it, the one
# that Postfix's own log follows to the sink, and so does segctl outbox
vjob=$(q "SELECT id FROM outbox WHERE variant = 'vip'")
vqid=$(sed -n "s/.*outbox: job $vjob: campaign=spring4, variant=vip, attempt 1: sent: 250 2.0.0 Ok: queued as \([0-9A-F]*\)$/\1/p" "$T/milter.log")
[ -n "$vqid" ] || fail "no queue id in the copy's outbox line: $(grep "job $vjob:" "$T/milter.log")"
# (postlogd writes the log a moment after the delivery)
wait_until 'grep -q "$vqid: to=<vera@example.com>, relay=127.0.0.1\[127.0.0.1\]:$SINK.*status=sent" "$T/pf/maillog"' \
    'queue id $vqid is not vera'"'"'s delivery: $(grep "$vqid" "$T/pf/maillog")'
$S outbox | grep -Eq "^$vjob +email +sent +spring4 +vip .* as $vqid$" || fail "outbox list: $($S outbox)"
[ "$(q "SELECT gateway_ref FROM outbox WHERE id = $vjob")" = "$vqid" ] || fail "the queue id is not kept"
[ "$(q "SELECT route FROM ledger WHERE recipient = 'rita@example.com'")" = inplace ] || fail "rita's route"

# the MTA retrying the same message: the copies are not made again
send retry vera@example.com fred@example.com <<'MSG' || fail "retry refused"
Subject: {{offer}}
X-Campaign-ID: spring4
Message-ID: <spring4@shop.example>

This week: {{offer}}.
MSG
settle
[ "$(for_rcpt vera@example.com | wc -l)" = 1 ] || fail "vera got the campaign twice"
[ "$(q "SELECT count(*) FROM outbox")" = 3 ] || fail "a retry queued copies again"

# --- 2. send_after: the VIP copy waits --------------------------------
send early vera@example.com rita@example.com <<'MSG' || fail "early refused"
Subject: {{offer}}
X-Campaign-ID: early

Early: {{offer}}
MSG
"$SRC/tests/lib/postfix.sh" wait "$T/pf"
grep -l '^Early: Public launch' $(arrived) | xargs grep -q '^X-Rcpt-Args: <rita@example.com>' ||
    fail "the public part did not go at once"
grep -l '^Early: Early access' $(arrived) > /dev/null && fail "the held VIP copy went early"
q "SELECT detail FROM audit WHERE campaign_id = 'early' AND recipient = 'vera@example.com'" |
    grep -q "held until" || fail "the audit does not say the copy is held"
# its time comes: moved to now in the store rather than waited for, so
# that a slow machine cannot reach it before the check above; the
# worker looks at least every 5 s
now=$(date +%s)
q "UPDATE outbox SET not_before = $now, next_at = $now WHERE campaign_id = 'early' AND state = 'queued'"
settle
grep -l '^Early: Early access' $(arrived) | xargs grep -q '^X-Rcpt-Args: <vera@example.com>' ||
    fail "the held copy never went"

# --- 3. the copy marker: valid passes untouched, forged is ignored ----
# A marker made as segmilter makes one (marker.h): bound to the
# recipients and to the body less its line ends, under a key derived
# from the key file's for markers alone.
marker() { # NONCE CAMPAIGN TIME RECIPIENT BODY [KEY-AS-IS]
	if [ -n "${6:-}" ]; then
		hk=$(printf '%s' "$KEY" | od -An -v -tx1 | tr -d ' \n')
	else
		hk=$(printf 'segmilter copy marker key' |
		    openssl dgst -sha256 -mac HMAC -macopt "key:$KEY" -binary |
		    od -An -v -tx1 | tr -d ' \n')
	fi
	r=$(printf '%s\n' "$4" | sha256sum | cut -c1-32)
	b=$(printf '%s' "$5" | sha256sum | cut -c1-64)
	mac=$(printf 'v2|%s|%s|%s|%s|%s' "$1" "$2" "$3" "$r" "$b" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hk" | sed 's/.*= //')
	echo "v2; n=$1; c=$2; t=$3; r=$r; mac=$mac"
}
N=00ff00ff00ff00ff00ff00ff
t=$(date +%s)
GOOD=$(marker $N spring4 "$t" nora@example.com 'marked copy body')
send marked nora@example.com <<MSG || fail "marked copy refused"
Subject: a copy {{offer}}
X-Campaign-ID: spring4
X-Segmilter-Copy: $GOOD

marked copy body
MSG
settle
M=$(for_rcpt nora@example.com)
[ -n "$M" ] || fail "a valid copy was not passed"
grep -q '^X-Segmilter-Copy' "$M" && fail "the marker was not stripped"
grep -q '^Subject: a copy {{offer}}$' "$M" || fail "a copy was rewritten"
[ "$(q "SELECT decision || ' ' || detail FROM audit WHERE recipient = 'nora@example.com' AND decision = 'copy_passed'")" = \
    "copy_passed copy $N: its marker verified, passed untouched" ] || fail "the honoured marker is not in the audit log"
# the same marker again: a replay, judged like any campaign message
send replay nora@example.com <<MSG || fail "replay refused"
Subject: replayed {{offer}}
X-Campaign-ID: spring4
X-Segmilter-Copy: $GOOD

marked copy body
MSG
settle
[ "$(for_rcpt nora@example.com | wc -l)" = 1 ] || fail "a replayed marker let a recipient without consent through"
grep -q "marker already used once" "$T/milter.log" || fail "replay not logged"
# a marker good for nora and this body, on a message to una, on
# another body, and one keyed like an unsubscribe link: each ignored
n=0
for forged in "una@example.com|$(marker 00ff00ff00ff00ff00ff00f1 spring4 "$t" nora@example.com 'forged body')" \
    "una@example.com|$(marker 00ff00ff00ff00ff00ff00f2 spring4 "$t" una@example.com 'another body')" \
    "una@example.com|$(marker 00ff00ff00ff00ff00ff00f3 spring4 "$t" una@example.com 'forged body' raw)"; do
	n=$((n + 1))
	send forged$n "${forged%%|*}" <<MSG || fail "forged $n refused: $(tail -3 "$T/forged$n.swaks")"
Subject: forged {{offer}}
X-Campaign-ID: spring4
X-Segmilter-Copy: ${forged#*|}

forged body
MSG
	settle
	[ -z "$(for_rcpt una@example.com)" ] || fail "forged marker $n let an unsubscribed recipient through"
done
[ "$(grep -c "X-Segmilter-Copy does not verify (another key, body or recipients): ignored" "$T/milter.log")" = 3 ] ||
    fail "forged markers not logged"
# not even a marker's form: version 1, a short nonce
send v1 una@example.com <<MSG || fail "v1 marker refused"
Subject: old {{offer}}
X-Campaign-ID: spring4
X-Segmilter-Copy: v1; n=00ff00ff; c=spring4; t=$t; mac=00

old body
MSG
settle
[ -z "$(for_rcpt una@example.com)" ] || fail "a version 1 marker let an unsubscribed recipient through"
grep -q "X-Segmilter-Copy is not a marker: ignored" "$T/milter.log" || fail "v1 marker not logged"

# --- 4. segctl outbox: list, cancel a held copy, retry it -------------
LATER=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)
cat > "$T/campaigns/later.conf" <<CONF
id = "later";
variants = { first_time = { offer = "Later"; send_after = "$LATER"; };
  default = { offer = "Now"; }; };
CONF
kill -HUP "$MPID"
wait_until 'grep -q "reloaded .*4 campaigns" "$T/milter.log"' "reload"
send later fred@example.com sue@example.com <<'MSG' || fail "later refused"
Subject: x
X-Campaign-ID: later

Later: {{offer}}
MSG
settle
job=$(q "SELECT id FROM outbox WHERE campaign_id = 'later'")
$S outbox > "$T/outbox.out" || fail "segctl outbox"
grep -Eq "^$job +email +queued +later +first_time +1 " "$T/outbox.out" || fail "outbox list: $(cat "$T/outbox.out")"
$S outbox list --format json > "$T/outbox.json" || fail "segctl outbox --format json"
python3 - "$T/outbox.json" "$job" "$(q "SELECT count(*) FROM outbox")" <<'PY' || fail "outbox json: $(head -c 400 "$T/outbox.json")"
import json, sys
jobs = {j["job"]: j for j in json.load(open(sys.argv[1]))}
assert len(jobs) == int(sys.argv[3]), len(jobs)
j = jobs[int(sys.argv[2])]
assert (j["kind"], j["state"], j["campaign"], j["variant"], j["recipients"]) == \
    ("email", "queued", "later", "first_time", 1), j
assert j["due"] is not None
PY
[ "$(grep -c ' sent ' "$T/outbox.out")" -ge 4 ] || fail "sent jobs not listed"
first=$(q "SELECT min(id) FROM outbox")
$S outbox cancel "$first" 2>/dev/null && fail "cancelled a sent job"
$S outbox cancel "$job" || fail "cancel"
[ "$(q "SELECT state FROM outbox WHERE id = $job")" = cancelled ] || fail "not cancelled"
$S outbox retry "$job" || fail "retry"
# back in the queue, still held until its send_after
[ "$(q "SELECT state, CASE WHEN next_at = not_before THEN 1 ELSE 0 END FROM outbox WHERE id = $job")" = "queued|1" ] ||
    fail "retry: $(q "SELECT state, next_at, not_before FROM outbox WHERE id = $job")"
grep -l '^Later: Later' $(arrived) > /dev/null && fail "a retried held copy went early"

# --- 5. one-click unsubscribe (RFC 8058) ------------------------------
sed -i 's|^  spool_dir = \(.*\);|  spool_dir = \1; unsubscribe_url = "https://shop.example/u?t=";|' "$T/segmilter.conf"
kill -HUP "$MPID"
wait_until '[ "$(grep -c "reloaded" "$T/milter.log")" -ge 2 ]' \
    "reload with unsubscribe_url"
send unsub lara@example.com <<'MSG' || fail "unsub refused"
Subject: x
X-Campaign-ID: launch

Unsub test: {{offer}}
MSG
settle
M=$(grep -l '^Unsub test' $(arrived))
grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "$M" || fail "no List-Unsubscribe-Post"
token=$(sed -n 's/^List-Unsubscribe: <https:\/\/shop.example\/u?t=\(.*\)>/\1/p' "$M")
[ -n "$token" ] || fail "no List-Unsubscribe link: $(grep -i unsubscribe "$M")"
$S unsubscribe "X$token" 2>/dev/null && fail "a forged token was honoured"
$S unsubscribe "$token" || fail "segctl unsubscribe"
send after lara@example.com <<'MSG' || fail "after refused"
Subject: x
X-Campaign-ID: early

After: {{offer}}
MSG
settle
grep -l '^After:' $(arrived) >/dev/null && fail "an unsubscribed recipient got the next campaign"
[ "$(q "SELECT decision FROM ledger WHERE campaign_id = 'early' AND recipient = 'lara@example.com'")" = unsubscribed ] ||
    fail "not suppressed as unsubscribed"

# --- 6. a re-injection server that refuses: failed, audited, listed ---
REFUSE=$((PORT + 3))
printf '127.0.0.1:%s inet n - n - - smtpd -o smtpd_milters= -o smtpd_client_restrictions=reject\n' \
    "$REFUSE" >> "$T/pf/etc/master.cf"
postfix -c "$T/pf/etc" reload > /dev/null 2>&1
sed -i -e "s|smtp://127.0.0.1:$REINJECT|smtp://127.0.0.1:$REFUSE|" \
    -e 's/^policy = .*/policy = { cap_count = 0; };/' "$T/segmilter.conf"
cat > "$T/campaigns/perm.conf" <<'CONF'
id = "perm";
variants = { first_time = { offer = "Refused"; }; default = { offer = "Fine"; }; };
CONF
kill -HUP "$MPID"
wait_until 'grep -q "reloaded .*5 campaigns" "$T/milter.log"' \
    "reload for the refusing server"
"$SRC/tests/lib/postfix.sh" port "$T/pf" "$REFUSE" || fail "the refusing smtpd"
send perm fred@example.com rita@example.com <<'MSG' || fail "perm refused"
Subject: x
X-Campaign-ID: perm

Perm: {{offer}}
MSG
perm_state() { q "SELECT state FROM outbox WHERE campaign_id = 'perm'"; }
wait_until '[ "$(perm_state)" = failed ]' \
    'the refused copy is not failed: $(perm_state)'
# Fred and Rita are a part each: Fred's (the first) stays, Rita's copy fails
q "SELECT recipient, decision, detail FROM audit WHERE campaign_id = 'perm' AND decision = 'copy_failed'" |
    grep -q "^rita@example.com|copy_failed|outbox job .* after 1 attempts: .*554" || fail "the failure is not audited: $(q "SELECT decision, detail FROM audit WHERE campaign_id = 'perm'")"
$S outbox | grep -Eq " failed +perm +default +1 .*554" || fail "outbox list: $($S outbox | grep perm)"
# a copy sent is the MTA's: its body is gone from the store; the failed
# one keeps it, for segctl outbox retry
[ "$(q "SELECT count(*) FROM outbox JOIN outbox_body ON job_id = id WHERE state = 'sent'")" = 0 ] ||
    fail "sent copies keep their bodies: $(q "SELECT id, length(b.message) FROM outbox JOIN outbox_body b ON job_id = id WHERE state = 'sent'")"
[ "$(q "SELECT CASE WHEN length(b.message) > 0 THEN 1 ELSE 0 END FROM outbox JOIN outbox_body b ON job_id = id WHERE campaign_id = 'perm' AND state = 'failed'")" = 1 ] ||
    fail "the failed copy lost its body"
# the report counts Rita's copy as not sent, in her segment
$S report perm > "$T/report.out" || fail "report perm"
grep -Eq "^repeat +1 +0( +0)+ +1$" "$T/report.out" || fail "report: $(cat "$T/report.out")"
grep -Eq "^first_time +1 +1( +0)+$" "$T/report.out" || fail "report: $(cat "$T/report.out")"
[ "$(q "SELECT count(*) FROM audit WHERE campaign_id = 'later' AND decision IN ('copy_cancelled', 'copy_retried')")" = 2 ] ||
    fail "cancel and retry not audited"

# --- 7. a big message: past the spool's memory and the worker's window
# Its copy's body goes from the spool on disk into the store, and from
# the store to the re-injection port a window at a time: it arrives
# byte for byte, attachment and all.
sed -i "s|smtp://127.0.0.1:$REFUSE|smtp://127.0.0.1:$REINJECT|" "$T/segmilter.conf"
cat > "$T/campaigns/big.conf" <<'CONF'
id = "big";
variants = { vip = { offer = "VIP: 25% off"; }; default = { offer = "Spring"; }; };
CONF
kill -HUP "$MPID"
wait_until 'grep -q "reloaded .*6 campaigns" "$T/milter.log"' "reload for the big message"
{
	printf 'Subject: {{offer}}\nX-Campaign-ID: big\nMIME-Version: 1.0\n'
	printf 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
	printf 'Content-Type: text/plain; charset=utf-8\n\nBig: {{offer}}\n\n--b1\n'
	printf 'Content-Type: application/pdf; name="c.pdf"\n'
	printf 'Content-Disposition: attachment; filename="c.pdf"\n'
	printf 'Content-Transfer-Encoding: base64\n\n'
	head -c 2300000 /dev/urandom | base64 -w 76
	printf -- '--b1--\n'
} > "$T/big.eml"
send big vera@example.com rita@example.com < "$T/big.eml" || fail "big refused"
big_done() { [ "$(q "SELECT state FROM outbox WHERE campaign_id = 'big'")" = sent ]; }
wait_until big_done 'the big copy is $(q "SELECT state, last_error FROM outbox WHERE campaign_id = '"'"'big'"'"'")'
settle
attachment() { sed -n '/^Content-Disposition: attachment/,/^--b1--/p' "$1" | tr -d '\r' | md5sum; }
want=$(attachment "$T/big.eml")
for r in vera rita; do
	f=$(grep -l "^Big: " $(for_rcpt "$r@example.com"))
	[ -n "$f" ] || fail "$r got no big message"
	[ "$(attachment "$f")" = "$want" ] || fail "$r's big message is not byte for byte: $(wc -c < "$f") bytes"
done
grep -q "^Big: VIP: 25% off" $(for_rcpt vera@example.com) || fail "vera's big body"
[ "$(q "SELECT length(message) FROM outbox WHERE campaign_id = 'big'")" = 0 ] ||
    fail "the copy's body in the outbox row"

$S audit verify > "$T/verify.out" || fail "audit verify: $(cat "$T/verify.out")"
echo "t-split: ok ($(arrived | wc -l) messages at the sink, $(q "SELECT count(*) FROM outbox") copies)"
