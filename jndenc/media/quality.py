"""Full-reference quality (VMAF vmaf_v0.6.1, PSNR-Y, SSIM) between two videos via FFmpeg's libvmaf.

One libvmaf pass computes all three (its ``psnr`` and ``float_ssim`` features),
so asking for PSNR as well as VMAF costs little. Both inputs are aligned
by frame index (so a trimmed encode lines up with its reference), the same
pixel format, and the distorted video is scaled to the reference size when
they differ.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .ffargs import VMAF_FEATURES, VMAF_MODEL, quality_args, quality_graph, threads_per_job  # noqa: F401 - VMAF_MODEL re-exported
from .ffbin import require
from .runner import run_ffmpeg

METRICS = ("vmaf", "psnr", "ssim")
_KEYS = {"vmaf": "vmaf", "psnr": "psnr_y", "ssim": "float_ssim"}


@dataclass
class Quality:
    """Per-frame scores; pooled values via `pool`."""

    frames: dict[str, np.ndarray]

    def pool(self, metric: str = "vmaf", how: str = "mean") -> float:
        v = self.frames[metric]
        v = v[~np.isnan(v)]  # frames not scored (subsampling) or a metric not computed
        if v.size == 0:
            return float("nan")
        if how == "mean":
            if metric == "psnr":  # libvmaf caps identical frames at 60 dB; guard against inf anyway
                v = np.minimum(v, 100.0)
            return float(np.mean(v))
        if how.startswith("p") and how[1:].isdigit():
            return float(np.percentile(v, int(how[1:])))
        if how == "min":
            return float(np.min(v))
        if how == "harmonic":
            return float(len(v) / np.sum(1.0 / (v + 1.0)) - 1.0)
        raise ValueError(f"unknown pooling {how!r} (mean, min, harmonic, pN)")

    def summary(self) -> dict[str, float]:
        out = {}
        for m in self.frames:
            out[f"{m}_mean"] = self.pool(m)
            out[f"{m}_p5"] = self.pool(m, "p5")
        return out


def compare(
    distorted: str | os.PathLike,
    reference: str | os.PathLike,
    *,
    ref_range: tuple[int, int] | None = None,
    size: tuple[int, int] | None = None,
    bit_depth: int = 8,
    threads: int | None = None,
    features: Sequence[str] = VMAF_FEATURES,
    subsample: int = 1,
    sample: tuple[int, int] | None = None,
    name: str | os.PathLike | None = None,
    on_frame=None,
) -> Quality:
    """Compare ``distorted`` with ``reference`` (optionally frames [a, b) of it).

    ``size`` is the reference (w, h); when given, the distorted video is scaled
    to it (bicubic), which is what VMAF's model expects. ``features`` are the
    extra libvmaf features (PSNR, SSIM; ``()`` for VMAF alone, which is cheaper);
    with ``subsample`` N only every Nth frame is scored and the others are NaN; with ``sample`` (W, P) runs of W
    frames out of every P are scored (`jndenc.media.ffargs.sample_expr`) and the others are NaN.
    """
    require("libvmaf")
    with tempfile.TemporaryDirectory(prefix="jndenc-q-") as tmp:
        log = os.path.join(tmp, "vmaf.json")
        graph = quality_graph(log, bit_depth=bit_depth, ref_range=ref_range, size=size,
                              threads=threads or threads_per_job(None, 1), features=features, subsample=subsample,
                              sample=sample)
        run_ffmpeg(quality_args(distorted, reference, graph), what=f"measuring VMAF of {name or distorted}",
                   on_frame=on_frame)
        with open(log) as fh:
            data = json.load(fh)
    frames = data.get("frames", [])
    # frameNum places each score at its frame: with subsampling the frames between stay NaN
    idx = [int(f.get("frameNum", i)) for i, f in enumerate(frames)]
    if sample is not None:  # the log numbers the selected frames; put each back at its source index
        run, period = sample
        idx = [(k // run) * period + k % run for k in idx]
    n = max(idx) + 1 if idx else 0
    out = {}
    for m, k in _KEYS.items():
        v = np.full(n, np.nan)
        v[idx] = [f["metrics"].get(k, np.nan) for f in frames]
        out[m] = v
    return Quality(out)
