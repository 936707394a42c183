#!/usr/bin/env python3
"""Should a shot whose attempts all read above the band stop sooner? Replayed, no encode: every shot's VMAF-vs-CRF
curve through the attempts of every run on it (as `loop_start_shift.py`), the loop's own decisions
(`jndenc.loop.next_crf`, balanced's band, budget 3 and its bracketing extra, `jndenc.loop.allowed`) replayed from
the run's start, with a budget that ends sooner where no attempt has read below the band yet.

    python benchmarks/experiments/loop_above_budget.py --first M.json --also A.json ... \\
        --out benchmarks/results/loop_above_budget.json

Why it might pay: an attempt above the band is a shot that already looks as good as the target asks; further
attempts only buy bytes, never quality, while a shot below the band must be corrected. On the effort run's test
clips most extra attempts followed a first attempt above the band. Balanced keeps more than the oracle's saving and
misses its time target, and the issue ranks time before bytes. The cost: shots kept above the band (the issue's
rule asks at least 90% of shots at or under VMAF 95.5) and bytes, modelled as exp(-0.11 CRF); frame-weighted
attempts stand for frames encoded over output frames.

``--first``: `benchmarks/segments.py` runs (rows ``crf23,balanced``) on training and validation clips; the shots'
slopes are recovered as `loop_secant_cap.model_slope` does. Run it only on training and validation clips: a rule
is chosen here.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_rise import BAND, BUDGET, MAX_CRF, MIN_CRF, curve  # noqa: E402
from loop_secant_cap import model_slope  # noqa: E402
from loop_start_shift import Tally, clip_shots, load_runs, single_point_curve, write_replay  # noqa: E402

from jndenc import loop as L  # noqa: E402


def kept_rule(got: list[L.Attempt]) -> int:
    return L.allowed(got, BAND, BUDGET)


def above_twice(got: list[L.Attempt]) -> int:
    """Stop once two attempts have read above the band and none below it (the same as two attempts wherever the
    first read above, unless the second read below: a second attempt in the band ends the shot either way)."""
    if len(got) >= 2 and all(a.vmaf > BAND.high for a in got):
        return len(got)
    return L.allowed(got, BAND, BUDGET)


def first_above_one(got: list[L.Attempt]) -> int:
    """A first attempt above the band is kept (the band's upper edge in effect removed for first attempts)."""
    if got and got[0].vmaf > BAND.high:
        return 1
    return L.allowed(got, BAND, BUDGET)


RULES = {"kept: budget 3, a 4th where 3 bracket the band": kept_rule,
         "stop after two attempts above the band": above_twice,
         "a first attempt above the band is kept": first_above_one}


def one_shot(seq: list, pts: list, budget) -> list[L.Attempt]:
    v = curve(pts) if len(pts) >= 2 else single_point_curve(*pts[0])
    slope = model_slope(seq) if len(seq) >= 2 else L.DEFAULT_SLOPE
    got: list[L.Attempt] = []
    crf: float | None = L.quantise(min(max(seq[0][0], MIN_CRF), MAX_CRF))
    while crf is not None and (not got or len(got) < budget(got)):
        got.append(L.Attempt(crf, v(crf), int(1e6 * math.exp(-0.11 * crf))))
        crf = L.next_crf(got, BAND, slope=slope, min_crf=MIN_CRF, max_crf=MAX_CRF, steeper_up=True)
    return got


def main(argv=None) -> int:
    first, also, out_path = load_runs(__doc__, argv)
    shots = [(seq, pts, int(fr)) for c, per_shot in clip_shots(first, also)
             for (seq, pts), fr in zip(per_shot, c["rows"]["balanced"]["frames"])]
    rows = []
    for name, rule in RULES.items():
        t = Tally(BAND)
        for seq, pts, fr in shots:
            t.add(one_shot(seq, pts, rule), fr, bytes_by_frames=True)
        rows.append({"rule": name, **t.figures("shots", "first_in_band", "attempts_per_shot",
                                               "frame_weighted_attempts", "kept_in_band", "share_le_95_5",
                                               "worst_kept", "bytes_model")})
    return write_replay(out_path, first, also, [p for _, p, _ in shots], rows, rows[0]["bytes_model"],
                        "bytes_vs_kept_pct", shots=len(shots), budget=BUDGET)


if __name__ == "__main__":
    sys.exit(main())
