#!/bin/sh
# `nvmx run --log` (docs/cli.md "Logging").
# usage: check-log.sh NVMX TRIPLE_IMAGE VMX_EXITS_IMAGE OUTDIR
# TRIPLE_IMAGE (triple.c) takes #BP and #UD through its IDT, then loads an
# IDT of limit 0 and executes UD2 at triple_ud2 with RAX=0x1111222233334444,
# RBX=0xabcdef: #UD, #GP (error 0x33 = IDT index 6, IDT bit, EXT), #DF (0),
# shutdown. VMX_EXITS_IMAGE gives VM entries and exits, counted in its trace.
set -u
nvmx=$1 triple=$2 vmx=$3 out=$4
mkdir -p "$out" || exit 2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
has() { # has FILE FIXED-STRING: the file holds a line with the string
    grep -qF -- "$2" "$1" || fail "$1: no line with '$2'"
}

elf64=${triple}64
sym=$(nm "$elf64" | awk '$3 == "triple_ud2" { print $1 }' | sed 's/^0*//')
[ -n "$sym" ] || { echo "FAIL: no triple_ud2 in $elf64"; exit 1; }

# 1. int and cpu_reset to a file: status 4, the delivery chain, the state.
log=$out/triple.log
"$nvmx" run "$triple" --max-insns 1000000 --serial /dev/null --log int,cpu_reset \
    --log-file "$log" 2>"$out/triple.err"
st=$?
[ $st -eq 4 ] || fail "triple fault: exit status $st, expected 4"
grep '^int: ' "$log" >"$out/int.txt"
[ "$(wc -l <"$out/int.txt")" -eq 5 ] || fail "expected 5 int lines, got: $(cat "$out/int.txt")"
sed -n 1p "$out/int.txt" | grep -q '^int: v=0x03 #BP int3/into rip=0x[0-9a-f]* cs=0x0008 cpl=0 level=0' ||
    fail "line 1 is not the #BP: $(sed -n 1p "$out/int.txt")"
sed -n 2p "$out/int.txt" | grep -q '^int: v=0x06 #UD exception rip=0x[0-9a-f]* cs=0x0008 cpl=0 level=0' ||
    fail "line 2 is not the #UD: $(sed -n 2p "$out/int.txt")"
sed -n 3p "$out/int.txt" | grep -q "^int: v=0x06 #UD exception rip=0x$sym cs=0x0008 cpl=0 level=0" ||
    fail "line 3 is not the #UD at triple_ud2: $(sed -n 3p "$out/int.txt")"
sed -n 4p "$out/int.txt" | grep -q "^int: v=0x0d #GP exception err=0x33 rip=0x$sym " ||
    fail "line 4 is not the #GP(0x33): $(sed -n 4p "$out/int.txt")"
sed -n 5p "$out/int.txt" | grep -q "^int: v=0x08 #DF exception err=0x0 rip=0x$sym " ||
    fail "line 5 is not the #DF(0): $(sed -n 5p "$out/int.txt")"
has "$log" "cpu_reset: shutdown: CPU state"
has "$log" "RAX=1111222233334444"
has "$log" "RBX=0000000000abcdef"
has "$log" "RIP=$(printf '%016x' "0x$sym") "
has "$log" "IDT =     0000000000000000 00000000"
has "$log" "EFER=0000000000000500"
has "$log" "VMCS: no current VMCS"
grep -q 'cpu_reset\|^int:' "$out/triple.err" && fail "log lines on stderr with --log-file"
has "$out/triple.err" "nvmx: shutdown (triple fault)"

# 2. Without --log the fatal end still dumps the state, on stderr; --quiet does not.
"$nvmx" run "$triple" --max-insns 1000000 --serial /dev/null 2>"$out/plain.err"
has "$out/plain.err" "cpu_reset: shutdown: CPU state"
has "$out/plain.err" "RAX=1111222233334444"
grep -q '^int:' "$out/plain.err" && fail "int lines without --log int"
"$nvmx" run "$triple" --max-insns 1000000 --serial /dev/null --quiet 2>"$out/quiet.err"
grep -q 'cpu_reset' "$out/quiet.err" && fail "--quiet: a dump on stderr"

# 3. Bad items are refused with status 2.
"$nvmx" run "$triple" --log int,bogus 2>"$out/bad.err"
st=$?
[ $st -eq 2 ] || fail "--log int,bogus: exit status $st, expected 2"
has "$out/bad.err" "unknown item 'bogus'"

# 4. vmx: one line per VM entry and VM exit, as many as the trace has.
vlog=$out/vmx.log
"$nvmx" run "$vmx" --feature-control-locked --serial /dev/null --log vmx --log-file "$vlog" \
    --trace "$out/vmx.jsonl" 2>/dev/null
st=$?
[ $st -eq 1 ] || fail "vmx_exits: exit status $st, expected 1 (PASS)"
for ev in vmentry vmexit vmfail; do
    t=$(grep -c "\"event\":\"$ev\"" "$out/vmx.jsonl")
    l=$(grep -c "^vmx: $ev " "$vlog")
    [ "$t" -eq "$l" ] || fail "$ev: $l log lines, $t trace events"
done
[ "$(grep -c '^vmx: vmexit' "$vlog")" -gt 10 ] || fail "vmx_exits: few VM exits logged"
has "$vlog" "vmx: vmentry launch level=1 vmcs=0x"
grep -q '^vmx: vmexit reason 10 (cpuid) level=1 qual=0x0 guest_rip=0x' "$vlog" ||
    fail "no CPUID exit line"
grep -q '^int:' "$vlog" && fail "int lines without --log int"

[ $fails -eq 0 ] && echo "PASS: nvmx run --log" && exit 0
exit 1
