#!/bin/sh
# demo.sh - the main job, end to end on a synthetic store:
#   1. generate Shopify-format exports, create the SQLite store, import
#      them and compute the eight segments;
#   2. preview the spring-launch broadcast (contrib/demo-broadcast.eml)
#      as the marketing team would, per variant;
#   3. start segmilter and a private Postfix on loopback (127.0.0.1:12525,
#      relaying to smtp-sink on 12526; never the system MTA; copies are
#      re-injected on 12527) and send the broadcast to every demo
#      customer, as a sending tool would: one message, 500 recipients per
#      SMTP transaction; segmilter tailors a copy per segment;
#   4. print what happened per segment, which versions went out, and
#      where the delivered mail is;
#   5. send the cart-rescue campaign (contrib/demo-cart.eml) with its SMS
#      block: an email to the cart abandoners, and an SMS to those of
#      them with SMS consent, through a local test gateway on loopback
#      (tests/lib/smsgw.py, speaking the webhook driver's signed JSON on
#      port 12528) inside each one's quiet hours; then the sequence's
#      next step (conf/campaigns/cart-24h.conf), each copy held until a
#      day after that shopper's cart;
#   6. close the loop through segfeed, the feedback listener on 12529:
#      one customer clicks her unsubscribe link (the page on a GET, which
#      changes nothing; the one-click POST); a cart abandoner's order
#      arrives as a signed Shopify webhook and takes him out of the
#      cart abandoners at once, and when the held reminders come due his
#      is withdrawn (copy_goal_met); a bounce comes back to the return path
#      segmilter gave another's message (milter.bounce_domain) and is
#      read by segctl bounce, as Postfix's pipe(8) would hand it; the
#      next campaign suppresses each, and the report counts the bounce;
#   7. a customer's rights: segctl customer export answers a data
#      request; Shopify's customers/redact erases the customer who
#      unsubscribed, and no audit row names her any more;
#   8. what the tailoring was worth: the broadcast has arms (tailored,
#      broad, held out); what its recipients then order is simulated
#      with a known truth and imported, and segctl report compares the
#      arms per segment, in text and as one HTML page;
#   9. check the audit log against the heads segmilter and segfeed
#      logged: the erasure left it intact.
#
#   contrib/demo.sh [DIR] [CUSTOMERS]     (default demo/, 2000 customers)
#
# Needs root for step 3 (Postfix's master runs as root); without it the
# demo stops after the preview.
set -eu
BUILD=${BUILD:-build}
DIR=${1:-demo}
N=${2:-2000}
PORT=${DEMO_PORT:-12525}
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SRC=$(pwd)

rm -rf "$DIR"
mkdir -p "$DIR/campaigns"
DIR=$(realpath "$DIR")
chmod 755 "$DIR"	# Postfix's smtpd (user postfix) reaches the socket
cp conf/campaigns/spring-launch.conf conf/campaigns/cart-rescue.conf \
    conf/campaigns/coffee-winback.conf conf/campaigns/cart-24h.conf \
    "$DIR/campaigns/"
openssl rand -hex 32 > "$DIR/copy.key"
chmod 600 "$DIR/copy.key"
printf 'secret = "%s";\n' "$(openssl rand -hex 16)" > "$DIR/sms.cred"
chmod 600 "$DIR/sms.cred"
SHOPIFY_SECRET=$(openssl rand -hex 16)
printf 'shopify_secret = "%s";\n' "$SHOPIFY_SECRET" > "$DIR/feed.cred"
chmod 600 "$DIR/feed.cred"
cat > "$DIR/segmilter.conf" <<CONF
# The demo's configuration: the defaults of conf/segmilter.conf, with
# everything under $DIR, and tailored copies re-injected on port
# $((PORT + 2)).
store = "$DIR/store.db";
milter = {
  socket = "unix:$DIR/segmilter.sock";
  socket_mode = "0666";
  user = "";
  campaigns = "$DIR/campaigns";
  spool_dir = "$DIR";
  # every copy a personal one-click unsubscribe link, served by segfeed
  unsubscribe_url = "http://127.0.0.1:$((PORT + 4))/u/";
  # and, for one recipient, a return path of their own: bounces+TOKEN@
  bounce_domain = "shop.example";
};
feedback = {
  listen = "127.0.0.1:$((PORT + 4))";
  page_template = "$SRC/conf/unsubscribe.html";
  credentials_file = "$DIR/feed.cred";	# Shopify's app secret
};
outbox = {
  reinject_url = "smtp://127.0.0.1:$((PORT + 2))";
  key_file = "$DIR/copy.key";
};
# two campaigns back to back: the default frequency cap (one per 16
# hours) would keep the second from everyone who got the first
policy = { cap_count = 2; };
# what a shopper triggered (a reminder of their cart) is not held back
# by newsletters: its cap counts only its own class's deliveries
classes = { triggered = { priority = 10; cap_count = 2; cap_window_hours = 24; }; };
# SMS through the local test gateway; quiet hours at their default
sms = {
  driver = "webhook";
  url = "http://127.0.0.1:$((PORT + 3))/sms";
  credentials_file = "$DIR/sms.cred";
};
CONF
SEGCTL="$BUILD/segctl -c $DIR/segmilter.conf --now $NOW"

