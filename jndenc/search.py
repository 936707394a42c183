"""The oracle: per-shot bisection over CRF with trial encodes and a full-reference metric.

JND_k is the largest integer CRF whose pooled metric (VMAF by default) against
the source stays at or above T_k (README.md section "Proxy-JND labels"). The same code labels
training data (`jndenc dataset build`) and drives `--mode search`.

Each shot is first cut once from the source into a lossless reference
(x264 ``-qp 0``, one pass with the segment muxer), so every trial encodes and
measures only its own shot instead of decoding the source from the start.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

import numpy as np

from .errors import UserError
from .planner import CODECS
from .media.ffargs import encode_args, lossless_args, threads_per_job, trial_window, window_chain
from .media.quality import compare, valid_pooling
from .media.runner import run_ffmpeg

DEFAULT_THRESHOLDS = (94.0, 88.0, 82.0)
_METRIC_TOP = {"vmaf": 100.0, "psnr": 100.0, "ssim": 1.0}


def check_thresholds(thresholds: Sequence[float], metric: str = "vmaf", flag: str = "--thresholds") -> None:
    """Refuse thresholds that define no JND levels: one per level (T1, T2, T3), each below the last (JND level k is
    the CRF where quality falls below T_k), within the metric's scale."""
    th = tuple(float(t) for t in thresholds)
    if metric != "vmaf" and th == tuple(DEFAULT_THRESHOLDS):
        # the defaults are VMAF scores: as PSNR (dB) every level would sit near lossless, and fall to --min-crf
        raise UserError(f"--metric {metric} needs {flag} in its own units (the defaults "
                        f"{','.join(f'{t:g}' for t in DEFAULT_THRESHOLDS)} are VMAF scores)")
    top = _METRIC_TOP.get(metric, 100.0)
    if len(th) != len(DEFAULT_THRESHOLDS) or any(not 0 < t <= top for t in th) or any(a <= b for a, b in zip(th, th[1:])):
        raise UserError(f"{flag}: {len(DEFAULT_THRESHOLDS)} falling {metric.upper()} values within 0..{top:g} "
                        f"(T1,T2,T3 as {','.join(f'{t:g}' for t in DEFAULT_THRESHOLDS)} for VMAF), "
                        f"not {','.join(f'{t:g}' for t in th)}")


def check_pool(pool: str, flag: str = "--pool") -> None:
    """Refuse a pooling `jndenc.media.quality.Quality.pool` cannot apply: left to the trials, it failed as an internal
    error once the first trial encode had run."""
    if not valid_pooling(pool):
        raise UserError(f"{flag}: mean, min, harmonic or pN with N within 0..100 (p5: the 5th percentile), not {pool!r}")


T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class SearchOptions:
    codec: str = "x264"
    preset: str = "medium"
    metric: str = "vmaf"
    pool: str = "mean"
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    min_crf: int = 10
    max_crf: int = 51
    rate_control: str = "crf"  # or "qp"
    max_trial_seconds: float | None = None  # encode only the middle N s of long shots


@dataclass
class Trial:
    crf: int
    bytes: int
    score: float
    seconds: float


@dataclass
class ShotSearch:
    start_frame: int
    end_frame: int
    jnd: list[int]
    trials: list[Trial] = field(default_factory=list)
    window: tuple[int, int] | None = None  # frames (relative to the shot) the trials measured; None = all

    def to_dict(self) -> dict:
        return asdict(self)


def extract_references(src: str | os.PathLike, shots: Sequence[tuple[int, int]], out_dir: str | os.PathLike,
                       bit_depth: int = 8) -> list[Path]:
    """Cut ``src`` into one lossless file per shot, in one decode pass."""
    out_dir = Path(out_dir)
    args = lossless_args(src, out_dir / "ref_%05d.mkv", bit_depth=bit_depth, segment_frames=[a for a, _ in shots[1:]])
    run_ffmpeg(args, what=f"cutting {src} into shot references")
    refs = sorted(out_dir.glob("ref_*.mkv"))
    if len(refs) != len(shots):
        raise RuntimeError(f"expected {len(shots)} shot references, FFmpeg wrote {len(refs)}")
    return refs


MAX_WINDOW_TERMS = 60  # FFmpeg's expression parser gives up on sums of ~100 terms


def extract_windows(src: str | os.PathLike, ranges: Sequence[tuple[int, int]], out_dir: str | os.PathLike,
                    bit_depth: int = 8) -> list[Path] | None:
    """One lossless file per absolute frame range [a, b) (sorted, disjoint), in one decode pass.

    Trials of a window then encode and measure only its frames, instead of decoding the whole shot's
    reference to trim it, twice a trial. None when there are too many ranges for one ``select``.
    """
    if not ranges or len(ranges) > MAX_WINDOW_TERMS:
        return None
    out_dir = Path(out_dir)
    cuts = np.cumsum([b - a for a, b in ranges])[:-1].tolist()
    # timestamps kept (not renumbered): a trial of a window then encodes exactly as if trimmed from the shot
    args = lossless_args(src, out_dir / "win_%05d.mkv", bit_depth=bit_depth,
                         vf=window_chain(ranges, renumber=False), segment_frames=cuts)
    run_ffmpeg(args, what=f"cutting {src} into trial windows")
    refs = sorted(out_dir.glob("win_*.mkv"))
    if len(refs) != len(ranges):
        raise RuntimeError(f"expected {len(ranges)} trial windows, FFmpeg wrote {len(refs)}")
    return refs


