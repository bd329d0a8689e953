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
forbid "src/util/*.c" conf.h store.h daemon.h $UPPER
forbid "src/conf/*.c" store.h daemon.h $UPPER
forbid "src/store/*.c" daemon.h policy.h render.h $UPPER
forbid "src/policy/*.c include/policy.h" store.h daemon.h gateway.h $UPPER
forbid "src/render/*.c include/render.h include/template.h" store.h daemon.h gateway.h $UPPER
forbid "src/daemon/*.c include/daemon.h" gateway.h $UPPER
forbid "src/outbox/*.c src/outbox/*.h" milter.h mlfi.h msg_int.h
# the milter's own files; main.c is the program, which starts the outbox
forbid "$(ls src/milter/*.c src/milter/*.h | grep -v main.c)" outbox.h outbox_int.h
forbid "src/feedback/*.c" milter.h mlfi.h msg_int.h outbox_int.h
[ -z "$bad" ] || fail "a module includes a header above its floor:$bad"
n=$(ls src/*/*.c | wc -l)
echo "t-layers: ok ($n files)"
