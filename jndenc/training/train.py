"""Train and evaluate MTJND-family models on a seed-layout dataset.

`fit` reproduces the paper's recipe by default (MAE per JND head, loss
weights 1:1:1, Adam 1e-5, batch 8, 500 epochs, keep the best `val_loss`
weights, CSV log with ';'); `evaluate` (`jndenc.training.evaluate`, the `test`
command) writes one CSV row of predictions per image.
"""
from __future__ import annotations

import csv
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from . import data as D
from .checks import atomic_write, check_checkpoint_suffix, check_column, check_output_path, resolve_shape, weights_column
from ..errors import UserError
from ..fileio import json_safe
from ..models import ArchInfo, arch_info, build_model, frames_shape
from ..models.attention import VA_OUTPUT
from ..models.io import check_metadata, check_weights_file, load_weights_into, model_metadata, read_metadata, save_model

VA_LOSS = "binary_crossentropy"


def _versions() -> dict[str, str]:
    import cv2
    import keras
    import tensorflow as tf

    try:
        from importlib.metadata import version

        jv = version("jndenc")
    except Exception:  # not pip-installed (running from a checkout)
        jv = "unknown"
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "opencv": cv2.__version__, "jndenc": jv}


def _va_hw(model) -> tuple[int, int] | None:
    try:
        shape = model.get_layer(VA_OUTPUT).output.shape
    except ValueError:
        return None
    return int(shape[1]), int(shape[2])


def _load_split_arrays(split: D.Split, info: ArchInfo, model, echo: Callable[[str], None]):
    hw = frames_shape(model)[:2]
    frames = D.load_frames(split.directory, split.files, hw)
    prev = D.load_prev(split, hw) if info.uses_motion else None
    va, pseudo = None, False
    va_hw = _va_hw(model) if info.has_va else None
    if va_hw is not None:
        va, pseudo = D.load_va(split, va_hw, frames, notice=echo)
    geometry = D.load_geometry(split, notice=echo) if info.uses_geometry else None
    return frames, prev, va, pseudo, geometry


