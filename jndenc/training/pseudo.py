"""Pan/zoom pseudo-videos from the still photos that scikit-image ships.

README.md section "Proxy-JND labels": the real clips are few, so the label factory may add
sources made from stills (textures: grass, gravel, brick; faces; objects).
Each becomes a short lossless clip with a slow pan and zoom, so the encoder
sees real motion; labels are then computed by the same trial encodes as for
real clips, never copied.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..output import check_folder
from ..errors import UserError
from ..media.clips import write_lossless_frames

# images bundled inside scikit-image (no download at run time)
IMAGES = ("astronaut", "brick", "camera", "cat", "coffee", "coins", "grass", "gravel", "hubble_deep_field",
          "immunohistochemistry", "moon", "page", "retina", "rocket", "colorwheel", "horse", "text", "cell")


def _load(name: str) -> np.ndarray:
    try:
        import skimage.data
    except ImportError:
        raise UserError("pseudo-videos need scikit-image: pip install scikit-image") from None
    im = getattr(skimage.data, name)()
    if im.ndim == 2:
        im = np.stack([im] * 3, axis=-1)
    im = im[..., :3]
    if im.dtype != np.uint8:
        im = im.astype(float)
        im = (255 * (im - im.min()) / max(1e-9, float(im.max() - im.min()))).astype(np.uint8)
    return cv2.cvtColor(im, cv2.COLOR_RGB2BGR)


def frames_for(image_bgr: np.ndarray, size: tuple[int, int], n: int, seed: int):
    """A window of ``size`` moving and zooming smoothly across the image."""
    rng = np.random.default_rng(seed)
    w, h = size
    ih, iw = image_bgr.shape[:2]
    scale = max(w / iw, h / ih) * 1.6  # room to pan even on small images
    big = cv2.resize(image_bgr, (int(iw * scale) + 1, int(ih * scale) + 1), interpolation=cv2.INTER_CUBIC)
    bh, bw = big.shape[:2]
    z0, z1 = rng.uniform(1.0, 1.25, 2)
    x0, y0 = rng.uniform(0, 1, 2)
    x1, y1 = rng.uniform(0, 1, 2)
    for i in range(n):
        t = i / max(1, n - 1)
        z = z0 + (z1 - z0) * t
        cw, ch = min(bw, int(w * z)), min(bh, int(h * z))
        cx = int((x0 + (x1 - x0) * t) * (bw - cw))
        cy = int((y0 + (y1 - y0) * t) * (bh - ch))
        yield cv2.resize(big[cy:cy + ch, cx:cx + cw], (w, h), interpolation=cv2.INTER_AREA)


def make_pseudo_clips(out_dir: str | os.PathLike, size: tuple[int, int] = (384, 216), seconds: float = 3.0,
                      fps: int = 25, names: tuple[str, ...] = IMAGES, seed: int = 0) -> list[Path]:
    out = Path(out_dir)
    check_folder(out, "output folder")
    paths = []
    for k, name in enumerate(names):
        dst = out / f"pseudo_{name}.mkv"
        paths.append(dst)
        if dst.exists():
            continue
        frames = frames_for(_load(name), size, int(seconds * fps), seed + k)
        write_lossless_frames(dst, frames, size, fps)
    return paths
