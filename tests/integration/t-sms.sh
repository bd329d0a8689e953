#!/bin/sh
# t-sms.sh - a cart-recovery campaign with an SMS block, through a private
# Postfix with segmilter and a local test gateway (tests/lib/smsgw.py)
# that speaks Twilio's Messages API on loopback and injects faults.
#
# Checked at the gateway's request log: every eligible customer gets
# exactly one SMS, with their own text; nobody without SMS consent (email
# consent alone, no evidence, revoked, a STOP reply), with a bad number or
# outside the SMS segments gets one; 500s, 429s and a timeout are retried;
# a 2xx whose body stalls or is cut off is sent, not sent again, its id
# unknown; each other sent SMS is audited with the gateway's id for it;
# segmilter killed while every attempt fails loses nothing once it is
# back; the gateway's permanent refusals mark the number (opted out,
# invalid) and are audited; a second campaign the same day is capped;
# quiet hours hold the Tokyo customers until their window opens, and a
# STOP or sms.max_age_hours passing while a job waits stops it; a
# customer who agreed to texts but not to email gets nothing by default
# and the text alone with channel = "sms_if_no_email"; the
# webhook driver signs its requests (switched to by SIGHUP); TLS to the
# gateway is verified (a self-signed certificate is refused until
# sms.ca_file names it); the audit chain verifies.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-sms: needs root"; exit 77; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db=psql
for p in postfix smtp-sink swaks $db python3 openssl; do
	command -v $p >/dev/null 2>&1 || { echo "t-sms: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-sms
PORT=${T_SMS_PORT:-12825}
SINK=$((PORT + 1))
GWPID="" TLSPID=""
. "$SRC/tests/lib/fixture.sh"	# q, ago
cleanup_gw() {
	[ -n "$GWPID" ] && kill "$GWPID" 2>/dev/null
	[ -n "$TLSPID" ] && kill "$TLSPID" 2>/dev/null
	harness_cleanup
}
trap cleanup_gw EXIT

# --- the gateway ---------------------------------------------------------
echo '{}' > "$T/faults.json"
python3 "$SRC/tests/lib/smsgw.py" --port-file "$T/gw.port" --log "$T/gw.log" \
    --faults "$T/faults.json" --twilio-sid AC0123 --twilio-token tok-secret-1 \
    --webhook-secret hook-secret-1 2> "$T/gw.err" &
GWPID=$!
wait_until '[ -s "$T/gw.port" ]' "gateway did not start"
GW=$(cat "$T/gw.port")
faults() { printf '%s\n' "$1" > "$T/faults.json.new"; mv "$T/faults.json.new" "$T/faults.json"; }
# accepted SMS per number: "COUNT NUMBER"
accepted() { python3 - "$T/gw.log" <<'PY'
import collections, json, sys
c = collections.Counter(json.loads(l)["to"] for l in open(sys.argv[1])
                        if json.loads(l)["outcome"] in ("ok", "stall", "cut"))
for to, n in sorted(c.items()):
    print(n, to)
PY
}
# the gateway's outcomes for NUMBER's requests, in order
outcomes() { python3 - "$T/gw.log" "$1" <<'PY'
import json, sys
print(" ".join(r["outcome"] for r in map(json.loads, open(sys.argv[1]))
               if r["to"] == sys.argv[2]))
PY
}

# --- the store -----------------------------------------------------------
# a01..a12: cart abandoners with SMS consent and evidence: eligible.
# Five more cart abandoners who must get no SMS: email consent only (e1),
# SMS consent without evidence (e2), SMS consent revoked (e3), no phone
# (e4), a STOP reply after consenting (e5).  n1: SMS consent, no cart:
# outside the SMS segments.  g1, g2: eligible, but the gateway says opted
# out, invalid.  t1, t2: eligible, in Tokyo.
mkdir -p "$T/campaigns"
TOK_H=$(TZ=Asia/Tokyo date +%H | sed 's/^0//')
if [ "$TOK_H" -le 20 ]; then JP_START=$((TOK_H + 2)); else JP_START=3; fi
JP_WIN=$(printf '%02d:00-%02d:00' "$JP_START" $((JP_START + 1)))
JP_DUE=$(python3 -c "
import datetime, zoneinfo
z = zoneinfo.ZoneInfo('Asia/Tokyo'); now = datetime.datetime.now(z)
d = now.replace(hour=$JP_START, minute=0, second=0, microsecond=0)
if d <= now: d += datetime.timedelta(days=1)
print(int(d.timestamp()))")
{
	echo "email,first_name,phone,country,region,time_zone"
	for n in 01 02 03 04 05 06 07 08 09 10 11 12; do
		echo "a$n@example.com,Ann$n,+1555000$((1000 + ${n#0})),US,NY,America/New_York"
	done
	echo "e1@example.com,Eve,+15550002001,US,FL,"
	echo "e2@example.com,Eli,+15550002002,US,,"
	echo "e3@example.com,Ema,+15550002003,US,,"
	echo "e4@example.com,Eno,,US,,"
	echo "e5@example.com,Eva,+15550002005,US,,"
	echo "n1@example.com,Ned,+15550003001,US,,"
	echo "g1@example.com,Gil,+15550004001,US,,"
	echo "g2@example.com,Gus,+15550004002,US,,"
	echo "t1@example.com,Taro,+81312345671,JP,,Asia/Tokyo"
	echo "t2@example.com,Tomo,+81312345672,JP,,"
	echo "w1@example.com,Wes,+15550005001,US,,"
	echo "s1@example.com,Sam,+15550006001,US,,"
	echo "x1@example.com,Xia,+15550007001,US,,"
	echo "m1@example.com,Mia,+15550008001,US,,"
	echo "o1@example.com,Oli,+15550008002,US,,"
} > "$T/customers.csv"
CUSTOMERS="a01 a02 a03 a04 a05 a06 a07 a08 a09 a10 a11 a12 e1 e2 e3 e4 e5 n1 g1 g2 t1 t2"
{
	echo "email,type,occurred_at,category,cart_value"
	for c in $CUSTOMERS w1 s1 x1 m1 o1; do
		[ "$c" = n1 ] && continue
		echo "$c@example.com,add_to_cart,$(ago '3 hours'),coffee,42.00"
	done
} > "$T/events.csv"
{
	echo "email,channel,status,source,recorded_at,evidence"
	for c in $CUSTOMERS w1 s1 x1; do
		echo "$c@example.com,email,granted,checkout,$(ago '100 days'),box ticked"
		case $c in
		e1) ;;
		e2) echo "$c@example.com,sms,granted,import,$(ago '90 days')," ;;
		e3) echo "$c@example.com,sms,granted,checkout,$(ago '90 days'),sms box"
		    echo "$c@example.com,sms,revoked,preference_center,$(ago '5 days'),toggle off" ;;
		*) echo "$c@example.com,sms,granted,checkout,$(ago '90 days'),sms box ticked (form v3)" ;;
		esac
	done
	# m1 agreed to texts, never to email; o1 to neither
	echo "m1@example.com,sms,granted,checkout,$(ago '90 days'),sms box ticked (form v3)"
	echo "m1@example.com,email,revoked,checkout,$(ago '90 days'),box left empty"
	echo "o1@example.com,email,revoked,checkout,$(ago '90 days'),box left empty"
} > "$T/consent.csv"
printf 'phone,received_at,text\n+15550002005,%s,STOP\n+15550001001,%s,help\n' \
    "$(ago '2 days')" "$(ago '2 days')" > "$T/replies.csv"

