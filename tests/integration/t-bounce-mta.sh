#!/bin/sh
# t-bounce-mta.sh - bounces and complaints learned from the MTA itself,
# end to end through a private Postfix: segmilter gives each campaign
# message for one recipient its own signed return path (the sink sees
# it); a remote SMTP server (a second smtpd of the same Postfix, with
# recipient restrictions) refuses one recipient with 550 5.1.1 and
# another with 452 4.2.2; Postfix bounces both (one delivery attempt:
# maximal_queue_lifetime = 0) to their return paths, which its transport
# map hands to segctl bounce through pipe(8) as user nobody; a Yahoo-
# style ARF complaint sent to a third return path goes, the transport
# map changed, through Postfix's lmtp(8) client to segfeed's LMTP
# listener instead.
# The next campaign suppresses all three, each with its reason in the
# ledger and the audit log; the recipient nobody refused is delivered;
# segctl report gives the first campaign's bounce and complaint rates.
#
# Needs root (Postfix's master, pipe's user=), postfix, smtp-sink, swaks
# and the user nobody: skipped (77) without them.
# engines: sqlite pgsql
# Ports: T_BOUNCE_MTA_PORT (13225) and the four after it.
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-bounce-mta: needs root"; exit 77; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db=psql
for p in postfix smtp-sink swaks $db; do
	command -v $p >/dev/null 2>&1 || { echo "t-bounce-mta: no $p"; exit 77; }
done
id nobody > /dev/null 2>&1 || { echo "t-bounce-mta: no user nobody"; exit 77; }
. tests/lib/harness.sh
harness_init t-bounce-mta
PORT=${T_BOUNCE_MTA_PORT:-13225}
SINK=$((PORT + 1))
REMOTE=$((PORT + 2))
LMTP=$((PORT + 3))
HTTP=$((PORT + 4))
FPID=""
trap '[ -n "$FPID" ] && kill "$FPID" 2>/dev/null; harness_cleanup' EXIT
. "$SRC/tests/lib/fixture.sh"
fixture_store "$T" || fail "fixture store"

# return paths on, a soft bounce enough to suppress, a second campaign
(umask 077; openssl rand -hex 32 > "$T/key")
sed -i -e 's|^  user = "";|  user = "";\n  bounce_domain = "shop.example";\n  unsubscribe_url = "https://shop.example/u/";|' \
    -e 's|^policy = { cap_count = 2; };|policy = { cap_count = 2; soft_bounce_limit = 1; };|' \
    "$T/segmilter.conf"
cat >> "$T/segmilter.conf" <<CONF
outbox = { key_file = "$T/key"; };
feedback = {
  listen = "127.0.0.1:$HTTP";
  page_template = "$SRC/conf/unsubscribe.html";
  lmtp_listen = "127.0.0.1:$LMTP";
  quarantine_dir = "$T/q";
};
CONF
grep -q 'bounce_domain = "shop.example"' "$T/segmilter.conf" || fail "config"
cat > "$T/campaigns/next.conf" <<'CONF'
id = "next";
variants = { default = { offer = "5% off"; }; };
CONF
# segctl bounce runs as nobody: the store, its directory, the key and
# the quarantine are theirs (segmilter, as root, reads them all; SQLite
# gives the -wal and -shm files it makes the database's owner).  On
# PostgreSQL there is no store file: nobody reaches the server's socket
# in $T/pg/sock (mode 0777) through $T.
mkdir "$T/q" "$T/bin"
cp "$BUILD/segctl" "$T/bin/segctl"
chown nobody "$T" "$T/key" "$T/q"
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] || chown nobody "$T/store.db"
"$BUILD/segmilter" -n -c "$T/segmilter.conf" > "$T/check.out" 2>&1 ||
    fail "segmilter -n: $(cat "$T/check.out")"
milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"

