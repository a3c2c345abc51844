#!/bin/sh
# The trace tools on a real trace: run a VMX guest with --trace, then
#  - `trace stats --by port|msr|level|vmcs`, --sort, --format json|csv give
#    the rows the guest's exits imply;
#  - `trace diff` of two runs is 0; under another cost model it names the
#    first divergence and the cycle deltas (1), and ignoring the keys the
#    cost model changes makes them the same again (0);
#  - bad input (missing file, directory, garbage line, truncated file, wrong
#    schema, bad option) is refused with the file and the problem named and
#    exit status 2.
#
# usage: check-tools.sh --nvmx PATH --image IMAGE --configs DIR --out DIR
#                       [--l0-image HV-IMAGE] [-- RUN-ARGS...]
set -u

nvmx= image= out= configs= l0image=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    --l0-image) l0image=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check-tools.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$nvmx" ] || [ -z "$image" ] || [ -z "$out" ] || [ -z "$configs" ]; then
    echo "check-tools.sh: --nvmx, --image, --configs and --out are required" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }
T=$out/a.jsonl
here=$(dirname "$0")

"$nvmx" run "$image" --serial "$out/serial.txt" --trace "$T" "$@" >/dev/null 2>"$out/run.txt"
st=$?
[ $((st % 2)) -eq 1 ] || { cat "$out/run.txt" >&2; fail "run ended with status $st"; }
# Bad inputs, used by several sections below (made before the first use).
head -n 1 "$T" >"$out/hdr.jsonl"
{ cat "$out/hdr.jsonl"; echo 'garbage'; } >"$out/garbage.jsonl"
head -c 100 "$T" >"$out/trunc.jsonl"
sed '1s/"schema":[0-9]*/"schema":99/' "$T" >"$out/schema.jsonl"

# expect_status WANT CMD... : run CMD, stdout/stderr to $out/o.txt, $out/e.txt
expect_status() {
    want=$1
    shift
    "$@" >"$out/o.txt" 2>"$out/e.txt"
    got=$?
    [ "$got" -eq "$want" ] ||
        fail "'$*': status $got, expected $want; stderr: $(cat "$out/e.txt")"
}
expect_err() { grep -q -- "$1" "$out/e.txt" || fail "stderr lacks '$1': $(cat "$out/e.txt")"; }
expect_out() { grep -q -- "$1" "$out/o.txt" || fail "stdout lacks '$1': $(cat "$out/o.txt")"; }

# ---- stats --by ----------------------------------------------------------
# The guest's I/O exits (tests/guests/vmx/vmx_exits.c): OUT to 0x80 three
# times, IN from 0x3f8, OUT to 0x1234, IN from 0x7fff.
expect_status 0 "$nvmx" trace stats --by port "$T"
expect_out '^ *IO Port Access *Samples'
expect_out '^ *0x80:POUT  *3 '
expect_out '^ *0x3f8:PIN  *1 '
expect_out '^ *0x1234:POUT  *1 '
expect_out '^ *0x7fff:PIN  *1 '
expect_out '^(I/O-instruction exits only; all VM exits: [0-9]*)$'
# Its MSR exits (the "msr" key, ECX at the exit): RDMSR of IA32_SYSENTER_ESP
# (0x175, no bitmaps), IA32_SYSENTER_CS (0x174, read-low bit set) and
# 0x40000000 (outside the bitmap ranges); WRMSR of 0x175 and of FS_BASE
# (0xc0000100, write-high bit set). One exit each, five in all.
expect_status 0 "$nvmx" trace stats --by msr "$T"
expect_out '^ *MSR Access *Samples'
expect_out '^ *0x174:rdmsr  *1 '
expect_out '^ *0x175:rdmsr  *1 '
expect_out '^ *0x175:wrmsr  *1 '
expect_out '^ *0x40000000:rdmsr  *1 '
expect_out '^ *0xc0000100:wrmsr  *1 '
expect_out '^Total Samples:5,'
! grep -q -- '^note:' "$out/o.txt" || fail "every MSR exit has its \"msr\" key: $(cat "$out/o.txt")"
# A schema 1 trace has no "msr" key: its MSR exits show as '?', with a note.
sed -e '1s/"schema":[0-9]*/"schema":1/' -e 's/,"msr":"0x[0-9a-f]*"//' "$T" >"$out/schema1.jsonl"
expect_status 0 "$nvmx" trace stats --by msr "$out/schema1.jsonl"
expect_out '^ *?:rdmsr  *3 '
expect_out '^ *?:wrmsr  *2 '
expect_out '^note: 5 MSR exits without the MSR number'
expect_status 0 "$nvmx" trace stats --by level --format csv "$T"
expect_out '^group,level,samples,samples_pct,time_pct,timed,cycles,min_cycles,max_cycles,avg_cycles$'
expect_out '^L1,1,[1-9][0-9]*,100.00,100.00,'
expect_status 0 "$nvmx" trace stats --by level,reason --sort time --format json "$T"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["rows"]; \
assert d["by"]=="level,reason" and r, d; \
assert all(r[i]["cycles"]>=r[i+1]["cycles"] for i in range(len(r)-1)), "not sorted by time"; \
assert sum(x["samples"] for x in r)==d["samples"], "rows do not add up"' "$out/o.txt" ||
    fail "stats --format json: $(cat "$out/o.txt")"
