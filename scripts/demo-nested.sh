#!/bin/sh
# The nested demo (`make demo`): L0 (nvmx --l0) -> turtle L1 -> turtle L2
# -> cpuid workload L3, traced. Prints the per-level exit table, the exit
# multiplication (the VM exits one L3 CPUID exit causes at each level) and
# the modelled cycles per L3 exit.
#
# usage: demo-nested.sh NVMX TURTLE INNER-TURTLE WORKLOAD TRACE [N]
#
# This is the stack of configs/stack/depth3.json (`nvmx run --stack`),
# with the iteration count set here. L0 runs L1 (the outer turtle) on
# vmcs01 and whatever L1 enters on vmcs02 -- the inner turtle (L2) or the
# workload (L3), merged by the outer turtle -- and infers which from the
# exits it reflects (docs/nested.md "Levels"); the turtles and the workload
# confirm their levels (level=N). The per-L3-exit figures are the
# difference between a run of 2N CPUID iterations and a run of N, divided
# by N: boot, output and teardown cancel out, every figure is modelled
# (no host clock), so the same build gives the same numbers.
set -u
if [ $# -lt 5 ]; then
    echo "usage: demo-nested.sh NVMX TURTLE INNER-TURTLE WORKLOAD TRACE [N]" >&2
    exit 2
fi
nvmx=$1 turtle=$2 inner=$3 workload=$4 trace=$5 n=${6:-100}
half=${trace%.jsonl}-half.jsonl

run() { # count trace
    st=0
    "$nvmx" run "$turtle" --l0 --cmdline level=1 --module "$inner,level=2" \
        --module "$workload,count=$1 level=3" --trace "$2" >"$2.serial" 2>&1 || st=$?
    # debug-exit 0 is exit status 1, the workload's PASS (docs/cli.md)
    if [ $st -ne 1 ] || grep -q '^FAIL' "$2.serial"; then
        cat "$2.serial"
        echo "demo: nvmx exit status $st (see docs/cli.md)" >&2
        exit 1
    fi
}

echo "demo: L0 (nvmx --l0) -> turtle L1 -> turtle L2 -> cpuid workload L3, $((2 * n)) CPUID iterations"
run $((2 * n)) "$trace"
cat "$trace.serial"
run "$n" "$half"

echo
echo "VM exits per level (then the exit multiplication over all of L3's exits, output included):"
"$nvmx" trace stats --by level "$trace" || exit 1

# exits and cycles stamp of the last event, per level, of one trace
counts() {
    "$nvmx" trace stats --by level --format csv "$1" |
        awk -F, 'NR > 1 { printf "%s=%s ", $1, $3 }'
    tail -n 1 "$1" | sed -n 's/.*"cycles":\([0-9]*\).*/end=\1/p'
}
full=$(counts "$trace")
part=$(counts "$half")
echo "Per L3 CPUID exit (difference of the $((2 * n))- and $n-iteration runs, divided by $n):"
echo "$full|$part" | awk -v n="$n" -F'|' '
    function parse(s, a,   i, k, f) {
        k = split(s, f, /[ =]/)
        for (i = 1; i + 1 <= k; i += 2) a[f[i]] = f[i + 1]
    }
    {
        parse($1, A); parse($2, B)
        total = 0
        for (l = 1; l <= 3; l++) {
            d = (A["L" l] - B["L" l]) / n
            total += d
            printf "  exits from level %d to L0: %.2f\n", l, d
        }
        printf "  exit multiplication: 1 L3 CPUID exit -> %.2f exits to L0\n", total
        printf "  modelled cycles per L3 exit: %.0f\n", (A["end"] - B["end"]) / n
    }'
echo "demo: trace in $trace ($(wc -l <"$trace") lines); try: $nvmx trace stats --by level,reason $trace"
rm -f "$half" "$half.serial" "$trace.serial"
