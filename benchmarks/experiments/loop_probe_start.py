#!/usr/bin/env python3
"""Does the loop cost less when it starts from probe mode's estimate? Balanced with its first attempts at the
frame model's estimate (``--before``) and at the probe model's (``--after``: each shot's 1 s window encoded and
measured at the frame model's estimate first, a second probe where that read far from the target; the probe
model's JND1 error is about half the frame model's in cross-validation, `weights/MODEL_CARD.md`).

    python benchmarks/experiments/loop_probe_start.py --before A.json --after B.json \\
        --out benchmarks/results/loop_probe_start.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced``) on the same training
and validation clips, run at the commit before the change and at the commit that made it, each process pinned
to its own core. Reported per run: shots, first attempts inside the band, attempts per shot, encoded frames
over output frames (the probes' frames included), analysis seconds (the probes run there), bytes, worst shot,
shots <= 95.5 (VMAF per shot on the finished file) and time over the plain CRF 23 encode of the same process
(median and worst over clips).

Run it only on training and validation clips: the start is chosen here.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

BAND = (93.7, 95.0)  # balanced's band around JND1 (VMAF 94)


def measured(run: dict) -> dict:
    clips = [(c, c["rows"]["balanced"]) for c in run["clips"]]
    vm = np.array([v for _, r in clips for v in r["vmaf"]])
    outcome = [o for _, r in clips for o in r["outcome"]]
    firsts = [seq[0][1] for _, r in clips for seq in r["attempts"]]
    frames = sum(sum(r["frames"]) for _, r in clips)
    wall = [r["wall_s"] / c["plain"]["wall_s"] for c, r in clips]
    return {"commit": run["commit"], "clips": len(clips), "shots": int(vm.size),
            "first_in_band": round(float(np.mean([BAND[0] <= v <= BAND[1] for v in firsts])), 3),
            "attempts_per_shot": round(sum(r["loop"]["attempts"] for _, r in clips) / vm.size, 3),
            "encoded_over_output_frames": round(sum(r["loop"]["encoded_frames"] for _, r in clips) / frames, 3),
            "analysis_s": round(sum(r["cost"]["analysis"]["wall_s"] for _, r in clips), 1),
            "attempts_s": round(sum(r["cost"]["attempts"]["wall_s"] for _, r in clips), 1),
            "bytes": sum(r["bytes"] for _, r in clips), "worst_shot": round(float(vm.min()), 2),
            "share_le_95_5": round(float(np.mean([v <= 95.5 or o == "clamped" for v, o in zip(vm, outcome)])), 3),
            "wall_vs_plain_median": round(float(np.median(wall)), 2), "wall_vs_plain_worst": round(max(wall), 2),
            "per_clip": {c["clip"]: {"bytes": r["bytes"], "attempts": r["loop"]["attempts"],
                                     "wall_vs_plain": round(r["wall_s"] / c["plain"]["wall_s"], 2)}
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
    b, a = measured(before), measured(after)
    a["bytes_vs_before_pct"] = round(100 * (a["bytes"] / b["bytes"] - 1), 2)
    out = {"clips": [c["clip"] for c in before["clips"]], "machine": before.get("machine"),
           "frames": before.get("options", {}).get("max_frames"), "before": b, "after": a}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    for k in ("before", "after"):
        print(k, {x: y for x, y in out[k].items() if x != "per_clip"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
