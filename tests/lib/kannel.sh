#!/bin/sh
# kannel.sh - a private Kannel SMS gateway on loopback, for tests: a real
# bearerbox and smsbox (Debian package "kannel") with one fake SMSC, the
# fakesmsc test program (package "kannel-extras"), that records every SMS
# it is sent.  Never the system Kannel: its own configuration, logs and pid
# files under DIR, every port bound to 127.0.0.1 only:
#
#   BASEPORT      bearerbox admin HTTP (status.txt, password "segm-admin")
#   BASEPORT + 1  bearerbox <- smsbox
#   BASEPORT + 2  bearerbox <- fakesmsc (smsc = fake)
#   BASEPORT + 3  smsbox sendsms HTTP: http://127.0.0.1:BASEPORT+3/cgi-bin/sendsms
#
# sendsms credentials (fixed): username "segm", password "segm-test";
# concatenation on, at most $KANNEL_MAX_MESSAGES parts (default 10: longer
# texts are cut, still answered 202); sender "1234" when no from= is given.
#
#   tests/lib/kannel.sh start DIR BASEPORT
#       writes DIR/kannel.conf, starts bearerbox, fakesmsc and smsbox in the
#       background (pids in DIR/*.pid, logs in DIR/*.log, DIR/*.out) and
#       waits until sendsms answers and the fake SMSC is online.  Prints
#       nothing on success; exit 77 if Kannel isn't installed (skip), 1 with
#       the logs' tails if it doesn't come up.
#   tests/lib/kannel.sh stop DIR             stops it all (idempotent)
#   tests/lib/kannel.sh received DIR
#       one line per SMS the fake SMSC received, in arrival order:
#       "TO<TAB>TEXT".  TEXT is decoded to UTF-8 (UCS-2 parts from UTF-16BE),
#       concatenated parts are joined (incomplete ones are left out), and
#       backslash, tab, CR and LF in it are shown as \\ \t \r \n.
#   tests/lib/kannel.sh messages DIR
#       the same with more fields: "FROM<TAB>TO<TAB>CODING<TAB>PARTS<TAB>TEXT",
#       CODING 7bit|8bit|ucs2, PARTS "n" or "k/n" for an incomplete message.
#
# Requests that work (Kannel 1.4.5, Debian 12), e.g. for "Grüße 🎉" (GET;
# "+" or %20 for a space):
#   ...&coding=2&charset=UTF-8&text=Gr%C3%BC%C3%9Fe%20%F0%9F%8E%89     intact
#   ...&coding=2&charset=UTF-16BE&text=%00G%00r%00%FC%00%DF%00e%00%20%D8%3C%DF%89
#                                                                    intact
#   coding=2 without charset takes the text as UTF-16BE bytes (UTF-8 comes
#   out as garbage); without coding=2 the text goes as GSM 7-bit, whatever
#   the charset: ü, ß, €, [ ] { } ^ ~ pass, the emoji becomes "?".
#   POST: the body is the text, everything else in X-Kannel-* headers
#   (X-Kannel-Username, -Password, -To, -From, -Coding) with Content-Type
#   "text/plain; charset=UTF-8"; a form-encoded POST is 400.
#   Replies: 202 "0: Accepted for delivery", 403 "Authorization failed for
#   sendsms", 400 "Missing receiver number, rejected".
# Caveat: fakesmsc's protocol is line based and a single 7-bit SMS is
# written as is, so a newline in it splits it; "received" joins the pieces
# back with \n (a CR before the newline is lost).  fakesmsc's output does
# not tell the coding of concatenated parts: it is read from bearerbox's
# access log.
#
# Environment: KANNEL_MAX_MESSAGES, KANNEL_LOG_LEVEL (0 debug, default),
# BEARERBOX, SMSBOX, FAKESMSC (paths).  Needs curl and python3.  Runs as
# root or not; writes nothing outside DIR.  Ready in ~0.3-0.6 s, an SMS
# reaches fakesmsc ~10 ms after its 202, stop takes 0.2-2.7 s.
set -eu