expect_status 0 "$nvmx" trace stats --by vmcs "$T"
expect_out '^ *0x[0-9a-f]*  *[1-9]'

# ---- one definition of exit cycles: --stats and trace stats agree ---------
"$nvmx" run "$image" --serial "$out/serial.txt" --stats --trace "$out/s.jsonl" "$@" \
    >/dev/null 2>"$out/run-stats.txt"
sed -n 's/^nvmx: stats: VM exits \([a-z_]*\) *\([0-9]*\) (\([0-9]*\) cycles exit to entry)$/\1,\2,\3/p' \
    "$out/run-stats.txt" | sort >"$out/run-stats.csv"
[ -s "$out/run-stats.csv" ] || fail "no per-reason lines in --stats: $(cat "$out/run-stats.txt")"
"$nvmx" trace stats --format csv "$out/s.jsonl" | tail -n +2 | cut -d, -f1,3,7 | sort \
    >"$out/trace-stats.csv"
cmp -s "$out/run-stats.csv" "$out/trace-stats.csv" || fail "--stats and trace stats differ: \
$(diff "$out/run-stats.csv" "$out/trace-stats.csv" | head -6)"

# ---- diff ------------------------------------------------------------------
"$nvmx" run "$image" --serial "$out/serial.txt" --trace "$out/b.jsonl" "$@" >/dev/null 2>&1
expect_status 0 "$nvmx" trace diff "$T" "$out/b.jsonl"
expect_out '^traces are the same$'
# The same run with VM exits costing 400 cycles instead of 320.
sed 's/"vm_exit": 320,/"vm_exit": 400,/' "$configs/cost/default.json" >"$out/cost400.json"
grep -q '"vm_exit": 400,' "$out/cost400.json" || fail "could not make cost400.json"
"$nvmx" run "$image" --serial "$out/serial.txt" --trace "$out/c.jsonl" --cost "$out/cost400.json" \
    "$@" >/dev/null 2>&1
expect_status 1 "$nvmx" trace diff "$T" "$out/c.jsonl"
expect_out "^headers differ: config.cost.file (A \"cost/default.json\", B \"$out/cost400.json\"), args "
expect_out '^first divergence at event 2:$'
expect_out '^differing keys: cycles (A [0-9]*, B [0-9]*), cost (A 320, B 400)$'
# Every exit costs 80 more: each row's exit cycles grow by 80 per timed exit.
expect_out '^L1    cpuid  *1  *1  *+0  *[0-9]*  *[0-9]*  *+80$'
expect_out '^traces differ$'
expect_status 0 "$nvmx" trace diff --ignore cycles,cost,args --ignore config.cost.file "$T" "$out/c.jsonl"
expect_out '^traces are the same$'
expect_status 2 "$nvmx" trace diff "$T"
expect_err 'expected two traces A B'
expect_status 2 "$nvmx" trace diff --context x "$T" "$T"
expect_err "^nvmx trace diff: --context 'x'"

