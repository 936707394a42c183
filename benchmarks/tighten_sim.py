#!/usr/bin/env python3
"""How far `--tighten` may raise a shot, `--ensure` lower one, and at which `--confidence` `--tighten` should plan:
the rules replayed on measured VMAF curves of training shots.

    python benchmarks/tighten_sim.py data/proxyjnd --cv weights/model_card_cv5.json \
        --weights-sidecar weights/jndenc_compact.keras.json --probe-sidecar weights/jndenc_probe.keras.json \
        --refine weights/probe_refine.json --out benchmarks/results/tighten_sim.json

`--tighten` measures each shot of the finished encode and raises the CRF of a
shot with headroom by ``(VMAF - target) / slope`` (floored to a quarter step,
`jndenc.verify.raised_crf`); the slope is assumed, since one encode is one
point per shot. This script takes every shot of the train and valid splits
(the test split is left out: the modes benchmark measures `--tighten` on it),
its trial encodes from the label search (``trials.csv``: CRF and window VMAF,
one curve per shot), and replays the rule from every quarter-step CRF whose
VMAF (interpolated on the curve) lies above the target and at most 2.5
points above it (where a plan that aimed at the target lands), for several
assumed slopes. Per slope it reports how far the rule raised, where the
raised shots ended, and the share that ended more than 0.5 VMAF below the
target (what `--ensure` calls a miss; `--tighten` then settles it).
The lowering of a miss (`jndenc.verify.corrected_crf`, whole steps, at least
one) is replayed the same way from every whole-step CRF that reads 0.5 to 4
points below the target: how far it lowered and the share still missed.
It also reports the measured slopes between neighbouring trials near the
target. With ``--cv`` and the sidecars it replays the whole loop
(`replay_loop`) from each mode's out-of-fold estimates at every calibrated
`--confidence`: the level `--tighten` plans at by default comes from it
(`jndenc.verify.TIGHTEN_CONFIDENCE`). Trial windows are the middle 2 s of each shot, encoded alone: the
slope of a shot inside a whole encode is similar but not the same.
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

from jndenc.planner import PlanOptions, fixed_plan
from jndenc.verify import (ENSURE_SLOPE, ENSURE_TOLERANCE, TIGHTEN_SLOPE, TIGHTEN_STEP, Pass, ShotQuality, best_pass,
                           corrected_crf, corrective_passes, raised_crf)

TARGET = 94.0
HEADROOM = 2.5  # readings from the target to this many points above it
SLOPES = (1.0, 1.25, 1.5, 2.0)
LOWER_SLOPES = (0.5, 0.75, 1.0, 1.5)
SHORTFALL = 4.0  # misses replayed: readings from this many points below the target to the tolerance


def curves(dataset: Path) -> dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per train/valid shot: its trial CRFs (sorted), their VMAF and their bytes."""
    split = {c["name"]: c["split"] for c in json.loads((dataset / "dataset.json").read_text())["clips"]}
    pts: dict[tuple, dict[float, tuple[float, float]]] = defaultdict(dict)
    with open(dataset / "trials.csv", newline="") as f:
        for r in csv.DictReader(f):
            if split.get(r["clip"]) in ("train", "valid"):
                key = (r["clip"], int(r["start_frame"]), int(r["end_frame"]))
                pts[key][float(r["crf"])] = (float(r["score"]), float(r["bytes"]))
    out = {}
    for key, d in pts.items():
        if len(d) >= 3:
            c = np.array(sorted(d))
            out[key] = (c, np.array([d[x][0] for x in c]), np.array([d[x][1] for x in c]))
    return out


def local_slopes(shots: dict, lo: float = TARGET - 2, hi: float = TARGET + 4.5) -> np.ndarray:
    """VMAF lost per CRF step between neighbouring trials whose VMAF both lie in [lo, hi]."""
    s = []
    for c, v, _ in shots.values():
        for i in range(len(c) - 1):
            if lo <= v[i] <= hi and lo <= v[i + 1] <= hi:
                s.append((v[i] - v[i + 1]) / (c[i + 1] - c[i]))
    return np.array(s)