BEARERBOX=${BEARERBOX:-/usr/sbin/bearerbox}
SMSBOX=${SMSBOX:-/usr/sbin/smsbox}
FAKESMSC=${FAKESMSC:-/usr/lib/kannel/test/fakesmsc}
ADMIN_PASSWORD=segm-admin
USERNAME=segm
PASSWORD=segm-test

die() { echo "kannel.sh: $*" >&2; exit 1; }

write_config() {
	dir=$1 base=$2
	cat > "$dir/kannel.conf" <<-CONF
	group = core
	admin-port = $base
	admin-interface = 127.0.0.1
	admin-password = $ADMIN_PASSWORD
	admin-deny-ip = "*.*.*.*"
	admin-allow-ip = "127.0.0.1"
	smsbox-port = $((base + 1))
	smsbox-interface = 127.0.0.1
	box-deny-ip = "*.*.*.*"
	box-allow-ip = "127.0.0.1"
	log-file = "$dir/bearerbox.log"
	log-level = ${KANNEL_LOG_LEVEL:-0}
	access-log = "$dir/access.log"
	dlr-storage = internal
	access-log-clean = true
	access-log-format = "%l|%c|%P|%b"

	group = smsc
	smsc = fake
	smsc-id = fake
	port = $((base + 2))
	our-host = 127.0.0.1
	connect-allow-ip = 127.0.0.1

	group = smsbox
	bearerbox-host = 127.0.0.1
	bearerbox-port = $((base + 1))
	sendsms-port = $((base + 3))
	sendsms-interface = 127.0.0.1
	global-sender = 1234
	log-file = "$dir/smsbox.log"
	log-level = ${KANNEL_LOG_LEVEL:-0}
	access-log = "$dir/smsbox-access.log"

	group = sendsms-user
	username = $USERNAME
	password = $PASSWORD
	max-messages = ${KANNEL_MAX_MESSAGES:-10}
	concatenation = true
	CONF
}

# alive NAME: is the process in DIR/NAME.pid running, and still NAME?
alive() {
	[ -f "$dir/$1.pid" ] || return 1
	pid=$(cat "$dir/$1.pid")
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] &&
	    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# stop_all: TERM to every box at once (each takes up to ~2 s to notice),
# up to 10 s for them to go, then KILL
stop_all() {
	for p in smsbox bearerbox fakesmsc; do
		if alive $p; then kill "$pid" 2>/dev/null || true; fi
	done
	i=0
	while [ $i -lt 100 ]; do
		up=""
		for p in smsbox bearerbox fakesmsc; do
			if alive $p; then up="$up $p"; fi
		done
		[ -n "$up" ] || break
		sleep 0.05
		i=$((i + 1))
	done
	for p in smsbox bearerbox fakesmsc; do
		if alive $p; then kill -9 "$pid" 2>/dev/null || true; fi
		rm -f "$dir/$p.pid"
	done
}

fail_start() {
	for f in bearerbox.out bearerbox.log fakesmsc.out smsbox.out smsbox.log; do
		[ -s "$dir/$f" ] || continue
		echo "--- $dir/$f" >&2
		tail -n 15 "$dir/$f" >&2
	done
	stop_all
	die "$*"
}

status() {
	curl -s -m 2 "http://127.0.0.1:$base/status.txt?password=$ADMIN_PASSWORD" 2>/dev/null || true
}

# wait_for WHAT CONDITION...: up to 15 s, checking the boxes stay up
wait_for() {
	what=$1
	shift
	i=0
	until "$@"; do
		for p in bearerbox fakesmsc smsbox; do
			if [ -f "$dir/$p.pid" ] && ! alive $p; then
				fail_start "$p exited while waiting for $what"
			fi
		done
		i=$((i + 1))
		[ $i -lt 150 ] || fail_start "timed out waiting for $what"
		sleep 0.1
	done
}

