#!/bin/sh
# t-install.sh - make install and uninstall into a scratch DESTDIR: the
# systemd units name the programs and the configuration where this
# PREFIX and SYSCONFDIR put them, the configuration is not overwritten by
# a second install, and uninstall takes back everything but it.
set -u
BUILD=${BUILD:-build}
W=$(mktemp -d /tmp/segm-t-install.XXXXXX)
trap 'rm -rf "$W"' EXIT
T=$W/root
fail() { echo "FAIL: $*"; exit 1; }
command -v make >/dev/null || { echo "t-install: no make"; exit 77; }
# -o all: the programs are built already, in BUILD; nothing is rebuilt
M="make -s -o all BUILD=$BUILD DESTDIR=$T PREFIX=/opt/seg SYSCONFDIR=/opt/etc"

mkdir "$T"
$M install > "$W/install.out" 2>&1 || fail "install: $(cat "$W/install.out")"
U="$T/opt/seg/lib/systemd/system"
for f in opt/seg/sbin/segmilter opt/seg/sbin/segfeed opt/seg/bin/segctl \
    opt/seg/share/man/man8/segmilter.8 opt/seg/share/man/man1/segctl.1 \
    opt/etc/segmilter/segmilter.conf opt/etc/segmilter/unsubscribe.html \
    opt/seg/share/segmilter/examples/spring-launch.conf \
    opt/seg/lib/systemd/system/segments-rebuild.timer \
    opt/seg/lib/systemd/system/segmilter-prune.timer \
    opt/seg/lib/systemd/system/audit-archive.timer; do
	[ -e "$T/$f" ] || fail "not installed: $f"
done
grep -q '^ExecStart=/opt/seg/sbin/segmilter -f -c /opt/etc/segmilter/segmilter.conf$' "$U/segmilter.service" ||
    fail "segmilter.service: $(grep Exec "$U/segmilter.service")"
grep -q '^ExecStart=/opt/seg/sbin/segfeed -f -c /opt/etc/segmilter/segmilter.conf$' "$U/segfeed.service" ||
    fail "segfeed.service: $(grep Exec "$U/segfeed.service")"
grep -q '^ExecStart=/opt/seg/bin/segctl -q -c /opt/etc/segmilter/segmilter.conf segments rebuild$' \
    "$U/segments-rebuild.service" || fail "segments-rebuild.service"
grep -q '^ExecStart=/opt/seg/bin/segctl -q -c /opt/etc/segmilter/segmilter.conf prune$' \
    "$U/segmilter-prune.service" || fail "segmilter-prune.service"
grep -q '^ExecStart=/opt/seg/bin/segctl -q -c /opt/etc/segmilter/segmilter.conf audit archive$' \
    "$U/audit-archive.service" || fail "audit-archive.service"
# nothing left pointing where the programs are not
grep -n '[ =]/usr/s\?bin/seg\|[ =]/etc/segmilter' "$U"/* && fail "a unit names another place"

# the operator's edits survive a second install, and uninstall
echo "# edited" >> "$T/opt/etc/segmilter/segmilter.conf"
$M install > "$W/install.out" 2>&1 || fail "install again: $(cat "$W/install.out")"
grep -q '^# edited$' "$T/opt/etc/segmilter/segmilter.conf" || fail "the configuration was overwritten"
$M uninstall > "$W/uninstall.out" 2>&1 || fail "uninstall: $(cat "$W/uninstall.out")"
left=$(cd "$T" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./opt/etc/segmilter/segmilter.conf ./opt/etc/segmilter/unsubscribe.html " ] ||
    fail "uninstall left: $left"
echo "t-install: ok"
