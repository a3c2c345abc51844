#!/usr/bin/env bash
# Run a bench-vmx or bench-ept image under nvmx and print the host wall time
# of the run:
#   run_nvmx.sh NVMX IMAGE.elf WORKDIR
# Prints "seconds=S cpu_seconds=C exits=E" on stdout (C: user+system CPU
# time of nvmx); exit status 0 only when the guest
# reported "PASS: bench_vmx_loop" (bench_ept_loop), no failure, and ended through debug-exit
# with 0 (nvmx exit status 1, docs/cli.md "Exit status").
# --feature-control-locked: IA32_FEATURE_CONTROL starts locked with VMX on,
# as firmware leaves it; the guest accepts it locked or unlocked (under
# Bochs it finds it unlocked and sets it itself).
set -uo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 NVMX IMAGE.elf WORKDIR" >&2
    exit 2
fi
nvmx=$1
image=$2
work=$3
if [ ! -x "$nvmx" ]; then
    echo "$0: $nvmx: not an executable nvmx" >&2
    exit 2
fi
if [ ! -f "$image" ]; then
    echo "$0: $image: no such guest image" >&2
    exit 2
fi
mkdir -p "$work"
rm -f "$work/serial.txt" "$work/stats.txt"

# Wall time from date(1); user+system CPU time from bash's time keyword.
TIMEFORMAT='%U %S'
start=$(date +%s.%N)
{ time "$nvmx" run "$image" --feature-control-locked --stats \
    --serial "$work/serial.txt" 2>"$work/stats.txt"; } 2>"$work/time.txt"
st=$?
end=$(date +%s.%N)
cpu=$(awk '{ printf "%.2f\n", $1 + $2 }' "$work/time.txt")

tr -d '\r' <"$work/serial.txt" >"$work/serial.clean"
if [ "$st" -ne 1 ] || ! grep -Eq '^PASS: bench_(vmx|ept)_loop' "$work/serial.clean" ||
    ! grep -Eq '^[0-9]+ passed, 0 failed' "$work/serial.clean"; then
    echo "$0: the guest did not pass under nvmx (exit status $st):" >&2
    cat "$work/serial.clean" "$work/stats.txt" >&2
    exit 1
fi
exits=$(sed -n -e 's/^bench-vmx: \([0-9]*\) CPUID exits$/\1/p' \
    -e 's/^bench-ept: \([0-9]*\) EPT violations$/\1/p' "$work/serial.clean")
echo "seconds=$(echo "$end - $start" | bc -l | sed 's/^\./0./') cpu_seconds=$cpu exits=$exits"
