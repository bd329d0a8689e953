#!/bin/bash
# sendmail.sh - a private Sendmail on loopback, for tests.  Never the
# system's mail set-up: Debian's sendmail-bin conflicts with postfix, so
# contrib/install-deps.sh unpacks it (with sendmail-cf) into SENDMAIL_DIR,
# default /usr/local/lib/segmilter-tests/sendmail, and it runs from there
# with -C and a sendmail.cf of its own, built with m4 from DIR/sendmail.mc:
# its queue, pid file, aliases, hosts and service switch under DIR, no
# /etc/mail, listening on 127.0.0.1:PORT only (never port 25, no MSA on
# 587) and relaying everything to smtp-sink on 127.0.0.1:SINK_PORT, which
# writes each message it receives to DIR/sink/, as tests/lib/postfix.sh
# does.  The milter lines are contrib/sendmail/segmilter.mc's own, but for
# the socket and the port: the shipped lines are the tested ones.
#
#   tests/lib/sendmail.sh check
#       fails, naming contrib/install-deps.sh, without an unpacked sendmail
#   tests/lib/sendmail.sh start DIR PORT SINK_PORT MILTER
#       MILTER: "unix:/path" or "inet:PORT@127.0.0.1", in segmilter.mc's
#       INPUT_MAIL_FILTER line in place of its S=
#   tests/lib/sendmail.sh reinject DIR PORT
#       the re-injection daemon segmilter.mc ships (DAEMON_OPTIONS, with
#       its own InputMailFilters), on PORT; sendmail is restarted for it
#   tests/lib/sendmail.sh port DIR PORT       until something listens there
#   tests/lib/sendmail.sh wait DIR [SECONDS]  until the queue is empty;
#       what a first attempt could not deliver is tried again every 10 s
#       (-q10s), and SECONDS (300) is only how long a hang may last
#       before it is called one
#   tests/lib/sendmail.sh stop DIR
#
# Sendmail logs only to syslog, which a test machine may not have: its
# SMTP dialogues, messages included, are in DIR/traffic (-X) instead, and
# its side of the milter protocol (negotiation, the macros it sends at
# each step, the changes it applies) in DIR/debug (-d64.10).  Runs as
# root, as the daemon must to bind and to read its queue.
set -eu

SENDMAIL_DIR=${SENDMAIL_DIR:-/usr/local/lib/segmilter-tests/sendmail}
SM_BIN=$SENDMAIL_DIR/usr/libexec/sendmail/sendmail
SM_CF=$SENDMAIL_DIR/usr/share/sendmail/cf
SHIPPED=$(dirname "$0")/../../contrib/sendmail/segmilter.mc

die() { echo "sendmail.sh: $*" >&2; exit 1; }

