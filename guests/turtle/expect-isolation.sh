#!/bin/sh
# guest.turtle_ept_isolation: the turtle with ept=1 mem=32M runs the
# ept_touch workload on one page at 48 MiB, outside the guest's memory. The
# write must not happen (EPT violation): the run ends with the turtle's
# message and FAIL (debug-exit 1, status 3), and no PASS line.
# usage: expect-isolation.sh NVMX TURTLE EPT_TOUCH OUTDIR
set -u
nvmx=$1 turtle=$2 touch=$3 out=$4
mkdir -p "$out" || exit 2
"$nvmx" run "$turtle" --feature-control-locked --max-insns 50000000 --cmdline "ept=1 mem=32M" \
    --module "$touch,count=1 base=0x3000000" --serial "$out/serial.txt"
st=$?
cat "$out/serial.txt"
if [ $st -ne 3 ]; then
    echo "expect-isolation.sh: exit status $st, expected 3 (FAIL from the turtle)"
    exit 1
fi
if ! grep -q "turtle: the guest accessed guest-physical 0x3000000, outside its 32 MiB" "$out/serial.txt"; then
    echo "expect-isolation.sh: the turtle's EPT-violation message is missing"
    exit 1
fi
if grep -q "^PASS" "$out/serial.txt"; then
    echo "expect-isolation.sh: the write outside the guest's memory completed"
    exit 1
fi
exit 0
