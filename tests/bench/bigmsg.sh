#!/bin/sh
# bigmsg.sh - what one big campaign message costs segmilter in memory
# and the store.  Part of `make bench`.  In one private Postfix, with
# segmilter on the submission port and on the re-injection port: a
# message of BENCH_BIGMSG_MB MiB (a text part and a base64 attachment)
# to 10 customers in 10 variants, so split 10 ways: one part in place,
# 9 copies through the outbox.  The copies' variants are held
# (send_after) so that the milter's work and the outbox's are measured
# apart: segmilter's peak RSS (VmHWM) over the message, then, reset
# (clear_refs), over the sending of the copies once released; the
# store's growth (its pages in use) with the copies queued, then sent,
# and its file and WAL on disk.  The target: a peak under twice the
# message plus a constant.
set -eu
BUILD=${BUILD:-build}
SRC=$(pwd)
MB=${BENCH_BIGMSG_MB:-30}
ROUNDS=${BENCH_BIGMSG_ROUNDS:-3}
BASE=${BENCH_BIGMSG_PORT:-13825}
D=${BENCH_BIGMSG_DIR:-/tmp/segm-bench-bigmsg}

[ "$(id -u)" = 0 ] || { echo "bench bigmsg: needs root (Postfix)"; exit 0; }
rm -rf "$D"
mkdir -p "$D/campaigns"
chmod 755 "$D"
MPID=""
cleanup() {
	[ -n "$MPID" ] && { kill "$MPID"; wait "$MPID" 2>/dev/null || true; }
	"$SRC/tests/lib/postfix.sh" stop "$D/pf"
}
trap cleanup EXIT

COUNTRIES="US DE FR GB IT ES NL SE PL AT"
echo "$COUNTRIES" | awk '{ print "email,first_name,country";
    for (i = 1; i <= NF; i++) printf "b%d@example.com,Cust%d,%s\n", i, i, $i }' \
    > "$D/customers.csv"
echo "$COUNTRIES" | awk '{ print "email,channel,status,source,recorded_at,evidence";
    for (i = 1; i <= NF; i++)
	printf "b%d@example.com,email,granted,checkout,2025-01-01,box\n", i }' \
    > "$D/consent.csv"
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
# a campaign a round: the ledger would call a second delivery a duplicate
HELD=$(date -u -d "+1 day" +%Y-%m-%dT%H:%M:%SZ)
r=1
while [ $r -le "$ROUNDS" ]; do
	{
		echo "id = \"big$r\";"
		echo "variants = {"
		for c in us de fr gb it es nl se pl; do
			echo "  country_$c = { offer = \"offer for $c\"; send_after = \"$HELD\"; };"
		done
		echo "  default = { offer = \"offer for at\"; };"
		echo "};"
	} > "$D/campaigns/big$r.conf"
	r=$((r + 1))
done
S="$BUILD/segctl -q -c $D/segmilter.conf"
$S init
$S import customers "$D/customers.csv"
$S import consent "$D/consent.csv"
$S segments rebuild

# MB MiB in all: base64 lines of 76 characters carry 57 bytes
raw=$((MB * 1024 * 1024 * 57 / 78 - 512))
{
	printf 'From: news@shop.example\nSubject: {{offer}}\nX-Campaign-ID: big0\n'
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
	printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n\n'
	printf 'Hello, {{offer}}: the catalogue is attached.\n\n'
	printf -- '--b1\nContent-Type: application/pdf; name="catalogue.pdf"\n'
	printf 'Content-Disposition: attachment; filename="catalogue.pdf"\n'
	printf 'Content-Transfer-Encoding: base64\n\n'
	head -c "$raw" /dev/urandom | base64 -w 76
	printf -- '--b1--\n'
} > "$D/big.eml"
# as sent: CRLF line ends
size=$(($(wc -c < "$D/big.eml") + $(wc -l < "$D/big.eml")))

"$BUILD/segmilter" -f -c "$D/segmilter.conf" > "$D/segmilter.log" 2>&1 &
MPID=$!
sleep 1
"$SRC/tests/lib/postfix.sh" start "$D/pf" "$BASE" "$((BASE + 1))"
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 2)) "unix:$D/segmilter.sock"
"$SRC/tests/lib/postfix.sh" listen "$D/pf" $((BASE + 3)) "unix:$D/segmilter.sock"

hwm() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$MPID/status"; }
rss() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$MPID/status"; }
# what the store holds, MB: its pages in use, wherever they are (the
# file or the WAL); and the file and WAL on disk
store_mb() {
	sqlite3 "$D/store.db" "PRAGMA page_count; PRAGMA freelist_count; PRAGMA page_size" |
	    paste -sd' ' | awk '{ printf "%.1f", ($1 - $2) * $3 / 1048576 }'
}
disk_mb() {
	ls -l "$D/store.db" "$D/store.db-wal" 2>/dev/null |
	    awk '{ n += $5 } END { printf "%.0f", n / 1048576 }'
}
delivered() {
	find "$D/pf/sink" -type f -exec grep -h '^X-Rcpt-Args:' {} + 2>/dev/null | wc -l
}
outbox() {	# CAMPAIGN STATE
	sqlite3 "$D/store.db" "SELECT count(*) FROM outbox WHERE campaign_id = '$1' AND state = '$2'"
}

echo "== a big message: $(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MB split 10 ways, 1 in place and 9 copies ($(nproc) cores)"
printf '   %-6s %10s %12s %12s %14s %14s %10s\n' round "at rest" "milter peak" "outbox peak" "store queued" "store sent" "on disk"
r=1
while [ $r -le "$ROUNDS" ]; do
	rm -rf "$D/pf/sink"/*
	sed "s/^X-Campaign-ID: big0/X-Campaign-ID: big$r/" "$D/big.eml" > "$D/round.eml"
	s0=$(store_mb)
	h0=$(rss)
	echo 5 > "/proc/$MPID/clear_refs"
	swaks -n --server "127.0.0.1:$((BASE + 3))" --from news@shop.example \
	    --to "$(awk -F, 'NR > 1 { print $1 }' "$D/customers.csv" | paste -sd,)" \
	    --data "$D/round.eml" > "$D/swaks.out" 2>&1 ||
	    { tail -3 "$D/swaks.out"; exit 1; }
	[ "$(outbox "big$r" queued)" = 9 ] || { echo "bench bigmsg: not 9 copies queued"; exit 1; }
	h1=$(hwm)
	s1=$(store_mb)
	echo 5 > "/proc/$MPID/clear_refs"
	sqlite3 "$D/store.db" "UPDATE outbox SET next_at = 0 WHERE campaign_id = 'big$r'"
	while [ "$(outbox "big$r" sent)" -lt 9 ] || [ "$(delivered)" -lt 10 ]; do
		sleep 0.2
	done
	h2=$(hwm)
	s2=$(store_mb)
	printf '   %-6s %7s MB %9s MB %9s MB %11s MB %11s MB %7s MB\n' "$r" "$h0" "$h1" "$h2" \
	    "$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%+.1f", b - a }')" \
	    "$(awk -v a="$s0" -v b="$s2" 'BEGIN { printf "%+.1f", b - a }')" "$(disk_mb)"
	r=$((r + 1))
done
grep -E '^(Rss|Pss_Anon|Pss_File|Pss_Shmem):' "/proc/$MPID/smaps_rollup" | tr -s ' ' | paste -sd' ' | sed 's/^/   at the end: /'