printf 'account_sid = "AC0123";\nauth_token = "tok-secret-1";\n' > "$T/twilio.cred"
chmod 600 "$T/twilio.cred"
printf 'secret = "hook-secret-1";\n' > "$T/hook.cred"
chmod 600 "$T/hook.cred"
write_conf() {	# DRIVER URL CREDENTIALS [EXTRA]
	cat > "$T/segmilter.conf" <<-CONF
	store = "${STORE:-$T/store.db}";
	store_timeout_ms = 2000;
	milter = { socket = "unix:$T/segmilter.sock"; socket_mode = "0666";
	  user = ""; campaigns = "$T/campaigns"; spool_dir = "$T"; };
	policy = { cap_count = 5; };
	outbox = { retry_base_s = 1; retry_max_s = 2; workers = 2; };
	sms = { driver = "$1"; url = "$2"; credentials_file = "$3";
	  from = "+15005550006"; status_callback = "https://shop.example/sms";
	  timeout = 2; connect_timeout = 2; window = "00:00-24:00";
	  windows = ( { where = "JP"; window = "$JP_WIN"; } ); ${4:-} };
	CONF
}
write_conf twilio "http://127.0.0.1:$GW" "$T/twilio.cred"
cat > "$T/campaigns/cart.conf" <<'CONF'
id = "cart-rescue";
variants = { default = { code = "CART10"; }; };
sms = {
  segments = [ "cart_abandoner" ];
  text = "{{first_name|default:\"Hi\"}}, your cart is waiting: 10% off with {{code}}. Reply STOP to opt out";
};
CONF
cat > "$T/campaigns/cart3.conf" <<'CONF'
id = "cart-rescue-3";
variants = { default = { code = "CART3"; }; };
sms = { segments = [ "cart_abandoner" ]; channel = "sms_if_no_email";
  text = "{{first_name|default:\"Hi\"}}, {{code}} for your cart. Reply STOP to opt out"; };
