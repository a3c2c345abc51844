#!/bin/sh
# Run a guest with --trace and check the trace with `nvmx trace stats`:
#  - the first line is the header (a schema number) naming the image;
#  - `nvmx trace stats` accepts the trace and prints the table;
#  - a second identical run gives a byte-identical trace;
#  - a trace cut mid-line is read with a "partial trace" warning;
#  - a malformed line is refused with FILE:LINE and exit status 2;
#  - with --expect-reason NAME, the table has a row for that exit reason.
#
# usage: check-trace.sh --nvmx PATH --image IMAGE --out DIR
#                       [--expect-reason NAME] [-- RUN-ARGS...]
set -u

nvmx= image= out= reason=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --expect-reason) reason=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check-trace.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$nvmx" ] || [ -z "$image" ] || [ -z "$out" ]; then
    echo "check-trace.sh: --nvmx, --image and --out are required" >&2
    exit 2
fi
if [ ! -f "$image" ]; then
    echo "check-trace.sh: image '$image' not found" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }

# run_to TRACE RUN-ARGS...
run_to() {
    trace=$1
    shift
    "$nvmx" run "$image" --serial "$out/serial.txt" --trace "$trace" "$@" \
        >/dev/null 2>"$out/run.txt"
    st=$?
    # Guests end through debug-exit: odd statuses; the even ones are nvmx's own.
    [ $((st % 2)) -eq 1 ] || { cat "$out/run.txt" >&2; fail "run ended with status $st"; }
}

rm -f "$out/a.jsonl" "$out/b.jsonl"
run_to "$out/a.jsonl" "$@"
run_to "$out/b.jsonl" "$@"

head -n 1 "$out/a.jsonl" | grep -q '^{"event":"header","schema":[1-9][0-9]*,"nvmx":"[^"]*","image":"' ||
    fail "first line is not a header: $(head -n 1 "$out/a.jsonl")"
cmp -s "$out/a.jsonl" "$out/b.jsonl" || fail "two identical runs gave different traces"

"$nvmx" trace stats "$out/a.jsonl" >"$out/stats.txt" 2>"$out/stats.err" ||
    { cat "$out/stats.err" >&2; fail "nvmx trace stats refused the trace"; }
grep -q '^ *VM-EXIT *Samples *Samples% *Time% *Min cycles *Max cycles *Avg cycles$' \
    "$out/stats.txt" || fail "no table header in: $(cat "$out/stats.txt")"
grep -q '^Total Samples:[0-9]*, Total cycles:[0-9]*\.$' "$out/stats.txt" ||
    fail "no totals line"
if [ -n "$reason" ]; then
    grep -q "^ *$reason  *[1-9][0-9]* " "$out/stats.txt" ||
        fail "no samples of exit reason '$reason' in: $(cat "$out/stats.txt")"
fi
cat "$out/stats.txt"

# A run that died mid-write: the last line cut short. A warning, and the
# complete lines before it are used.
lines=$(wc -l <"$out/a.jsonl")
{ cat "$out/a.jsonl"; printf '{"event":"vmexit","cycles":12'; } >"$out/cut.jsonl"
"$nvmx" trace stats "$out/cut.jsonl" >"$out/cut.txt" 2>"$out/cut.err" ||
    fail "a trace cut mid-line was refused: $(cat "$out/cut.err")"
grep -q "^$out/cut.jsonl:$((lines + 1)): warning: truncated last line" "$out/cut.err" ||
    fail "no partial-trace warning: $(cat "$out/cut.err")"
cmp -s "$out/cut.txt" "$out/stats.txt" || fail "the cut trace gave a different table"

# A malformed line: FILE:LINE and status 2.
{ head -n 1 "$out/a.jsonl"; echo '{"event":"vmexit","cycles":1}'; } >"$out/bad.jsonl"
"$nvmx" trace stats "$out/bad.jsonl" >/dev/null 2>"$out/bad.err"
st=$?
[ $st -eq 2 ] || fail "malformed trace: status $st, expected 2"
grep -q "^$out/bad.jsonl:2: vmexit: missing key" "$out/bad.err" ||
    fail "malformed trace: no FILE:LINE report: $(cat "$out/bad.err")"
echo PASS
exit 0
