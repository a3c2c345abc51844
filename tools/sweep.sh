#!/bin/sh
# A sweep over nested stacks (docs/stacks.md "Sweeps"): depth x VMCS-
# shadowing design x L0's EPT01 x workload, one `nvmx run --stack` process
# per configuration and one table row each. `--shard I/N` runs every N-th
# configuration starting at the I-th (I from 0), so GNU parallel or a job
# array spreads a large grid over machines:
#     parallel tools/sweep.sh --shard {}/8 ::: 0 1 2 3 4 5 6 7 > rows.txt
# A row: depth, shadowing design, EPT01, workload, iterations, status
# (PASS, SKIP -- the workload's, e.g. VMCALL #UD with no hypervisor under it
# --, FAIL or unsupported), the workload's modelled cycles per iteration,
# the VM exits to L0 per exit of the innermost level (the exit
# multiplication of `nvmx trace stats --by level`, averaged over all its
# exits), host seconds (wall clock, boot included) and CPU seconds of the
# nvmx process (user + system, boot included: unlike host seconds, not
# stretched by other load on the machine).
#
# usage: tools/sweep.sh [--nvmx PATH] [--images DIR] [--out DIR] [--depths LIST]
#                       [--shadow LIST] [--ept LIST] [--workloads LIST] [--count N]
#                       [--shard I/N] [--header]
#   LIST is comma-separated: depths 1-6 (default 1,2,3), shadow designs
#   kvm,pkvm,none,kvm-l0 (default kvm,none), ept on,off (default both),
#   workloads cpuid,vmcall,io,msr,... (default cpuid). Defaults: build/nvmx,
#   build/guests, sweep-out.
#   A design names L0's VMCS shadowing for L1 (configs/l0 "vmcs_shadowing");
#   with kvm and pkvm every turtle also uses VMCS shadowing for its guest
#   and offers it (turtle shadow=1), with none neither (shadow=0); kvm-l0
#   is L0's kvm design with turtles that do not (shadow=0).
set -u
nvmx=build/nvmx images=build/guests out=sweep-out
depths=1,2,3 shadows=kvm,none epts=on,off workloads=cpuid count=20
shard=0/1 header=0
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --depths) depths=$2; shift 2 ;;
    --shadow) shadows=$2; shift 2 ;;
    --ept) epts=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --shard) shard=$2; shift 2 ;;
    --header) header=1; shift ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sweep.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
si=${shard%/*} sn=${shard#*/}
case "$si/$sn" in
*[!0-9/]* | /* | */) echo "sweep.sh: --shard I/N with 0 <= I < N" >&2; exit 2 ;;
esac
if [ "$sn" -lt 1 ] || [ "$si" -ge "$sn" ]; then
    echo "sweep.sh: --shard I/N with 0 <= I < N" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
# The turtles of a stack without EPT, outermost first: each is linked below
# the one that loads it (docs/guests.md "Memory layout").
turtles="turtle/turtle.elf turtle/turtle-32m.elf turtle/turtle-16m.elf turtle/turtle-8m.elf
turtle/turtle-4m.elf"

# stack DEPTH SHADOW EPT WORKLOAD FILE: write the stack description
stack() {
    d=$1 sh=$2 ept=$3 w=$4 f=$5
    pol=$out/l0-$sh-$ept.json
    printf '{ "name": "sweep-%s-%s", "hide": {}, "vmcs_shadowing": "%s", "ept01": %s }\n' \
        "$sh" "$ept" "${sh%-l0}" "$([ "$ept" = on ] && echo true || echo false)" >"$pol"
    case "$sh" in none | *-l0) t=false ;; *) t=true ;; esac
    {
        printf '{ "description": "sweep: depth %s, %s, EPT01 %s, %s",\n' "$d" "$sh" "$ept" "$w"
        printf '  "l0": "%s", "images": "%s",\n  "levels": [\n' "$(basename "$pol")" "$images"
        i=1
        for img in $turtles; do
            [ $i -lt "$d" ] || break
            printf '    { "image": "%s", "shadow": %s },\n' "$img" "$t"
            i=$((i + 1))
        done
        printf '    { "image": "workloads/workload-%s.elf", "cmdline": "count=%s" }\n  ]\n}\n' "$w" "$count"
    } >"$f"
}

