"""Clip files: which files count as video, their content hash, and the lossless working copy.

Benchmarks, calibration and dataset building all read clips from folders and
measure against a lossless cut of the source; they share these helpers.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

from ..errors import UserError
from .runner import run_ffmpeg

VIDEO_EXT = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mxf", ".ts", ".mts", ".m2ts", ".mpg",
                       ".mpeg", ".264", ".h264", ".265", ".hevc", ".y4m", ".flv", ".wmv", ".3gp", ".ogv"})


def is_video_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXT


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_clips(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files given directly, plus the video files (sorted) of every folder given; at least one overall."""
    inputs = list(inputs)
    clips: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            clips += sorted(q for q in p.iterdir() if q.is_file() and is_video_file(q))
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
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.mkv")
    pix = "yuv420p10le" if bit_depth > 8 else "yuv420p"
    args = ["-i", str(clip), "-map", "0:v:0", "-an", "-sn", "-dn"]
    if max_frames:
        args += ["-frames:v", str(int(max_frames))]
    args += ["-vf", f"format={pix}", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", str(tmp)]
    try:
        run_ffmpeg(args, what=f"cutting a lossless source from {clip}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
