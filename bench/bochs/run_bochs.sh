#!/usr/bin/env bash
# Boot a bench-vmx or bench-ept ISO (mkiso.sh) under Bochs, headless, and print the host
# wall time from the start of Bochs to the guest's closing report line:
#   run_bochs.sh IMAGE.iso WORKDIR [TIMEOUT_SECONDS]
# Environment: BOCHS_MEGS (memory, default 128), BOCHS_IPS, BOCHS_PASS,
# BOCHS_STOP (below).
# Prints "seconds=S cpu_seconds=C exits=E" on stdout (C: Bochs' user+system
# CPU time up to that line); exit status 0 only when the guest
# reported "PASS: bench_vmx_loop" (bench_ept_loop; BOCHS_PASS overrides the
# pattern) and no failure.
#
# Debian's Bochs 2.7 has no "nogui" display library and is built with the
# internal debugger, so Bochs runs with the curses "term" display inside a
# pseudo-terminal (script(1)) and a debugger command file that says "c".
# The guest ends in CLI;HLT after writing to the debug-exit port 0xf4,
# which Bochs does not have: the end is the report line on COM1, and this
# script then stops Bochs.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 IMAGE.iso WORKDIR [TIMEOUT_SECONDS]" >&2
    exit 2
fi
iso=$(realpath "$1")
work=$2
timeout_s=${3:-900}
if [ ! -f "$iso" ]; then
    echo "$0: $1: no such ISO image" >&2
    exit 2
fi
for tool in bochs-bin script; do
    command -v "$tool" >/dev/null || {
        echo "$0: $tool not found (apt-get install bochs bochsbios vgabios bochs-term)" >&2
        exit 2
    }
done

mkdir -p "$work"
cd "$work"
rm -f serial.txt bochs.log term.log
# corei7_skylake_x: a Bochs CPU model with VMX (and EPT, VPID, VMCS
# shadowing). ips only sets how fast Bochs' virtual clock runs per
# instruction (the BIOS and GRUB wait on it); clock sync=none lets the guest
# run as fast as the host allows, and time0 fixes the CMOS clock.
cat >bochsrc <<'RC'
display_library: term
megs: BENCH_MEGS
cpu: model=corei7_skylake_x, count=1, ips=BENCH_IPS, reset_on_triple_fault=0
clock: sync=none, time0=1
romimage: file=$BXSHARE/BIOS-bochs-latest
vgaromimage: file=$BXSHARE/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=BENCH_ISO, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=serial.txt
port_e9_hack: enabled=1
log: bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
RC
sed -i -e "s|BENCH_ISO|$iso|" -e "s|BENCH_IPS|${BOCHS_IPS:-100000000}|" \
    -e "s|BENCH_MEGS|${BOCHS_MEGS:-128}|" bochsrc
echo c >debugger.rc

start=$(date +%s.%N)
TERM=vt100 script -qfec "bochs-bin -q -f bochsrc -rc debugger.rc" /dev/null \
    </dev/null >term.log 2>&1 &
spid=$!

# Bochs' term display catches SIGTERM and keeps running: after a grace
# period its process (the child of script) gets SIGKILL.
stop_bochs() {
    local pid tries
    pid=$(pgrep -P "$spid" 2>/dev/null | head -1 || true)
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        for tries in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop_bochs: SIGKILL after $tries tries" >>term.log
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$spid" 2>/dev/null || true
}
trap stop_bochs EXIT

# CPU time (user + system) of the Bochs process so far, from /proc: less
# sensitive than wall time to other load on the host.
bochs_cpu_seconds() {
    local pid
    pid=$(pgrep -P "$spid" 2>/dev/null | head -1)
    [ -n "$pid" ] || { echo 0; return; }
    # Fields after the parenthesised command name: utime is 12th, stime 13th.
    sed 's/^.*) //' "/proc/$pid/stat" |
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

deadline=$(( $(date +%s) + timeout_s ))
end=
while :; do
    if grep -Eq '^[0-9]+ passed, [0-9]+ failed' serial.txt 2>/dev/null; then
        end=$(date +%s.%N)
        cpu=$(bochs_cpu_seconds)
        break
    fi
    # BOCHS_STOP: a line that means the guest will not report (it ended
    # through the debug-exit port, which Bochs does not have).
    if [ -n "${BOCHS_STOP:-}" ] && grep -Eq "$BOCHS_STOP" serial.txt 2>/dev/null; then
        echo "$0: the guest stopped:" >&2
        tr -d '\r' <serial.txt >&2
        exit 1
    fi
    if ! kill -0 "$spid" 2>/dev/null; then
        echo "$0: Bochs stopped before the guest's report line; see $work/bochs.log" >&2
        exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "$0: no report line on COM1 after ${timeout_s}s; see $work/bochs.log" >&2
        exit 1
    fi
    sleep 0.02
done
stop_bochs
trap - EXIT

tr -d '\r' <serial.txt >serial.clean
# BOCHS_PASS: the line that must be there (an extended regular expression).
if ! grep -Eq "${BOCHS_PASS:-^PASS: bench_(vmx|ept)_loop}" serial.clean ||
    ! grep -Eq '^[0-9]+ passed, 0 failed' serial.clean; then
    echo "$0: the guest did not pass under Bochs:" >&2
    cat serial.clean >&2
    exit 1
fi
exits=$(sed -n -e 's/^bench-vmx: \([0-9]*\) CPUID exits$/\1/p' \
    -e 's/^bench-ept: \([0-9]*\) EPT violations$/\1/p' serial.clean)
echo "seconds=$(echo "$end - $start" | bc -l | sed 's/^\./0./') cpu_seconds=$cpu exits=$exits"
