#!/bin/sh
# L0 with a 4-page EPT02 pool under the turtle with EPT (ept=1) running
# the ept_touch workload, one instruction of which needs more EPT02 tables
# than 4 pages hold: the run must stop with L0's message naming the pool
# and exit status 4, not loop for ever (docs/nested.md "Nested EPT").
#
# usage: check-pool-too-small.sh NVMX TURTLE WORKLOAD OUTDIR
set -u
nvmx=$1 turtle=$2 workload=$3 out=$4
here=$(dirname "$0")
mkdir -p "$out" || exit 2
sed 's/"ept02_pool_pages": [0-9]*/"ept02_pool_pages": 4/' "$here/small-pool.json" > "$out/pool4.json"
"$nvmx" run "$turtle" --l0 --l0-config "$out/pool4.json" --feature-control-locked \
    --max-insns 100000000 --cmdline "ept=1 mem=32M" --module "$workload,count=20" \
    > "$out/out.txt" 2> "$out/err.txt"
status=$?
cat "$out/err.txt"
if [ $status -ne 4 ]; then
    echo "FAIL: exit status $status, expected 4 (L0 internal error)"
    exit 1
fi
if ! grep -q 'nvmx: L0: unsupported: the EPT02 pool (4 pages, policy ept02_pool_pages) cannot hold' "$out/err.txt"; then
    echo "FAIL: no message naming the EPT02 pool"
    exit 1
fi
echo "PASS: a too-small EPT02 pool stops the run with status 4 and says why"
exit 0
