#!/usr/bin/env python3
"""Check a file against the Chrome trace-event format ("Trace Event Format",
the JSON Object Format that Perfetto's UI and chrome://tracing import):

- the top level is an object with a "traceEvents" array (and, if present, a
  "displayTimeUnit" of "ms" or "ns");
- every event has "name" (string), "ph" (a phase) and "pid" (integer);
- every event other than metadata ("M") has "ts" (a number >= 0) and "tid";
- complete events ("X") have "dur" >= 0; instants ("i"/"I") have "s" of
  "g", "p" or "t"; metadata names are process_name, thread_name,
  process_sort_index or thread_sort_index with the matching "args" key;
- "args", when present, is an object; B/E pairs balance per thread;
- on each thread, complete events do not overlap (nvmx's slices are
  sequential guest runs).

usage: check-trace-events.py FILE [--expect-slices N] [--expect-instants N]
       [--expect-tracks L1,L2,...]
Prints the counts; exit 1 with the first problem on failure.
"""
import json
import sys

PHASES = set("BEXiIbenSTpFsftPOMNDCRc()")
META = {"process_name": "name", "thread_name": "name",
        "process_sort_index": "sort_index", "thread_sort_index": "sort_index",
        "process_labels": "labels"}


def fail(msg):
    print("FAIL: %s" % msg, file=sys.stderr)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    if not args:
        fail("usage: check-trace-events.py FILE [--expect-slices N] ...")
    path, opts = args[0], dict(zip(args[1::2], args[2::2]))
    try:
        with open(path) as f:
            top = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: not JSON: %s" % (path, e))
    if not isinstance(top, dict) or not isinstance(top.get("traceEvents"), list):
        fail("top level must be an object with a traceEvents array")
    if top.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        fail("displayTimeUnit must be ms or ns")
    slices = instants = 0
    open_b, last_end, tracks = {}, {}, {}
    for i, ev in enumerate(top["traceEvents"]):
        where = "traceEvents[%d]" % i
        if not isinstance(ev, dict):
            fail("%s: not an object" % where)
        for key, typ in (("name", str), ("ph", str), ("pid", int)):
            if not isinstance(ev.get(key), typ):
                fail("%s: missing or bad %r: %r" % (where, key, ev))
        ph = ev["ph"]
        if ph not in PHASES:
            fail("%s: unknown phase %r" % (where, ph))
        if "args" in ev and not isinstance(ev["args"], dict):
            fail("%s: args must be an object" % where)
        if ph == "M":
            want = META.get(ev["name"])
            if want is None or want not in ev.get("args", {}):
                fail("%s: metadata %r needs args.%s" % (where, ev["name"], want))
            if ev["name"] == "thread_name":
                tracks[ev.get("tid")] = ev["args"]["name"]
            continue
        ts = ev.get("ts")
        if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts < 0:
            fail("%s: missing or bad ts: %r" % (where, ev))
        if not isinstance(ev.get("tid"), int):
            fail("%s: missing or bad tid: %r" % (where, ev))
        key = (ev["pid"], ev["tid"])
        if ph == "X":
            dur = ev.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                fail("%s: complete event needs dur >= 0: %r" % (where, ev))
            if ts + 1e-9 < last_end.get(key, 0):
                fail("%s: slice at %s overlaps the previous one (ends %s)"
                     % (where, ts, last_end[key]))
            last_end[key] = ts + dur
            slices += 1
        elif ph in "iI":
            if ev.get("s", "t") not in ("g", "p", "t"):
                fail("%s: instant scope must be g, p or t" % where)
            instants += 1
        elif ph == "B":
            open_b[key] = open_b.get(key, 0) + 1
        elif ph == "E":
            if not open_b.get(key):
                fail("%s: E without B on %r" % (where, key))
            open_b[key] -= 1
    if any(open_b.values()):
        fail("unbalanced B/E events")
    print("%s: %d events, %d slices, %d instants, tracks %s" % (
        path, len(top["traceEvents"]), slices, instants,
        ",".join(tracks[t] for t in sorted(tracks))))
    if "--expect-slices" in opts and slices != int(opts["--expect-slices"]):
        fail("%d slices, expected %s" % (slices, opts["--expect-slices"]))
    if "--expect-instants" in opts and instants != int(opts["--expect-instants"]):
        fail("%d instants, expected %s" % (instants, opts["--expect-instants"]))
    if "--expect-tracks" in opts:
        got = ",".join(tracks[t] for t in sorted(tracks))
        if got != opts["--expect-tracks"]:
            fail("tracks %s, expected %s" % (got, opts["--expect-tracks"]))


main()