def replay(shots: dict, slope: float, max_crf: float = 51.0) -> dict:
    start, end, raise_by = [], [], []
    for c, v, _ in shots.values():
        for x in np.arange(c[0], c[-1] + 1e-9, TIGHTEN_STEP):
            v1 = float(np.interp(x, c, v))
            if not TARGET < v1 <= TARGET + HEADROOM:
                continue
            new = raised_crf(float(x), v1, TARGET, slope, TIGHTEN_STEP, max_crf)
            if new == x or new > c[-1]:  # not raised, or beyond the measured curve
                continue
            start.append(v1)
            end.append(float(np.interp(new, c, v)))
            raise_by.append(new - x)
    end_a = np.array(end)
    return {"slope": slope, "raised": len(end), "mean_start_vmaf": round(float(np.mean(start)), 2),
            "mean_raise_crf": round(float(np.mean(raise_by)), 2), "mean_end_vmaf": round(float(end_a.mean()), 2),
            "share_end_below_target": round(float(np.mean(end_a < TARGET)), 4),
            "share_end_missed": round(float(np.mean(end_a < TARGET - ENSURE_TOLERANCE)), 4),
            "worst_end_vmaf": round(float(end_a.min()), 2)}


def replay_lower(shots: dict, slope: float) -> dict:
    end, drop = [], []
    for c, v, _ in shots.values():
        for x in np.arange(c[0], c[-1] + 1e-9, 1.0):
            v1 = float(np.interp(x, c, v))
            if not TARGET - SHORTFALL <= v1 < TARGET - ENSURE_TOLERANCE:
                continue
            new = corrected_crf(float(x), v1, TARGET, slope, 1.0, 0.0)
            if new < c[0]:  # below the measured curve
                continue
            end.append(float(np.interp(new, c, v)))
            drop.append(x - new)
    end_a = np.array(end)
    return {"slope": slope, "lowered": len(end), "mean_drop_crf": round(float(np.mean(drop)), 2),
            "mean_end_vmaf": round(float(end_a.mean()), 2),
            "share_still_missed": round(float(np.mean(end_a < TARGET - ENSURE_TOLERANCE)), 4),
            "share_end_below_target": round(float(np.mean(end_a < TARGET)), 4)}


