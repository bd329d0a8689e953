#!/bin/sh
# t-feed.sh - segfeed(8) on a private loopback port over the fixture
# store: the page (GET changes nothing), one-click POST (200, recorded
# with its audit row, the chain intact, again changes nothing), a forged
# token (4xx, nothing changed), an oversized body (413), fewer emails and
# stay subscribed, -n on a good and a broken configuration (78,
# FILE:LINE), SIGHUP with a broken and a good configuration, SIGTERM.
# The gateways: a Twilio STOP signed with openssl opts the number out
# with its audit row and a segfeed anchor segctl finds, a forged STOP
# changes nothing; Kannel's secret; a Shopify orders/create applied once
# by its webhook id, a bad HMAC refused; a readable credentials file
# refused by -n.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
SRC=$(pwd)
F="$SRC/$BUILD/segfeed"
PORT=${T_FEED_PORT:-13125}
U="http://127.0.0.1:$PORT"
T=$(mktemp -d /tmp/segm-t-feed.XXXXXX)
PID=""
. "$SRC/tests/lib/fixture.sh"	# and wait.sh
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; store_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; [ -f "$T/log" ] && tail -20 "$T/log"; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "t-feed: no curl"; exit 77; }
store_start "$T"
fixture_store "$T" 2>/dev/null || fail "fixture store"
S="$BUILD/segctl -q -c $T/segmilter.conf"

openssl rand -hex 32 > "$T/key"
chmod 600 "$T/key"
TWILIO_TOKEN=tw-$(openssl rand -hex 8)
KANNEL_SECRET=kn-$(openssl rand -hex 8)
SHOPIFY_SECRET=sh-$(openssl rand -hex 8)
cat > "$T/feedcreds" <<CREDS
twilio_auth_token = "$TWILIO_TOKEN";
kannel_secret = "$KANNEL_SECRET";
shopify_secret = "$SHOPIFY_SECRET";
CREDS
chmod 600 "$T/feedcreds"
sed -i "s|^  spool_dir = \(.*\);|  spool_dir = \1; unsubscribe_url = \"https://shop.example/u/\";|" "$T/segmilter.conf"
cat >> "$T/segmilter.conf" <<CONF
outbox = { key_file = "$T/key"; };
feedback = {
  listen = "127.0.0.1:$PORT";
  public_url = "https://shop.example";
  page_template = "$SRC/conf/unsubscribe.html";
  max_body_kb = 4;
  credentials_file = "$T/feedcreds";
};
CONF

# a token as segmilter makes it (unsub.h): BASE64URL(data) "." HEX(HMAC)
token() {
	d="v1|$1|$2|1795000000"
	printf '%s.%s' "$(printf %s "$d" | base64 -w0 | tr '+/' '-_' | tr -d '=')" \
	    "$(printf %s "$d" | openssl dgst -sha256 -hmac "$(cat "$T/key")" | sed 's/.*= //')"
}
unsubs() { q "SELECT count(*) FROM engagement WHERE type = 'unsubscribe' AND customer_id = (SELECT id FROM customers WHERE email = '$1')"; }
audits() { q "SELECT count(*) FROM audit"; }
code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@"; }

"$F" -V | grep -q "^segfeed [0-9.]* (libmicrohttpd " || fail "-V"
"$F" -n -c "$T/segmilter.conf" > "$T/out" 2>&1 || fail "-n: $(cat "$T/out")"
grep -q "configuration OK, serving /u/ on 127.0.0.1:$PORT; gateways: twilio, kannel, shopify" "$T/out" || fail "-n output: $(cat "$T/out")"

