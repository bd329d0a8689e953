#!/bin/sh
# split.sh - the cost of tailoring one broadcast into copies.  Part of
# `make bench`.  In one private Postfix, with segmilter on the submission
# port and on the re-injection port (which passes copies untouched):
#   postfix alone    1000 one-recipient messages (smtp-source), no milter
#   8 variants       ONE message to 1000 customers in 8 segments: one part
#                    in place, 7 copies through the outbox
#   per recipient    ONE message whose template names its recipient
#                    ({{first_name}}): 1 in place, 999 copies
# Each figure is the time from the start of the submission until the sink
# holds every recipient's copy.  The target: 8 variants within 2x of
# Postfix alone.
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
N=${BENCH_SPLIT_RCPTS:-1000}
BASE=${BENCH_SPLIT_PORT:-13625}
D=${BENCH_SPLIT_DIR:-/tmp/segm-bench-split}

[ "$(id -u)" = 0 ] || { echo "bench split: needs root (Postfix)"; exit 0; }
rm -rf "$D"
mkdir -p "$D/campaigns"
chmod 755 "$D"
MPID=""
cleanup() {
	[ -n "$MPID" ] && { kill "$MPID"; wait "$MPID" 2>/dev/null || true; }
	"$SRC/tests/lib/postfix.sh" stop "$D/pf"
}
trap cleanup EXIT

awk -v n="$N" 'BEGIN { split("US DE FR GB IT ES NL SE", c, " ");
    print "email,first_name,country";
    for (i = 1; i <= n; i++) printf "s%d@example.com,Cust%d,%s\n", i, i, c[i % 8 + 1] }' \
    > "$D/customers.csv"
awk -v n="$N" 'BEGIN { print "email,channel,status,source,recorded_at,evidence";
    for (i = 1; i <= n; i++)
	printf "s%d@example.com,email,granted,checkout,2025-01-01,box\n", i }' \
    > "$D/consent.csv"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "s%d@example.com\n", i }' > "$D/rcpts"
printf '%s\n' 0123456789abcdef0123456789abcdef > "$D/copy.key"
chmod 600 "$D/copy.key"
cat > "$D/segmilter.conf" <<CONF
store = "$D/store.db";
milter = { socket = "unix:$D/segmilter.sock"; socket_mode = "0666";
  user = ""; campaigns = "$D/campaigns"; spool_dir = "$D"; };
policy = { cap_count = 0; };
outbox = { reinject_url = "smtp://127.0.0.1:$((BASE + 2))";
  key_file = "$D/copy.key"; workers = 4; };
CONF
for id in bench8 benchp; do
	{
		echo "id = \"$id\";"
		echo "variants = {"
		for c in us de fr gb it es nl; do
			echo "  country_$c = { offer = \"offer for $c\"; };"
		done
		echo "  default = { offer = \"offer for se\"; };"
		echo "};"
	} > "$D/campaigns/$id.conf"
done
S="$BUILD/segctl -q -c $D/segmilter.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild

# a 20 KB body either way
filler=$(awk 'BEGIN { for (i = 0; i < 270; i++) printf "Line %d of the campaign copy, the same for every segment.\n", i }')
msg() {	# CAMPAIGN GREETING
	printf 'From: news@shop.example\nSubject: {{offer}}\nX-Campaign-ID: %s\n' "$1"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'
	printf '%s {{offer}}\n%s\n' "$2" "$filler"
}
msg bench8 "Hello," > "$D/bench8.eml"
msg benchp 'Hello {{first_name}},' > "$D/benchp.eml"
{ printf 'From: news@shop.example\nSubject: plain\n\nHello,\n%s\n' "$filler"; } > "$D/plain.eml"

"$BUILD/segmilter" -f -c "$D/segmilter.conf" > "$D/segmilter.log" 2>&1 &
MPID=$!
sleep 1
"$SRC/tests/lib/postfix.sh" start "$D/pf" "$BASE" "$((BASE + 1))"
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 2)) "unix:$D/segmilter.sock"
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 3)) "unix:$D/segmilter.sock"

delivered() {
	find "$D/pf/sink" -type f -exec grep -h '^X-Rcpt-Args:' {} + 2>/dev/null | wc -l
}
# waits until the sink holds WANT more recipients than BEFORE; seconds
wait_sink() {
	want=$(($1 + $2))
	while [ "$(delivered)" -lt "$want" ]; do sleep 0.05; done
}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

echo "== splitting: one broadcast to $N customers ($(nproc) cores)"
before=$(delivered)
t0=$(date +%s.%N)
smtp-source -s 10 -m "$N" -N -F "$D/plain.eml" -f news@shop.example \
    -t alone@example.com "127.0.0.1:$BASE" > /dev/null
wait_sink "$before" "$N"
alone=$(elapsed "$t0")

for c in bench8 benchp; do
	before=$(delivered)
	t0=$(date +%s.%N)
	swaks -n --server "127.0.0.1:$((BASE + 3))" --from news@shop.example \
	    --to "$(paste -sd, "$D/rcpts")" --data "$D/$c.eml" > "$D/$c.swaks" 2>&1 ||
	    { tail -3 "$D/$c.swaks"; exit 1; }
	wait_sink "$before" "$N"
	eval "t_$c=\$(elapsed \"\$t0\")"
done
copies=$(sqlite3 "$D/store.db" "SELECT count(*) FROM outbox WHERE state = 'sent'")
printf '   %-34s %7s s\n' "postfix alone, $N messages" "$alone"
printf '   %-34s %7s s  %.2fx postfix alone\n' "8 variants, 1 message" "$t_bench8" \
    "$(awk -v a="$t_bench8" -v b="$alone" 'BEGIN { print a / b }')"
printf '   %-34s %7s s  %.2fx postfix alone\n' "per recipient, 1 message" "$t_benchp" \
    "$(awk -v a="$t_benchp" -v b="$alone" 'BEGIN { print a / b }')"
echo "   ($copies copies re-injected through the outbox)"