smsc_listening() { status | grep -q "FAKE:$((base + 2))"; }
smsc_online() { status | grep -q "FAKE:$((base + 2)) (online"; }
smsbox_connected() { status | grep -q "smsbox:.*on-line"; }
sendsms_answers() {
	code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$((base + 3))/cgi-bin/sendsms" 2>/dev/null) || true
	[ "$code" = 403 ]
}

start() {
	for b in "$BEARERBOX" "$SMSBOX" "$FAKESMSC"; do
		if [ ! -x "$b" ]; then
			echo "kannel.sh: no $b (apt-get install kannel kannel-extras)" >&2
			exit 77
		fi
	done
	for b in curl python3; do
		command -v $b > /dev/null 2>&1 || { echo "kannel.sh: no $b" >&2; exit 77; }
	done
	mkdir -p "$dir"
	stop_all
	# a busy port would make the waits below talk to someone else
	python3 - "$base" <<-'PY' || die "port(s) in use, pick another BASEPORT"
	import socket, sys
	busy = 0
	for port in range(int(sys.argv[1]), int(sys.argv[1]) + 4):
	    s = socket.socket()
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	    try:
	        s.bind(("127.0.0.1", port))
	    except OSError as e:
	        print("kannel.sh: 127.0.0.1:%d: %s" % (port, e.strerror), file=sys.stderr)
	        busy = 1
	    s.close()
	sys.exit(busy)
	PY
	for f in bearerbox.log bearerbox.out smsbox.log smsbox.out access.log \
	    smsbox-access.log fakesmsc.out; do
		rm -f "${dir:?}/$f"
	done
	write_config "$dir" "$base"
	# stdout logging only from warnings on: the log files have it all
	"$BEARERBOX" -v 2 "$dir/kannel.conf" < /dev/null > "$dir/bearerbox.out" 2>&1 &
	echo $! > "$dir/bearerbox.pid"
	wait_for "the fake SMSC port" smsc_listening
	# -m 0: send no MO message, only print what arrives (at debug level)
	"$FAKESMSC" -v 0 -H 127.0.0.1 -r $((base + 2)) -m 0 "0 0 text unused" \
	    < /dev/null > "$dir/fakesmsc.out" 2>&1 &
	echo $! > "$dir/fakesmsc.pid"
	"$SMSBOX" -v 2 "$dir/kannel.conf" < /dev/null > "$dir/smsbox.out" 2>&1 &
	echo $! > "$dir/smsbox.pid"
	wait_for "fakesmsc to connect" smsc_online
	wait_for "smsbox to connect" smsbox_connected
	wait_for "sendsms on port $((base + 3))" sendsms_answers
	for p in bearerbox fakesmsc smsbox; do
		alive $p || fail_start "$p exited"
	done
}

