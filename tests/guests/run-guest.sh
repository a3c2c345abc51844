#!/bin/sh
# Run one guest test image and turn its debug-exit status into a test result.
#
# usage: run-guest.sh (--nvmx PATH | --qemu PATH) --image IMAGE --out DIR
#                     [--max-insns N] [--expect FILE] [--expect-debugcon FILE]
#                     [-- RUN-ARGS...]
#
# RUN-ARGS are nvmx `run` options (--cmdline STR, --module FILE[,STRING],
# --mem SIZE, --device NAME); with --qemu they are translated to QEMU's
# options.
# Status (QEMU isa-debug-exit convention, (code << 1) | 1): 1 = PASS -> 0,
# 77 = SKIP -> 77, anything else -> 1. A "FAIL:" line on the serial port,
# or a missing expected line, also fails the test.
set -u

emu=nvmx emu_path= image= out= max_insns=100000000 expect= expect_dbg=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) emu=nvmx emu_path=$2; shift 2 ;;
    --qemu) emu=qemu emu_path=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-insns) max_insns=$2; shift 2 ;;
    --expect) expect=$2; shift 2 ;;
    --expect-debugcon) expect_dbg=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run-guest.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$emu_path" ] || [ -z "$image" ] || [ -z "$out" ]; then
    echo "run-guest.sh: --nvmx or --qemu, --image and --out are required" >&2
    exit 2
fi
if [ ! -f "$image" ]; then
    echo "run-guest.sh: image '$image' not found" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
serial=$out/serial.txt
debugcon=$out/debugcon.txt
rm -f "$serial" "$debugcon"

if [ "$emu" = nvmx ]; then
    echo "+ $emu_path run $image --max-insns $max_insns --serial $serial --debugcon $debugcon $*"
    "$emu_path" run "$image" --max-insns "$max_insns" --serial "$serial" \
        --debugcon "$debugcon" "$@"
    status=$?
else
    # Translate nvmx run options to QEMU's multiboot options.
    set -- "$@" --end
    while [ "$1" != --end ]; do
        case "$1" in
        --cmdline) set -- "$@" -append "$2"; shift 2 ;;
        --module) set -- "$@" -initrd "$(echo "$2" | sed 's/,/ /')"; shift 2 ;;
        --mem) set -- "$@" -m "$2"; shift 2 ;;
        --device) set -- "$@" -device "$2"; shift 2 ;; # pc-testdev, pci-testdev: QEMU's names
        *) echo "run-guest.sh: no QEMU equivalent for '$1'" >&2; exit 2 ;;
        esac
    done
    shift
    echo "+ $emu_path -kernel $image $*"
    timeout 120 "$emu_path" -kernel "$image" -cpu max -display none -monitor none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -serial "file:$serial" -debugcon "file:$debugcon" "$@"
    status=$?
fi

[ -f "$serial" ] && cat "$serial"
result=0
case $status in
1) ;;
77) echo "run-guest.sh: guest reported SKIP"; exit 77 ;;
*) echo "run-guest.sh: exit status $status (expected 1: PASS)"; result=1 ;;
esac

if [ -f "$serial" ] && grep -q '^FAIL:' "$serial"; then
    echo "run-guest.sh: FAIL lines in the serial output"
    result=1
fi

# Every non-empty line of an expect file must occur in the output.
check_expect() { # file output what
    [ -n "$1" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        [ -n "$line" ] || continue
        if ! tr -d '\r' <"$2" 2>/dev/null | grep -qF -- "$line"; then
            echo "run-guest.sh: $3 output lacks: $line"
            result=1
        fi
    done <"$1"
}
check_expect "$expect" "$serial" serial
check_expect "$expect_dbg" "$debugcon" debugcon
exit $result
