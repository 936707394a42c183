"""Visual-attention (VA) tail and the saliency pseudo-label used without `va/` maps.

The MTJND paper shows a decoder tail that turns the shared backbone features
into a saliency map but publishes no code for it, so jndenc defines one: three
upsampling stages from the backbone's last feature map to a one-channel
sigmoid map (8x upsampling: 8x15 -> 64x120 at the paper's 270x480 input).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np

VA_OUTPUT = "VA_output"


def va_decoder(features, name: str = VA_OUTPUT, widths: tuple[int, ...] = (128, 64, 32)):
    """Upsampling decoder: features [B,h,w,C] -> sigmoid saliency map [B,8h,8w,1]."""
    from keras import layers

    x = features
    for i, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"va_conv{i}")(x)
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"va_up{i}")(x)
    return layers.Conv2D(1, 3, padding="same", activation="sigmoid", name=name)(x)


def spectral_residual_saliency(image_bgr: np.ndarray, out_hw: tuple[int, int], work_width: int = 64) -> np.ndarray:
    """Spectral-residual saliency (Hou & Zhang, CVPR 2007) as a float32 map in [0, 1].

    Used as the VA pseudo-label when a dataset has no `va/` folder: it is cheap,
    needs no training data, and marks the regions that stand out from the
    image's average spectrum, which is what the VA task is meant to teach the
    backbone to notice.
    """
    img = image_bgr
    if img.ndim == 3:
        img = cv2.cvtColor(img.astype(np.uint8) if img.dtype != np.uint8 else img, cv2.COLOR_BGR2GRAY)
    img = img.astype(np.float32)
    h, w = img.shape[:2]
    work_h = max(8, int(round(h * work_width / max(w, 1))))
    small = cv2.resize(img, (work_width, work_h), interpolation=cv2.INTER_AREA)
    spectrum = np.fft.fft2(small)
    amp = np.abs(spectrum)
    # floor the amplitude: exact spectral zeros (flat synthetic images) would
    # otherwise dominate the residual with huge negative logs
    log_amp = np.log(amp + 1e-2 * amp.mean() + 1e-8).astype(np.float32)
    phase = np.angle(spectrum)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), sigmaX=2.5)
    sal = cv2.resize(sal, (out_hw[1], out_hw[0]), interpolation=cv2.INTER_LINEAR)
    lo, hi = float(sal.min()), float(sal.max())
    if hi - lo < 1e-12:
        return np.zeros(out_hw, np.float32)
    return ((sal - lo) / (hi - lo)).astype(np.float32)