CONF
cat > "$T/campaigns/cart2.conf" <<'CONF'
id = "cart-rescue-2";
variants = { default = { code = "CART15"; }; };
sms = { segments = [ "cart_abandoner" ]; text = "Last call: {{code}} ☕ STOP to opt out"; };
CONF
S="$BUILD/segctl -q -c $T/segmilter.conf"
$S init && $S import customers "$T/customers.csv" &&
    $S import events "$T/events.csv" && $S import consent "$T/consent.csv" &&
    $S segments rebuild || fail "store"
$S optout import "$T/replies.csv" || fail "optout import"
[ "$(q "SELECT status FROM phone_status WHERE phone = '+15550002005'")" = opted_out ] ||
    fail "STOP reply not recorded"
[ "$(q "SELECT count(*) FROM phone_status")" = 1 ] || fail "HELP taken for a STOP"
# the shop's next export still says yes for e5: its flag is no new opt-in
cat > "$T/shopify.csv" <<'CSV'
Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Phone,Accepts SMS Marketing,Default Address Country Code
7005,Eva,,e5@example.com,yes,+15550002005,yes,US
CSV
$S import customers "$T/shopify.csv" 2> "$T/shopify.err" || fail "shopify import: $(cat "$T/shopify.err")"
grep -q 'opted out (STOP)' "$T/shopify.err" || fail "no warning for the STOP: $(cat "$T/shopify.err")"

"$BUILD/segmilter" -n -c "$T/segmilter.conf" > "$T/check.out" 2>&1 ||
    fail "segmilter -n: $(cat "$T/check.out")"
grep -q "campaign cart-rescue: sms variant default: GSM-7, .* 1 part" "$T/check.out" ||
    fail "-n does not report the SMS size: $(cat "$T/check.out")"
grep -q "campaign cart-rescue-2: sms variant default: UCS-2" "$T/check.out" ||
    fail "-n does not see the UCS-2 text: $(cat "$T/check.out")"

milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"

# --- 1. the campaign, with the gateway failing at first -------------------
# a05, a06: 2xx, then the body stalls past sms.timeout, or is cut off
faults '{"first": [["500", 4]], "numbers": {"+15550001003": ["429", "429", "ok"],
  "+15550001004": ["timeout", "ok"], "+15550001005": ["stall", "ok"],
  "+15550001006": ["cut", "ok"]}, "optout": ["+15550004001"],
  "invalid": ["+15550004002"]}'
RCPTS="" TO=""
for c in $CUSTOMERS; do RCPTS="$RCPTS $c@example.com"; TO="$TO --to $c@example.com"; done
cat > "$T/cart.eml" <<'MSG'
From: Shop <news@shop.example>
Subject: Your cart
X-Campaign-ID: cart-rescue
Message-ID: <cart-1@shop.example>

