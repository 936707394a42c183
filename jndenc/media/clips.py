"""Clip files: which files count as video, their content hash, and the lossless working copy.

Benchmarks, calibration and dataset building all read clips from folders and
measure against a lossless cut of the source; they share these helpers.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import UserError
from .ffargs import lossless_args, raw_input_args
from .runner import write_atomic

# what a folder batch picks up without --pattern: every extension of a container or stream FFmpeg reads that a
# camera, a disc, a broadcast capture or an encoder writes (a DVD's .vob, an HDV tape's .m2t, a raw .m2v or .ivf)
VIDEO_EXT = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mxf", ".ts", ".mts", ".m2ts", ".m2t",
                       ".mpg", ".mpeg", ".vob", ".mod", ".m1v", ".m2v", ".264", ".h264", ".265", ".hevc", ".ivf",
                       ".obu", ".y4m", ".dv", ".nut", ".flv", ".f4v", ".wmv", ".asf", ".3gp", ".ogv"})


def is_video_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXT


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_clips(inputs: Iterable[str | os.PathLike], *, each: bool = False) -> list[Path]:
    """Files given directly, plus the video files (sorted) of every folder given; at least one overall.

    ``each``: every folder must hold at least one (a dataset build names its
    folders on purpose, so an empty one is a mistake, not something to skip).
    """
    inputs = list(inputs)
    clips: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and is_video_file(q))
            if each and not found:
                raise UserError(f"{p}: no video files ({', '.join(sorted(VIDEO_EXT))})")
            clips += found
        elif p.is_file():
            clips.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    if not clips:
        raise UserError("no video clips found in " + ", ".join(map(str, inputs)))
    return clips


def prepare_source(clip: Path, out: Path, max_frames: int | None, bit_depth: int) -> Path:
    """First ``max_frames`` frames of ``clip`` as lossless x264 (all encodes and metrics use it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        return out
    return write_atomic(out, lambda tmp: lossless_args(clip, tmp, bit_depth=bit_depth, max_frames=max_frames),
                        what=f"cutting a lossless source from {clip}")


def write_lossless_frames(dst: Path, frames: Iterable[np.ndarray], size: tuple[int, int], fps: float) -> None:
    """BGR ``frames`` of ``size`` (w, h) written to ``dst`` as a lossless clip at ``fps``; ``dst`` appears only
    once complete (the generated label sources: pseudo-videos, synthetic clips)."""
    write_atomic(dst, lambda tmp: lossless_args("-", tmp, input_args=raw_input_args(size, fps)),
                 what=f"writing {dst.name}", feed=(np.ascontiguousarray(f).tobytes() for f in frames))
