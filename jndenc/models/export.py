"""`jndenc export`: convert Keras weights to the light runtime's format (LiteRT / TFLite).

The converted ``<stem>.tflite`` is written beside the weights with a sidecar
``<stem>.tflite.json``: the Keras file's metadata, plus ``source`` (its file
name), ``source_sha256`` (its content hash; `jndenc.runtime.find_light` uses
the converted file only while it matches), ``runtime`` and the measured
``parity_max_abs`` between the two on a fixed batch. The conversion is
refused when the two disagree by more than `PARITY_TOL` CRF, so a file that
exists is one that predicts what the Keras model predicts.

The converted signature keeps the Keras input names (``frames``,
``geometry``); ``signature_outputs`` in the sidecar maps its output names to
the Keras ones (``JND1_output``...).
Custom layers (``ClassicFeatures``, ``ScaleShift``) are plain TF ops inside
and convert as they are.
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from ..errors import UserError
from ..fileio import temp_name
from ..runtime import LIGHT_SUFFIX, light_path, light_sidecar, sha256_file

PARITY_TOL = 0.01  # CRF steps: the "no change in predictions beyond 0.01 CRF"


def _probe_inputs(model, n: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """A fixed batch that exercises the model's real input range (frames in [0,1], motion in [-1,1])."""
    rng = np.random.default_rng(seed)
    out = {}
    for inp in model.inputs:
        shape = (n, *(int(d) for d in inp.shape[1:]))
        x = rng.random(shape, dtype=np.float32)
        if len(shape) == 4 and shape[-1] == 6:
            x[..., 3:] = x[..., 3:] * 2 - 1
        if len(shape) == 2:  # the geometry input: centred log2 pixel counts of QCIF..4K
            x = rng.uniform(-1.5, 1.2, shape).astype(np.float32)
        out[inp.name] = x
    return out


def convert(model) -> tuple[bytes, dict[str, str]]:
    """The TFLite flatbuffer of a Keras model (float32, no quantisation) and its output names.

    ``from_keras_model`` keeps the Keras input names in the signature but names
    the outputs ``output_0``...; the second value maps those to the Keras names,
    in the model's output order (`export`'s parity check catches any mix-up).
    A hand-traced ``tf.function`` with named outputs converted too, but to a
    flatbuffer that computed NaN (variables not captured), so it is not used.
    """
    import tensorflow as tf

    flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    return flat, {f"output_{i}": name for i, name in enumerate(model.output_names)}


def export(weights: str | os.PathLike, out: str | os.PathLike | None = None,
           architecture: str | None = None) -> Path:
    """Convert ``weights`` (a Keras file with its sidecar) and write ``out`` (default: beside it) + sidecar."""
    from ..predictor import Predictor
    from .io import read_metadata

    weights = Path(weights)
    if (architecture or (read_metadata(weights) or {}).get("architecture")) == "probe":
        # the probe-mode model takes shot features, not frames
        from .probe import fitted_features, load_keras, parity_inputs

        model = load_keras(weights)
        return write_light(weights, out, model, parity_inputs(features=fitted_features(read_metadata(weights))),
                           "probe")
    p = Predictor.load(weights, architecture, runtime="tensorflow")
    return write_light(weights, out, p.model, _probe_inputs(p.model), p.name)


def write_light(weights: Path, out: str | os.PathLike | None, model, inputs: dict[str, np.ndarray],
                name: str) -> Path:
    """Convert ``model`` (loaded from ``weights``), check it against Keras on ``inputs``, write it + sidecar."""
    from ..runtime import LiteModel
    from .io import read_metadata, write_metadata
    from .tfquiet import native_stderr_silenced

    out = Path(out) if out is not None else light_path(weights)
    if out.suffix != LIGHT_SUFFIX:
        raise UserError(f"{out}: the converted file must end in {LIGHT_SUFFIX}")
    try:
        # the converter prints the traced signature on stdout and native logs on stderr
        with native_stderr_silenced(), contextlib.redirect_stdout(io.StringIO()):
            flat, outputs = convert(model)
    except Exception as exc:  # the converter raises many types; say which model did not convert
        raise UserError(f"{weights}: {name} does not convert to {LIGHT_SUFFIX} ({type(exc).__name__}: "
                        f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); it runs on TensorFlow")
    tmp = temp_name(out, keep_suffix=True)  # renamed only once the converted model matches Keras
    try:
        tmp.write_bytes(flat)
        lite = LiteModel(tmp, {"signature_outputs": outputs})
        want = model([inputs[i.name] for i in model.inputs] if len(model.inputs) > 1
                     else inputs[model.inputs[0].name], training=False)
        want = want if isinstance(want, (list, tuple)) else [want]
        got = lite(inputs)
        diff = max(float(np.max(np.abs(np.asarray(w) - got[n]))) for n, w in zip(model.output_names, want))
        if not np.isfinite(diff) or diff > PARITY_TOL:
            raise UserError(f"{weights}: the converted model differs from Keras by {diff:.4f} (> {PARITY_TOL}); "
                            "not written")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    meta: dict[str, Any] = dict(read_metadata(weights) or {})
    meta.setdefault("architecture", name)
    meta.update({"runtime": "litert", "source": weights.name, "source_sha256": sha256_file(weights),
                 "sha256": sha256_file(out), "parity_max_abs": round(diff, 6),
                 "signature_outputs": outputs})
    side = write_metadata(out, meta)
    assert side == light_sidecar(out)
    return out
