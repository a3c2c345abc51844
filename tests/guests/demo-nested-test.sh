#!/bin/sh
# The nested demo script (make demo) at two iteration counts: it must end
# successfully, print the table and figures, and the per-L3-exit figures
# (differences of two runs) must not depend on the count, since every
# iteration of the workload is the same CPUID round trip.
#
# usage: demo-nested-test.sh DIR NVMX STACK IMAGES   (the demo's arguments)
set -u
dir=$1
shift
here=$(dirname "$0")
mkdir -p "$dir" || exit 2
for n in 10 20; do
    sh "$here/../../scripts/demo-nested.sh" "$@" "$dir/demo-$n.jsonl" $n >"$dir/out-$n.txt" 2>&1 || {
        cat "$dir/out-$n.txt"
        echo "FAIL: demo script with N=$n"
        exit 1
    }
    for want in "2 passed, 0 failed" "Total Samples" "exits from level 1 to L0" \
                "exits from level 2 to L0" "exits from level 3 to L0" \
                "exit multiplication: 1 L3 CPUID exit ->" "Level annotations: [0-9]*, 0 disagree" \
                "modelled cycles per L3 exit:" "demo: trace in"; do
        grep -q "$want" "$dir/out-$n.txt" || { cat "$dir/out-$n.txt"; echo "FAIL: no '$want'"; exit 1; }
    done
    grep -E '(exits from|exit multiplication:|modelled cycles per L3)' "$dir/out-$n.txt" >"$dir/figures-$n.txt"
done
cat "$dir/figures-20.txt"
# The exit counts must be equal. The modelled cycles may differ by a few
# parts per 10^4: the workload converts its larger TSC totals to decimal
# with more digits (more instructions, no more exits).
if ! cmp -s "$dir/figures-10.txt" "$dir/figures-20.txt"; then
    grep -v 'modelled cycles' "$dir/figures-10.txt" >"$dir/exits-10.txt"
    grep -v 'modelled cycles' "$dir/figures-20.txt" >"$dir/exits-20.txt"
    c10=$(sed -n 's/.*modelled cycles per L3 exit: //p' "$dir/figures-10.txt")
    c20=$(sed -n 's/.*modelled cycles per L3 exit: //p' "$dir/figures-20.txt")
    if ! cmp -s "$dir/exits-10.txt" "$dir/exits-20.txt" ||
       ! awk -v a="$c10" -v b="$c20" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d * 10000 <= 5 * a) }'; then
        diff "$dir/figures-10.txt" "$dir/figures-20.txt"
        echo "FAIL: the per-L3-exit figures depend on the iteration count"
        exit 1
    fi
fi
# at least one exit from each level per L3 exit: L3's CPUID exits to L0
# (level 2) and is reflected to L1, whose handling exits to L0 (level 1)
awk '/exits from level/ { if ($NF + 0 < 1) bad = 1 } END { exit bad }' "$dir/figures-20.txt" ||
    { echo "FAIL: fewer than one exit per level per L3 exit"; exit 1; }
exit 0
