#!/usr/bin/env python3
"""Check `nvmx trace stats --by level --format json` of a run of a stack of
the given depth under --l0: VM exits at exactly the levels 1..DEPTH, level
annotations present, none disagreeing with the inferred level.

usage: check-levels.py STATS.json DEPTH"""
import json
import sys

s = json.load(open(sys.argv[1]))
depth = int(sys.argv[2])
levels = sorted(r["level"] for r in s["rows"])
m = s["multiplication"]
print("levels with exits: %s; %d level annotations, %d disagree; multiplication at L%s: %s"
      % (levels, m["annotations"], m["annotations_disagree"], m["level"],
         " ".join("L%d=%.2f" % (r["level"], r["exits"]) for r in m["per_exit"])))
if levels != list(range(1, depth + 1)):
    sys.exit("FAIL: exits at levels %s, expected 1..%d" % (levels, depth))
if m["level"] != depth or abs(m["per_exit"][-1]["exits"] - 1.0) > 1e-9:
    sys.exit("FAIL: the multiplication is not about L%d, or an L%d exit is not 1 exit" % (depth, depth))
if m["annotations"] == 0:
    sys.exit("FAIL: no level annotations")
if m["annotations_disagree"]:
    sys.exit("FAIL: %d annotated levels disagree with the inferred ones" % m["annotations_disagree"])
