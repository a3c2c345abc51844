#!/bin/sh
# A turtle under a turtle, with and without VMCS shadowing: the outer
# turtle offers "VMCS shadowing" (shadow=1, emulated: guests/turtle/
# shadow12.c) or not (shadow=0), so the inner turtle uses it for its guest's
# VMREAD/VMWRITE or not. The guest must give the same architectural
# results either way (every output line but the turtles' own and the run
# statistics, identical; a PASS), the inner turtle must say which it used,
# and shadowing must save VM exits (fewer in total with it than without).
#
# usage: turtle-shadow-compare.sh NVMX OUTER INNER GUEST OUTDIR [bare|l0]
set -u
nvmx=$1 outer=$2 inner=$3 guest=$4 out=$5 mode=${6:-bare}
mkdir -p "$out" || exit 2
case "$mode" in
bare) platform=--feature-control-locked ;;
# under L0 without VMCS shadowing for L1 (the kvm design offers it), so
# that shadow= of the outer turtle decides only what it offers its guest
l0) platform="--l0 --l0-config $(dirname "$0")/l0-no-l1-shadowing.json" ;;
*) echo "turtle-shadow-compare.sh: mode bare or l0" >&2; exit 2 ;;
esac

run() { # shadow
    st=0
    "$nvmx" run "$outer" $platform --stats --cmdline "shadow=$1" --module "$inner,verbose" \
        --module "$guest" >"$out/shadow$1.txt" 2>&1 || st=$?
    if [ $st -ne 1 ] || grep -q '^FAIL' "$out/shadow$1.txt" || ! grep -q ' 0 failed,' "$out/shadow$1.txt"; then
        tail -n 20 "$out/shadow$1.txt"
        echo "FAIL: outer shadow=$1: exit status $st (expected 1: the guest's PASS)"
        exit 1
    fi
    grep -v -e '^turtle: ' -e '^nvmx: stats: ' "$out/shadow$1.txt" >"$out/results$1.txt"
    awk '/^nvmx: stats: VM exits / { n += $(NF - 5) } END { print n + 0 }' \
        "$out/shadow$1.txt" >"$out/exits$1.txt"
}

run 1
run 0
fail=0
grep -q '^turtle: VMCS shadowing for the guest: on' "$out/shadow1.txt" ||
    { echo "FAIL: the inner turtle did not use the VMCS shadowing its turtle offers"; fail=1; }
grep -q '^turtle: VMCS shadowing for the guest: off' "$out/shadow0.txt" ||
    { echo "FAIL: the inner turtle used VMCS shadowing its turtle does not offer"; fail=1; }
if ! cmp -s "$out/results1.txt" "$out/results0.txt"; then
    echo "FAIL: the guest's results differ with and without VMCS shadowing:"
    diff "$out/results1.txt" "$out/results0.txt" | head -n 20
    fail=1
fi
on=$(cat "$out/exits1.txt") off=$(cat "$out/exits0.txt")
echo "VM exits: $on with VMCS shadowing, $off without; $(grep -c '^PASS' "$out/results1.txt") PASS lines identical"
if [ "$on" -le 0 ] || [ "$on" -ge "$off" ]; then
    echo "FAIL: VMCS shadowing should save VM exits ($on with it, $off without)"
    fail=1
fi
exit $fail
