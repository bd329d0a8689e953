#!/bin/sh
# t-fault.sh - exactly once through crashes: a sending tool (which tries
# again on 4xx, same Message-ID) sends a campaign to 600 customers in
# four locale variants, 6 per message, while segmilter is killed with
# SIGKILL at random moments and restarted, and the re-injection port is
# closed for a while.  The re-injection smtpd runs segmilter too, which
# passes copies untouched and notes each one: a restart then knows which
# copies were already through when it died.  Once the outbox has drained,
# every consented recipient must be at the sink exactly once (but for a
# copy killed in the one window segmilter(8) names, told apart below),
# nobody else at all, and the audit chain must verify.  Prints the
# counts.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-fault: needs root"; exit 77; }
db=sqlite3
[ "${T_STORE_ENGINE:-sqlite}" = pgsql ] && db=psql
for p in postfix smtp-sink $db python3; do
	command -v $p >/dev/null 2>&1 || { echo "t-fault: no $p"; exit 77; }
done
. tests/lib/harness.sh
harness_init t-fault
PORT=${T_FAULT_PORT:-12825}
SINK=$((PORT + 1))
REINJECT=$((PORT + 2))
N=${T_FAULT_CUSTOMERS:-600}
. "$SRC/tests/lib/fixture.sh"	# q

# --- N customers in four countries; every tenth without consent -------
awk -v n="$N" 'BEGIN { split("US DE FR GB", c, " "); print "email,first_name,country";
    for (i = 1; i <= n; i++) printf "c%d@example.com,C%d,%s\n", i, i, c[i % 4 + 1] }' \
    > "$T/customers.csv"
awk -v n="$N" 'BEGIN { print "email,channel,status,source,recorded_at,evidence";
    for (i = 1; i <= n; i++) if (i % 10 != 0)
	printf "c%d@example.com,email,granted,checkout,2025-01-01,box\n", i }' \
    > "$T/consent.csv"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "c%d@example.com\n", i }' > "$T/rcpts"
printf '%s\n' 0123456789abcdef0123456789abcdef > "$T/copy.key"
chmod 600 "$T/copy.key"
mkdir -p "$T/campaigns"
cat > "$T/segmilter.conf" <<CONF
store = "${STORE:-$T/store.db}";
milter = { socket = "unix:$T/segmilter.sock"; socket_mode = "0666";
  user = ""; campaigns = "$T/campaigns"; spool_dir = "$T"; };
policy = { cap_count = 0; };
outbox = { reinject_url = "smtp://127.0.0.1:$REINJECT";
  key_file = "$T/copy.key"; retry_base_s = 1; retry_max_s = 2; };
CONF
cat > "$T/campaigns/fault.conf" <<'CONF'
id = "fault";
variants = {
  country_us = { offer = "US offer"; };
  country_de = { offer = "DE Angebot"; };
  country_fr = { offer = "FR offre"; };
  default = { offer = "GB offer"; };
};
CONF
S="$BUILD/segctl -q -c $T/segmilter.conf"
$S init && $S import customers "$T/customers.csv" &&
    $S import consent "$T/consent.csv" && $S segments rebuild || fail "store"

reinject() {	# on | off
	sed -i "/^127.0.0.1:$REINJECT /d" "$T/pf/etc/master.cf"
	if [ "$1" = on ]; then
		"$SRC/tests/lib/postfix.sh" reinject "$T/pf" "$REINJECT" \
		    "unix:$T/segmilter.sock" || fail "listen"
	else
		postfix -c "$T/pf/etc" reload > /dev/null 2>&1
	fi
}
milter_start
"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:$T/segmilter.sock" ||
    fail "postfix start"
reinject on

# --- the load, and the faults -----------------------------------------
python3 "$SRC/tests/lib/sender.py" "127.0.0.1:$PORT" fault "$T/rcpts" 6 4 \
    > "$T/sender.out" 2>&1 &
SPID=$!
kills=0
# the faults' schedule: when each falls does not decide the outcome
# (every recipient exactly once, whenever the kill), so these sleeps
# are the load's pacing, not waits for an event
for k in 1 2 3 4 5; do
	sleep "0.$(awk -v s="$k$$" 'BEGIN { srand(s); printf "%d", 2 + rand() * 7 }')"
	kill -9 "$MPID" 2>/dev/null && kills=$((kills + 1)) &&
	    date +%s >> "$T/kills"
	wait "$MPID" 2>/dev/null
	sleep 0.3
	# the port stops while no session is open on it: a reload that
	# cuts one off between Postfix queueing a copy and answering makes
	# the worker send it again (RFC 1047), and cutting it off after
	# segmilter's answer but before the queueing, with segmilter dying
	# before its worker records the failure, loses it (segmilter(8),
	# "Exactly once"); both are the SMTP's, not what this test is about
	[ "$k" = 2 ] && reinject off
	milter_start
	[ "$k" = 4 ] && reinject on