# --- the remote server, the bounce transport --------------------------
cat > "$T/pf/etc/refuse" <<'MAP'
fred@example.com 550 5.1.1 <fred@example.com>: Recipient address rejected: User unknown
rita@example.com 452 4.2.2 <rita@example.com>: Mailbox full
MAP
cat > "$T/pf/etc/transport" <<MAP
fred@example.com smtp:[127.0.0.1]:$REMOTE
rita@example.com smtp:[127.0.0.1]:$REMOTE
bounces@shop.example segbounce:
MAP
cat >> "$T/pf/etc/main.cf" <<MAIN
recipient_delimiter = +
transport_maps = texthash:$T/pf/etc/transport
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
segbounce_destination_recipient_limit = 1
MAIN
cat >> "$T/pf/etc/master.cf" <<MASTER
127.0.0.1:$REMOTE inet n - n - - smtpd
  -o smtpd_milters=
  -o smtpd_recipient_restrictions=check_recipient_access,texthash:$T/pf/etc/refuse,permit_mynetworks,reject
segbounce unix - n n - - pipe
  flags=Rq user=nobody argv=$T/bin/segctl -c $T/segmilter.conf bounce --quarantine $T/q --recipient \${recipient}
MASTER
postfix -c "$T/pf/etc" reload > /dev/null 2>&1 || fail "postfix reload"
"$SRC/tests/lib/postfix.sh" port "$T/pf" "$REMOTE" || fail "remote smtpd"
settle() { "$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"; }

# --- 1. the campaign, a message per recipient, as campaign tools send -
for r in vera fred rita sue; do
	send "launch-$r" "$r@example.com" <<MSG || fail "launch to $r refused"
From: Shop <news@shop.example>
Subject: {{headline}}
X-Campaign-ID: launch
Message-ID: <launch-$r@shop.example>

{{offer}}
MSG
done
settle
# vera and sue arrived, each with a return path of their own
for r in vera sue; do
	m=$(grep -l "^X-Rcpt-Args: <$r@example.com>" $(arrived)) ||
	    fail "$r: nothing at the sink"
	grep -Eq "^X-Mail-Args: <bounces\+[a-z2-7]{40}@shop.example>" "$m" ||
	    fail "$r: return path $(grep ^X-Mail-Args "$m")"
done
[ "$(arrived | wc -l)" = 2 ] || fail "$(arrived | wc -l) messages at the sink"
grep -q "to=<fred@example.com>.*status=bounced.*550 5.1.1" "$T/pf/maillog" ||
    fail "fred not bounced"
grep -q "to=<rita@example.com>.*status=deferred.*452 4.2.2" "$T/pf/maillog" &&
    grep -q "status=expired, returned to sender" "$T/pf/maillog" ||
    fail "rita not returned"

# Postfix's DSNs came back through pipe(8): recorded, nothing quarantined
[ "$(q "SELECT e.type || ' ' || e.campaign_id FROM engagement e JOIN \
    customers c ON c.id = e.customer_id WHERE c.email = 'fred@example.com' \
    AND e.type LIKE '%bounce'")" = "bounce launch" ] ||
    fail "fred's bounce: $(q "SELECT * FROM engagement") $(ls "$T/q")"
[ "$(q "SELECT e.type FROM engagement e JOIN customers c ON \
    c.id = e.customer_id WHERE c.email = 'rita@example.com' AND \
    e.type LIKE '%bounce'")" = soft_bounce ] || fail "rita's soft bounce"
[ "$(q "SELECT decision || ' ' || substr(detail, 1, 5) FROM audit WHERE \
    recipient = 'fred@example.com' AND campaign_id = 'launch' ORDER BY \
    seq DESC LIMIT 1")" = "hard_bounce 5.1.1" ] || fail "fred's audit row"
[ -z "$(ls "$T/q")" ] || fail "quarantined: $(ls "$T/q")"

# --- 2. a complaint: Yahoo's ARF to sue's return path, by LMTP --------
"$BUILD/segfeed" -f -c "$T/segmilter.conf" > "$T/feed.log" 2>&1 &
FPID=$!
"$SRC/tests/lib/postfix.sh" port "$T/pf" "$LMTP" || fail "segfeed's LMTP"
sed -i "s|^bounces@shop.example segbounce:|bounces@shop.example lmtp:inet:127.0.0.1:$LMTP|" \
    "$T/pf/etc/transport"
