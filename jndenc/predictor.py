"""Inference wrapper: load a JND model once, predict JND1..3 for batches of frames.

Usage::

    p = Predictor.load()                      # shipped default weights
    frames = np.stack([p.prepare(f) for f in decoded_bgr])
    jnd = p.predict(frames, prev=prev_frames)  # float32 [N, 3]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np

from .errors import UserError

DEFAULT_WEIGHTS_NAME = "jndenc_compact.keras"
WEIGHTS_ENV = "JNDENC_WEIGHTS"


def default_weights_candidates() -> list[Path]:
    """Where the shipped weights are looked for, in order."""
    out: list[Path] = []
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        # the only place looked at: a set variable that names a missing file means "no default
        # weights" (how tests and deployments rule out the checkout's weights/), never a fallback
        return [Path(env)]
    import jndenc

    out.append(Path(jndenc.__file__).resolve().parents[1] / "weights" / DEFAULT_WEIGHTS_NAME)
    out.append(Path(sys.prefix) / "share" / "jndenc" / "weights" / DEFAULT_WEIGHTS_NAME)
    return out


def default_weights_path() -> Path | None:
    """The first existing shipped-weights file, or None (cheap: no TensorFlow import)."""
    for cand in default_weights_candidates():
        if cand.is_file():
            return cand
    return None


def no_weights_reason() -> str:
    """Why there are no default weights: the variable that names a missing file, or none shipped."""
    env = os.environ.get(WEIGHTS_ENV)
    return f"{WEIGHTS_ENV} names {env}, which does not exist" if env else "no shipped weights found"


def find_default_weights() -> Path:
    path = default_weights_path()
    if path is None:
        raise UserError(f"{no_weights_reason()}; use --mode search or --weights PATH")
    return path


def label_notes(meta: dict, path: Path) -> list[str]:
    """A note where the weights' sidecar says their labels mean something else than jndenc reads their outputs as
    (a dataset built with --metric psnr, QP labels, another encoder or preset): the CRFs of the one-pass modes then
    carry another quality claim; the measured efforts correct them. Keys the sidecar lacks are not judged.

    jndenc reads them as the labels `jndenc dataset build` makes by default (the search's defaults, which the
    shipped weights were trained on), recorded as `jndenc.training.train` records them."""
    from .search import SearchOptions

    s = SearchOptions()
    reads = {"metric": s.metric, "thresholds": [float(t) for t in s.thresholds],
             "label_units": s.rate_control.upper(), "encoder": f"{s.codec} preset {s.preset}"}
    differ = [f"{k} {meta[k]}" for k, v in reads.items()
              if meta.get(k) is not None and (list(map(float, meta[k])) if k == "thresholds" else meta[k]) != v]
    if not differ:
        return []
    return [f"weights {path.name} were trained on labels of {', '.join(differ)}: their outputs are read as "
            f"{s.codec} {s.preset} {reads['label_units']}s at {s.metric.upper()} "
            f"{'/'.join(f'{t:g}' for t in s.thresholds)}, so a one-pass mode's CRFs mean something else (the "
            "measured efforts measure and correct them)"]


class Predictor:
    """A loaded JND model. Build with `Predictor.load`; `predict` is cheap to call repeatedly.

    ``runtime`` says what runs it: ``"litert"`` (the converted ``.tflite`` beside
    the weights, see `jndenc.runtime`; no TensorFlow in the process) or
    ``"tensorflow"`` (the Keras model). ``notes`` holds one line per thing the
    user may want to know about that choice (e.g. why it fell back to TensorFlow).
    """

    def __init__(self, model, architecture: str, metadata: dict[str, Any], weights_path: Path | None = None,
                 runtime: str = "tensorflow", notes: list[str] | None = None):
        from .models import arch_info

        info = arch_info(architecture)
        self.model = model
        self.name = architecture
        self.metadata = dict(metadata)
        self.weights_path = weights_path
        self.runtime = runtime
        self.notes: list[str] = list(notes or [])
        if runtime == "litert":
            h, w = model.input_shapes[model.input_names[0] if len(model.input_names) == 1 else "frames"][:2]
        else:
            from .models import frames_shape

            h, w = frames_shape(model)[:2]
        self.input_size: tuple[int, int] = (w, h)  # (width, height), as cv2.resize takes it
        self.uses_motion: bool = info.uses_motion
        self.uses_geometry: bool = info.uses_geometry
        self.heads = info.jnd_heads
        col = self.metadata.get("jnd_column")
        self.jnd_column: int = int(col) if col is not None else 0
        self._call = None

    @classmethod
    def load(cls, weights_path: str | Path | None = None, architecture: str | None = None,
             runtime: str | None = None) -> "Predictor":
        """Load weights (None -> shipped default); the architecture comes from the sidecar JSON
        unless given, and a mismatch between the two is refused.

        ``runtime``: ``"auto"`` (default; ``$JNDENC_RUNTIME`` overrides) runs the
        converted ``.tflite`` beside the weights when its recorded hash matches
        them, else TensorFlow with a note; ``"litert"`` requires the converted
        file; ``"tensorflow"`` always builds the Keras model.
        """
        from .models.io import check_metadata, read_metadata
        from .runtime import choose

        path = Path(weights_path) if weights_path is not None else find_default_weights()
        if not path.is_file():
            raise UserError(f"weights file not found: {path}")
        if not os.access(path, os.R_OK):
            raise UserError(f"{path}: weights file cannot be read (permission denied)")
        meta = read_metadata(path) or {}
        arch = architecture or meta.get("architecture")
        if arch is None:
            raise UserError(f"{path} has no metadata ({path.name}.json) naming its architecture: not weights jndenc "
                            "wrote (`jndenc train` writes the sidecar; `load_predictor(..., architecture=...)` names "
                            "it for weights of your own)")
        check_metadata(meta, arch, None, path)  # before building: a wrong architecture may not even build
        notes = label_notes(meta, path)
        lite, why = choose(path, runtime)
        if lite is not None:
            from .runtime import LiteModel

            return cls(LiteModel(lite), arch, meta, path, runtime="litert", notes=notes)
        if why:
            notes.append(f"model {path.name} runs on TensorFlow (slower start): {why}"
                         + (f"; `jndenc export {path}` converts it" if "ai-edge-litert" not in why else ""))
        from .models.tfquiet import native_stderr_silenced

        with native_stderr_silenced():  # importing TensorFlow prints native log lines
            from .models import build_model
            from .models.io import load_weights_into

        shape = meta.get("input_shape")
        with native_stderr_silenced():
            model = build_model(arch, input_shape=tuple(shape) if shape else None)
            load_weights_into(model, path, arch)
            zeros = [np.zeros((1, *tuple(int(d) for d in i.shape[1:])), np.float32) for i in model.inputs]
            model(zeros if len(zeros) > 1 else zeros[0], training=False)  # device init happens here
        return cls(model, arch, meta, path, runtime="tensorflow", notes=notes)

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Resize a uint8 BGR frame of any size to the model input (INTER_AREA, like training)."""
        w, h = self.input_size
        if frame_bgr.shape[:2] == (h, w):
            return frame_bgr
        return cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_AREA)

    def _inputs(self, frames: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        if self.uses_motion:
            from .models.inputs import compact_input

            return compact_input(frames, prev)
        return frames.astype(np.float32) / 255.0

    def _run(self, x: np.ndarray, geometry: np.ndarray | None) -> dict[str, np.ndarray]:
        """One batch through the model: {output name: array}."""
        if self.runtime == "litert":
            names = self.model.input_names
            feed = {names[0]: x} if len(names) == 1 else {"frames": x}
            if geometry is not None:
                feed["geometry"] = np.repeat(geometry, len(x), axis=0)
            return self.model(feed)
        if self._call is None:
            import tensorflow as tf

            # one traced graph per input shape: no per-call Keras overhead or progress output
            self._call = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)
        res = self._call((x, np.repeat(geometry, len(x), axis=0)) if geometry is not None else x)
        res = res if isinstance(res, (list, tuple)) else [res]
        return {k: np.asarray(v) for k, v in zip(self.model.output_names, res)}

    def predict(self, frames: np.ndarray, prev: np.ndarray | None = None, batch_size: int = 32,
                source_size: tuple[int, int] | None = None) -> np.ndarray:
        """uint8 BGR frames [N,H,W,3] at `input_size` (+ previous frames) -> float32 [N,3] JND1..3.

        ``source_size`` (width, height) is the size the frames had before they
        were resized (models with a geometry input use it; default 1920x1080).
        Single-head models fill their metadata `jnd_column` and leave NaN elsewhere.
        """
        frames = np.asarray(frames)
        w, h = self.input_size
        if frames.ndim != 4 or frames.shape[1:] != (h, w, 3):
            raise ValueError(f"frames must be [N,{h},{w},3] uint8 BGR, got {frames.shape}")
        if prev is not None:
            prev = np.asarray(prev)
            if prev.shape != frames.shape:
                raise ValueError(f"prev shape {prev.shape} != frames shape {frames.shape}")
        out = np.full((len(frames), 3), np.nan, np.float32)
        if not len(frames):
            return out
        if self.runtime == "litert":
            from .runtime import BATCH

            batch_size = min(batch_size, BATCH)
        geometry = None
        if self.uses_geometry:
            from .models.inputs import DEFAULT_SOURCE_SIZE, geometry_input

            geometry = geometry_input(*(source_size or DEFAULT_SOURCE_SIZE))[None, :]
        for start in range(0, len(frames), batch_size):
            sl = slice(start, start + batch_size)
            by_name = self._run(self._inputs(frames[sl], prev[sl] if prev is not None else None), geometry)
            if self.heads == ("JND_output",):
                out[sl, self.jnd_column] = by_name["JND_output"].reshape(-1)
            else:
                out[sl] = np.concatenate([by_name[hd].reshape(-1, 1) for hd in self.heads], axis=1)
        return out
