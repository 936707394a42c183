#!/usr/bin/env python3
"""Should a file's later shots start from what its earlier shots measured? Replayed, no encode: every shot's
VMAF-vs-CRF curve through the attempts of every run on it (as `loop_start_shift.py`), the loop's own decisions
(`jndenc.loop.next_crf`, balanced's band and budget) replayed from the model's start moved by a correction
learned from other shots of the same file (their labels, `jndenc.learn`, as measured in the ``--first`` run).

    python benchmarks/experiments/loop_file_learning.py --first M.json --also A.json ... \\
        --out benchmarks/results/loop_file_learning.json

``--first``: a `benchmarks/segments.py` run (rows ``crf23,balanced``) at the current loop, every start at the
model's estimate (no learned offset). Schemes (which shots a shot learns from, so the output never depends on
which worker finished first):

* ``none``: every shot from the model's estimate (today);
* ``lead``: the file's first shot runs alone, every other shot starts from `jndenc.learn.offset` over it;
* ``lead2``: the first two shots run first (two workers busy), the others learn from both;
* ``sequential``: shot i learns from shots 0..i-1 (one worker at a time).

The frame-weighted attempts are what frames encoded over output frames would be. Run it only on training and
validation clips: the scheme is chosen here.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_rise import BAND, BUDGET, MAX_CRF, MIN_CRF, curve, first_slope_taken  # noqa: E402
from loop_start_shift import single_point_curve  # noqa: E402

from jndenc import learn  # noqa: E402
from jndenc import loop as L  # noqa: E402

SCHEMES = ("none", "lead", "lead2", "sequential")


def files(first: dict, also: list[dict]):
    """Per clip of ``first``: per shot (attempts there, every measured point on it, its label or None, frames)."""
    more: dict[tuple[str, int], dict[float, float]] = {}
    for d in also:
        for c in d["clips"]:
            for j, seq in enumerate(c["rows"]["balanced"]["attempts"]):
                more.setdefault((c["clip"], j), {}).update({float(a): float(v) for a, v in seq})
    for c in first["clips"]:
        b = c["rows"]["balanced"]
        out = []
        for j, seq in enumerate(b["attempts"]):
            pts = {float(a): float(v) for a, v in seq} | more.get((c["clip"], j), {})
            lab = b["start"]["labels"][j]
            frames = lab["frames"] if lab else None
            out.append(([(float(a), float(v)) for a, v in seq], sorted(pts.items()),
                        learn.ShotLabel.from_dict(lab) if lab else None, frames))
        yield c["clip"], out


def teachers(scheme: str, i: int) -> list[int]:
    """The shots whose labels shot ``i`` starts from."""
    if scheme == "lead":
        return [0] if i >= 1 else []
    if scheme == "lead2":
        return [0, 1] if i >= 2 else []
    if scheme == "sequential":
        return list(range(i))
    return []


def one_shot(seq, pts, shift: float) -> list[L.Attempt]:
    v = curve(pts) if len(pts) >= 2 else single_point_curve(*pts[0])
    slope = first_slope_taken(seq) if len(seq) >= 2 else L.DEFAULT_SLOPE
    got: list[L.Attempt] = []
    crf: float | None = L.quantise(min(max(seq[0][0] + shift, MIN_CRF), MAX_CRF))
    while crf is not None and len(got) < BUDGET:
        got.append(L.Attempt(crf, v(crf), int(1e6 * math.exp(-0.11 * crf))))
        crf = L.next_crf(got, BAND, slope=slope, min_crf=MIN_CRF, max_crf=MAX_CRF, steeper_up=True)
    return got


def replay(all_files: list, scheme: str) -> dict:
    n = attempts = first_in = in_band = le = 0
    frames = frame_attempts = 0
    err = err0 = 0.0
    nerr = 0
    worst, cost = 100.0, 0.0
    for _, shots in all_files:
        for i, (seq, pts, lab, fr) in enumerate(shots):
            t = [shots[j][2] for j in teachers(scheme, i) if shots[j][2] is not None]
            shift = learn.offset([[x] for x in t]) if t else 0.0
            got = one_shot(seq, pts, shift)
            k = L.kept(got, BAND)
            n += 1
            attempts += len(got)
            w = fr or 1
            frames += w
            frame_attempts += w * len(got)
            first_in += BAND.contains(got[0].vmaf)
            in_band += BAND.contains(got[k].vmaf)
            le += got[k].vmaf <= 95.5
            worst = min(worst, got[k].vmaf)
            cost += got[k].bytes
            if lab is not None:
                err += abs(lab.residual - shift)
                err0 += abs(lab.residual)
                nerr += 1
    return {"scheme": scheme, "shots": n, "start_mae": round(err / nerr, 3), "model_mae": round(err0 / nerr, 3),
            "first_in_band": round(first_in / n, 3), "attempts_per_shot": round(attempts / n, 3),
            "frame_weighted_attempts": round(frame_attempts / frames, 3), "kept_in_band": round(in_band / n, 3),
            "share_le_95_5": round(le / n, 3), "worst_kept": round(worst, 2), "bytes_model": cost}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--first", type=Path, required=True)
    ap.add_argument("--also", nargs="*", type=Path, default=[])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    first = json.loads(args.first.read_text())
    also = [json.loads(p.read_text()) for p in args.also]
    all_files = list(files(first, also))
    multi = [f for f in all_files if len(f[1]) > 1]
    rows = []
    for subset, fs in (("all clips", all_files), ("multi-shot clips", multi)):
        for s in SCHEMES:
            r = replay(fs, s)
            rows.append({"clips": subset, **r})
    for subset in ("all clips", "multi-shot clips"):
        base = next(r["bytes_model"] for r in rows if r["clips"] == subset and r["scheme"] == "none")
        for r in rows:
            if r["clips"] == subset:
                r["bytes_vs_none_pct"] = round(100 * (r["bytes_model"] / base - 1), 2)
    for r in rows:
        r.pop("bytes_model")
        print(r)
    out = {"first": {"commit": first["commit"], "clips": [c["clip"] for c in first["clips"]]},
           "also": [{"commit": d["commit"], "clips": [c["clip"] for c in d["clips"]]} for d in also],
           "curves_with_one_point": sum(len(pts) < 2 for _, shots in all_files for _, pts, _, _ in shots),
           "replay": rows}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
