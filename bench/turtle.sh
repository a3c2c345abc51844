#!/bin/sh
# nvmx-bench's nested rows: L2 and L3 CPUID exits per host second, with the
# turtle hypervisor (guests/turtle) bare on nvmx's hardware model.
#   L2: turtle.elf -> workload-cpuid.elf
#   L3: turtle.elf -> turtle-32m.elf -> workload-cpuid.elf
#   L3 with EPT: turtle.elf (ept=1 mem=128M) -> turtle.elf -> workload-cpuid.elf
# Each row is the median of RUNS runs; the host time is measured around the
# whole run (boot included, under 1% at these counts) for the report only.
# Modelled cycles per exit come from the workload's own timing line (TSC
# ticks are modelled cycles). Usage:
#   turtle.sh NVMX TURTLE TURTLE32M WORKLOAD L2_COUNT L3_COUNT RUNS
set -u
nvmx=$1 turtle=$2 turtle32=$3 workload=$4 n2=$5 n3=$6 runs=$7

now() { date +%s%N; }

row() { # name count module-args...
    name=$1 n=$2
    shift 2
    rates= cyc=
    i=0
    while [ $i -lt "$runs" ]; do
        t0=$(now)
        out=$("$nvmx" run "$turtle" --feature-control-locked "$@" 2>&1)
        st=$?
        t1=$(now)
        if [ $st -ne 1 ]; then
            echo "nvmx-bench: $name: exit status $st (expected 1: PASS); output:" >&2
            echo "$out" >&2
            return 1
        fi
        line=$(echo "$out" | tr -d '\r' | grep "^workload cpuid: $n iterations")
        if [ -z "$line" ]; then
            echo "nvmx-bench: $name: no timing line for $n iterations" >&2
            return 1
        fi
        cyc=$(echo "$line" | sed 's/.* \([0-9]*\) per iteration/\1/')
        rates="$rates $(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }')"
        i=$((i + 1))
    done
    med=$(for r in $rates; do echo "$r"; done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "bench $name exits_per_sec=$med modelled_cycles_per_exit=$cyc"
}

row turtle_l2_cpuid_exits "$n2" --module "$workload,count=$n2" || exit 1
row turtle_l3_cpuid_exits "$n3" --module "$turtle32" --module "$workload,count=$n3" || exit 1
row turtle_l3_ept_cpuid_exits "$n3" --cmdline "ept=1 mem=128M" --module "$turtle" \
    --module "$workload,count=$n3" || exit 1
