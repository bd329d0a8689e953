#!/bin/sh
# t-deb.sh - the Debian package, built, checked, installed and run: a copy
# of the tree is built with dpkg-buildpackage, lintian judges the .deb
# (errors fail; the warnings are printed), dpkg installs it (the user,
# the store made as that user, conffiles, the units, the docs), the
# daemon is started as its unit starts it, a private Postfix on loopback
# sends a campaign through it (one customer consented, one did not),
# and the purge takes it all back.
#
# Needs root, dpkg-buildpackage, lintian, postfix, swaks, sqlite3; skipped
# (77) without them, in the sanitizer pass (the package is the same), and
# where a segmilter set-up from outside the package is in /etc.
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "t-deb: needs root"; exit 77; }
for p in dpkg-buildpackage lintian postfix smtp-sink swaks sqlite3 runuser; do
	command -v $p >/dev/null 2>&1 || { echo "t-deb: no $p"; exit 77; }
done
case $BUILD in *asan*) echo "t-deb: once, in the first pass"; exit 77 ;; esac
if [ -e /etc/segmilter ] && ! dpkg -s segmilter >/dev/null 2>&1; then
	echo "t-deb: /etc/segmilter is not the package's: not touched"
	exit 77
fi
. tests/lib/harness.sh
harness_init t-deb
PORT=${T_DEB_PORT:-13465}
SINK=$((PORT + 1))
DPID=""
cleanup_deb() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -f /etc/segmilter/campaigns/deb.conf
	dpkg --purge segmilter > /dev/null 2>&1
	rm -rf /run/segmilter
	harness_cleanup
}
trap cleanup_deb EXIT
dpkg --purge segmilter > /dev/null 2>&1

# --- build, in a copy: debian/rules clean must not touch this tree ----
mkdir "$T/src"
tar --exclude='./build*' --exclude=./demo --exclude=./.git -cf - . |
    (cd "$T/src" && tar xf -)
(cd "$T/src" && dpkg-buildpackage -us -uc -b) > "$T/build.log" 2>&1 ||
    fail "dpkg-buildpackage: $(tail -20 "$T/build.log")"
DEB=$(ls "$T"/segmilter_*.deb)
[ -f "$DEB" ] || fail "no .deb: $(ls "$T")"
lintian --fail-on error "$DEB" > "$T/lintian.out" 2>&1 ||
    fail "lintian: $(cat "$T/lintian.out")"
[ -s "$T/lintian.out" ] && { echo "t-deb: lintian says:"; sed 's/^/  /' "$T/lintian.out"; }

# --- install ----------------------------------------------------------
dpkg -i "$DEB" > "$T/install.out" 2>&1 || fail "dpkg -i: $(cat "$T/install.out")"
getent passwd segmilter > /dev/null || fail "no segmilter user"
[ "$(stat -c '%U %a' /var/lib/segmilter)" = "segmilter 700" ] ||
    fail "/var/lib/segmilter: $(stat -c '%U %a' /var/lib/segmilter)"
[ "$(stat -c '%U' /var/lib/segmilter/store.db)" = segmilter ] ||
    fail "the store is not segmilter's: $(ls -l /var/lib/segmilter)"
dpkg-query -W -f='${Conffiles}\n' segmilter | grep -q ' /etc/segmilter/segmilter.conf ' ||
    fail "segmilter.conf is no conffile"
grep -q '^ExecStart=/usr/sbin/segmilter -f -c /etc/segmilter/segmilter.conf$' \
    /lib/systemd/system/segmilter.service || fail "the unit"
grep -q '^ExecStart=/usr/bin/segctl -q -c /etc/segmilter/segmilter.conf audit archive$' \
    /lib/systemd/system/audit-archive.service || fail "the audit archive unit"
[ -f /lib/systemd/system/audit-archive.timer ] || fail "the audit archive timer"
[ -f /usr/share/doc/segmilter/postfix/master.cf ] || fail "contrib docs: $(ls /usr/share/doc/segmilter)"
[ -f /usr/share/man/man8/segmilter.8.gz ] || fail "man pages"
[ -f /usr/lib/tmpfiles.d/segmilter.conf ] || fail "tmpfiles.d"

