"""Train the probe-mode model on a dataset layout plus its probe features.

    python -m jndenc.training.probe_train DATASET --probe-cache probe_features.json --out weights/jndenc_probe.keras

The probe model is trained on the frame model's *out-of-fold* estimates of the
training shots (`jndenc.training.shots.frame_oof`: what it sees on unseen
clips, where the frame model is less accurate than on its own training shots)
plus the probe features of the same shots.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np

from ..media.probe_encode import SHIPPED_PROBE, ProbeOptions, key_quantiser
from ..models.probe import ARCHITECTURE, PROBE_FEATURES, probe_vector
from .probe_features import load_cache
from .probe_fit import fit_options, fit_probe_model, margin_table
from .shots import frame_oof, read_shots, shot_key, wide_features

SPLITS = ("train", "valid", "test")


def attach_probe(shots: Sequence[dict], cache: dict, setting: str) -> list[dict]:
    """The shots that have ``setting``'s probe scores, each with ``probe`` (scores) and ``probe_vec``."""
    out = []
    for s in shots:
        q = cache["shots"].get(shot_key(s["clip"], s["start_frame"], s["end_frame"]), {}).get(setting)
        if q is not None and np.isfinite(q.get("vmaf", np.nan)):
            q = {"crf": key_quantiser(setting), **q}
            out.append(dict(s, probe=q, probe_vec=probe_vector(q, s["size"])))
    return out


def data_digest(shots: Sequence[dict], setting: str) -> str:
    h = hashlib.sha256(setting.encode())
    for s in sorted(shots, key=lambda s: (s["clip"], s["start_frame"])):
        h.update(json.dumps([s["clip"], s["start_frame"], s["label"], [round(float(v), 4) for v in s["probe_vec"]]])
                 .encode())
    return h.hexdigest()[:16]


def write_frame_margins(frame_weights: str | Path, over: np.ndarray, shots: int) -> dict:
    """Record predict mode's margins in the frame model's sidecar (``margin_auto``), before `jndenc export` copies it.

    The frame model has no spread head, so its margin is one number per p (`margin_table` of its
    out-of-fold over-prediction).
    """
    from ..models.io import read_metadata, write_metadata

    meta = dict(read_metadata(frame_weights) or {})
    meta["margin_auto"] = margin_table(over)
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
    from ..models.probe import probe_model
    from ..runtime import sha256_file
    from .probe_fit import set_heads

    keras.utils.set_random_seed(seed)
    setting = probe_options.key()
    cache = load_cache(probe_cache)
    shots = attach_probe([s for sp in splits for s in read_shots(dataset, sp)], cache, setting)
    if len(shots) < 20:
        # the fit's inner cross-validation needs folds of several shots each: say which is missing, the features
        # or the data
        why = ("run probe_features first" if not shots else
               "the fit needs at least 20 (a larger dataset, or probe_features on more of its splits)")
        raise SystemExit(f"only {len(shots)} shots have probe features for {setting}; {why}")
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
        # every ProbeOptions field: inference rebuilds the probe from it (`ProbeOptions(**metadata["probe"])`)
        "encoder": "x264 preset medium", "probe": asdict(probe_options),
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
