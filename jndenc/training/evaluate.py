"""The `test` command: predict every image of a split with trained weights and write one CSV row per image in
sorted filename order, plus per-level MAE when labels exist."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from . import data as D
from .checks import atomic_write, check_output_path, resolve_shape, weights_column
from ..models import arch_info, build_model, frames_shape
from ..models.io import check_metadata, check_weights_file, load_weights_into, read_metadata


def evaluate(model_name: str, data_dir: str | Path, weights_path: str | Path, result_path: str | Path,
             jnd_column: int | None = None, split: str = "test", *, batch_size: int = 32,
             echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Predict every image of `data_dir/split`; write `result_path` CSV and return per-level MAE.

    Columns: filename, then JND1..JND3 (or only JND{jnd_column+1} when a
    column is chosen or the model has one head). With labels, a final row
    `MAE,...` holds the per-level mean absolute error.
    """
    info = arch_info(model_name)
    weights_path, result_path = Path(weights_path), Path(result_path)
    check_output_path(result_path, "result")
    check_weights_file(weights_path)
    meta = read_metadata(weights_path) or {}
    # before the sidecar's input shape builds the model: compact weights under --model MT_3LJND read as
    # "MT_3LJND takes 3 input channels, not 6"
    check_metadata(meta, model_name, None, weights_path)
    jnd_column = weights_column(info, jnd_column, meta, weights_path)
    shape = resolve_shape(info, meta.get("input_shape"))
    model = build_model(model_name, input_shape=shape)
    load_weights_into(model, weights_path, model_name)
    sp = D.read_split(data_dir, split, require_labels=False)
    hw = frames_shape(model)[:2]
    frames = D.load_frames(sp.directory, sp.files, hw)
    prev = D.load_prev(sp, hw) if info.uses_motion else None
    geometry = D.load_geometry(sp, notice=echo) if info.uses_geometry else None
    ds = D.make_dataset(frames, prev, None, info.uses_motion, batch_size, geometry=geometry)
    outs = model.predict(ds, verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    by_name = dict(zip(model.output_names, outs))
    if info.jnd_heads == ("JND_output",):
        cols = [jnd_column]
        pred = np.asarray(by_name["JND_output"]).reshape(len(sp.files), 1)
    else:
        full = np.concatenate([np.asarray(by_name[h]).reshape(-1, 1) for h in info.jnd_heads], axis=1)
        cols = [0, 1, 2] if jnd_column is None else [jnd_column]
        pred = full[:, cols]
    names = [f"JND{c + 1}" for c in cols]
    mae = None
    with atomic_write(result_path) as f:
        w = csv.writer(f)
        w.writerow(["filename", *names])
        for name, row in zip(sp.files, pred):
            w.writerow([name, *(f"{v:.4f}" for v in row)])
        if sp.labels is not None:
            errs = np.abs(pred - sp.labels[:, cols]).mean(axis=0)
            mae = {n: float(e) for n, e in zip(names, errs)}
            w.writerow(["MAE", *(f"{e:.4f}" for e in errs)])
    if mae is not None:
        echo("MAE " + " ".join(f"{k}={v:.3f}" for k, v in mae.items()))
    return {"result_path": str(result_path), "rows": len(sp.files), "columns": names, "mae": mae,
            "predictions": pred.astype(np.float32), "files": list(sp.files)}
