#!/usr/bin/env python3
"""The trace tools stream: their peak memory does not grow with the trace.

Each command reads a synthetic trace from a pipe (a header, then exit/entry
pairs), once with N lines and once with 10*N lines; the peak resident size
of the child (ru_maxrss) may grow by at most SLACK_KB between the two.

usage: check-bounded-memory.py NVMX [N]
"""
import os
import shutil
import resource
import subprocess
import sys
import tempfile

SLACK_KB = 8 * 1024

HEADER = ('{"event":"header","schema":2,"nvmx":"0","image":"x","config":{}}\n')
EXIT = ('{"event":"vmexit","cycles":%d,"insns":%d,"level":1,"vmcs":"0x1000","reason":%d,'
        '"reason_name":"x","qual":"0x%x","guest_rip":"0x401000","insn_len":2,'
        '"insn_info":"0x0","intr_info":"0x0","intr_error":"0x0","idt_info":"0x0",'
        '"idt_error":"0x0","cost":320}\n')
ENTRY = ('{"event":"vmentry","cycles":%d,"insns":%d,"level":1,"vmcs":"0x1000",'
         '"kind":"resume","ok":true,"cost":330}\n')
REASONS = (10, 30, 31, 32, 12, 18)


def feed(pairs, out):
    out.write(HEADER.encode())
    chunk = []
    for i in range(pairs):
        c = 1000 * i
        chunk.append(EXIT % (c + 500, 3 * i, REASONS[i % 6], (i % 4096) << 16))
        chunk.append(ENTRY % (c + 900, 3 * i + 1))
        if len(chunk) >= 2000:
            out.write("".join(chunk).encode())
            chunk = []
    out.write("".join(chunk).encode())


def peak_kb(argv, pairs):
    """Run argv with the trace on stdin (as '-'); its peak RSS in KiB."""
    pid = os.fork()
    if pid == 0:
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(w)
            os.dup2(r, 0)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execv(argv[0], argv)
        os.close(r)
        with os.fdopen(w, "wb", buffering=1 << 16) as out:
            feed(pairs, out)
        _, st = os.waitpid(child, 0)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        code = os.waitstatus_to_exitcode(st)
        # report through the exit status: maxrss in MiB (0..250), 255 on failure
        os._exit(min(250, ru.ru_maxrss // 1024) if code == 0 else 255)
    _, st = os.waitpid(pid, 0)
    mib = os.waitstatus_to_exitcode(st)
    if mib == 255:
        sys.exit("FAIL: %s failed on a %d-pair trace" % (" ".join(argv), pairs))
    return mib * 1024


def main():
    nvmx = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    tmp = tempfile.mkdtemp()
    cmds = {
        "stats --by port": [nvmx, "trace", "stats", "--by", "port", "-"],
        "stats --by level,reason": [nvmx, "trace", "stats", "--by", "level,reason",
                                    "--format", "json", "-"],
        "export": [nvmx, "trace", "export", "--format", "perfetto", "-",
                   os.path.join(tmp, "out.json")],
        "report": [nvmx, "report", "--html", os.path.join(tmp, "out.html"), "-"],
    }
    for name, argv in cmds.items():
        small = peak_kb(argv, n)
        big = peak_kb(argv, 10 * n)
        print("%-24s %d pairs: %d KiB; %d pairs: %d KiB" % (name, n, small, 10 * n, big))
        if big > small + SLACK_KB:
            shutil.rmtree(tmp, ignore_errors=True)
            sys.exit("FAIL: %s: peak memory grew from %d to %d KiB with the trace"
                     % (name, small, big))
    shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


main()
