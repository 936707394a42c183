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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_rise import BAND, first_slope_taken  # noqa: E402
from loop_start_shift import replay, replay_main  # noqa: E402

from jndenc import loop as L  # noqa: E402

LIMITS = (None, 1.0, 1.5, 2.0, 3.0)


def model_slope(seq: list[tuple[float, float]]) -> float:
    """The model's slope behind the run's first step: the slope it took, over the rise a step up applied."""
    taken = first_slope_taken(seq)
    return taken / L.rise(seq[0][1], BAND) if seq[0][1] > BAND.aim else taken


def replay_limited(all_shots: list, limit: float | None) -> dict:
    """`loop_start_shift.replay` from the run's own starts with secant steps limited to ``limit`` times their span."""
    saved = L.SECANT_GROWTH
    L.SECANT_GROWTH = limit
    try:
        r = replay(all_shots, 0.0, slope_of=model_slope)
    finally:
        L.SECANT_GROWTH = saved
    del r["shift"]
    return {"limit": limit, **r}


def main(argv=None) -> int:
    return replay_main(__doc__, LIMITS, replay_limited, "limit", None, "bytes_vs_no_limit_pct", argv)


if __name__ == "__main__":
    sys.exit(main())
