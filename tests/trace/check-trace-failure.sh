#!/bin/sh
# A trace that cannot be written (a full disk: /dev/full) stops the run:
# status 10, a message naming the file and the cause, and the run ends long
# before the guest would have.
#
# usage: check-trace-failure.sh --nvmx PATH --image IMAGE [-- RUN-ARGS...]
set -u
nvmx= image=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check-trace-failure.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[ -f "$image" ] || { echo "check-trace-failure.sh: image '$image' not found" >&2; exit 2; }
[ -w /dev/full ] || { echo "SKIP: no /dev/full"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

err=$("$nvmx" run "$image" --serial /dev/null --trace /dev/full --stats "$@" 2>&1 >/dev/null)
st=$?
[ $st -eq 10 ] || fail "status $st, expected 10: $err"
echo "$err" | grep -q "^nvmx run: --trace: writing '/dev/full' failed: No space left on device$" ||
    fail "no message naming the file: $err"
echo "$err" | grep -q "^nvmx: run stopped at RIP 0x[0-9a-f]*: its output cannot be written$" ||
    fail "no stop message: $err"
exits=$(echo "$err" | sed -n 's/^nvmx: stats: VM exits cpuid *\([0-9]*\) .*/\1/p')
[ -n "$exits" ] && [ "$exits" -lt 500000 ] || fail "the run went on after the failure ($exits exits)"
echo "PASS: stopped after $exits exits"
