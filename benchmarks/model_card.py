#!/usr/bin/env python3
"""The numbers in weights/MODEL_CARD.md: per-shot MAE on held-out clips, against two baselines.

    python benchmarks/model_card.py DATASET_DIR --weights weights/jndenc_compact.keras [--split test] [--out DIR]
    python benchmarks/model_card.py DATASET_DIR --cv 5 [--epochs 100 ...]   # k-fold by clip, retrains per fold

DATASET_DIR is a `jndenc dataset build` folder. For every shot of the split
(its K images share one label) the model's per-image predictions are reduced
by the median, as `jndenc predict` does over a shot's sampled frames, and
compared with the shot's label. Two baselines are fitted on training shots
only: (a) the mean of the training labels, (b) a least-squares regression of
each level on ITU-T P.910 SI and TI (the `features.csv` columns), and, as a
stronger reference that is not one of the required two, (c) the same with the
log2 pixel count of the source added. Shots of derived copies (`jndenc
dataset derive`) are scored with the rest and, separately, left out. With
``--cv K`` every clip is held out once: the clips (grouped with their derived copies) are dealt into K folds
(seeded), and for each fold a model is trained on the others (the next fold
is its validation set for early stopping) with the same recipe as the shipped
weights, so the estimate covers all labelled clips instead of one small split.
Prediction cost (ms per frame, batch 32, after warm-up) is timed in the same run.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from jndenc.training.siti import fit_linear, predict_linear
from jndenc.training.data import load_frames, read_split

SPLITS = ("train", "valid", "test")


def read_shots(root: Path, split: str) -> list[dict]:
    """One record per shot: clip, start, label, si, ti, size, and its images (split-relative)."""
    s = read_split(root, split)
    rows = {}
    with open(s.directory / "features.csv") as fh:
        for r in csv.DictReader(fh):
            rows[r["filename"]] = r
    shots: dict[tuple, dict] = {}
    for i, f in enumerate(s.files):
        r = rows[f]
        key = (r["clip"], int(r["start_frame"]))
        d = shots.setdefault(key, {"clip": key[0], "group": r.get("group") or key[0], "start_frame": key[1],
                                   "label": s.labels[i].tolist(),
                                   "si": float(r["si"]), "ti": float(r["ti"]),
                                   "size": (int(r["width"]), int(r["height"])), "dir": s.directory, "images": []})
        d["images"].append(f)
    return [shots[k] for k in sorted(shots)]


def predict_shots(pred, shots: list[dict]) -> np.ndarray:
    w, h = pred.input_size
    out = []
    for s in shots:
        frames = load_frames(s["dir"], s["images"], (h, w))
        prev = load_frames(s["dir"] / "prev", s["images"], (h, w)) if pred.uses_motion else None
        out.append(np.median(pred.predict(frames, prev, source_size=s["size"]), axis=0))
    return np.sort(np.array(out), axis=1)


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


def baselines(train: list[dict], test: list[dict]) -> dict[str, np.ndarray]:
    lab = np.array([s["label"] for s in train])
    feats = lambda ss: np.array([[s["si"], s["ti"]] for s in ss])
    # not one of the two required baselines: SI/TI plus the frame size, the strongest cheap cue we
    # found, so that the card shows how much the CNN adds beyond it
    sized = lambda ss: np.c_[feats(ss), [np.log2(s["size"][0] * s["size"][1]) for s in ss]]
    return {"mean_predictor": np.tile(lab.mean(axis=0), (len(test), 1)),
            "siti_regression": predict_linear(fit_linear(feats(train), lab), feats(test)),
            "siti_size_regression": predict_linear(fit_linear(sized(train), lab), sized(test))}


def write_fold(root: Path, parts: dict[str, list[dict]]) -> None:
    """A seed-layout dataset made of hard links to the source images."""
    for split, shots in parts.items():
        d = root / split
        (d / "prev").mkdir(parents=True)
        rows, feats = [], []
        for s in shots:
            for f in s["images"]:
                os.link(s["dir"] / f, d / f)
                os.link(s["dir"] / "prev" / f, d / "prev" / f)
                rows.append(f"{f} {' '.join(str(v) for v in s['label'])}\n")
                feats.append([f, s["si"], s["ti"], s["clip"], s["start_frame"], 0, *s["size"], s["group"]])
        (d / "JND-Levels.txt").write_text("".join(sorted(rows)))
        with open(d / "features.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["filename", "si", "ti", "clip", "start_frame", "end_frame", "width", "height", "group"])
            w.writerows(sorted(feats))


def cross_validate(args, all_shots: list[dict]):
    """Returns (shots in evaluation order, predictions per method, labels, the last fold's model)."""
    from jndenc.predictor import Predictor
    from jndenc.training.train import fit

    groups = sorted({s["group"] for s in all_shots})  # a clip and its derived copies
    random.Random(args.seed).shuffle(groups)
    fold_of = {g: i % args.cv for i, g in enumerate(groups)}
    order, preds = [], defaultdict(list)
    for k in range(args.cv):
        parts = {"test": [s for s in all_shots if fold_of[s["group"]] == k],
                 "valid": [s for s in all_shots if fold_of[s["group"]] == (k + 1) % args.cv]}
        parts["train"] = [s for s in all_shots if fold_of[s["group"]] not in (k, (k + 1) % args.cv)]
        with tempfile.TemporaryDirectory(prefix=f"jndenc-cv{k}-") as tmp:
            root = Path(tmp)
            write_fold(root, parts)
            ck = root / "fold.keras"
            fit("compact", root, ck, epochs=args.epochs, batch_size=args.batch_size,
                learning_rate=args.learning_rate, seed=args.seed, augment=True, early_stopping=args.early_stopping,
                linear_only=args.linear_only, verbose=0, echo=lambda m: None)
            test = [dict(s, dir=root / "test") for s in parts["test"]]
            fold_model = Predictor.load(ck)
            preds["model"].append(predict_shots(fold_model, test))
        for name, p in baselines(parts["train"] + parts["valid"], parts["test"]).items():
            preds[name].append(p)
        order += parts["test"]
        print(f"fold {k + 1}/{args.cv}: {len(parts['test'])} test shots", flush=True)
    return (order, {n: np.concatenate(v) for n, v in preds.items()}, np.array([s["label"] for s in order]),
            fold_model)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    ap.add_argument("--split", default="test")
    ap.add_argument("--cv", type=int, default=0, help="k-fold cross-validation by clip (retrains k models)")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--early-stopping", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--linear-only", action="store_true", help="CV: train as `jndenc train --linear-only`")
    ap.add_argument("--out", type=Path, default=None, help="write model_card_eval.json here")
    args = ap.parse_args(argv)

    from jndenc.predictor import Predictor

    if args.cv:
        all_shots = [s for sp in SPLITS for s in read_shots(args.dataset, sp)]
        shots, preds, labels, pred = cross_validate(args, all_shots)
        what = f"{args.cv}-fold cross-validation by clip" + (" (linear-only recipe)" if args.linear_only else "")
    else:
        pred = Predictor.load(args.weights)
        train = read_shots(args.dataset, "train") + read_shots(args.dataset, "valid")
        shots = read_shots(args.dataset, args.split)
        labels = np.array([s["label"] for s in shots])
        preds = {"model": predict_shots(pred, shots), **baselines(train, shots)}
        what = f"{args.split} split (baselines fitted on train+valid)"
    ms = time_prediction(pred, shots)
    mae = {n: [round(float(v), 3) for v in np.abs(p - labels).mean(axis=0)] for n, p in preds.items()}
    # derived copies (jndenc dataset derive) share content with their parent: also score the originals alone
    orig = np.array([s["group"] == s["clip"] for s in shots])
    mae_orig = ({n: [round(float(v), 3) for v in np.abs(p - labels)[orig].mean(axis=0)] for n, p in preds.items()}
                if orig.any() else {})
    res = {
        "dataset": str(args.dataset), "evaluation": what, "weights": str(pred.weights_path),
        "architecture": pred.name, "params": int(pred.model.count_params()),
        "shots": len(shots), "clips": sorted({s["clip"] for s in shots}), "mae": mae,
        "original_shots": int(orig.sum()), "mae_original_clips": mae_orig,
        "label_mean": [round(float(v), 2) for v in labels.mean(axis=0)],
        "label_std": [round(float(v), 2) for v in labels.std(axis=0)],
        "ms_per_frame": round(ms, 3),
        "per_shot": [{"clip": s["clip"], "start_frame": s["start_frame"], "label": s["label"],
                      **{n: [round(float(x), 2) for x in p[i]] for n, p in preds.items()}} for i, s in enumerate(shots)],
    }
    print(f"{what}: {res['shots']} shots from {len(res['clips'])} clips")
    print(f"{'method':20s} {'MAE JND1':>9s} {'MAE JND2':>9s} {'MAE JND3':>9s} {'mean':>7s}")
    for name, m in mae.items():
        print(f"{name:20s} {m[0]:9.2f} {m[1]:9.2f} {m[2]:9.2f} {np.mean(m):7.2f}")
    if 0 < orig.sum() < len(shots):
        print(f"original clips only ({int(orig.sum())} shots, derived copies left out):")
        for name, m in mae_orig.items():
            print(f"{name:20s} {m[0]:9.2f} {m[1]:9.2f} {m[2]:9.2f} {np.mean(m):7.2f}")
    print(f"prediction: {ms:.2f} ms/frame ({pred.name}, {res['params']} parameters, batch 32)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        name = f"model_card_cv{args.cv}.json" if args.cv else f"model_card_{args.split}.json"
        (args.out / name).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