# every problem, FILE:LINE first, exit 78
sed -e 's/^  max_body_kb = 4;/  max_body_kb = 0; colour = 1;/' "$T/segmilter.conf" > "$T/bad.conf"
line=$(grep -n "max_body_kb = 0" "$T/bad.conf" | cut -d: -f1)
"$F" -n -c "$T/bad.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n on a bad file must exit 78"
grep -q "^$T/bad.conf:$line: feedback.max_body_kb: 0 is out of range" "$T/out" || fail "max_body_kb: $(cat "$T/out")"
grep -q "^$T/bad.conf:$line: feedback.colour: unknown setting" "$T/out" || fail "colour: $(cat "$T/out")"
sed 's|unsubscribe_url = "https://shop.example/u/"|unsubscribe_url = "https://shop.example"|' "$T/segmilter.conf" > "$T/bad2.conf"
line=$(grep -n "^feedback" "$T/bad2.conf" | cut -d: -f1)
"$F" -n -c "$T/bad2.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with an unservable unsubscribe_url must exit 78"
grep -q "^$T/bad2.conf:$line: feedback: milter.unsubscribe_url: .* has no path" "$T/out" || fail "unsubscribe_url: $(cat "$T/out")"
echo '{{#oops}}' > "$T/broken.html"
sed "s|page_template = \".*\"|page_template = \"$T/broken.html\"|" "$T/segmilter.conf" > "$T/bad3.conf"
"$F" -n -c "$T/bad3.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with a broken template must exit 78"
grep -q "^$T/bad3.conf: feedback.page_template: $T/broken.html: " "$T/out" || fail "template: $(cat "$T/out")"
# the gateways' secrets: the owner's alone
cp "$T/feedcreds" "$T/creds644"
chmod 644 "$T/creds644"
sed "s|credentials_file = \".*\"|credentials_file = \"$T/creds644\"|" "$T/segmilter.conf" > "$T/bad4.conf"
"$F" -n -c "$T/bad4.conf" > "$T/out" 2>&1
[ $? = 78 ] || fail "-n with a readable credentials file must exit 78"
grep -q "credentials_file: .*creds644" "$T/out" || fail "credentials_file: $(cat "$T/out")"
grep -q "$TWILIO_TOKEN\|$SHOPIFY_SECRET" "$T/out" && fail "a secret in -n's output"

"$F" -f -c "$T/segmilter.conf" > "$T/log" 2>&1 &
PID=$!
wait_log() {
	wl_pattern=$1
	wait_until 'grep -qs "$wl_pattern" "$T/log"' 'no "$wl_pattern" in the log'
}
wait_log "listening on 127.0.0.1:$PORT, serving /u/"

SUE=$(token launch sue@example.com)
[ "$(unsubs sue@example.com)" = 0 ] || fail "sue unsubscribed already"
before=$(audits)

# GET: the page, nothing changed (link scanners fetch every link)
[ "$(code "$U/u/$SUE")" = 200 ] || fail "GET: $(cat "$T/body")"
grep -q "sue@example.com" "$T/body" || fail "page without the address"
grep -q "action=\"https://shop.example/u/$SUE\"" "$T/body" || fail "page's form action: $(cat "$T/body")"
[ "$(code -I "$U/u/$SUE")" = 200 ] || fail "HEAD"
[ "$(unsubs sue@example.com)" = 0 ] || fail "GET unsubscribed"
[ "$(audits)" = "$before" ] || fail "GET wrote an audit row"

# a forged token: 4xx, nothing changed, the reason logged
[ "$(code -d List-Unsubscribe=One-Click "$U/u/X$SUE")" = 400 ] || fail "forged token accepted"
[ "$(code -d List-Unsubscribe=One-Click "$U/u/${SUE%?}x")" = 400 ] || fail "damaged HMAC accepted"
[ "$(unsubs sue@example.com)" = 0 ] || fail "a forged token unsubscribed"
[ "$(audits)" = "$before" ] || fail "a forged token wrote an audit row"
wait_log "refused: forged or damaged token"

# oversized: 413, with a length and chunked
head -c 5000 /dev/zero | tr '\0' a > "$T/big"
[ "$(code --data-binary @"$T/big" "$U/u/$SUE")" = 413 ] || fail "oversized body"
[ "$(code -H 'Transfer-Encoding: chunked' --data-binary @"$T/big" "$U/u/$SUE")" = 413 ] || fail "oversized chunked body"
[ "$(unsubs sue@example.com)" = 0 ] || fail "an oversized POST unsubscribed"

