#!/usr/bin/env python3
"""Do short shots cost less in a shared segment? Balanced on x264 and SVT-AV1 with every shot its own segment
(``--before``) and with consecutive shots under 1 s sharing one (``--after``, `jndenc.loop.short_groups`).

    python benchmarks/experiments/loop_groups.py --before A.json --after B.json \\
        --out benchmarks/results/loop_groups.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced,balanced@av1``) on the
same training and validation clips, run at the commit before the groups (cf3f2c6) and at the commit that added
them (0530d7d; reverted after this run, so the ``--after`` run needs a worktree at that commit), each process
pinned to its own core. Reported per row and run: shots, segments, encodes (FFmpeg runs of the loop),
encoded frames over output frames, bytes, worst shot and the share of shots <= 95.5 (VMAF per shot on the
finished file), and time over the plain CRF 23 encode of the same process (median and worst over clips).

Run it only on training and validation clips: the rule is judged here. Verdict: rejected (fewer encodes and
less time, but more bytes on both codecs and fewer shots <= 95.5: a segment steered by its worst shot
overshoots the others).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROWS = ("balanced", "balanced@av1")


def measured(run: dict, row: str) -> dict:
    clips = [(c, c["rows"][row]) for c in run["clips"] if row in c["rows"]]
    vm = np.array([v for _, r in clips for v in r["vmaf"]])
    outcome = [o for _, r in clips for o in r["outcome"]]
    frames = sum(sum(r["frames"]) for _, r in clips)
    wall = [r["wall_s"] / c["plain"]["wall_s"] for c, r in clips]
    return {"commit": run["commit"], "clips": len(clips), "shots": int(vm.size),
            "segments": sum(r["loop"].get("segments", len(r["vmaf"])) for _, r in clips),
            "encodes": sum(r["loop"].get("encodes", r["loop"]["attempts"]) for _, r in clips),
            "encoded_over_output_frames": round(sum(r["loop"]["encoded_frames"] for _, r in clips) / frames, 3),
            "bytes": sum(r["bytes"] for _, r in clips), "worst_shot": round(float(vm.min()), 2),
            "share_le_95_5": round(float(np.mean([v <= 95.5 or o == "clamped" for v, o in zip(vm, outcome)])), 3),
            "wall_vs_plain_median": round(float(np.median(wall)), 2), "wall_vs_plain_worst": round(max(wall), 2),
            "per_clip": {c["clip"]: {"bytes": r["bytes"], "segments": r["loop"].get("segments", len(r["vmaf"])),
                                     "shots": len(r["vmaf"]), "wall_vs_plain": round(r["wall_s"] / c["plain"]["wall_s"], 2)}
                         for c, r in clips}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
    if [c["clip"] for c in before["clips"]] != [c["clip"] for c in after["clips"]]:
        print("the two runs must be on the same clips", file=sys.stderr)
        return 2
    out = {"clips": [c["clip"] for c in before["clips"]], "machine": before.get("machine"),
           "frames": before.get("options", {}).get("max_frames"), "rows": {}}
    for row in ROWS:
        b, a = measured(before, row), measured(after, row)
        a["bytes_vs_before_pct"] = round(100 * (a["bytes"] / b["bytes"] - 1), 2)
        out["rows"][row] = {"before": b, "after": a}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    for row, d in out["rows"].items():
        for k, v in d.items():
            print(row, k, {x: y for x, y in v.items() if x != "per_clip"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
