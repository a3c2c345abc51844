#!/usr/bin/env python3
"""The merge event of schema 3 (docs/trace-schema.md): "written" counts the
vmcs02 fields a merge wrote, "fields" lists the writes that changed vmcs02
(every write of a full merge).

Runs the VMX exit loop (guests/bench-vmx) as L1 under --l0 and checks:
  - the first merge is full and lists all it wrote (host state included);
  - every later merge is not full, wrote as many fields as the one before,
    and lists exactly one change: guest_rip from vmcs12, equal to the RIP of
    the L2 CPUID exit before it plus that instruction's length (L1's handler
    advances RIP; nothing else in vmcs12 or L0's FN fields changes);
  - the trace reads back with `nvmx trace stats`.

usage: check-merge.py NVMX IMAGE OUTDIR
"""
import json
import os
import subprocess
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    nvmx, image, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    trace = os.path.join(out, "merge.jsonl")
    run = subprocess.run([nvmx, "run", image, "--feature-control-locked", "--l0",
                          "--max-insns", "2000000", "--serial", "/dev/null",
                          "--trace", trace], capture_output=True, text=True)
    if run.returncode not in (1, 8):
        fail("nvmx run ended with status %d: %s" % (run.returncode, run.stderr))
    merges = 0
    last_exit = None
    prev_written = None
    with open(trace) as f:
        header = json.loads(f.readline())
        if header.get("schema") != 3:
            fail("header schema %r, expected 3" % header.get("schema"))
        for n, line in enumerate(f, 2):
            ev = json.loads(line)
            if ev["event"] == "vmexit" and ev["level"] == 2:
                last_exit = ev
            if ev["event"] != "merge":
                continue
            merges += 1
            fields, written = ev["fields"], ev["written"]
            where = "line %d" % n
            if merges == 1:
                if not ev["full"]:
                    fail("%s: the first merge is not full" % where)
                if len(fields) != written:
                    fail("%s: a full merge lists %d of %d writes" % (where, len(fields), written))
                if not any(w["field"] == "host_rip" for w in fields):
                    fail("%s: the full merge does not list host_rip" % where)
                continue
            if ev["full"]:
                fail("%s: merge %d is full (the same vmcs12 throughout)" % (where, merges))
            if merges > 2 and written != prev_written:
                fail("%s: wrote %d fields, the merge before %d" % (where, written, prev_written))
            prev_written = written
            if last_exit is None or last_exit["reason_name"] != "cpuid":
                fail("%s: no L2 CPUID exit before merge %d" % (where, merges))
            want = int(last_exit["guest_rip"], 16) + last_exit["insn_len"]
            got = [(w["field"], int(w["value"], 16), w["origin"]) for w in fields]
            if got != [("guest_rip", want, "vmcs12")]:
                fail("%s: fields %s, expected only guest_rip %#x from vmcs12" % (where, got, want))
            if written <= len(fields):
                fail("%s: wrote %d fields but lists %d (FN fields are rewritten each merge)"
                     % (where, written, len(fields)))
    if merges < 100:
        fail("only %d merges in the trace" % merges)
    st = subprocess.run([nvmx, "trace", "stats", trace], capture_output=True, text=True)
    if st.returncode != 0:
        fail("trace stats refused the trace: " + st.stderr)
    os.remove(trace)
    print("PASS: %d merges, each listing only the changed guest_rip" % merges)


main()
