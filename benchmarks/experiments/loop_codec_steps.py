#!/usr/bin/env python3
"""Does the loop's first step fit every encoder? On x264 the first correction (the model's slope on the headroom
scale log(100.5 - VMAF), `jndenc.loop.next_crf`) lands about on the aim at the median; x265, SVT-AV1 and VP9 take
the same step divided by their steps per x264 step (`codec_scales.json`), and take more attempts a shot than x264
(issue 25 asks for at most 1.8 times the output's frames). If an encoder's steps came out too long or too short
by a constant, a factor per encoder would save attempts; if they scatter around the aim as x264's do, the
attempts wait on the start.

    ROWS=crf23,balanced,balanced@x265,balanced@av1,balanced@vp9
    python benchmarks/segments.py CLIPS... --rows $ROWS --cpu 0 --out A.json
    python benchmarks/segments.py CLIPS... --rows $ROWS --cpu 1 --out B.json
    python benchmarks/segments.py --merge A.json B.json --out benchmarks/results/codecs_train.json
    python benchmarks/experiments/loop_codec_steps.py benchmarks/results/codecs_train.json \\
        --out benchmarks/results/loop_codec_steps.json

The run is a `benchmarks/segments.py` run on training and validation clips (those of `loop_fast.py`). For every
shot with a second attempt, the first step's reach: how far the second attempt moved on the headroom scale over
how far the aim lay (1: it landed on the aim; above 1: it went past it), apart for steps toward quality (the
first attempt read under the aim) and toward bytes (above it).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from jndenc import loop as L  # noqa: E402

BAND = L.Band.around(94.0)  # balanced's band at JND1
AIM = BAND.aim
ROWS = {"balanced": "x264", "balanced@x265": "x265", "balanced@av1": "SVT-AV1", "balanced@vp9": "VP9"}


def reach(first: tuple[float, float], second: tuple[float, float], aim: float = AIM) -> float | None:
    """How far the second attempt moved on the headroom scale over how far the aim lay from the first (None
    where the first read within a hair of the aim: no step was aimed)."""
    want = L.headroom(aim) - L.headroom(first[1])
    if abs(want) < 0.05:
        return None
    return (L.headroom(second[1]) - L.headroom(first[1])) / want


def codec_steps(runs: list[dict]) -> dict:
    """Per encoder: shots, attempts a shot, first attempts in the band, and the first step's reach toward quality
    and toward bytes (quartiles) with the share of second attempts that landed in the band."""
    out = {}
    for row, name in ROWS.items():
        shots = [sh for d in runs for c in d["clips"] if row in c["rows"] for sh in c["rows"][row]["attempts"]]
        if not shots:
            continue
        steps: dict[str, list[tuple[float, bool]]] = {"quality": [], "bytes": []}
        for sh in shots:
            r = reach(tuple(sh[0][:2]), tuple(sh[1][:2])) if len(sh) >= 2 else None
            if r is not None:
                steps["quality" if sh[0][1] < AIM else "bytes"].append((r, BAND.contains(sh[1][1])))
        rec = {"shots": len(shots), "attempts_per_shot": round(float(np.mean([len(s) for s in shots])), 3),
               "first_in_band": round(float(np.mean([BAND.contains(s[0][1]) for s in shots])), 3)}
        for side, got in steps.items():
            q = np.percentile([r for r, _ in got], [25, 50, 75]) if got else [math.nan] * 3
            rec[f"toward_{side}"] = {"steps": len(got), "reach_q25": round(float(q[0]), 2),
                                     "reach_median": round(float(q[1]), 2), "reach_q75": round(float(q[2]), 2),
                                     "second_in_band": round(float(np.mean([b for _, b in got])), 3) if got else None}
        out[name] = rec
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="benchmarks/segments.py outputs")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    runs = [json.loads(p.read_text()) for p in args.runs]
    res = {"runs": [{"file": str(p), "commit": d["commit"], "clips": [c["clip"] for c in d["clips"]]}
                    for p, d in zip(args.runs, runs)],
           "aim": AIM, "codecs": codec_steps(runs)}
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res["codecs"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
