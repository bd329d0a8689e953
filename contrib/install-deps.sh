#!/bin/sh
# install-deps.sh - install the Debian 12 packages segmilter needs to build,
# test and run its demo.  Idempotent: packages already present are skipped.
# Runs as root, or through sudo when available.
#
# Packages never start their system daemons here: a policy-rc.d that exits
# 101 is in place for the duration of the install, so the system Postfix
# (port 25) is never started or touched.
set -eu

PKGS="build-essential pkg-config
libmilter-dev libgmime-3.0-dev libconfig-dev libcurl4-openssl-dev
libsqlite3-dev libcmocka-dev libssl-dev libjson-glib-dev libmicrohttpd-dev
sqlite3 miltertest postfix swaks python3 curl time openssl xxd systemd tzdata
clang libclang-rt-14-dev
kannel kannel-extras
chromium fonts-dejavu-core
debhelper lintian"

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -n "$0" "$@"
	fi
	echo "install-deps.sh: must run as root (or with sudo)" >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: all packages present"
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
