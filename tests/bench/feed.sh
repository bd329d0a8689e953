#!/bin/sh
# feed.sh - segfeed under load, and what that load costs segmilter.
# Part of `make bench`; prints figures, never passes or fails.
#
# A store of BENCH_FEED_CUSTOMERS consenting customers, segments built.
# Requests are made by one curl process, BENCH_FEED_PARALLEL at a time
# over loopback, each timed by curl (time_total):
# 1. one-click unsubscribes (RFC 8058 POSTs, each a different customer's
#    signed token), then Shopify orders/create webhooks (each signed, a
#    new order for a different customer: an order, its line, the
#    customer's segments refreshed, in one transaction), the listener
#    alone;
# 2. order webhooks again (new ids), BENCH_FEED_RATE a second (a busy
#    shop's flow, not the listener's ceiling: on 2 cores, a listener
#    driven flat out takes the CPU the MTA and segmilter need), as long
#    as smtp-source sends campaign messages through a private Postfix
#    and segmilter on the same store; and segmilter's throughput, the
#    same messages, with and without those webhooks.  Goals: at least
#    1,000 webhooks/s with p99 under 50 ms (1), and segmilter within 10%
#    of its figure alone (2).
#
#   BENCH_FEED=3000 requests per run, BENCH_FEED_CUSTOMERS=20000,
#   BENCH_FEED_PARALLEL=8, BENCH_FEED_RATE=50, BENCH_MESSAGES=2000 (to 1
#   recipient each),
#   BENCH_SESSIONS=10, BENCH_ROUNDS=3
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
N=${BENCH_FEED:-3000}
CUSTOMERS=${BENCH_FEED_CUSTOMERS:-20000}
PAR=${BENCH_FEED_PARALLEL:-8}
RATE=${BENCH_FEED_RATE:-50}
MESSAGES=${BENCH_MESSAGES:-2000}
SESSIONS=${BENCH_SESSIONS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
BASE=${BENCH_PORT:-13725}
# the webhooks' customers from the top half, the campaigns' from 1 up
[ "$CUSTOMERS" -ge $((2 * N)) ] || CUSTOMERS=$((2 * N))
[ "$CUSTOMERS" -ge $((2 * MESSAGES)) ] || CUSTOMERS=$((2 * MESSAGES))
D=${BENCH_FEED_DIR:-/tmp/segm-bench-feed}
. "$SRC/tests/bench/lib.sh"

[ "$(id -u)" = 0 ] || { echo "bench feed: needs root (Postfix)"; exit 0; }
rm -rf "$D"
mkdir -p "$D/campaigns"
chmod 755 "$D"
FPID="" SPID=""
cleanup() {
	for p in $FPID $SPID; do kill "$p" 2>/dev/null; done
	for p in $FPID $SPID; do wait "$p" 2>/dev/null || true; done
	"$SRC/tests/lib/postfix.sh" stop "$D/pf"
}
trap cleanup EXIT

(umask 077; openssl rand -hex 32 > "$D/key"
 printf 'shopify_secret = "%s";\n' "$(openssl rand -hex 16)" > "$D/feed.cred")
cat > "$D/segmilter.conf" <<CONF
store = "$D/store.db";
milter = { socket = "unix:$D/segmilter.sock"; socket_mode = "0666";
  user = ""; campaigns = "$D/campaigns"; spool_dir = "$D";
  unsubscribe_url = "http://127.0.0.1:$((BASE + 20))/u/"; };
outbox = { key_file = "$D/key"; };
feedback = { listen = "127.0.0.1:$((BASE + 20))";
  page_template = "$SRC/conf/unsubscribe.html";
  credentials_file = "$D/feed.cred"; threads = 4; };
# a campaign per run to the same customers: no caps between them
policy = { cap_count = 0; fatigue_unanswered = 0; };
CONF
bench_customers "$D" "$CUSTOMERS"
k=0
while [ $k -lt $((2 * ROUNDS)) ]; do
	printf 'id = "bench%d";\nvariants = { default = { offer = "10%% off"; }; };\n' \
	    $k > "$D/campaigns/bench$k.conf"
	bench_message "$D/message$k.eml" "bench$k"
	k=$((k + 1))
done
S="$BUILD/segctl -q -c $D/segmilter.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild

# curl configs: a transfer each, with its own body and signature
gen() {	# KIND FIRST OUT COUNT: requests, customers and order ids from FIRST
	python3 - "$1" "$2" "$3" "$4" "$CUSTOMERS" "$D" "$BASE" <<'PY'
import base64, hashlib, hmac, json, os, sys, time
kind, first, out, n, customers, d, base = sys.argv[1:8]
first, n, customers = int(first), int(n), int(customers)
key = open(os.path.join(d, "key"), "rb").read().rstrip(b"\r\n")
secret = open(os.path.join(d, "feed.cred")).read().split('"')[1].encode()
url = "http://127.0.0.1:%d" % (int(base) + 20)
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
os.makedirs(os.path.join(d, "bodies"), exist_ok=True)
with open(out, "w") as cfg:
    for i in range(n):
        c = customers - (first + i) % (customers // 2)
        email = "%dbench@example.com" % c
        if kind == "unsub":
            data = ("v1|bench|%s|%d" % (email, time.time())).encode()
            tok = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
            mac = hmac.new(key, data, hashlib.sha256).hexdigest()
            cfg.write('url = "%s/u/%s.%s"\ndata = "List-Unsubscribe=One-Click"\n'
                      % (url, tok, mac))
        else:
            body = json.dumps({"id": 500000 + first + i, "name": "#B%d" % (first + i),
                               "email": email, "created_at": now,
                               "financial_status": "paid", "currency": "USD",
                               "total_price": "42.00",
                               "line_items": [{"id": first + i, "sku": "COF-1",
                                               "title": "Coffee", "quantity": 1,
                                               "price": "42.00"}]})
            path = os.path.join(d, "bodies", "%s-%d.json" % (kind, i))
            open(path, "w").write(body)
            sig = base64.b64encode(hmac.new(secret, body.encode(),
                                            hashlib.sha256).digest()).decode()
            cfg.write('url = "%s/shopify/webhook"\ndata-binary = "@%s"\n'
                      'header = "Content-Type: application/json"\n'
                      'header = "X-Shopify-Topic: orders/create"\n'
                      'header = "X-Shopify-Webhook-Id: bench-%s-%d"\n'
                      'header = "X-Shopify-Hmac-Sha256: %s"\n'
                      % (url, path, kind, first + i, sig))
        cfg.write('output = "/dev/null"\nwrite-out = "%{http_code} %{time_total}\\n"\n')
        if i < n - 1:
            cfg.write("next\n")
PY
}

# "rate p50 p99 errors" of the requests timed in FILE over SECONDS
stats() {	# FILE SECONDS
	grep -E '^[0-9]{3} ' "$1" | sort -k2 -n | awk -v t="$2" '
	    { s[NR] = $2; if ($1 !~ /^2/) bad++ }
	    END { printf "%.0f %.1f %.1f %d\n", NR / t, s[int(NR * 0.5 + 0.5)] * 1000,
		s[int(NR * 0.99 + 0.5)] * 1000, bad }'
}
# drive CONFIG to its end: its stats
drive() {	# CONFIG
	t0=$(date +%s.%N)
	curl -s -Z --parallel-max "$PAR" -K "$1" > "$D/times" 2>&1 || true
	t1=$(date +%s.%N)
	stats "$D/times" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}
say() {	# WHAT "rate p50 p99 errors"
	set -- "$1" $2
	printf '   %-34s %6s req/s  p50 %5s ms  p99 %6s ms  %s not 2xx\n' "$1" "$2" "$3" "$4" "$5"
}

"$BUILD/segfeed" -f -c "$D/segmilter.conf" > "$D/segfeed.log" 2>&1 &
FPID=$!
"$SRC/tests/lib/postfix.sh" port "$D" $((BASE + 20))

echo "== feed: segfeed, $N requests per run, $PAR at a time, $CUSTOMERS customers ($(nproc) cores)"
gen unsub 0 "$D/unsub.cfg" "$N"
gen orders 0 "$D/orders.cfg" "$N"
say "one-click unsubscribes" "$(drive "$D/unsub.cfg")"
say "orders/create webhooks" "$(drive "$D/orders.cfg")"

# --- 2. beside segmilter, on the same store ----------------------------
SINK_DUMP=0 "$SRC/tests/lib/postfix.sh" start "$D/pf" "$BASE" "$((BASE + 1))" \
    "unix:$D/segmilter.sock"
"$BUILD/segmilter" -f -c "$D/segmilter.conf" > "$D/segmilter.log" 2>&1 &
SPID=$!
i=0
until grep -q listening "$D/segmilter.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$D/segmilter.log"; exit 1; }
	sleep 0.1
done
mail() {	# K: campaign bench<K>, MESSAGES messages to 1bench@... and on
	t0=$(date +%s.%N)
	smtp-source -N -s "$SESSIONS" -m "$MESSAGES" -r 1 -F "$D/message$1.eml" \
	    -f news@shop.example -t bench@example.com "127.0.0.1:$BASE" \
	    > "$D/source.log" 2>&1 || { echo "smtp-source failed:"; cat "$D/source.log"; exit 1; }
	"$SRC/tests/lib/postfix.sh" wait "$D/pf" 600
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v m="$MESSAGES" 'BEGIN { printf "%.1f", m / (b - a) }'
}
echo "-- $RATE order webhooks a second while segmilter takes $MESSAGES campaign messages (1 recipient each) on the same store, $ROUNDS rounds"
alone="" beside="" r=0
while [ $r -lt "$ROUNDS" ]; do
	# each run a campaign of its own to customers the webhooks never
	# unsubscribed: nobody is a duplicate or suppressed
	alone="$alone $(mail $((2 * r)))"
	# more than the messages' time can take: stopped when they are done
	gen "orders-$r" $(( (r + 1) * 100000 )) "$D/orders-$r.cfg" $((N * 10))
	t0=$(date +%s.%N)
	stdbuf -oL curl -s --rate "$RATE/s" -K "$D/orders-$r.cfg" \
	    > "$D/feed-$r" 2>&1 &
	cpid=$!
	beside="$beside $(mail $((2 * r + 1)))"
	t1=$(date +%s.%N)
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	say "orders/create, round $((r + 1))" "$(stats "$D/feed-$r" \
	    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
	r=$((r + 1))
done
awk -v a="$alone" -v b="$beside" "$AWK_MEDIAN"'BEGIN {
	printf "   segmilter alone:          median %.1f msg/s (rounds %s)\n", median(a), spread(a, "%.1f")
	printf "   segmilter beside segfeed: median %.1f msg/s (rounds %s), %.2fx\n",
	    median(b), spread(b, "%.1f"), median(b) / median(a) }'