# ---- recost ----------------------------------------------------------------
# Recosting the default-model trace under cost400.json gives, byte for byte,
# the trace of the run under cost400.json; likewise with both transition
# costs changed (this guest's path does not depend on modelled time).
expect_status 0 "$nvmx" trace recost --cost "$out/cost400.json" --write "$out/r400.jsonl" "$T"
expect_out '^vm_exit: 320 -> 400 cycles ([1-9][0-9]* exits)$'
expect_out '^not recosted (instruction classes; .*): none (no other class differs)$'
# (the events byte for byte; the header but for the order of the options)
tail -n +2 "$out/c.jsonl" >"$out/c.events"
tail -n +2 "$out/r400.jsonl" | cmp -s - "$out/c.events" || fail "recost --write differs from \
the real run: $("$nvmx" trace diff "$out/r400.jsonl" "$out/c.jsonl" | head -8)"
expect_status 0 "$nvmx" trace diff --ignore args "$out/r400.jsonl" "$out/c.jsonl"
sed 's/"vm_entry": 330,/"vm_entry": 500,/; s/"vm_exit": 320,/"vm_exit": 100,/; s/"cpuid": 100,/"cpuid": 90,/' \
    "$configs/cost/default.json" >"$out/cost-mix.json"
sed 's/"cpuid": 90,/"cpuid": 100,/' "$out/cost-mix.json" >"$out/cost-ve.json"
"$nvmx" run "$image" --serial "$out/serial.txt" --trace "$out/ve.jsonl" --cost "$out/cost-ve.json" \
    "$@" >/dev/null 2>&1
expect_status 0 "$nvmx" trace recost --cost "$out/cost-ve.json" --write "$out/rve.jsonl" "$T"
tail -n +2 "$out/ve.jsonl" >"$out/ve.events"
tail -n +2 "$out/rve.jsonl" | cmp -s - "$out/ve.events" || fail "recost (vm_entry 500, \
vm_exit 100) differs: $("$nvmx" trace diff "$out/rve.jsonl" "$out/ve.jsonl" | head -8)"
expect_status 0 "$nvmx" trace diff --ignore args "$out/rve.jsonl" "$out/ve.jsonl"
# The recosted exit cycles per level and reason are those trace stats gives
# for the real run.
expect_status 0 "$nvmx" trace recost --cost "$out/cost-ve.json" --format csv "$T"
cut -d, -f1,5 "$out/o.txt" | tail -n +2 | sort >"$out/recost.csv"
"$nvmx" trace stats --by level,reason --format csv "$out/ve.jsonl" | cut -d, -f1,8 | tail -n +2 |
    sort >"$out/real.csv"
cmp -s "$out/recost.csv" "$out/real.csv" || fail "recost rows differ from the real run's stats"
# A class between transitions cannot be recosted: it is named.
expect_status 0 "$nvmx" trace recost --cost "$out/cost-mix.json" "$T"
expect_out '^not recosted (instruction classes; .*): cpuid 100 -> 90$'
expect_status 2 "$nvmx" trace recost "$T"
expect_err 'expected --cost FILE and one TRACE'
echo '{"classes":{"vm_exit":"x"}}' >"$out/badcost.json"
expect_status 2 "$nvmx" trace recost --cost "$out/badcost.json" "$T"
expect_err "^nvmx trace recost: --cost: .*badcost.json"

# ---- export --------------------------------------------------------------
# One slice per successful entry, one instant per exit, failed entry and
# VMfail; the JSON checked against the trace-event format.
"$nvmx" trace stats --format json "$T" >"$out/stats.json" || fail "stats --format json"
slices=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$out/stats.json")
instants=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); \
print(d["vm_exits"]+d["failed_entries"]+d["vmfails"])' "$out/stats.json")
expect_status 0 "$nvmx" trace export --format perfetto "$T" "$out/a.perfetto.json"
python3 "$here/check-trace-events.py" "$out/a.perfetto.json" --expect-slices "$slices" \
    --expect-instants "$instants" --expect-tracks L1 || fail "export: not trace-event JSON"
