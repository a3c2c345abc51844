#!/bin/sh
# nvmx report --html: run a VMX guest bare and the hypervisor under --l0,
# write each report and check it: well-formed HTML with one well-formed SVG
# per plot, the numbers of the trace in it, no script and nothing fetched.
# With --chromium, also open each page in headless Chromium and check that it
# renders (the SVGs are in its DOM) without script or console errors; exit 77
# (skip) when chromium is not installed.
#
# usage: check-report.sh --nvmx PATH --image IMAGE --l0-image IMAGE --out DIR [--chromium]
set -u

nvmx= image= l0image= out= chromium=
while [ $# -gt 0 ]; do
    case "$1" in
    --nvmx) nvmx=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --l0-image) l0image=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --chromium) chromium=1; shift ;;
    *) echo "check-report.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$nvmx" ] && [ -n "$image" ] && [ -n "$l0image" ] && [ -n "$out" ] ||
    { echo "check-report.sh: --nvmx, --image, --l0-image and --out are required" >&2; exit 2; }
if [ -n "$chromium" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "SKIP: chromium is not installed (scripts/deps.sh installs it)"
    exit 77
fi
mkdir -p "$out" || exit 2
fail() { echo "FAIL: $*" >&2; exit 1; }

"$nvmx" run "$image" --feature-control-locked --serial /dev/null --trace "$out/bare.jsonl" \
    >/dev/null 2>&1
"$nvmx" run "$l0image" --l0 --serial /dev/null --trace "$out/l0.jsonl" >/dev/null 2>&1
for t in bare l0; do
    "$nvmx" report --html "$out/$t.html" "$out/$t.jsonl" 2>"$out/err.txt" ||
        fail "report of $t: $(cat "$out/err.txt")"
    exits=$("$nvmx" trace stats --format json "$out/$t.jsonl" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["vm_exits"])')
    if [ -z "$chromium" ]; then
        python3 - "$out/$t.html" "$exits" "$t" <<'PY' || fail "report $t is not well formed"
import re, sys, xml.etree.ElementTree as ET
from html.parser import HTMLParser
path, exits, kind = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.tags = []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in ("meta", "br", "img"):
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, "unbalanced </%s> after %s" % (tag, self.stack[-3:])
        self.stack.pop()
p = P(); p.feed(text)
assert not p.stack, "unclosed tags: %s" % p.stack
assert "script" not in p.tags, "the page has a script"
assert not re.search(r'(src|href)="(https?:)?//', text), "the page fetches something"
svgs = re.findall(r"<svg.*?</svg>", text, re.S)
for s in svgs:
    ET.fromstring(s)  # each plot is well-formed SVG (XML)
want = 9 if kind == "l0" else 8
assert len(svgs) >= 4, "%d plots" % len(svgs)
assert "<th>VM exits</th><td>%s</td>" % exits in text, "VM exit count %s not in the page" % exits
if kind == "l0":
    assert "fields written per vmcs02 merge" in text, "no merge-size plot in an --l0 report"
    assert ">L2<" in text, "no L2 line in the exits-over-time plot"
else:
    assert "No merge events" in text
print("%s: %d plots" % (path, len(svgs)))
PY
    else
        timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr \
            --v=0 --dump-dom "file://$(cd "$out" && pwd)/$t.html" >"$out/$t.dom" 2>"$out/$t.chrome" ||
            fail "chromium could not open the $t report: $(tail -5 "$out/$t.chrome")"
        want=$(grep -o '<svg ' "$out/$t.html" | wc -l)
        got=$(grep -o '<svg ' "$out/$t.dom" | wc -l)
        [ "$want" -gt 0 ] && [ "$got" -eq "$want" ] ||
            fail "chromium's DOM of the $t report has $got plots, the page $want"
        grep -q "<th>VM exits</th><td>$exits</td>" "$out/$t.dom" || fail "$t: exit count not rendered"
        ! grep -E 'Uncaught|CONSOLE\(' "$out/$t.chrome" ||
            fail "script or console errors rendering the $t report"
        echo "$t: chromium rendered $got plots"
    fi
done
if [ -z "$chromium" ]; then
    printf '{"event":"header","schema":2}\ngarbage\n' >"$out/bad.jsonl"
    rm -f "$out/bad.html"
    "$nvmx" report --html "$out/bad.html" "$out/bad.jsonl" 2>"$out/err.txt" && fail "bad trace accepted"
    grep -q "^$out/bad.jsonl:2: bad JSON" "$out/err.txt" || fail "no FILE:LINE: $(cat "$out/err.txt")"
    [ ! -e "$out/bad.html" ] || fail "a bad trace left a report"
    "$nvmx" report "$out/bare.jsonl" 2>"$out/err.txt" && fail "report without --html accepted"
    grep -q "expected --html OUT" "$out/err.txt" || fail "no usage message"
fi
echo PASS
exit 0
