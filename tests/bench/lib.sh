# lib.sh - what the bench parts share; sourced, not run.

# CPU seconds (user + system, all threads) that process PID has used:
# a milter's own cost, steadier than wall time on a shared machine.
# 0 without a PID.
cpu_of() {
	[ -n "$1" ] || { echo 0; return; }
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
	    "/proc/$1/stat"
}

# Messages per run to RCPTS recipients each: one-recipient runs send
# MESSAGES_1, by default five times MESSAGES, so that they last about as
# long as the 50-recipient runs: four seconds were too short to tell 5%
# from the machine's noise (one such run's rounds spread from 13% slower
# to 35% faster).
msgs_for() {	# RCPTS
	if [ "$1" = 1 ]; then echo "$MESSAGES_1"; else echo "$MESSAGES"; fi
}

# N consenting customers, 1bench@example.com to Nbench@example.com, as
# DIR/customers.csv and DIR/consent.csv for segctl import.
bench_customers() {	# DIR N
	awk -v n="$2" 'BEGIN { print "email,first_name,country";
	    for (i = 1; i <= n; i++) printf "%dbench@example.com,Cust%d,US\n", i, i }' \
	    > "$1/customers.csv"
	awk -v n="$2" 'BEGIN { print "email,channel,status,source,recorded_at,evidence";
	    for (i = 1; i <= n; i++)
		printf "%dbench@example.com,email,granted,checkout,2025-01-01,box\n", i }' \
	    > "$1/consent.csv"
}

# The campaign message the benchmarks send: 20 KB, of CAMPAIGN (default
# bench), placeholders throughout.
bench_message() {	# FILE [CAMPAIGN]
	{
		printf 'From: news@shop.example\nSubject: {{offer}} this week\n'
		printf 'X-Campaign-ID: %s\nMIME-Version: 1.0\n' "${2:-bench}"
		printf 'Content-Type: text/plain; charset=utf-8\n\n'
		i=0
		while [ $i -lt 270 ]; do
			echo "Line $i of the campaign: {{offer}} on the spring collection."
			i=$((i + 1))
		done
	} > "$1"
}

# Store FROM copied to TO, without the WAL left from TO's last use.
db_fresh() {
	cp "$1" "$2"
	rm -f "$2-wal" "$2-shm"
}

# Awk functions for the programs that summarise the runs, over the
# numbers in the blank-separated string S: their median, and the least
# and greatest as "LO to HI" with printf format F (how far the rounds
# spread, to set beside a target).
AWK_MEDIAN='
function median(s,   a, n, i, j, x) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
	return a[int((n + 1) / 2)]
}
function spread(s, f,   a, n, i, lo, hi) {
	if ((n = split(s, a, " ")) == 0)
		return "none"
	lo = hi = a[1]
	for (i = 2; i <= n; i++) {
		if (a[i] < lo) lo = a[i]
		if (a[i] > hi) hi = a[i]
	}
	return sprintf(f " to " f, lo, hi)
}
'

# The whole pipeline's CPU (Postfix, the milters, smtp-source): a
# steadier figure than wall time on a shared machine.  cg_start puts
# this shell, and so everything it starts from then on, in a cpuacct
# cgroup of its own, where there is one; cg_cpu prints the CPU seconds
# used in it so far (0 without one); cg_stop, in the EXIT trap, takes
# the shell out again and removes the cgroup.
cg_start() {
	CG=/sys/fs/cgroup/cpuacct/segm-bench-$$
	if ! { mkdir "$CG" 2>/dev/null && echo $$ > "$CG/cgroup.procs" 2>/dev/null; }; then
		rmdir "$CG" 2>/dev/null || true
		CG=""
	fi
}
cg_cpu() {
	if [ -n "$CG" ]; then
		awk '{ print $1 / 1e9 }' "$CG/cpuacct.usage"
	else
		echo 0
	fi
}
cg_stop() {
	[ -n "$CG" ] || return 0
	echo $$ > "$(dirname "$CG")/cgroup.procs"
	# processes just killed take a moment to leave it
	for i in 1 2 3 4 5 6 7 8 9 10; do
		rmdir "$CG" 2>/dev/null && return 0
		sleep 0.2
	done
}
