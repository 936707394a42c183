#!/usr/bin/env python3
"""The numbers in weights/MODEL_CARD.md: per-shot MAE of a model on a dataset's held-out clips.

    python benchmarks/model_card.py DATASET_DIR --weights weights/jndenc_compact.keras [--split test] [--out DIR]

DATASET_DIR is a `jndenc dataset build` folder. For every shot of the split
(its K images share one label) the model's per-image predictions are reduced
by the median, as `jndenc predict` does over a shot's sampled frames, and
compared with the shot's label. Two baselines are fitted on the *train* split
only: (a) the mean of the training labels, (b) a least-squares regression of
each level on ITU-T P.910 SI and TI (the `features.csv` columns). It also
times prediction (ms per frame, batch 32, after a warm-up) in the same run.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from jndenc.bench.siti import fit_linear, predict_linear
from jndenc.data import load_frames, load_prev, read_split


def shots_of(split_dir: Path, files: list[str]) -> tuple[list[list[int]], np.ndarray]:
    """Group image indices by shot; per-shot (si, ti)."""
    rows = {}
    with open(split_dir / "features.csv") as fh:
        for r in csv.DictReader(fh):
            rows[r["filename"]] = r
    groups: dict[tuple, list[int]] = defaultdict(list)
    feats = {}
    for i, f in enumerate(files):
        r = rows[f]
        key = (r["clip"], int(r["start_frame"]))
        groups[key].append(i)
        feats[key] = (float(r["si"]), float(r["ti"]))
    keys = sorted(groups)
    return [groups[k] for k in keys], np.array([feats[k] for k in keys]), keys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", type=Path, default=None, help="write model_card_eval.json here")
    args = ap.parse_args(argv)

    from jndenc.predictor import Predictor

    pred = Predictor.load(args.weights)
    train, ev = read_split(args.dataset, "train"), read_split(args.dataset, args.split)
    tr_groups, tr_feats, _ = shots_of(train.directory, train.files)
    tr_labels = np.array([train.labels[g[0]] for g in tr_groups])
    ev_groups, ev_feats, ev_keys = shots_of(ev.directory, ev.files)
    ev_labels = np.array([ev.labels[g[0]] for g in ev_groups])

    w, h = pred.input_size
    frames = load_frames(ev.directory, ev.files, (h, w))
    prev = load_prev(ev, (h, w)) if pred.uses_motion else None
    pred.predict(frames[:8], None if prev is None else prev[:8])  # warm-up (graph tracing)
    t0 = time.perf_counter()
    per_image = pred.predict(frames, prev, batch_size=32)
    ms_per_frame = 1000 * (time.perf_counter() - t0) / len(frames)
    model_shot = np.sort(np.array([np.median(per_image[g], axis=0) for g in ev_groups]), axis=1)

    mean_shot = np.tile(tr_labels.mean(axis=0), (len(ev_groups), 1))
    siti_shot = predict_linear(fit_linear(tr_feats, tr_labels), ev_feats)

    def mae(p):
        return [round(float(v), 3) for v in np.abs(p - ev_labels).mean(axis=0)]

    res = {
        "dataset": str(args.dataset), "split": args.split, "weights": str(pred.weights_path),
        "architecture": pred.name, "params": int(pred.model.count_params()),
        "shots": len(ev_groups), "images": len(ev.files), "train_shots": len(tr_groups),
        "clips": sorted({k[0] for k in ev_keys}),
        "mae": {"model": mae(model_shot), "mean_predictor": mae(mean_shot), "siti_regression": mae(siti_shot)},
        "label_mean": [round(float(v), 2) for v in ev_labels.mean(axis=0)],
        "label_std": [round(float(v), 2) for v in ev_labels.std(axis=0)],
        "ms_per_frame": round(ms_per_frame, 3),
        "per_shot": [{"clip": k[0], "start_frame": k[1], "label": ev_labels[i].tolist(),
                      "model": [round(float(x), 2) for x in model_shot[i]],
                      "siti": [round(float(x), 2) for x in siti_shot[i]]} for i, k in enumerate(ev_keys)],
    }
    print(f"{args.split}: {res['shots']} shots from {len(res['clips'])} clips ({res['images']} images); "
          f"train: {res['train_shots']} shots")
    print(f"{'method':18s} {'MAE JND1':>9s} {'MAE JND2':>9s} {'MAE JND3':>9s} {'mean':>7s}")
    for name, m in res["mae"].items():
        print(f"{name:18s} {m[0]:9.2f} {m[1]:9.2f} {m[2]:9.2f} {np.mean(m):7.2f}")
    print(f"prediction: {ms_per_frame:.2f} ms/frame ({pred.name}, {res['params']} parameters)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "model_card_eval.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