# one-click (RFC 8058): 200 once committed, again changes nothing
[ "$(code -d List-Unsubscribe=One-Click "$U/u/$SUE")" = 200 ] || fail "one-click: $(cat "$T/body")"
[ "$(unsubs sue@example.com)" = 1 ] || fail "one-click not recorded"
[ "$(q "SELECT count(*) FROM audit WHERE decision = 'unsubscribed' AND recipient = 'sue@example.com' AND queue_id = 'segfeed' AND campaign_id = 'launch'")" = 1 ] ||
    fail "no audit row for the unsubscribe"
[ "$(code -F List-Unsubscribe=One-Click "$U/u/$SUE")" = 200 ] || fail "one-click again (multipart)"
[ "$(unsubs sue@example.com)" = 1 ] || fail "a second POST recorded again"
[ "$(audits)" = "$((before + 1))" ] || fail "a second POST wrote an audit row"
$S audit verify > "$T/out" 2>&1 || fail "audit verify: $(cat "$T/out")"
$S unsubscribe "$SUE" > /dev/null || fail "segctl unsubscribe after segfeed"
[ "$(audits)" = "$((before + 1))" ] || fail "segctl unsubscribe recorded again"

# stay subscribed: consent again, with evidence and an audit row
[ "$(code -d choice=stay "$U/u/$SUE")" = 200 ] || fail "stay"
[ "$(q "SELECT granted || ' ' || source FROM consent WHERE channel = 'email' AND customer_id = (SELECT id FROM customers WHERE email = 'sue@example.com')")" = "1 unsubscribe_page" ] ||
    fail "stay did not grant consent again"
q "SELECT evidence FROM consent WHERE source = 'unsubscribe_page'" | grep -q "campaign launch" || fail "stay: no evidence"
[ "$(q "SELECT count(*) FROM audit WHERE decision = 'resubscribed'")" = 1 ] || fail "stay: no audit row"
grep -q "You stay subscribed" "$T/body" || fail "stay page: $(cat "$T/body")"

# fewer emails: a personal cadence, once
RITA=$(token launch rita@example.com)
[ "$(code -d choice=fewer "$U/u/$RITA")" = 200 ] || fail "fewer"
[ "$(q "SELECT min_gap_days FROM email_cadence")" = 30 ] || fail "fewer: no cadence"
[ "$(code -d choice=fewer "$U/u/$RITA")" = 200 ] || fail "fewer again"
[ "$(q "SELECT count(*) FROM audit WHERE decision = 'cadence'")" = 1 ] || fail "fewer: audit rows"
$S audit verify > "$T/out" 2>&1 || fail "audit verify: $(cat "$T/out")"

# ---- the gateways ---------------------------------------------------------
PHONE=+15550001111
q "UPDATE customers SET phone = '$PHONE' WHERE email = 'sue@example.com'"
optouts() { q "SELECT count(*) FROM phone_status WHERE phone = '$PHONE' AND status = 'opted_out'"; }
# X-Twilio-Signature: base64(HMAC-SHA1(token, URL + sorted name+value))
twsig() { printf %s "$1" | openssl dgst -sha1 -hmac "$TWILIO_TOKEN" -binary | base64; }
twilio() {	# SIGNATURE BODY-TEXT: a Twilio inbound from $PHONE
	code -H "X-Twilio-Signature: $1" --data-urlencode "From=$PHONE" \
	    --data-urlencode "To=+15559990000" --data-urlencode "Body=$2" \
	    --data-urlencode "MessageSid=SMt1" "$U/twilio/sms"
}
before=$(audits)
[ "$(optouts)" = 0 ] || fail "opted out already"
forged=$(printf %s "https://shop.example/twilio/smsBodySTOPFrom${PHONE}MessageSidSMt1To+15559990000" |
    openssl dgst -sha1 -hmac "not-the-token" -binary | base64)
[ "$(twilio "$forged" STOP)" = 403 ] || fail "forged STOP: $(cat "$T/body")"
[ "$(code -d Body=STOP "$U/twilio/sms")" = 401 ] || fail "unsigned STOP"
[ "$(optouts)" = 0 ] || fail "a forged STOP opted out"
[ "$(audits)" = "$before" ] || fail "a forged STOP wrote an audit row"
wait_log "twilio: request refused: X-Twilio-Signature does not match"
grep -q "$TWILIO_TOKEN" "$T/log" && fail "the auth token in the log"

