#!/bin/sh
# The nested demo (`make demo`): a stack description run with `nvmx run
# --stack` (configs/stack/depth3.json: L0 -> turtle L1 -> turtle L2 ->
# cpuid workload L3), traced. Prints the per-level exit table, the exit
# multiplication (the VM exits one exit of the innermost level causes at
# each level), the modelled cycles per innermost exit and where the trace is.
#
# usage: demo-nested.sh NVMX STACK IMAGES TRACE [N]
#   IMAGES is the build tree's guests directory (`--images`); N the
#   workload's iteration count (default the stack's own count=).
#
# L0 runs L1 (the outer turtle) on vmcs01 and whatever L1 enters on vmcs02
# and infers the deeper levels from the exits it reflects (docs/nested.md
# "Levels"); the turtles and the workload confirm their levels (the stack's
# `annotate`). The per-exit figures are the difference between the run of
# N iterations and a run of 2N (the same stack with count=2N), divided by
# N: boot, output and teardown cancel out (the workload's lines have the
# same length when the counts have the same number of digits), and every
# figure is modelled (no host clock), so the same build gives the same
# numbers.
set -u
if [ $# -lt 4 ]; then
    echo "usage: demo-nested.sh NVMX STACK IMAGES TRACE [N]" >&2
    exit 2
fi
nvmx=$1 stack=$2 images=$3 trace=$4
own=$(sed -n 's/.*"count=\([0-9]*\)[" ].*/\1/p' "$stack" | tail -n 1)
n=${5:-$own}
case "$n" in '' | *[!0-9]*) echo "demo: no iteration count (count=) in $stack" >&2; exit 2 ;; esac
if [ "$n" -lt 1 ]; then
    echo "demo: the iteration count must be at least 1" >&2
    exit 2
fi
double=$((2 * n))
base=${trace%.jsonl}
mkdir -p "$(dirname "$trace")" || exit 2
depth=$(grep -c '"image"' "$stack")

# stack_with COUNT FILE: the stack with the workload's count= set
stack_with() {
    sed "s/\"count=[0-9]*/\"count=$1/" "$stack" >"$2"
}

run() { # stack-file trace
    st=0
    "$nvmx" run --stack "$1" --images "$images" --trace "$2" >"$2.serial" 2>&1 || st=$?
    # debug-exit 0 is exit status 1, the workload's PASS (docs/cli.md)
    if [ $st -ne 1 ] || grep -q '^FAIL' "$2.serial"; then
        cat "$2.serial"
        echo "demo: nvmx exit status $st (see docs/cli.md)" >&2
        exit 1
    fi
}

full_stack=$stack
if [ "$n" != "$own" ]; then
    full_stack=$base-stack.json
    stack_with "$n" "$full_stack"
fi
stack_with "$double" "$base-double-stack.json"
desc=$(sed -n 's/^ *"description": *"\(.*\)",* *$/\1/p' "$stack")
echo "demo: nvmx run --stack $stack: $desc; $n iterations"
run "$full_stack" "$trace"
grep -v '^nvmx: trace' "$trace.serial"
run "$base-double-stack.json" "$base-double.jsonl"

echo
echo "VM exits per level (then the exit multiplication over all of L$depth's exits, output included):"
"$nvmx" trace stats --by level "$trace" || exit 1

# exits and cycles stamp of the last event, per level, of one trace
counts() {
    "$nvmx" trace stats --by level --format csv "$1" |
        awk -F, 'NR > 1 { printf "%s=%s ", $1, $3 }'
    tail -n 1 "$1" | sed -n 's/.*"cycles":\([0-9]*\).*/end=\1/p'
}
full=$(counts "$trace")
part=$(counts "$base-double.jsonl")
echo "Per L$depth exit (difference of the $double- and $n-iteration runs, divided by $n):"
echo "$part|$full" | awk -v n="$n" -v depth="$depth" -F'|' '
    function parse(s, a,   i, k, f) {
        k = split(s, f, /[ =]/)
        for (i = 1; i + 1 <= k; i += 2) a[f[i]] = f[i + 1]
    }
    {
        parse($1, A); parse($2, B)
        total = 0
        for (l = 1; l <= depth; l++) {
            d = (A["L" l] - B["L" l]) / n
            total += d
            printf "  exits from level %d to L0: %.2f\n", l, d
        }
        printf "  exit multiplication: 1 L%d CPUID exit -> %.2f exits to L0\n", depth, total
        printf "  modelled cycles per L%d exit: %.0f\n", depth, (A["end"] - B["end"]) / n
    }'
echo "demo: trace in $trace ($(wc -l <"$trace") lines); try: $nvmx trace stats --by level,reason $trace"
rm -f "$base-double.jsonl" "$base-double.jsonl.serial" "$trace.serial" "$base-double-stack.json" \
    "$base-stack.json"
