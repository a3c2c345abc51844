#!/bin/sh
# Run a stack description (configs/stack) with `nvmx run --stack` and a
# trace: the innermost workload must PASS (debug-exit 0: status 1, a
# "0 failed" line, no FAIL line); under --l0 (DEPTH > 0) every level 1..DEPTH
# must exit and every level annotation must agree with the inferred level
# (tests/guests/check-levels.py).
#
# usage: run-stack.sh NVMX STACK IMAGES OUTDIR DEPTH [RUN-ARGS...]
set -u
nvmx=$1 stack=$2 images=$3 out=$4 depth=$5
shift 5
here=$(dirname "$0")
mkdir -p "$out" || exit 2
trace=$out/trace.jsonl.zst
rm -f "$trace"
st=0
"$nvmx" run --stack "$stack" --images "$images" --trace "$trace" "$@" >"$out/serial.txt" 2>&1 || st=$?
tr -d '\r' <"$out/serial.txt" | tail -n 5
if [ $st -ne 1 ] || grep -q '^FAIL' "$out/serial.txt" || ! grep -q ' 0 failed,' "$out/serial.txt"; then
    echo "FAIL: $stack: exit status $st (expected 1: the workload's PASS)"
    exit 1
fi
[ "$depth" -gt 0 ] || exit 0
"$nvmx" trace stats --by level --format json "$trace" >"$out/stats.json" || exit 1
python3 "$here/../guests/check-levels.py" "$out/stats.json" "$depth" || exit 1
"$nvmx" trace stats --by level "$trace" | sed -n '/^Exit multiplication/,$p'
