#!/bin/sh
# t-unit.sh - the systemd units as systemd reads them: each sandbox's
# exposure (systemd-analyze security, offline: no running systemd
# needed) at or under 2.0 of 10, and no directive it does not know.
set -u
command -v systemd-analyze >/dev/null 2>&1 ||
    { echo "t-unit: no systemd-analyze"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
for U in systemd/segmilter.service systemd/segfeed.service \
    systemd/segments-rebuild.service systemd/segmilter-prune.service \
    systemd/audit-archive.service; do
	systemd-analyze security --offline=true --threshold=20 "$U" > /tmp/t-unit.$$ 2>&1
	rc=$?
	level=$(grep "Overall exposure level" /tmp/t-unit.$$ | sed 's/.*: \([0-9.]*\).*/\1/')
	rm -f /tmp/t-unit.$$
	[ "$rc" = 0 ] || fail "$U: exposure ${level:-unknown} over 2.0"
	# a misspelt directive is only a warning for systemd: make it an error
	systemd-analyze verify "$U" 2>&1 | grep -i "unknown\|ignoring" &&
	    fail "systemd does not understand $U"
	echo "t-unit: $U exposure $level"
done
for U in systemd/segments-rebuild.timer systemd/segmilter-prune.timer \
    systemd/audit-archive.timer; do
	systemd-analyze verify "$U" 2>&1 | grep -i "unknown\|ignoring" &&
	    fail "systemd does not understand $U"
done
exit 0
