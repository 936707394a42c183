#!/usr/bin/env python3
"""Accuracy: predicted JND1..3 vs the oracle search, per shot, with two baselines.

    python benchmarks/accuracy.py ../shared/clips --out results/accuracy [--train-labels DATASET_DIR]

For each clip (first --max-frames frames, cut losslessly so prediction and
search see the same frames): shots are detected once; the oracle is
`jndenc.search` on those shots (the same code as ``--mode search`` and the
dataset labels); the model's per-shot prediction is mapped onto the same shots
(largest frame overlap). Baselines:

* mean predictor: the training labels' mean JND1..3 for every shot;
* SI/TI regression: JND_k ~ a + b*SI + c*TI (ITU-T P.910 features,
  `jndenc.training.siti`), least squares.

Both are fitted on ``--train-labels DIR`` (a `jndenc dataset build` folder:
``DIR/train/JND-Levels.txt`` + ``DIR/train/features.csv``); without it, they
are fitted leave-one-clip-out on the evaluated clips' own oracle labels.
Outputs: accuracy.csv (per shot), accuracy.json (MAE per level and method),
accuracy.md, accuracy_scatter.png. Oracle results are cached in OUT/_cache.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from jndenc.training import siti
from jndenc.bench.cache import Cache, _key, select_clips
from jndenc.media.clips import list_clips, prepare_source, sha256_file
from jndenc.bench.report import machine
from jndenc.fileio import json_safe
from jndenc.errors import JndencError


def read_train_labels(d: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 2] si/ti, labels [N, 3]) from a dataset folder's train split (one row per shot)."""
    split = d / "train" if (d / "train").is_dir() else d
    labels = {}
    for line in (split / "JND-Levels.txt").read_text().splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#") or len(parts) < 4:
            continue
        try:
            labels[parts[0]] = [float(x) for x in parts[1:4]]
        except ValueError:
            continue  # a header line
    feats, labs, seen = [], [], set()
    with open(split / "features.csv") as fh:
        for row in csv.DictReader(fh):
            name = row["filename"]
            if name not in labels:
                continue
            shot = (row.get("clip"), row.get("start_frame")) if row.get("clip") else name
            if shot in seen:  # several images per shot share one label and one feature pair
                continue
            seen.add(shot)
            feats.append([float(row["si"]), float(row["ti"])])
            labs.append(labels[name])
    if not labs:
        raise SystemExit(f"accuracy: no labelled rows in {split}")
    return np.array(feats), np.array(labs)


def map_to_shots(shots, pred_shots, pred_jnd):
    """Per target shot, the predicted JND of the predicted shot overlapping it most."""
    out = []
    for a, b in shots:
        ov = [max(0, min(b, d) - max(a, c)) for c, d in pred_shots]
        out.append(list(map(float, pred_jnd[int(np.argmax(ov))])))
    return out


def clip_record(clip: Path, cache: Cache, work: Path, a, predictor) -> dict:
    from jndenc.analyze import analyze
    from jndenc.media.probe import probe
    from jndenc.search import DEFAULT_THRESHOLDS, SearchOptions, search

    sha = sha256_file(clip)
    thresholds = tuple(a.thresholds or DEFAULT_THRESHOLDS)
    key = _key("accuracy-oracle", 1, sha, a.max_frames, a.codec, a.preset, thresholds)
    src = None
    rec = cache.get(key)
    info = None
    if rec is None or (predictor is not None and rec.get("pred") is None):
        bit_depth = probe(clip, count_frames=False).bit_depth
        src = prepare_source(clip, work / f"{clip.stem}-{sha[:12]}.mkv", a.max_frames, bit_depth)
        info = probe(src)
    if rec is None:
        t0 = time.perf_counter()
        shots = analyze(src, None, info=info).shots
        res = search(src, shots, SearchOptions(codec=a.codec, preset=a.preset, thresholds=thresholds),
                     bit_depth=info.bit_depth, fps=info.fps)
        feats = siti.shot_features(src, shots)
        rec = {"clip": clip.name, "sha256": sha, "shots": [list(s) for s in shots], "oracle": [r.jnd for r in res],
               "si_ti": [list(f) for f in feats], "search_s": round(time.perf_counter() - t0, 2), "pred": None}
        cache.put(key, rec)
    if predictor is not None and rec.get("pred") is None:
        from jndenc.pipeline import predict

        p = predict(src, predictor=predictor, info=info)
        rec["pred"] = map_to_shots(rec["shots"], p.shots, p.jnd)
        rec["model"] = p.model
        cache.put(key, rec)
    if src is not None:
        src.unlink(missing_ok=True)
    return rec


