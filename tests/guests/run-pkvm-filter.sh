#!/bin/sh
# configs/l0/pkvm.json: the vmx_insn guest as L1 under pKVM's filter gives
# the same result lines as bare (run-l0-compare.sh), and the capabilities
# it prints show the filter: IA32_VMX_PROCBASED_CTLS2 allowed-1 without
# descriptor-table exiting (bit 2), VM functions (bit 13) and VMCS
# shadowing (bit 14) -- on skylake-server 0x674ee bare, 0x1448 as L1 (the
# built-in list already hides EPT, VPID, unrestricted guest, PML, #VE) --
# and IA32_VMX_MISC without bits 14 and 28.
#
# usage: run-pkvm-filter.sh NVMX IMAGE OUTDIR
set -u
nvmx=$1 image=$2 out=$3
here=$(dirname "$0")
sh "$here/run-l0-compare.sh" --nvmx "$nvmx" --image "$image" --max-insns 50000000 --out "$out" \
    -- --feature-control-locked --l0-config pkvm || exit 1
caps=$(tr -d '\r' < "$out/l0.txt" | grep '^VMX basic')
proc2=$(echo "$caps" | sed -n 's/.* proc2 0x\([0-9a-f]*\) .*/\1/p')
misc=$(echo "$caps" | sed -n 's/.* misc 0x\([0-9a-f]*\) .*/\1/p')
if [ -z "$proc2" ] || [ -z "$misc" ]; then
    echo "FAIL: no capability line in $out/l0.txt"
    exit 1
fi
allowed1=$(( 0x$proc2 >> 32 ))
if [ $(( allowed1 & ((1 << 2) | (1 << 13) | (1 << 14)) )) -ne 0 ] || [ $(( 0x$misc & ((1 << 14) | (1 << 28)) )) -ne 0 ]; then
    echo "FAIL: pkvm.json: L1 sees proc2 0x$proc2 misc 0x$misc"
    exit 1
fi
if [ $(( allowed1 & (1 << 3) )) -eq 0 ]; then
    echo "FAIL: pkvm.json: \"enable RDTSCP\" (offered by the model) is hidden: proc2 0x$proc2"
    exit 1
fi
echo "PASS: pkvm.json: L1's proc2 0x$proc2, misc 0x$misc"
