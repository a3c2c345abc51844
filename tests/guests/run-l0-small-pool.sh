#!/bin/sh
# run-l0-compare.sh --strict with L0's EPT02 pool cut down
# (tests/guests/l0/small-pool.json): the guest's lines must be the same as
# bare although L0 ran out of EPT02 pages and recycled its roots, which
# the --l0 run's trace must show (nested_ept drop "EPT02 pool exhausted").
#
# usage: run-l0-small-pool.sh --nvmx PATH --image IMAGE --out DIR
#                             [--max-insns N] [-- RUN-ARGS...]
set -u
here=$(dirname "$0")
out=
prev=
for a in "$@"; do
    [ "$prev" = --out ] && out=$a
    prev=$a
done
[ -n "$out" ] || { echo "run-l0-small-pool.sh: --out is required" >&2; exit 2; }
mkdir -p "$out" || exit 2
trace=$out/l0.jsonl
# both runs write the trace; the --l0 run is the second
sh "$here/run-l0-compare.sh" --strict "$@" --l0-config "$here/l0/small-pool.json" \
    --trace "$trace" || exit $?
n=$(grep '"event":"nested_ept"' "$trace" | grep -c 'EPT02 pool exhausted')
if [ "$n" -eq 0 ]; then
    echo "FAIL: $trace: L0's EPT02 pool was never exhausted"
    exit 1
fi
echo "run-l0-small-pool.sh: $n EPT02 roots dropped for an exhausted pool"
exit 0
