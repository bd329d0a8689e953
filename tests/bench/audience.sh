#!/bin/sh
# audience.sh - make bench, part audience: what an audience expression
# costs the milter against plain names.  tests/bench/msgbench, the end
# of the message on a real store, no MTA: 50 recipients a message over
# CUSTOMERS, one campaign with plain names (include two segments,
# exclude one, a variant by name) and the same people said by
# expressions (include "(subscriber | vip) & !b2b", an exclude nobody
# meets, a variant by match); BENCH_ROUNDS rounds alternating them.
# Prints the CPU per message, median (rounds).
set -eu
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-5}
MESSAGES=${BENCH_AUDIENCE_MESSAGES:-200}
CUSTOMERS=${BENCH_AUDIENCE_CUSTOMERS:-10000}
D=${BENCH_AUDIENCE_DIR:-/tmp/segm-bench-audience}
. tests/bench/lib.sh

rm -rf "$D"
mkdir -p "$D/plain" "$D/expr"
chmod 700 "$D"
bench_customers "$D" "$CUSTOMERS"
bench_message "$D/message.eml"
for k in plain expr; do
	cat > "$D/$k.conf" <<CONF
store = "$D/store.db";
milter = { socket = "unix:$D/$k.sock"; user = "";
  campaigns = "$D/$k"; spool_dir = "$D"; };
CONF
done
cat > "$D/plain/bench.conf" <<'CAMPAIGN'
id = "bench";
audience = { include = [ "subscriber", "vip" ]; exclude = [ "b2b" ]; };
variants = { vip = { offer = "20% off"; }; default = { offer = "10% off"; }; };
CAMPAIGN
cat > "$D/expr/bench.conf" <<'CAMPAIGN'
id = "bench";
audience = { include = [ "(subscriber | vip) & !b2b" ];
  exclude = [ "lapsed & country_zz" ]; };
variants = { vip = { match = "vip & !b2b"; offer = "20% off"; };
  default = { offer = "10% off"; }; };
CAMPAIGN
S="$BUILD/segctl -q -c $D/plain.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild
cp "$D/store.db" "$D/pristine.db"

echo "== audience: $MESSAGES messages of 50 recipients over $CUSTOMERS customers, $ROUNDS rounds ($(nproc) cores)"
: > "$D/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for k in plain expr; do
		db_fresh "$D/pristine.db" "$D/store.db"
		sync
		"$BUILD/msgbench" "$D/$k.conf" "$D/message.eml" \
		    "$MESSAGES" 50 "$CUSTOMERS" 2>/dev/null |
		    sed -n 's/.*cpu \([0-9]*\) us\/message.*/\1/p' |
		    sed "s/^/$k /" >> "$D/results"
	done
	r=$((r + 1))
done
for k in plain expr; do
	awk -v k="$k" "$AWK_MEDIAN"'
	    $1 == k { s = s " " $2 }
	    END { printf "%-6s audience: %8.0f us cpu a message (%s)\n",
		k, median(s), spread(s, "%.0f") }' "$D/results"
done
rm -rf "$D"