postfix -c "$T/pf/etc" reload > /dev/null 2>&1 || fail "postfix reload"
tok=$(sed -n 's/^X-Mail-Args: <bounces+\([a-z2-7]*\)@.*/\1/p' \
    "$(grep -l '^X-Rcpt-Args: <sue@example.com>' $(arrived))")
sed -e "s/XTOKENX/$tok/g" -e 's/rita@example.com/sue@example.com/g' \
    "$SRC/tests/fixtures/dsn/yahoo-arf.eml" |
    swaks -n --server "127.0.0.1:$PORT" --from feedback@arf.mail.yahoo.com \
    --to "bounces+$tok@shop.example" --data - > "$T/arf.swaks" 2>&1 ||
    fail "ARF refused: $(cat "$T/arf.swaks")"
settle
[ "$(q "SELECT decision FROM audit WHERE recipient = 'sue@example.com' \
    ORDER BY seq DESC LIMIT 1")" = complaint ] ||
    fail "sue's complaint: $(cat "$T/feed.log")"
grep -q "relay=127.0.0.1\[127.0.0.1\]:$LMTP.*status=sent (250 2.0.0 sue@example.com: complaint recorded" \
    "$T/pf/maillog" || fail "not by LMTP: $(grep "bounces+$tok" "$T/pf/maillog")"

# --- 3. the next campaign: all three suppressed, each for its reason --
send next vera@example.com fred@example.com rita@example.com sue@example.com <<'MSG' ||
From: Shop <news@shop.example>
Subject: Next
X-Campaign-ID: next
Message-ID: <next-1@shop.example>

{{offer}}
MSG
    fail "next refused"
settle
d() { q "SELECT decision FROM ledger WHERE campaign_id = 'next' AND recipient = '$1'"; }
[ "$(d vera@example.com)" = deliver ] || fail "vera: $(d vera@example.com)"
[ "$(d fred@example.com)" = bounced ] || fail "fred: $(d fred@example.com)"
[ "$(d rita@example.com)" = bounced ] || fail "rita: $(d rita@example.com)"
[ "$(d sue@example.com)" = unsubscribed ] || fail "sue: $(d sue@example.com)"
q "SELECT detail FROM audit WHERE campaign_id = 'next' AND recipient = \
    'rita@example.com'" | grep -q "1 soft bounces in 30 d" ||
    fail "rita's reason: $(q "SELECT detail FROM audit WHERE campaign_id = 'next' AND recipient = 'rita@example.com'")"
q "SELECT detail FROM audit WHERE campaign_id = 'next' AND recipient = \
    'sue@example.com'" | grep -q complaint ||
    fail "sue's reason: $(q "SELECT detail FROM audit WHERE campaign_id = 'next' AND recipient = 'sue@example.com'")"
[ "$(arrived | wc -l)" = 3 ] || fail "next: $(arrived | wc -l) messages at the sink"
"$BUILD/segctl" -c "$T/segmilter.conf" audit verify > /dev/null ||
    fail "audit chain"

# --- 4. the report: what came back, by segment and variant, as rates --
"$BUILD/segctl" -q -c "$T/segmilter.conf" report launch > "$T/report.out" ||
    fail "report"
grep -Eq "^first_time +default +1 +1 +0 +0 +100.00% +0.00% +0.00%$" \
    "$T/report.out" || fail "report, fred: $(cat "$T/report.out")"
grep -Eq "^vip +vip +1 +0 +0 +0 +0.00% +0.00% +0.00%$" \
    "$T/report.out" || fail "report, vera: $(cat "$T/report.out")"
grep -Eq "^all +4 +1 +1 +1 +25.00% +25.00% +25.00%$" "$T/report.out" ||
    fail "report, all: $(cat "$T/report.out")"
echo "t-bounce-mta: ok"
