"""The labelled shots of a dataset layout and the frame model's estimates of them.

A shot is one labelled shot of a `jndenc dataset build` layout (its K images
share one label). The frame model's shipped recipe (``jndenc train
--linear-only``) is a closed-form least-squares fit of its linear heads on the
``wide_features`` of the training images (SI and TI computed inside the
model, and the frame size); `frame_fit` / `frame_predict` compute exactly
that in numpy from the same features, so cross-validation can refit it per
fold in milliseconds and give every training shot an *out-of-fold* frame
estimate (`frame_oof`). The probe features (`jndenc.training.probe_features`,
which centres its probes with `centre_estimates`) and the probe model
(`jndenc.training.probe_train`) build on this module.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np

from .data import load_frames, read_split
from .probe_fit import group_folds

FRAME_RIDGE = 1e-3  # jndenc.models.compact.fit_wide_heads' default
JND1_OFFSET, JND1_SCALE = 30.0, 10.0  # compact's output mapping


def shot_key(clip: str, start: int, end: int) -> str:
    return f"{clip}|{int(start)}|{int(end)}"


def read_shots(root: str | Path, split: str) -> list[dict]:
    """One record per shot of ``split``: clip, group, split, start/end, label, si, ti, size, dir, images."""
    s = read_split(root, split)
    rows = {}
    with open(s.directory / "features.csv") as fh:
        for r in csv.DictReader(fh):
            rows[r["filename"]] = r
    shots: dict[tuple, dict] = {}
    for i, f in enumerate(s.files):
        r = rows[f]
        key = (r["clip"], int(r["start_frame"]))
        d = shots.setdefault(key, {"clip": key[0], "group": r.get("group") or key[0], "split": split,
                                   "start_frame": key[1], "end_frame": int(r.get("end_frame") or 0),
                                   "label": s.labels[i].tolist(), "si": float(r["si"]), "ti": float(r["ti"]),
                                   "size": (int(r["width"]), int(r["height"])), "dir": s.directory, "images": []})
        d["images"].append(f)
    return [shots[k] for k in sorted(shots)]


def predict_shots(pred, shots: Sequence[dict]) -> np.ndarray:
    """[S,3] a loaded `jndenc.predictor.Predictor`'s JND per shot: the median over the shot's images, as analysis
    reduces sampled frames."""
    w, h = pred.input_size
    out = []
    for s in shots:
        frames = load_frames(s["dir"], s["images"], (h, w))
        prev = load_frames(s["dir"] / "prev", s["images"], (h, w)) if pred.uses_motion else None
        out.append(np.median(pred.predict(frames, prev, source_size=s["size"]), axis=0))
    return np.sort(np.array(out).reshape(-1, 3), axis=1)


def wide_features(shots: Sequence[dict]) -> list[np.ndarray]:
    """Per shot, [K, F] ``wide_features`` (the compact model's SI, TI and geometry) of its images."""
    import keras

    from ..models.compact import COMPACT_INPUT_HW, compact
    from ..models.inputs import compact_input, geometry_input

    m = compact()
    feats = keras.Model(m.inputs, m.get_layer("wide_features").output)
    out = []
    for s in shots:
        frames = load_frames(s["dir"], s["images"], COMPACT_INPUT_HW)
        prev = load_frames(s["dir"] / "prev", s["images"], COMPACT_INPUT_HW)
        geo = np.repeat(geometry_input(*s["size"])[None, :], len(frames), axis=0)
        out.append(np.asarray(feats([compact_input(frames, prev), geo], training=False), np.float64))
    return out


def frame_fit(wide: Sequence[np.ndarray], labels: np.ndarray, ridge: float = FRAME_RIDGE) -> list[np.ndarray]:
    """The compact model's closed-form linear heads (`fit_wide_heads`) on the images of the given shots."""
    x = np.concatenate(wide)
    x = np.c_[x, np.ones(len(x))]
    y = np.concatenate([np.repeat(np.asarray(lab, float)[None, :], len(w), axis=0) for w, lab in zip(wide, labels)])
    incs = np.maximum(np.diff(y, axis=1), 0.25)
    targets = [(y[:, 0] - JND1_OFFSET) / JND1_SCALE, np.log(np.expm1(incs[:, 0])), np.log(np.expm1(incs[:, 1]))]
    reg = ridge * len(x) * np.eye(x.shape[1])
    reg[-1, -1] = 0.0
    return [np.linalg.solve(x.T @ x + reg, x.T @ t) for t in targets]


def frame_predict(coefs: list[np.ndarray], wide: Sequence[np.ndarray]) -> np.ndarray:
    """[S, 3] per-shot JND1..3: per image as the compact model computes it, median over the shot's images."""
    out = []
    for w in wide:
        x = np.c_[w, np.ones(len(w))]
        j1 = JND1_OFFSET + JND1_SCALE * (x @ coefs[0])
        j2 = j1 + np.logaddexp(0.0, x @ coefs[1])
        j3 = j2 + np.logaddexp(0.0, x @ coefs[2])
        out.append(np.median(np.stack([j1, j2, j3], axis=1), axis=0))
    return np.sort(np.array(out).reshape(-1, 3), axis=1)


def frame_oof(wide: Sequence[np.ndarray], labels: np.ndarray, groups: Sequence[str], k: int = 5,
              seed: int = 0) -> np.ndarray:
    """Out-of-fold frame-model JND per shot (group k-fold): what the frame model gives on clips it never saw."""
    folds = group_folds(groups, k, seed)
    out = np.empty((len(wide), 3))
    for f in np.unique(folds):
        tr = np.flatnonzero(folds != f)
        te = np.flatnonzero(folds == f)
        coefs = frame_fit([wide[i] for i in tr], labels[tr])
        out[te] = frame_predict(coefs, [wide[i] for i in te])
    return out


def centre_estimates(dataset: str | Path, frame_weights: str | Path, k: int = 5, seed: int = 0) -> dict[str, float]:
    """Per shot key (`shot_key`), the frame-model JND1 a centred probe of it is encoded at.

    Train and valid shots take their out-of-fold estimate (`frame_oof`, the folds `train_probe` uses):
    at inference the frame model has never seen the clip, and a probe centred by a model that had
    seen it would sit closer to the truth than any real one. Test shots take ``frame_weights``'
    estimate, exactly as inference does.
    """
    from ..predictor import Predictor

    cv = [s for sp in ("train", "valid") for s in read_shots(dataset, sp)]
    out = {}
    if cv:
        labels = np.array([s["label"] for s in cv], float)
        oof = frame_oof(wide_features(cv), labels, [s["group"] for s in cv], k, seed)
        out.update({shot_key(s["clip"], s["start_frame"], s["end_frame"]): float(e) for s, e in zip(cv, oof[:, 0])})
    test = read_shots(dataset, "test")
    if test:
        est = predict_shots(Predictor.load(frame_weights, runtime="tensorflow"), test)
        out.update({shot_key(s["clip"], s["start_frame"], s["end_frame"]): float(e) for s, e in zip(test, est[:, 0])})
    return out
