#!/usr/bin/env python3
"""How accurate must the start be for the loop's time and frames targets? Replayed, no encode: every shot's
VMAF-vs-CRF curve through the attempts of every run on it (as `loop_start_shift.py`), the loop's own decisions
(`jndenc.loop.next_crf`, balanced's band and budget) replayed from a start placed at the CRF where the curve
meets the aim plus a seeded Gaussian error of each width (the model's start itself as the first row).

    python benchmarks/experiments/loop_start_error.py --first M.json --also A.json ... \\
        --out benchmarks/results/loop_start_error.json

``--first``: a `benchmarks/segments.py` run (rows ``crf23,balanced``) with `jndenc.loop.rise` (the model's slope
recovered as `loop_secant_cap.model_slope` does). Each width is replayed with 20 seeds; the start's mean absolute
error is measured, not assumed. The frame-weighted attempts are what frames encoded over output frames would be.
Nothing is chosen here: it says what a better start (issue 24) would buy.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_rise import BAND, MAX_CRF, MIN_CRF, curve  # noqa: E402
from loop_secant_cap import model_slope  # noqa: E402
from loop_start_shift import Tally, clip_shots, load_runs, one_shot, runs_header, single_point_curve  # noqa: E402


WIDTHS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
SEEDS = 20


def aim_on_curve(pts: list) -> float:
    """The CRF at which the shot's curve reads the aim (bisection on the interpolated curve)."""
    v = curve(pts) if len(pts) >= 2 else single_point_curve(*pts[0])
    lo, hi = MIN_CRF, MAX_CRF
    for _ in range(40):
        m = (lo + hi) / 2
        lo, hi = (m, hi) if v(m) > BAND.aim else (lo, m)
    return lo


def replay(shots: list, shifts: list[float]) -> dict:
    """The loop on every shot from its run's start moved by ``shifts[i]``: its figures."""
    t = Tally()
    err = 0.0
    for (seq, pts, fr, aim), shift in zip(shots, shifts):
        got = one_shot(seq, pts, shift, model_slope)
        t.add(got, fr)
        err += abs(got[0].crf - aim)
    return {"start_mae": err / t.n, **t.figures("first_in_band", "attempts_per_shot", "frame_weighted_attempts",
                                                 "kept_in_band", digits=None)}


def main(argv=None) -> int:
    first, also, out_path = load_runs(__doc__, argv)
    shots = []
    for c, per_shot in clip_shots(first, also):
        for (seq, pts), frames in zip(per_shot, c["rows"]["balanced"]["frames"]):
            shots.append((seq, pts, int(frames), aim_on_curve(pts)))
    rows = [{"start": "the model's estimate", "width": None, **replay(shots, [0.0] * len(shots))}]
    for w in WIDTHS:
        runs = []
        for seed in range(SEEDS if w else 1):
            noise = np.random.default_rng(seed).normal(0.0, w, len(shots)) if w else np.zeros(len(shots))
            runs.append(replay(shots, [aim + e - seq[0][0] for (seq, _, _, aim), e in zip(shots, noise)]))
        rows.append({"start": "the aim on the curve + error", "width": w,
                     **{k: float(np.mean([r[k] for r in runs])) for k in runs[0]}})
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float):
                r[k] = round(v, 3)
        print(r)
    out = {**runs_header(first, also), "shots": len(shots), "seeds": SEEDS, "replay": rows}
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