# A nested trace (levels 1 and 2, an event this nvmx does not know): a track
# per level, the unknown event an instant on its level.
{
    head -n 1 "$T"
    echo '{"event":"vmentry","cycles":100,"insns":1,"level":1,"vmcs":"0x1000","kind":"launch","ok":true,"cost":30}'
    echo '{"event":"vmentry","cycles":300,"insns":5,"level":2,"vmcs":"0x2000","kind":"launch","ok":true,"cost":30}'
    echo '{"event":"vmexit","cycles":500,"insns":9,"level":2,"vmcs":"0x2000","reason":10,"reason_name":"cpuid","qual":"0x0","guest_rip":"0x0","insn_len":2,"insn_info":"0x0","intr_info":"0x0","intr_error":"0x0","idt_info":"0x0","idt_error":"0x0","cost":20}'
    echo '{"event":"future_event","cycles":520,"insns":9,"level":2,"vmcs":"0x2000"}'
    echo '{"event":"vmentry","cycles":700,"insns":12,"level":2,"vmcs":"0x2000","kind":"resume","ok":true,"cost":30}'
} >"$out/nested.jsonl"
expect_status 0 "$nvmx" trace export --format perfetto "$out/nested.jsonl" "$out/nested.json"
expect_err 'unknown event "future_event"'
python3 "$here/check-trace-events.py" "$out/nested.json" --expect-slices 3 --expect-instants 2 \
    --expect-tracks L1,L2 || fail "export of a nested trace"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["traceEvents"]; \
x=[v for v in e if v["ph"]=="X" and v["tid"]==2][0]; \
assert (x["ts"], x["dur"]) == (0.33, 0.15), x; \
r=[v for v in e if v["name"]=="future_event"][0]; assert r["tid"]==2 and r["ts"]==0.52, r' \
    "$out/nested.json" || fail "nested export: slice or instant at the wrong time"
# A real nested run (--l0): tracks L1 and L2, stats per level, the nesting
# events counted.
if [ -n "$l0image" ]; then
    "$nvmx" run "$l0image" --l0 --serial "$out/serial.txt" --trace "$out/l0.jsonl" >/dev/null 2>&1
    expect_status 0 "$nvmx" trace export --format perfetto "$out/l0.jsonl" "$out/l0.json"
    python3 "$here/check-trace-events.py" "$out/l0.json" --expect-tracks L1,L2 ||
        fail "export of an --l0 trace"
    expect_status 0 "$nvmx" trace stats --by level "$out/l0.jsonl"
    expect_out '^ *L2  *[1-9]'
    expect_out '^Other events: .*reflect:l1 [1-9]'
fi
# bad traces, made before their first use (a fresh build has none yet):
# a second line that is not JSON, a truncated one, an unknown schema
head -n 1 "$T" >"$out/hdr.jsonl"
{ cat "$out/hdr.jsonl"; echo 'garbage'; } >"$out/garbage.jsonl"
head -c 100 "$T" >"$out/trunc.jsonl"
sed '1s/"schema":[0-9]*/"schema":99/' "$T" >"$out/schema.jsonl"
rm -f "$out/never.json"
expect_status 2 "$nvmx" trace export --format perfetto "$out/garbage.jsonl" "$out/never.json"
expect_err "'$out/never.json' not written"
[ ! -e "$out/never.json" ] || fail "export of a bad trace left its output"
expect_status 2 "$nvmx" trace export "$T" "$out/x.json"
expect_err 'expected --format perfetto'