sig=$(twsig "https://shop.example/twilio/smsBodySTOPFrom${PHONE}MessageSidSMt1To+15559990000")
[ "$(twilio "$sig" STOP)" = 200 ] || fail "STOP: $(cat "$T/body")"
grep -q "<Response></Response>" "$T/body" || fail "STOP's TwiML: $(cat "$T/body")"
[ "$(optouts)" = 1 ] || fail "STOP did not opt the number out"
[ "$(q "SELECT count(*) FROM audit WHERE decision = 'sms_optout' AND recipient = '$PHONE' AND queue_id = 'segfeed' AND customer_id = (SELECT id FROM customers WHERE email = 'sue@example.com')")" = 1 ] ||
    fail "no audit row for the STOP"
wait_log "segfeed\[[0-9]*\]: F[0-9A-F]*N[0-9A-F]*: audit=[0-9]*:"
"$BUILD/segctl" -c "$T/segmilter.conf" audit verify --anchors "$T/log" > "$T/out" 2>&1 || fail "audit verify: $(cat "$T/out")"
grep -q "intact: [0-9]* rows, 1 anchors found (the latest at row [1-9]" "$T/out" || fail "segfeed's anchor not found: $(cat "$T/out")"

# Kannel: the secret as a parameter, never logged
[ "$(code "$U/kannel/mo?secret=guess&sender=%2B15550002222&receiver=1&text=STOP")" = 403 ] || fail "Kannel wrong secret"
[ "$(code "$U/kannel/mo?sender=%2B15550002222&receiver=1&text=STOP")" = 401 ] || fail "Kannel no secret"
[ "$(code "$U/kannel/mo?secret=$KANNEL_SECRET&receiver=1&text=STOP")" = 400 ] || fail "Kannel without sender"
[ "$(code "$U/kannel/mo?secret=$KANNEL_SECRET&sender=%2B15550002222&receiver=1&text=STOP")" = 200 ] || fail "Kannel STOP"
[ -s "$T/body" ] && fail "Kannel's answer is not empty (it would go out as an SMS)"
[ "$(q "SELECT count(*) FROM phone_status WHERE phone = '+15550002222'")" = 1 ] || fail "Kannel STOP not recorded"
grep -q "$KANNEL_SECRET" "$T/log" && fail "the Kannel secret in the log"

# Shopify: HMAC-SHA256 of the raw body, base64; applied once per webhook id
ORDER="$SRC/tests/fixtures/shopify/orders-create.json"
shmac=$(openssl dgst -sha256 -hmac "$SHOPIFY_SECRET" -binary < "$ORDER" | base64)
shopify() {	# HMAC WEBHOOK-ID
	code -H "Content-Type: application/json" -H "X-Shopify-Topic: orders/create" \
	    -H "X-Shopify-Hmac-Sha256: $1" -H "X-Shopify-Webhook-Id: $2" \
	    -H "X-Shopify-Event-Id: ev-1" --data-binary @"$ORDER" "$U/shopify/webhook"
}
orders() { q "SELECT count(*) FROM orders WHERE ref = '#1001'"; }
[ "$(shopify "$(printf x | base64)" wh-t1)" = 401 ] || fail "Shopify bad HMAC"
[ "$(orders)" = 0 ] || fail "a bad HMAC created the order"
[ "$(shopify "$shmac" wh-t1)" = 200 ] || fail "Shopify orders/create: $(cat "$T/body")"
[ "$(orders)" = 1 ] || fail "orders/create did not create the order"
[ "$(q "SELECT count(*) FROM webhook_deliveries WHERE delivery_id = 'wh-t1'")" = 1 ] || fail "delivery not recorded"
rows=$(q "SELECT count(*) FROM order_lines")
[ "$(shopify "$shmac" wh-t1)" = 200 ] || fail "Shopify again"
[ "$(orders)" = 1 ] || fail "the same webhook created the order again"
[ "$(q "SELECT count(*) FROM order_lines")" = "$rows" ] || fail "the same webhook changed the lines"
wait_log "shopify: wh-t1 (orders/create): seen before, nothing changed"

