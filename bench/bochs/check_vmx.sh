#!/usr/bin/env bash
# Evidence of whether the installed Bochs emulates Intel VMX:
#   check_vmx.sh [BOCHS_LOG]
# 1. the binary: only a build configured with --enable-vmx carries the
#    VM-exit code (BX_CPU_C::VMexit*, VMXON, VMLAUNCH), and only
#    --enable-vmx=2 the EPT walk strings; the display libraries it has
#    (Debian's has no "nogui");
# 2. the CPU models it offers (run_bochs.sh uses corei7_skylake_x);
# 3. given the bochs.log of a run (run_bochs.sh leaves one in its work
#    directory): the configuration it printed and CPUID.1:ECX bit 5 (VMX)
#    as the guest saw it (SDM 2A "CPUID -- CPU Identification").
set -euo pipefail

bin=$(command -v bochs-bin || true)
if [ -z "$bin" ]; then
    echo "$0: bochs-bin not found (apt-get install bochs bochsbios vgabios bochs-term)" >&2
    exit 2
fi
echo "binary: $bin ($(dpkg-query -W -f='${Package} ${Version}' bochs 2>/dev/null || echo 'not from a Debian package'))"
printf 'VMX entry points (BX_CPU_C::VMexit*, VMXON, VMLAUNCH): '
strings "$bin" | grep -cE '^_ZN8BX_CPU_C(6VMexit|[0-9]+VMexit_|5VMXON|8VMLAUNCH)' || true
printf 'EPT walk strings: '
strings "$bin" | grep -cE '^EPT (PML4E|PDPTE|PDE|PTE)$' || true
printf 'display libraries: '
find "$(dirname "$(readlink -f "$bin")")/../lib/" -path '*/bochs/plugins/libbx_*_gui.so' 2>/dev/null |
    sed -n 's|^.*/libbx_\(.*\)_gui\.so$|\1|p' | sort | tr '\n' ' '
echo
printf 'Intel Core CPU models offered: '
bochs-bin --help cpu 2>&1 | grep -E '^(corei|broadwell|tigerlake)' | tr '\n' ' '
echo

if [ $# -ge 1 ]; then
    log=$1
    [ -f "$log" ] || { echo "$0: $log: no such Bochs log" >&2; exit 2; }
    grep -E 'Using pre-defined CPU configuration|Handlers Chaining|SMP support' "$log" |
        sed 's/^[0-9]*i\[[A-Z0-9 ]*\] *//'
    ecx=$(sed -n 's/.*CPUID\[0x00000001\]: [0-9a-f]* [0-9a-f]* \([0-9a-f]*\) .*/\1/p' "$log" | head -1)
    if [ -n "$ecx" ]; then
        echo "CPUID.1:ECX = 0x$ecx, VMX (bit 5) = $(( (0x$ecx >> 5) & 1 ))"
    fi
fi