now() { date +%s%N; }
# CPU seconds (user + system) of the finished children of this shell: the
# second line of `times` (POSIX), e.g. "0m1.25s 0m0.03s". `times` runs in
# this shell (a command substitution would report its own subshell).
cpu() {
    times >"$out/.times"
    awk 'NR == 2 { n = split($1 " " $2, f, /[ms ]+/); t = 0
                   for (i = 1; i + 1 <= n; i += 2) t += f[i] * 60 + f[i + 1]
                   printf "%.2f", t }' "$out/.times"
}

if [ $header -eq 1 ]; then
    printf '%-5s %-6s %-5s %-8s %6s %-11s %14s %13s %9s %8s\n' depth shadow ept01 workload count \
        status cycles/iter exits/Ln-exit host-s cpu-s
fi
k=0
for d in $(echo "$depths" | tr , ' '); do
    for sh in $(echo "$shadows" | tr , ' '); do
        for ept in $(echo "$epts" | tr , ' '); do
            for w in $(echo "$workloads" | tr , ' '); do
                k=$((k + 1))
                [ $(((k - 1) % sn)) -eq "$si" ] || continue
                case "$d" in [1-6]) ;; *) echo "sweep.sh: depth $d: 1 to 6 (one turtle image per level: turtle.elf ... turtle-4m.elf)" >&2; exit 2 ;; esac
                case "$sh" in kvm|pkvm|none|kvm-l0) ;; *) echo "sweep.sh: shadow design '$sh': kvm, pkvm, none or kvm-l0" >&2; exit 2 ;; esac
                name=d$d-$sh-$ept-$w
                f=$out/$name.json
                case "$images" in /*) ;; *) images=$(cd "$images" 2>/dev/null && pwd) || {
                    echo "sweep.sh: no images directory" >&2; exit 2; } ;; esac
                stack "$d" "$sh" "$ept" "$w" "$f"
                cpu >"$out/.c0"
                t0=$(now)
                st=0
                "$nvmx" run --stack "$f" --trace "$out/$name.jsonl.zst" >"$out/$name.out" 2>&1 || st=$?
                t1=$(now)
                cpu >"$out/.c1"
                status=FAIL
                if [ $st -eq 1 ] && grep -q ' 0 failed,' "$out/$name.out" && ! grep -q '^FAIL' "$out/$name.out"; then
                    status=PASS
                elif [ $st -eq 77 ]; then
                    status=SKIP
                elif grep -q 'unsupported' "$out/$name.out"; then
                    status=unsupported
                fi
                cyc=$(sed -n 's/^workload [a-z_]*: [0-9]* iterations, *[0-9]* TSC ticks, *\([0-9]*\) per iteration.*/\1/p' "$out/$name.out" | tr -d '\r')
                mul=-
                if [ $status = PASS ]; then
                    mul=$("$nvmx" trace stats --by level "$out/$name.jsonl.zst" 2>/dev/null |
                        sed -n 's/^ *total *\([0-9.]*\) exits to L0.*/\1/p')
                fi
                rm -f "$out/$name.jsonl.zst"
                printf '%-5s %-6s %-5s %-8s %6s %-11s %14s %13s %9s %8s\n' "$d" "$sh" "$ept" "$w" "$count" \
                    "$status" "${cyc:--}" "${mul:--}" \
                    "$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')" \
                    "$(awk -v a="$(cat "$out/.c0")" -v b="$(cat "$out/.c1")" 'BEGIN { printf "%.1f", b - a }')"
            done
        done
    done
done
