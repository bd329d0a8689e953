# pgsql.sh - a private PostgreSQL for tests: its own cluster in DIR/data,
# listening only on a unix socket in DIR/sock (no TCP), superuser "segm"
# with trust authentication, database "segm".  Never the system cluster
# (15/main, /var/run/postgresql): nothing here reads its configuration or
# its socket directory.
#
#   . tests/lib/pgsql.sh
#   pgsql_start DIR      initdb (locale C, UTF8) unless DIR/data holds a
#                        cluster, start it, wait for pg_isready, create
#                        database segm, export PGSQL_URL (a libpq URI,
#                        postgresql:///segm?host=DIR/sock&port=P&user=segm)
#   pgsql_stop DIR       fast shutdown; nothing to do when it is not running
#   pgsql_restart DIR    stop, then start on the same data and socket
#   pgsql_kill DIR       SIGKILL the postmaster and every process it forked,
#                        as a crash of the server would; the next start
#                        recovers from the WAL
#   pgsql_psql DIR [SQL...]  psql -X -q -At -v ON_ERROR_STOP=1 on database
#                        $PGSQL_DB (segm): each SQL argument as a -c, or
#                        stdin without
#   pgsql_available      0 when there is a server to start (initdb, psql,
#                        and as root the server's user): else a test skips
#   pgsql_cleanup        pgsql_stop on every DIR this shell started; for
#                        traps: trap 'pgsql_cleanup; rm -rf "$T"' EXIT
#
# A caller that starts a cluster must stop it on every exit (a trap calling
# pgsql_cleanup or pgsql_stop DIR): a postmaster outlives the test that
# started it.  pgsql_start stops what it started when it fails itself.
# Functions return 0, or print "pgsql: WHY" (and the log's tail) on stderr
# and return 1; none exits.  POSIX sh and `local' (dash and bash both):
# tests/run.sh runs the tests with sh.
#
# Run as root (tests are), the server runs as PGSQL_USER (default
# postgres; initdb refuses root): DIR, and each parent of it that lacks
# it (a mktemp directory is 0700), get o+x (search, not listing), so
# that it reaches DIR/data (0700, its own) and DIR/sock (0755, its own, so
# any client user can connect).  Run as anyone else, the server runs as
# that user.
# The client side (psql, segctl, segmilter) may run as root or anyone who
# can reach DIR/sock: authentication is trust, on a test machine only.
#
# Environment:
#   PGSQL_BIN      initdb, pg_ctl, postgres and pg_isready; default
#                  `pg_config --bindir` when it holds initdb (Debian puts
#                  them outside PATH), else the newest
#                  /usr/lib/postgresql/*/bin
#   PGSQL_USER     the server's user when run as root (postgres)
#   PGSQL_PORT     the socket's port number (5432); only the socket file's
#                  name, so clusters in different DIRs may share it
#   PGSQL_TIMEOUT  seconds a start or stop may take before it is called a
#                  hang (60)
#   PGSQL_DB       the database pgsql_psql connects to (segm)
#
# Settings for tests only: fsync = off (a crash of the machine, not of the
# postmaster, may corrupt the cluster; pgsql_kill is still a faithful crash,
# since every write reached the kernel).  synchronous_commit stays on, so a
# commit reported is a commit that survives pgsql_kill.
# DIR must be a path of [A-Za-z0-9/._-] only (it goes into the URI
# unescaped), short enough for a socket's path (90 bytes, made absolute).

# shellcheck disable=SC3043 # local: dash and bash both have it
PGSQL_DIRS=${PGSQL_DIRS:-}

pgsql__err() { echo "pgsql: $*" >&2; return 1; }

# PGSQL_BIN, resolved once
pgsql__bin() {
	local b
	if [ -n "${PGSQL_BIN:-}" ]; then
		[ -x "$PGSQL_BIN/initdb" ] ||
		    pgsql__err "PGSQL_BIN=$PGSQL_BIN has no initdb" || return 1
		return 0
	fi
	b=$(pg_config --bindir 2>/dev/null) || b=""
	if [ -z "$b" ] || [ ! -x "$b/initdb" ]; then
		b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null |
		    sort -t/ -k5,5n | tail -1)
	fi
	[ -n "$b" ] && [ -x "$b/initdb" ] ||
	    pgsql__err "no initdb (install postgresql, or set PGSQL_BIN)" ||
	    return 1
	PGSQL_BIN=$b
	export PGSQL_BIN
}

# COMMAND... as the server's user, from a directory it can read
pgsql__as() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u "${PGSQL_USER:-postgres}" -- "$@")
	else
		(cd / && "$@")
	fi
}