# --- a campaign, the shop's data, imported as the service user ---------
C=/etc/segmilter/segmilter.conf
cat > /etc/segmilter/campaigns/deb.conf <<'CONF'
id = "deb";
variants = { default = { offer = "10% off"; }; };
CONF
printf 'email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n' > "$T/customers.csv"
printf 'email,channel,status,source,recorded_at,evidence\nann@example.com,email,granted,checkout,2026-01-01,box\n' > "$T/consent.csv"
chmod 644 "$T/customers.csv" "$T/consent.csv"
for k in customers consent; do
	runuser -u segmilter -- segctl -q -c $C import $k "$T/$k.csv" > "$T/import.out" 2>&1 ||
	    fail "import $k: $(cat "$T/import.out")"
done
runuser -u segmilter -- segctl -q -c $C segments rebuild || fail "rebuild"

# --- started as the unit starts it ------------------------------------
U=/lib/systemd/system/segmilter.service
sed -n 's/^ExecStartPre=+//p' $U | while read -r cmd; do
	$cmd || exit 1
done || fail "ExecStartPre (root)"
sed -n 's/^ExecStartPre=\([^+]\)/\1/p' $U | while read -r cmd; do
	runuser -u segmilter -- $cmd > "$T/check.out" 2>&1 || { cat "$T/check.out"; exit 1; }
done || fail "ExecStartPre"
runuser -u segmilter -- $(sed -n 's/^ExecStart=//p' $U) > "$T/milter.log" 2>&1 &
DPID=$!
wait_until '[ -S /run/segmilter/segmilter.sock ]' \
    'segmilter did not start: $(cat "$T/milter.log")'
[ "$(stat -c '%U %G' /run/segmilter/segmilter.sock)" = "segmilter postfix" ] ||
    fail "socket: $(stat -c '%U %G %a' /run/segmilter/segmilter.sock)"

"$SRC/tests/lib/postfix.sh" start "$T/pf" "$PORT" "$SINK" "unix:/run/segmilter/segmilter.sock" ||
    fail "postfix start"
send deb ann@example.com bob@example.com <<'MSG' || fail "refused: $(tail -3 "$T/deb.swaks")"
From: Shop <news@shop.example>
Subject: {{offer}} for {{first_name|default:"you"}}
X-Campaign-ID: deb
Message-ID: <deb-1@shop.example>

{{offer}}
MSG
"$SRC/tests/lib/postfix.sh" wait "$T/pf" || fail "queue did not drain"
M=$(arrived)
[ "$(echo "$M" | wc -l)" = 1 ] || fail "$(echo "$M" | wc -l) messages at the sink"
grep -q '^X-Rcpt-Args: <ann@example.com>' $M || fail "not to ann"
grep -q '^X-Rcpt-Args: <bob@example.com>' $M && fail "bob, who never consented, got it"
grep -q '^Subject: 10% off for Ann$' $M || fail "not tailored: $(grep ^Subject $M)"
[ "$(sqlite3 /var/lib/segmilter/store.db "SELECT group_concat(recipient || '=' || decision, ' ') FROM (SELECT * FROM ledger ORDER BY recipient)")" = \
    "ann@example.com=deliver bob@example.com=no_consent" ] || fail "ledger"
runuser -u segmilter -- segctl -c $C audit verify > "$T/verify.out" || fail "audit: $(cat "$T/verify.out")"

# --- and gone ---------------------------------------------------------
kill "$DPID" && wait "$DPID" 2>/dev/null
DPID=""
# the campaign is ours, not the package's: a purge leaves what the
# postmaster wrote, so the test takes it back first
rm -f /etc/segmilter/campaigns/deb.conf
dpkg --purge segmilter > "$T/purge.out" 2>&1 || fail "purge: $(cat "$T/purge.out")"
[ -e /usr/sbin/segmilter ] && fail "purge left the program"
[ -e /var/lib/segmilter ] && fail "purge left the store"
[ -e /etc/segmilter ] && fail "purge left $(find /etc/segmilter)"
echo "t-deb: ok ($(basename "$DEB"), lintian: $(grep -c '^[EW]:' "$T/lintian.out") tags)"
