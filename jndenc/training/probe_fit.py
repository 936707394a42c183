"""Fitting the probe-mode model (`jndenc.models.probe`) in closed form: numpy ridges on the standardised inputs,
strengths and the spread's calibration from an inner group cross-validation; the Keras model only receives the
coefficients (`set_heads`). Training-side only: encoding loads the fitted weights and never imports this.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..models.probe import CONFIDENCE_LEVELS, HEADS, PROBE_FEATURES, RULE_VMAF, SATURATED_VMAF, cap_saturated

MIN_INC = 0.25  # softplus cannot reach 0: smallest level spacing the fit targets
MIN_SPREAD = 0.3  # CRF steps: floor of the fitted absolute error (labels are integers)
# L2 strength of the spread head. In 5-fold CV on ~155 shots a strongly regularised (nearly constant)
# spread covered its targets better with smaller margins than a free one (p=0.9: 91% with mean margin
# 2.75 CRF vs 88% with 3.18 at 0.01): the per-shot variation of the error is too noisy to learn from
# that many shots; the head stays so that more data can use it
SPREAD_RIDGE = 100.0


def fit_options(opts) -> dict[str, Any]:
    """`fit_probe_model` options for a probe setting (`jndenc.media.probe_encode.ProbeOptions`): a centred probe
    is never capped and its JND1 head is fitted around `rule_prior`; a fixed quantiser saturates on easy shots."""
    if getattr(opts, "centred", False):
        return {"saturated": None, "prior": rule_prior(), "ridges": PRIOR_RIDGES}
    return {"saturated": SATURATED_VMAF}


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


# The JND1 head of a centred model is fitted as a correction to the rule ``probe_crf + vmaf - 94``
# (`jndenc.models.probe.RULE_VMAF`), with ridges strong enough to keep it near the rule unless the data say otherwise
# (CV: JND1 MAE 1.12 and 5% of shots over-predicted by more than 2, against 1.16 and 7.5% for the same fit shrunk
# towards the mean)
PRIOR_RIDGES = (1.0, 10.0, 100.0, 1e3, 1e4)


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


def margin_table(over: np.ndarray, levels: Sequence[float] = CONFIDENCE_LEVELS) -> dict[str, float]:
    """A constant margin per share p: the p-quantile of held-out over-predictions (estimate - label; 0 at least).

    Subtracting it from an estimate kept a share p of those shots at or below their true JND1. Predict
    mode's frame model (no spread head) and probe mode's shots probed twice each carry one such table.
    """
    return {f"{p:g}": round(float(max(0.0, np.quantile(over, p, method="higher"))), 3) for p in levels}


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