echo "== 1. the store: $N synthetic customers"
$SEGCTL demo-data --customers "$N" --seed 42 "$DIR/data"
$SEGCTL init
# consent first: its dated statements are the evidence that the customers
# export's undated yes/no then confirms
for kind in products consent customers orders events engagement; do
	$SEGCTL import "$kind" "$DIR/data/$kind.csv"
done
$SEGCTL segments rebuild
echo
$SEGCTL segments

echo
echo "== 2. segctl preview contrib/demo-broadcast.eml"
$SEGCTL preview contrib/demo-broadcast.eml | sed -n '1,60p'
echo
echo "== 2b. a coffee winback, said as lapsed_coffee & !b2b: who meets it"
$SEGCTL preview contrib/demo-winback.eml |
    sed -n '1,2p;/^variant /p;/^who meets/,/^$/p'

if [ "$(id -u)" != 0 ]; then
	echo
	echo "demo: sending through Postfix needs root; stopped after the preview"
	exit 0
fi

echo
echo "== 3. the broadcast through Postfix + segmilter"
"$BUILD/segmilter" -n -c "$DIR/segmilter.conf"
"$BUILD/segmilter" -f -c "$DIR/segmilter.conf" > "$DIR/segmilter.log" 2>&1 &
MPID=$!
python3 tests/lib/smsgw.py --port $((PORT + 3)) --port-file "$DIR/smsgw.port" \
    --log "$DIR/smsgw.log" --webhook-secret "$(sed 's/.*"\(.*\)".*/\1/' "$DIR/sms.cred")" \
    2> "$DIR/smsgw.err" &
GPID=$!
"$BUILD/segfeed" -f -c "$DIR/segmilter.conf" > "$DIR/segfeed.log" 2>&1 &
FPID=$!
cleanup() {
	"$SRC/tests/lib/postfix.sh" stop "$DIR/postfix"
	kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	kill "$GPID" 2>/dev/null && wait "$GPID" 2>/dev/null
	kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
	return 0
}
trap cleanup EXIT
i=0
while [ ! -S "$DIR/segmilter.sock" ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$DIR/segmilter.log"; exit 1; }
	sleep 0.1
done
tests/lib/postfix.sh start "$DIR/postfix" "$PORT" "$((PORT + 1))" \
    "unix:$DIR/segmilter.sock"
# the re-injection port: segmilter there only passes copies through
tests/lib/postfix.sh reinject "$DIR/postfix" "$((PORT + 2))" \
    "unix:$DIR/segmilter.sock"
sqlite3 "$DIR/store.db" "SELECT email FROM customers ORDER BY id" > "$DIR/recipients"
split -l 500 "$DIR/recipients" "$DIR/batch."
for b in "$DIR"/batch.*; do
	swaks -n --server "127.0.0.1:$PORT" --from news@shop.example \
	    --to "$(paste -sd, "$b")" --data contrib/demo-broadcast.eml \
	    > "$b.swaks" 2>&1 || { tail -5 "$b.swaks"; exit 1; }
done
# the copies: wait for the outbox to drain, then for Postfix
i=0
while [ "$(sqlite3 "$DIR/store.db" "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")" != 0 ]; do
	i=$((i + 1))
	[ $i -lt 6000 ] || { echo "demo: the outbox did not drain"; exit 1; }
	sleep 0.1
done
tests/lib/postfix.sh wait "$DIR/postfix" 120
echo "sent $(wc -l < "$DIR/recipients") recipients in $(ls "$DIR"/batch.*.swaks | wc -l) messages;" \
    "segmilter made $(sqlite3 "$DIR/store.db" "SELECT count(*) FROM outbox") tailored copies"

echo
echo "== 4. what happened"
$SEGCTL report spring-launch
echo
echo "versions at the far end (recipients per Subject):"
find "$DIR/postfix/sink" -type f | while read -r f; do
	subject=$(grep -m1 '^Subject:' "$f")
	grep -c '^X-Rcpt-Args:' "$f" | sed "s|\$| $subject|"
done | awk '{ n = $1; $1 = ""; c[$0] += n } END { for (s in c) printf "  %5d %s\n", c[s], s }' | sort -rn
msgs=$(find "$DIR/postfix/sink" -type f | wc -l)
rcpts=$(find "$DIR/postfix/sink" -type f -exec grep -h '^X-Rcpt-Args:' {} + | wc -l)
echo
echo "at the far end: $msgs messages for $rcpts recipients in $DIR/postfix/sink/"

echo
echo "== 5. cart rescue: an email to the cart abandoners, an SMS to those who agreed"
$SEGCTL preview contrib/demo-cart.eml | sed -n '/^sms:/,$p'
for b in "$DIR"/batch.*; do
	case $b in *.swaks) continue ;; esac
	swaks -n --server "127.0.0.1:$PORT" --from news@shop.example \
	    --to "$(paste -sd, "$b")" --data contrib/demo-cart.eml \
	    > "$b.cart" 2>&1 || { tail -5 "$b.cart"; exit 1; }
