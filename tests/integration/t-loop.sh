#!/bin/sh
# t-loop.sh - the loop closed, end to end: what segfeed learns by HTTP
# changes what the next campaign through a private Postfix does.  Four
# fixture customers leave carts (Shopify checkouts/create webhooks: live
# segments make them cart abandoners at once); two give a phone and SMS
# consent (customers/update).  Then rita clicks her one-click link, fred
# orders (orders/create), and sue texts STOP (a signed Twilio inbound).
# The cart campaign, sent through Postfix and segmilter to all four:
# rita is suppressed as unsubscribed and fred as no longer in the
# audience, each with its audit row, and neither reaches the sink; sue
# gets the email but her SMS is refused as opted_out; vera gets both.
# Then vera is erased (customers/redact): nothing of hers is left in the
# store's file, the audit chain verifies against the logged heads, and
# the next campaign to her address suppresses it as unknown.
#
# Needs root (Postfix's master), postfix, smtp-sink, swaks, curl and
# python3: skipped (77) without them.
# engines: sqlite pgsql
# Ports: T_LOOP_PORT (13325), the sink after it and segfeed's 4 after it.
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-loop: needs root"; exit 77; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db="psql pg_dump"
for p in postfix smtp-sink swaks $db curl python3 openssl; do
	command -v $p >/dev/null 2>&1 || { echo "t-loop: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-loop
PORT=${T_LOOP_PORT:-13325}
SINK=$((PORT + 1))
FEED=$((PORT + 4))
U="http://127.0.0.1:$FEED"
FPID=""
trap '[ -n "$FPID" ] && kill "$FPID" 2>/dev/null; harness_cleanup' EXIT
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"

(umask 077
 openssl rand -hex 32 > "$T/key"
 printf 'twilio_auth_token = "tw-%s";\nshopify_secret = "sh-%s";\n' \
     "$(openssl rand -hex 8)" "$(openssl rand -hex 8)" > "$T/feed.cred"
 echo 'secret = "hook-secret";' > "$T/sms.cred")
TW=$(sed -n 's/^twilio_auth_token = "\(.*\)";/\1/p' "$T/feed.cred")
SH=$(sed -n 's/^shopify_secret = "\(.*\)";/\1/p' "$T/feed.cred")
sed -i "s|^  spool_dir = \(.*\);|  spool_dir = \1; unsubscribe_url = \"$U/u/\";|" "$T/segmilter.conf"
cat >> "$T/segmilter.conf" <<CONF
outbox = { key_file = "$T/key"; };
feedback = {
  listen = "127.0.0.1:$FEED";
  public_url = "https://shop.example";
  page_template = "$SRC/conf/unsubscribe.html";
  credentials_file = "$T/feed.cred";
};
# the jobs are refused at the gateway's address: only the decisions count
sms = { driver = "webhook"; url = "http://127.0.0.1:9/sms";
  credentials_file = "$T/sms.cred"; window = "00:00-24:00"; };
CONF
cat > "$T/campaigns/cart.conf" <<'CONF'
id = "cart";
audience = { include = [ "cart_abandoner" ]; };
variants = { default = { code = "CART10"; }; };
sms = { segments = [ "cart_abandoner" ];
  text = "Your cart is waiting: {{code}}. Reply STOP to opt out"; };
CONF
cat > "$T/campaigns/cart2.conf" <<'CONF'
id = "cart2";
variants = { default = { code = "CART15"; }; };
CONF
"$BUILD/segmilter" -n -c "$T/segmilter.conf" > "$T/check.out" 2>&1 ||
    fail "segmilter -n: $(cat "$T/check.out")"

"$BUILD/segfeed" -f -c "$T/segmilter.conf" > "$T/feed.log" 2>&1 &
FPID=$!
milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"
"$SRC/tests/lib/postfix.sh" port "$T/pf" "$FEED" || fail "segfeed"

FX="$SRC/tests/fixtures/shopify"
shopify() {	# TOPIC FIXTURE PATH=VALUE...: the HTTP status
	t=$1 f=$2
	shift 2
	python3 "$SRC/tests/lib/shopify.py" "$U/shopify/webhook" "$SH" "$t" \
	    "$FX/$f" "$@"
}
ago() { date -u -d "-$1" +%Y-%m-%dT%H:%M:%SZ; }
seg() { "$BUILD/segctl" -c "$T/segmilter.conf" explain "$1" | grep '^  cart '; }

# --- carts, phones and SMS consent, all by webhook ----------------------
n=0
for c in vera fred rita sue; do
	n=$((n + 1))
	[ "$(shopify checkouts/create checkouts-create.json id=$((7000 + n)) \
	    token=tok$n cart_token=cart$n email=$c@example.com \
	    created_at="$(ago '2 hours')" updated_at="$(ago '2 hours')")" = 200 ] ||
	    fail "checkout for $c"
	seg $c@example.com | grep -q "abandoned" ||
	    fail "$c not a cart abandoner at once: $(seg $c@example.com)"
done
n=0
for c in vera sue; do
	n=$((n + 1))
	[ "$(shopify customers/update customers-update.json id=$((8000 + n)) \
	    email=$c@example.com phone=+1555000100$n \
	    email_marketing_consent.state=subscribed \
	    updated_at="$(ago '1 hours')" \
	    sms_marketing_consent.consent_updated_at="$(ago '1 hours')")" = 200 ] ||
	    fail "customers/update for $c"
done
[ "$(q "SELECT count(*) FROM consent k JOIN customers c ON c.id = k.customer_id \
    WHERE c.email IN ('vera@example.com', 'sue@example.com') AND k.channel = 'sms' \
    AND k.granted = 1")" -ge 2 ] || fail "no SMS consent: $(q "SELECT * FROM consent WHERE channel = 'sms'")"

# --- rita unsubscribes, fred orders, sue texts STOP ---------------------
token() {	# EMAIL: her one-click link's token, as segmilter makes it
	d="v1|cart|$1|$(date +%s)"
	printf '%s.%s' "$(printf %s "$d" | base64 -w0 | tr '+/' '-_' | tr -d '=')" \
	    "$(printf %s "$d" | openssl dgst -sha256 -hmac "$(cat "$T/key")" | sed 's/.*= //')"
}
[ "$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click \
    "$U/u/$(token rita@example.com)")" = 200 ] || fail "rita's one-click"
[ "$(shopify orders/create orders-create.json id=9001 name='#L1' \
    email=fred@example.com contact_email=fred@example.com customer.email=fred@example.com \
    customer.id=8101 created_at="$(ago '10 minutes')" \
    processed_at="$(ago '10 minutes')" updated_at="$(ago '10 minutes')")" = 200 ] ||
    fail "fred's order"
seg fred@example.com | grep -q "not abandoned" ||
    fail "fred still a cart abandoner after his order: $(seg fred@example.com)"
# explain says where each fact came from
"$BUILD/segctl" -c "$T/segmilter.conf" explain fred@example.com > "$T/fred.explain"
grep -q "^  order #L1 of .*: shopify orders/create [0-9a-f-]*, arrived " "$T/fred.explain" ||
    fail "fred's order without its source: $(sed -n '/^facts/,$p' "$T/fred.explain")"
grep -q "^  checkout_start .*: shopify checkouts/create " "$T/fred.explain" ||
    fail "fred's cart without its source: $(sed -n '/^facts/,$p' "$T/fred.explain")"
sig=$(printf %s "https://shop.example/twilio/smsBodySTOPFrom+15550001002MessageSidSMloop1To+15559990000" |
    openssl dgst -sha1 -hmac "$TW" -binary | base64)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $sig" \
    --data-urlencode From=+15550001002 --data-urlencode To=+15559990000 \
    --data-urlencode Body=STOP --data-urlencode MessageSid=SMloop1 \
    "$U/twilio/sms")" = 200 ] || fail "sue's STOP"

