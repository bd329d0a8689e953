#!/bin/sh
# t-layers.sh - the modules' floors, as HACKING.md draws them, checked
# on the includes: a module includes headers of its own floor and those
# below, never above.  The one cycle there was (the outbox reaching up
# into the milter for the runtime, the milter into the outbox for where
# an SMS recipient lives) is what src/daemon/ removed; this keeps it out.
#
#   util < conf < store < segment, policy, render, audit, ... < daemon
#        < milter, outbox, feedback (siblings) < cli and the programs
#
# policy and render decide and format and do no I/O: they see no store,
# no daemon service.
#
# The store is seen through contracts (include/store.h says which): the
# handle in store.h, and one store_*.h per kind of client, each including
# store.h alone.  A module names only the contracts of its kind: the
# imports write records, the segments read facts and write generations,
# the lift report reads outcomes; the milter looks up and queues, never
# imports, rebuilds or reports.
set -u
fail() { echo "FAIL: $*"; exit 1; }
bad=""

# DIR, then the headers its files (and the headers it owns) must not name
forbid() {
	dir=$1; shift
	for h in "$@"; do
		hits=$(grep -l "^#include \"$h\"" $dir 2>/dev/null)
		[ -n "$hits" ] && bad="$bad
$(echo "$hits" | sed "s|\$| includes $h|")"
	done
}
UPPER="milter.h mlfi.h msg_int.h outbox.h outbox_int.h"
CONTRACTS="store_audit.h store_feedback.h store_lookup.h store_outbox.h
    store_record.h store_report.h store_retention.h store_segment.h"
STORE="store.h $CONTRACTS"
# every contract but those named
but() {
	for c in $CONTRACTS; do
		case " $* " in *" $c "*) ;; *) echo $c ;; esac
	done
}
forbid "src/util/*.c" conf.h $STORE daemon.h $UPPER
forbid "src/conf/*.c" $STORE daemon.h $UPPER
forbid "src/store/*.c" daemon.h policy.h render.h $UPPER
forbid "include/store.h include/store_*.h" $CONTRACTS
forbid "src/policy/*.c include/policy.h" $STORE daemon.h gateway.h $UPPER
forbid "src/render/*.c include/render.h include/template.h" $STORE daemon.h gateway.h $UPPER
forbid "src/import/*.c src/import/*.h include/import.h" $(but store_record.h)
forbid "src/segment/*.c include/segment.h" $(but store_segment.h)
forbid "src/report/*.c include/report.h include/lift.h" $(but store_report.h)
forbid "src/audit/*.c src/audit/*.h include/audit.h" $(but store_audit.h)
forbid "src/daemon/*.c include/daemon.h" $(but store_lookup.h)
# the milter, the outbox and segfeed write audit rows through audit.h
forbid "src/milter/*.c src/milter/*.h include/milter.h" \
    $(but store_lookup.h store_outbox.h)
forbid "src/outbox/*.c src/outbox/*.h include/outbox.h" \
    $(but store_lookup.h store_outbox.h store_record.h)
forbid "src/feedback/*.c include/feedback*.h include/dsn.h include/lmtp.h" \
    $(but store_feedback.h store_lookup.h store_outbox.h store_record.h)
forbid "src/daemon/*.c include/daemon.h" gateway.h $UPPER
forbid "src/outbox/*.c src/outbox/*.h" milter.h mlfi.h msg_int.h
# the milter's own files; main.c is the program, which starts the outbox
forbid "$(ls src/milter/*.c src/milter/*.h | grep -v main.c)" outbox.h outbox_int.h
forbid "src/feedback/*.c" milter.h mlfi.h msg_int.h outbox_int.h
[ -z "$bad" ] || fail "a module includes a header above its floor or its contracts:$bad"
n=$(ls src/*/*.c | wc -l)
echo "t-layers: ok ($n files)"
