#!/bin/sh
# t-classes.sh - campaign classes through a private Postfix: Fay had two
# campaigns in the last two hours, so the next promotional one (the
# policy group's cap of 2) leaves her out, while a triggered one, whose
# class has no cap, reaches her at the sink; the skip and the delivery
# are audited, the skip with the cap that made it.
#
# Needs root (Postfix's master), postfix, smtp-sink and swaks: skipped
# (77) without them.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-classes: needs root"; exit 77; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db=psql
for p in postfix smtp-sink swaks $db; do
	command -v $p >/dev/null 2>&1 || { echo "t-classes: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-classes
PORT=${T_CLASSES_PORT:-13745}
SINK=$((PORT + 1))
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"
cat >> "$T/segmilter.conf" <<'CONF'
classes = { triggered = { cap_count = 0; }; };
CONF
cat > "$T/campaigns/cart.conf" <<'CONF'
id = "cart";
class = "triggered";
variants = { default = { offer = "your cart: 10% off"; }; };
CONF
"$BUILD/segmilter" -n -c "$T/segmilter.conf" > "$T/check.out" 2>&1 ||
    fail "segmilter -n: $(cat "$T/check.out")"
milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"
aud() { q "SELECT decision || '|' || coalesce(detail, '') FROM audit WHERE campaign_id = '$1' AND recipient = '$2@example.com'"; }
at_sink() { for f in $(arrived); do grep -q "^X-Rcpt-Args: <$1@example.com>" "$f" && grep -q "$2" "$f" && echo "$f"; done; }

send launch fay@example.com fred@example.com <<'MSG' || fail "launch refused: $(tail -3 "$T/launch.swaks")"
From: Shop <news@shop.example>
Subject: Spring
X-Campaign-ID: launch
Message-ID: <launch-1@shop.example>

{{offer}}
MSG
send cart fay@example.com <<'MSG' || fail "cart refused: $(tail -3 "$T/cart.swaks")"
From: Shop <news@shop.example>
Subject: Your cart
X-Campaign-ID: cart
Message-ID: <cart-1@shop.example>

{{offer}}
MSG
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
case "$(aud launch fay)" in
fatigued\|frequency\ cap:*) ;;
*) fail "fay and the promotional campaign: $(aud launch fay)" ;;
esac
[ "$(aud launch fred)" = "deliver|" ] || fail "fred: $(aud launch fred)"
[ -n "$(at_sink fred 'Spring')" ] || fail "fred's launch not at the sink"
[ -z "$(at_sink fay 'Spring')" ] || fail "fay got the capped campaign"
[ "$(aud cart fay)" = "deliver|" ] || fail "fay and the triggered campaign: $(aud cart fay)"
[ -n "$(at_sink fay 'your cart: 10% off')" ] || fail "fay's cart reminder not at the sink"
"$BUILD/segctl" -q -c "$T/segmilter.conf" audit verify > "$T/verify.out" 2>&1 ||
    fail "audit verify: $(cat "$T/verify.out")"
echo "t-classes: the promotional cap held fay, the triggered class passed it"