done
wait "$SPID" || fail "sender: $(cat "$T/sender.out")"

# --- drain, then count --------------------------------------------------
drained() {
	[ "$(q "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")" = 0 ]
}
wait_until drained 'outbox did not drain: $(q "SELECT state, count(*) FROM outbox GROUP BY 1")'
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
find "$T/pf/sink" -type f -exec grep -h '^X-Rcpt-Args:' {} + |
    sed 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/' | sort | uniq -c > "$T/counts"
consented=$(awk -v n="$N" 'BEGIN { print n - int(n / 10) }')
once=$(awk '$1 == 1' "$T/counts" | wc -l)
dup=$(awk '$1 > 1' "$T/counts" | wc -l)
delivered_suppressed=$(awk '{ sub(/^c/, "", $2); sub(/@.*/, "", $2); if ($2 % 10 == 0) n++ } END { print n + 0 }' "$T/counts")
lost=$((consented - once - dup))
copies=$(q "SELECT count(*) FROM outbox WHERE state = 'sent'")
echo "t-fault: $kills SIGKILLs, re-injection port closed for a while;" \
    "$(cat "$T/sender.out" | sed 's/^sender: //')"
echo "t-fault: $consented consented: $once exactly once, $lost lost, $dup duplicated;" \
    "$delivered_suppressed of $((N - consented)) without consent delivered;" \
    "$copies copies re-injected"
# what the store says about a recipient, for the post-mortem of a failure
explain() {	# WHAT ADDRESS
	echo "$1 $2: ledger $(q "SELECT route || ' ' || decision || ' ' || message_key || ' ' || queue_id FROM ledger WHERE recipient = '$2'")"
	q "SELECT 'job ' || id || ' ' || state || ' attempts ' || attempts || ' nonce ' || nonce || ' seen ' || coalesce((SELECT queue_id FROM copy_seen s WHERE s.nonce = o.nonce), '-') FROM outbox o WHERE kind = 'email' AND instr(recipients, '$2') > 0"
	grep -rl "^X-Rcpt-Args: <$2>" "$T/pf/sink" | xargs -r grep -h -A1 '^Received: from vm' |
	    sed -n 's/.* with ESMTP id \([0-9A-F]*\).*/  at the sink from Postfix queue id \1/p'
}
if [ "$dup" != 0 ]; then
	awk '$1 > 1 { print $2 }' "$T/counts" | head -5 | while read -r a; do
		explain duplicated "$a"
	done
	fail "$dup recipients duplicated"
fi
# A copy noted as passed at the re-injection port but killed before
# libmilter's answer is lost, and taken for sent at the restart: the
# window segmilter(8) names ("Exactly once"), which no milter can close
# (it cannot know that the MTA queued the copy).  Such a loss is told
# apart by its note, made within a second before a SIGKILL; any other
# loss fails.
in_window() {	# ADDRESS
	at=$(q "SELECT max(s.at) FROM outbox o JOIN copy_seen s ON s.nonce = o.nonce WHERE o.kind = 'email' AND o.state = 'sent' AND instr(o.recipients, '$1') > 0")
	[ -n "$at" ] || return 1
	while read -r k; do
		[ $((k - at)) -ge 0 ] && [ $((k - at)) -le 1 ] && return 0
	done < "$T/kills"
	return 1
}
if [ "$lost" != 0 ]; then
	awk '{ print $2 }' "$T/counts" | sort > "$T/arrived"
	tail -n +2 "$T/consent.csv" | cut -d, -f1 | sort |
	    comm -23 - "$T/arrived" > "$T/lost"
	: > "$T/unexplained"
	while read -r a; do
		if in_window "$a"; then
			echo "t-fault: $a: its copy was noted a moment before a" \
			    "SIGKILL, the window segmilter(8) names"
		else
			explain lost "$a"
			echo "$a" >> "$T/unexplained"
		fi
	done < "$T/lost"
	[ -s "$T/unexplained" ] &&
	    fail "$(wc -l < "$T/unexplained") recipients lost"
fi
[ "$delivered_suppressed" = 0 ] || fail "recipients without consent were delivered"
$S audit verify > "$T/verify.out" || fail "audit verify: $(cat "$T/verify.out")"
echo "t-fault: ok"
