#!/bin/sh
# `nvmx run --gdb tcp::PORT -S` driven by gdb in batch mode (docs/cli.md
# "Debugging with gdb"). usage: check-gdb.sh NVMX IMAGE OUTDIR
# IMAGE is target.c's; IMAGE64 (its ELF64 twin) gives gdb the symbols.
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

sym() { nm "$elf64" | awk -v s="$1" '$3 == s { print $1 }' | sed 's/^0*//'; }
target=$(sym gdb_target)
[ -n "$target" ] || { echo "FAIL: no gdb_target in $elf64"; exit 1; }

# Start nvmx waiting for the debugger on a free port (a port taken by
# something else is refused at once: try the next).
base=$((20000 + $$ % 20000))
pid=
for i in 0 1 2 3 4 5 6 7 8 9; do
    port=$((base + i * 7))
    rm -f "$out/nvmx.err"
    timeout 120 "$nvmx" run "$image" --gdb "tcp::$port" -S --serial "$out/serial.txt" \
        2>"$out/nvmx.err" &
    pid=$!
    n=0
    while [ $n -lt 100 ] && ! grep -q 'waiting for a connection' "$out/nvmx.err" 2>/dev/null &&
        kill -0 $pid 2>/dev/null; do
        sleep 0.1
        n=$((n + 1))
    done
    grep -q 'waiting for a connection' "$out/nvmx.err" && break
    wait $pid
    pid=
done
[ -n "$pid" ] || { echo "FAIL: nvmx never listened: $(cat "$out/nvmx.err")"; exit 1; }

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
    -ex 'continue' \
    >"$out/gdb.txt" 2>&1
gst=$?
wait $pid
st=$?
[ $gst -eq 0 ] || fail "gdb: status $gst"
[ $st -eq 1 ] || fail "nvmx: status $st, expected 1 (the guest's PASS)"
g=$out/gdb.txt
has "$g" "^RIP=$target\$"
has "$g" "^RDI=1111\$"
has "$g" "^CS=8 SS=10\$"
has "$g" "^CR0=80010033 EFER=500 CR3=[0-9a-f]+\$"
has "$g" "^FSBASE=0\$"
has "$g" "^COUNTER=0\$"
has "$g" "^level 0 \(not in VMX non-root operation\), CPL 0, 64-bit code"
grep -q "^STEPPED=$target\$" "$g" && fail "stepi did not move"
has "$g" "^STEPPED=[0-9a-f]+\$"
has "$g" "<gdb_poke>:[[:space:]]+0x0000000000005a5a"
has "$g" "^RDI2=2222\$"
has "$g" "atchpoint 2: gdb_counter"
has "$g" "^WATCHED=3333\$"
has "$g" "exited with code 01"
grep -q "FAIL" "$out/serial.txt" && fail "the guest failed: $(grep FAIL "$out/serial.txt")"
[ $fails -eq 0 ] && echo "PASS: gdb stub" && exit 0
cat "$g"
exit 1
