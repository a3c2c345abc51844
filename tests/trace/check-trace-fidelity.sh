#!/bin/sh
# Tracing must not change the run: the same image and flags run once plain
# and once with --trace FILE, and the traced run must give the same guest
# output (serial port, debug-exit status) and the same --stats figures (modelled cycles, instructions, TLB, modelled
# TLB and paging-structure caches, EPT walks, VM exits and their cycles):
# the trace's look at the exiting instruction's bytes sets no accessed or
# dirty flag, charges no cycle and fills no TLB (docs/trace-schema.md).
#
# usage: check-trace-fidelity.sh --nvmx PATH --image IMAGE --out DIR [-- RUN-ARGS...]
set -u
nvmx= image= out=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check-trace-fidelity.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[ -f "$image" ] || { echo "check-trace-fidelity.sh: image '$image' not found" >&2; exit 2; }
mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }

# run NAME EXTRA-ARGS...: serial output, status and the stats lines that do
# not depend on the host (not host seconds, not MIPS).
run() {
    name=$1; shift
    "$nvmx" run "$image" --serial "$out/$name.serial" --stats "$@" 2>"$out/$name.err" >/dev/null
    echo "status $?" >"$out/$name.stats"
    grep '^nvmx: stats: ' "$out/$name.err" | grep -v 'host seconds\|MIPS' >>"$out/$name.stats"
}

run plain "$@"
grep -q 'modelled cycles' "$out/plain.stats" || fail "no stats from the plain run: $(cat "$out/plain.err")"
grep -q 'VM exits' "$out/plain.stats" || fail "the image took no VM exit: nothing to check"
run trace --trace "$out/trace.jsonl" "$@"
grep -q '"vmexit"' "$out/trace.jsonl" || fail "--trace wrote no vmexit event"
cmp -s "$out/plain.serial" "$out/trace.serial" ||
    fail "guest output differs with --trace: $(diff "$out/plain.serial" "$out/trace.serial" | head -5)"
cmp -s "$out/plain.stats" "$out/trace.stats" ||
    fail "stats differ with --trace: $(diff "$out/plain.stats" "$out/trace.stats" | head -8)"
echo "PASS: $(sed -n 's/^nvmx: stats: modelled cycles *//p' "$out/plain.stats") cycles in each run"
