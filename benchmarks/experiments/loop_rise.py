#!/usr/bin/env python3
"""How steep a step up from far above the aim assumes the curve to be (`jndenc.loop.rise`): chosen by replay,
then measured.

    python benchmarks/experiments/loop_rise.py --before A.json [B.json] --after C.json [D.json] \\
        [--also E.json] --out benchmarks/results/loop_rise.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced``) on the same
training and validation clips (same order), run at the commit before `rise` (every first step at the model's
slope) and at the commit with it; ``--also``: further runs on some of those clips (a constant factor tried on
the way) whose attempts add points to the curves. Two parts:

* **replay** (what chose the rule): every shot has a measured VMAF-vs-CRF curve through the attempts of every
  run on it (interpolated on the headroom scale log(100.5 - VMAF), extended along the nearest secant); the
  loop's own decisions (`jndenc.loop.next_crf`, the balanced budget and band) are replayed on it from the
  ``--before`` run's start, at the first-step slope recovered from the step that run took, for each candidate
  (`jndenc.loop`'s RISE_FROM, RISE_PER, RISE_MAX set per candidate). Reported: attempts per shot, shots kept in
  the band, worst kept VMAF. Shots in the band at the first attempt replay unchanged.
* **measured**: the two runs side by side (attempts per shot, encoded frames over output frames, time over a
  plain encode, shots kept in the band and at most 95.5, worst shot, bytes).

Run it only on training and validation clips: the value is chosen here.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from jndenc import loop as L

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402

# (name, RISE_FROM, RISE_PER, RISE_MAX): a constant k is a ramp already at its cap
CANDIDATES = (("none (1)", 0.0, 0.0, 1.0), ("constant 1.5", -1e9, 1.0, 1.5), ("constant 2.5", -1e9, 1.0, 2.5),
              ("constant 3", -1e9, 1.0, 3.0), ("ramp 1 + 2 (d - 0.3), at most 3", 0.3, 2.0, 3.0),
              ("ramp 1 + 4 (d - 0.3), at most 3", 0.3, 4.0, 3.0), ("ramp 1 + 6 (d - 0.3), at most 3", 0.3, 6.0, 3.0))
BAND = L.Band.around(94.0)
BUDGET, MIN_CRF, MAX_CRF = 3, 12.0, 40.0


def _shots(before: list[dict], others: list[dict]):
    """Per shot of the ``before`` runs: its attempts there, and every (CRF, VMAF) any run measured on it."""
    by_clip = {}
    for d in others:
        for c in d["clips"]:
            by_clip.setdefault(c["clip"], []).append(c["rows"]["balanced"]["attempts"])
    for d in before:
        for c in d["clips"]:
            for j, seq in enumerate(c["rows"]["balanced"]["attempts"]):
                pts = {float(a): float(v) for a, v in seq}
                for runs in by_clip.get(c["clip"], []):
                    if j < len(runs):
                        pts.update({float(a): float(v) for a, v in runs[j]})
                yield [(float(a), float(v)) for a, v in seq], sorted(pts.items())


def curve(pts: list[tuple[float, float]]):
    """VMAF at any CRF from a shot's measured points: piecewise linear on the headroom scale."""
    cs = np.array([p[0] for p in pts])
    hs = np.array([L.headroom(p[1]) for p in pts])

    def vmaf(c: float) -> float:
        i = 0 if c <= cs[0] else len(cs) - 2 if c >= cs[-1] else int(np.searchsorted(cs, c)) - 1
        h = hs[i] + (hs[i + 1] - hs[i]) * (c - cs[i]) / (cs[i + 1] - cs[i])
        return float(min(L.TOP - math.exp(h), 100.0))
    return vmaf


def first_slope_taken(seq: list[tuple[float, float]]) -> float:
    """The slope (VMAF per step at the aim) the run's first step assumed, from where it went; the default
    slope where the step was cut at the longest move."""
    (c1, v1), (c2, _) = seq[0], seq[1]
    if abs(c2 - c1) >= L.MAX_STEP - 0.1:
        return L.DEFAULT_SLOPE
    return (L.headroom(BAND.aim) - L.headroom(v1)) / (c2 - c1) * (L.TOP - BAND.aim)


