#!/usr/bin/env python3
"""Does measuring each attempt on every 5th frame make the loop cheaper without moving a shot? Balanced with
every attempt scored on every frame (``--before``) and on every 5th frame in shots of 48 frames or more,
measured again on every frame where that read within 0.3 of the band's lower edge (``--after``,
`jndenc.loop_options.LoopOptions.subsample`; chosen with `vmaf_subsample.py`).

    python benchmarks/experiments/loop_subsample.py --before A.json --after B.json \\
        --out benchmarks/results/loop_subsample.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced``) on the same training
and validation clips, at the commit before the change (7e4f372) and the one that made it (333f7e2; a first
version, 37dd7b7, took a plain mean of the scored frames and rechecked within 0.33: 3.08x, +0.3% bytes), each
process pinned to its own core. Reported per run: shots, attempts per shot, rechecks, encoded frames over output
frames, seconds in the attempts, bytes, worst shot, shots >= 93.5 and <= 95.5 on the finished file (every frame
scored, `jndenc.verify`), how far the loop's own reading of each kept shot lay above the finished file's, and
time over the plain CRF 23 encode of the same process (median and worst over clips).

Run it only on training and validation clips.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402


def kept_reading(attempts: list, crf: float) -> float:
    """The loop's own reading of the attempt it kept (the last one at the kept CRF)."""
    return [v for c, v in attempts if abs(c - crf) < 1e-9][-1]


def measured(run: dict) -> dict:
    out, clips = pair.loop_figures(run)
    gaps = np.array([kept_reading(a, c) - v for _, r in clips
                     for a, c, v in zip(r["attempts"], r["crf"], r["vmaf"])])
    out.update({"reading_above_file_max": round(float(gaps.max()), 3),
                "reading_above_file_mean_abs": round(float(np.abs(gaps).mean()), 3),
                "per_clip": pair.per_clip(clips)})
    return out


def main(argv=None) -> int:
    return pair.main(__doc__, measured, argv)


if __name__ == "__main__":
    sys.exit(main())