# ---- replay ----------------------------------------------------------------
expect_status 0 "$nvmx" replay "$T"
expect_out '^replay: identical, event for event$'
# The image elsewhere under another name, same bytes: fine.
cp "$image" "$out/copy.elf"
expect_status 0 "$nvmx" replay --image "$out/copy.elf" "$T"
# A changed image is refused before running.
printf 'x' >>"$out/copy.elf"
expect_status 2 "$nvmx" replay --image "$out/copy.elf" "$T"
expect_err "^nvmx replay: '$out/copy.elf' is not the image the trace was recorded with (its SHA-256 is [0-9a-f]*; the trace records [0-9a-f]*)$"
# A recorded trace that is not what the image does: the divergence named.
sed '5s/"cycles":\([0-9]*\)/"cycles":1\1/' "$T" >"$out/tampered.jsonl"
expect_status 1 "$nvmx" replay "$out/tampered.jsonl"
expect_out '^first divergence at event 4:$'
expect_out '^replay: the new trace differs from'
# A trace without the run options and hashes (an older writer): its config
# is run, with a warning.
sed '1s/,"image_sha256":"[0-9a-f]*"//; 1s/,"args":\[[^]]*\]//' "$T" >"$out/old.jsonl"
grep -q '"args"' "$out/old.jsonl" && fail "could not strip args"
expect_status 0 "$nvmx" replay "$out/old.jsonl"
expect_err 'the trace records no image hash'
expect_err 'the trace records no run options'
expect_out '^replay: identical, event for event$'
expect_status 2 "$nvmx" replay "$out/garbage.jsonl"
expect_status 2 "$nvmx" replay "$out/schema.jsonl"
expect_err "^$out/schema.jsonl:1: header: schema 99 is not supported"
expect_status 2 "$nvmx" replay "$out/missing.jsonl"
expect_err "cannot open '$out/missing.jsonl'"

# ---- import-ftrace -------------------------------------------------------
# The shipped sample (trace-cmd report text of a nested KVM host): vCPU 0's
# exits at levels 1 and 2, one L2 exit reflected to L1 and one handled by L0.
sample=$here/data/kvm-nested.txt
expect_status 0 "$nvmx" trace import-ftrace "$sample" "$out/kvm.jsonl"
expect_err 'import-ftrace: 15 events of vcpu 0 from 21 lines (2 other lines, 1 lines of other vCPUs skipped)'
expect_status 0 "$nvmx" trace stats --by level,reason --format csv "$out/kvm.jsonl"
# Exit cycles: an L1 VMRESUME exit ends when L0 enters L2 (5000, 4000); the
# L2 CPUID exit, reflected to L1, when L2 is entered again (14000).
expect_out '^L1 vmresume,1,24,2,33.33,23.08,2,9000,4000,5000,4500.00$'
expect_out '^L1 io_instruction,1,30,1,16.67,25.64,1,10000,10000,10000,10000.00$'
expect_out '^L2 cpuid,2,10,1,16.67,35.90,1,14000,14000,14000,14000.00$'
expect_out '^L2 external_interrupt,2,1,1,16.67,10.26,1,4000,4000,4000,4000.00$'
expect_status 0 "$nvmx" trace stats "$out/kvm.jsonl"
expect_out '^Other events: reflect:l1 1, reflect:l0 1$'
expect_status 0 "$nvmx" trace stats --by port "$out/kvm.jsonl"
expect_out '^ *0x3f8:POUT  *1 '
expect_status 0 "$nvmx" trace import-ftrace --vcpu 1 --cycles-per-ns 2.5 "$sample" "$out/kvm1.jsonl"
expect_status 0 "$nvmx" trace stats "$out/kvm1.jsonl"
expect_out '^ *hlt  *1 '
expect_status 1 "$nvmx" trace diff "$out/kvm.jsonl" "$T"
expect_status 0 "$nvmx" trace export --format perfetto "$out/kvm.jsonl" "$out/kvm.json"
python3 "$here/check-trace-events.py" "$out/kvm.json" --expect-tracks L1,L2 || fail "kvm export"
# Bad input: the line named, nothing written.
sed '3s/IO_INSTRUCTION/NO_SUCH_REASON/' "$sample" >"$out/kvm-bad.txt"
rm -f "$out/kvm-bad.jsonl"
expect_status 2 "$nvmx" trace import-ftrace "$out/kvm-bad.txt" "$out/kvm-bad.jsonl"
expect_err "^$out/kvm-bad.txt:3: unknown exit reason 'NO_SUCH_REASON'$"
[ ! -e "$out/kvm-bad.jsonl" ] || fail "import of a bad file left its output"
sed '3s/5032.102010:/yesterday:/' "$sample" >"$out/kvm-bad.txt"
expect_status 2 "$nvmx" trace import-ftrace "$out/kvm-bad.txt" "$out/kvm-bad.jsonl"
expect_err "^$out/kvm-bad.txt:3: kvm_exit: no timestamp"
sed '3s/info1 0x0*3f80000/info1 0xzz/' "$sample" >"$out/kvm-bad.txt"
expect_status 2 "$nvmx" trace import-ftrace "$out/kvm-bad.txt" "$out/kvm-bad.jsonl"
expect_err "^$out/kvm-bad.txt:3: bad info1 value '0xzz'$"
printf 'garbage\nmore garbage\n' >"$out/kvm-none.txt"
expect_status 2 "$nvmx" trace import-ftrace "$out/kvm-none.txt" "$out/kvm-bad.jsonl"
expect_err "no kvm_exit, kvm_entry or kvm_nested_\* events"
head -c 300 "$image" >"$out/kvm-bin.txt"
expect_status 2 "$nvmx" trace import-ftrace "$out/kvm-bin.txt" "$out/kvm-bad.jsonl"
expect_err "binary data"
expect_status 2 "$nvmx" trace import-ftrace "$out/missing.txt" "$out/kvm-bad.jsonl"
expect_err "cannot open '$out/missing.txt'"

