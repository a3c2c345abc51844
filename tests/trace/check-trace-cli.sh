#!/bin/sh
# nvmx run --trace and the files around it:
#  - --trace - : stdout holds the trace alone (serial output goes to
#    stderr), and `nvmx trace stats -` reads it from a pipe;
#  - --trace - with --serial - (or --debugcon -, --trace-insns -) is refused,
#    status 2, before anything runs;
#  - a run that fails before it starts (no such image, a bad --cpu) leaves an
#    existing trace file as it was;
#  - a trace file that cannot be written is refused before the run.
#
# usage: check-trace-cli.sh --nvmx PATH --image IMAGE --out DIR [-- RUN-ARGS...]
set -u
nvmx= image= out=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check-trace-cli.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[ -f "$image" ] || { echo "check-trace-cli.sh: image '$image' not found" >&2; exit 2; }
mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }

# --trace -: JSON Lines only on stdout, the guest's serial text on stderr
"$nvmx" run "$image" --trace - "$@" >"$out/stdout.jsonl" 2>"$out/stderr.txt"
st=$?
[ $((st % 2)) -eq 1 ] || { cat "$out/stderr.txt" >&2; fail "--trace -: status $st"; }
grep -q "PASS" "$out/stderr.txt" || fail "--trace -: the guest's serial output is not on stderr"
grep -v -q '^{"event":' "$out/stdout.jsonl" && fail "--trace -: stdout holds other lines: $(grep -v '^{"event":' "$out/stdout.jsonl" | head -3)"
"$nvmx" run "$image" --trace - "$@" 2>/dev/null | "$nvmx" trace stats - >"$out/stats.txt" 2>"$out/stats.err" ||
    fail "--trace - | nvmx trace stats -: $(cat "$out/stats.err")"

# --trace - with another output on stdout: refused before the run
for o in --serial --debugcon --trace-insns; do
    err=$("$nvmx" run "$image" --trace - $o - "$@" 2>&1 >/dev/null)
    st=$?
    [ $st -eq 2 ] || fail "--trace - $o -: status $st, expected 2"
    echo "$err" | grep -q "^nvmx run: --trace - and $o - both want stdout: give $o a file$" ||
        fail "--trace - $o -: message: $err"
done

# A run that fails before it starts leaves an existing trace alone
echo "an earlier trace" >"$out/keep.jsonl"
"$nvmx" run "$out/no-such-image.elf" --trace "$out/keep.jsonl" "$@" >/dev/null 2>&1
st=$?
[ $st -eq 2 ] || fail "no such image: status $st, expected 2"
[ "$(cat "$out/keep.jsonl")" = "an earlier trace" ] || fail "a run that never started rewrote the trace"
"$nvmx" run "$image" --cpu "$out/no-such-cpu.json" --trace "$out/keep.jsonl" "$@" >/dev/null 2>&1
[ "$(cat "$out/keep.jsonl")" = "an earlier trace" ] || fail "a bad --cpu rewrote the trace"

# A trace that cannot be created: refused before the run, file named
err=$("$nvmx" run "$image" --trace "$out/no-such-dir/t.jsonl" "$@" 2>&1 >/dev/null)
st=$?
[ $st -eq 2 ] || fail "unwritable trace: status $st, expected 2"
echo "$err" | grep -q "^nvmx run: --trace: cannot open '$out/no-such-dir/t.jsonl': No such file or directory$" ||
    fail "unwritable trace: message: $err"
echo PASS
