# lib.sh - what the bench parts share; sourced, not run.

# CPU seconds (user + system, all threads) that process PID has used:
# a milter's own cost, steadier than wall time on a shared machine.
# 0 without a PID.
cpu_of() {
	[ -n "$1" ] || { echo 0; return; }
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
	    "/proc/$1/stat"
}

# An awk function for the programs that summarise the runs: the median
# of the numbers in the blank-separated string S.
AWK_MEDIAN='
function median(s,   a, n, i, j, x) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
	return a[int((n + 1) / 2)]
}
'