done
tests/lib/postfix.sh wait "$DIR/postfix" 120
# SMS due now are sent within seconds; the rest wait for their window
i=0
while [ "$(sqlite3 "$DIR/store.db" "SELECT count(*) FROM outbox WHERE kind = 'sms' AND state IN ('queued', 'sending') AND next_at <= strftime('%s', 'now')")" != 0 ]; do
	i=$((i + 1))
	[ $i -lt 600 ] || { echo "demo: the SMS did not go"; exit 1; }
	sleep 0.1
done
$SEGCTL report cart-rescue
held=$(sqlite3 "$DIR/store.db" "SELECT count(*) FROM outbox WHERE kind = 'sms' AND state = 'queued'")
echo
echo "at the local SMS gateway: $(grep -c '"outcome": "ok"' "$DIR/smsgw.log") SMS" \
    "(requests in $DIR/smsgw.log); $held wait for quiet hours to end where" \
    "their recipients live ($SEGCTL outbox)"
echo "segmilter's log: $DIR/segmilter.log; Postfix's: $DIR/postfix/maillog"

echo
echo "== 5b. the cart sequence's next step, a day after each cart (cart-24h)"
printf 'From: Shop <news@shop.example>\nSubject: {{offer}}\nX-Campaign-ID: cart-24h\n\nStill thinking it over? {{offer}}.\n' \
    > "$DIR/cart-24h.eml"
for b in "$DIR"/batch.*; do
	case $b in *.swaks|*.cart|*.seq) continue ;; esac
	swaks -n --server "127.0.0.1:$PORT" --from news@shop.example \
	    --to "$(paste -sd, "$b")" --data "$DIR/cart-24h.eml" \
	    > "$b.seq" 2>&1 || { tail -5 "$b.seq"; exit 1; }
done
tests/lib/postfix.sh wait "$DIR/postfix" 120
sqlite3 "$DIR/store.db" "SELECT count(*) || ' reminders held, each its recipient''s own, due from '
    || datetime(min(not_before), 'unixepoch') || ' to ' || datetime(max(not_before), 'unixepoch') || ' UTC'
    FROM outbox WHERE campaign_id = 'cart-24h' AND state = 'queued'"
