#!/usr/bin/env bash
# The turtle hypervisor bare on Bochs, as a cross-check that it is a correct
# hypervisor on an independent VMX implementation (docs/guests.md):
#   turtle.sh BUILD_DIR WORKDIR [CASE...]
# Each case boots a GRUB ISO (mkiso.sh) of guests/turtle with its modules
# under Bochs (run_bochs.sh, 256 MiB) and passes when the innermost guest's
# report line and its PASS line are there. The turtle's own errors
# ("turtle: ...") end a case at once. GRUB puts the modules low in memory,
# where a guest without EPT would be loaded, so the outer turtle runs with
# ept=1 in the deeper cases. Cases (default: all):
#   d2        turtle -> workload-cpuid count=200
#   d2-ept    turtle ept=1 -> workload-ept_touch count=200
#   d3        turtle ept=1 -> turtle-32m -> workload-cpuid count=50
#   d3-ept2   turtle ept=1 -> turtle ept=1 -> workload-cpuid count=50 (nested EPT)
#   vmx-ept   turtle ept=1 -> vmx_ept_violation (nested EPT)
#   vmx-inv   turtle ept=1 -> vmx_invept (INVEPT/INVVPID)
# The two conformance cases also run the guest bare on Bochs and pass when
# every check that fails under the turtle fails bare too (Bochs' own
# differences from the SDM are not the turtle's; docs/guests.md lists
# them). Prints one line per case; exit status 0 when every case passed.
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR WORKDIR [CASE...]" >&2
    exit 2
fi
build=$(realpath "$1")
work=$(realpath -m "$2")
shift 2
here=$(cd "$(dirname "$0")" && pwd)
cases=${*:-d2 d2-ept d3 d3-ept2 vmx-ept vmx-inv}
t=$build/guests/turtle
w=$build/guests/workloads
v=$build/tests/guests

status=0
for c in $cases; do
    case $c in
    d2) args=("$t/turtle.elf" "" "$w/workload-cpuid.elf,count=200"); pass='^PASS: workload.cpuid' ;;
    d2-ept) args=("$t/turtle.elf" "ept=1 mem=32M" "$w/workload-ept_touch.elf,count=200")
        pass='^PASS: workload.ept_touch' ;;
    d3) args=("$t/turtle.elf" "ept=1 mem=128M" "$t/turtle-32m.elf" "$w/workload-cpuid.elf,count=50")
        pass='^PASS: workload.cpuid' ;;
    d3-ept2) args=("$t/turtle.elf" "ept=1 mem=128M" "$t/turtle.elf,ept=1 mem=32M"
                   "$w/workload-cpuid.elf,count=50")
        pass='^PASS: workload.cpuid' ;;
    vmx-ept) args=("$t/turtle.elf" "ept=1 mem=128M" "$v/vmx_ept_violation/guest_vmx_ept_violation.elf")
        pass='^PASS: ' ;;
    vmx-inv) args=("$t/turtle.elf" "ept=1 mem=128M" "$v/vmx_invept/guest_vmx_invept.elf")
        pass='^PASS: ' ;;
    *) echo "$0: unknown case '$c'" >&2; exit 2 ;;
    esac
    mkdir -p "$work/$c"
    if ! "$here/mkiso.sh" "${args[0]}" "$work/$c/turtle.iso" "${args[@]:1}"; then
        echo "$c: FAIL (no ISO)"
        status=1
        continue
    fi
    BOCHS_MEGS=256 BOCHS_PASS="$pass" BOCHS_STOP='^turtle: ' \
        "$here/run_bochs.sh" "$work/$c/turtle.iso" "$work/$c" 900 >"$work/$c/out.txt" \
        2>"$work/$c/err.txt"
    rc=$?
    tr -d '\r' <"$work/$c/serial.txt" >"$work/$c/serial.clean" 2>/dev/null
    report=$(grep -E '^[0-9]+ passed' "$work/$c/serial.clean")
    case $c in
    vmx-*)
        # the same guest bare: its failures are Bochs' own
        guest=${args[${#args[@]} - 1]}
        mkdir -p "$work/$c/bare"
        "$here/mkiso.sh" "$guest" "$work/$c/bare/guest.iso" &&
            BOCHS_MEGS=256 BOCHS_PASS="$pass" "$here/run_bochs.sh" "$work/$c/bare/guest.iso" \
                "$work/$c/bare" 900 >/dev/null 2>&1
        tr -d '\r' <"$work/$c/bare/serial.txt" | grep -E '^FAIL' | sed 's/^FAIL: \([^:]*\):.*/\1/' | sort >"$work/$c/bare.fail"
        grep -E '^FAIL' "$work/$c/serial.clean" | sed 's/^FAIL: \([^:]*\):.*/\1/' | sort >"$work/$c/turtle.fail"
        only=$(comm -23 "$work/$c/turtle.fail" "$work/$c/bare.fail")
        if [ -n "$report" ] && [ -z "$only" ]; then
            echo "$c: pass (turtle: $report; bare: $(tr -d '\r' <"$work/$c/bare/serial.txt" |
                grep -E '^[0-9]+ passed'); failing in both: $(wc -l <"$work/$c/turtle.fail"))"
        else
            echo "$c: FAIL (${report:-no report}; failing under the turtle only: ${only:-none})"
            status=1
        fi
        ;;
    *)
        if [ $rc -eq 0 ]; then
            echo "$c: pass ($(cat "$work/$c/out.txt"); $report)"
        else
            echo "$c: FAIL ($(head -c 400 "$work/$c/err.txt" | tr '\n' ' '))"
            status=1
        fi
        ;;
    esac
done
exit $status
