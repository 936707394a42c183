#!/usr/bin/env python3
"""What `--confidence` buys and costs: bytes and visible shots of predict and probe mode per level, in CV.

    python benchmarks/confidence.py data/proxyjnd/trials.csv [--cv weights/model_card_cv5.json] \
        [--out weights/confidence_cv5.json]

No encode runs here. The inputs are the out-of-fold predictions of the model
card's cross-validation (``model_card_cv5.json``: per shot, the frame model's
and the probe model's JND and the probe's spread, each from a fold that never
saw the shot's parent clip) and the label build's trial encodes
(``trials.csv``: per labelled shot, bytes and VMAF of its trial window at every
CRF the label search tried, always including CRF 23).

Per held-out fold and level p, the margin is calibrated on the *other* folds
only (predict mode: the p-quantile of their JND1 over-prediction; probe mode:
the z that covered p of them, times each shot's spread; with ``--refine``
the shots probed twice take the two-probe JND1 and the p-quantile of the
other folds' two-probe over-prediction), as the shipped weights were
calibrated on the training shots. The planner then rounds
the shot's CRF the way `jndenc.planner.crf_for` does (integer CRF, see there),
and the shot's trial window is looked up at that CRF: bytes interpolated on
log(bytes) between the tried CRFs (extrapolated along the nearest two),
VMAF likewise (capped at 100). A shot is *visible* when its planned CRF lies
above its JND1 label (VMAF below 94 at that CRF). Savings are against CRF 23,
the mean over parent clips of 1 - bytes(plan) / bytes(CRF 23), and over all
bytes; the oracle row plans every shot at its label, and fixed-CRF rows plan
every shot at one CRF (the baseline a mode must beat: fewer bytes for the same
share of visible shots).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jndenc.training.probe_fit import group_folds  # noqa: E402
from jndenc.planner import PlanOptions, crf_for  # noqa: E402
from jndenc.training.derive import parent_stem as parent  # noqa: E402

LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
BASE_CRF = 23.0
FIXED_CRFS = (18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0)
AUTO = PlanOptions(margin="auto")  # the planner's defaults: integer CRF, clamped to 12-40


def read_trials(path: Path) -> dict[tuple[str, int], list[tuple[float, float, float]]]:
    out = defaultdict(dict)
    with open(path) as fh:
        for r in csv.DictReader(fh):
            out[(r["clip"], int(r["start_frame"]))][float(r["crf"])] = (float(r["bytes"]), float(r["score"]))
    return {k: sorted((c, b, s) for c, (b, s) in v.items()) for k, v in out.items()}


def at_crf(trials: list[tuple[float, float, float]], crf: float) -> tuple[float, float]:
    """(bytes, VMAF) of a shot's trial window at ``crf``: interpolated between tried CRFs, else extrapolated."""
    c = np.array([t[0] for t in trials])
    lb = np.log([t[1] for t in trials])
    v = np.array([t[2] for t in trials])
    if len(c) == 1:
        return float(math.exp(lb[0])), float(v[0])
    i = int(np.clip(np.searchsorted(c, crf) - 1, 0, len(c) - 2))
    w = (crf - c[i]) / (c[i + 1] - c[i])
    return float(math.exp(lb[i] + w * (lb[i + 1] - lb[i]))), float(min(100.0, v[i] + w * (v[i + 1] - v[i])))


def simulate(shots: list[dict], trials: dict, planned: np.ndarray) -> dict:
    rows = []
    for s, crf in zip(shots, planned):
        t = trials[(s["clip"], s["start_frame"])]
        b, v = at_crf(t, float(crf))
        b23, _ = at_crf(t, BASE_CRF)
        rows.append((parent(s["clip"]), b, b23, v, crf > s["label"][0]))
    per_clip = defaultdict(lambda: [0.0, 0.0])
    for g, b, b23, _, _ in rows:
        per_clip[g][0] += b
        per_clip[g][1] += b23
    vm = np.array([r[3] for r in rows])
    return {
        "saving_mean_per_clip": round(float(np.mean([1 - b / b23 for b, b23 in per_clip.values()])), 4),
        "saving_all_bytes": round(float(1 - sum(r[1] for r in rows) / sum(r[2] for r in rows)), 4),
        "visible_share": round(float(np.mean([r[4] for r in rows])), 4),
        "worst_vmaf": round(float(vm.min()), 2),
        "p5_vmaf": round(float(np.percentile(vm, 5)), 2),
        "share_below_93": round(float(np.mean(vm < 93.0)), 4),
        "mean_crf": round(float(np.mean(planned)), 2),
    }


