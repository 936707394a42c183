"""Model inputs built from decoded frames, without TensorFlow.

The predictor on the light runtime (see `jndenc.runtime`) and the training
reader share these, so inference never imports Keras just to build an input.
`jndenc.models.compact` re-exports them.
"""
from __future__ import annotations

import math

import numpy as np

COMPACT_INPUT_HW = (144, 256)
COMPACT_CHANNELS = 6
COMPACT_INPUT_SHAPE = (*COMPACT_INPUT_HW, COMPACT_CHANNELS)
DEFAULT_SOURCE_SIZE = (1920, 1080)  # assumed when a frame's source size is unknown (VideoSet's largest)


def geometry_input(width: int, height: int) -> np.ndarray:
    """The source frame size as the model's second input: float32 [1], log2 of the pixel count, centred.

    The frames are resized to 256x144 before the model sees them, so without
    this it could not tell a QCIF clip from a 1080p one, yet at the same CRF
    x264 spends bits and VMAF judges detail very differently at the two sizes
    (on the proxy labels, resolution correlates with JND1 more than SI or TI do).
    """
    return np.array([(math.log2(max(1, int(width) * int(height))) - 18.0) / 4.0], np.float32)


def compact_input(frames_bgr: np.ndarray, prev_bgr: np.ndarray | None = None) -> np.ndarray:
    """uint8 BGR frames [..., H, W, 3] (+ previous frames, same shape) -> float32 [..., H, W, 6].

    Single definition of the 6-channel input so that the dataset reader and
    the predictor cannot drift apart.
    """
    cur = frames_bgr.astype(np.float32) / 255.0
    if prev_bgr is None:
        motion = np.zeros_like(cur)
    else:
        if prev_bgr.shape != frames_bgr.shape:
            raise ValueError(f"prev shape {prev_bgr.shape} != frames shape {frames_bgr.shape}")
        motion = cur - prev_bgr.astype(np.float32) / 255.0
    return np.concatenate([cur, motion], axis=-1)