def mae(pred: np.ndarray, truth: np.ndarray) -> list[float]:
    return [float(np.mean(np.abs(pred[:, k] - truth[:, k]))) for k in range(truth.shape[1])]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", metavar="CLIP_OR_DIR")
    ap.add_argument("--out", required=True)
    ap.add_argument("--train-labels", type=Path, default=None, help="dataset folder for the baselines' training set")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--codec", choices=["x264", "x265"], default="x264")
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--thresholds", type=lambda s: tuple(float(x) for x in s.split(",")), default=None)
    ap.add_argument("--max-frames", type=int, default=60, help="first N frames per clip; 0 = all")
    ap.add_argument("--max-clips", type=int, default=6, help="evenly spread subset; 0 = all")
    a = ap.parse_args(argv)
    a.max_frames = a.max_frames or None
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    notes = []
    predictor = None
    try:
        from jndenc.pipeline import load_predictor

        predictor = load_predictor(a.weights)
    except (JndencError, OSError, ImportError, ValueError) as exc:
        notes.append(f"no JND model, model accuracy skipped ({type(exc).__name__}: {exc})")
        print(f"accuracy: note: {notes[-1]}", file=sys.stderr)
    clips = select_clips(list_clips(a.inputs), a.max_clips or None)
    cache = Cache(out / "_cache")
    recs = []
    for i, clip in enumerate(clips):
        print(f"accuracy: [{i + 1}/{len(clips)}] {clip.name}", file=sys.stderr)
        recs.append(clip_record(clip, cache, out / "_work", a, predictor))

    rows = []  # one per shot
    for r in recs:
        for j, s in enumerate(r["shots"]):
            rows.append({"clip": r["clip"], "start_frame": s[0], "end_frame": s[1], "oracle": r["oracle"][j],
                         "pred": (r["pred"][j] if r.get("pred") else None), "si": r["si_ti"][j][0],
                         "ti": r["si_ti"][j][1]})
    truth = np.array([row["oracle"] for row in rows], dtype=float)
    feats = np.array([[row["si"], row["ti"]] for row in rows], dtype=float)
    if a.train_labels:
        tf, tl = read_train_labels(a.train_labels)
        mean_pred = np.tile(tl.mean(axis=0), (len(rows), 1))
        siti_pred = siti.predict_linear(siti.fit_linear(tf, tl), feats)
        fit_on = f"{a.train_labels} (train split, {len(tl)} shots)"
    else:  # leave one clip out
        mean_pred = np.zeros_like(truth)
        siti_pred = np.zeros_like(truth)
        names = np.array([row["clip"] for row in rows])
        for c in set(names):
            tr, te = names != c, names == c
            if tr.sum() == 0:
                mean_pred[te] = siti_pred[te] = np.nan
                continue
            mean_pred[te] = truth[tr].mean(axis=0)
            siti_pred[te] = siti.predict_linear(siti.fit_linear(feats[tr], truth[tr]), feats[te]) \
                if tr.sum() >= 3 else truth[tr].mean(axis=0)
        fit_on = "leave-one-clip-out on the evaluated clips' oracle labels"
        if len(set(names)) < 2:
            notes.append("one clip only: leave-one-clip-out baselines are undefined (NaN)")
    methods = {"mean predictor": mean_pred, "SI/TI regression": siti_pred}
    if all(row["pred"] is not None for row in rows) and rows:
        methods = {"jndenc model": np.array([row["pred"] for row in rows], dtype=float), **methods}
    result = {"shots": len(rows), "clips": len(recs), "baselines_fit_on": fit_on, "label_units": "CRF",
              "mae": {}, "notes": notes}
    for name, p in methods.items():
        ok = ~np.isnan(p).any(axis=1)
        result["mae"][name] = {f"jnd{k + 1}": v for k, v in enumerate(mae(p[ok], truth[ok]))} if ok.any() else {}
        result["mae"][name]["n"] = int(ok.sum())
    with open(out / "accuracy.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        short = {"jndenc model": "model", "mean predictor": "mean", "SI/TI regression": "siti"}
        w.writerow(["clip", "start_frame", "end_frame", "si", "ti", "oracle1", "oracle2", "oracle3"]
                   + [f"{short[m]}{k}" for m in methods for k in (1, 2, 3)])
        for i, row in enumerate(rows):
            w.writerow([row["clip"], row["start_frame"], row["end_frame"], round(row["si"], 3), round(row["ti"], 3),
                        *row["oracle"], *[round(float(methods[m][i, k]), 3) for m in methods for k in range(3)]])
    from jndenc.bench.plots import scatter_plot

    pts = {f"{m}": [(float(t), float(v)) for tr, pr in zip(truth, p) for t, v in zip(tr, pr) if math.isfinite(v)]
           for m, p in methods.items()}
    scatter_plot(pts, out / "accuracy_scatter.png", f"per-shot JND1..3, {len(rows)} shots, {len(recs)} clips",
                 "oracle JND (search, CRF)", "predicted JND (CRF)")
    result["machine"] = machine()
    result["options"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "accuracy.json").write_text(json.dumps(json_safe(result), indent=1))
    lines = ["# JND prediction accuracy", "", f"{len(rows)} shots from {len(recs)} clips; oracle = search "
             f"({a.codec} {a.preset}); baselines fitted on {fit_on}. MAE in CRF steps.", "",
             "| method | MAE JND1 | MAE JND2 | MAE JND3 | shots |", "|---|---:|---:|---:|---:|"]
    for m, v in result["mae"].items():
        lines.append(f"| {m} | " + " | ".join(f"{v.get(f'jnd{k}', float('nan')):.2f}" for k in (1, 2, 3))
                     + f" | {v['n']} |")
    lines += [""] + [f"> note: {n}" for n in notes] + ["", "![scatter](accuracy_scatter.png)", ""]
    (out / "accuracy.md").write_text("\n".join(lines))
    print("\n".join(lines[4:4 + 2 + len(result["mae"])]))
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
