"""Benchmark inputs and cache: clip lists, lossless trimmed sources, and the JSON result cache.

Every expensive result (an encode and its metrics, a JND analysis, a clip's
probe) is one JSON file under ``OUT/_cache``, keyed by `_key` over the clip's
SHA-256, the frame limit and whatever else determines the result, so a rerun
only computes what is missing and an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import UserError

VIDEO_EXT = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".264", ".h264", ".265", ".hevc", ".ts", ".m4v", ".y4m",
             ".mpg", ".mpeg"}
CACHE_VERSION = 1


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def list_clips(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    clips: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            clips += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in VIDEO_EXT)
        elif p.is_file():
            clips.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    if not clips:
        raise UserError("no video clips found in " + ", ".join(map(str, inputs)))
    return clips


def select_clips(clips: Sequence[Path], max_clips: int | None) -> list[Path]:
    """A deterministic, evenly spread subset (by name order) when ``max_clips`` is set."""
    clips = sorted(clips, key=lambda p: p.name)
    if not max_clips or len(clips) <= max_clips:
        return list(clips)
    idx = np.unique(np.round(np.linspace(0, len(clips) - 1, max_clips)).astype(int))
    return [clips[i] for i in idx]


class Cache:
    """One JSON file per key under ``root``; written atomically."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> dict | None:
        p = self.root / f"{key}.json"
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, rec: dict) -> dict:
        tmp = self.root / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(rec))
        os.replace(tmp, self.root / f"{key}.json")
        return rec


def prepare_source(clip: Path, out: Path, max_frames: int | None, bit_depth: int) -> Path:
    """First ``max_frames`` frames of ``clip`` as lossless x264 (all encodes and metrics use it)."""
    from ..runner import run_ffmpeg

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