# --- the cart campaign through Postfix ----------------------------------
send cart vera@example.com fred@example.com rita@example.com sue@example.com <<'MSG' ||
From: Shop <news@shop.example>
Subject: Your cart
X-Campaign-ID: cart
Message-ID: <loop-1@shop.example>

Still thinking it over? {{code}}
MSG
    fail "cart refused: $(cat "$T/cart.swaks")"
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
d() { q "SELECT decision FROM audit WHERE campaign_id = 'cart' AND channel = '$2' AND recipient LIKE '$1%' ORDER BY seq DESC LIMIT 1"; }
[ "$(d vera@example.com email)" = deliver ] || fail "vera: $(d vera@example.com email)"
[ "$(d sue@example.com email)" = deliver ] || fail "sue: $(d sue@example.com email)"
[ "$(d rita@example.com email)" = unsubscribed ] || fail "rita: $(d rita@example.com email)"
[ "$(d fred@example.com email)" = audience ] || fail "fred: $(d fred@example.com email)"
[ "$(d +15550001001 sms)" = queued ] || fail "vera's SMS: $(d +15550001001 sms)"
[ "$(d +15550001002 sms)" = opted_out ] || fail "sue's SMS: $(d +15550001002 sms)"
M=$(arrived)
[ "$(echo "$M" | wc -l)" = 1 ] || fail "$(echo "$M" | wc -l) messages at the sink"
grep '^X-Rcpt-Args:' $M | sed 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/' | sort | tr '\n' ' ' > "$T/got"
[ "$(cat "$T/got")" = "sue@example.com vera@example.com " ] || fail "at the sink: $(cat "$T/got")"
"$BUILD/segctl" -c "$T/segmilter.conf" audit verify > /dev/null || fail "audit chain"

# --- sue asks what the shop holds: customers/data_request ---------------
[ "$(shopify customers/data_request customers-data-request.json customer.id=8002 \
    customer.email=sue@example.com)" = 200 ] || fail "customers/data_request"
