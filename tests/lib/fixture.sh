# fixture.sh - the store most integration tests share: one customer per
# case the milter must tell apart, imported with segctl, segments built,
# and a segmilter.conf that listens on a unix socket in the directory.
#
#   . tests/lib/fixture.sh; fixture_store DIR     (BUILD names the build)
#
# Customers: vera (vip), rita (repeat), fred (first_time), lara (lapsed),
# sue (subscriber), bo (b2b), nora (consent revoked), una (unsubscribed),
# bob (bounced), fay (two campaigns in the last two hours: capped).
# Campaign "launch" excludes b2b and has vip, lapsed and default variants.
# STORE, when set, names the store instead of DIR/store.db: a PostgreSQL
# URI (tests/lib/pgsql.sh) for the fleet's tests.
#
# The test's store on either engine (tests/run.sh sets T_STORE_ENGINE=pgsql
# for the tests whose header says "# engines: sqlite pgsql"):
#   store_start DIR      STORE=DIR/store.db; or, on pgsql, a private
#                        PostgreSQL started in DIR/pg and STORE the URI of
#                        its database segm.  No server to start: the test
#                        is skipped (exit 77); one that fails to start
#                        fails it (the caller's fail).  The caller's EXIT
#                        trap, set before, calls store_stop
#   store_stop           stops what store_start started, and lets go a
#                        store_hold not released; for traps
#   store_db NAME FILE   prints another store beside STORE: FILE, or on
#                        pgsql the URI of database NAME, created
#   store_hold TABLE     another writer holds the store until store_release:
#                        SQLite's write lock on the file, or PostgreSQL's
#                        EXCLUSIVE lock on TABLE (reads go on, writes wait);
#                        returns once it is held
#   store_release        lets it go; fails the test if the holder failed
# Run from the source tree; the caller defines fail() (as for wait_until).

. tests/lib/pgsql.sh
. tests/lib/wait.sh

ago() { date -u -d "-$1" +%Y-%m-%dT%H:%M:%SZ; }
# qs STORE SQL: SQL on STORE, a file or a PostgreSQL URI; the answer's
# rows, fields separated by '|'.  q SQL: on the test's store.
qs() {
	case $1 in
	postgresql://*) psql -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2" ;;
	*) sqlite3 "$1" "$2" ;;
	esac
}
q() { qs "${STORE:-$T/store.db}" "$1"; }

store_start() {
	STORE_PG=""
	if [ "${T_STORE_ENGINE:-sqlite}" != pgsql ]; then
		STORE=$1/store.db
		return 0
	fi
	pgsql_available ||
	    { echo "$(basename "$0" .sh): no PostgreSQL server"; exit 77; }
	STORE_PG=$1/pg
	pgsql_start "$STORE_PG" > "$1/pg.out" 2>&1 ||
	    fail "pgsql: $(cat "$1/pg.out")"
	STORE=$PGSQL_URL
}

store_stop() {
	# a holder the test left, failing: its loop would outlive $T
	[ -z "${STORE_HOLDER:-}" ] || touch "$T/store.release"
	[ -z "${STORE_PG:-}" ] || pgsql_stop "$STORE_PG"
	[ -z "${STORE_HOLDER:-}" ] || wait "$STORE_HOLDER" 2>/dev/null
	return 0
}

store_db() {
	case $STORE in
	postgresql://*)
		pgsql_psql "$STORE_PG" "CREATE DATABASE $1" >&2 || return 1
		echo "$STORE" | sed "s|///segm?|///$1?|" ;;
	*) echo "$2" ;;
	esac
}

# the holder waits for a file, not for a time: the test says when
store_hold() {
	store__until="sh -c 'until [ -e $T/store.release ]; do sleep 0.1; done'"
	rm -f "$T/store.release"
	store__table=$1
	case ${STORE:-$T/store.db} in
	postgresql://*)
		printf '%s\n' "BEGIN;" "LOCK TABLE $1 IN EXCLUSIVE MODE;" \
		    "\\! $store__until" "ROLLBACK;" |
		    psql -X -q -At -v ON_ERROR_STOP=1 "$STORE" -f - \
		    > "$T/store.hold" 2>&1 & ;;
	*)
		# -bail: "locked" only once BEGIN IMMEDIATE has the lock;
		# .timeout: a write of the daemon's may hold it a moment
		printf '%s\n' ".timeout 10000" "BEGIN IMMEDIATE;" \
		    ".print locked" ".shell $store__until" "ROLLBACK;" |
		    sqlite3 -bail "${STORE:-$T/store.db}" \
		    > "$T/store.hold" 2>&1 & ;;
	esac
	STORE_HOLDER=$!
	wait_until 'store__held || ! kill -0 "$STORE_HOLDER" 2>/dev/null' \
	    "the store was not locked"
	store__held || fail "the store was not locked: $(cat "$T/store.hold")"
}

