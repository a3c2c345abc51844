#!/bin/sh
# How a run ends: each end gives its exit status, its closing line on
# stderr and, as the trace's last line, an `end` event with the same cause
# and status (docs/cli.md "Exit status", docs/trace-schema.md `end`):
#  - a debug-exit (status 1) and --max-insns (8);
#  - a triple fault (4);
#  - a VMX abort (14): the VM-exit MSR-load list of the guest's VMCS holds
#    IA32_FS_BASE, abort indicator 4, bare and under --l0;
#  - SIGINT and SIGTERM (16) while a guest takes VM exits forever: the
#    trace is complete, readable, and ends with the signal named;
#  - --serial, --debugcon, --trace-insns to /dev/full (10): the output and
#    the cause are named.
#
# usage: check-end.sh --nvmx PATH --image END-GUEST --triple TRIPLE-GUEST --out DIR
set -u
nvmx= image= triple= out=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --triple) triple=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "check-end.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
for f in "$image" "$triple"; do
    [ -f "$f" ] || { echo "check-end.sh: image '$f' not found" >&2; exit 2; }
done
mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }

# run NAME WANT-STATUS RUN-ARGS...: the run's stderr in $out/NAME.err, its
# trace in $out/NAME.jsonl
run() {
    name=$1 want=$2
    shift 2
    "$nvmx" run "$@" --trace "$out/$name.jsonl" >"$out/$name.out" 2>"$out/$name.err"
    st=$?
    [ "$st" -eq "$want" ] || fail "$name: status $st, expected $want: $(cat "$out/$name.err")"
}
has_err() { grep -q -- "$2" "$out/$1.err" || fail "$1: stderr lacks '$2': $(cat "$out/$1.err")"; }
# end_is NAME PYTHON-CONDITION: the trace reads back, and its last line is
# an `end` event (e) for which the condition holds
end_is() {
    "$nvmx" trace stats "$out/$1.jsonl" >"$out/$1.stats" 2>"$out/$1.stats.err" ||
        fail "$1: trace stats refused the trace: $(cat "$out/$1.stats.err")"
    python3 -c 'import json,sys
lines = open(sys.argv[1]).read().splitlines()
e = json.loads(lines[-1])
assert e["event"] == "end", e
assert sum(1 for l in lines if json.loads(l)["event"] == "end") == 1
assert eval(sys.argv[2]), e' "$out/$1.jsonl" "$2" ||
        fail "$1: the last line is not the end event wanted ($2): $(tail -n 1 "$out/$1.jsonl")"
}

# ---- the guest's own ends ---------------------------------------------------
run exit 1 "$image" --serial /dev/null
has_err exit "^nvmx: debug-exit: guest wrote 0x0 (exit status 1), RIP 0x"
end_is exit 'e["cause"] == "debug_exit" and e["status"] == 1 and "abort" not in e'
grep -q '^Run end: debug_exit, exit status 1, at cycle [0-9]*$' "$out/exit.stats" ||
    fail "trace stats: no 'Run end' line: $(cat "$out/exit.stats")"

run limit 8 "$image" --serial /dev/null --max-insns 1000
end_is limit 'e["cause"] == "insn_limit" and e["status"] == 8 and e["insns"] == 1000'

run triple 4 "$triple" --serial /dev/null --quiet
has_err triple "^nvmx: shutdown (triple fault), RIP 0x"
end_is triple 'e["cause"] == "shutdown" and e["status"] == 4'

# ---- VMX abort ----------------------------------------------------------------
# SDM 3C "VMX Aborts": a VM exit that fails loading host MSRs (IA32_FS_BASE
# in the VM-exit MSR-load list, "Loading MSRs") is VMX abort 4; the CPUID
# exit is the one that aborts.
for mode in bare l0; do
    l0=
    [ $mode = l0 ] && l0=--l0
    run abort_$mode 14 "$image" --cmdline abort --feature-control-locked --serial /dev/null $l0
    has_err abort_$mode "^nvmx: VMX abort 4 (failure on loading host MSRs) at a VM exit.* with reason 10 (cpuid): the logical processor is in the shutdown state, RIP 0x"
    ! grep -q "triple fault" "$out/abort_$mode.err" || fail "abort_$mode: called a triple fault"
    end_is abort_$mode 'e["cause"] == "vmx_abort" and e["status"] == 14 and e["abort"] == 4'
done
has_err abort_l0 "at a VM exit of L2 to L1 with reason 10"
# The register and VMCS dump of a fatal end.
has_err abort_bare "^cpu_reset: vmx_abort: CPU state"

# ---- SIGINT, SIGTERM ------------------------------------------------------------
# The guest takes CPUID exits until the signal; the run must stop at once,
# flush everything and end the trace with the signal named.
for sig in INT TERM; do
    "$nvmx" run "$image" --cmdline spin --feature-control-locked --serial "$out/sig$sig.serial" \
        --trace "$out/sig$sig.jsonl" --stats >/dev/null 2>"$out/sig$sig.err" &
    pid=$!
    i=0
    # wait for the guest to spin: the serial line, then some exits
    while ! grep -q "end: spinning" "$out/sig$sig.serial" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    sleep 0.5
    kill -$sig $pid
    wait $pid
    st=$?
    [ $st -eq 16 ] || fail "SIG$sig: status $st, expected 16: $(cat "$out/sig$sig.err")"
    has_err sig$sig "^nvmx: interrupted by SIG$sig, RIP 0x"
    has_err sig$sig "^nvmx: stats: instructions retired"
    end_is sig$sig "e['cause'] == 'signal' and e['signal'] == 'SIG$sig' and e['status'] == 16"
    exits=$(grep -c '"event":"vmexit"' "$out/sig$sig.jsonl")
    [ "$exits" -gt 10 ] || fail "SIG$sig: only $exits exits before the signal"
done

# ---- outputs that cannot be written ------------------------------------------
if [ -w /dev/full ]; then
    for o in serial debugcon trace-insns; do
        args="--serial /dev/null"
        [ $o = serial ] && args=
        run full_$o 10 "$image" --cmdline count=2000 $args --$o /dev/full
        has_err full_$o "^nvmx run: --$o: writing '/dev/full' failed: No space left on device$"
        has_err full_$o "^nvmx: run stopped at RIP 0x[0-9a-f]*: its output cannot be written$"
        end_is full_$o 'e["cause"] == "output_error" and e["status"] == 10'
    done
    # A short output fails only at the last flush: the run still says so.
    run full_short 10 "$image" --debugcon /dev/full --serial /dev/null
    has_err full_short "^nvmx run: --debugcon: writing '/dev/full' failed: No space left on device$"
    # 2000 lines of 14 bytes fill many stdio buffers: the run stops at the
    # first failed one, long before the guest's debug-exit.
    ! grep -q "debug-exit" "$out/full_serial.err" || fail "--serial /dev/full: the run went on"
else
    echo "note: no /dev/full: write failures not checked"
fi
echo "PASS: every end has its status, its line and its end event"
