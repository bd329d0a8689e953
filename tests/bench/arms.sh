#!/bin/sh
# arms.sh - make bench, part arms: what a campaign's arms (tailored 80%,
# broad 10%, none 10%, and a 2% global control group) cost segmilter per
# message, against the same campaign without them: tests/bench/msgbench,
# the end-of-message work on a real store, no MTA, BENCH_ROUNDS rounds
# alternating them, 50 recipients a message spread over the store.
# Twice: a campaign with its default variant alone (the draws and their
# records: what arms cost), and one whose recipients have a variant of
# their own, which the broad arm then adds the default to (a second
# rendering, as any campaign of two variants).
set -eu
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-5}
MESSAGES=${BENCH_ARMS_MESSAGES:-400}
CUSTOMERS=$((MESSAGES * 50))
D=${BENCH_ARMS_DIR:-/tmp/segm-bench-arms}
. tests/bench/lib.sh

rm -rf "$D"
mkdir -p "$D"
chmod 700 "$D"
bench_customers "$D" "$CUSTOMERS"
openssl rand -hex 32 > "$D/key"
chmod 600 "$D/key"
for v in plain arms plain2 arms2; do
	mkdir -p "$D/$v/campaigns"
	cat > "$D/$v/segmilter.conf" <<CONF
store = "$D/$v/store.db";
milter = { socket = "unix:$D/$v/segmilter.sock"; user = "";
  campaigns = "$D/$v/campaigns"; spool_dir = "$D/$v"; };
outbox = { key_file = "$D/key"; };
CONF
	{
		echo 'id = "bench";'
		case $v in arms*) echo 'arms = { tailored = 80; broad = 10; none = 10; };' ;; esac
		case $v in *2) echo 'variants = { subscriber = { offer = "15% off"; };' ;;
		*) echo 'variants = {' ;; esac
		echo '  default = { offer = "10% off"; }; };'
	} > "$D/$v/campaigns/bench.conf"
	case $v in arms*) echo 'policy = { global_holdout_percent = 2; };' >> "$D/$v/segmilter.conf" ;; esac
	S="$BUILD/segctl -q -c $D/$v/segmilter.conf"
	$S init
	$S import customers "$D/customers.csv"
	$S import consent "$D/consent.csv"
	$S segments rebuild
	cp "$D/$v/store.db" "$D/$v/pristine.db"
done
bench_message "$D/message.eml"

echo "== arms: $MESSAGES messages of 50 recipients over $CUSTOMERS customers, $ROUNDS rounds ($(nproc) cores)"
: > "$D/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for v in plain arms plain2 arms2; do
		db_fresh "$D/$v/pristine.db" "$D/$v/store.db"
		sync
		"$BUILD/msgbench" "$D/$v/segmilter.conf" "$D/message.eml" \
		    "$MESSAGES" 50 "$CUSTOMERS" 2>/dev/null |
		    sed -n 's/.*cpu \([0-9]*\) us\/message.*/\1/p' |
		    sed "s/^/$v /" >> "$D/results"
	done
	r=$((r + 1))
done
awk '{ v[$1] = v[$1] " " $2 }
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function line(what, p, a) {
	printf "%s: without arms %d us (%s), with arms %d us (%s): %+.1f%%\n",
	    what, median(v[p]), substr(v[p], 2), median(v[a]),
	    substr(v[a], 2), 100 * (median(v[a]) / median(v[p]) - 1)
}
END {
	print "segmilter CPU per message, medians (rounds):"
	line("  the default variant alone", "plain", "arms")
	line("  a variant of their own", "plain2", "arms2")
}' "$D/results"
held=$(sqlite3 "$D/arms/store.db" "SELECT count(*) FROM ledger WHERE decision = 'held_out'")
echo "(last run with arms: $held of $(sqlite3 "$D/arms/store.db" "SELECT count(*) FROM ledger") recipients held out)"
rm -rf "$D"
