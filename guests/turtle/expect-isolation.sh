#!/bin/sh
# A guest that accesses memory outside what the turtle gives it (ept=1): the
# access must not happen (EPT violation). The run ends with the turtle's
# message and FAIL (debug-exit 1, status 3), without the line DONE (a
# regular expression) that says the access completed.
#   guest.turtle_ept_isolation: the turtle with ept=1 mem=32M runs the
#     ept_touch workload on one page at 48 MiB, outside the guest's memory;
#   guest.turtle_nested_isolation: the guest is a hypervisor whose EPT12
#     maps its guest's page beyond the guest's memory (nested_isolation.c).
#   guest.turtle_operand_isolation: the guest's VMPTRST stores at 256 MiB,
#     beyond its 128 MiB (operand_isolation.c).
# usage: expect-isolation.sh OUTDIR MESSAGE DONE NVMX RUN-ARGS...
set -u
out=$1 message=$2 done=$3 nvmx=$4
shift 4
mkdir -p "$out" || exit 2
"$nvmx" run "$@" --serial "$out/serial.txt"
st=$?
cat "$out/serial.txt"
if [ $st -ne 3 ]; then
    echo "expect-isolation.sh: exit status $st, expected 3 (FAIL from the turtle)"
    exit 1
fi
if ! grep -qF "$message" "$out/serial.txt"; then
    echo "expect-isolation.sh: the turtle's message is missing: $message"
    exit 1
fi
if grep -q "$done" "$out/serial.txt"; then
    echo "expect-isolation.sh: the access outside the guest's memory completed"
    exit 1
fi
exit 0