# DIR made absolute in pgsql__d, checked; made if MAKE is given
pgsql__dir() {
	case $1 in
	"") pgsql__err "no DIR given"; return 1 ;;
	*[!A-Za-z0-9/._-]*) pgsql__err "$1: DIR may only hold [A-Za-z0-9/._-]"
	    return 1 ;;
	esac
	[ -z "${2:-}" ] || mkdir -p "$1" || return 1
	pgsql__d=$(cd "$1" 2>/dev/null && pwd) || return 1
	[ ${#pgsql__d} -le 90 ] ||
	    pgsql__err "$pgsql__d: too long for a unix socket's path"
}

# o+x (search, not listing) on DIR and each of its parents that lacks
# it, so that the server's user reaches DIR/data and DIR/sock: a mktemp
# directory is 0700.  Never on one not ours, nor on $HOME.
pgsql__reachable() {
	local p=$1
	while [ "$p" != / ] && [ -n "$p" ]; do
		if [ -z "$(find "$p" -maxdepth 0 -perm -o+x)" ]; then
			[ "$(stat -c %u "$p")" = "$(id -u)" ] &&
			    [ "$p" != "${HOME:-}" ] ||
			    pgsql__err "$p: closed to ${PGSQL_USER:-postgres};" \
			    "choose a DIR it can reach" || return 1
			chmod o+x "$p" || return 1
		fi
		p=$(dirname "$p")
	done
}

pgsql__port() { echo "${PGSQL_PORT:-5432}"; }

# PID is running: a zombie (dead, its parent not yet told) is not
pgsql__alive() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	""|Z*) return 1 ;;
	esac
}

# the postmaster's pid, when its pid file names a live one
pgsql__pid() {
	local pp
	pp=$(head -1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
	[ -n "$pp" ] && pgsql__alive "$pp" && echo "$pp"
}

pgsql__log_tail() {
	echo "--- $1/postgres.log" >&2
	tail -20 "$1/postgres.log" >&2 2>/dev/null
}

# start the server on DIR/data and wait until it accepts connections
pgsql__run() {
	local d=$1 logsz end
	# after a crash the lock files name a dead postmaster; the server
	# takes them over only once the dead one's parent has reaped it,
	# which a container's init may do late
	if [ -f "$d/data/postmaster.pid" ] && ! pgsql__pid "$d" > /dev/null
	then
		rm -f "$d/data/postmaster.pid" "$d/sock/.s.PGSQL.$(pgsql__port).lock"
	fi
	logsz=$(wc -c < "$d/postgres.log" 2>/dev/null || echo 0)
	pgsql__as "$PGSQL_BIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -W \
	    start > "$d/pg_ctl.out" 2>&1 ||
	    { cat "$d/pg_ctl.out" >&2; pgsql__log_tail "$d"
	    pgsql__err "pg_ctl start failed"; return 1; }
	end=$(($(date +%s) + ${PGSQL_TIMEOUT:-60}))
	until "$PGSQL_BIN/pg_isready" -q -t 2 -h "$d/sock" \
	    -p "$(pgsql__port)" -U segm -d postgres; do
		# fatal at start (a lock taken, bad settings): no use
		# waiting out the deadline
		if ! pgsql__pid "$d" > /dev/null &&
		    tail -c +$((logsz + 1)) "$d/postgres.log" 2>/dev/null |
		    grep -q 'FATAL\|PANIC'; then
			pgsql__log_tail "$d"
			pgsql__err "the server in $d exited at start"
			return 1
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			pgsql__log_tail "$d"
			pgsql__err "the server in $d did not accept" \
			    "connections within ${PGSQL_TIMEOUT:-60} s"
			return 1
		fi
		sleep 0.1
	done
	PGSQL_URL=$(pgsql__url "$d" segm)
	export PGSQL_URL
}

# the URI of database DB in DIR's cluster
pgsql__url() {
	echo "postgresql:///$2?host=$1/sock&port=$(pgsql__port)&user=segm"
}

# psql on DIR's database DB, ARGS... after the connection
pgsql__psql() {
	local d=$1 db=$2
	shift 2
	psql -X -q -v ON_ERROR_STOP=1 -At -d "$(pgsql__url "$d" "$db")" "$@"
}

pgsql_start() {
	local d u=${PGSQL_USER:-postgres}
	pgsql__bin && pgsql__dir "$1" make || return 1
	d=$pgsql__d
	if [ "$(id -u)" = 0 ]; then
		id -u "$u" > /dev/null 2>&1 ||
		    pgsql__err "no user $u to run the server as" \
		    "(set PGSQL_USER)" || return 1
		pgsql__reachable "$d" || return 1
	fi
	if [ ! -f "$d/data/PG_VERSION" ]; then
		rm -rf "$d/data" "$d/sock"
		mkdir -m 0700 "$d/data" && mkdir -m 0755 "$d/sock" &&
		    : > "$d/postgres.log" || return 1
		if [ "$(id -u)" = 0 ]; then
			chown "$u" "$d/data" "$d/sock" "$d/postgres.log" ||
			    return 1
		fi
		pgsql__as test -w "$d/data" ||
		    pgsql__err "$d/data: the server's user cannot reach it" \
		    "(a parent directory closed to it?)" || return 1
		pgsql__as "$PGSQL_BIN/initdb" -D "$d/data" -U segm \
		    --auth=trust --locale=C --encoding=UTF8 --no-sync \
		    > "$d/initdb.log" 2>&1 ||
		    { tail -20 "$d/initdb.log" >&2
		    pgsql__err "initdb failed (log: $d/initdb.log)"; return 1; }
		# appended: the last setting of a name wins
		pgsql__as sh -c "cat >> '$d/data/postgresql.conf'" <<-CONF ||
		# tests/lib/pgsql.sh: a private cluster, unix socket only
		listen_addresses = ''
		unix_socket_directories = '$d/sock'
		unix_socket_permissions = 0777
		port = $(pgsql__port)
		fsync = off
		log_line_prefix = '%m [%p] %q%u@%d '
		CONF
		    return 1
	fi
	case " $PGSQL_DIRS " in
	*" $d "*) ;;
	*) PGSQL_DIRS="$PGSQL_DIRS $d" ;;
	esac
	if ! pgsql__run "$d"; then
		pgsql_stop "$d"
		return 1
	fi
	if [ -z "$(pgsql__psql "$d" postgres -c "SELECT 1 FROM pg_database
	    WHERE datname = 'segm'")" ] &&
	    ! pgsql__psql "$d" postgres -c "CREATE DATABASE segm
	    TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
	then
		pgsql_stop "$d"
		pgsql__err "cannot create database segm"
		return 1
	fi
}