# segctl webhook test: each gateway signed right and wrong, nothing changed
before=$(audits)
deliveries=$(q "SELECT count(*) FROM webhook_deliveries")
$S webhook test > "$T/out" 2>&1 || fail "webhook test: $(cat "$T/out")"
for l in "shopify  signed delivery              ok (200)" \
    "shopify  wrongly signed delivery      ok (401)" \
    "twilio   signed status callback       ok (200)" \
    "twilio   wrongly signed callback      ok (403)" \
    "kannel   delivery report              ok (200)" \
    "kannel   report with a wrong secret   ok (403)"; do
	grep -qx "$l" "$T/out" || fail "webhook test: no '$l' in: $(cat "$T/out")"
done
[ "$(audits)" = "$before" ] || fail "webhook test wrote audit rows"
[ "$(q "SELECT count(*) FROM orders WHERE ref LIKE '%segctl%'")" = 0 ] || fail "webhook test wrote an order"
[ "$(q "SELECT count(*) FROM webhook_deliveries")" -le $((deliveries + 1)) ] ||
    fail "webhook test recorded deliveries"
# webhook prune: kept two weeks, forgotten after
n=$(q "SELECT count(*) FROM webhook_deliveries")
[ "$n" -gt 0 ] || fail "no deliveries recorded"
$BUILD/segctl -c "$T/segmilter.conf" webhook prune > "$T/out" 2>&1 || fail "prune: $(cat "$T/out")"
grep -q "^0 deliveries older than 14 days forgotten$" "$T/out" || fail "prune said: $(cat "$T/out")"
$BUILD/segctl -c "$T/segmilter.conf" --now "$(date -u -d '+15 days' +%Y-%m-%dT%H:%M:%SZ)" \
    webhook prune > "$T/out" 2>&1 || fail "prune later: $(cat "$T/out")"
grep -q "^$n deliveries older than 14 days forgotten$" "$T/out" || fail "prune later said: $(cat "$T/out")"
[ "$(q "SELECT count(*) FROM webhook_deliveries")" = 0 ] || fail "deliveries left"
$BUILD/segctl -c "$T/segmilter.conf" webhook prune --days 0 > /dev/null 2>&1
[ $? = 2 ] || fail "prune --days 0 accepted"
# a shop whose secret is not the listener's: told, exit 1
sed "s/$SHOPIFY_SECRET/sh-wrong/" "$T/feedcreds" > "$T/wrongcreds"
chmod 600 "$T/wrongcreds"
sed "s|$T/feedcreds|$T/wrongcreds|" "$T/segmilter.conf" > "$T/wrong.conf"
$BUILD/segctl -q -c "$T/wrong.conf" webhook test > "$T/out" 2>&1
[ $? = 1 ] || fail "webhook test with a wrong secret: exit not 1"
grep -qx "shopify  signed delivery              FAILED: refused (401)" "$T/out" ||
    fail "webhook test with a wrong secret said: $(cat "$T/out")"

# SIGHUP: a broken configuration refused (still serving), a good one taken
cp "$T/segmilter.conf" "$T/good.conf"
cp "$T/bad.conf" "$T/segmilter.conf"
kill -HUP "$PID"
wait_log "reload refused, the running configuration stays:"
[ "$(code "$U/u/$RITA")" = 200 ] || fail "not serving after a refused reload"
sed 's|max_body_kb = 4;|max_body_kb = 4; fewer_days = 60;|' "$T/good.conf" > "$T/segmilter.conf"
kill -HUP "$PID"
wait_log "reloaded $T/segmilter.conf: serving /u/"
[ "$(code "$U/u/$RITA")" = 200 ] || fail "GET after reload"
grep -q "one every 60 days" "$T/body" || fail "the reload did not take: $(cat "$T/body")"

# SIGTERM: stops, exit 0
kill -TERM "$PID"
wait_until '! kill -0 "$PID" 2>/dev/null' "still running after SIGTERM"
wait "$PID"
rc=$?
PID=""
[ $rc = 0 ] || fail "SIGTERM: exit $rc"
grep -q "NOQUEUE: stopped" "$T/log" || fail "no 'stopped' line"
echo "t-feed: ok"