Still thinking it over? {{code}} takes 10% off.
MSG
# shellcheck disable=SC2086
$S preview $TO "$T/cart.eml" > "$T/preview.out" || fail "preview"
for want in "sms: 21 delivered recipients in its segments (cart_abandoner)" \
    "variant default, e.g. to +15550001001: GSM-7, 71 characters, 1 part" \
    "Ann01, your cart is waiting: 10% off with CART10. Reply STOP to opt out" \
    "queued         16" "opted_out      1" "no_sms_consent 2" \
    "no_evidence    1" "bad_number     1"; do
	grep -qF "$want" "$T/preview.out" || fail "preview lacks '$want': $(cat "$T/preview.out")"
done
# shellcheck disable=SC2086
send cart $RCPTS < "$T/cart.eml" || fail "campaign refused: $(tail -3 "$T/cart.swaks")"
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
[ "$(arrived | wc -l)" = 1 ] || fail "email not delivered"
[ "$(grep -c '^X-Rcpt-Args' $(arrived))" = 22 ] || fail "email lost recipients"

due_left() { q "SELECT count(*) FROM outbox WHERE kind = 'sms' AND state IN ('queued', 'sending') AND next_at <= $(($(date +%s) + 5))"; }
wait_until '[ "$(due_left)" = 0 ]' \
    'SMS jobs did not settle: $(q "SELECT id, recipients, state, attempts, last_error FROM outbox")'
accepted > "$T/accepted.1"
for n in 01 02 03 04 05 06 07 08 09 10 11 12; do
	grep -qx "1 +1555000$((1000 + ${n#0}))" "$T/accepted.1" ||
	    fail "a$n did not get exactly one SMS: $(cat "$T/accepted.1")"
done
[ "$(wc -l < "$T/accepted.1")" = 12 ] ||
    fail "SMS to someone not eligible: $(cat "$T/accepted.1")"
python3 - "$T/gw.log" <<'PY' || fail "request content"
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["outcome"] not in ("ok", "stall", "cut"): continue
    assert r["api"] == "twilio" and r["from"] == "+15005550006", r
    assert r["extra"].get("StatusCallback") == "https://shop.example/sms", r
    assert r["text"].endswith(", your cart is waiting: 10% off with CART10. Reply STOP to opt out"), r
    n = int(r["to"][-2:]); assert r["text"].startswith("Ann%02d," % n), r
PY
grep -q '"outcome": *"timeout"' "$T/gw.log" || fail "no timeout was injected"
# once the gateway said 2xx it heard no more of that SMS: a05 and a06 got
# one request each, but for any 500s of "first" before it, and no retry
for n in 5:stall 6:cut; do
	to=+1555000100${n%:*}
	[ "$(outcomes "$to" | sed 's/^\(500 \)*//')" = "${n#*:}" ] ||
	    fail "$to: requests after a ${n#*:}: $(outcomes "$to")"
	[ "$(q "SELECT state || '|' || coalesce(gateway_ref, 'none') FROM outbox WHERE recipients = '$to'")" = "sent|none" ] ||
	    fail "$to: $(q "SELECT * FROM outbox WHERE recipients = '$to'")"
done
[ "$(grep -c '"outcome": *"500"' "$T/gw.log")" = 4 ] || fail "500s not retried"
grep -q 'tok-secret-1' "$T/gw.log" "$T/milter.log" && fail "a credential was logged"
# refusals, audited per reason
aud() { q "SELECT decision FROM audit a JOIN customers c ON c.id = a.customer_id WHERE a.channel = 'sms' AND c.email = '$1@example.com' AND a.campaign_id = '${2:-cart-rescue}' ORDER BY seq" | tr '\n' ' ' | sed 's/ $//'; }
[ "$(aud e1)" = no_sms_consent ] || fail "e1: $(aud e1)"
[ "$(aud e2)" = no_evidence ] || fail "e2: $(aud e2)"
[ "$(aud e3)" = no_sms_consent ] || fail "e3: $(aud e3)"
[ "$(aud e4)" = bad_number ] || fail "e4: $(aud e4)"
[ "$(aud e5)" = opted_out ] || fail "e5: $(aud e5)"
[ "$(aud n1)" = "" ] || fail "n1 (no cart) considered for SMS: $(aud n1)"
[ "$(aud a01)" = "queued sms_sent" ] || fail "a01: $(aud a01)"
[ "$(aud g1)" = "queued sms_failed" ] || fail "g1: $(aud g1)"
[ "$(aud g2)" = "queued sms_failed" ] || fail "g2: $(aud g2)"
[ "$(q "SELECT status FROM phone_status WHERE phone = '+15550004001'")" = opted_out ] ||
    fail "gateway opt-out not recorded"