def replay_loop(shots: dict, estimates: dict, margins: dict[str, float | dict], min_crf: float = 12.0,
                max_crf: float = 40.0) -> list[dict]:
    """The whole `--tighten` loop per shot at each calibrated ``--confidence``: the plan's CRF (the out-of-fold
    estimate minus that level's margin, one number or one per shot (clip, start frame), its integer ceiling, as
    `jndenc.planner.crf_for`), the
    corrections and the settling pass of `jndenc.verify.corrective_passes`, every pass read off the shot's trial
    curve (VMAF, and bytes interpolated in log scale), the best pass kept. Each shot stands for a one-shot clip.
    Only shots whose passes stay on the measured curve at every level count, so the levels compare the same
    shots (``n``)."""
    def at(c, v, b, x):
        if not c[0] <= x <= c[-1]:
            raise ValueError
        return float(np.interp(x, c, v)), float(np.exp(np.interp(x, c, np.log(b))))

    levels = sorted(margins.items(), key=lambda kv: float(kv[0]))
    per_level: list[dict] = []
    for p, m in levels:
        rows = {}
        for key, (c, v, b) in shots.items():
            est = estimates.get(key[:2])
            if est is None:
                continue
            mk = m.get(key[:2]) if isinstance(m, dict) else m
            if mk is None:
                continue
            crf0 = float(np.clip(math.ceil(est - mk - 1e-9), min_crf, max_crf))
            plan = fixed_plan([(0, 1)], crf0, 1, 1.0, PlanOptions(min_crf=min_crf, max_crf=max_crf))

            def run(pl):
                q, nbytes = at(c, v, b, pl.shots[0].crf)
                return [ShotQuality(q, q)], nbytes
            try:
                q0, b0 = run(plan)
                passes = corrective_passes(Pass(plan, q0, b0, {}), TARGET, run, tighten=True)
                ref = {"crf23": at(c, v, b, 23.0)[1], "first": b0}
            except ValueError:
                continue
            kept = passes[best_pass(passes, TARGET)]
            label = max((x for x, y in zip(c, v) if y >= TARGET and float(x).is_integer()), default=None)
            if label is None:
                continue
            rows[key] = {"vmaf": kept.quality[0].mean, "first_vmaf": q0[0].mean, "bytes": kept.bytes,
                         "oracle": at(c, v, b, label)[1], "passes": len(passes), **ref}
        per_level.append(rows)
    common = set.intersection(*(set(r) for r in per_level)) if per_level else set()
    out = []
    for (p, m), rows in zip(levels, per_level):
        if not common:
            break
        r = {k: np.array([rows[key][k] for key in sorted(common)]) for k in next(iter(rows.values()))}
        mean_m = float(np.mean([m[k[:2]] for k in common])) if isinstance(m, dict) else m
        out.append({"confidence": float(p), "margin": round(mean_m, 3), "n": len(common),
                    "first_pass_missed": round(float(np.mean(r["first_vmaf"] < TARGET - ENSURE_TOLERANCE)), 4),
                    "missed": round(float(np.mean(r["vmaf"] < TARGET - ENSURE_TOLERANCE)), 4),
                    "worst_vmaf": round(float(r["vmaf"].min()), 2),
                    "saving_vs_crf23_pct": round(100 * float(np.mean(1 - r["bytes"] / r["crf23"])), 2),
                    "first_pass_saving_vs_crf23_pct": round(100 * float(np.mean(1 - r["first"] / r["crf23"])), 2),
                    "oracle_saving_vs_crf23_pct": round(100 * float(np.mean(1 - r["oracle"] / r["crf23"])), 2),
                    "mean_passes": round(float(r["passes"].mean()), 2)})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path, help="a `jndenc dataset build` folder (dataset.json, trials.csv)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--cv", type=Path, default=None,
                    help="model_card.py's cross-validation JSON (out-of-fold estimates per shot): adds the whole loop")
    ap.add_argument("--weights-sidecar", type=Path, default=None,
                    help="the predict model's sidecar JSON (its margin_auto table) for the whole loop")
    ap.add_argument("--probe-sidecar", type=Path, default=None,
                    help="the probe model's sidecar JSON (margin_z) and, with --refine, the loop in probe mode")
    ap.add_argument("--refine", type=Path, default=None,
                    help="probe_refine.json: the as-shipped estimates of the cross-validation shots and the two-probe "
                         "margins")
    args = ap.parse_args(argv)
    shots = curves(args.dataset)
    sl = local_slopes(shots)
    q = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
    out = {"command": "python benchmarks/tighten_sim.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "shots": len(shots), "splits": "the train and valid splits; the test split left out", "target_vmaf": TARGET,
           "headroom": HEADROOM, "step": TIGHTEN_STEP, "shipped_slope": TIGHTEN_SLOPE,
           "local_slopes": {"n": int(sl.size), "quantiles": {str(k): round(float(v), 2)
                                                             for k, v in zip(q, np.quantile(sl, q))}},
           "replay": [replay(shots, s) for s in SLOPES],
           "shipped_lower_slope": ENSURE_SLOPE, "shortfall": SHORTFALL,
           "lower": [replay_lower(shots, s) for s in LOWER_SLOPES]}
    if args.cv and args.weights_sidecar:
        cv = json.loads(args.cv.read_text())
        est = {(r["clip"], int(r["start_frame"])): float(r["model"][0]) for r in cv["per_shot"]}
        out["loop"] = {"mode": "predict", "estimates": f"out-of-fold ({cv['evaluation']})",
                       "rows": replay_loop(shots, est, json.loads(args.weights_sidecar.read_text())["margin_auto"])}
        if args.probe_sidecar and args.refine:
            ref = json.loads(args.refine.read_text())
            z = json.loads(args.probe_sidecar.read_text())["margin_z"]
            spread = {(r["clip"], int(r["start_frame"])): float(r["probe_spread"]) for r in cv["per_shot"]}
            rows = {(r["clip"], int(r["start_frame"])): r for r in ref["per_shot"]["cv"]}
            pest = {k: float(r["jnd1"]) for k, r in rows.items()}
            # a shot probed twice takes the two-probe margin; once, its spread times the level's z
            margins = {p: {k: (ref["margin"][p] if r["two_probe"] else spread[k] * z[p]) for k, r in rows.items()
                           if k in spread} for p in z if p in ref["margin"]}
            out["loop_probe"] = {"mode": "probe", "estimates": "as shipped, out-of-fold (probe_refine.json)",
                                 "rows": replay_loop(shots, pest, margins)}
    text = json.dumps(out, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
