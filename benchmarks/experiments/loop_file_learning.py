#!/usr/bin/env python3
"""Should a file's later shots start from what its earlier shots measured? Replayed, no encode: every shot's
VMAF-vs-CRF curve through the attempts of every run on it (as `loop_start_shift.py`), the loop's own decisions
(`jndenc.loop.next_crf`, balanced's band and budget) replayed from the model's start moved by a correction
learned from other shots of the same file (their labels, `jndenc.learn`, as measured in the ``--first`` run).

    python benchmarks/experiments/loop_file_learning.py --first M.json --also A.json ... \\
        --out benchmarks/results/loop_file_learning.json

``--first``: a `benchmarks/segments.py` run (rows ``crf23,balanced``) with `jndenc.loop.rise` (the model's slope
recovered as `loop_secant_cap.model_slope` does), every start at the model's estimate (no learned offset).
Schemes (which shots a shot learns from, so the output never depends on which worker finished first):

* ``none``: every shot from the model's estimate (today);
* ``lead``: the file's first shot runs alone, every other shot starts from `jndenc.learn.offset` over it;
* ``lead2``: the first two shots run first (two workers busy), the others learn from both;
* ``sequential``: shot i learns from shots 0..i-1 (one worker at a time).

The frame-weighted attempts are what frames encoded over output frames would be. Run it only on training and
validation clips: the scheme is chosen here.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_secant_cap import model_slope  # noqa: E402
from loop_start_shift import Tally, clip_shots, load_runs, one_shot, runs_header  # noqa: E402

from jndenc import learn  # noqa: E402

SCHEMES = ("none", "lead", "lead2", "sequential")


def files(first: dict, also: list[dict]):
    """Per clip of ``first``: per shot (attempts there, every measured point on it, its label or None, frames)."""
    for c, per_shot in clip_shots(first, also):
        labels = c["rows"]["balanced"]["start"]["labels"]
        yield c["clip"], [(seq, pts, learn.ShotLabel.from_dict(lab) if lab else None, lab["frames"] if lab else None)
                          for (seq, pts), lab in zip(per_shot, labels)]


def teachers(scheme: str, i: int) -> list[int]:
    """The shots whose labels shot ``i`` starts from."""
    if scheme == "lead":
        return [0] if i >= 1 else []
    if scheme == "lead2":
        return [0, 1] if i >= 2 else []
    if scheme == "sequential":
        return list(range(i))
    return []


def replay(all_files: list, scheme: str) -> dict:
    tally = Tally()
    err = err0 = 0.0
    nerr = 0
    for _, shots in all_files:
        for i, (seq, pts, lab, fr) in enumerate(shots):
            t = [shots[j][2] for j in teachers(scheme, i) if shots[j][2] is not None]
            shift = learn.offset([[x] for x in t]) if t else 0.0
            tally.add(one_shot(seq, pts, shift, model_slope), fr or 1)
            if lab is not None:
                err += abs(lab.residual - shift)
                err0 += abs(lab.residual)
                nerr += 1
    return {"scheme": scheme, "shots": tally.n, "start_mae": round(err / nerr, 3), "model_mae": round(err0 / nerr, 3),
            **tally.figures("first_in_band", "attempts_per_shot", "frame_weighted_attempts", "kept_in_band",
                            "share_le_95_5", "worst_kept", "bytes_model")}


def main(argv=None) -> int:
    first, also, out_path = load_runs(__doc__, argv)
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
    out = {**runs_header(first, also),
           "curves_with_one_point": sum(len(pts) < 2 for _, shots in all_files for _, pts, _, _ in shots),
           "replay": rows}
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
