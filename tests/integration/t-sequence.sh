#!/bin/sh
# t-sequence.sh - a three-step cart sequence through a private Postfix
# with re-injection: cart-1, cart-2 and cart-3 hold each copy until the
# recipient's own cart_at + 1h, + 24h and + 48h, and stop once they
# ordered since the cart.  Rita orders after the first step: her second
# copy, held, is withdrawn when it comes due (copy_goal_met) and the
# third is not even queued for her (goal_met), while Vera and Fred get
# all three and Sue, whose cart is older, gets her late steps at once or
# when due.  Then a campaign sent for 10:00 local time: each copy held
# until the next 10:00 in its recipient's zone.  The clock is driven by
# moving the held copies' due time in the store, never by waiting for it.
#
# Needs root (Postfix's master), postfix, smtp-sink and swaks: skipped
# (77) without them.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-sequence: needs root"; exit 77; }
DBCLI=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && DBCLI=psql
for p in postfix smtp-sink swaks $DBCLI; do
	command -v $p >/dev/null 2>&1 || { echo "t-sequence: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-sequence
PORT=${T_SEQUENCE_PORT:-13785}
SINK=$((PORT + 1))
REINJECT=$((PORT + 2))
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"
S="$BUILD/segctl -q -c $T/segmilter.conf"
{
	echo "email,type,occurred_at,category,cart_value"
	for c in vera rita fred; do
		echo "$c@example.com,add_to_cart,$(ago '3 hours'),coffee,42.00"
	done
	echo "sue@example.com,add_to_cart,$(ago '30 hours'),coffee,18.00"
} > "$T/events.csv"
$S import events "$T/events.csv" && $S segments rebuild || fail "carts"
printf '0123456789abcdef0123456789abcdef\n' > "$T/copy.key"
chmod 600 "$T/copy.key"
cat >> "$T/segmilter.conf" <<CONF
outbox = { reinject_url = "smtp://127.0.0.1:$REINJECT";
  key_file = "$T/copy.key"; retry_base_s = 1; };
classes = { triggered = { cap_count = 0; }; };
CONF
for step in 1:1h 2:24h 3:48h; do
	cat > "$T/campaigns/cart-${step%%:*}.conf" <<CONF
id = "cart-${step%%:*}";
class = "triggered";
audience = { include = [ "cart_abandoner" ]; };
stop_if = [ "ordered" ];
variants = { default = { offer = "step ${step%%:*}"; send_after = "cart_at + ${step#*:}"; }; };
CONF
done
"$BUILD/segmilter" -n -c "$T/segmilter.conf" > "$T/check.out" 2>&1 ||
    fail "segmilter -n: $(cat "$T/check.out")"
relay_start "$REINJECT"
# the held copies of campaign $1 come due now: their time moved, the
# time they were queued with it, as if the hours had passed
due_now() {
	dn_now=$(date +%s)
	q "UPDATE outbox SET created_at = created_at - (not_before - $dn_now), not_before = $dn_now, next_at = $dn_now WHERE campaign_id = '$1' AND state = 'queued'"
	settle
}
got() { for f in $(arrived); do grep -q "^X-Rcpt-Args: <$1@example.com>" "$f" && grep -q "^Step: $2$" "$f" && echo "$f"; done; }
aud() { q "SELECT group_concat(decision) FROM (SELECT decision FROM audit WHERE campaign_id = '$1' AND recipient = '$2@example.com' ORDER BY seq) AS a"; }
# the outbox's recipients column: one address a line
NL='
'
step() {	# N: the shop sends step N to all four
	send "cart-$1" vera@example.com rita@example.com fred@example.com \
	    sue@example.com <<MSG || fail "cart-$1 refused: $(tail -3 "$T/cart-$1.swaks")"
From: Shop <news@shop.example>
Subject: Your cart
X-Campaign-ID: cart-$1
Message-ID: <cart-$1@shop.example>

Step: {{offer}}
MSG
	settle
}

# 1: every cart is more than an hour old: all four at once
step 1
for c in vera rita fred sue; do
	[ -n "$(got $c 'step 1')" ] || fail "$c: no step 1"
done
# 2: three carts are three hours old, held a day; Sue's is due already,
# as the preview says before it is sent
printf 'Subject: Your cart\nX-Campaign-ID: cart-2\n\nStep: {{offer}}\n' > "$T/cart-2.eml"
$S preview --to vera@example.com --to rita@example.com --to fred@example.com \
    --to sue@example.com "$T/cart-2.eml" > "$T/preview.out" 2>&1 || fail "preview: $(cat "$T/preview.out")"
grep -q "^held: 3, each copy until its recipient's time, from " "$T/preview.out" &&
    grep -q "^  to vera@example.com: until " "$T/preview.out" &&
    ! grep -q "^  to sue@example.com: until " "$T/preview.out" || fail "preview, held: $(cat "$T/preview.out")"
step 2
[ -n "$(got sue 'step 2')" ] || fail "sue: step 2 not at once"
for c in vera rita fred; do
	[ -z "$(got $c 'step 2')" ] || fail "$c: step 2 went before its time"
	[ "$(q "SELECT count(*) FROM outbox WHERE campaign_id = 'cart-2' AND recipients = '$c@example.com$NL' AND state = 'queued'")" = 1 ] ||
	    fail "$c: no held copy of their own"
done
# Rita orders after her cart; then step 2 comes due
printf 'order_id,email,created_at,total,currency\nR9,rita@example.com,%s,42.00,EUR\n' \
    "$(ago '1 minute')" > "$T/order.csv"
$S import orders "$T/order.csv" || fail "rita's order"
due_now cart-2
for c in vera fred; do
	[ -n "$(got $c 'step 2')" ] || fail "$c: no step 2 when due"
done
[ -z "$(got rita 'step 2')" ] || fail "rita got step 2 after she ordered"
[ "$(aud cart-2 rita)" = "deliver,copy_goal_met" ] || fail "rita's step 2: $(aud cart-2 rita)"
[ "$(q "SELECT decision FROM ledger WHERE campaign_id = 'cart-2' AND recipient = 'rita@example.com'")" = goal_met ] ||
    fail "rita's step 2 still a delivery in the ledger"
# 3: Rita is stopped when it is decided; the others held, then sent
step 3
[ "$(aud cart-3 rita)" = goal_met ] || fail "rita's step 3: $(aud cart-3 rita)"
due_now cart-3
for c in vera fred sue; do
	[ -n "$(got $c 'step 3')" ] || fail "$c: no step 3 when due"
done
[ -z "$(got rita 'step 3')" ] || fail "rita got step 3"
n=$(for f in $(arrived); do grep -q "^Step: step" "$f" && grep "^X-Rcpt-Args:" "$f"; done | wc -l)
[ "$n" = 10 ] || fail "$n deliveries at the sink, not 10"
$S report cart-2 > "$T/report.out" || fail "report cart-2"
# the report's column NAME, row all, of its first table
col() { awk -v c="$1" '$1 == "segment" && !k { for (i = 1; i <= NF; i++) if ($i == c) k = i }
    $1 == "all" && k { print $k; exit }' "$T/report.out"; }
[ "$(col total) $(col deliver) $(col goal_met) $(col not_sent)" = "4 3 1 0" ] ||
    fail "report: $(cat "$T/report.out")"

# send_local: 10:00 where each recipient lives, the next one: Vera in
# Germany, Rita in France (one zone each), Fred in Chicago (his zone
# given: the United States have several); Sue, whose zone is unknown
# (no country), at 10:00 UTC
printf 'email,country,time_zone\nfred@example.com,US,America/Chicago\nsue@example.com,,\n' > "$T/zones.csv"
$S import customers "$T/zones.csv" && $S segments rebuild || fail "zones"
cat > "$T/campaigns/morning.conf" <<'CONF'
id = "morning";
class = "triggered";
variants = { default = { offer = "good morning"; send_local = "10:00"; }; };
CONF
kill -HUP "$MPID"
wait_until 'grep -q "reloaded" "$T/milter.log"' "segmilter did not reload"
send morning vera@example.com rita@example.com fred@example.com \
    sue@example.com <<'MSG' || fail "morning refused: $(tail -3 "$T/morning.swaks")"
From: Shop <news@shop.example>
Subject: Morning
X-Campaign-ID: morning
Message-ID: <morning@shop.example>

Step: {{offer}}
MSG
settle
next10() {	# the next 10:00 in zone $1 after the decision, in epoch seconds
	python3 -c 'import sys, datetime, zoneinfo
z = zoneinfo.ZoneInfo(sys.argv[1]); t = datetime.datetime.fromtimestamp(int(sys.argv[2]), z)
d = t.replace(hour=10, minute=0, second=0, microsecond=0)
print(int((d if d >= t else d + datetime.timedelta(days=1)).timestamp()))' "$1" "$2"
}
for w in vera:Europe/Berlin rita:Europe/Paris fred:America/Chicago sue:UTC; do
	c=${w%%:*}
	row=$(q "SELECT created_at || ' ' || not_before FROM outbox WHERE campaign_id = 'morning' AND recipients = '$c@example.com$NL'")
	[ -n "$row" ] || fail "$c: no held copy of their own"
	[ "${row#* }" = "$(next10 "${w#*:}" "${row% *}")" ] ||
	    fail "$c: due $(date -u -d "@${row#* }"), not 10:00 ${w#*:}"
	[ -z "$(got $c 'good morning')" ] || fail "$c: the morning copy went before its time"
done
due_now morning
for c in vera rita fred sue; do
	[ -n "$(got $c 'good morning')" ] || fail "$c: no morning copy when due"
done
$S audit verify > "$T/verify.out" 2>&1 || fail "audit verify: $(cat "$T/verify.out")"
echo "t-sequence: 3 steps, 10 deliveries; rita stopped after her order (copy_goal_met, goal_met); 10:00 local in 4 zones"