[ "$(q "SELECT k.granted FROM consent k JOIN customers c ON c.id = k.customer_id WHERE c.email = 'g1@example.com' AND k.channel = 'sms'")" = 0 ] ||
    fail "gateway opt-out did not revoke SMS consent"
[ "$(q "SELECT status FROM phone_status WHERE phone = '+15550004002'")" = invalid ] ||
    fail "invalid number not recorded"
q "SELECT gateway_ref FROM outbox WHERE kind = 'sms' AND state = 'sent' AND recipients NOT IN ('+15550001005', '+15550001006')" |
    grep -qv '^SM' && fail "a sent SMS without Twilio's sid"
# each sent SMS's audit row names the sid the gateway gave it, or says
# that the reply was cut off before it
q "SELECT recipient || ' ' || detail FROM audit WHERE decision = 'sms_sent'" > "$T/sent.audit"
python3 - "$T/gw.log" "$T/sent.audit" <<'PY' || fail "sms_sent rows: $(cat "$T/sent.audit")"
import json, sys
ids = {r["to"]: r["id"] for r in map(json.loads, open(sys.argv[1]))
       if r["outcome"] == "ok"}
rows = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[2])]
assert len(rows) == 12, rows
for to, detail in rows:
    if to in ("+15550001005", "+15550001006"):
        assert ": HTTP 201, id unknown: reply cut off: " in detail, (to, detail)
    else:
        assert detail.endswith(": HTTP 201, id " + ids[to]), (to, detail)
PY
# quiet hours: Tokyo (by time zone, and by country alone) waits for its window
for c in t1 t2; do
	[ "$(aud $c)" = queued ] || fail "$c: $(aud $c)"
	due=$(q "SELECT o.next_at FROM outbox o JOIN customers c ON c.id = o.customer_id WHERE c.email = '$c@example.com'")
	[ "$due" = "$JP_DUE" ] || fail "$c due at $due, expected $JP_DUE ($JP_WIN Tokyo)"
done
grep -q '"to": *"+8131234567' "$T/gw.log" && fail "an SMS went out in Tokyo's quiet hours"
# while they wait: t1 replies STOP, t2's job outlives sms.max_age_hours
printf 'phone,received_at,text\n+81312345671,%s,stop\n' "$(ago '1 minute')" > "$T/stop2.csv"
$S optout import "$T/stop2.csv" || fail "optout import"
q "UPDATE outbox SET next_at = 0 WHERE customer_id = (SELECT id FROM customers WHERE email = 't1@example.com')"
q "UPDATE outbox SET next_at = 0, not_before = $(($(date +%s) - 2 * 86400)) WHERE customer_id = (SELECT id FROM customers WHERE email = 't2@example.com')"
wait_until '[ "$(aud t1)" = "queued sms_withdrawn" ] && [ "$(aud t2)" = "queued sms_expired" ]' \
    'waiting jobs: t1 $(aud t1), t2 $(aud t2)'
grep -q '"to": *"+8131234567' "$T/gw.log" && fail "a withdrawn or expired SMS went out"

# --- 2. the same day, another campaign (capped), with the gateway down;
# segmilter killed mid-retry: nothing lost, nothing twice; the message
# sent again (as an MTA retry would: same Message-ID, so the email goes
# again in place): the SMS is a duplicate, no second job
faults '{"default": "500"}'
send cart2 a01@example.com a02@example.com w1@example.com <<'MSG' || fail "campaign 2 refused"
From: Shop <news@shop.example>
Subject: Last call
X-Campaign-ID: cart-rescue-2
Message-ID: <cart-2@shop.example>

