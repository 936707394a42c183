"""The light inference runtime: shipped models run through LiteRT (TFLite), not TensorFlow.

Importing TensorFlow and rebuilding a Keras model costs ~4 s and ~500 MB
before the first frame is predicted; the LiteRT interpreter
(``ai-edge-litert``) imports in ~0.05 s and runs the compact model at
~1.6 ms/frame (batch 4-8, one core, XNNPACK) against ~2-5 ms in TensorFlow.
Keras stays the format for building, training and testing models;
`jndenc export` (`jndenc.models.export`) converts a ``.keras`` file to a
``.tflite`` file beside it, and this module finds and loads that file:

- ``<stem>.tflite`` beside ``<stem>.keras`` (or ``.h5``), with a sidecar
  ``<stem>.tflite.json`` carrying the same metadata plus ``source_sha256``, the
  SHA-256 of the Keras file it was converted from;
- it is used only when that hash matches the Keras file as it is now, so
  retrained weights never run with a stale conversion.

This module never imports TensorFlow or Keras.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .media.clips import sha256_file

LIGHT_SUFFIX = ".tflite"
RUNTIME_ENV = "JNDENC_RUNTIME"  # "tensorflow" forces the Keras path (debugging, parity checks)
_KERAS_SUFFIXES = (".weights.h5", ".keras", ".hdf5", ".h5")
BATCH = 8  # measured: 1.6 ms/frame at batch 4-8 vs 2.1 at 32 (one core; the activations stay in cache)


def light_path(weights: str | os.PathLike) -> Path:
    """Where the converted file of ``weights`` lives: ``a/b.keras`` -> ``a/b.tflite``."""
    p = Path(weights)
    name = p.name
    for suf in _KERAS_SUFFIXES:
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
            break
    return p.with_name(name + LIGHT_SUFFIX)


def light_sidecar(light: str | os.PathLike) -> Path:
    p = Path(light)
    return p.with_name(p.name + ".json")


def read_light_metadata(light: str | os.PathLike) -> dict[str, Any] | None:
    side = light_sidecar(light)
    try:
        data = json.loads(side.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_light(weights: str | os.PathLike) -> tuple[Path | None, str]:
    """(converted file, "") when one matching ``weights`` exists, else (None, why not)."""
    light = light_path(weights)
    if not light.is_file():
        return None, f"no converted model {light.name} beside it"
    if not os.access(light, os.R_OK):  # the interpreter said only "model allocation is null"
        return None, f"{light.name} beside it cannot be read"
    meta = read_light_metadata(light)
    if meta is None:
        return None, f"{light.name} has no readable metadata ({light_sidecar(light).name})"
    if meta.get("source_sha256") != sha256_file(weights):
        return None, f"{light.name} was converted from other weights (hash mismatch; rerun jndenc export)"
    return light, ""


def available() -> tuple[bool, str]:
    """Whether the LiteRT interpreter can be imported (and why not)."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError as exc:
        return False, f"ai-edge-litert is not installed ({exc})"
    return True, ""


def choose(weights: str | os.PathLike, runtime: str | None = None) -> tuple[Path | None, str]:
    """Which runtime runs ``weights``: (converted file, "") for LiteRT, or (None, why not) for TensorFlow
    ("" when TensorFlow was asked for).

    ``runtime`` (None: ``$JNDENC_RUNTIME``, else ``"auto"``): ``"auto"`` takes the converted file when it
    matches the weights and the interpreter imports; ``"litert"`` demands it (a `UserError` otherwise);
    ``"tensorflow"`` never uses it. One rule for every model jndenc loads (frame model, probe model).
    """
    from .errors import UserError

    runtime = runtime or os.environ.get(RUNTIME_ENV) or "auto"
    if runtime not in ("auto", "litert", "tensorflow"):
        raise UserError(f"unknown runtime {runtime!r}; choose auto, litert or tensorflow")
    if runtime == "tensorflow":
        return None, ""  # asked for: nothing to explain
    lite, why = find_light(weights)
    if lite is not None:
        ok, why = available()
        if ok:
            return lite, ""
    if runtime == "litert":
        raise UserError(f"{weights}: cannot use the light runtime: {why}")
    return None, why


def default_threads() -> int:
    """Interpreter threads: the cores this process may use (taskset/cgroups), at most 4."""
    from .media.ffargs import available_cores

    return max(1, min(4, available_cores()))


class LiteModel:
    """A converted model: named float32 inputs in, named outputs out (`__call__`).

    ``input_names`` / ``output_names`` / ``input_shapes`` (without the batch
    dimension) come from the file's signature. Calls are serialised with a
    lock: one interpreter must not run two batches at once, and a process
    loads one model (`jndenc.predictor.Predictor.load`), shared by its threads.
    """

    def __init__(self, path: str | os.PathLike, metadata: dict[str, Any] | None = None, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        from .models.tfquiet import native_stderr_silenced

        self.path = Path(path)
        # the sidecar written by `jndenc export` (names of the outputs among it)
        self.metadata = dict(metadata if metadata is not None else read_light_metadata(self.path) or {})
        with native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate" on stderr
            self._interp = Interpreter(model_path=str(self.path), num_threads=threads or default_threads())
            self._runner = self._interp.get_signature_runner()
        details = self._runner.get_input_details()
        self.input_names: list[str] = list(details)
        self.input_shapes: dict[str, tuple[int, ...]] = {
            k: tuple(int(d) for d in v["shape_signature"][1:]) for k, v in details.items()}
        # the converter names outputs output_0...; export records their Keras names
        self._rename: dict[str, str] = dict(self.metadata.get("signature_outputs") or {})
        self.output_names: list[str] = [self._rename.get(k, k) for k in self._runner.get_output_details()]
        self._lock = threading.Lock()
        self._warm = False

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        with self._lock:
            if not self._warm:
                from .models.tfquiet import native_stderr_silenced

                with native_stderr_silenced():  # the delegate's INFO line comes with the first allocation
                    out = self._runner(**feed)
                self._warm = True
            else:
                out = self._runner(**feed)
        return {self._rename.get(k, k): np.array(v) for k, v in out.items()}