# ---- bad input: every command names the file and the problem, status 2 ----
mkdir -p "$out/dir"
for cmd in "stats" "recost --cost default" "export --format perfetto"; do
    x=
    case $cmd in export*) x=$out/x.json ;; esac
    expect_status 2 "$nvmx" trace $cmd "$out/missing.jsonl" $x
    expect_err "cannot open '$out/missing.jsonl'"
    expect_status 2 "$nvmx" trace $cmd "$out/dir" $x
    expect_err "cannot read '$out/dir': it is a directory"
    expect_status 2 "$nvmx" trace $cmd "$out/garbage.jsonl" $x
    expect_err "^$out/garbage.jsonl:2: bad JSON"
    expect_status 2 "$nvmx" trace $cmd "$out/trunc.jsonl" $x
    expect_err "^$out/trunc.jsonl:1: no complete header line"
    expect_status 2 "$nvmx" trace $cmd "$out/schema.jsonl" $x
    expect_err "^$out/schema.jsonl:1: header: schema 99 is not supported"
    expect_status 2 "$nvmx" trace $cmd --bogus "$T" $x
    expect_err "unknown option '--bogus'"
done
# diff: either side bad is status 2, with the file named.
expect_status 2 "$nvmx" trace diff "$T" "$out/garbage.jsonl"
expect_err "^$out/garbage.jsonl:2: bad JSON"
expect_err "^nvmx trace diff: '$out/garbage.jsonl' is not a valid trace"
expect_status 2 "$nvmx" trace diff "$out/schema.jsonl" "$T"
expect_err "^$out/schema.jsonl:1: header: schema 99 is not supported"
expect_status 2 "$nvmx" trace diff "$T" "$out/missing.jsonl"
expect_err "cannot open '$out/missing.jsonl'"
expect_status 2 "$nvmx" trace stats --by port,msr "$T"
expect_err "^nvmx trace stats: --by 'port,msr': expected"
expect_status 2 "$nvmx" trace stats --format xml "$T"
expect_err "^nvmx trace stats: --format 'xml'"
expect_status 2 "$nvmx" trace stats --sort
expect_err "option '--sort' needs a value"
echo PASS
exit 0
