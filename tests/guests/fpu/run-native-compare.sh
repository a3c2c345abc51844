#!/bin/sh
# The native comparison (docs/fpu.md): the compute kernels of
# compute_kernel.S run natively (HOST program) and inside nvmx (the
# freestanding IMAGE); every kernel the guest ran must have printed exactly
# the host's bytes. Kernels the CPU model does not allow are SKIP lines in
# the guest; if it ran none, the test is skipped (77).
#
# usage: run-native-compare.sh NVMX IMAGE HOST OUTDIR [nvmx run options...]
set -u
nvmx=$1 image=$2 host=$3 out=$4
shift 4
mkdir -p "$out"
"$host" > "$out/host.txt" || { echo "FAIL: the host program failed"; exit 1; }
"$nvmx" run "$image" --serial "$out/serial.txt" "$@" > "$out/nvmx.txt" 2>&1
status=$?
tr -d '\r' < "$out/serial.txt" > "$out/guest.txt"
if grep -q '^FAIL' "$out/guest.txt" || { [ $status -ne 1 ] && [ $status -ne 77 ]; }; then
    echo "FAIL: the guest failed (exit status $status):"
    cat "$out/nvmx.txt"; grep '^FAIL' "$out/guest.txt"
    exit 1
fi
compared=0 fail=0
for k in sse2_int sse_fp x87; do
    if ! grep -qx "PASS: $k" "$out/guest.txt"; then
        grep "^SKIP: $k" "$out/guest.txt"
        continue
    fi
    grep "^dump $k " "$out/host.txt" > "$out/host.$k"
    grep "^dump $k " "$out/guest.txt" > "$out/guest.$k"
    if [ "$(wc -l < "$out/host.$k")" -ne 128 ] || ! cmp -s "$out/host.$k" "$out/guest.$k"; then
        echo "FAIL: $k: nvmx's output differs from the native run's:"
        diff "$out/host.$k" "$out/guest.$k" | head -20
        fail=1
    else
        echo "PASS: $k: 4096 bytes identical to the native run"
        compared=$((compared + 1))
    fi
done
[ $fail -ne 0 ] && exit 1
if [ $compared -eq 0 ]; then
    echo "SKIP: no kernel ran in the guest (the CPU model advertises none of SSE2, SSE, FPU)"
    exit 77
fi
exit 0
