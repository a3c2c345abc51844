#!/bin/sh
# `nvmx run --stack FILE` on bad stack descriptions: each must be refused
# with exit status 2 and a message that names the file and the key
# (docs/stacks.md), before anything runs.
#
# usage: check-stack-errors.sh NVMX OUTDIR
set -u
nvmx=$1 out=$2
mkdir -p "$out" || exit 2
fails=0 n=0

# case NAME EXPECTED-TEXT JSON: write OUT/NAME.json, expect "OUT/NAME.jsonEXPECTED-TEXT"
case_() {
    name=$1 want=$2
    f=$out/$name.json
    printf '%s\n' "$3" >"$f"
    n=$((n + 1))
    st=0
    "$nvmx" run --stack "$f" --images "$out" --trace "$out/$name.jsonl" >"$out/$name.out" 2>&1 || st=$?
    if [ $st -ne 2 ] || ! grep -qF "$f$want" "$out/$name.out"; then
        echo "FAIL: $name: status $st (expected 2), expected \"$f$want\" in:"
        cat "$out/$name.out"
        fails=$((fails + 1))
    else
        echo "PASS: $name: $(head -n 1 "$out/$name.out")"
    fi
}

: >"$out/a.elf"
case_ syntax ':1: ' '{ "levels": [ }'
case_ not_object ': expected a JSON object' '[1, 2]'
case_ unknown_key ': levles: unknown key' '{ "levles": [] }'
case_ no_levels ': levels: missing' '{ "l0": "default" }'
case_ empty_levels ': levels: expected a non-empty array' '{ "levels": [] }'
case_ level_not_object ': levels[0]: expected an object' '{ "levels": [ "a.elf" ] }'
case_ no_image ': levels[1].image: missing' '{ "levels": [ { "image": "a.elf" }, { "cmdline": "x" } ] }'
case_ image_number ': levels[0].image: expected a non-empty string' '{ "levels": [ { "image": 7 } ] }'
case_ level_unknown_key ': levels[0].shadows: unknown key' '{ "levels": [ { "image": "a.elf", "shadows": true }, { "image": "a.elf" } ] }'
case_ shadow_not_bool ': levels[0].shadow: expected true or false' '{ "levels": [ { "image": "a.elf", "shadow": 1 }, { "image": "a.elf" } ] }'
case_ innermost_ept ': levels[1].ept: the innermost level runs no guest' '{ "levels": [ { "image": "a.elf" }, { "image": "a.elf", "ept": true } ] }'
case_ level_mem ': levels[0].mem: ' '{ "levels": [ { "image": "a.elf", "mem": "lots" }, { "image": "a.elf" } ] }'
case_ l0_number ': l0: expected an L0 policy' '{ "l0": 3, "levels": [ { "image": "a.elf" } ] }'
case_ mem ': mem: ' '{ "mem": "big", "levels": [ { "image": "a.elf" } ] }'
case_ annotate ': annotate: expected true or false' '{ "annotate": "yes", "levels": [ { "image": "a.elf" } ] }'
case_ duplicate ':1: duplicate object key' '{ "l0": false, "l0": false, "levels": [ { "image": "a.elf" } ] }'
case_ too_many ': levels: 17 levels: at most 16' "{ \"levels\": [ $(i=0; while [ $i -lt 16 ]; do printf '{ "image": "a.elf" }, '; i=$((i + 1)); done) { \"image\": \"a.elf\" } ] }"

# An image that is not there is named with its path.
f=$out/missing.json
printf '%s\n' '{ "levels": [ { "image": "no-such.elf" } ] }' >"$f"
n=$((n + 1))
st=0
"$nvmx" run --stack "$f" --images "$out" --trace "$out/missing.jsonl" >"$out/missing.out" 2>&1 || st=$?
if [ $st -ne 2 ] || ! grep -qF "$out/no-such.elf" "$out/missing.out"; then
    echo "FAIL: missing image: status $st, expected the path $out/no-such.elf in:"
    cat "$out/missing.out"
    fails=$((fails + 1))
else
    echo "PASS: missing image: $(head -n 1 "$out/missing.out")"
fi

# --stack gives the image: an IMAGE, --module or --l0 with it is a usage error.
for extra in "$out/a.elf" "--module=$out/a.elf" "--l0"; do
    n=$((n + 1))
    st=0
    "$nvmx" run --stack "$out/unknown_key.json" --trace "$out/usage.jsonl" $extra >"$out/usage.out" 2>&1 || st=$?
    if [ $st -ne 2 ] || ! grep -q "no IMAGE, --module, --cmdline, --l0 or --l0-config" "$out/usage.out"; then
        echo "FAIL: --stack with $extra: status $st:"
        cat "$out/usage.out"
        fails=$((fails + 1))
    else
        echo "PASS: --stack with $extra refused"
    fi
done
echo "$((n - fails)) passed, $fails failed"
[ $fails -eq 0 ]
