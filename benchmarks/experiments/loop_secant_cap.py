#!/usr/bin/env python3
"""Should a step along a measured secant be limited (`jndenc.loop.SECANT_GROWTH`)? Replayed, no encode.

    python benchmarks/experiments/loop_secant_cap.py --first M.json --also A.json B.json ... \\
        --out benchmarks/results/loop_secant_cap.json

On training and validation clips balanced left a few shots above 95.5 the same way: two attempts read close
together above the band (96.48 and 95.80 three CRF steps apart; 98.05 and 97.40), the secant through them
stepped five to eight CRF further, and the third attempt fell off the curve's cliff under the band (93.52;
90.22), so the loop kept the second. Every shot's VMAF-vs-CRF curve through the attempts of every run on it
(`loop_rise.curve`) replays the loop's own decisions (`jndenc.loop.next_crf`, balanced's band and budget)
from ``--first``'s start with each candidate limit: a secant's move at most k times the distance between the
two attempts it came from. ``--first``: a `benchmarks/segments.py` run (rows ``crf23,balanced``) with the
shipped rise (its first step up was `jndenc.loop.rise` times the model's slope, recovered here); ``--also``:
other runs on the same clips whose attempts add points to the curves. Bytes are modelled as exp(-0.11 CRF).

Run it only on training and validation clips: a limit would be chosen here, then measured on the loop.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_rise import BAND, BUDGET, MAX_CRF, MIN_CRF, curve, first_slope_taken  # noqa: E402
from loop_start_shift import shots  # noqa: E402

from jndenc import loop as L  # noqa: E402

LIMITS = (None, 1.0, 1.5, 2.0, 3.0)


def model_slope(seq: list[tuple[float, float]]) -> float:
    """The model's slope behind the run's first step: the slope it took, over the rise a step up applied."""
    taken = first_slope_taken(seq)
    return taken / L.rise(seq[0][1], BAND) if seq[0][1] > BAND.aim else taken


def replay(all_shots: list, limit: float | None) -> dict:
    saved = L.SECANT_GROWTH
    L.SECANT_GROWTH = limit
    try:
        attempts, in_band, le, worst, cost, first_in = 0, 0, 0, 100.0, 0.0, 0
        for seq, pts in all_shots:
            if len(seq) < 2 or len(pts) < 2:  # in the band at once, or one point: nothing to replay
                attempts += len(seq)
                in_band += BAND.contains(seq[0][1])
                le += seq[0][1] <= 95.5
                worst = min(worst, seq[0][1])
                cost += 1e6 * math.exp(-0.11 * seq[0][0])
                first_in += BAND.contains(seq[0][1])
                continue
            v, slope = curve(pts), model_slope(seq)
            got: list[L.Attempt] = []
            crf: float | None = seq[0][0]
            while crf is not None and len(got) < BUDGET:
                got.append(L.Attempt(crf, v(crf), int(1e6 * math.exp(-0.11 * crf))))
                crf = L.next_crf(got, BAND, slope=slope, min_crf=MIN_CRF, max_crf=MAX_CRF, steeper_up=True)
            k = L.kept(got, BAND)
            attempts += len(got)
            first_in += BAND.contains(got[0].vmaf)
            in_band += BAND.contains(got[k].vmaf)
            le += got[k].vmaf <= 95.5
            worst = min(worst, got[k].vmaf)
            cost += got[k].bytes
    finally:
        L.SECANT_GROWTH = saved
    n = len(all_shots)
    return {"limit": limit, "shots": n, "first_in_band": round(first_in / n, 3),
            "attempts_per_shot": round(attempts / n, 3), "kept_in_band": round(in_band / n, 3),
            "share_le_95_5": round(le / n, 3), "worst_kept": round(worst, 2), "bytes_model": cost}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--first", type=Path, required=True)
    ap.add_argument("--also", nargs="*", type=Path, default=[])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    first = json.loads(args.first.read_text())
    also = [json.loads(p.read_text()) for p in args.also]
    all_shots = list(shots(first, also))
    rows = [replay(all_shots, k) for k in LIMITS]
    base = rows[0]["bytes_model"]
    for r in rows:
        r["bytes_vs_no_limit_pct"] = round(100 * (r.pop("bytes_model") / base - 1), 2)
    out = {"first": {"commit": first["commit"], "clips": [c["clip"] for c in first["clips"]]},
           "also": [{"commit": d["commit"], "clips": [c["clip"] for c in d["clips"]]} for d in also],
           "curves_with_one_point": sum(len(p) < 2 for _, p in all_shots), "replay": rows}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
