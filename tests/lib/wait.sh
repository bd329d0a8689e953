# wait.sh - waiting for an event in a test, never for a time.
#
#   . tests/lib/wait.sh
#   wait_until COND WHY   until the shell condition COND (a string,
#                         evaluated each time) holds; else, after
#                         T_DEADLINE seconds (300), fail WHY (evaluated
#                         then, so it can say what the state was)
#
# The deadline is only how long a hang may last before it is called one,
# so it is generous: a busy two-core machine under ASan is slow, not
# stuck.  The caller defines fail().
wait_until() {
	wu_end=$(($(date +%s) + ${T_DEADLINE:-300}))
	until eval "$1"; do
		if [ "$(date +%s)" -ge "$wu_end" ]; then
			eval "wu_why=\"$2\""
			fail "$wu_why"
		fi
		sleep 0.1
	done
}