pgsql_stop() {
	local d t
	pgsql__dir "$1" || return 0
	d=$pgsql__d
	[ -f "$d/data/PG_VERSION" ] || return 0
	pgsql__pid "$d" > /dev/null || return 0
	pgsql__bin || return 1
	t=${PGSQL_TIMEOUT:-60}
	pgsql__as "$PGSQL_BIN/pg_ctl" -D "$d/data" -m fast -w -t "$t" stop \
	    > /dev/null 2>&1 && return 0
	pgsql__as "$PGSQL_BIN/pg_ctl" -D "$d/data" -m immediate -w -t "$t" \
	    stop > /dev/null 2>&1 && return 0
	pgsql_kill "$d"
}

pgsql_restart() {
	pgsql_stop "$1" || return 1
	pgsql_start "$1"
}

pgsql_kill() {
	local d pm kids p end
	pgsql__dir "$1" || return 0
	d=$pgsql__d
	pm=$(pgsql__pid "$d") || return 0
	# stopped first, so that it forks nothing more while its children
	# are listed; they are killed too (each is its own session leader,
	# not in the postmaster's process group), as they would be in a crash
	kill -STOP "$pm" 2>/dev/null
	kids=$(ps -o pid= --ppid "$pm" 2>/dev/null)
	# shellcheck disable=SC2086
	kill -KILL "$pm" $kids 2>/dev/null
	end=$(($(date +%s) + ${PGSQL_TIMEOUT:-60}))
	for p in $pm $kids; do
		while pgsql__alive "$p"; do
			[ "$(date +%s)" -lt "$end" ] ||
			    pgsql__err "process $p of $d outlived SIGKILL" ||
			    return 1
			sleep 0.05
		done
	done
}

pgsql_psql() {
	local d s
	pgsql__dir "$1" || pgsql__err "${1:-}: no such cluster" || return 1
	d=$pgsql__d
	shift
	if [ $# -eq 0 ]; then
		set -- -f -
	else
		for s in "$@"; do
			set -- "$@" -c "$s"
			shift
		done
	fi
	pgsql__psql "$d" "${PGSQL_DB:-segm}" "$@"
}

pgsql_available() {
	pgsql__bin 2>/dev/null && command -v psql > /dev/null 2>&1 &&
	    { [ "$(id -u)" != 0 ] || id -u "${PGSQL_USER:-postgres}" \
	    > /dev/null 2>&1; }
}

pgsql_cleanup() {
	local c
	for c in $PGSQL_DIRS; do
		pgsql_stop "$c"
	done
	return 0
}
