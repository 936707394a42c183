"""Train the probe-mode model on a dataset layout plus its probe features; shared shot-table helpers.

    python -m jndenc.training.probe_train DATASET --probe-cache probe_features.json --out weights/jndenc_probe.keras

A shot is one labelled shot of a `jndenc dataset build` layout (its K images
share one label). The frame model's shipped recipe (``jndenc train
--linear-only``) is a closed-form least-squares fit of its linear heads on the
``wide_features`` of the training images (SI and TI computed inside the
model, and the frame size); `frame_fit` / `frame_predict` compute exactly
that in numpy from the same features, so cross-validation can refit it per
fold in milliseconds and give every training shot an *out-of-fold* frame
estimate. The probe model is trained on those out-of-fold estimates (what it
sees on unseen clips, where the frame model is less accurate than on its own
training shots) plus the probe features of the same shots.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from ..media.probe_encode import SHIPPED_PROBE, ProbeOptions, key_quantiser
from ..models.probe import (ARCHITECTURE, CONFIDENCE_LEVELS, PROBE_FEATURES, fit_probe_model,  # noqa: F401
                            fit_options, group_folds, probe_vector)  # group_folds: imported from here by benchmarks
from .data import load_frames, read_split
from .probe_features import load_cache, shot_key

SPLITS = ("train", "valid", "test")
FRAME_RIDGE = 1e-3  # jndenc.models.compact.fit_wide_heads' default
JND1_OFFSET, JND1_SCALE = 30.0, 10.0  # compact's output mapping


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


def attach_probe(shots: Sequence[dict], cache: dict, setting: str) -> list[dict]:
    """The shots that have ``setting``'s probe scores, each with ``probe`` (scores) and ``probe_vec``."""
    out = []
    for s in shots:
        q = cache["shots"].get(shot_key(s["clip"], s["start_frame"], s["end_frame"]), {}).get(setting)
        if q is not None and np.isfinite(q.get("vmaf", np.nan)):
            q = {"crf": key_quantiser(setting), **q}
            out.append(dict(s, probe=q, probe_vec=probe_vector(q, s["size"])))
    return out


def wide_features(shots: Sequence[dict], batch: int = 64) -> list[np.ndarray]:
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


def data_digest(shots: Sequence[dict], setting: str) -> str:
    h = hashlib.sha256(setting.encode())
    for s in sorted(shots, key=lambda s: (s["clip"], s["start_frame"])):
        h.update(json.dumps([s["clip"], s["start_frame"], s["label"], [round(float(v), 4) for v in s["probe_vec"]]])
                 .encode())
    return h.hexdigest()[:16]


def frame_margins(over: np.ndarray, levels: Sequence[float] = CONFIDENCE_LEVELS) -> dict[str, float]:
    """Predict mode's margin per share p: the p-quantile of the frame model's out-of-fold over-prediction.

    The frame model has no spread head, so its margin is one number per p: subtracting it from the
    predicted JND1 kept a share p of unseen shots at or below their true JND1 in cross-validation.
    """
    return {f"{p:g}": round(float(max(0.0, np.quantile(over, p, method="higher"))), 3) for p in levels}


def write_frame_margins(frame_weights: str | Path, over: np.ndarray, shots: int) -> dict:
    """Record `frame_margins` in the frame model's sidecar (``margin_auto``), before `jndenc export` copies it."""
    from ..models.io import read_metadata, write_metadata

    meta = dict(read_metadata(frame_weights) or {})
    meta["margin_auto"] = frame_margins(over)
    meta["margin_auto_source"] = (f"quantiles of out-of-fold (group 5-fold) JND1 over-prediction of the linear "
                                  f"recipe on {shots} train+valid shots (jndenc.training.probe_train)")
    write_metadata(frame_weights, meta)
    return meta["margin_auto"]


def train_probe(dataset: str | Path, probe_cache: str | Path, out: str | Path, *,
                probe_options: ProbeOptions = SHIPPED_PROBE, splits: Sequence[str] = ("train", "valid"),
                k: int = 5, seed: int = 0, frame_weights: str | Path | None = None, echo=print) -> dict:
    """Fit the probe model on ``splits`` of ``dataset`` and save it (Keras + sidecar) to ``out``."""
    import keras

    from ..models.io import save_model
    from ..models.probe import probe_model, set_heads
    from ..runtime import sha256_file

    keras.utils.set_random_seed(seed)
    setting = probe_options.key()
    cache = load_cache(probe_cache)
    shots = attach_probe([s for sp in splits for s in read_shots(dataset, sp)], cache, setting)
    if len(shots) < 20:
        raise SystemExit(f"only {len(shots)} shots have probe features for {setting}; run probe_features first")
    labels = np.array([s["label"] for s in shots], float)
    groups = [s["group"] for s in shots]
    wide = wide_features(shots)
    fj = frame_oof(wide, labels, groups, k, seed)
    pv = np.array([s["probe_vec"] for s in shots])
    heads, info = fit_probe_model(fj, pv, labels, groups, k=k, seed=seed, **fit_options(probe_options))
    model = probe_model(len(PROBE_FEATURES))
    set_heads(model, heads)
    meta = {
        "format_version": 1, "architecture": ARCHITECTURE, "inputs": {"frame_jnd": 3, "probe_features": len(pv[0])},
        "probe_features": list(PROBE_FEATURES), "outputs": list(model.output_names), "label_units": "CRF",
        "labels": "proxy JND: largest CRF with pooled metric >= threshold (jndenc dataset build)",
        "encoder": "x264 preset medium", "probe": {"codec": probe_options.codec, "preset": probe_options.preset,
                                                    "crf": probe_options.crf, "rate_control": probe_options.rate_control,
                                                    "subsample": probe_options.subsample,
                                                    "window_seconds": probe_options.window_seconds,
                                                    "centred": probe_options.centred},
        "frame_inputs": "out-of-fold (group k-fold) compact linear-only estimates in training; "
                        "the shipped frame model's estimates at inference",
        "params": int(model.count_params()), "seed": seed, "folds": k, "splits": list(splits),
        "train_shots": len(shots), "train_groups": len(set(groups)), "data_digest": data_digest(shots, setting),
        "command": list(sys.argv), **info,
    }
    if frame_weights:
        meta["frame_model_sha256"] = sha256_file(frame_weights)
        write_frame_margins(frame_weights, fj[:, 0] - labels[:, 0], len(shots))
    save_model(model, out, meta)
    echo(f"probe model: {len(shots)} shots, inner-CV JND1 MAE {info['inner_cv_mae_jnd1']}, margin z {info['margin_z']}")
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--probe-cache", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--setting", default=None,
                    help="probe setting as probe_features' --config takes it (default: the shipped setting)")
    ap.add_argument("--frame-weights", type=Path, default=None, help="recorded (SHA-256) as the frame model it pairs with")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from .probe_features import parse_config

    opts = parse_config(args.setting) if args.setting else SHIPPED_PROBE
    train_probe(args.dataset, args.probe_cache, args.out, probe_options=opts, seed=args.seed,
                frame_weights=args.frame_weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
