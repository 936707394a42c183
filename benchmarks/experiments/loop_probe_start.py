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

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402

BAND = (93.7, 95.0)  # balanced's band around JND1 (VMAF 94)


def measured(run: dict) -> dict:
    out, clips = pair.row_figures(run, "balanced")
    firsts = [seq[0][1] for _, r in clips for seq in r["attempts"]]
    out.update({"first_in_band": round(float(np.mean([BAND[0] <= v <= BAND[1] for v in firsts])), 3),
                "attempts_per_shot": pair.attempts_per_shot(clips, out["shots"]),
                "analysis_s": round(sum(r["cost"]["analysis"]["wall_s"] for _, r in clips), 1),
                "attempts_s": round(sum(r["cost"]["attempts"]["wall_s"] for _, r in clips), 1),
                "per_clip": pair.per_clip(clips)})
    return out


def main(argv=None) -> int:
    before, after, out_path = pair.load(__doc__, argv)
    b, a = measured(before), measured(after)
    pair.write(before, b, a, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