def _has_layer(model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def _fit_wide(model, frames, prev, geometry, labels, info: ArchInfo) -> dict:
    """Closed-form fit of a wide-and-deep model's linear heads on the training images (no augmentation)."""
    import keras

    from ..models.compact import fit_wide_heads

    feats_model = keras.Model(model.inputs, model.get_layer("wide_features").output)
    ds = D.make_dataset(frames, prev, None, info.uses_motion, 64, geometry=geometry)
    feats = np.asarray(feats_model.predict(ds, verbose=0))
    return fit_wide_heads(model, feats, labels)


class BestCheckpoint:
    """Keras callback saving weights + sidecar metadata when `val_loss` improves.

    Our own callback (not ModelCheckpoint) so that `.h5` checkpoints are
    legacy by-name files like the authors', and every save carries metadata.
    """

    def __new__(cls, *args, **kwargs):
        import keras

        class _Cb(keras.callbacks.Callback):
            def __init__(self, path: Path, metadata: dict[str, Any], best: float = math.inf, monitor: str = "val_loss"):
                super().__init__()
                self.path, self.metadata, self.best, self.monitor = path, metadata, best, monitor
                self.saved_epoch: int | None = None

            def on_epoch_end(self, epoch, logs=None):
                value = (logs or {}).get(self.monitor)
                if value is None or not math.isfinite(float(value)) or float(value) >= self.best:
                    return
                self.best = float(value)
                self.saved_epoch = epoch
                meta = dict(self.metadata, epoch=int(epoch), best_val_loss=self.best)
                save_model(self.model, self.path, meta)

        return _Cb(*args, **kwargs)


def _csv_state(csv_log_path: Path | None) -> tuple[int, float]:
    """(epochs already logged, best val_loss logged) of an existing CSV log."""
    if csv_log_path is None or not csv_log_path.is_file():
        return 0, math.inf
    with open(csv_log_path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    epochs = [int(r["epoch"]) for r in rows if r.get("epoch", "").strip().isdigit()]
    vals = [float(r["val_loss"]) for r in rows if r.get("val_loss") not in (None, "")]
    return (max(epochs) + 1 if epochs else 0), (min(vals) if vals else math.inf)


def _label_recipe(data_dir: Path) -> dict[str, Any]:
    """What the labels mean, from the `jndenc dataset build` record when the data came from it."""
    try:
        ds = json.loads((data_dir / "dataset.json").read_text())
    except (OSError, ValueError):
        return {"label_units": "QP", "labels": "external (seed layout, e.g. VideoSet H.264 QP)"}
    s = ds.get("options", {}).get("search", {})
    return {
        "label_units": ds.get("label_units", "CRF"),
        "labels": "proxy JND: largest CRF with pooled metric >= threshold (jndenc dataset build)",
        "encoder": f"{s.get('codec', 'x264')} preset {s.get('preset', 'medium')}",
        "metric": s.get("metric"),
        "pool": s.get("pool"),
        "thresholds": s.get("thresholds"),
        "training_clips": [c["name"] for c in ds.get("clips", []) if c.get("split") == "train"],
    }


def fit(model_name: str, data_dir: str | Path, checkpoint_path: str | Path, csv_log_path: str | Path | None = None,
        epochs: int = 500, batch_size: int = 8, learning_rate: float = 1e-5, jnd_column: int | None = None,
        seed: int | None = None, resume: bool = False, early_stopping: int | None = None,
        input_shape: tuple[int, ...] | None = None, augment: bool = False, metadata: dict[str, Any] | None = None,
        *, backbone_weights: str | None = None, linear_only: bool = False, verbose: int = 2,
        echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Train `model_name` on `data_dir/{train,valid}`; returns history, best val_loss and paths.

    For wide-and-deep models (`compact`) the linear heads are first fitted in
    closed form; ``linear_only`` stops there (no gradient epochs), which is
    what the shipped weights use: in cross-validation the CNN correction made
    held-out error worse (see weights/MODEL_CARD.md).

    The best-`val_loss` weights go to `checkpoint_path` (`.h5` legacy by-name,
    `.keras`, or `.weights.h5`) with a sidecar `<checkpoint>.json`; `<checkpoint>.run.json`
    beside it records the command, versions, data digest and final metrics.
    """
    import keras

    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise UserError("epochs and batch size must be >= 1 and the learning rate > 0")
    if backbone_weights is not None and model_name == "compact":
        raise UserError("--backbone-weights applies to the VGG16 models only")
    info = arch_info(model_name)
    check_column(info, jnd_column)  # a bad column is refused first; a resumed run's comes from its checkpoint
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    checkpoint_path = Path(checkpoint_path)
    csv_path = Path(csv_log_path) if csv_log_path else None
    _check_outputs(checkpoint_path, csv_path)
    if resume:  # a checkpoint that cannot resume is refused before the data is read
        input_shape, jnd_column = _resumable(checkpoint_path, model_name, info, input_shape, jnd_column)
    else:
        jnd_column = check_column(info, jnd_column)
    train_split = D.read_split(data_dir, "train")
    valid_split = D.read_split(data_dir, "valid")
    digest = D.data_digest([train_split, valid_split])

    extra = {"backbone_weights": backbone_weights} if backbone_weights is not None else {}
    model = build_model(model_name, input_shape=resolve_shape(info, input_shape), **extra)
    train, valid = (_Split(split, info, model, echo) for split in (train_split, valid_split))
    tr_ds = train.dataset(info, jnd_column, batch_size, shuffle=True, augment=augment, seed=seed)
    va_ds = valid.dataset(info, jnd_column, batch_size)
    linear_start = _linear_part(model, info, train, resume=resume, linear_only=linear_only)
    _compile(model, info, learning_rate)
    initial_epoch, best = _resumed(model, model_name, checkpoint_path, csv_path, echo) if resume else (0, math.inf)

    meta = model_metadata(model, model_name, data_digest=digest, jnd_column=jnd_column,
                          va_pseudo_labels=train.pseudo if info.has_va else None, seed=seed)
    meta.update(_label_recipe(Path(data_dir)))
    meta.update(metadata or {})
    ckpt = BestCheckpoint(checkpoint_path, meta, best)
    t0 = time.perf_counter()
    if linear_start is not None:
        _score_linear_start(model, ckpt, va_ds, linear_start, echo)
    history: dict[str, list[float]] = {}
    if linear_only:
        # no epoch runs, so the CSV logger never writes: say so rather than leave a named log missing (or stale)
        unlogged = f"; no epochs, so no CSV log ({csv_path})" if csv_path is not None else ""
        echo(f"--linear-only: no CNN training; the checkpoint is the linear start{unlogged}")
    elif initial_epoch < epochs:
        hist = model.fit(tr_ds, validation_data=va_ds, epochs=epochs, initial_epoch=initial_epoch,
                         callbacks=_callbacks(ckpt, csv_path, resume, early_stopping), verbose=verbose,
                         shuffle=False)
        history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    else:
        echo(f"nothing to do: {initial_epoch} of {epochs} epochs already run")
    result = {
        "model": model_name,
        "checkpoint": str(checkpoint_path),
        "best_val_loss": ckpt.best if math.isfinite(ckpt.best) else None,
        "best_epoch": ckpt.saved_epoch,
        "epochs_run": len(history.get("loss", [])),
        "history": history,
        "final_metrics": {k: v[-1] for k, v in history.items() if v},
        "data_digest": digest,
        "params": int(model.count_params()),
        "va_pseudo_labels": train.pseudo if info.has_va else None,
        "train_seconds": round(time.perf_counter() - t0, 2),
        "linear_start": linear_start,
    }
    arguments = {"model_name": model_name, "data_dir": str(data_dir), "checkpoint_path": str(checkpoint_path),
                 "csv_log_path": str(csv_path) if csv_path else None, "epochs": epochs, "batch_size": batch_size,
                 "learning_rate": learning_rate, "jnd_column": jnd_column, "seed": seed, "resume": resume,
                 "early_stopping": early_stopping, "input_shape": list(frames_shape(model)), "augment": augment,
                 "backbone_weights": backbone_weights, "linear_only": linear_only}
    result["run_json"] = str(_write_run(checkpoint_path, arguments, result))
    return result


def _check_outputs(checkpoint_path: Path, csv_path: Path | None) -> None:
    """Where the run writes, checked before the data is read (a bad path used to fail at the first save)."""
    check_checkpoint_suffix(checkpoint_path)
    check_output_path(checkpoint_path, "checkpoint")
    if csv_path is not None:
        check_output_path(csv_path, "CSV log")


def _resumable(checkpoint_path: Path, model_name: str, info, input_shape, jnd_column: int | None):
    """The input shape and JND column a resumed run trains at, once its checkpoint is known to resume this model."""
    if not checkpoint_path.is_file():
        raise UserError(f"--resume: no checkpoint at {checkpoint_path}")
    check_weights_file(checkpoint_path)
    ck_meta = read_metadata(checkpoint_path) or {}
    if input_shape is None:
        # as `test` does: a run trained at --input-size 36x64 was refused on --resume without the same flag
        input_shape = ck_meta.get("input_shape")
    check_metadata(ck_meta, model_name, input_shape and resolve_shape(info, input_shape), checkpoint_path)
    return input_shape, weights_column(info, jnd_column, ck_meta, checkpoint_path)


class _Split:
    """One split's arrays, loaded once: the datasets and the closed-form linear fit read them."""

    def __init__(self, split, info, model, echo: Callable[[str], None]) -> None:
        self.split = split
        self.frames, self.prev, self.va, self.pseudo, self.geo = _load_split_arrays(split, info, model, echo)

    def dataset(self, info, jnd_column: int | None, batch_size: int, *, shuffle: bool = False,
                augment: bool = False, seed: int | None = None):
        targets = D.targets_for(self.split.labels, info.jnd_heads, jnd_column, self.va)
        return D.make_dataset(self.frames, self.prev, targets, info.uses_motion, batch_size, shuffle=shuffle,
                              augment=augment, seed=seed, geometry=self.geo)


def _linear_part(model, info, train: _Split, *, resume: bool, linear_only: bool) -> dict | None:
    """A wide-and-deep model's linear heads: fitted in closed form on a fresh model (the fit's report), kept fixed
    on a resumed one (its checkpoint holds the fit); None without a linear part."""
    wide = _has_layer(model, "wide_features")
    if linear_only and (resume or not wide):
        raise UserError("--linear-only applies to a fresh compact model (one with a closed-form linear part)")
    if wide and not resume:
        return _fit_wide(model, train.frames, train.prev, train.geo, train.split.labels, info)
    if wide:
        from ..models.compact import freeze_wide_heads

        freeze_wide_heads(model)
    return None


def _compile(model, info, learning_rate: float) -> None:
    import keras

    losses = {h: "mae" for h in info.jnd_heads}
    if info.has_va:
        losses[VA_OUTPUT] = VA_LOSS
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=losses,
                  loss_weights={k: 1.0 for k in losses})


def _resumed(model, model_name: str, checkpoint_path: Path, csv_path: Path | None,
             echo: Callable[[str], None]) -> tuple[int, float]:
    """``--resume``: the checkpoint's weights loaded into ``model`` (and its optimizer's state: Adam's moments and
    step count go on from where the checkpoint's run left them); the epoch to go on from and the best val_loss."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # Keras loads a saved optimizer's variables only into one built alike; unbuilt, it skipped them with a
        # warning and Adam started again from zero
        optimizer.build(model.trainable_variables)
    meta = load_weights_into(model, checkpoint_path, model_name) or {}
    initial_epoch, best = _csv_state(csv_path)
    if not initial_epoch and "epoch" in meta:
        initial_epoch = int(meta["epoch"]) + 1
    best = min(best, float(meta.get("best_val_loss", math.inf)))
    echo(f"resuming {model_name} from {checkpoint_path} at epoch {initial_epoch}")
    return initial_epoch, best


def _score_linear_start(model, ckpt: BestCheckpoint, va_ds, linear_start: dict,
                        echo: Callable[[str], None]) -> None:
    # the linear start is a candidate too: the CNN correction is kept only if it beats it on valid
    start = model.evaluate(va_ds, verbose=0, return_dict=True)
    linear_start["val_loss"] = round(float(start["loss"]), 4)
    ckpt.set_model(model)
    ckpt.on_epoch_end(-1, {"val_loss": start["loss"]})
    echo(f"linear start (closed form): train MAE {linear_start['train_mae']}, val_loss {start['loss']:.4f}")


def _callbacks(ckpt: BestCheckpoint, csv_path: Path | None, resume: bool, early_stopping: int | None) -> list:
    import keras

    callbacks = [ckpt]
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(csv_path), separator=";", append=resume))
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(early_stopping)))
    return callbacks


def _write_run(checkpoint_path: Path, arguments: dict, result: dict) -> Path:
    """``<checkpoint>.run.json`` beside the checkpoint: the command, its arguments, versions and the result but its
    history (named for the checkpoint: two runs in one folder each keep their own)."""
    run = {"command": list(sys.argv), "arguments": arguments, "versions": _versions(),
           **{k: v for k, v in result.items() if k != "history"}}
    run_path = checkpoint_path.with_name(checkpoint_path.name + ".run.json")
    with atomic_write(run_path) as f:  # strict JSON: a NaN loss is null, not the bare NaN parsers refuse
        f.write(json.dumps(json_safe(run), indent=2, default=str, allow_nan=False) + "\n")
    return run_path

