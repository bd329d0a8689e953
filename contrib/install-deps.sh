#!/bin/sh
# install-deps.sh - install the Debian 12 packages segmilter needs to build,
# test and run its demo.  Idempotent: packages already present are skipped.
# Runs as root, or through sudo when available.
#
# Packages never start their system daemons here: a policy-rc.d that exits
# 101 is in place for the duration of the install, so the system Postfix
# (port 25) is never started or touched.  Nor is PostgreSQL's system
# cluster (15/main, port 5432), which the package creates: the tests run
# their own, with initdb and pg_ctl in a temporary directory
# (tests/lib/pgsql.sh); libpq-dev is the store's client library.
#
# Sendmail, for tests/integration/t-sendmail.sh: Debian's sendmail-bin
# conflicts with postfix as an installed package, so it is not installed:
# sendmail-bin and sendmail-cf are downloaded (apt-get download) and
# unpacked with dpkg -x into SENDMAIL_DIR below, which nothing else reads.
# The binary is $SENDMAIL_DIR/usr/libexec/sendmail/sendmail (it needs m4
# and libwrap0, installed as packages), the m4 set-up under
# $SENDMAIL_DIR/usr/share/sendmail/cf, the versions in
# $SENDMAIL_DIR/VERSION.  tests/lib/sendmail.sh runs it with -C and a
# private sendmail.cf: no /etc/mail, no system queue, no port 25.  Once
# unpacked, the tests need no network.
set -eu
SENDMAIL_DIR=/usr/local/lib/segmilter-tests/sendmail

PKGS="build-essential pkg-config
libmilter-dev libgmime-3.0-dev libconfig-dev libcurl4-openssl-dev
libsqlite3-dev libcmocka-dev libssl-dev libjson-glib-dev libmicrohttpd-dev
libpq-dev postgresql
sqlite3 miltertest postfix swaks python3 curl time openssl xxd systemd tzdata
clang libclang-rt-14-dev
kannel kannel-extras
chromium fonts-dejavu-core
debhelper lintian
m4 libwrap0"

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -n "$0" "$@"
	fi
	echo "install-deps.sh: must run as root (or with sudo)" >&2
	exit 1
fi

# sendmail-bin and sendmail-cf unpacked into SENDMAIL_DIR, once
unpack_sendmail() {
	if [ -x "$SENDMAIL_DIR/usr/libexec/sendmail/sendmail" ] &&
	    [ -f "$SENDMAIL_DIR/usr/share/sendmail/cf/m4/cf.m4" ]; then
		echo "install-deps.sh: sendmail unpacked in $SENDMAIL_DIR"
		return 0
	fi
	echo "install-deps.sh: unpacking sendmail-bin and sendmail-cf into $SENDMAIL_DIR"
	dl=$(mktemp -d /tmp/segm-sendmail.XXXXXX)
	# apt-get download writes as _apt where it can
	chown _apt "$dl" 2>/dev/null || true
	(cd "$dl" && apt-get download -qq sendmail-bin sendmail-cf) ||
	    { apt-get update -qq &&
	    (cd "$dl" && apt-get download -qq sendmail-bin sendmail-cf); } ||
	    { rm -rf "$dl"; echo "install-deps.sh: cannot download sendmail" >&2; return 1; }
	rm -rf "$SENDMAIL_DIR.new"
	mkdir -p "$SENDMAIL_DIR.new"
	for deb in "$dl"/sendmail-bin_*.deb "$dl"/sendmail-cf_*.deb; do
		dpkg -x "$deb" "$SENDMAIL_DIR.new"
		dpkg-deb -f "$deb" Package Version | paste -sd' ' >> "$SENDMAIL_DIR.new/VERSION"
	done
	rm -rf "$dl" "$SENDMAIL_DIR"
	mv "$SENDMAIL_DIR.new" "$SENDMAIL_DIR"
}

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: all packages present"
	unpack_sendmail
	exit 0
fi

echo "install-deps.sh: installing:$missing"
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT

echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
unpack_sendmail