echo
echo "== 6. the loop closes: an unsubscribe click, an order webhook, a bounce"
echo "a customer clicks the unsubscribe link (RFC 8058 one-click, served by segfeed):"
m=$(grep -l '^List-Unsubscribe: <http' -r "$DIR/postfix/sink" | head -1)
who=$(grep -m1 '^X-Rcpt-Args:' "$m" | sed 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/')
url=$(grep -m1 '^List-Unsubscribe:' "$m" | sed 's/^List-Unsubscribe: <\(.*\)>.*/\1/')
echo "$who's copy says: List-Unsubscribe: <$url>"
echo "a link scanner's GET shows a page and changes nothing:" \
    "HTTP $(curl -s -o /dev/null -w '%{http_code}' "$url")"
echo "the mail reader's one-click POST:" \
    "HTTP $(curl -s -o /dev/null -w '%{http_code}' -d 'List-Unsubscribe=One-Click' "$url")"

# an order from a cart abandoner, as Shopify's orders/create webhook
buyer=$(sqlite3 "$DIR/store.db" "SELECT trim(recipients, char(10)) FROM outbox WHERE campaign_id = 'cart-24h' AND state = 'queued' AND trim(recipients, char(10)) <> '$who' LIMIT 1")
echo
echo "$buyer, a cart abandoner, before the order:"
$SEGCTL explain "$buyer" | grep '^  cart '
order=$(printf '{"id": 990001, "name": "#D1", "email": "%s", "created_at": "%s", "financial_status": "paid", "currency": "USD", "total_price": "42.00", "line_items": []}' \
    "$buyer" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
hmac=$(printf %s "$order" | openssl dgst -sha256 -hmac "$SHOPIFY_SECRET" -binary | base64)
echo "Shopify's orders/create webhook, signed with the app secret:" \
    "HTTP $(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'X-Shopify-Topic: orders/create' -H "X-Shopify-Hmac-Sha256: $hmac" \
    -H 'X-Shopify-Webhook-Id: demo-order-1' --data-binary "$order" \
    "http://127.0.0.1:$((PORT + 4))/shopify/webhook")"
echo "after it, with no rebuild (segfeed refreshes his segments in the same transaction):"
$SEGCTL explain "$buyer" | grep '^  cart '
# the reminders' day is up: their time moved rather than waited for
echo "a day on, the held cart-24h reminders come due, each asked again:"
held=$(sqlite3 "$DIR/store.db" "SELECT group_concat(id) FROM outbox WHERE campaign_id = 'cart-24h' AND state = 'queued'")
sqlite3 "$DIR/store.db" "UPDATE outbox SET created_at = created_at - (not_before - strftime('%s', 'now')),
    not_before = strftime('%s', 'now'), next_at = strftime('%s', 'now')
    WHERE campaign_id = 'cart-24h' AND state = 'queued'"
i=0
while [ "$(sqlite3 "$DIR/store.db" "SELECT count(*) FROM outbox WHERE campaign_id = 'cart-24h' AND state IN ('queued', 'sending')")" != 0 ]; do
	i=$((i + 1))
	[ $i -lt 1200 ] || { echo "demo: the reminders did not go"; exit 1; }
	sleep 0.1
done
tests/lib/postfix.sh wait "$DIR/postfix" 120
echo "  $(sqlite3 "$DIR/store.db" "SELECT count(*) FILTER (WHERE state = 'sent') || ' sent, '
    || count(*) FILTER (WHERE state = 'cancelled') || ' withdrawn' FROM outbox WHERE id IN ($held)");" \
    "$buyer's: $(sqlite3 "$DIR/store.db" "SELECT decision || ' (' || detail || ')' FROM audit
    WHERE campaign_id = 'cart-24h' AND recipient = '$buyer' ORDER BY seq DESC LIMIT 1")"

# a bounce: the DSN Postfix would send to a recipient's return path
dead=$(sqlite3 "$DIR/store.db" "SELECT recipient FROM ledger WHERE campaign_id = 'spring-launch' AND decision = 'deliver' AND recipient NOT IN (SELECT recipient FROM ledger WHERE campaign_id = 'cart-rescue' AND decision = 'deliver') AND recipient NOT IN ('$who', '$buyer') LIMIT 1")
m=$(grep -l "^X-Rcpt-Args: <$dead>" -r "$DIR/postfix/sink" | head -1)
rp=$(grep -m1 '^X-Mail-Args:' "$m" | sed 's/^X-Mail-Args: <\([^>]*\)>.*/\1/')
echo
echo "$dead's message left with the return path <$rp>;"
echo "the DSN for it, read by segctl bounce as Postfix's pipe(8) hands it:"
tok=${rp#bounces+}
tok=${tok%@*}
sed -e "s/XTOKENX/$tok/g" -e "s/sue@example.com/$dead/g" \
    -e "/^X-Campaign-ID:/d" tests/fixtures/dsn/postfix-hard.eml |
    $SEGCTL bounce --recipient "$rp"

# the next campaign: a reminder to the cart abandoners
cat > "$DIR/campaigns/cart-reminder.conf" <<'CONF'
id = "cart-reminder";
audience = { include = [ "cart_abandoner" ]; };
variants = { default = { offer = "Your cart is still waiting"; }; };
CONF
printf 'From: Shop <news@shop.example>\nSubject: {{offer}}\nX-Campaign-ID: cart-reminder\n\n{{offer}}\n' \
    > "$DIR/cart-reminder.eml"
echo
echo "the next campaign, a cart reminder, previewed for $who, $buyer and $dead:"
$SEGCTL preview --to "$who" --to "$buyer" --to "$dead" "$DIR/cart-reminder.eml" |
    sed -n '/^suppressed/,/^$/p'
echo
$SEGCTL report spring-launch | sed -n '/^bounces and complaints/,/^$/p'

echo
echo "== 7. a customer's rights: what the store holds, and erasure"
echo "segctl customer export $dead (a data request), rows per table:"
$SEGCTL customer export "$dead" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("  " + ", ".join("%s %d" % (k, len(v) if isinstance(v, list) else 1)
    for k, v in d.items()))'
redact=$(printf '{"shop_id": 1, "shop_domain": "demo.myshopify.com", "customer": {"id": 1, "email": "%s"}, "orders_to_redact": []}' "$who")
hmac=$(printf %s "$redact" | openssl dgst -sha256 -hmac "$SHOPIFY_SECRET" -binary | base64)
echo "$who asks to be forgotten: Shopify's customers/redact webhook:" \
    "HTTP $(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'X-Shopify-Topic: customers/redact' -H "X-Shopify-Hmac-Sha256: $hmac" \
    -H 'X-Shopify-Webhook-Id: demo-redact-1' --data-binary "$redact" \
    "http://127.0.0.1:$((PORT + 4))/shopify/webhook")"
grep 'customers/redact' "$DIR/segfeed.log" | tail -1 | sed 's/^/  /'
echo "  audit rows still naming $who: $(sqlite3 "$DIR/store.db" \
    "SELECT count(*) FROM audit WHERE recipient = '$who'")"

echo
echo "== 8. what the tailoring was worth: the broadcast's arms"
echo "(a simulation of what the recipients ordered in the 5 days after it, with"
echo " a known truth: segctl demo-data --outcomes; a real shop imports its orders)"
$SEGCTL demo-data --outcomes spring-launch --seed 3 "$DIR/outcomes.csv"
$SEGCTL -q import orders "$DIR/outcomes.csv"
$SEGCTL report spring-launch | sed -n '/^what the recipients did/,$p'
$SEGCTL report --format html spring-launch > "$DIR/report.html"
echo "the same as one page with its charts: $DIR/report.html"

echo
echo "== 9. the audit log, checked against the heads segmilter and segfeed logged (audit=SEQ:HASH)"
cat "$DIR/segmilter.log" "$DIR/segfeed.log" > "$DIR/anchors.log"
$SEGCTL audit verify --anchors "$DIR/anchors.log"

echo
echo "== 10. years on: the store stays bounded (segctl info, three years from now)"
$SEGCTL --now "$(date -u -d '+3 years' +%Y-%m-%d)" info | sed -n '/^retention/,$p'

echo
echo "== 11. a fleet's store: the same store moved to PostgreSQL, for relays that share it"
. "$SRC/tests/lib/pgsql.sh"
if pgsql_available; then
	trap 'cleanup; pgsql_cleanup' EXIT
	rm -rf "$DIR/pg"
	if pgsql_start "$DIR/pg" > "$DIR/pg.out" 2>&1; then
		$SEGCTL store copy "$DIR/store.db" "$PGSQL_URL" |
		    sed -n '1p; /^  \(customers\|ledger\|audit\|outbox\) /p; $p'
		$SEGCTL -s "$PGSQL_URL" audit verify
		echo "(segmilter.conf: store = \"postgresql://...\" on each relay;"
		echo " contrib/fleet/README; tests/integration/t-fleet.sh runs two)"
		pgsql_stop "$DIR/pg"
	else
		echo "no private PostgreSQL: $(tail -2 "$DIR/pg.out")"
	fi
else
	echo "no PostgreSQL server here (make deps installs it): skipped"
fi
