"""The probe-mode model: a shot's JND1..3 and its spread from the frame model's estimate plus one probe.

Inputs (per shot):

- ``frame_jnd``: the frame model's JND1..3 for the shot (median over its
  sampled frames, as `jndenc.analyze` reduces them), so whatever the frame
  model knows (SI, TI, frame size) comes in through three numbers;
- ``probe_features``: `probe_vector` of the shot's probe scores
  (`jndenc.media.probe_encode`): probe VMAF, its distance to the VMAF ceiling
  on a log scale (VMAF saturates near 100 on easy content, where a linear
  term would under-predict), PSNR-Y, log2 bits per pixel and log2 of the
  frame's pixel count, and the quantiser the probe encoded at (a centred probe
  encodes each shot at the frame model's JND1 estimate, so it varies per shot).

Outputs keep the compact model's names and its monotone construction
(``JND1_output``, ``JND2_output`` = JND1 + softplus, ``JND3_output`` = JND2 +
softplus) and add ``JND1_spread``: a per-shot scale of the JND1 error
(softplus of a linear term, CRF steps). With ``z`` from the metadata
(``margin_z``, calibrated on held-out shots), ``JND1 - z * spread`` is the
CRF that keeps the chance of a visible shot (true JND1 below it) near
``1 - p``.

All heads are linear on the standardised inputs, fitted in closed form
(`jndenc.training.probe_fit.fit_probe_model`): with a few hundred labelled
shots that is what cross validation supports. The model is a Keras model built
by `probe_model` (named layers, Keras-applications style) so it saves, loads
and converts (`jndenc export`) like the frame model; `ProbeModel` runs it.
This module is what encoding needs; the fitting lives in `jndenc.training`.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import UserError
from ..media.probe_encode import centred_crfs

ARCHITECTURE = "probe"
PROBE_FEATURES = ("vmaf", "log_vmaf_headroom", "psnr", "log2_bpp", "log2_pixels", "probe_crf")
FRAME_INPUT = "frame_jnd"
PROBE_INPUT = "probe_features"
OUTPUTS = ("JND1_output", "JND2_output", "JND3_output", "JND1_spread")
HEADS = ("JND1_linear", "JND2_inc_linear", "JND3_inc_linear", "JND1_spread_linear")
DEFAULT_PROBE_WEIGHTS_NAME = "jndenc_probe.keras"


def fitted_features(metadata: dict | None) -> list[str]:
    """The probe features a model was fitted on, in order, from its metadata (older weights: the first five)."""
    return list((metadata or {}).get("probe_features") or PROBE_FEATURES[:5])


def probe_vector(scores: dict, size: tuple[int, int], features: Sequence[str] = PROBE_FEATURES) -> np.ndarray:
    """``features`` (default `PROBE_FEATURES`) of one shot's probe scores (``vmaf``, ``psnr``, ``bpp``, ``crf``
    as `run_probe` returns) and the source frame size (w, h): VMAF means different things at QCIF and at 1080p.

    A model built on fewer features lists them in its metadata (``probe_features``), so older weights keep
    getting the vector they were fitted on."""
    v = float(np.clip(scores["vmaf"], 0.0, 100.0))
    named = {"vmaf": lambda: v, "log_vmaf_headroom": lambda: -math.log(100.5 - v),
             "psnr": lambda: float(min(scores["psnr"], 60.0)),
             "log2_bpp": lambda: math.log2(max(float(scores["bpp"]), 1e-4)),
             "log2_pixels": lambda: math.log2(max(1, int(size[0]) * int(size[1]))),
             "probe_crf": lambda: float(scores["crf"])}
    return np.array([named[f]() for f in features], dtype=np.float32)


# A probe whose VMAF is this high barely registered its quantization: it tells that the shot is easy, not how much
# coarser it could go, and the linear heads extrapolate steeply there (in CV the 7 shots at >= 98 had a JND1 MAE of
# 7.4 and the worst over-predictions). Such shots take the lower of the probe and frame estimates. Chosen in CV
# (95, 97 and 98 gave the same bytes and worst shots there), never on the test split.
SATURATED_VMAF = 97.0


def cap_saturated(jnd: np.ndarray, frame_jnd: np.ndarray, vmaf: np.ndarray,
                  threshold: float | None = SATURATED_VMAF) -> np.ndarray:
    """[S,3] probe estimates with rows whose probe VMAF >= ``threshold`` capped at the frame model's estimate.

    ``threshold`` None: no cap (a centred probe sits near the shot's JND, where VMAF has not saturated).
    """
    jnd = np.array(jnd, dtype=np.float64, copy=True).reshape(-1, 3)
    if threshold is None:
        return jnd
    f = np.asarray(frame_jnd, dtype=np.float64).reshape(-1, 3)
    sat = np.asarray(vmaf, dtype=np.float64).reshape(-1) >= threshold
    jnd[sat] = np.sort(np.minimum(jnd[sat], f[sat]), axis=1)
    return jnd


def probe_model(n_probe: int = len(PROBE_FEATURES), n_frame: int = 3):
    """Build the probe-mode model (untrained: heads at zero, JND1 = 0). Inputs ``frame_jnd``, ``probe_features``."""
    import keras
    from keras import layers

    frame = keras.Input(shape=(n_frame,), name=FRAME_INPUT)
    probe = keras.Input(shape=(n_probe,), name=PROBE_INPUT)
    x = layers.Concatenate(name="shot_features")([frame, probe])

    def linear(name: str):
        return layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros", name=name)(x)

    jnd1 = layers.Identity(name="JND1_output")(linear(HEADS[0]))
    inc2 = layers.Activation("softplus", name="JND2_increment")(linear(HEADS[1]))
    inc3 = layers.Activation("softplus", name="JND3_increment")(linear(HEADS[2]))
    jnd2 = layers.Add(name="JND2_output")([jnd1, inc2])
    jnd3 = layers.Add(name="JND3_output")([jnd2, inc3])
    spread = layers.Activation("softplus", name="JND1_spread")(linear(HEADS[3]))
    return keras.Model([frame, probe], [jnd1, jnd2, jnd3, spread], name=ARCHITECTURE)


# A centred probe encodes at C near the shot's JND1, where VMAF moves about one point per CRF step: C + (VMAF - 94)
# (94: the JND1 threshold of the labels) is a JND1 estimate without any fit (CV MAE 1.10, the probe study); a
# centred model's JND1 head is fitted as a correction to it (`jndenc.training.probe_fit.rule_prior`)
RULE_VMAF = 94.0


# A second centred probe, for shots whose first probe read far from 94 (the one-point-per-step reading is then
# coarse: VMAF falls 0.5 to 3 points a step depending on the content): it is encoded at the model's estimate,
# and the two points give the shot's own slope. The slope is clipped to the range that CV preferred (0.3-5 let
# a noisy pair throw an estimate 11 CRF steps off; 0.7-3 and 0.5-4 were alike otherwise); the test split was not
# consulted.
REFINE_VMAF = 2.0
REFINE_SLOPE = (0.7, 3.0)


def refine_jnd1(c1: float, v1: float, c2: float, v2: float, target: float = RULE_VMAF,
                slope: tuple[float, float] = REFINE_SLOPE) -> float:
    """JND1 from two probes of one window, (CRF, VMAF) each: the CRF where the line through them crosses ``target``,
    drawn from the point nearer the target with the slope (VMAF lost per CRF step) clipped to ``slope``."""
    if c1 == c2:
        raise ValueError("two probes at the same CRF give no slope")
    s = float(np.clip((v1 - v2) / (c2 - c1), *slope))
    c, v = (c1, v1) if abs(v1 - target) <= abs(v2 - target) else (c2, v2)
    return float(c + (v - target) / s)


def second_probe_crfs(first_crf: Sequence[float], first_vmaf: Sequence[float], jnd1: Sequence[float],
                      distance: float = REFINE_VMAF) -> list[int | None]:
    """Per shot, the CRF of a second centred probe (the estimate after the first, rounded), or None: the first
    read within ``distance`` of 94, or the estimate rounds to the first probe's CRF."""
    out: list[int | None] = []
    for c, v, c2 in zip(first_crf, first_vmaf, centred_crfs(jnd1)):
        out.append(c2 if abs(float(v) - RULE_VMAF) > distance and c2 != int(c) else None)
    return out


# shares p of unseen shots a calibrated margin keeps at or under their JND1 (--confidence); the weights store one
# margin (predict) or z (probe) per level, and levels between them are interpolated
CONFIDENCE_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def at_level(table: dict[str, float] | None, p: float) -> float | None:
    """The calibrated value for share ``p`` from ``{"0.8": v, ...}``: exact, interpolated between levels, or None.

    None when ``p`` lies outside the calibrated levels (nothing measured there to stand on).
    """
    pts = sorted((float(k), float(v)) for k, v in (table or {}).items())
    if not pts or not (pts[0][0] - 1e-9 <= p <= pts[-1][0] + 1e-9):
        return None
    return float(np.interp(p, [a for a, _ in pts], [b for _, b in pts]))


def probe_margins(spread: Sequence[float], probed_twice: Sequence[bool], margin_z: dict[str, float] | None,
                  refine_margin: dict[str, float] | None, p: float) -> list[float] | None:
    """Probe mode's margin per shot at share ``p`` (`--margin auto`): the shot's predicted spread times the z that
    covered ``p`` of held-out shots, or for a shot probed twice the two-probe estimate's own held-out
    over-prediction quantile; never below 0. None where the z table does not reach ``p``."""
    z = at_level(margin_z, p)
    if z is None:
        return None
    m2 = at_level(refine_margin, p)
    return [max(0.0, float(m2)) if two and m2 is not None else max(0.0, z * float(s))
            for s, two in zip(spread, probed_twice)]


class ProbeModel:
    """A loaded probe model: the converted ``.tflite`` when it matches the weights, else Keras."""

    def __init__(self, model, metadata: dict[str, Any], weights_path: Path | None, runtime: str):
        self.model = model
        self.metadata = dict(metadata)
        self.weights_path = weights_path
        self.runtime = runtime
        self.margin_z: dict[str, float] = dict(self.metadata.get("margin_z") or {})

    @classmethod
    def load(cls, weights_path: str | os.PathLike | None = None, runtime: str | None = None) -> "ProbeModel":
        from ..runtime import choose
        from .io import read_metadata

        path = Path(weights_path) if weights_path is not None else default_probe_weights()
        if path is None or not path.is_file():
            raise UserError(f"probe-mode weights not found{f': {path}' if path else ''}; "
                            "use --mode predict, guided or search")
        meta = read_metadata(path) or {}
        if meta.get("architecture") != ARCHITECTURE:
            raise UserError(f"{path} is not a probe-mode model (architecture {meta.get('architecture')!r})")
        lite, _ = choose(path, runtime)
        if lite is not None:
            from ..runtime import LiteModel

            return cls(LiteModel(lite), meta, path, "litert")
        return cls(load_keras(path), meta, path, "tensorflow")

    def predict(self, frame_jnd: np.ndarray, probe_feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[S,3] frame-model JND and [S,K] `probe_vector`s -> ([S,3] JND1..3, [S] JND1 spread)."""
        f = np.asarray(frame_jnd, np.float32).reshape(-1, 3)
        p = np.asarray(probe_feats, np.float32).reshape(len(f), -1)
        if not len(f):
            return np.zeros((0, 3), np.float32), np.zeros(0, np.float32)
        if self.runtime == "litert":
            out = self.model({FRAME_INPUT: f, PROBE_INPUT: p})
        else:
            res = self.model([f, p], training=False)
            out = {k: np.asarray(v) for k, v in zip(self.model.output_names, res)}
        jnd = np.concatenate([out[n].reshape(-1, 1) for n in OUTPUTS[:3]], axis=1)
        sat = self.metadata.get("saturated_vmaf", SATURATED_VMAF)
        return cap_saturated(jnd, f, p[:, 0], sat).astype(np.float32), out[OUTPUTS[3]].reshape(-1)

    @property
    def refine(self) -> dict[str, Any] | None:
        """Second-probe settings and margins (``refine`` in the metadata, `jndenc.training.probe_refine`), or None."""
        r = self.metadata.get("refine")
        return dict(r) if r else None

    @property
    def features(self) -> list[str]:
        """The probe features this model was fitted on, in order (`fitted_features`)."""
        return fitted_features(self.metadata)

    def vector(self, scores: dict, size: tuple[int, int]) -> np.ndarray:
        """`probe_vector` of one shot's probe scores with this model's features."""
        return probe_vector(scores, size, self.features)

    def margin(self, spread: np.ndarray, p: float = 0.9) -> np.ndarray:
        """CRF steps to subtract from JND1 so that a share ``p`` of held-out shots stayed at or below their JND1."""
        key = f"{p:g}"
        if key not in self.margin_z:
            raise UserError(f"no calibrated margin for p={p:g}; this model has {', '.join(self.margin_z) or 'none'}")
        return self.margin_z[key] * np.asarray(spread, float)


def default_probe_weights() -> Path | None:
    """The shipped probe-mode weights beside the frame model's (same lookup; None when absent)."""
    from ..predictor import default_weights_path

    frame = default_weights_path()
    if frame is None:
        return None
    cand = frame.with_name(DEFAULT_PROBE_WEIGHTS_NAME)
    return cand if cand.is_file() else None


def load_keras(path: str | os.PathLike):
    import keras

    from .tfquiet import native_stderr_silenced

    with native_stderr_silenced():
        return keras.saving.load_model(str(path), compile=False)


def parity_inputs(n: int = 8, seed: int = 0, features: Sequence[str] = PROBE_FEATURES) -> dict[str, np.ndarray]:
    """A fixed batch in the real input range (frame JND 15-40, probe scores of a 720p shot) for `jndenc export`."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(15, 40, (n, 3)).astype(np.float32)
    p = np.stack([probe_vector({"vmaf": v, "psnr": s, "ssim": v / 101, "bpp": b, "crf": c}, (1280, 720), features)
                  for v, s, b, c in zip(rng.uniform(40, 100, n), rng.uniform(25, 55, n), rng.uniform(0.005, 0.5, n),
                                        rng.uniform(15, 40, n))])
    return {FRAME_INPUT: f, PROBE_INPUT: p}
