"""Paper-exact MTJND builders (Nami et al., ICIP 2023): MT_3LJND, MT_1LJND_VA, MT_3LJND_VA.

The backbone is Keras VGG16 (include_top=False) built *flat* into the model,
as the authors did (`Model(vgg.input, ...)`), so that layer names
(`block1_conv1` ... `block5_pool`, `JND1_output` ...) match their published
`.h5` checkpoints and weights can be loaded by layer name.

Measured on 2 CPU cores shared with other jobs (TF 2.21, oneDNN, graph mode):
MT_3LJND at 270x480 has 62,000,451 parameters (14.7 M in VGG16, 47.2 M in the
three 61,440->256 Dense layers) and runs at 0.48-0.74 s/frame with batch 4.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ..errors import UserError, first_line
from .attention import VA_OUTPUT, va_decoder

PAPER_INPUT_SHAPE = (270, 480, 3)
FROZEN_LAYERS = 10  # layers[0:10]: the input layer and VGG blocks 1-3
VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _resolve_backbone_weights(backbone_weights: str | None) -> str | None:
    """Map 'imagenet' to the cached file; never download (machines may be offline)."""
    if backbone_weights is None:
        return None
    if backbone_weights == "imagenet":
        path = _keras_cache_dir() / VGG16_NOTOP_FILE
        if not path.is_file():
            raise UserError(
                f"ImageNet VGG16 weights are not in the Keras cache; jndenc never downloads at run time. "
                f"Copy {VGG16_NOTOP_FILE} to {path}, or train from scratch (drop --backbone_weights imagenet; "
                "backbone_weights=None in Python)"
            )
        return str(path)
    if not Path(backbone_weights).is_file():
        raise UserError(f"backbone weights file not found: {backbone_weights}")
    return str(backbone_weights)


def _backbone(input_shape: tuple[int, int, int], backbone_weights: str | None):
    """VGG16 without top; returns (input tensor, block5_pool tensor)."""
    import keras

    h, w, c = input_shape
    if h < 32 or w < 32:
        raise UserError(f"VGG16 needs an input of at least 32x32, got {h}x{w}")
    inp = keras.Input(shape=tuple(input_shape), name="input_1")
    weights = _resolve_backbone_weights(backbone_weights)
    try:
        vgg = keras.applications.VGG16(include_top=False, weights=weights, input_tensor=inp)
    except ValueError as exc:  # an image, another model's weights: Keras' message ran to 32 lines
        raise UserError(f"--backbone_weights {backbone_weights}: not VGG16 weights without the top "
                        f"({first_line(exc, 160)})") from None
    for layer in vgg.layers[0:FROZEN_LAYERS]:
        layer.trainable = False
    return inp, vgg.get_layer("block5_pool").output


def _jnd_head(flat, name: str, prefix: str):
    from keras import layers

    x = layers.Dense(256, activation="relu", name=f"{prefix}_dense256")(flat)
    x = layers.Dense(128, activation="relu", name=f"{prefix}_dense128")(x)
    return layers.Dense(1, activation="relu", name=name)(x)


def MT_3LJND(input_shape: tuple[int, int, int] = PAPER_INPUT_SHAPE, backbone_weights: str | None = None):
    """Three JND levels from a shared VGG16: outputs JND1_output, JND2_output, JND3_output."""
    import keras
    from keras import layers

    inp, feat = _backbone(input_shape, backbone_weights)
    flat = layers.Flatten(name="flatten")(feat)
    outs = [_jnd_head(flat, f"JND{k}_output", f"JND{k}") for k in (1, 2, 3)]
    return keras.Model(inp, outs, name="MT_3LJND")


def MT_1LJND_VA(input_shape: tuple[int, int, int] = PAPER_INPUT_SHAPE, backbone_weights: str | None = None):
    """One JND level (trained once per column) plus the VA map: outputs JND_output, VA_output."""
    import keras
    from keras import layers

    inp, feat = _backbone(input_shape, backbone_weights)
    flat = layers.Flatten(name="flatten")(feat)
    jnd = _jnd_head(flat, "JND_output", "JND")
    return keras.Model(inp, [jnd, va_decoder(feat, VA_OUTPUT)], name="MT_1LJND_VA")


def MT_3LJND_VA(input_shape: tuple[int, int, int] = PAPER_INPUT_SHAPE, backbone_weights: str | None = None):
    """Three JND levels plus the VA map: outputs JND1_output..JND3_output, VA_output."""
    import keras
    from keras import layers

    inp, feat = _backbone(input_shape, backbone_weights)
    flat = layers.Flatten(name="flatten")(feat)
    outs = [_jnd_head(flat, f"JND{k}_output", f"JND{k}") for k in (1, 2, 3)]
    return keras.Model(inp, outs + [va_decoder(feat, VA_OUTPUT)], name="MT_3LJND_VA")