# the holder has its lock: on PostgreSQL as the server says
store__held() {
	case ${STORE:-$T/store.db} in
	postgresql://*)
		[ "$(q "SELECT count(*) FROM pg_locks WHERE relation =
		    '$store__table'::regclass AND mode = 'ExclusiveLock' AND
		    granted" 2>/dev/null)" = 1 ] ;;
	*) grep -q '^locked$' "$T/store.hold" ;;
	esac
}

store_release() {
	touch "$T/store.release"
	wait "$STORE_HOLDER"
	store__rc=$?
	STORE_HOLDER=""
	[ "$store__rc" = 0 ] || fail "the store's holder: $(cat "$T/store.hold")"
}

fixture_store() {
	fx=$1
	mkdir -p "$fx/data" "$fx/campaigns"
	cat > "$fx/data/customers.csv" <<-CSV
	email,first_name,country,language,currency,account_type
	vera@example.com,Vera,DE,de,EUR,
	rita@example.com,Rita,FR,fr,EUR,
	fred@example.com,Fred,US,en,USD,
	lara@example.com,Lara,US,en,USD,
	sue@example.com,Sue,US,en,USD,
	bo@acme.example,Bo,US,en,USD,b2b
	nora@example.com,Nora,US,en,USD,
	una@example.com,Una,US,en,USD,
	bob@example.com,Bob,US,en,USD,
	fay@example.com,Fay,US,en,USD,
	CSV
	{
		echo "order_id,email,created_at,total,currency"
		for i in 1 2 3 4 5 6; do
			echo "V$i,vera@example.com,$(ago "$((i * 20)) days"),400.00,EUR"
		done
		echo "R1,rita@example.com,$(ago '20 days'),40.00,EUR"
		echo "R2,rita@example.com,$(ago '50 days'),45.00,EUR"
		echo "F1,fred@example.com,$(ago '10 days'),30.00,USD"
		echo "L1,lara@example.com,$(ago '300 days'),60.00,USD"
		echo "L2,lara@example.com,$(ago '400 days'),60.00,USD"
		echo "B1,bo@acme.example,$(ago '5 days'),900.00,USD"
	} > "$fx/data/orders.csv"
	{
		echo "email,channel,status,source,recorded_at,evidence"
		for c in vera rita fred lara sue una bob fay nora; do
			echo "$c@example.com,email,granted,checkout,$(ago '500 days'),box ticked"
		done
		echo "bo@acme.example,email,granted,checkout,$(ago '500 days'),box ticked"
		echo "nora@example.com,email,revoked,preference_center,$(ago '30 days'),"
	} > "$fx/data/consent.csv"
	{
		echo "email,campaign_id,type,occurred_at"
		echo "una@example.com,autumn,unsubscribe,$(ago '10 days')"
		echo "bob@example.com,autumn,bounce,$(ago '10 days')"
		echo "fay@example.com,flash-1,sent,$(ago '2 hours')"
		echo "fay@example.com,flash-2,sent,$(ago '1 hours')"
	} > "$fx/data/engagement.csv"

	cat > "$fx/segmilter.conf" <<-CONF
	store = "${STORE:-$fx/store.db}";
	store_timeout_ms = 500;
	milter = {
	  socket = "unix:$fx/segmilter.sock";
	  socket_mode = "0666";
	  user = "";
	  campaigns = "$fx/campaigns";
	  spool_dir = "$fx";
	};
	policy = { cap_count = 2; };
	CONF
	cat > "$fx/campaigns/launch.conf" <<-'CONF'
	id = "launch";
	audience = { exclude = [ "b2b" ]; };
	variants = {
	  vip = { offer = "VIP: 25% off & free shipping"; headline = "For our best"; };
	  lapsed = { offer = "We miss you: 15% off"; headline = "Come back"; };
	  default = { offer = "10% off"; headline = "Spring launch"; };
	};
	CONF
	fs="$BUILD/segctl -q -c $fx/segmilter.conf"
	$fs init && $fs import customers "$fx/data/customers.csv" &&
	    $fs import orders "$fx/data/orders.csv" &&
	    $fs import consent "$fx/data/consent.csv" &&
	    $fs import engagement "$fx/data/engagement.csv" &&
	    $fs segments rebuild
}
