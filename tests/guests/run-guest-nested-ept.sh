#!/bin/sh
# run-guest-levels.sh, then check that L0 built shadow EPT02 for L1's EPT:
# the trace has nested_ept "root" and "fill" events (docs/nested.md
# "Nested EPT").
#
# usage: run-guest-nested-ept.sh TRACE RUN-GUEST-ARGS... -- RUN-ARGS...
set -u
trace=$1
here=$(dirname "$0")
sh "$here/run-guest-levels.sh" "$@" || exit $?
for a in root fill; do
    n=$(grep '"event":"nested_ept"' "$trace" | grep -c '"action":"'$a'"')
    if [ "$n" -eq 0 ]; then
        echo "FAIL: $trace: no nested_ept event with action $a"
        exit 1
    fi
    echo "trace: $n nested_ept $a events"
done
exit 0