grep -q "customers/data_request): for shop customer 8002: to be answered with .segctl customer export sue@example.com." "$T/feed.log" ||
    fail "data request not logged: $(tail -2 "$T/feed.log")"
"$BUILD/segctl" -c "$T/segmilter.conf" customer export sue@example.com > "$T/sue.json" ||
    fail "customer export"
python3 - "$T/sue.json" <<'PY' || fail "sue's data: $(cat "$T/sue.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["customer"]["email"] == "sue@example.com"
assert d["customer"]["phone"] == "+15550001002"
assert any(e["type"] == "checkout_start" for e in d["events"])
assert any(c["channel"] == "sms" for c in d["consent_history"])
decisions = {(a["campaign_id"], a["channel"], a["decision"]) for a in d["audit"]}
assert ("cart", "email", "deliver") in decisions, decisions
assert ("cart", "sms", "opted_out") in decisions, decisions
assert d["phone_status"][0]["status"] == "opted_out"
assert "audit_key" not in json.dumps(d)
PY

# --- vera asks to be forgotten: Shopify's customers/redact --------------
# found by the shop's id (her customers/update), erased at once: nothing
# of hers left in the store's file once the WAL is emptied, the chain
# still the one whose heads segmilter and segfeed logged
[ "$(q "SELECT count(*) FROM audit WHERE recipient IN ('vera@example.com', '+15550001001')")" -ge 2 ] ||
    fail "vera's rows before: $(q "SELECT seq, recipient FROM audit")"
[ "$(shopify customers/redact customers-redact.json customer.id=8001     customer.email=vera@example.com customer.phone=+15550001001)" = 200 ] ||
    fail "customers/redact"
grep -q "customers/redact): shop customer 8001, customer [0-9]* erased" "$T/feed.log" ||
    fail "no erasure logged: $(tail -3 "$T/feed.log")"
grep "customers/redact" "$T/feed.log" | grep -q vera && fail "her address logged"
"$BUILD/segctl" -c "$T/segmilter.conf" -q webhook prune 2> "$T/prune.err" ||
    fail "prune: $(cat "$T/prune.err")"
# the store's file and its WAL are SQLite's; on PostgreSQL, where
# reclaiming dead rows' bytes in the cluster's files is VACUUM's
# business, what the database holds (a dump of it) is searched instead
if [ "${T_STORE_ENGINE:-sqlite}" = pgsql ]; then
	pg_dump -a "$STORE" > "$T/store.dump" 2> "$T/dump.err" ||
	    fail "pg_dump: $(cat "$T/dump.err")"
	! grep -q -e vera@example.com -e +15550001001 "$T/store.dump" ||
	    fail "vera still in the database: $(grep -e vera -e 15550001001 "$T/store.dump" | head -3)"
else
	for f in "$T/store.db" "$T/store.db-wal"; do
		[ -f "$f" ] || continue
		! grep -q -a -e vera@example.com -e +15550001001 "$f" ||
		    fail "vera still in $(basename "$f"): $(strings "$f" | grep -e vera -e 15550001001 | head -3)"
	done
fi
[ "$(q "SELECT state FROM outbox WHERE kind = 'sms' AND campaign_id = 'cart' AND recipients = ''")" = cancelled ] ||
    fail "vera's SMS job: $(q "SELECT id, state, recipients FROM outbox WHERE kind = 'sms'")"
cat "$T/milter.log" "$T/feed.log" > "$T/anchors.log"
"$BUILD/segctl" -c "$T/segmilter.conf" audit verify --anchors "$T/anchors.log" > "$T/verify.out" ||
    fail "audit chain after the erasure: $(cat "$T/verify.out")"
grep -q "anchors found" "$T/verify.out" || fail "no anchors: $(cat "$T/verify.out")"

# the next campaign to her address finds nobody: suppressed as unknown
send cart2 vera@example.com sue@example.com <<'MSG' ||
From: Shop <news@shop.example>
Subject: Your cart, again
X-Campaign-ID: cart2
Message-ID: <loop-2@shop.example>

Still there: {{code}}
MSG
    fail "cart2 refused: $(cat "$T/cart2.swaks")"
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
d2() { q "SELECT decision FROM audit WHERE campaign_id = 'cart2' AND recipient = '$1'"; }
[ "$(d2 vera@example.com)" = unknown ] || fail "vera after erasure: $(d2 vera@example.com)"
[ "$(d2 sue@example.com)" = deliver ] || fail "sue in cart2: $(d2 sue@example.com)"
[ "$(arrived | wc -l)" = 2 ] || fail "$(arrived | wc -l) messages at the sink"
grep -l 'Still there' $(arrived) | xargs grep '^X-Rcpt-Args:' | grep -q vera &&
    fail "vera got cart2"
"$BUILD/segctl" -c "$T/segmilter.conf" audit verify --anchors "$T/anchors.log" > /dev/null ||
    fail "audit chain at the end"
echo "t-loop: ok"