Last call.
MSG
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
[ "$(aud a01 cart-rescue-2)" = capped ] || fail "a01 not capped: $(aud a01 cart-rescue-2)"
[ "$(aud w1 cart-rescue-2)" = queued ] || fail "w1: $(aud w1 cart-rescue-2)"
w1_tries() { grep -c '"to": *"+15550005001".*"outcome": *"500"' "$T/gw.log"; }
wait_until '[ "$(w1_tries)" -ge 2 ]' "w1's SMS not retried"
kill -9 "$MPID"; wait "$MPID" 2>/dev/null; MPID=""
faults '{}'
milter_start
w1job() { q "SELECT o.state || '|' || o.attempts || '|' || coalesce(o.last_error, '') FROM outbox o JOIN customers c ON c.id = o.customer_id WHERE c.email = 'w1@example.com'"; }
wait_until 'w1job | grep -q "^sent"' \
    'w1'"'"'s SMS lost across the restart: $(w1job)'
accepted | grep -qx '1 +15550005001' ||
    fail "w1 did not get exactly one SMS: $(accepted)"
send cart2again w1@example.com <<'MSG' || fail "campaign 2 resend refused"
From: Shop <news@shop.example>
Subject: Last call
X-Campaign-ID: cart-rescue-2
Message-ID: <cart-2@shop.example>

Last call.
MSG
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
[ "$(aud w1 cart-rescue-2)" = "queued sms_sent duplicate" ] ||
    fail "w1 after a resend: $(aud w1 cart-rescue-2)"
[ "$(q "SELECT count(*) FROM outbox WHERE kind = 'sms' AND campaign_id = 'cart-rescue-2'")" = 1 ] ||
    fail "a second SMS job for one campaign and customer"

# --- 3. the SMS for who gets no email: m1 agreed to texts alone -----------
# by default (cart-rescue-2, the day's second: m1 had none) nothing at all;
# with channel = "sms_if_no_email" the text and still no email; o1, who
# agreed to neither, nothing
n_arrived=$(arrived | wc -l)
send nomail m1@example.com o1@example.com <<'MSG' || fail "campaign 2 to m1 refused"
From: Shop <news@shop.example>
Subject: Last call
X-Campaign-ID: cart-rescue-2
Message-ID: <cart-2-m1@shop.example>

Last call.
MSG
send nomail3 m1@example.com o1@example.com <<'MSG' || fail "campaign 3 refused"
From: Shop <news@shop.example>
Subject: Your cart
X-Campaign-ID: cart-rescue-3
Message-ID: <cart-3@shop.example>

Your cart.
MSG
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
[ "$(arrived | wc -l)" = "$n_arrived" ] || fail "an email to who never agreed to email"
[ "$(aud m1 cart-rescue-2)" = "" ] || fail "m1 texted by default: $(aud m1 cart-rescue-2)"
m1job() { q "SELECT o.state FROM outbox o JOIN customers c ON c.id = o.customer_id WHERE c.email = 'm1@example.com' AND o.campaign_id = 'cart-rescue-3'"; }
wait_until '[ "$(m1job)" = sent ]' 'm1'"'"'s SMS not sent: $(m1job) $(aud m1 cart-rescue-3)'
[ "$(aud m1 cart-rescue-3)" = "queued sms_sent" ] || fail "m1: $(aud m1 cart-rescue-3)"
accepted | grep -qx '1 +15550008001' || fail "m1 did not get exactly one SMS: $(accepted)"
grep '"to": *"+15550008001"' "$T/gw.log" | grep -q 'Mia, CART3 for your cart' ||
    fail "m1's text: $(grep 15550008001 "$T/gw.log")"
[ "$(aud o1 cart-rescue-3)" = no_sms_consent ] || fail "o1: $(aud o1 cart-rescue-3)"
[ "$(q "SELECT decision FROM audit WHERE channel = 'email' AND campaign_id = 'cart-rescue-3' AND recipient = 'm1@example.com'")" = no_consent ] ||
    fail "m1's email decision"

