"""ITU-T P.910 spatial / temporal information, the features of the accuracy benchmark's SI/TI baseline.

SI = max over frames of std(Sobel magnitude of luma) (border pixels excluded);
TI = max over frame pairs of std(luma difference). Per shot they are taken on
``k`` frames sampled inside the shot at 480x270, the same convention
`jndenc dataset build` uses for the ``si``/``ti`` columns of ``features.csv``,
so a regression fitted on a dataset's training split applies to new shots.
(With k sampled frames TI is over sampled pairs, not strictly consecutive
frames; ``consecutive=True`` adds each sample's previous frame, P.910's TI.)
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..media.decode import iter_frames

FEATURE_SIZE = (480, 270)


def _luma(img: np.ndarray) -> np.ndarray:
    import cv2

    if img.ndim == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return img.astype(np.float32)


def si_ti(frames: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]] | None = None) -> tuple[float, float]:
    """(SI, TI) of frames (BGR or luma). ``pairs``: (prev, cur) index pairs for TI; default consecutive items."""
    import cv2

    ys = [_luma(f) for f in frames]
    si = []
    for y in ys:
        sob = np.hypot(cv2.Sobel(y, cv2.CV_32F, 1, 0), cv2.Sobel(y, cv2.CV_32F, 0, 1))
        si.append(float(sob[1:-1, 1:-1].std()))
    if pairs is None:
        pairs = [(i - 1, i) for i in range(1, len(ys))]
    ti = [float((ys[b] - ys[a]).std()) for a, b in pairs]
    return (max(si) if si else 0.0), (max(ti) if ti else 0.0)


def sample_positions(start: int, end: int, k: int = 3) -> list[int]:
    """k frames evenly inside [start, end), never the shot's first frame (as the dataset builder does)."""
    a, b = start, end
    a = min(max(a, start + 1), b - 1) if b - a > 1 else a
    return sorted(set(np.linspace(a, b - 1, k + 2)[1:-1].round().astype(int).tolist())) or [a]


def shot_features(src: str | os.PathLike, shots: Sequence[tuple[int, int]], k: int = 3,
                  size: tuple[int, int] = FEATURE_SIZE, consecutive: bool = False) -> list[tuple[float, float]]:
    """(SI, TI) per shot of ``src`` in one decode pass."""
    positions = [sample_positions(a, b, k) for a, b in shots]
    wanted = {p for pos in positions for p in pos}
    if consecutive:
        wanted |= {p - 1 for pos in positions for p in pos if p > 0}
    frames: dict[int, np.ndarray] = {}
    last = max(wanted) if wanted else -1
    for fr in iter_frames(src, size=size):
        if fr.index in wanted:
            frames[fr.index] = fr.image
        if fr.index >= last:
            break
    out = []
    for pos in positions:
        have = [p for p in pos if p in frames]
        if not have:
            out.append((float("nan"), float("nan")))
            continue
        if consecutive:
            seq = sorted(set(have) | {p - 1 for p in have if p - 1 in frames})
            idx = {p: i for i, p in enumerate(seq)}
            pairs = [(idx[p - 1], idx[p]) for p in have if p - 1 in idx]
            si, _ = si_ti([frames[p] for p in have])
            _, ti = si_ti([frames[p] for p in seq], pairs)
            out.append((si, ti))
        else:
            out.append(si_ti([frames[p] for p in have]))
    return out


def fit_linear(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Least-squares weights for labels ~ [1, si, ti] (one column of weights per label level)."""
    x = np.column_stack([np.ones(len(features)), np.asarray(features, dtype=float)])
    w, *_ = np.linalg.lstsq(x, np.asarray(labels, dtype=float), rcond=None)
    return w


def predict_linear(w: np.ndarray, features: np.ndarray) -> np.ndarray:
    x = np.column_stack([np.ones(len(features)), np.asarray(features, dtype=float)])
    return np.sort(x @ w, axis=1)  # levels are monotone
