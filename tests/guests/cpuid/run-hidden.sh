#!/bin/sh
# L1's CPUID under the built-in L0 hides what L1 could not use in VMX
# non-root operation (docs/nested.md "L1's CPUID"): on a CPU model whose
# VMX allows neither "enable RDTSCP" nor "enable INVPCID" (skylake-server
# with those two bits of IA32_VMX_PROCBASED_CTLS2 cleared), the
# cpuid_insns guest runs RDTSCP and INVPCID bare (CPUID reports them), and
# as L1 it sees neither feature and skips both groups.
#
# usage: run-hidden.sh NVMX IMAGE SKYLAKE-JSON OUTDIR
set -u
nvmx=$1 image=$2 model=$3 out=$4
mkdir -p "$out"
sed 's/"IA32_VMX_PROCBASED_CTLS2": "0x001674ee00000000"/"IA32_VMX_PROCBASED_CTLS2": "0x001664e600000000"/' \
    "$model" > "$out/model.json"
if ! grep -q '"0x001664e600000000"' "$out/model.json"; then
    echo "FAIL: $model: IA32_VMX_PROCBASED_CTLS2 is not 0x001674ee00000000"
    exit 1
fi
# (the guest's console lines end in CR LF)
"$nvmx" run "$image" --cpu "$out/model.json" 2>&1 | tr -d '\r' > "$out/bare.txt"
"$nvmx" run "$image" --cpu "$out/model.json" --l0 2>&1 | tr -d '\r' > "$out/l0.txt"
fail=0
for line in "PASS: rdtscp_executes" "PASS: invpcid_all_contexts_executes"; do
    grep -qxF "$line" "$out/bare.txt" || { echo "FAIL: bare: no line '$line'"; fail=1; }
done
for line in "SKIP: rdtscp: CPUID.80000001H:EDX.RDTSCP[bit 27] is 0" \
             "SKIP: invpcid: CPUID.(EAX=7,ECX=0):EBX.INVPCID[bit 10] is 0"; do
    grep -qxF "$line" "$out/l0.txt" || { echo "FAIL: --l0: no line '$line'"; fail=1; }
done
if grep -q '^FAIL' "$out/bare.txt" "$out/l0.txt"; then
    echo "FAIL: a guest check failed:"; grep '^FAIL' "$out/bare.txt" "$out/l0.txt"; fail=1
fi
[ $fail -eq 0 ] && echo "PASS: L1's CPUID hides RDTSCP and INVPCID without their VMX controls"
exit $fail
