#!/bin/sh
# Run one VMX guest test image bare and as L1 under the built-in L0
# (`nvmx run IMAGE --l0`), and compare their result lines: every PASS/FAIL/
# SKIP line must be the same in both modes, except that a line may be SKIP
# under --l0 where L1's filtered capabilities leave a feature out
# (docs/nested.md). The exit statuses must agree too (SKIP aside).
#
# With --strict no SKIP stands in for bare lines: every line and the exit
# status must be the same (guests whose features L0 offers in full).
#
# usage: run-l0-compare.sh --nvmx PATH --image IMAGE --out DIR
#                          [--max-insns N] [--strict] [-- RUN-ARGS...]
set -u

nvmx= image= out= max_insns=100000000 strict=0
while [ $# -gt 0 ]; do
    case "$1" in
    --strict) strict=1; shift ;;
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-insns) max_insns=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run-l0-compare.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$nvmx" ] || [ -z "$image" ] || [ -z "$out" ] || [ ! -f "$image" ]; then
    echo "run-l0-compare.sh: --nvmx, --image (existing) and --out are required" >&2
    exit 2
fi
mkdir -p "$out" || exit 2

run() { # mode serial args...
    mode=$1 serial=$2
    shift 2
    echo "+ $nvmx run $image --max-insns $max_insns --serial $serial $*"
    "$nvmx" run "$image" --max-insns "$max_insns" --serial "$serial" "$@"
}
run bare "$out/bare.txt" "$@"
bare_status=$?
run l0 "$out/l0.txt" --l0 "$@"
l0_status=$?
cat "$out/l0.txt"

# A guest that skips as a whole under --l0 (exit status 77) found a
# capability L0 leaves out of L1's view: the test is skipped.
if [ "$l0_status" = 77 ] && [ "$bare_status" != 77 ] && [ $strict -eq 0 ]; then
    echo "run-l0-compare.sh: the guest skips under --l0 (L1's filtered capabilities)"
    exit 77
fi
grep -E '^(PASS|FAIL|SKIP)' "$out/bare.txt" > "$out/bare.lines"
grep -E '^(PASS|FAIL|SKIP)' "$out/l0.txt" > "$out/l0.lines"
result=0
if ! [ -s "$out/bare.lines" ]; then
    echo "run-l0-compare.sh: no result lines bare"
    result=1
fi
# Line by line: equal; or a SKIP line under --l0 that stands for the bare
# lines up to the next line both runs print (the guest skipped a group of
# checks after reading a capability L0 leaves out).
if ! awk -v strict=$strict '
    NR == FNR { b[FNR] = $0; n = FNR; next }
    { l[FNR] = $0; m = FNR }
    END {
        i = 1; j = 1
        while (j <= m) {
            if (i <= n && l[j] == b[i]) { i++; j++; continue }
            if (!strict && l[j] ~ /^SKIP/) {
                j++
                start = i
                while (i <= n && (j > m || b[i] != l[j])) i++
                printf "--l0 skips %d bare result lines at line %d: %s\n", i - start, start, l[j - 1]
                continue
            }
            printf "line %d differs:\n  bare: %s\n  --l0: %s\n", j, (i <= n ? b[i] : "(none)"), l[j]
            exit 1
        }
        if (i <= n) { printf "bare has %d more result lines than --l0\n", n - i + 1; exit 1 }
    }' "$out/bare.lines" "$out/l0.lines"; then
    result=1
fi
if [ "$bare_status" != "$l0_status" ] && { [ "$l0_status" != 77 ] || [ $strict -eq 1 ]; }; then
    echo "run-l0-compare.sh: exit status bare $bare_status, --l0 $l0_status"
    result=1
fi
if [ $result -eq 0 ]; then
    echo "run-l0-compare.sh: $(wc -l < "$out/l0.lines") result lines identical bare and under --l0"
fi
exit $result
