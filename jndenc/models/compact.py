"""Compact multi-task JND model for CPU inference (the shipped default).

Inputs: the source frame size (`geometry_input`) and, at
COMPACT_INPUT_HW = 144x256, six channels built by `compact_input`:
channels 0-2 are the frame in BGR scaled to [0, 1]; channels 3-5 are the
signed difference (frame - previous frame) / 255 in [-1, 1], zero when no
previous frame is known. Outputs keep the paper's names (JND1_output,
JND2_output, JND3_output) in CRF/QP units.

It is trained on a few hundred proxy-labelled frames, so it is deliberately
small (depthwise-separable convolutions, BatchNorm, global pooling, dropout).
The heads predict JND1 = 30 + 10 * raw and non-negative increments for JND2
and JND3, so outputs start in the right range (fast convergence from scratch)
and JND1 <= JND2 <= JND3 always holds.

Each head is wide-and-deep: a linear term on fixed `ClassicFeatures` (SI,
TI) and the source size, fitted in closed form before training, plus a CNN
correction bounded to DEEP_LIMIT CRF steps whose last layer starts at zero
and is L2-penalised. On the proxy labels the frame size and
SI/TI carry most of the signal; the CNN refines that instead of having to
rediscover it from a few hundred frames (alone, it did not beat an SI/TI
regression).

Measured on 2 CPU cores (TF 2.21, graph mode): 66,940 parameters,
2-5 ms/frame at 144x256 with batch 32 (~200x cheaper than MT_3LJND).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import math

import keras
import numpy as np
from keras import layers

# the input builders live in a TF-free module (the light runtime uses them); re-exported here
from .inputs import (COMPACT_CHANNELS, COMPACT_INPUT_HW, COMPACT_INPUT_SHAPE, DEFAULT_SOURCE_SIZE,  # noqa: F401
                     compact_input, geometry_input)

JND1_OFFSET = 30.0  # centre of the usual x264 CRF / H.264 QP JND range
JND1_SCALE = 10.0
DEEP_LIMIT = 1.0  # CRF steps the CNN may move JND1 away from the linear term (about half that for increments)
WIDE_HEADS = ("JND1_wide", "JND2_inc_wide", "JND3_inc_wide")


@keras.saving.register_keras_serializable(package="jndenc")
class ScaleShift(layers.Layer):
    """y = offset + scale * x, a fixed (non-trainable) output mapping."""

    def __init__(self, offset: float = 0.0, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = float(offset)
        self.scale = float(scale)

    def call(self, x):
        return self.offset + self.scale * x

    def get_config(self):
        return {**super().get_config(), "offset": self.offset, "scale": self.scale}


@keras.saving.register_keras_serializable(package="jndenc")
class ClassicFeatures(layers.Layer):
    """Fixed (non-trainable) ITU-T P.910-style statistics of the input, as extra features.

    Spatial information (std of the Sobel magnitude of luma) and temporal
    information (std of the luma difference, from the motion channels), scaled
    to roughly unit range: the two numbers an SI/TI regression sees. Luma mean
    and std were tried as well and made the cross-validated linear fit worse
    (2.15 vs 1.98 CRF steps), so they are left to the CNN.
    """

    def call(self, x):
        from keras import ops

        # BGR order: luma weights of BT.601
        w = ops.convert_to_tensor([0.114, 0.587, 0.299], dtype=x.dtype)
        y = ops.sum(x[..., 0:3] * w, axis=-1, keepdims=True) * 255.0
        sx = ops.convert_to_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype)
        kx = ops.reshape(sx, (3, 3, 1, 1))
        ky = ops.reshape(ops.transpose(sx), (3, 3, 1, 1))
        gx = ops.conv(y, kx, padding="valid")
        gy = ops.conv(y, ky, padding="valid")
        si = ops.std(ops.sqrt(gx * gx + gy * gy + 1e-6), axis=(1, 2, 3))
        if x.shape[-1] >= 6:
            d = ops.sum(x[..., 3:6] * w, axis=-1) * 255.0
            ti = ops.std(d, axis=(1, 2))
        else:
            ti = ops.zeros_like(si)
        return ops.stack([si / 100.0, ti / 50.0], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2)


def _sep_block(x, filters: int, stride: int, name: str):
    x = layers.SeparableConv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_sepconv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def compact(input_shape: tuple[int, int, int] = COMPACT_INPUT_SHAPE, dropout: float = 0.3, width: int = 16,
            l2: float = 1e-2) -> keras.Model:
    """Build the compact model; `input_shape` may be reduced for tests (channels 3 or 6).

    Inputs: ``frames`` (see `compact_input`) and ``geometry`` (see `geometry_input`).
    """
    inp = keras.Input(shape=tuple(input_shape), name="frames")
    geometry = keras.Input(shape=(1,), name="geometry")
    x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inp)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    # (filters, stride): 1/2 -> 1/32 resolution; two blocks at the coarsest scales
    plan = [(2 * width, 2), (4 * width, 2), (4 * width, 1), (6 * width, 2), (6 * width, 1), (8 * width, 2), (8 * width, 1)]
    for i, (filters, stride) in enumerate(plan, start=1):
        x = _sep_block(x, filters, stride, f"block{i}")
    avg = layers.GlobalAveragePooling2D(name="gap")(x)
    # the max of the features tells "a small detailed region" apart from "detail everywhere"
    mx = layers.GlobalMaxPooling2D(name="gmp")(x)
    x = layers.Concatenate(name="pooled")([avg, mx])
    x = layers.Dropout(dropout, name="dropout")(x)
    classic = ClassicFeatures(name="classic_features")(inp)
    wide = layers.Concatenate(name="wide_features")([classic, geometry])
    deep = layers.Concatenate(name="fused")([x, wide])
    deep = layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(l2 / 10),
                        name="shared_dense")(deep)

    def head(name: str, limit: float, bias: keras.initializers.Initializer | str = "zeros"):
        # wide-and-deep: a linear term on the classic features and the source size (fitted in
        # closed form before training, see `fit_wide_heads`) plus a CNN correction bounded to
        # +-limit that starts at zero. With a few hundred labelled shots an unbounded CNN learned
        # clip-specific shortcuts (4+ CRF steps off on unseen clips in cross-validation, mean MAE
        # 2.74 vs 2.34 for SI/TI); bounded to 2 steps it still cost ~0.15 against its linear start,
        # hence 1 step and a stronger L2.
        # zeros: an untrained model sits at the output offsets, not wherever random weights put
        # raw noise statistics (SI of noise is large); `fit_wide_heads` replaces them anyway
        w = layers.Dense(1, kernel_initializer="zeros", bias_initializer=bias, name=f"{name}_wide")(wide)
        d = layers.Dense(1, use_bias=False, kernel_initializer="zeros", activation="tanh",
                         kernel_regularizer=keras.regularizers.L2(l2), name=f"{name}_deep")(deep)
        d = ScaleShift(0.0, limit, name=f"{name}_deep_bound")(d)
        return layers.Add(name=f"{name}_raw")([w, d])

    jnd1 = ScaleShift(JND1_OFFSET, JND1_SCALE, name="JND1_output")(head("JND1", DEEP_LIMIT / JND1_SCALE))
    # softplus keeps increments >= 0 (monotone levels); bias starts them near 4 steps
    inc_bias = keras.initializers.Constant(math.log(math.expm1(4.0)))
    inc2 = layers.Activation("softplus", name="JND2_increment")(head("JND2_inc", DEEP_LIMIT / 2, inc_bias))
    inc3 = layers.Activation("softplus", name="JND3_increment")(head("JND3_inc", DEEP_LIMIT / 2, inc_bias))
    jnd2 = layers.Add(name="JND2_output")([jnd1, inc2])
    jnd3 = layers.Add(name="JND3_output")([jnd2, inc3])
    return keras.Model([inp, geometry], [jnd1, jnd2, jnd3], name="compact")


def freeze_wide_heads(model: keras.Model) -> None:
    """Gradient training moves only the CNN correction (call before compiling)."""
    for name in WIDE_HEADS:
        model.get_layer(name).trainable = False


def _softplus_inv(x: np.ndarray) -> np.ndarray:
    return np.log(np.expm1(x))


def fit_wide_heads(model: keras.Model, wide_features: np.ndarray, labels: np.ndarray, ridge: float = 1e-3) -> dict:
    """Set the linear heads to the least-squares fit of the labels on the wide features; freeze them.

    ``wide_features``: [N, F] outputs of the ``wide_features`` layer for the
    training images; ``labels``: [N, 3] JND1..3. The fit is done in each
    head's raw units (JND1 = 30 + 10 raw, increments through softplus), so the
    model starts as the SI/TI+size regression and training only moves the
    bounded CNN correction. Returns the training MAE of that start per level.
    """
    x = np.concatenate([wide_features.astype(np.float64), np.ones((len(wide_features), 1))], axis=1)
    y = labels.astype(np.float64)
    incs = np.maximum(np.diff(y, axis=1), 0.25)  # softplus cannot reach 0
    targets = [(y[:, 0] - JND1_OFFSET) / JND1_SCALE, _softplus_inv(incs[:, 0]), _softplus_inv(incs[:, 1])]
    reg = ridge * len(x) * np.eye(x.shape[1])
    reg[-1, -1] = 0.0  # no penalty on the intercept
    raws = []
    for name, t in zip(WIDE_HEADS, targets):
        coef = np.linalg.solve(x.T @ x + reg, x.T @ t)
        layer = model.get_layer(name)
        layer.set_weights([coef[:-1, None].astype(np.float32), coef[-1:].astype(np.float32)])
        raws.append(x @ coef)
    freeze_wide_heads(model)
    j1 = JND1_OFFSET + JND1_SCALE * raws[0]
    j2 = j1 + np.logaddexp(0.0, raws[1])
    j3 = j2 + np.logaddexp(0.0, raws[2])
    return {"train_mae": np.abs(np.stack([j1, j2, j3], axis=1) - y).mean(axis=0).round(3).tolist()}