def probe_inputs(shots: list[dict], refine: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Per shot, probe mode's JND1 as shipped and whether it was probed twice: with ``refine``
    (probe_refine.json's per-shot rows of one set) the shots probed twice take the two-probe JND1; without it,
    one probe per shot."""
    if refine is None:
        return np.array([s["probe_model"][0] for s in shots], float), np.zeros(len(shots), bool)
    ref = {(r["clip"], r["start_frame"]): r for r in refine}
    return (np.array([ref[(s["clip"], s["start_frame"])]["jnd1"] for s in shots], float),
            np.array([ref[(s["clip"], s["start_frame"])]["two_probe"] for s in shots]))


def oof_plans(shots: list[dict], p: float, refined: np.ndarray, two: np.ndarray) -> dict[str, np.ndarray]:
    """Each shot's planned CRF in predict and probe mode at level ``p``, its margin calibrated on the other folds
    only (5 folds by parent clip, as the model card's cross-validation cut them)."""
    y1 = np.array([s["label"][0] for s in shots], float)
    # parent stems sort (and so shuffle into folds) as the model card's parent file names do: the same folds
    f = group_folds([parent(s["clip"]) for s in shots], 5, 0)
    frame = np.array([s["model"][0] for s in shots], float)
    probe = np.array([s["probe_model"][0] for s in shots], float)
    spread = np.array([s["probe_spread"] for s in shots], float)
    plans = {"predict": np.empty(len(shots)), "probe": np.empty(len(shots))}
    for k in np.unique(f):
        tr, te = f != k, f == k
        m = max(0.0, float(np.quantile(frame[tr] - y1[tr], p, method="higher")))
        # z as the shipped weights have it: calibrated on the one-probe model's errors of every training shot
        z = max(0.0, float(np.quantile((probe[tr] - y1[tr]) / spread[tr], p, method="higher")))
        # shots probed twice: their own margin, the p-quantile of the two-probe over-prediction (other folds)
        m2 = (max(0.0, float(np.quantile(refined[tr & two] - y1[tr & two], p, method="higher")))
              if (tr & two).any() else 0.0)
        plans["predict"][te] = [crf_for([j], AUTO, m, calibrated=True) for j in frame[te]]
        plans["probe"][te] = [crf_for([j], AUTO, m2 if t else z * s, calibrated=True)
                              for j, s, t in zip(refined[te], spread[te], two[te])]
    return plans


def run(cv_json: Path, trials_csv: Path, refine_json: Path | None = None) -> dict:
    cv = json.loads(cv_json.read_text())
    trials = read_trials(trials_csv)
    shots = [s for s in cv["per_shot"] if (s["clip"], s["start_frame"]) in trials]
    if not shots:
        raise SystemExit(f"{trials_csv}: no trial encodes of the shots in {cv_json}")
    y1 = np.array([s["label"][0] for s in shots], float)
    # probe mode as shipped: shots probed twice take the two-probe JND1
    refine = json.loads(refine_json.read_text())["per_shot"]["cv"] if refine_json is not None else None
    refined, two = probe_inputs(shots, refine)
    out = {"source": {"cv": str(cv_json.relative_to(ROOT)) if cv_json.is_relative_to(ROOT) else str(cv_json),
                      "trials": trials_csv.name}, "shots": len(shots), "clips": len(set(parent(s["clip"]) for s in shots)),
           "folds": int(group_folds([parent(s["clip"]) for s in shots], 5, 0).max() + 1), "base_crf": BASE_CRF,
           "levels": {}}
    out["oracle"] = simulate(shots, trials, y1)
    out["fixed_crf"] = simulate(shots, trials, np.full(len(shots), BASE_CRF))
    # one CRF for every shot, for comparing modes with the fixed CRF that leaves as many shots visible
    out["fixed_crfs"] = {f"{c:g}": simulate(shots, trials, np.full(len(shots), c)) for c in FIXED_CRFS}
    for p in LEVELS:
        plans = oof_plans(shots, p, refined, two)
        out["levels"][f"{p:g}"] = {mode: simulate(shots, trials, plan) for mode, plan in plans.items()}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trials", type=Path, help="trials.csv of the label build (jndenc dataset build)")
    ap.add_argument("--cv", type=Path, default=ROOT / "weights" / "model_card_cv5.json")
    ap.add_argument("--out", type=Path, default=ROOT / "weights" / "confidence_cv5.json")
    ap.add_argument("--refine", type=Path, default=None,
                    help="probe_refine.json: probe mode with its second probes (default: one probe per shot)")
    a = ap.parse_args(argv)
    if not a.trials.is_file():
        print(f"confidence: {a.trials} not found (build the labels first: weights/MODEL_CARD.md, Reproduce)",
              file=sys.stderr)
        return 2
    res = run(a.cv.resolve(), a.trials, a.refine)
    if a.refine:
        res["source"]["refine"] = a.refine.name
    a.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"{'level':>6} {'mode':>8} {'saving/clip':>11} {'all bytes':>9} {'visible':>8} {'worst':>6} {'p5':>6}")
    for name, r in (("oracle", res["oracle"]), ("crf23", res["fixed_crf"])):
        print(f"{'-':>6} {name:>8} {r['saving_mean_per_clip']:>11.1%} {r['saving_all_bytes']:>9.1%} "
              f"{r['visible_share']:>8.1%} {r['worst_vmaf']:>6.1f} {r['p5_vmaf']:>6.1f}")
    for p, modes in res["levels"].items():
        for mode, r in modes.items():
            print(f"{p:>6} {mode:>8} {r['saving_mean_per_clip']:>11.1%} {r['saving_all_bytes']:>9.1%} "
                  f"{r['visible_share']:>8.1%} {r['worst_vmaf']:>6.1f} {r['p5_vmaf']:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
