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

import numpy as np

from .ffbin import require
from .runner import run_ffmpeg

VMAF_MODEL = "vmaf_v0.6.1"
METRICS = ("vmaf", "psnr", "ssim")
_KEYS = {"vmaf": "vmaf", "psnr": "psnr_y", "ssim": "float_ssim"}


@dataclass
class Quality:
    """Per-frame scores; pooled values via `pool`."""

    frames: dict[str, np.ndarray]

    def pool(self, metric: str = "vmaf", how: str = "mean") -> float:
        v = self.frames[metric]
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


def _pix(bit_depth: int) -> str:
    return "yuv420p10le" if bit_depth > 8 else "yuv420p"


def compare(
    distorted: str | os.PathLike,
    reference: str | os.PathLike,
    *,
    ref_range: tuple[int, int] | None = None,
    size: tuple[int, int] | None = None,
    bit_depth: int = 8,
    threads: int | None = None,
    subsample: int = 1,
) -> Quality:
    """Compare ``distorted`` with ``reference`` (optionally frames [a, b) of it).

    ``size`` is the reference (w, h); when given, the distorted video is scaled
    to it (bicubic), which is what VMAF's model expects.
    """
    require("libvmaf")
    threads = threads or max(1, os.cpu_count() or 1)
    pix = _pix(bit_depth)
    # Align by frame index, not timestamp: containers round timestamps
    # differently (mkv keeps ms), and framesync would then pair wrong frames.
    by_index = "settb=1/25,setpts=N"
    ref_chain = by_index
    if ref_range is not None:
        ref_chain = f"trim=start_frame={ref_range[0]}:end_frame={ref_range[1]},{by_index}"
    dist_chain = by_index
    if size is not None:
        dist_chain += f",scale={size[0]}:{size[1]}:flags=bicubic"
    with tempfile.TemporaryDirectory(prefix="jndenc-q-") as tmp:
        log = os.path.join(tmp, "vmaf.json")
        graph = (
            f"[0:v]{dist_chain},format={pix}[d];[1:v]{ref_chain},format={pix}[r];"
            f"[d][r]libvmaf=model=version={VMAF_MODEL}:feature='name=psnr|name=float_ssim'"
            f":log_fmt=json:log_path={log}:n_threads={threads}:n_subsample={subsample}"
        )
        run_ffmpeg(["-i", str(distorted), "-i", str(reference), "-lavfi", graph, "-f", "null", "-"],
                   what=f"measuring VMAF of {distorted}")
        with open(log) as fh:
            data = json.load(fh)
    frames = data.get("frames", [])
    return Quality({m: np.array([f["metrics"].get(k, np.nan) for f in frames], dtype=float) for m, k in _KEYS.items()})
