#!/bin/sh
# t-unit.sh - the systemd units as systemd reads them: each sandbox's
# exposure (systemd-analyze security, offline: no running systemd
# needed) at or under 2.0 of 10, and no directive it does not know.
# Then the fleet's drop-in (contrib/fleet/store-network.conf) on each
# unit that needs it, in a root of its own: the unit may reach the
# network (TCP to the database host) and stays at or under 2.0.
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
R=$(mktemp -d /tmp/segm-t-unit.XXXXXX)
trap 'rm -rf "$R"' EXIT
for u in segfeed segments-rebuild segmilter-prune audit-archive; do
	mkdir -p "$R/etc/systemd/system/$u.service.d"
	cp "systemd/$u.service" "$R/etc/systemd/system/"
	cp contrib/fleet/store-network.conf "$R/etc/systemd/system/$u.service.d/"
	systemd-analyze security --offline=true --threshold=20 --root="$R" \
	    "$u.service" > "$R/out" 2>&1 ||
	    fail "$u with the fleet's drop-in: $(grep Overall "$R/out")"
	grep -q "Service has access to the host's network" "$R/out" &&
	    grep -q "may allocate Internet sockets" "$R/out" &&
	    grep -q "allow list with non-localhost entries" "$R/out" ||
	    fail "$u: the fleet's drop-in does not open the network:" \
	    "$(grep -E 'PrivateNetwork|AF_\(INET|IPAddressDeny' "$R/out")"
	echo "t-unit: $u with store-network.conf $(grep Overall "$R/out" |
	    sed 's/.*: \([0-9.]*\).*/exposure \1/')"
done
for U in systemd/segments-rebuild.timer systemd/segmilter-prune.timer \
    systemd/audit-archive.timer; do
	systemd-analyze verify "$U" 2>&1 | grep -i "unknown\|ignoring" &&
	    fail "systemd does not understand $U"
done
exit 0
