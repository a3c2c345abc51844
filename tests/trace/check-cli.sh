#!/bin/sh
# The command line: option errors name the option, `run -h` works, QEMU's
# -kernel/-append/-initrd/-m are accepted, a FIFO or a device given as an
# image is refused at once, and every command of the README's "Running"
# block works as written (from a directory where build/ and configs/ are the
# build and config trees).
#
# usage: check-cli.sh --nvmx PATH --build DIR --source DIR --out DIR
set -u

nvmx= build= source= out=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --source) source=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "check-cli.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$nvmx" ] && [ -n "$build" ] && [ -n "$source" ] && [ -n "$out" ] ||
    { echo "check-cli.sh: --nvmx, --build, --source and --out are required" >&2; exit 2; }
rm -rf "$out" && mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }
demo=$build/guests/demo/demo.elf

expect_status() {
    want=$1
    shift
    "$@" >"$out/o.txt" 2>"$out/e.txt"
    got=$?
    [ "$got" -eq "$want" ] ||
        fail "'$*': status $got, expected $want; stderr: $(cat "$out/e.txt")"
}
expect_err() { grep -q -- "$1" "$out/e.txt" || fail "stderr lacks '$1': $(cat "$out/e.txt")"; }
expect_out() { grep -q -- "$1" "$out/o.txt" || fail "stdout lacks '$1': $(head -c 2000 "$out/o.txt")"; }
header() { head -n 1 "$out/t.jsonl"; }

# ---- option errors name the option -----------------------------------------
expect_status 0 "$nvmx" run -h
expect_out '^usage: nvmx run IMAGE'
expect_status 2 "$nvmx" run "$demo" -xyz
expect_err "^nvmx run: unknown option '-x'"
expect_status 2 "$nvmx" run --bogus "$demo"
expect_err "^nvmx run: unknown option '--bogus'"
expect_status 2 "$nvmx" run "$demo" --mem
expect_err "^nvmx run: option '--mem' needs a value"
expect_status 2 "$nvmx" run --stats=1 "$demo"
expect_err "^nvmx run: option '--stats' takes no value"
expect_status 2 "$nvmx" trace stats -q x
expect_err "^nvmx trace stats: unknown option '-q'"

# ---- QEMU spellings ---------------------------------------------------------
expect_status 8 "$nvmx" run -kernel "$demo" -m 64 -append "a b" --max-insns 1000 --trace "$out/t.jsonl"
header | grep -q '"mem":67108864,' || fail "-m 64 is not 64 MiB: $(header)"
header | grep -q '"cmdline":"a b"' || fail "-append: $(header)"
header | grep -q "\"image\":\"$demo\"" || fail "-kernel: $(header)"
expect_status 8 "$nvmx" run -kernel "$demo" -m size=3G -initrd "$demo one two,$demo three" \
    --max-insns 1000 --trace "$out/t.jsonl"
header | grep -q '"mem":3221225472,' || fail "-m size=3G: $(header)"
header | grep -q '"module_sha256":\["[0-9a-f]*","[0-9a-f]*"\]' || fail "-initrd: two modules: $(header)"
# An option's value is not an alias: --cmdline -m is the command line "-m".
expect_status 8 "$nvmx" run "$demo" --cmdline -m --max-insns 1000 --trace "$out/t.jsonl"
header | grep -q '"cmdline":"-m"' || fail "--cmdline -m: $(header)"
expect_status 2 "$nvmx" run -kernel "$demo" "$demo"
expect_err "IMAGE given twice"
expect_status 2 "$nvmx" run -m 1 "$demo"
expect_err "^nvmx run: -m: '1' must be"

# ---- images that are not files are refused, not waited on ------------------
mkfifo "$out/fifo" || fail "mkfifo"
expect_status 2 timeout 10 "$nvmx" run "$out/fifo"
expect_err "^nvmx run: image '$out/fifo' is a FIFO, not a regular file: refused$"
expect_status 2 timeout 10 "$nvmx" run /dev/zero
expect_err "is a character device, not a regular file: refused"
expect_status 2 timeout 10 "$nvmx" run "$demo" --module "$out/fifo,x"
expect_err "^nvmx run: module '$out/fifo' is a FIFO"
expect_status 2 timeout 10 "$nvmx" run "$out"
expect_err "is a directory, not a regular file"

# ---- the README's Running block, as written ---------------------------------
mkdir -p "$out/readme" && ln -s "$build" "$out/readme/build" && ln -s "$source/tests" "$out/readme/tests" && ln -s "$source/configs" \
    "$out/readme/configs" || fail "readme dir"
sed -n '/^## Running$/,/^## /p' "$source/README.md" | sed -n '/^```$/,/^```$/p' | grep '^build/' |
    sed 's/   *#.*$//' >"$out/readme.cmds"
[ "$(wc -l <"$out/readme.cmds")" -ge 5 ] || fail "no Running block in README.md"
while IFS= read -r cmd; do
    (cd "$out/readme" && eval "$cmd" </dev/null >/dev/null 2>"$out/readme.err")
    st=$?
    case "$cmd" in
    "build/nvmx run --help"*) ok=$((st == 0)) ;;
    "build/nvmx run "*) ok=$((st % 2)) ;;            # a guest's debug-exit status
    "build/nvmx trace diff "*) ok=$((st <= 1)) ;;    # same or different
    *) ok=$((st == 0)) ;;
    esac
    [ "$ok" -eq 1 ] || fail "README: '$cmd': status $st: $(cat "$out/readme.err")"
done <"$out/readme.cmds"
echo PASS
exit 0
