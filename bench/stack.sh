#!/bin/sh
# nvmx-bench's deep-stack rows: Ln CPUID exits per host second under the
# built-in L0, n = 1..5 (docs/bench.md):
#   L1: --l0 workload-cpuid.elf
#   Ln: --l0 turtle.elf -> turtle-32m.elf -> ... (n-1 turtles) -> workload-cpuid.elf
# the stacks of configs/stack (docs/stacks.md), without a trace. Each row
# times two runs, of COUNT and 2*COUNT iterations, and divides the
# difference of their host times by COUNT, so the boot of the turtles
# (which dominates at depth 4 and 5) cancels out; the median over RUNS
# such pairs. Modelled cycles per exit: the workload's own timing line (TSC
# ticks are modelled cycles) of the longer run.
#   stack.sh NVMX IMAGES-DIR RUNS [DEPTHS]      (DEPTHS default "1 2 3 4 5")
set -u
nvmx=$1 images=$2 runs=$3 depths=${4:-1 2 3 4 5}
w=$images/workloads/workload-cpuid.elf
t=$images/turtle

now() { date +%s%N; }

# run DEPTH COUNT: prints "NS CYCLES-PER-ITERATION"
run() {
    d=$1 n=$2
    if [ "$d" -eq 1 ]; then
        set -- "$w" --l0 --cmdline "count=$n"
    else
        set -- "$t/turtle.elf" --l0
        [ "$d" -ge 3 ] && set -- "$@" --module "$t/turtle-32m.elf"
        [ "$d" -ge 4 ] && set -- "$@" --module "$t/turtle-16m.elf"
        [ "$d" -ge 5 ] && set -- "$@" --module "$t/turtle-8m.elf"
        set -- "$@" --module "$w,count=$n"
    fi
    t0=$(now)
    out=$("$nvmx" run "$@" 2>&1)
    st=$?
    t1=$(now)
    if [ $st -ne 1 ]; then
        echo "nvmx-bench: L$d, $n iterations: exit status $st (expected 1: PASS); output:" >&2
        echo "$out" >&2
        return 1
    fi
    cyc=$(echo "$out" | tr -d '\r' | sed -n "s/^workload cpuid: $n iterations, [0-9]* TSC ticks, \([0-9]*\) per iteration/\1/p")
    [ -n "$cyc" ] || { echo "nvmx-bench: L$d: no timing line" >&2; return 1; }
    echo "$((t1 - t0)) $cyc"
}

for d in $depths; do
    case $d in 1) n=100000 ;; 2) n=20000 ;; 3) n=1000 ;; 4) n=20 ;; *) n=2 ;; esac
    rates= i=0 cyc=
    while [ $i -lt "$runs" ]; do
        a=$(run "$d" "$n") || exit 1
        b=$(run "$d" $((2 * n))) || exit 1
        cyc=${b#* }
        rates="$rates $(awk -v n="$n" -v a="${a% *}" -v b="${b% *}" \
            'BEGIN { d = b - a; if (d <= 0) d = 1; printf "%.1f\n", n / (d / 1e9) }')"
        i=$((i + 1))
    done
    med=$(for r in $rates; do echo "$r"; done | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "bench l0_l${d}_cpuid_exits exits_per_sec=$med modelled_cycles_per_exit=$cyc"
done