def trial_encode(ref: Path, crf: int, opts: SearchOptions, out: Path, threads: int = 0,
                 frames: tuple[int, int] | None = None) -> int:
    args = encode_args(ref, out, encoder=CODECS[opts.codec], preset=opts.preset, crf=crf,
                       rate_control=opts.rate_control, threads=threads, frames=frames)
    run_ffmpeg(args, what=f"trial encode at CRF {crf}")
    return out.stat().st_size


def measure_trial(ref: Path, crf: float, opts: SearchOptions, out: Path, threads: int = 0,
                  frames: tuple[int, int] | None = None, bit_depth: int = 8) -> Trial:
    """Encode ``ref`` (frames [a, b) of it, or all) at ``crf``, score it against the same frames, remove ``out``."""
    t0 = time.perf_counter()
    try:
        size = trial_encode(ref, crf, opts, out, threads, frames)
        q = compare(out, ref, ref_range=frames, threads=threads or None, bit_depth=bit_depth,
                    features=metric_features(opts.metric))
    finally:
        out.unlink(missing_ok=True)
    return Trial(crf, size, q.pool(opts.metric, opts.pool), time.perf_counter() - t0)


def metric_features(metric: str) -> tuple[str, ...]:
    """The libvmaf features a trial needs beside VMAF: none for VMAF itself (half the CPU of all three)."""
    return {"psnr": ("psnr",), "ssim": ("float_ssim",)}.get(metric, ())


def search_shot(ref: Path, start: int, end: int, opts: SearchOptions, work: Path, threads: int = 0,
                fps: float = 25.0, bit_depth: int = 8) -> ShotSearch:
    """Bisection for each threshold, sharing trials; labels come out monotone."""
    trials: dict[int, Trial] = {}
    frames = trial_window(end - start, opts.max_trial_seconds, fps)

    def score(crf: int) -> float:
        if crf not in trials:
            trials[crf] = measure_trial(ref, crf, opts, work / f"trial_{start}_{crf}.mkv", threads, frames, bit_depth)
        return trials[crf].score

    jnd = []
    floor_crf = opts.min_crf
    guess = 23
    for t in opts.thresholds:
        lo, hi = _bracket(score, t, max(floor_crf, min(guess, opts.max_crf)), floor_crf, opts.max_crf)
        while hi - lo > 1:  # invariant: score(lo) >= t > score(hi)
            mid = (lo + hi) // 2
            if score(mid) >= t:
                lo = mid
            else:
                hi = mid
        jnd.append(lo)
        floor_crf = lo  # JND_{k+1} >= JND_k: the next search starts here
        guess = lo + 4
    return ShotSearch(start, end, jnd, sorted(trials.values(), key=lambda x: x.crf), frames)


def _bracket(score: Callable[[int], float], t: float, guess: int, lo_lim: int, hi_lim: int,
             step: int = 6) -> tuple[int, int]:
    """Find (lo, hi) with score(lo) >= t > score(hi), hi - lo <= step, starting at ``guess``.

    Returns (lim, lim + 1) style degenerate brackets when the threshold is out of
    range: (lo_lim, lo_lim + 1) if even lo_lim misses it, (hi_lim, hi_lim + 1) if
    hi_lim still passes. Starting near the answer and stepping by one JND's worth
    of CRF takes fewer trial encodes than bisecting the whole 0..51 range.
    """
    if score(guess) >= t:
        lo = guess
        while lo < hi_lim:
            nxt = min(hi_lim, lo + step)
            if score(nxt) < t:
                return lo, nxt
            lo = nxt
        return hi_lim, hi_lim + 1
    hi = guess
    while hi > lo_lim:
        nxt = max(lo_lim, hi - step)
        if score(nxt) >= t:
            return nxt, hi
        hi = nxt
    return lo_lim, lo_lim + 1


def map_shots(one: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``one`` over ``items`` in order, ``workers`` at a time; threads suffice, the work is in FFmpeg processes."""
    if workers <= 1:
        return [one(x) for x in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, items))


def search(src: str | os.PathLike, shots: Sequence[tuple[int, int]], opts: SearchOptions = SearchOptions(), *,
           workers: int = 1, bit_depth: int = 8, fps: float = 25.0, work_dir: str | None = None,
           on_shot: Callable[[ShotSearch], None] | None = None) -> list[ShotSearch]:
    """Search every shot; ``workers`` shots run at once with the cores split between them."""
    tmp = Path(tempfile.mkdtemp(prefix="jndenc-search-", dir=work_dir))
    try:
        refs = extract_references(src, shots, tmp, bit_depth)
        threads = threads_per_job(None, workers)

        def one(i: int) -> ShotSearch:
            a, b = shots[i]
            r = search_shot(refs[i], a, b, opts, tmp, threads, fps, bit_depth)
            refs[i].unlink(missing_ok=True)
            if on_shot:
                on_shot(r)
            return r

        return map_shots(one, range(len(shots)), workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
