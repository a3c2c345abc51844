#!/bin/sh
# `nvmx run --gdb tcp::PORT -S` driven by gdb in batch mode (docs/cli.md
# "Debugging with gdb"). usage: check-gdb.sh NVMX IMAGE OUTDIR
# IMAGE is target.c's; IMAGE64 (its ELF64 twin) gives gdb the symbols.
# Sessions:
#  - 64-bit (arch=x86-64): breakpoint, registers, step, memory write, write
#    (Z2), read (Z3) and access (Z4) watchpoints, the guest's exit status;
#  - the first instruction in 32-bit protected mode with the automatic
#    description: i386, EAX holds the multiboot magic, stepi in 32-bit code;
#    arch=i8086 forced on the same point;
#  - --l0: the same breakpoint in L1 (VMX non-root operation, memory read
#    through EPT01), level 1.
# Nothing here can hang: nvmx and gdb run under timeouts.
set -u
nvmx=$1 image=$2 out=$3
elf64=${image}64
mkdir -p "$out" || exit 2
command -v gdb >/dev/null 2>&1 || { echo "SKIP: no gdb"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
has() { grep -qE -- "$2" "$1" || fail "$1: no line matching '$2'"; }

# Option errors: status 2, nothing listens.
"$nvmx" run "$image" -S 2>"$out/e1.txt"; st=$?
[ $st -eq 2 ] || fail "-S without --gdb: status $st"
has "$out/e1.txt" "-S needs --gdb"
"$nvmx" run "$image" --gdb udp::1 2>"$out/e2.txt"; st=$?
[ $st -eq 2 ] || fail "--gdb udp::1: status $st"
has "$out/e2.txt" "is not tcp::PORT"
"$nvmx" run "$image" --gdb tcp::1234,arch=sparc 2>"$out/e3.txt"; st=$?
[ $st -eq 2 ] || fail "--gdb tcp::1234,arch=sparc: status $st"
has "$out/e3.txt" "expected ,arch=auto, i8086, i386 or x86-64"

sym() { nm "$elf64" | awk -v s="$1" '$3 == s { print $1 }' | sed 's/^0*//'; }
target=$(sym gdb_target)
[ -n "$target" ] || { echo "FAIL: no gdb_target in $elf64"; exit 1; }
# the multiboot image's entry point: the first instruction, 32-bit code
entry=$(od -An -tx4 -j24 -N4 "$image" | tr -d ' ' | sed 's/^0*//')

# start NAME ARCH RUN-ARGS...: nvmx waiting for the debugger on a free port
# (a port taken by something else is refused at once: try the next); sets
# $port and $pid.
start() {
    name=$1 arch=$2
    shift 2
    base=$((20000 + $$ % 20000))
    pid=
    for i in 0 1 2 3 4 5 6 7 8 9; do
        port=$((base + i * 7))
        rm -f "$out/$name.err"
        timeout 120 "$nvmx" run "$image" --gdb "tcp::$port$arch" -S \
            --serial "$out/$name.serial" "$@" 2>"$out/$name.err" &
        pid=$!
        n=0
        while [ $n -lt 100 ] && ! grep -q 'waiting for a connection' "$out/$name.err" \
            2>/dev/null && kill -0 $pid 2>/dev/null; do
            sleep 0.1
            n=$((n + 1))
        done
        grep -q 'waiting for a connection' "$out/$name.err" && return 0
        wait $pid
        pid=
    done
    echo "FAIL: nvmx never listened: $(cat "$out/$name.err")"
    exit 1
}

# finish NAME GDB-STATUS WANT-NVMX-STATUS
finish() {
    wait $pid
    st=$?
    [ "$2" -eq 0 ] || fail "$1: gdb status $2"
    [ $st -eq "$3" ] || fail "$1: nvmx status $st, expected $3: $(cat "$out/$1.err")"
}

# ---- 64-bit code ---------------------------------------------------------------
start s64 ,arch=x86-64
timeout 60 gdb -nx -batch \
    -ex 'set confirm off' -ex 'set pagination off' \
    -ex "file $elf64" \
    -ex "target remote 127.0.0.1:$port" \
    -ex 'monitor level' \
    -ex 'break gdb_target' \
    -ex 'continue' \
    -ex 'printf "RIP=%lx\n", $rip' \
    -ex 'printf "RDI=%lx\n", $rdi' \
    -ex 'printf "CS=%x SS=%x\n", $cs, $ss' \
    -ex 'printf "CR0=%lx EFER=%lx CR3=%lx\n", $cr0, $efer, $cr3' \
    -ex 'printf "FSBASE=%lx\n", $fs_base' \
    -ex 'printf "COUNTER=%lx\n", gdb_counter' \
    -ex 'monitor level' \
    -ex 'stepi' \
    -ex 'printf "STEPPED=%lx\n", $pc' \
    -ex 'set var gdb_poke = 0x5a5a' \
    -ex 'x/1xg &gdb_poke' \
    -ex 'continue' \
    -ex 'printf "RDI2=%lx\n", $rdi' \
    -ex 'delete' \
    -ex 'watch gdb_counter' \
    -ex 'continue' \
    -ex 'printf "WATCHED=%lx\n", gdb_counter' \
    -ex 'delete' \
    -ex 'rwatch gdb_peek' \
    -ex 'continue' \
    -ex 'printf "RWATCHED=%lx\n", gdb_counter' \
    -ex 'delete' \
    -ex 'awatch gdb_poke' \
    -ex 'continue' \
    -ex 'delete' \
    -ex 'continue' \
    >"$out/s64.txt" 2>&1
finish s64 $? 1
g=$out/s64.txt
has "$g" "^RIP=$target\$"
has "$g" "^RDI=1111\$"
has "$g" "^CS=8 SS=10\$"
has "$g" "^CR0=80010033 EFER=500 CR3=[0-9a-f]+\$"
has "$g" "^FSBASE=0\$"
has "$g" "^COUNTER=0\$"
has "$g" "^level 0 \(not in VMX non-root operation\), CPL 0, 64-bit code, gdb registers i386:x86-64"
grep -q "^STEPPED=$target\$" "$g" && fail "stepi did not move"
has "$g" "^STEPPED=[0-9a-f]+\$"
has "$g" "<gdb_poke>:[[:space:]]+0x0000000000005a5a"
has "$g" "^RDI2=2222\$"
has "$g" "atchpoint 2: gdb_counter"
has "$g" "^WATCHED=3333\$"
# the read watchpoint stops at the guest's read of gdb_peek, after the
# third call (the counter is final); the access watchpoint at its read of
# gdb_poke
has "$g" "read watchpoint 3: gdb_peek"
has "$g" "^Value = 30583\$"
has "$g" "^RWATCHED=6666\$"
has "$g" "access \(read/write\) watchpoint 4: gdb_poke"
has "$g" "^Value = 23130\$"
has "$g" "exited with code 01"
grep -q "FAIL" "$out/s64.serial" && fail "the guest failed: $(grep FAIL "$out/s64.serial")"

# ---- 32-bit protected mode: the first instruction ------------------------------
# Multiboot: EAX = 0x2BADB002, EBX the information structure, CR0.PE = 1,
# CR0.PG = 0, a 32-bit code segment.
start s32 ""
timeout 60 gdb -nx -batch \
    -ex 'set confirm off' -ex 'set pagination off' \
    -ex "target remote 127.0.0.1:$port" \
    -ex 'show architecture' \
    -ex 'monitor level' \
    -ex 'printf "EIP=%x EAX=%x CR0=%x\n", $eip, $eax, $cr0' \
    -ex 'x/1i $pc' \
    -ex 'stepi' \
    -ex 'printf "EIP2=%x\n", $eip' \
    -ex 'kill' \
    >"$out/s32.txt" 2>&1
finish s32 $? 12
g=$out/s32.txt
has "$g" "currently \"?i386\"?\)"
has "$g" "^level 0 \(not in VMX non-root operation\), CPL 0, 32-bit code, gdb registers i386\$"
has "$g" "^EIP=$entry EAX=2badb002 CR0=11\$"
eip2=$(sed -n 's/^EIP2=//p' "$g")
[ -n "$eip2" ] && [ $((0x$eip2)) -gt $((0x$entry)) ] && [ $((0x$eip2)) -le $((0x$entry + 15)) ] ||
    fail "32-bit stepi: EIP $eip2 after the instruction at $entry"

start s16 ,arch=i8086
timeout 60 gdb -nx -batch \
    -ex 'set confirm off' -ex 'set pagination off' \
    -ex "target remote 127.0.0.1:$port" \
    -ex 'show architecture' \
    -ex 'printf "EIP=%x EAX=%x\n", $eip, $eax' \
    -ex 'kill' \
    >"$out/s16.txt" 2>&1
finish s16 $? 12
has "$out/s16.txt" "currently \"?i8086\"?\)"
has "$out/s16.txt" "^EIP=$entry EAX=2badb002\$"

# ---- --l0: the guest as L1 ------------------------------------------------------
start l0 ,arch=x86-64 --l0
timeout 60 gdb -nx -batch \
    -ex 'set confirm off' -ex 'set pagination off' \
    -ex "file $elf64" \
    -ex "target remote 127.0.0.1:$port" \
    -ex 'break gdb_target' \
    -ex 'continue' \
    -ex 'printf "RIP=%lx RDI=%lx\n", $rip, $rdi' \
    -ex 'monitor level' \
    -ex 'continue' \
    -ex 'printf "COUNTER=%lx\n", gdb_counter' \
    -ex 'x/1xg &gdb_peek' \
    -ex 'delete' \
    -ex 'continue' \
    >"$out/l0.txt" 2>&1
finish l0 $? 3
g=$out/l0.txt
has "$g" "^RIP=$target RDI=1111\$"
has "$g" "^level 1 \(VMX non-root operation\), CPL 0, 64-bit code"
has "$g" "^COUNTER=1111\$"
has "$g" "<gdb_peek>:[[:space:]]+0x0000000000007777"
# the guest checks gdb_poke, which nobody wrote here: its FAIL and status 3
has "$out/l0.serial" "FAIL: gdb.poke"
has "$g" "exited with code 03"

[ $fails -eq 0 ] && echo "PASS: gdb stub" && exit 0
for f in s64 s32 s16 l0; do
    echo "---- $f"
    cat "$out/$f.txt"
done
exit 1