# WHY CMD...: until CMD succeeds; a generous deadline (T_DEADLINE, 300 s),
# which only a hang reaches
wait_for() {
	why=$1
	shift
	end=$(($(date +%s) + ${T_DEADLINE:-300}))
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || die "$why"
		sleep 0.1
	done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
queue_empty() { [ -z "$(find "$1/queue" -name 'qf*' 2>/dev/null)" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# Sendmail wants a dotted name for itself before it reads any .cf: on a
# host whose name does not resolve to one ("vm") it sleeps 60 s at every
# start.  So it runs in a UTS namespace of its own, named
# relay.segmilter.test (its confDOMAIN_NAME below); the system's name is
# left alone.  Without unshare, it runs as it is.
sm_run() {
	if unshare --uts true 2> /dev/null; then
		unshare --uts sh -c 'hostname relay.segmilter.test && exec "$@"' \
		    sendmail "$SM_BIN" "$@"
	else
		"$SM_BIN" "$@"
	fi
}

check() {
	[ -x "$SM_BIN" ] && [ -f "$SM_CF/m4/cf.m4" ] ||
	    die "no sendmail unpacked in $SENDMAIL_DIR: run contrib/install-deps.sh as root (make deps)"
	command -v m4 > /dev/null 2>&1 ||
	    die "no m4: run contrib/install-deps.sh as root (make deps)"
	out=$(sm_run -d0.1 -bt -C /dev/null < /dev/null 2>&1 || true)
	case $out in
	*MILTER*) ;;
	*) die "$SM_BIN does not run or lacks MILTER ($(echo "$out" | head -2)): run contrib/install-deps.sh as root" ;;
	esac
}

# segmilter.mc's INPUT_MAIL_FILTER line, its socket replaced
filter_line() {
	line=$(grep "^INPUT_MAIL_FILTER(\`segmilter', \`S=" "$SHIPPED") ||
	    die "no INPUT_MAIL_FILTER line in contrib/sendmail/segmilter.mc"
	printf '%s\n' "$line" | sed "s|\`S=[^,]*,|\`S=$1,|"
}

# segmilter.mc's re-injection daemon, uncommented, on PORT
reinject_line() {
	line=$(grep "^dnl DAEMON_OPTIONS(\`Port=10026, Addr=127.0.0.1, " "$SHIPPED") ||
	    die "no re-injection DAEMON_OPTIONS line in contrib/sendmail/segmilter.mc"
	printf '%s\n' "$line" | sed -e 's/^dnl //' -e "s/Port=10026,/Port=$1,/"
}

write_config() {
	dir=$1 port=$2 sink=$3
	mkdir -p "$dir/queue" "$dir/sink"
	chmod 700 "$dir/queue"
	chown postfix "$dir/sink"
	: > "$dir/aliases"
	printf 'hosts files\naliases files\n' > "$dir/service.switch"
	printf '127.0.0.1 localhost relay.segmilter.test\n' > "$dir/hosts"
	[ -f "$dir/extra.m4" ] || : > "$dir/extra.m4"
	# Everything but the milter lines is this instance's: paths under
	# DIR, no DNS (hosts from DIR/hosts, smart host in brackets), no
	# ident lookups, no load-average throttling on a busy test machine;
	# TrustStickyBit: DIR, the milter socket's too, is under /tmp, which
	# sendmail otherwise calls an unsafe, world-writable directory.
	cat > "$dir/sendmail.mc" <<-MC
	divert(-1)
	divert(0)dnl
	VERSIONID(\`segmilter test instance')dnl
	OSTYPE(\`linux')dnl
	define(\`confDOMAIN_NAME', \`relay.segmilter.test')dnl
	define(\`QUEUE_DIR', \`$dir/queue')dnl
	define(\`STATUS_FILE', \`$dir/statistics')dnl
	define(\`HELP_FILE', \`$SENDMAIL_DIR/etc/mail/helpfile')dnl
	define(\`ALIAS_FILE', \`$dir/aliases')dnl
	define(\`confPID_FILE', \`$dir/sendmail.pid')dnl
	define(\`confSERVICE_SWITCH_FILE', \`$dir/service.switch')dnl
	define(\`confHOSTS_FILE', \`$dir/hosts')dnl
	define(\`confDONT_PROBE_INTERFACES', \`true')dnl
	define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
	define(\`confTO_IDENT', \`0s')dnl
	define(\`confQUEUE_LA', \`1000')dnl
	define(\`confREFUSE_LA', \`1000')dnl
	define(\`confDELAY_LA', \`0')dnl
	define(\`confMIN_QUEUE_AGE', \`0')dnl
	define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
	define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sink')dnl
	FEATURE(\`no_default_msa')dnl
	FEATURE(\`nocanonify')dnl
	FEATURE(\`accept_unresolvable_domains')dnl
	DAEMON_OPTIONS(\`Port=$port, Addr=127.0.0.1, Name=MTA')dnl
	include(\`$dir/extra.m4')dnl
	$(filter_line "$(cat "$dir/milter")")
	MAILER(\`smtp')dnl
	MC
	m4 "$SM_CF/m4/cf.m4" "$dir/sendmail.mc" > "$dir/sendmail.cf" ||
	    die "m4 could not build $dir/sendmail.cf"
	# only loopback, never the system's ports
	if grep '^O DaemonPortOptions=' "$dir/sendmail.cf" | grep -v 'Addr=127\.0\.0\.1,' >&2; then
		die "a daemon not on 127.0.0.1"
	fi
}

wait_port() { wait_for "nothing listens on 127.0.0.1:$1" port_open "$1"; }

daemon_start() {
	dir=$1
	rm -f "$dir/sendmail.pid"
	# -bd: the daemon, which forks away; -q10s: a queue run every 10 s
	# for what a first attempt could not deliver; -X: the SMTP traffic;
	# -d64.10: the milter protocol, to DIR/debug (-D)
	sm_run -C "$dir/sendmail.cf" -bd -q10s -X "$dir/traffic" \
	    -D "$dir/debug" -d64.10 \
	    > "$dir/start.log" 2>&1 || { cat "$dir/start.log" >&2; die "start failed"; }
	wait_for "no pid file: $(cat "$dir/start.log")" test -s "$dir/sendmail.pid"
}

daemon_stop() {
	dir=$1
	[ -s "$dir/sendmail.pid" ] || return 0
	pid=$(head -1 "$dir/sendmail.pid")
	kill "$pid" 2>/dev/null || { rm -f "$dir/sendmail.pid"; return 0; }
	wait_for "sendmail $pid did not stop" gone "$pid"
	rm -f "$dir/sendmail.pid"
}

cmd=${1:-}
[ "$cmd" = check ] && { check; exit 0; }
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: sendmail.sh check|start|reinject|port|wait|stop DIR ..."
case "$cmd" in
start)
	[ "$(id -u)" = 0 ] || die "must run as root (the daemon does)"
	check
	port=${3:?PORT} sink=${4:?SINK_PORT} milter=${5:?MILTER}
	dir=$(realpath -m "$dir")
	mkdir -p "$dir"
	printf '%s\n' "$milter" > "$dir/milter"
	echo "$port" > "$dir/port"
	echo "$sink" > "$dir/sink.port"
	write_config "$dir" "$port" "$sink"
	smtp-sink -u postfix -R "$dir/sink" -d "%Y%m%d/%H%M%S." \
	    "127.0.0.1:$sink" 256 > "$dir/sink.log" 2>&1 &
	echo $! > "$dir/sink.pid"
	daemon_start "$dir"
	wait_port "$sink"
	wait_port "$port"
	;;
reinject)
	port=${3:?PORT}
	dir=$(realpath -m "$dir")
	reinject_line "$port" >> "$dir/extra.m4"
	write_config "$dir" "$(cat "$dir/port")" "$(cat "$dir/sink.port")"
	daemon_stop "$dir"
	daemon_start "$dir"
	wait_port "$(cat "$dir/port")"
	wait_port "$port"
	;;
port)
	wait_port "${3:?PORT}"
	;;
wait)
	T_DEADLINE=${3:-${T_DEADLINE:-300}}
	wait_for "queue not empty after ${T_DEADLINE}s: $(ls "$dir/queue")" queue_empty "$dir"
	;;
stop)
	daemon_stop "$dir"
	if [ -f "$dir/sink.pid" ]; then
		kill "$(cat "$dir/sink.pid")" 2>/dev/null || true
		rm -f "$dir/sink.pid"
	fi
	;;
*)
	die "unknown command $cmd"
	;;
esac
