#!/bin/sh
# t-kannel.sh - the kannel driver against a real Kannel: bearerbox and
# smsbox with a fake SMSC on loopback (tests/lib/kannel.sh).  A campaign
# with an SMS block goes through a private Postfix with segmilter; what
# the fake SMSC received is checked: one SMS per eligible customer, the
# right text, a UCS-2 text (a name outside GSM-7) intact, a two-part text
# joined, nothing for a customer without SMS consent.  Skipped (77) when
# Kannel is not installed.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-kannel: needs root"; exit 77; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db=psql
for p in postfix smtp-sink swaks $db python3 curl; do
	command -v $p >/dev/null 2>&1 || { echo "t-kannel: no $p"; exit 77; }
done
[ -x /usr/sbin/bearerbox ] && [ -x /usr/lib/kannel/test/fakesmsc ] ||
    { echo "t-kannel: no kannel or kannel-extras"; exit 77; }
. tests/lib/harness.sh
harness_init t-kannel
PORT=${T_KANNEL_PORT:-12925}
SINK=$((PORT + 1))
KBASE=$((PORT + 10))
. "$SRC/tests/lib/fixture.sh"	# q
cleanup_kannel() {
	"$SRC/tests/lib/kannel.sh" stop "$T/kannel" 2>/dev/null
	harness_cleanup
}
trap cleanup_kannel EXIT

mkdir -p "$T/kannel" "$T/campaigns"
"$SRC/tests/lib/kannel.sh" start "$T/kannel" "$KBASE" || {
	rc=$?; [ $rc = 77 ] && exit 77; fail "kannel did not start"; }

cat > "$T/customers.csv" <<'CSV'
email,first_name,phone,country,time_zone
ann@example.com,Ann,+15550001001,US,UTC
zoe@example.com,Zoë,+15550001002,US,UTC
long@example.com,Maximilian,+15550001003,US,UTC
none@example.com,Noah,+15550001004,US,UTC
CSV
{
	echo "email,type,occurred_at,category,cart_value"
	for c in ann zoe long none; do
		echo "$c@example.com,add_to_cart,$(ago '3 hours'),coffee,42.00"
	done
} > "$T/events.csv"
{
	echo "email,channel,status,source,recorded_at,evidence"
	for c in ann zoe long none; do
		echo "$c@example.com,email,granted,checkout,$(ago '100 days'),box ticked"
		[ $c = none ] || echo "$c@example.com,sms,granted,checkout,$(ago '90 days'),sms box ticked"
	done
} > "$T/consent.csv"
printf 'username = "segm";\npassword = "segm-test";\n' > "$T/kannel.cred"
chmod 600 "$T/kannel.cred"
cat > "$T/segmilter.conf" <<CONF
store = "${STORE:-$T/store.db}";
milter = { socket = "unix:$T/segmilter.sock"; socket_mode = "0666";
  user = ""; campaigns = "$T/campaigns"; spool_dir = "$T"; };
outbox = { retry_base_s = 1; retry_max_s = 2; };
sms = { driver = "kannel"; url = "http://127.0.0.1:$((KBASE + 3))";
  credentials_file = "$T/kannel.cred"; from = "Shop";
  window = "00:00-24:00"; max_parts = 2; };
CONF
# Maximilian's text runs past 160 septets: two parts
cat > "$T/campaigns/cart.conf" <<'CONF'
id = "cart-k";
variants = { default = { code = "CART10"; }; };
sms = {
  segments = [ "cart_abandoner" ];
  text = "{{first_name}}, your cart is waiting: 10% off with {{code}}. Reply STOP to opt out";
};
CONF
S="$BUILD/segctl -q -c $T/segmilter.conf"
$S init && $S import customers "$T/customers.csv" &&
    $S import events "$T/events.csv" && $S import consent "$T/consent.csv" &&
    $S segments rebuild || fail "store"
q "UPDATE customers SET first_name = 'Maximilian' || substr('$(printf '%0120d' 0)', 1, 120) WHERE email = 'long@example.com'"

milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"
RCPTS="ann@example.com zoe@example.com long@example.com none@example.com"
# shellcheck disable=SC2086
send cart $RCPTS <<'MSG' || fail "campaign refused: $(tail -3 "$T/cart.swaks")"
From: Shop <news@shop.example>
Subject: Your cart
X-Campaign-ID: cart-k
Message-ID: <cart-k@shop.example>

Still thinking it over?
MSG
all_delivered() {
	[ "$(q "SELECT count(*) FROM outbox WHERE kind = 'sms' AND state <> 'sent'")" = 0 ] &&
	    [ "$("$SRC/tests/lib/kannel.sh" received "$T/kannel" | wc -l)" -ge 3 ]
}
wait_until all_delivered \
    'SMS not delivered to the fake SMSC: $(q "SELECT id, state, last_error FROM outbox")'
"$SRC/tests/lib/kannel.sh" messages "$T/kannel" > "$T/got"
TAB=$(printf '\t')
grep -qx "Shop${TAB}+15550001001${TAB}7bit${TAB}1${TAB}Ann, your cart is waiting: 10% off with CART10. Reply STOP to opt out" "$T/got" ||
    fail "Ann's SMS: $(cat "$T/got")"
grep -qx "Shop${TAB}+15550001002${TAB}ucs2${TAB}1${TAB}Zoë, your cart is waiting: 10% off with CART10. Reply STOP to opt out" "$T/got" ||
    fail "Zoë's UCS-2 SMS: $(cat "$T/got")"
grep -q "^Shop${TAB}+15550001003${TAB}7bit${TAB}2${TAB}Maximilian0000" "$T/got" ||
    fail "the two-part SMS: $(cat "$T/got")"
grep -q '+15550001004' "$T/got" && fail "an SMS without SMS consent"
[ "$(wc -l < "$T/got")" = 3 ] || fail "not one SMS each: $(cat "$T/got")"
[ "$(q "SELECT count(*) FROM audit WHERE channel = 'sms' AND decision = 'sms_sent'")" = 3 ] ||
    fail "sent SMS not audited"
grep -q 'segm-test' "$T/milter.log" && fail "the Kannel password was logged"
echo "t-kannel: 3 SMS through a real Kannel (GSM-7, UCS-2, two parts), none without consent"