def replay(shots: list, candidate: tuple) -> dict:
    name, *ramp = candidate
    saved = L.RISE_FROM, L.RISE_PER, L.RISE_MAX
    L.RISE_FROM, L.RISE_PER, L.RISE_MAX = ramp
    try:
        attempts, in_band, worst = 0, 0, 100.0
        for seq, pts in shots:
            if len(seq) < 2 or len(pts) < 2:
                attempts += len(seq)
                in_band += BAND.contains(seq[0][1])
                worst = min(worst, seq[0][1])
                continue
            v, slope = curve(pts), first_slope_taken(seq)
            got: list[L.Attempt] = []
            crf: float | None = seq[0][0]
            while crf is not None and len(got) < BUDGET:
                got.append(L.Attempt(crf, v(crf), int(1e6 * math.exp(-0.11 * crf))))
                crf = L.next_crf(got, BAND, slope=slope, min_crf=MIN_CRF, max_crf=MAX_CRF, steeper_up=True)
            k = L.kept(got, BAND)
            attempts += len(got)
            in_band += BAND.contains(got[k].vmaf)
            worst = min(worst, got[k].vmaf)
    finally:
        L.RISE_FROM, L.RISE_PER, L.RISE_MAX = saved
    n = len(shots)
    return {"rule": name, "shipped": tuple(ramp) == saved, "shots": n, "attempts_per_shot": round(attempts / n, 3),
            "kept_in_band": round(in_band / n, 3), "worst_kept": round(worst, 2)}


def measured(runs: list[dict]) -> dict:
    shots = [(c, r) for d in runs for c in d["clips"] for r in [c["rows"]["balanced"]]]
    vm = np.array([v for _, r in shots for v in r["vmaf"]])
    outcome = [o for _, r in shots for o in r["outcome"]]
    frames = sum(sum(r["frames"]) for _, r in shots)
    wall = [r["wall_s"] / c["plain"]["wall_s"] for c, r in shots]
    return {"clips": len(shots), "shots": int(vm.size), "commit": sorted({d["commit"] for d in runs}),
            "attempts_per_shot": round(sum(r["loop"]["attempts"] for _, r in shots) / vm.size, 3),
            "encoded_over_output_frames": round(sum(r["loop"]["encoded_frames"] for _, r in shots) / frames, 3),
            "wall_vs_plain_median": round(float(np.median(wall)), 2),
            "kept_in_band": round(outcome.count("in_band") / len(outcome), 3),
            "share_le_95_5": round(float(np.mean([v <= 95.5 or o == "clamped" for v, o in zip(vm, outcome)])), 3),
            "worst_shot": round(float(vm.min()), 2), "bytes": sum(r["bytes"] for _, r in shots),
            "per_clip": {c["clip"]: {"bytes": r["bytes"], "attempts": r["loop"]["attempts"]} for c, r in shots}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", nargs="+", type=Path, required=True)
    ap.add_argument("--after", nargs="+", type=Path, required=True)
    ap.add_argument("--also", nargs="*", type=Path, default=[])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    before = [json.loads(p.read_text()) for p in args.before]
    after = [json.loads(p.read_text()) for p in args.after]
    also = [json.loads(p.read_text()) for p in args.also]
    b, a = measured(before), measured(after)
    a["bytes_vs_before_pct"] = pair.bytes_vs(a, b)
    shots = list(_shots(before, after + also))
    out = {"replay": [replay(shots, c) for c in CANDIDATES], "before": b, "after": a,
           "also": [dict(measured([d]), clips_run=[c["clip"] for c in d["clips"]]) for d in also],
           "clips": sorted({c["clip"] for d in before for c in d["clips"]}),
           "machine": before[0].get("machine")}
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("replay",)}, indent=1))
    for k in ("before", "after"):
        print(k, {x: y for x, y in out[k].items() if x != "per_clip"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
