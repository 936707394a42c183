"""Full-reference quality (VMAF, vmaf_v0.6.1 unless another model is named; PSNR-Y, SSIM) between two videos via
FFmpeg's libvmaf.

One libvmaf pass computes all three (its ``psnr`` and ``float_ssim`` features),
so asking for PSNR as well as VMAF costs little. Both inputs are aligned
by frame index (so a trimmed encode lines up with its reference), the same
pixel format, and the distorted video is scaled to the reference size when
they differ. Two videos of different lengths are refused, not scored.
"""
from __future__ import annotations

import functools
import json
import numbers
import os
import tempfile
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import JndencError, UserError
from .decode import count_packets
from .ffargs import VMAF_FEATURES, VMAF_MODEL, VMAF_MODELS, libvmaf_filter, quality_args, quality_graph, threads_per_job
from .ffbin import require
from .probe import probe
from .runner import run_ffmpeg

@functools.lru_cache(maxsize=None)
def has_model(model: str) -> bool:
    """Whether this FFmpeg's libvmaf loads ``model`` (one of `jndenc.media.ffargs.VMAF_MODELS`): two 64x64 frames
    scored with it. A libvmaf built without its built-in models, or an older one, lacks some or all of them."""
    graph = f"[0:v][1:v]{libvmaf_filter(os.devnull, features=(), model=model)}"
    try:
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-f", "lavfi", "-i",
                    "testsrc2=size=64x64:rate=25", "-frames:v", "2", "-lavfi", graph, "-f", "null", "-"],
                   what=f"loading the VMAF model {model}")
    except JndencError:
        return False
    return True


def require_model(model: str) -> None:
    """A one-line `UserError` where ``model`` is none of `jndenc.media.ffargs.VMAF_MODELS` or this FFmpeg's libvmaf
    cannot load it, before any work."""
    if model not in VMAF_MODELS:
        raise UserError(f"--vmaf-model: one of {', '.join(VMAF_MODELS)}, not {model!r}")
    require("libvmaf")
    if not has_model(model):
        raise UserError(f"--vmaf-model {model}: this FFmpeg's libvmaf cannot load it (built without its built-in "
                        "models?); `jndenc doctor` lists the models it has")


METRICS = ("vmaf", "psnr", "ssim")
_KEYS = {"vmaf": "vmaf", "psnr": "psnr_y", "ssim": "float_ssim"}


def valid_pooling(how: str) -> bool:
    """Whether `Quality.pool` can apply ``how``: mean, min, harmonic, or pN with N within 0..100."""
    return how in ("mean", "min", "harmonic") or (how[:1] == "p" and how[1:].isdigit() and int(how[1:]) <= 100)


@dataclass
class Quality:
    """Per-frame scores; pooled values via `pool`."""

    frames: dict[str, np.ndarray]

    def pool(self, metric: str = "vmaf", how: str = "mean") -> float:
        if metric not in self.frames:
            raise ValueError(f"unknown metric {metric!r} ({', '.join(self.frames)})")
        if not valid_pooling(how):
            raise ValueError(f"unknown pooling {how!r} (mean, min, harmonic, pN)")
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
        return float(len(v) / np.sum(1.0 / (v + 1.0)) - 1.0)  # harmonic

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
    model: str = VMAF_MODEL,
) -> Quality:
    """Compare ``distorted`` with ``reference`` (optionally frames [a, b) of it).

    ``size`` is the reference (w, h); the distorted video is scaled to it (bicubic), which is what VMAF's model
    expects; None: the reference's own size, where the distorted video's differs. ``features`` are the
    extra libvmaf features (PSNR, SSIM; ``()`` for VMAF alone, which is cheaper);
    with ``subsample`` N only every Nth frame is scored and the others are NaN; with ``sample`` (W, P) runs of W
    frames out of every P are scored (`jndenc.media.ffargs.sample_expr`) and the others are NaN; ``model``: the
    libvmaf model (`jndenc.media.ffargs.VMAF_MODELS`); ``threads``: libvmaf's and each decoder's (default: the
    cores).

    A missing or unreadable file is an `InputError`, two lengths (the distorted video against the reference, or
    against ``ref_range`` of it) a `UserError`.
    """
    require("libvmaf")
    if size is None:
        # libvmaf takes one size only: two sizes failed as "FFmpeg failed while measuring VMAF"
        ref_size = _shown_size(reference)
        if _shown_size(distorted) != ref_size:
            size = ref_size
    with tempfile.TemporaryDirectory(prefix="jndenc-q-") as tmp:
        log = os.path.join(tmp, "vmaf.json")
        # libvmaf and both decoders on ``threads``: a batch's verifies side by side share the cores
        threads = threads or threads_per_job(None, 1)
        graph = quality_graph(log, bit_depth=bit_depth, ref_range=ref_range, size=size, threads=threads,
                              features=features, subsample=subsample, sample=sample, model=model)
        run_ffmpeg(quality_args(distorted, reference, graph, threads=threads),
                   what=f"measuring VMAF of {name or distorted}", on_frame=on_frame)
        with open(log) as fh:
            data = json.load(fh)
    frames = data.get("frames", [])
    # frameNum places each score at its frame: with subsampling the frames between stay NaN
    idx = [int(f.get("frameNum", i)) for i, f in enumerate(frames)]
    if sample is not None:  # the log numbers the selected frames; put each back at its source index
        run, period = sample
        idx = [(k // run) * period + k % run for k in idx]
    n = max(idx) + 1 if idx else 0
    if sample is None:
        _same_length(distorted, reference, n, ref_range)
    out = {}
    for m, k in _KEYS.items():
        v = np.full(n, np.nan)
        v[idx] = [f["metrics"].get(k, np.nan) for f in frames]
        out[m] = v
    return Quality(out)


def _shown_size(path: str | os.PathLike) -> tuple[int, int]:
    """(w, h) of ``path``'s video as FFmpeg's filters get it (turned upright); an `InputError` where it cannot."""
    info = probe(path, count_frames=False)
    return (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)


def _same_length(distorted, reference, scored: int, ref_range) -> None:
    """Refuse a comparison of two lengths: libvmaf holds the shorter video's last frame against the rest of the
    longer one and scores it, so the pooled VMAF came out far below either video's quality, with no error.
    It scores as many frames as the longer one has; a file's packets bound its frames from above (a damaged tail
    loses frames, never adds them), so more scores than one side's packets is a mismatch, and a damaged source
    beside its complete encode is not."""
    d = count_packets(distorted).frames
    if ref_range is None:
        r, where = count_packets(reference).frames, str(reference)
    else:
        windows = [ref_range] if isinstance(ref_range[0], numbers.Integral) else list(ref_range)
        r, where = sum(int(b) - int(a) for a, b in windows), f"ref_range {ref_range} of {reference}"
    if scored > d or scored > r:
        raise UserError(f"{distorted}: {d} frames against {r} in {where}: VMAF pairs frame i with frame i, so both "
                        "need the same number of frames")
