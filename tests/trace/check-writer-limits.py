#!/usr/bin/env python3
"""The trace writer's bounds (docs/trace-schema.md, "How lines are written"):

  - memory: the peak memory of `nvmx run --trace` does not grow with the
    trace: a run ten times longer (ten times the trace) peaks within
    SLACK_KB of the short one;
  - a write that fails: with the file size limited (RLIMIT_FSIZE, as a full
    disk would), the run stops with status 10 and a message naming the file,
    and the file is cut back to its last complete line, so `nvmx trace
    stats` reads it with no partial-line warning.

usage: check-writer-limits.py NVMX IMAGE OUTDIR
"""
import os
import resource
import signal
import subprocess
import sys

SLACK_KB = 4 * 1024
SHORT_INSNS = 1000000
FSIZE = 300 * 1000  # bytes: a few hundred lines, then the "disk" is full


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def run(nvmx, image, trace, insns, limit=None):
    """Run to the instruction limit; (status, stderr, peak RSS in KB)."""
    def child():
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    # a fresh process per run: RUSAGE_CHILDREN keeps the largest child's
    # peak; it keeps SIGXFSZ ignored for nvmx (restore_signals=False)
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,\n"
            "                   restore_signals=False)\n"
            "sys.stderr.write(p.stderr.decode(errors='replace'))\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(p.returncode)\n")
    p = subprocess.run([sys.executable, "-c", code, nvmx, "run", image, "--feature-control-locked",
                        "--serial", "/dev/null", "--max-insns", str(insns), "--trace", trace],
                       capture_output=True, text=True, preexec_fn=child, restore_signals=False)
    return p.returncode, p.stderr, int(p.stdout.strip() or 0)


def main():
    nvmx, image, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    trace = os.path.join(out, "t.jsonl")

    peaks = []
    for insns in (SHORT_INSNS, 10 * SHORT_INSNS):
        st, err, peak = run(nvmx, image, trace, insns)
        if st != 8:
            fail("%d instructions: status %d, expected 8 (the limit): %s" % (insns, st, err))
        peaks.append((insns, peak, os.path.getsize(trace)))
        os.remove(trace)
    (n0, p0, s0), (n1, p1, s1) = peaks
    if s1 < 5 * s0:
        fail("the long run's trace (%d bytes) is not much longer than the short one's (%d)"
             % (s1, s0))
    if p1 > p0 + SLACK_KB:
        fail("peak memory grew with the trace: %d KB for %d bytes, %d KB for %d bytes"
             % (p0, s0, p1, s1))

    st, err, _ = run(nvmx, image, trace, 10 * SHORT_INSNS, limit=FSIZE)
    if st != 10:
        fail("with the file size limited: status %d, expected 10: %s" % (st, err))
    want = "--trace: writing '%s' failed: File too large" % trace
    if want not in err:
        fail("no message naming the file: %s" % err)
    size = os.path.getsize(trace)
    with open(trace, "rb") as f:
        data = f.read()
    if not data or not data.endswith(b"\n") or size > FSIZE:
        fail("the trace (%d bytes, limit %d) does not end with a complete line" % (size, FSIZE))
    stats = subprocess.run([nvmx, "trace", "stats", trace], capture_output=True, text=True)
    if stats.returncode != 0 or "partial" in stats.stderr:
        fail("trace stats on the cut trace: status %d: %s" % (stats.returncode, stats.stderr))
    os.remove(trace)
    print("PASS: peak %d KB for a %d-byte trace, %d KB for %d bytes; a failed write left %d "
          "bytes of complete lines" % (p0, s0, p1, s1, size))


main()
