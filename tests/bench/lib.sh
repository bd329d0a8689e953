# lib.sh - what the bench parts share; sourced, not run.

# CPU seconds (user + system, all threads) that process PID has used:
# a milter's own cost, steadier than wall time on a shared machine.
# 0 without a PID.
cpu_of() {
	[ -n "$1" ] || { echo 0; return; }
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
	    "/proc/$1/stat"
}
