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
(`fit_probe_model`): with a few hundred labelled shots that is what cross
validation supports. The model is a Keras model built by `probe_model`
(named layers, Keras-applications style) so it saves, loads and converts
(`jndenc export`) like the frame model; `ProbeModel` runs it.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
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
MIN_INC = 0.25  # softplus cannot reach 0: smallest level spacing the fit targets
MIN_SPREAD = 0.3  # CRF steps: floor of the fitted absolute error (labels are integers)
# L2 strength of the spread head. In 5-fold CV on ~155 shots a strongly regularised (nearly constant)
# spread covered its targets better with smaller margins than a free one (p=0.9: 91% with mean margin
# 2.75 CRF vs 88% with 3.18 at 0.01): the per-shot variation of the error is too noisy to learn from
# that many shots; the head stays so that more data can use it
SPREAD_RIDGE = 100.0


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


def fit_options(opts) -> dict[str, Any]:
    """`fit_probe_model` options for a probe setting (`jndenc.media.probe_encode.ProbeOptions`): a centred probe
    is never capped and its JND1 head is fitted around `rule_prior`; a fixed quantiser saturates on easy shots."""
    if getattr(opts, "centred", False):
        return {"saturated": None, "prior": rule_prior(), "ridges": PRIOR_RIDGES}
    return {"saturated": SATURATED_VMAF}


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


# --- closed-form fitting (numpy; the Keras model only receives the coefficients) ---

def _softplus(x):
    return np.logaddexp(0.0, x)


def _softplus_inv(x):
    return np.log(np.expm1(np.asarray(x, dtype=np.float64)))


