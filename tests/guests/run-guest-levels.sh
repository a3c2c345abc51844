#!/bin/sh
# Run a guest with run-guest.sh and a JSON Lines trace, then check that
# every event of the trace after the header carries a level, and that
# events of L1 and L2 both occur (a nested run under --l0). With --depth N
# (first argument), events of every level 1..N must occur, and the trace
# must hold level annotations (guests given level=N) that all agree with
# the levels nvmx inferred (`nvmx trace stats --by level`).
#
# usage: run-guest-levels.sh [--depth N] TRACE RUN-GUEST-ARGS... -- RUN-ARGS...
set -u
depth=
if [ "$1" = --depth ]; then
    depth=$2
    shift 2
fi
trace=$1
shift
nvmx=
prev=
for a in "$@"; do
    [ "$prev" = --nvmx ] && nvmx=$a
    prev=$a
done
here=$(dirname "$0")
rm -f "$trace"
sh "$here/run-guest.sh" "$@" --trace "$trace"
status=$?
[ $status -eq 0 ] || exit $status
if [ -n "$depth" ]; then
    # The reader checks every line against the schema, in which `level` is
    # a key of every event; the rows give the levels that exited.
    "$nvmx" trace stats --by level --format json "$trace" >"$trace.stats.json" || exit 1
    python3 "$here/check-levels.py" "$trace.stats.json" "$depth" || exit 1
    echo "trace: every event has a level, levels 1..$depth exit, annotations agree"
    exit 0
fi
events=$(grep -vc '"event":"header"' "$trace")
leveled=$(grep -v '"event":"header"' "$trace" | grep -c '"level":[0-9][0-9]*[,}]')
if [ "$events" -eq 0 ] || [ "$events" -ne "$leveled" ]; then
    echo "FAIL: $trace: $events events, $leveled with a level"
    exit 1
fi
l=1
while [ "$l" -le 2 ]; do
    if ! grep -q '"level":'$l'[,}]' "$trace"; then
        echo "FAIL: $trace: no event at level $l"
        exit 1
    fi
    l=$((l + 1))
done
echo "trace: $events events, each with a level"
exit 0
