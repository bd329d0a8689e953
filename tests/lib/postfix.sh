#!/bin/bash
# postfix.sh - a private Postfix on loopback, for tests, the demo and the
# benchmarks.  Never the system MTA, never port 25: its own configuration,
# queue and data directories under DIR, listening on 127.0.0.1:PORT and
# relaying everything to smtp-sink on 127.0.0.1:SINK_PORT, which writes
# each message it receives to DIR/sink/.
#
#   tests/lib/postfix.sh start DIR PORT SINK_PORT [MILTER]
#       MILTER: "unix:/path" or "inet:127.0.0.1:PORT" for smtpd_milters
#   tests/lib/postfix.sh listen DIR PORT [MILTER]
#       one more smtpd on 127.0.0.1:PORT with its own smtpd_milters
#   tests/lib/postfix.sh reinject DIR PORT MILTER
#       the re-injection listener contrib/postfix/master.cf ships, as it
#       stands there but for its port and its milters (no DKIM signer)
#   tests/lib/postfix.sh port DIR PORT        until something listens there
#   tests/lib/postfix.sh wait DIR [SECONDS]   until the queue is empty;
#       deferred mail is flushed every few seconds rather than left to
#       Postfix's backoff, and SECONDS (300) is only how long a hang may
#       last before it is called one
#   tests/lib/postfix.sh stop DIR
#
# SINK_DUMP=0 keeps smtp-sink from writing messages (benchmarks).
# Runs as root (Postfix's master must); the postfix user owns the queue.
set -eu

die() { echo "postfix.sh: $*" >&2; exit 1; }

write_config() {
	dir=$1 port=$2 sink=$3 milter=$4
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/sink"
	chown postfix "$dir/data" "$dir/sink"
	cat > "$dir/etc/main.cf" <<-MAIN
	compatibility_level = 3.6
	queue_directory = $dir/queue
	data_directory = $dir/data
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = relay.segmilter.test
	mydomain = segmilter.test
	myorigin = \$myhostname
	mydestination =
	local_transport = error:local delivery is disabled
	alias_maps =
	alias_database =
	inet_protocols = ipv4
	inet_interfaces = 127.0.0.1
	mynetworks = 127.0.0.0/8
	smtpd_relay_restrictions = permit_mynetworks, reject
	relayhost = [127.0.0.1]:$sink
	smtp_dns_support_level = disabled
	smtp_host_lookup = native
	smtpd_peername_lookup = no
	smtp_tls_security_level = none
	smtpd_tls_security_level = none
	maillog_file = $dir/maillog
	maillog_file_prefixes = $dir
	biff = no
	append_dot_mydomain = no
	default_process_limit = 50
	smtp_destination_concurrency_limit = 20
	default_destination_recipient_limit = 1000
	message_size_limit = 104857600
	milter_protocol = 6
	milter_default_action = tempfail
	milter_content_timeout = 300s
	smtpd_milters = $milter
	MAIN
	# every service unchrooted: no sockets needed inside the queue
	cat > "$dir/etc/master.cf" <<-MASTER
	127.0.0.1:$port inet n - n - - smtpd
	pickup    unix  n - n 60 1 pickup
	cleanup   unix  n - n -  0 cleanup
	qmgr      unix  n - n 300 1 qmgr
	tlsmgr    unix  - - n 1000? 1 tlsmgr
	rewrite   unix  - - n -  - trivial-rewrite
	bounce    unix  - - n -  0 bounce
	defer     unix  - - n -  0 bounce
	trace     unix  - - n -  0 bounce
	verify    unix  - - n -  1 verify
	flush     unix  n - n 1000? 0 flush
	proxymap  unix  - - n -  - proxymap
	proxywrite unix - - n -  1 proxymap
	smtp      unix  - - n -  - smtp
	relay     unix  - - n -  - smtp
	showq     unix  n - n -  - showq
	error     unix  - - n -  - error
	retry     unix  - - n -  - error
	discard   unix  - - n -  - discard
	local     unix  - n n -  - local
	lmtp      unix  - - n -  - lmtp
	anvil     unix  - - n -  1 anvil
	scache    unix  - - n -  1 scache
	postlog   unix-dgram n - n - 1 postlogd
	MASTER
}

wait_port() {
	i=0
	while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "nothing listens on 127.0.0.1:$1"
		sleep 0.1
	done
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: postfix.sh start|wait|stop DIR ..."
case "$cmd" in
start)
	[ "$(id -u)" = 0 ] || die "must run as root (Postfix's master does)"
	port=${3:?PORT} sink=${4:?SINK_PORT} milter=${5:-}
	dir=$(realpath -m "$dir")
	write_config "$dir" "$port" "$sink" "$milter"
	# smtp-sink: -u keeps it root-free, -R the dump directory
	if [ "${SINK_DUMP:-1}" = 0 ]; then
		smtp-sink -u postfix "127.0.0.1:$sink" 256 > "$dir/sink.log" 2>&1 &
	else
		smtp-sink -u postfix -R "$dir/sink" -d "%Y%m%d/%H%M%S." \
		    "127.0.0.1:$sink" 256 > "$dir/sink.log" 2>&1 &
	fi
	echo $! > "$dir/sink.pid"
	postfix -c "$dir/etc" check || die "postfix check failed"
	postfix -c "$dir/etc" start > "$dir/start.log" 2>&1 ||
	    { cat "$dir/start.log" "$dir/maillog" 2>/dev/null >&2; die "start failed"; }
	wait_port "$sink"
	wait_port "$port"
	;;
listen)
	port=${3:?PORT} milter=${4:-}
	printf '127.0.0.1:%s inet n - n - - smtpd -o smtpd_milters=%s\n' \
	    "$port" "$milter" >> "$dir/etc/master.cf"
	postfix -c "$dir/etc" reload > /dev/null 2>&1 || die "reload failed"
	wait_port "$port"
	;;
reinject)
	port=${3:?PORT} milter=${4:?MILTER}
	block=$(sed -n '/^#127\.0\.0\.1:10026 inet/,/^$/p' \
	    "$(dirname "$0")/../../contrib/postfix/master.cf")
	[ -n "$block" ] || die "no re-injection block in contrib/postfix/master.cf"
	printf '%s\n' "$block" | sed -e 's/^#//' \
	    -e "s/^127\.0\.0\.1:10026 /127.0.0.1:$port /" \
	    -e "s|-o smtpd_milters=.*|-o smtpd_milters=$milter|" \
	    >> "$dir/etc/master.cf"
	postfix -c "$dir/etc" reload > /dev/null 2>&1 || die "reload failed"
	wait_port "$port"
	;;
port)
	wait_port "${3:?PORT}"
	;;
wait)
	end=$(($(date +%s) + ${3:-300}))
	i=0
	while [ -n "$(postqueue -c "$dir/etc" -j 2>/dev/null)" ]; do
		[ "$(date +%s)" -lt "$end" ] || die "queue not empty after ${3:-300}s"
		i=$((i + 1))
		[ $((i % 30)) = 0 ] && postqueue -c "$dir/etc" -f 2>/dev/null
		sleep 0.1
	done
	;;
stop)
	postfix -c "$dir/etc" stop > /dev/null 2>&1 || true
	if [ -f "$dir/sink.pid" ]; then
		kill "$(cat "$dir/sink.pid")" 2>/dev/null || true
		rm -f "$dir/sink.pid"
	fi
	;;
*)
	die "unknown command $cmd"
	;;
esac