# SIGHUP, then wait until segmilter says it took the new configuration
reload() {
	n=$(grep -c "reloaded " "$T/milter.log")
	kill -HUP "$MPID"
	wait_until '[ "$(grep -c "reloaded " "$T/milter.log")" -gt "$n" ]' \
	    'reload not taken: $(tail -3 "$T/milter.log")'
}

# --- 4. the webhook driver, by SIGHUP ---------------------------------------
write_conf webhook "http://127.0.0.1:$GW/sms" "$T/hook.cred"
cat > "$T/campaigns/vip.conf" <<'CONF'
id = "vip-launch";
variants = { default = { code = "VIP"; }; };
sms = { segments = [ "cart_abandoner" ]; text = "Early access: {{code}}. Reply STOP to opt out"; };
CONF
reload
send vip s1@example.com <<'MSG' || fail "vip campaign refused: $(tail -3 "$T/vip.swaks")"
From: Shop <news@shop.example>
Subject: VIP
X-Campaign-ID: vip-launch
Message-ID: <vip-1@shop.example>

Early access.
MSG
webhook_ok() { grep -q '"api": *"webhook".*"outcome": *"ok"' "$T/gw.log"; }
wait_until webhook_ok 'no signed webhook accepted: $(tail -2 "$T/gw.log")'
grep '"api": *"webhook"' "$T/gw.log" | grep -q '"idem": *"sms-vip-launch-' ||
    fail "webhook without its idempotency key"

# --- 5. TLS: verified; a self-signed gateway refused until trusted ----------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/gw.key" -out "$T/gw.crt" \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
    fail "openssl"
python3 "$SRC/tests/lib/smsgw.py" --port-file "$T/tls.port" --log "$T/tls.log" \
    --twilio-sid AC0123 --twilio-token tok-secret-1 --tls-cert "$T/gw.crt" \
    --tls-key "$T/gw.key" 2> "$T/tls.err" &
TLSPID=$!
wait_until '[ -s "$T/tls.port" ]' "TLS gateway did not start"
write_conf twilio "https://127.0.0.1:$(cat "$T/tls.port")" "$T/twilio.cred"
cat > "$T/campaigns/tls.conf" <<'CONF'
id = "tls-check";
variants = { default = { code = "T"; }; };
sms = { segments = [ "cart_abandoner" ]; text = "Checked: {{code}}. Reply STOP to opt out"; };
CONF
reload
send tls x1@example.com <<'MSG' || fail "tls campaign refused"
From: Shop <news@shop.example>
Subject: TLS
X-Campaign-ID: tls-check
Message-ID: <tls-1@shop.example>

TLS.
MSG
tlsjob() { q "SELECT state || '|' || coalesce(last_error, '') FROM outbox WHERE campaign_id = 'tls-check'"; }
wait_until 'tlsjob | grep -qi certificate' 'self-signed gateway not refused: $(tlsjob)'
[ -s "$T/tls.log" ] && fail "a request reached the untrusted gateway"
write_conf twilio "https://127.0.0.1:$(cat "$T/tls.port")" "$T/twilio.cred" \
    "ca_file = \"$T/gw.crt\";"
reload
q "UPDATE outbox SET next_at = 0 WHERE campaign_id = 'tls-check'"
wait_until 'tlsjob | grep -q "^sent"' 'trusted TLS gateway not used: $(tlsjob)'

$S report cart-rescue > "$T/report.out" || fail "report"
# all: 21 in the SMS segments: 12 sent, 2 failed (the gateway's opted
# out and invalid), 1 expired and 1 withdrawn (Tokyo), then the refusals
sed -n '/^SMS, recipients/,/^$/p' "$T/report.out" | grep -Eq '^all +21 +12 +0 +2 +1 +1 +1 +2 +1 +1 +0 +0 +0 +0$' ||
    fail "SMS report: $(cat "$T/report.out")"
$S audit verify > "$T/verify.out" 2>&1 || fail "audit verify: $(cat "$T/verify.out")"
echo "t-sms: 12 eligible got exactly one SMS each; 0 of 7 refused got one;" \
    "2 Tokyo held to $JP_WIN; capped, duplicate, restart, webhook, TLS: ok"