decode() {
	python3 - "$dir" "$1" <<-'PY'
	import re, sys, urllib.parse
	dir, mode = sys.argv[1], sys.argv[2]
	try:
	    out = open(dir + "/fakesmsc.out", "rb").read().split(b"\n")
	except FileNotFoundError:
	    sys.exit(0)
	# codings of what bearerbox sent, from its access log
	# ("%l|%c|%P|%b"): %b is hex but for 7-bit (then printable ASCII, other
	# bytes shown as "."); used for concatenated parts, whose coding
	# fakesmsc's output doesn't show
	sent = []
	try:
	    for l in open(dir + "/access.log", "rb").read().split(b"\n"):
	        f = l.split(b"|", 3)
	        if len(f) == 4 and f[0] == b"Sent SMS" and f[1] in (b"0", b"1", b"2"):
	            sent.append((f[2], int(f[1]), f[3]))
	except FileNotFoundError:
	    pass
	def printable(b):
	    return bytes(c if 32 <= c < 127 else 46 for c in b)
	def unquote(b):
	    return urllib.parse.unquote_to_bytes(b.replace(b"+", b" "))
	got = re.compile(rb".*DEBUG: Got message \d+: <(.*)>$", re.S)
	msgre = re.compile(rb"^(.*?) ([^ ]+) (text|data|ucs-2|udh) (.*)$", re.S)
	msgs = []      # [from, to, coding, parts, total, payload bytes]
	groups = {}
	for raw in out:
	    m = got.match(raw)
	    if not m:
	        continue
	    line = m.group(1)
	    m = msgre.match(line)
	    if not m:
	        # a newline inside a 7-bit text: fakesmsc saw two lines
	        if msgs and msgs[-1][2] == "7bit" and msgs[-1][3] == 1:
	            msgs[-1][5] += b"\n" + line
	        continue
	    frm, to, typ, rest = m.groups()
	    if typ == b"text":
	        msgs.append([frm, to, "7bit", 1, 1, rest])
	    elif typ == b"ucs-2":
	        msgs.append([frm, to, "ucs2", 1, 1, unquote(rest)])
	    elif typ == b"data":
	        msgs.append([frm, to, "8bit", 1, 1, unquote(rest)])
	    else:
	        udh, sep, data = rest.partition(b" data ")
	        udh = unquote(udh)
	        data = unquote(data)
	        ref = None
	        i = 1
	        while i + 1 < len(udh) and i <= udh[0]:
	            iei, ln = udh[i], udh[i + 1]
	            v = udh[i + 2:i + 2 + ln]
	            if iei == 0 and ln == 3:
	                ref, total, seq = v[0], v[1], v[2]
	            elif iei == 8 and ln == 4:
	                ref, total, seq = (v[0] << 8) | v[1], v[2], v[3]
	            i += 2 + ln
	        if ref is None:
	            msgs.append([frm, to, None, 1, 1, data])
	            continue
	        key = (frm, to, ref, total)
	        g = groups.get(key)
	        if g is None or seq in g[6]:
	            g = [frm, to, None, 0, total, b"", {}]
	            groups[key] = g
	            msgs.append(g)
	        g[6][seq] = data
	        g[3] = len(g[6])
	        g[5] = b"".join(g[6][k] for k in sorted(g[6]))
	for m in msgs:
	    if m[2] is None:
	        c = None
	        for to, coding, body in sent:
	            if to == m[1] and body == (printable(m[5]) if coding == 0
	                                       else m[5].hex().upper().encode()):
	                c = coding
	        if c is None:
	            try:
	                m[5].decode("utf-8")
	                c = 0
	            except UnicodeDecodeError:
	                c = 2
	        m[2] = ("7bit", "8bit", "ucs2")[c]
	w = sys.stdout.buffer
	for frm, to, coding, parts, total, data, *_ in msgs:
	    complete = parts == total
	    if mode == "received" and not complete:
	        continue
	    if coding == "ucs2":
	        text = data.decode("utf-16-be", "surrogatepass").encode("utf-8", "surrogatepass")
	    else:
	        text = data
	    text = (text.replace(b"\\", b"\\\\").replace(b"\t", b"\\t")
	            .replace(b"\r", b"\\r").replace(b"\n", b"\\n"))
	    if mode == "messages":
	        n = b"%d" % total if complete else b"%d/%d" % (parts, total)
	        w.write(frm + b"\t" + to + b"\t" + coding.encode() + b"\t" + n + b"\t")
	    else:
	        w.write(to + b"\t")
	    w.write(text + b"\n")
	PY
}

cmd=${1:-}
dir=${2:-}
{ [ -n "$cmd" ] && [ -n "$dir" ]; } || die "usage: kannel.sh start|stop|received|messages DIR [BASEPORT]"
case "$cmd" in
start)
	base=${3:-}
	case $base in
	[1-9]*) ;;
	*) die "usage: kannel.sh start DIR BASEPORT" ;;
	esac
	dir=$(realpath -m "$dir")
	start
	;;
stop)
	if [ -d "$dir" ]; then stop_all; fi
	;;
received|messages)
	decode "$cmd"
	;;
*)
	die "unknown command $cmd"
	;;
esac
