"""Benchmark inputs and cache: an evenly spread clip subset and the JSON result cache.

Every expensive result (an encode and its metrics, a JND analysis, a clip's
probe) is one JSON file under ``OUT/_cache``, keyed by `_key` over the clip's
SHA-256, the frame limit and whatever else determines the result, so a rerun
only computes what is missing and an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ..fileio import write_text_atomic

# raised when encodes change for the same key: 2, AV1 and VP9 segments at x264's key-frame interval; 3, balanced
# measures on every 5th frame; 4, on every 3rd, rechecked by its standard error, SVT-AV1 with quantisation matrices;
# 5, SVT-AV1 with its screen-content tools on every frame; 6, without them again; 7, secant steps limited; 8, a
# point's bytes are its video stream's (the file's before)
CACHE_VERSION = 8


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


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
        write_text_atomic(self.root / f"{key}.json", json.dumps(rec))
        return rec
