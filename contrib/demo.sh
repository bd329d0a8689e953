#!/bin/sh
# demo.sh - the main job, end to end on a synthetic store:
# generate Shopify-format exports, create the SQLite store, import them,
# compute the eight segments, print them and explain two customers.
#
#   contrib/demo.sh [DIR] [CUSTOMERS]     (default demo/, 2000 customers)
set -eu
BUILD=${BUILD:-build}
DIR=${1:-demo}
N=${2:-2000}
NOW=2026-11-24T12:00:00Z
SEGCTL="$BUILD/segctl -s $DIR/store.db --now $NOW"

rm -rf "$DIR"
mkdir -p "$DIR"
$SEGCTL demo-data --customers "$N" --seed 42 "$DIR/data"
$SEGCTL init
# consent first: its dated statements are the evidence that the customers
# export's undated yes/no then confirms
for kind in products consent customers orders events engagement; do
	$SEGCTL import "$kind" "$DIR/data/$kind.csv"
done
$SEGCTL segments rebuild
echo
$SEGCTL segments
for lc in vip lapsed; do
	email=$(sqlite3 "$DIR/store.db" "SELECT c.email FROM customers c
	    JOIN customer_segments s ON s.customer_id = c.id
	    JOIN segment_state g ON g.generation = s.generation
	    WHERE s.lifecycle = '$lc' ORDER BY c.id LIMIT 1")
	[ -n "$email" ] || continue
	echo
	echo "\$ segctl explain $email"
	$SEGCTL explain "$email"
done
echo
echo "store: $DIR/store.db; exports: $DIR/data/"
