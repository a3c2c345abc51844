#!/bin/sh
# Run a guest with run-guest.sh and a JSON Lines trace, then check that
# every event of the trace after the header carries a level, and that
# events of L1 and L2 both occur (a nested run under --l0).
#
# usage: run-guest-levels.sh TRACE RUN-GUEST-ARGS... -- RUN-ARGS...
set -u
trace=$1
shift
here=$(dirname "$0")
rm -f "$trace"
sh "$here/run-guest.sh" "$@" --trace "$trace"
status=$?
[ $status -eq 0 ] || exit $status
events=$(grep -vc '"event":"header"' "$trace")
leveled=$(grep -v '"event":"header"' "$trace" | grep -c '"level":[1-9][0-9]*[,}]')
if [ "$events" -eq 0 ] || [ "$events" -ne "$leveled" ]; then
    echo "FAIL: $trace: $events events, $leveled with a level"
    exit 1
fi
for l in 1 2; do
    if ! grep -q '"level":'$l'[,}]' "$trace"; then
        echo "FAIL: $trace: no event at level $l"
        exit 1
    fi
done
echo "trace: $events events, each with a level"
exit 0
