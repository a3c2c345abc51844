#!/usr/bin/env bash
# The same VM-exit loop under Bochs and under nvmx: VM exits per host
# second for each. --kind vmx (default): the CPUID-exit loop
# (guests/bench-vmx); --kind ept: the EPT-violation loop (guests/bench-ept,
# each exit maps a new page with a 4-KiB EPT entry).
#
#   compare.sh BUILD_DIR [--kind vmx|ept] [--loops N] [--tiny M] [--runs R]
#
# BUILD_DIR is a configured nvmx build tree (its nvmx is built here if
# needed). The guest image is built twice, with NVMX_BENCH_VMX_LOOPS (or
# NVMX_BENCH_EPT_LOOPS) = N (default 1000000 for vmx, 500000 for ept) and
# = M (default 1000), in BUILD_DIR/bochs-cmp/guest-*
# (separate CMake trees, so BUILD_DIR's own cache is left alone). Each engine
# runs both images R times (default 3), interleaved; the figure is
#   (N - M) / (median time with N - median time with M)
# which removes the constant part of a run (BIOS, GRUB and guest start-up
# under Bochs; process start and image load under nvmx). It is given for
# host wall time and for the engine's user+system CPU time (steadier on a
# loaded host).
set -euo pipefail

usage() {
    echo "usage: $0 BUILD_DIR [--kind vmx|ept] [--loops N] [--tiny M] [--runs R]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
build=$1
shift
kind=vmx
loops=
tiny=1000
runs=3
while [ $# -gt 0 ]; do
    case $1 in
    --kind) kind=${2:?}; shift 2 ;;
    --loops) loops=${2:?}; shift 2 ;;
    --tiny) tiny=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    *) usage ;;
    esac
done
case $kind in
vmx) var=NVMX_BENCH_VMX_LOOPS; loops=${loops:-1000000} ;;
ept) var=NVMX_BENCH_EPT_LOOPS; loops=${loops:-500000} ;;
*) usage ;;
esac
for v in "$loops" "$tiny" "$runs"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "$0: '$v' is not a positive count" >&2; exit 2; }
done
[ "$loops" -gt "$tiny" ] || { echo "$0: --loops must be larger than --tiny" >&2; exit 2; }
if [ ! -f "$build/CMakeCache.txt" ]; then
    echo "$0: $build: not a configured build tree (cmake -S SRC -B $build)" >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "$build" && pwd)
work=$build/bochs-cmp/$kind

cmake --build "$build" --target nvmx -- -j2 >/dev/null
nvmx=$build/nvmx

for n in "$tiny" "$loops"; do
    g=$work/guest-$n
    cmake -S "$src" -B "$g" -DNVMX_GUESTS=ON -D$var="$n" >/dev/null
    cmake --build "$g" --target bench_${kind}_image >/dev/null
    "$here/mkiso.sh" "$g/guests/bench-$kind/bench-$kind.elf" "$work/bench-$kind-$n.iso"
done

field() { tr ' ' '\n' | sed -n "s/^$1=\([0-9.]*\)$/\1/p"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# runs[engine-n-what]: the runs' times, what = wall (seconds) or cpu.
declare -A times
record() { # engine n output
    local e=$1 n=$2 out=$3 w c
    [ "$(echo "$out" | field exits)" = "$n" ] || { echo "$0: $e: $out, expected exits=$n" >&2; exit 1; }
    w=$(echo "$out" | field seconds)
    c=$(echo "$out" | field cpu_seconds)
    times[$e-$n-wall]="${times[$e-$n-wall]:-} $w"
    times[$e-$n-cpu]="${times[$e-$n-cpu]:-} $c"
    printf 'run %d %-5s loops=%s wall_seconds=%.3f cpu_seconds=%.2f\n' "$r" "$e" "$n" "$w" "$c"
}
for ((r = 1; r <= runs; r++)); do
    for n in "$tiny" "$loops"; do
        record bochs "$n" "$("$here/run_bochs.sh" "$work/bench-$kind-$n.iso" "$work/bochs-run")"
        record nvmx "$n" \
            "$("$here/run_nvmx.sh" "$nvmx" "$work/guest-$n/guests/bench-$kind/bench-$kind.elf" "$work/nvmx-run")"
    done
done

echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bochs: $(bochs-bin --help 2>&1 | grep -m1 -o 'Bochs x86 Emulator [0-9.]*'), cpu model corei7_skylake_x"
echo "nvmx: $("$nvmx" --version 2>&1 | head -1)"
for e in bochs nvmx; do
    for what in wall cpu; do
        tb=$(echo "${times[$e-$tiny-$what]}" | median)
        tn=$(echo "${times[$e-$loops-$what]}" | median)
        rate=$(echo "($loops - $tiny) / ($tn - $tb)" | bc -l)
        printf 'result %-5s %-4s kind=%s loops=%s median=%.3fs tiny=%s median=%.3fs exits_per_host_second=%.0f\n' \
            "$e" "$what" "$kind" "$loops" "$tn" "$tiny" "$tb" "$rate"
    done
done
