#!/usr/bin/env python3
"""Which cheap probe predicts JND1? Correlation and cross-validated error of each probe setting.

    python benchmarks/probe_study.py DATASET --cache probe_features.json [--out weights/probe_study.json]

Reads the labelled shots of a `jndenc dataset build` journal and their probe
scores (`python -m jndenc.training.probe_features`, one entry per setting),
leaves the fixed test split out (the split of `jndenc dataset build`: by
parent clip, seed 0, 70/15/15 over the clip names found in ``--clips``), and
for every probe setting reports, on the remaining shots: the correlation of
the probe VMAF with JND1 and the 5-fold cross-validated (by parent clip) MAE
of least-squares fits of JND1 on the probe alone, on the frame cues alone
(SI, TI, log2 pixels), and on both; also the probe's time against the
window frames it measured. Centred settings (one CRF per shot, at the frame
model's estimate) go to ``centred``: the error of the model-free rule
``CRF + (VMAF - 94)`` (near the JND VMAF moves about a point per CRF step), how
often it over-predicts, a fit on [CRF, VMAF, VMAF headroom], and the time per
probed frame. Nothing here is tuned on the test split.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from jndenc.models.probe import PROBE_FEATURES, RULE_VMAF, probe_vector
from jndenc.training.dataset import assign_splits, pinned_splits
from jndenc.training.derive import parents_of
from jndenc.training.probe_features import load_cache, read_journal
from jndenc.training.probe_fit import group_folds
from jndenc.training.shots import shot_key
from jndenc.media.clips import list_clips


def cv_mae(x: np.ndarray, y: np.ndarray, folds: np.ndarray, ridge: float = 1e-3) -> tuple[float, np.ndarray]:
    """Held-out MAE of a least-squares fit y ~ [x, 1] over the folds, and the held-out predictions."""
    pred = np.empty_like(y, dtype=float)
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-9
        a = np.c_[(x[tr] - mu) / sd, np.ones(tr.sum())]
        reg = ridge * tr.sum() * np.eye(a.shape[1])
        reg[-1, -1] = 0
        coef = np.linalg.solve(a.T @ a + reg, a.T @ y[tr])
        pred[te] = np.c_[(x[te] - mu) / sd, np.ones(te.sum())] @ coef
    return float(np.abs(pred - y).mean()), pred


def centred_entry(cache: dict, recs: list[dict], key: str, y: np.ndarray, folds: np.ndarray) -> dict:
    """A centred setting: the rule CRF + (VMAF - 94) and a plain fit, on the shots it probed."""
    rows = [cache["shots"][shot_key(r["clip"], r["start_frame"], r["end_frame"])].get(key) for r in recs]
    ok = np.flatnonzero([q is not None and np.isfinite(q["vmaf"]) for q in rows])
    q = [rows[i] for i in ok]
    yy, fo = y[ok], folds[ok]
    c = np.array([p["crf"] for p in q], float)
    v = np.array([p["vmaf"] for p in q], float)
    err = c + (v - RULE_VMAF) - yy
    secs = sum(cc["seconds"].get(key, 0.0) for cc in cache["clips"].values())
    frames = sum(p["window"][1] - p["window"][0] for p in q)
    return {"shots": int(len(ok)), "mae_rule": round(float(np.abs(err).mean()), 3),
            "share_over_1": round(float((err > 1).mean()), 3), "share_over_2": round(float((err > 2).mean()), 3),
            "mae_fit": round(cv_mae(np.c_[c, v, -np.log(100.5 - np.clip(v, 0, 100))], yy, fo)[0], 3),
            "ms_per_window_frame": round(1000 * secs / max(1, frames), 2), "probed_frames": int(frames)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--clips", nargs="+", type=Path, default=[Path("../shared/clips")],
                    help="all clip folders of the build (the split is dealt over their parent names)")
    ap.add_argument("--pseudo-names", nargs="*", default=None,
                    help="pseudo-video names not yet on disk that the final build deals splits over")
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    cache = load_cache(args.cache)
    parents = parents_of([d for d in args.clips if d.is_dir()])
    names = {c.name for c in list_clips([d for d in args.clips if d.exists()])}
    if args.pseudo_names is None:
        from jndenc.training.pseudo import IMAGES

        args.pseudo_names = [f"pseudo_{i}.mkv" for i in IMAGES]
    names |= set(args.pseudo_names)
    # the shipped model's splits: the test split is the one the model card judges on
    split = assign_splits(sorted({parents.get(n, n) for n in names}), (70, 15, 15), args.seed,
                          pinned_splits(Path(__file__).resolve().parents[1] / "weights" / "training_clips.json"))
    recs = [r for r in read_journal(args.dataset) if shot_key(r["clip"], r["start_frame"], r["end_frame"])
            in cache["shots"]]
    group = [parents.get(r["clip"], r["clip"]) for r in recs]
    keep = [split.get(g) != "test" for g in group]
    recs = [r for r, k in zip(recs, keep) if k]
    group = [g for g, k in zip(group, keep) if k]
    settings = sorted({k for r in recs for k in cache["shots"][shot_key(r["clip"], r["start_frame"],
                                                                          r["end_frame"])] if k != "window"})
    folds = group_folds(group, args.cv, args.seed)
    y = np.array([r["jnd"][0] for r in recs], float)
    frame = np.array([[r["si"], r["ti"], np.log2(r["width"] * r["height"])] for r in recs], float)
    res = {"dataset": str(args.dataset), "shots": len(recs), "groups": len(set(group)), "cv": args.cv,
           "excluded": "test split (by parent clip, seed 0)", "jnd1_mean": round(float(y.mean()), 2),
           "jnd1_std": round(float(y.std()), 2),
           "mean_predictor": round(cv_mae(np.zeros((len(y), 0)), y, folds)[0], 3),
           "frame_cues": round(cv_mae(frame, y, folds)[0], 3), "settings": {}}
    print(f"{len(recs)} shots, {len(set(group))} parent clips (test split left out); JND1 mean {y.mean():.2f} "
          f"std {y.std():.2f}; CV MAE mean {res['mean_predictor']:.2f}, SI/TI+size {res['frame_cues']:.2f}")
    print(f"{'setting':38s} {'r(vmaf)':>8s} {'probe':>6s} {'probe+frame':>11s} {'s/frame':>8s}")
    res["centred"] = {}
    for key in settings:
        if "@frame" in key:
            res["centred"][key] = centred_entry(cache, recs, key, y, folds)
            continue
        rows = [cache["shots"][shot_key(r["clip"], r["start_frame"], r["end_frame"])].get(key) for r in recs]
        ok = np.array([q is not None and np.isfinite(q["vmaf"]) for q in rows])
        if ok.sum() < 10:
            continue
        q = [rows[i] for i in np.flatnonzero(ok)]
        vm = np.array([p["vmaf"] for p in q])
        sizes = [(recs[i]["width"], recs[i]["height"]) for i in np.flatnonzero(ok)]
        # the fixed-quantiser settings compared here: their probe CRF is a constant, so the first five features
        pv = np.array([probe_vector(p, sz, PROBE_FEATURES[:5]) for p, sz in zip(q, sizes)])
        yy, ff, fo = y[ok], frame[ok], folds[ok]
        secs = defaultdict(float)
        nfr = defaultdict(int)
        for name, c in cache["clips"].items():
            if key in c["seconds"]:
                secs[key] += c["seconds"][key]
                nfr[key] += c["window_frames"]
        entry = {
            "shots": int(ok.sum()),
            "corr_vmaf": round(float(np.corrcoef(vm, yy)[0, 1]), 3),
            "corr_probe_vector": [round(float(np.corrcoef(pv[:, j], yy)[0, 1]), 3) for j in range(pv.shape[1])],
            "mae_vmaf_only": round(cv_mae(vm[:, None], yy, fo)[0], 3),
            "mae_probe": round(cv_mae(pv, yy, fo)[0], 3),
            "mae_probe_frame": round(cv_mae(np.c_[pv, ff], yy, fo)[0], 3),
            "ms_per_window_frame": round(1000 * secs[key] / max(1, nfr[key]), 2),
        }
        res["settings"][key] = entry
        print(f"{key:38s} {entry['corr_vmaf']:8.3f} {entry['mae_probe']:6.2f} {entry['mae_probe_frame']:11.2f} "
              f"{entry['ms_per_window_frame']:8.2f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
