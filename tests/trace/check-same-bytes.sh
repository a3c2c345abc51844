#!/bin/sh
# The trace writer keeps the format: run a guest with nvmx and with
# nvmx-ref-writer (the same nvmx linked with the previous writer, which built
# a jansson object per line) and require:
#  - byte-identical traces from the two;
#  - the same bytes again from a second run (determinism);
#  - --trace FILE.zst: zstd data that decompresses to the same bytes, read by
#    `nvmx trace stats` to the same table as the plain file.
#
# usage: check-same-bytes.sh --nvmx PATH --ref PATH --image IMAGE --out DIR
#                            [-- RUN-ARGS...]
set -u

nvmx= ref= image= out=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --ref) ref=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check-same-bytes.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$nvmx" ] || [ -z "$ref" ] || [ -z "$image" ] || [ -z "$out" ]; then
    echo "check-same-bytes.sh: --nvmx, --ref, --image and --out are required" >&2
    exit 2
fi
if [ ! -f "$image" ]; then
    echo "check-same-bytes.sh: image '$image' not found" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }

# run_to BINARY TRACE RUN-ARGS...: the run must end as the guest chose (an
# odd status from debug-exit) or at the instruction limit (status 8).
run_to() {
    bin=$1 trace=$2
    shift 2
    rm -f "$trace"
    "$bin" run "$image" --serial /dev/null --trace "$trace" "$@" >/dev/null 2>"$out/run.txt"
    st=$?
    [ $((st % 2)) -eq 1 ] || [ $st -eq 8 ] ||
        { cat "$out/run.txt" >&2; fail "$bin: run ended with status $st"; }
}

run_to "$ref" "$out/ref.jsonl" "$@"
run_to "$nvmx" "$out/new.jsonl" "$@"
run_to "$nvmx" "$out/again.jsonl" "$@"
run_to "$nvmx" "$out/new.jsonl.zst" "$@"

lines=$(wc -l <"$out/ref.jsonl")
[ "$lines" -gt 1 ] || fail "the reference trace has no events"
cmp "$out/ref.jsonl" "$out/new.jsonl" >&2 ||
    fail "the trace differs from the reference writer's ($lines lines)"
cmp -s "$out/new.jsonl" "$out/again.jsonl" || fail "two identical runs gave different traces"

# zstd frame magic 28 b5 2f fd
magic=$(od -An -tx1 -N4 "$out/new.jsonl.zst" | tr -d ' \n')
[ "$magic" = "28b52ffd" ] || fail "--trace FILE.zst did not write zstd data (starts $magic)"
if command -v zstd >/dev/null 2>&1; then
    zstd -q -d -c "$out/new.jsonl.zst" >"$out/unzst.jsonl" || fail "zstd cannot read the .zst trace"
    cmp -s "$out/unzst.jsonl" "$out/new.jsonl" || fail ".zst trace decompresses to other bytes"
fi
"$nvmx" trace stats "$out/new.jsonl" >"$out/stats.txt" 2>"$out/stats.err" ||
    { cat "$out/stats.err" >&2; fail "trace stats refused the plain trace"; }
"$nvmx" trace stats "$out/new.jsonl.zst" >"$out/stats-zst.txt" 2>"$out/stats-zst.err" ||
    { cat "$out/stats-zst.err" >&2; fail "trace stats refused the .zst trace"; }
cmp -s "$out/stats.txt" "$out/stats-zst.txt" || fail "the .zst trace gives another table"
echo "PASS: $lines lines, identical to the reference writer's"
exit 0
