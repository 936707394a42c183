#!/usr/bin/env python3
"""The numbers in weights/MODEL_CARD.md: per-shot MAE on held-out clips, against baselines, for both modes.

    python benchmarks/model_card.py DATASET --weights weights/jndenc_compact.keras [--split test] [--out DIR]
    python benchmarks/model_card.py DATASET --cv 5 --linear-only [--probe-cache FILE] [--out DIR]

DATASET is a `jndenc dataset build` folder. For every shot (its K images
share one label) the frame model's per-image predictions are reduced by the
median, as `jndenc predict` does over a shot's sampled frames, and compared
with the shot's label. Baselines are fitted on training shots only: (a) the
mean of the training labels, (b) a least-squares regression of each level on
ITU-T P.910 SI and TI (the `features.csv` columns), and, as a stronger
reference, (c) the same with the log2 pixel count of the source; with probe
features, (d) a least-squares fit on the probe's VMAF alone and (e) on the
probe vector plus SI, TI and size.

``--cv K``: K-fold cross-validation by parent clip (a clip with its derived
copies) over the train and valid splits; the test split is never used.
Each fold's frame model is trained with the shipped recipe (`jndenc.training.
train.fit`; with ``--linear-only`` on all K-1 other folds, else on K-2 with the
next fold for early stopping). With ``--probe-cache`` the probe model
(`jndenc.models.probe`) is fitted per fold as `jndenc.training.probe_train`
fits the shipped one: on out-of-fold frame estimates of the training folds
plus their probe features, its spread head and margin z from an inner CV of
the training folds only; the held-out fold then measures MAE, calibration
(share of shots whose JND1 is at or above ``JND1 - margin``) and the range
(slope of predicted on true JND1; 1 = no shrinkage towards the mean).

Without ``--cv``: the shipped weights (frame model and, with
``--probe-cache``, the probe model) on ``--split`` (default test), baselines
fitted on train+valid. Prediction cost (ms per frame, batch 32, after
warm-up) is timed in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from jndenc.media.probe_encode import SHIPPED_PROBE
from jndenc.models.probe import CONFIDENCE_LEVELS
from jndenc.training.data import load_frames
from jndenc.training.probe_fit import fit_options, group_folds, margin_table
from jndenc.training.probe_train import attach_probe
from jndenc.training.shots import frame_fit, frame_oof, frame_predict, predict_shots, read_shots, wide_features
from jndenc.training.siti import fit_linear, predict_linear

SPLITS = ("train", "valid", "test")
LEVELS_P = CONFIDENCE_LEVELS  # shares of shots the margin should keep at or below their true JND1


def time_prediction(pred, shots: list[dict], n: int = 64) -> float:
    w, h = pred.input_size
    imgs = [(s["dir"], f) for s in shots for f in s["images"]]
    frames = np.stack([load_frames(d, [f], (h, w))[0] for d, f in (imgs * (n // len(imgs) + 1))[:n]])
    pred.predict(frames, frames, batch_size=32)  # warm-up: traces the batch-32 graph
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        pred.predict(frames, frames, batch_size=32)
    return 1000 * (time.perf_counter() - t0) / (reps * n)


def _lin(train_x, train_y, test_x):
    return predict_linear(fit_linear(train_x, train_y), test_x)


def baselines(train: list[dict], test: list[dict]) -> dict[str, np.ndarray]:
    lab = np.array([s["label"] for s in train])
    feats = lambda ss: np.array([[s["si"], s["ti"]] for s in ss])  # noqa: E731
    # not one of the two required baselines: SI/TI plus the frame size, the strongest cheap frame cue
    sized = lambda ss: np.c_[feats(ss), [np.log2(s["size"][0] * s["size"][1]) for s in ss]]  # noqa: E731
    out = {"mean_predictor": np.tile(lab.mean(axis=0), (len(test), 1)),
           "siti_regression": _lin(feats(train), lab, feats(test)),
           "siti_size_regression": _lin(sized(train), lab, sized(test))}
    if all("probe_vec" in s for s in train + test):
        vm = lambda ss: np.array([[s["probe"]["vmaf"]] for s in ss])  # noqa: E731
        pv = lambda ss: np.c_[np.array([s["probe_vec"] for s in ss]), sized(ss)]  # noqa: E731
        out["probe_vmaf_regression"] = _lin(vm(train), lab, vm(test))
        out["probe_siti_size_regression"] = _lin(pv(train), lab, pv(test))
    return out


def write_fold(root: Path, parts: dict[str, list[dict]]) -> None:
    """A seed-layout dataset made of hard links to the source images."""
    import csv

    for split, shots in parts.items():
        d = root / split
        (d / "prev").mkdir(parents=True)
        rows, feats = [], []
        for s in shots:
            for f in s["images"]:
                os.link(s["dir"] / f, d / f)
                os.link(s["dir"] / "prev" / f, d / "prev" / f)
                rows.append(f"{f} {' '.join(str(v) for v in s['label'])}\n")
                feats.append([f, s["si"], s["ti"], s["clip"], s["start_frame"], s["end_frame"], *s["size"],
                              s["group"]])
        (d / "JND-Levels.txt").write_text("".join(sorted(rows)))
        with open(d / "features.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["filename", "si", "ti", "clip", "start_frame", "end_frame", "width", "height", "group"])
            w.writerows(sorted(feats))


def probe_fold(train: list[dict], test: list[dict], wide_tr, wide_te, k: int, seed: int, fit_kw: dict) -> dict:
    """The probe model fitted on ``train`` as the shipped one is; its outputs on ``test``."""
    from jndenc.training.probe_fit import fit_probe_model, predict_capped

    ytr = np.array([s["label"] for s in train], float)
    groups = [s["group"] for s in train]
    fj_tr = frame_oof(wide_tr, ytr, groups, k, seed)
    heads, info = fit_probe_model(fj_tr, np.array([s["probe_vec"] for s in train]), ytr, groups,
                                  levels=LEVELS_P, k=k, seed=seed, **fit_kw)
    fj_te = frame_predict(frame_fit(wide_tr, ytr), wide_te)
    jnd, spread = predict_capped(heads, np.c_[fj_te, np.array([s["probe_vec"] for s in test])],
                                 fit_kw.get("saturated"))
    # predict mode's margin: a constant per p, the quantile of the frame model's out-of-fold over-prediction
    const = margin_table(fj_tr[:, 0] - ytr[:, 0], LEVELS_P)
    return {"jnd": jnd, "spread": spread, "z": info["margin_z"], "frame_margin": const, "frame": fj_te}


def cross_validate(args, all_shots: list[dict], fit_kw: dict):
    """(shots in evaluation order, predictions per method, labels, extras, the last fold's frame model).

    ``fit_kw``: the probe model's fit options for the probe setting (`jndenc.training.probe_fit.fit_options`)."""
    from jndenc.predictor import Predictor
    from jndenc.training.train import fit

    folds = group_folds([s["group"] for s in all_shots], args.cv, args.seed)
    has_probe = all("probe_vec" in s for s in all_shots)
    wide = wide_features(all_shots) if has_probe else None
    order, preds, extra = [], defaultdict(list), defaultdict(list)
    fold_model = None
    for k in range(args.cv):
        te = [i for i in range(len(all_shots)) if folds[i] == k]
        tr = [i for i in range(len(all_shots)) if folds[i] != k]
        va = [i for i in tr if folds[i] == (k + 1) % args.cv]
        parts = {"test": [all_shots[i] for i in te], "valid": [all_shots[i] for i in va],
                 # linear-only selects nothing on valid: it trains on every other fold
                 "train": [all_shots[i] for i in tr if args.linear_only or folds[i] != (k + 1) % args.cv]}
        with tempfile.TemporaryDirectory(prefix=f"jndenc-cv{k}-") as tmp:
            root = Path(tmp)
            write_fold(root, parts)
            ck = root / "fold.keras"
            fit("compact", root, ck, epochs=args.epochs, batch_size=args.batch_size,
                learning_rate=args.learning_rate, seed=args.seed, augment=True, early_stopping=args.early_stopping,
                linear_only=args.linear_only, verbose=0, echo=lambda m: None)
            test = [dict(s, dir=root / "test") for s in parts["test"]]
            fold_model = Predictor.load(ck, runtime="tensorflow")
            preds["model"].append(predict_shots(fold_model, test))
        train_shots = [all_shots[i] for i in tr]
        for name, p in baselines(train_shots, parts["test"]).items():
            preds[name].append(p)
        if has_probe:
            r = probe_fold(train_shots, parts["test"], [wide[i] for i in tr], [wide[i] for i in te], args.cv,
                           args.seed, fit_kw)
            preds["probe_model"].append(r["jnd"])
            extra["spread"].append(r["spread"])
            extra["z"].append(np.tile([r["z"][f"{p:g}"] for p in LEVELS_P], (len(te), 1)))
            extra["frame_margin"].append(np.tile([r["frame_margin"][f"{p:g}"] for p in LEVELS_P], (len(te), 1)))
        order += parts["test"]
        print(f"fold {k + 1}/{args.cv}: {len(parts['test'])} test shots", flush=True)
    return (order, {n: np.concatenate(v) for n, v in preds.items()}, np.array([s["label"] for s in order]),
            {n: np.concatenate(v) for n, v in extra.items()}, fold_model)


def calibration(y1: np.ndarray, pred1: np.ndarray, margin: np.ndarray) -> dict:
    """Share of shots whose true JND1 is at or above pred1 - margin, per p (margin [N, len(LEVELS_P)])."""
    return {f"{p:g}": {"target": p, "share_covered": round(float(np.mean(y1 >= pred1 - margin[:, i])), 3),
                       "mean_margin": round(float(np.mean(margin[:, i])), 2)}
            for i, p in enumerate(LEVELS_P)}


def range_stats(y1: np.ndarray, pred1: np.ndarray) -> dict:
    """Shrinkage: slope of predicted on true JND1 (1 = none) and MAE at the two ends (outer fifths of the truth)."""
    lo, hi = np.quantile(y1, [0.2, 0.8])
    slope = float(np.polyfit(y1, pred1, 1)[0]) if np.ptp(y1) > 0 else float("nan")
    err = np.abs(pred1 - y1)
    return {"slope_pred_on_true": round(slope, 3), "pred_range": [round(float(pred1.min()), 1),
                                                                  round(float(pred1.max()), 1)],
            "true_range": [float(y1.min()), float(y1.max())],
            "mae_low_fifth": round(float(err[y1 <= lo].mean()), 3), "mae_high_fifth": round(float(err[y1 >= hi].mean()), 3),
            "bias_low_fifth": round(float((pred1 - y1)[y1 <= lo].mean()), 3),
            "bias_high_fifth": round(float((pred1 - y1)[y1 >= hi].mean()), 3)}


def plot(y1: np.ndarray, preds: dict[str, np.ndarray], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ("model", "probe_model") if n in preds]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.2), squeeze=False)
    lim = (min(y1.min(), *(preds[n][:, 0].min() for n in names)) - 1,
           max(y1.max(), *(preds[n][:, 0].max() for n in names)) + 1)
    label = {"model": "predict mode (frame model)", "probe_model": "probe mode"}
    for ax, n in zip(axes[0], names):
        ax.plot(lim, lim, color="grey", lw=0.8)
        ax.scatter(y1, preds[n][:, 0], s=10, alpha=0.6)
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        ax.set_xlabel("true JND1 (CRF)")
        ax.set_ylabel("predicted JND1 (CRF)")
        ax.set_title(f"{label[n]}: MAE {np.abs(preds[n][:, 0] - y1).mean():.2f}", fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def training_clips(dataset: Path, tsv: Path) -> dict:
    """weights/training_clips.json: every parent clip's split (the build's dataset.json) and its CLIPS.tsv notes."""
    import csv

    with open(tsv, newline="") as fh:
        notes = {r["file"]: r for r in csv.DictReader(fh, delimiter="\t")}
    meta = json.loads((dataset / "dataset.json").read_text())
    clips = {}
    for c in sorted(meta["clips"], key=lambda c: (c["name"].startswith("pseudo_"), c["name"].lower())):
        if "parent" in c:
            continue  # derived copies are counted with their parent
        name = c["name"]
        if name in notes:
            src, lic = notes[name]["source_repo"], notes[name]["license_note"]
        else:
            img = name.removeprefix("pseudo_").rsplit(".", 1)[0]
            src = f"scikit-image `skimage.data.{img}` (pan/zoom pseudo-video)"
            lic = "scikit-image bundled sample image (BSD-3-Clause package)"
        clips[name] = {"split": c["split"], "source": src, "licence": lic}
    return {"about": "Training clips of the shipped models: split (dataset.json of the build, seed 0), source and "
                     "licence note (CLIPS.tsv of the clip collection). Shot counts are not here: benchmarks/tables.py "
                     "counts them from the per-shot rows of model_card_cv5.json (train and valid splits) and "
                     "model_card_test.json (test split).", "clips": clips}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    ap.add_argument("--probe-weights", type=Path, default=None, help="default: the shipped probe-mode weights")
    ap.add_argument("--probe-cache", type=Path, default=None, help="probe features (jndenc.training.probe_features)")
    ap.add_argument("--probe-setting", default=None,
                    help="probe setting as probe_features' --config takes it (default: the shipped setting)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--cv", type=int, default=0, help="k-fold cross-validation by parent clip over train+valid")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--early-stopping", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--linear-only", action="store_true", help="CV: train as `jndenc train --linear-only`")
    ap.add_argument("--out", type=Path, default=None, help="write model_card_{cvK,SPLIT}[_cnn].json here")
    ap.add_argument("--name", default=None, help="output file stem (default model_card_cvK / model_card_SPLIT)")
    ap.add_argument("--clips-tsv", type=Path, default=None,
                    help="with --out: also write training_clips.json from DATASET/dataset.json and this CLIPS.tsv")
    args = ap.parse_args(argv)

    from jndenc.predictor import Predictor

    if args.clips_tsv and args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "training_clips.json").write_text(
            json.dumps(training_clips(args.dataset, args.clips_tsv), indent=1) + "\n")

    from jndenc.training.probe_features import parse_config

    probe_opts = parse_config(args.probe_setting) if args.probe_setting else SHIPPED_PROBE
    setting = probe_opts.key()
    cache = None
    if args.probe_cache:
        from jndenc.training.probe_features import load_cache

        cache = load_cache(args.probe_cache)

    def with_probe(shots):
        if cache is None:
            return shots
        kept = attach_probe(shots, cache, setting)
        if len(kept) < len(shots):
            print(f"note: {len(shots) - len(kept)} of {len(shots)} shots have no {setting} probe; left out")
        return kept

    extra: dict[str, np.ndarray] = {}
    if args.cv:
        all_shots = with_probe([s for sp in ("train", "valid") for s in read_shots(args.dataset, sp)])
        shots, preds, labels, extra, pred = cross_validate(args, all_shots, fit_options(probe_opts))
        what = (f"{args.cv}-fold cross-validation by parent clip over the train and valid splits"
                + (" (linear-only recipe)" if args.linear_only else ""))
    else:
        pred = Predictor.load(args.weights)
        train = with_probe(read_shots(args.dataset, "train") + read_shots(args.dataset, "valid"))
        shots = with_probe(read_shots(args.dataset, args.split))
        labels = np.array([s["label"] for s in shots])
        preds = {"model": predict_shots(pred, shots), **baselines(train, shots)}
        if cache is not None:
            from jndenc.models.probe import ProbeModel, default_probe_weights

            pm = ProbeModel.load(args.probe_weights or default_probe_weights())
            jnd, spread = pm.predict(preds["model"], np.array([s["probe_vec"] for s in shots]))
            preds["probe_model"] = np.asarray(jnd, float)
            extra["spread"] = np.asarray(spread, float)
            extra["z"] = np.tile([pm.margin_z[f"{p:g}"] for p in LEVELS_P], (len(shots), 1))
            fm = (pred.metadata.get("margin_auto") or {})
            if all(f"{p:g}" in fm for p in LEVELS_P):
                extra["frame_margin"] = np.tile([fm[f"{p:g}"] for p in LEVELS_P], (len(shots), 1))
        what = f"{args.split} split (baselines fitted on train+valid)"
    ms = time_prediction(pred, shots)
    mae = {n: [round(float(v), 3) for v in np.abs(p - labels).mean(axis=0)] for n, p in preds.items()}
    # derived copies (jndenc dataset derive) share content with their parent: also score the originals alone
    orig = np.array([s["group"] == s["clip"] for s in shots])
    mae_orig = ({n: [round(float(v), 3) for v in np.abs(p - labels)[orig].mean(axis=0)] for n, p in preds.items()}
                if orig.any() else {})
    y1 = labels[:, 0]
    res = {
        "dataset": str(args.dataset), "evaluation": what, "weights": str(pred.weights_path),
        "architecture": pred.name, "params": int(pred.model.count_params()) if hasattr(pred.model, "count_params")
        else None,
        "shots": len(shots), "clips": sorted({s["clip"] for s in shots}),
        "groups": len({s["group"] for s in shots}), "mae": mae,
        "original_shots": int(orig.sum()), "mae_original_clips": mae_orig,
        "label_mean": [round(float(v), 2) for v in labels.mean(axis=0)],
        "label_std": [round(float(v), 2) for v in labels.std(axis=0)],
        "ms_per_frame": round(ms, 3),
        "range": {n: range_stats(y1, p[:, 0]) for n, p in preds.items() if n in ("model", "probe_model")},
    }
    if cache is not None:
        res["probe_setting"] = setting
        if "spread" in extra:
            res["calibration"] = {"probe_model": calibration(y1, preds["probe_model"][:, 0],
                                                             extra["z"] * extra["spread"][:, None])}
            res["spread_mean"] = round(float(extra["spread"].mean()), 3)
        if "frame_margin" in extra:
            res.setdefault("calibration", {})["model"] = calibration(y1, preds["model"][:, 0], extra["frame_margin"])
    per_shot = []
    for i, s in enumerate(shots):
        row = {"clip": s["clip"], "start_frame": s["start_frame"], "label": s["label"],
               **{n: [round(float(x), 2) for x in p[i]] for n, p in preds.items()}}
        if "spread" in extra:
            row["probe_spread"] = round(float(extra["spread"][i]), 3)
        per_shot.append(row)
    res["per_shot"] = per_shot
    print(f"{what}: {res['shots']} shots from {len(res['clips'])} clips ({res['groups']} parent clips)")
    print(f"{'method':28s} {'MAE JND1':>9s} {'MAE JND2':>9s} {'MAE JND3':>9s} {'mean':>7s}")
    for name, m in mae.items():
        print(f"{name:28s} {m[0]:9.2f} {m[1]:9.2f} {m[2]:9.2f} {np.mean(m):7.2f}")
    if 0 < orig.sum() < len(shots):
        print(f"original clips only ({int(orig.sum())} shots, derived copies left out):")
        for name, m in mae_orig.items():
            print(f"{name:28s} {m[0]:9.2f} {m[1]:9.2f} {m[2]:9.2f} {np.mean(m):7.2f}")
    for n, r in res["range"].items():
        print(f"range {n}: {r}")
    for n, c in res.get("calibration", {}).items():
        print(f"calibration {n}: " + ", ".join(f"p={k}: {v['share_covered']:.3f} (margin {v['mean_margin']})"
                                              for k, v in c.items()))
    print(f"prediction: {ms:.2f} ms/frame ({pred.name}, batch 32)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        name = args.name or (f"model_card_cv{args.cv}" if args.cv else f"model_card_{args.split}")
        (args.out / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
        plot(y1, preds, args.out / f"{name}_pred_vs_true.png", what)
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