@dataclass
class LinearHeads:
    """Coefficients on raw inputs [frame_jnd, probe_features] (+ bias) for each head."""

    coef: dict[str, np.ndarray] = field(default_factory=dict)  # head -> [F]
    bias: dict[str, float] = field(default_factory=dict)

    def raw(self, x: np.ndarray, head: str) -> np.ndarray:
        return x @ self.coef[head] + self.bias[head]

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[N, 3] JND1..3 and [N] spread, exactly as the Keras model computes them."""
        j1 = self.raw(x, HEADS[0])
        j2 = j1 + _softplus(self.raw(x, HEADS[1]))
        j3 = j2 + _softplus(self.raw(x, HEADS[2]))
        spread = _softplus(self.raw(x, HEADS[3])) if HEADS[3] in self.coef else np.full(len(x), np.nan)
        return np.stack([j1, j2, j3], axis=1), spread


def _ridge(x: np.ndarray, t: np.ndarray, ridge: float) -> tuple[np.ndarray, float]:
    """Least squares on standardised columns with an L2 penalty (none on the intercept), in raw units."""
    mu, sd = x.mean(0), x.std(0)
    sd = np.where(sd > 1e-9, sd, 1.0)
    a = np.c_[(x - mu) / sd, np.ones(len(x))]
    reg = ridge * len(x) * np.eye(a.shape[1])
    reg[-1, -1] = 0.0
    c = np.linalg.solve(a.T @ a + reg, a.T @ t)
    coef = c[:-1] / sd
    return coef, float(c[-1] - np.sum(coef * mu))


def fit_levels(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3,
               prior: tuple[np.ndarray, float] | None = None, inc_ridge: float | None = None) -> LinearHeads:
    """JND1 by least squares; JND2, JND3 increments through softplus (the model's monotone form).

    ``prior`` (coefficients on ``x``, bias): the JND1 head is fitted as a correction to it, so the ridge
    shrinks towards the prior instead of towards the mean label. ``inc_ridge``: the increments' own L2
    strength (default ``ridge``).
    """
    y = np.asarray(y, dtype=np.float64)
    incs = np.maximum(np.diff(y, axis=1), MIN_INC)
    pc, pb = (np.zeros(x.shape[1]), 0.0) if prior is None else (np.asarray(prior[0], float), float(prior[1]))
    heads = LinearHeads()
    for name, t, r in zip(HEADS[:3], (y[:, 0] - (x @ pc + pb), _softplus_inv(incs[:, 0]), _softplus_inv(incs[:, 1])),
                          (ridge, *(2 * [ridge if inc_ridge is None else inc_ridge]))):
        heads.coef[name], heads.bias[name] = _ridge(x, t, r)
    heads.coef[HEADS[0]] = heads.coef[HEADS[0]] + pc
    heads.bias[HEADS[0]] += pb
    return heads


# A centred probe encodes at C near the shot's JND1, where VMAF moves about one point per CRF step: C + (VMAF - 94)
# (94: the JND1 threshold of the labels) is a JND1 estimate without any fit (CV MAE 1.10, the probe study).
# The JND1 head of a centred model is fitted as a correction to it, with ridges strong enough to keep it near
# the rule unless the data say otherwise (CV: JND1 MAE 1.12 and 5% of shots over-predicted by more than 2,
# against 1.16 and 7.5% for the same fit shrunk towards the mean)
RULE_VMAF = 94.0
PRIOR_RIDGES = (1.0, 10.0, 100.0, 1e3, 1e4)


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


def rule_prior(features: Sequence[str] = PROBE_FEATURES, n_frame: int = 3) -> tuple[np.ndarray, float]:
    """The rule ``probe_crf + vmaf - 94`` as (coefficients on [frame_jnd, ``features``], bias)."""
    coef = np.zeros(n_frame + len(features))
    coef[n_frame + list(features).index("vmaf")] = 1.0
    coef[n_frame + list(features).index("probe_crf")] = 1.0
    return coef, -RULE_VMAF


def fit_spread(heads: LinearHeads, x: np.ndarray, abs_err: np.ndarray, ridge: float = SPREAD_RIDGE) -> None:
    """Spread head: softplus of a linear fit to the held-out absolute JND1 errors (in softplus-inverse units)."""
    t = _softplus_inv(np.maximum(np.asarray(abs_err, dtype=np.float64), MIN_SPREAD))
    heads.coef[HEADS[3]], heads.bias[HEADS[3]] = _ridge(x, t, ridge)


def calibrate_z(y1: np.ndarray, pred1: np.ndarray, spread: np.ndarray, levels: Sequence[float]) -> dict[str, float]:
    """For each level p, the smallest z with share(y1 >= pred1 - z * spread) >= p on held-out shots."""
    need = (pred1 - y1) / spread  # z at which each shot is just covered
    out = {}
    for p in levels:
        out[f"{p:g}"] = round(float(max(0.0, np.quantile(need, p, method="higher"))), 3)
    return out


def group_folds(groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Fold index per item: groups (parent clips) shuffled with ``seed`` and dealt into ``k`` folds."""
    import random

    g = sorted(set(groups))
    random.Random(seed).shuffle(g)
    fold = {name: i % k for i, name in enumerate(g)}
    return np.array([fold[name] for name in groups])


def inner_oof(x: np.ndarray, y: np.ndarray, groups: Sequence[str], k: int = 5, seed: int = 0,
              ridge: float = 1e-3, saturated: float | None = SATURATED_VMAF,
              prior: tuple[np.ndarray, float] | None = None, inc_ridge: float | None = None,
              all_levels: bool = False) -> np.ndarray:
    """Out-of-fold JND1 (``all_levels``: [N,3] JND1..3) predictions by group k-fold (for the spread head, z and
    the choice of ridges, never in-sample errors)."""
    f = group_folds(groups, k, seed)
    out = np.empty((len(y), 3))
    for i in range(min(k, len(set(groups)))):
        tr, te = f != i, f == i
        if te.any():
            out[te] = predict_capped(fit_levels(x[tr], y[tr], ridge, prior, inc_ridge), x[te], saturated)[0]
    return out if all_levels else out[:, 0]


def predict_capped(heads: LinearHeads, x: np.ndarray,
                   saturated: float | None = SATURATED_VMAF) -> tuple[np.ndarray, np.ndarray]:
    """``heads.predict`` on inputs ``x`` = [frame_jnd(3), probe_features], its JND after `cap_saturated`."""
    jnd, spread = heads.predict(x)
    return cap_saturated(jnd, x[:, :3], x[:, 3], saturated), spread


# shares p of unseen shots a calibrated margin keeps at or under their JND1 (--confidence); the weights store one
# margin (predict) or z (probe) per level, and levels between them are interpolated
CONFIDENCE_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def margin_table(over: np.ndarray, levels: Sequence[float] = CONFIDENCE_LEVELS) -> dict[str, float]:
    """A constant margin per share p: the p-quantile of held-out over-predictions (estimate - label; 0 at least).

    Subtracting it from an estimate kept a share p of those shots at or below their true JND1. Predict
    mode's frame model (no spread head) and probe mode's shots probed twice each carry one such table.
    """
    return {f"{p:g}": round(float(max(0.0, np.quantile(over, p, method="higher"))), 3) for p in levels}


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


RIDGES = (1e-3, 1e-2, 3e-2, 0.1, 0.3)  # L2 strengths (on standardised inputs) the inner CV chooses from


def fit_probe_model(frame_jnd: np.ndarray, probe_feats: np.ndarray, y: np.ndarray, groups: Sequence[str], *,
                    levels: Sequence[float] = CONFIDENCE_LEVELS, k: int = 5, seed: int = 0,
                    ridges: Sequence[float] = RIDGES, saturated: float | None = SATURATED_VMAF,
                    prior: tuple[np.ndarray, float] | None = None) -> tuple[LinearHeads, dict[str, Any]]:
    """Fit all heads on training shots; the L2 strength, the spread and z come from an inner group CV.

    The inner CV runs on the training shots only, so an outer cross-validation that calls this
    per fold stays honest: nothing is chosen on the held-out fold.
    """
    x = np.c_[frame_jnd, probe_feats].astype(np.float64)
    yy = np.asarray(y, float)
    scores = {r: float(np.abs(inner_oof(x, yy, groups, k, seed, r, saturated, prior) - yy[:, 0]).mean())
              for r in ridges}
    ridge = min(scores, key=scores.get)
    inc_ridge = None
    if prior is not None:
        # the prior is for JND1 only: the increments to JND2/JND3 get their own ridge, chosen on their levels
        inc = {r: float(np.abs(inner_oof(x, yy, groups, k, seed, ridge, saturated, prior, r, True)[:, 1:]
                               - yy[:, 1:]).mean()) for r in RIDGES}
        inc_ridge = min(inc, key=inc.get)
    heads = fit_levels(x, y, ridge, prior, inc_ridge)
    oof = inner_oof(x, yy, groups, k, seed, ridge, saturated, prior, inc_ridge)
    err = np.abs(oof - np.asarray(y, float)[:, 0])
    fit_spread(heads, x, err)
    fitted, spread = predict_capped(heads, x, saturated)
    z = calibrate_z(np.asarray(y, float)[:, 0], oof, spread, levels)
    info = {"margin_z": z, "inner_cv_mae_jnd1": round(float(err.mean()), 3), "train_shots": int(len(y)), "ridge": ridge,
            "increment_ridge": ridge if inc_ridge is None else inc_ridge,
            "train_mae": [round(float(v), 3) for v in np.abs(fitted - y).mean(0)],
            "saturated_vmaf": saturated,
            "jnd1_prior": None if prior is None else {"coef": [round(float(c), 4) for c in prior[0]],
                                                      "bias": float(prior[1])}}
    return heads, info


def set_heads(model, heads: LinearHeads) -> None:
    for name in HEADS:
        model.get_layer(name).set_weights([heads.coef[name][:, None].astype(np.float32),
                                           np.array([heads.bias[name]], np.float32)])


# --- inference ---

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
