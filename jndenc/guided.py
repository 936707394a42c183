"""Guided mode: start at the model's JND, measure two or three real trial encodes per shot, stop when bracketed.

The search oracle bisects blind over the whole CRF range (11-16 trials a shot).
Guided mode knows where to look: it encodes the shot at the predicted CRF for
the target level with the real codec and preset, measures the metric against
a lossless copy of the shot (the search machinery: same references, trial
windows and pooling), and steps to the estimated crossing of the threshold.
The VMAF-per-CRF slope first comes from the model's own level spacing
(``(T1 - T2) / (JND2 - JND1)``) and then from the measured points. It stops when
the crossing is bracketed within ``crf_step`` (halving the step once where one
step moves the score by more than ``steep``), or after ``max_trials``. The CRF
kept is the highest one whose trial met the threshold; with none, the lowest
tried minus one step, with a note.

Trials are cached on disk by the source's content hash, shot, trial window,
codec, preset, CRF and metric, so a rerun, a bench ladder or a batch resume
does not encode them again.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import UserError
from .fileio import replaced
from .media.clips import sha256_file
from .planner import CLAMPS
from .media.ffbin import ffmpeg_info
from .media.ffargs import threads_per_job, trial_window
from .search import SearchOptions, Trial, extract_references, extract_windows, map_shots, measure_trial

CACHE_VERSION = 1
# VMAF per CRF step where the prior's spacing says nothing: the label trials' median slope at VMAF 94 is 0.93
# (quartiles 0.67-1.36, x264 medium); the prior's own spacing is bounded to that range's outskirts
DEFAULT_SLOPE = 1.0
SLOPE_BOUNDS = (0.5, 2.0)
FAR = 3.0  # VMAF points above the threshold beyond which a measured secant is not trusted alone


@dataclass(frozen=True)
class GuidedOptions:
    target_jnd: int = 1
    crf_step: float = 1.0
    max_trials: int = 3
    steep: float = 1.5  # a bracket one step wide that spans more than this many points gets a half step
    min_crf: float = CLAMPS[0]  # the planner's clamps: a guided CRF is an output CRF
    max_crf: float = CLAMPS[1]
    cache_dir: str | None = None  # None: $JNDENC_CACHE_DIR or ~/.cache/jndenc; "" disables the cache
    start: str = "auto"  # model | probe | auto (the probe-mode estimate when probe weights are shipped)

    def validate(self) -> "GuidedOptions":
        if self.target_jnd not in (1, 2, 3):
            raise UserError(f"target JND level must be 1, 2 or 3, not {self.target_jnd}")
        if not (0.1 <= self.crf_step <= 6):
            raise UserError(f"--crf-step must be within 0.1..6 (got {self.crf_step})")
        if self.max_trials < 1:
            raise UserError(f"--max-trials must be at least 1 (got {self.max_trials})")
        if self.start not in ("auto", "model", "probe"):
            raise UserError(f"guided start must be auto, model or probe, not {self.start!r}")
        return self


@dataclass
class GuidedShot:
    crf: float  # highest CRF whose trial met the threshold (or the fallback)
    trials: list[Trial]
    met: bool
    notes: list[str]
    cached: list[bool]  # per trial: recalled from the cache, not encoded now

    @property
    def encoded(self) -> int:
        return sum(not c for c in self.cached)


def default_cache_dir() -> Path:
    base = os.environ.get("JNDENC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "jndenc")
    return Path(base) / "trials"


class TrialCache:
    """One small JSON file per measured trial; written atomically, unreadable entries are recomputed."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def get(self, key: str) -> Trial | None:
        try:
            d = json.loads((self.root / key[:2] / f"{key}.json").read_text())
            return Trial(**d)
        except (OSError, ValueError, TypeError):
            return None

    def put(self, key: str, trial: Trial) -> None:
        d = self.root / key[:2]
        try:
            d.mkdir(parents=True, exist_ok=True)
            with replaced(d / f"{key}.json") as tmp:
                tmp.write_text(json.dumps(asdict(trial)))
        except OSError:
            pass  # a read-only cache costs time, never correctness


def prior_slope(prior: Sequence[float], thresholds: Sequence[float]) -> float:
    """VMAF lost per CRF step from the prior's level spacing: (T1 - T2) / (JND2 - JND1), bounded."""
    if len(prior) >= 2 and len(thresholds) >= 2:
        dj = float(prior[1]) - float(prior[0])
        if math.isfinite(dj) and dj >= 0.5:
            return float(np.clip((thresholds[0] - thresholds[1]) / dj, *SLOPE_BOUNDS))
    return DEFAULT_SLOPE


def _snap(x: float, step: float) -> float:
    return round(round(x / step) * step, 4)


def _floor(x: float, step: float) -> float:
    return round(math.floor(x / step + 1e-9) * step, 4)


def guide_shot(measure: Callable[[float], float], start_crf: float, threshold: float, slope: float,
               opts: GuidedOptions) -> tuple[float, bool, list[str]]:
    """The decision loop over a ``measure(crf) -> score`` function. Pure apart from ``measure``.

    Returns (chosen CRF, whether a trial met the threshold, notes).
    """
    lo_lim, hi_lim = float(opts.min_crf), float(opts.max_crf)
    step = opts.crf_step
    fine = step / 2
    pts: dict[float, float] = {}
    c = float(np.clip(_snap(start_crf, step), lo_lim, hi_lim))
    prior = slope
    for _ in range(opts.max_trials):
        pts[c] = measure(c)
        passing = [x for x, v in pts.items() if v >= threshold]
        lo = max(passing) if passing else None
        failing = [x for x, v in pts.items() if v < threshold and (lo is None or x > lo)]
        hi = min(failing) if failing else None
        if len(pts) >= 2:  # measured slope from the two points nearest the threshold
            near = sorted(pts, key=lambda x: abs(pts[x] - threshold))[:2]
            if abs(near[0] - near[1]) > 1e-6:
                s = (pts[min(near)] - pts[max(near)]) / abs(near[0] - near[1])
                if s > 0.05:
                    s = float(np.clip(s, 0.05, 20.0))
                    # VMAF flattens toward 100: a secant far above the threshold understates the slope at the
                    # crossing and would send the next trial far past it, so it may only steepen the prior
                    far_above = min(pts[n] for n in near) > threshold + FAR
                    slope = max(s, prior) if far_above else s
        if lo is not None and hi is not None:
            width = hi - lo
            span = pts[lo] - pts[hi]
            if width <= step + 1e-6 and not (span > opts.steep and width > fine + 1e-6):
                break  # bracketed within the step (a steep step gets one half step)
            grid = fine if width <= step + 1e-6 else step
            frac = (pts[lo] - threshold) / span if span > 0 else 0.5
            nxt = _floor(lo + frac * width, grid)
            nxt = min(max(nxt, lo + grid), hi - grid)
            if not (lo < nxt < hi):
                break
        elif lo is not None:  # everything passed: go up to the estimated crossing
            if lo >= hi_lim:
                break
            nxt = min(hi_lim, lo + max(step, _floor((pts[lo] - threshold) / slope, step)))
        else:  # everything failed: go down past the estimated crossing
            if hi <= lo_lim:
                break
            nxt = max(lo_lim, hi - max(step, math.ceil((threshold - pts[hi]) / slope / step) * step))
        if nxt in pts:
            break
        c = nxt
    passing = [x for x, v in pts.items() if v >= threshold]
    if passing:
        return max(passing), True, []
    chosen = max(lo_lim, min(pts) - step)
    return chosen, False, [f"no trial reached {threshold:g} within {len(pts)} trials "
                           f"(best {max(pts.values()):.2f} at CRF {min(pts):g}); using CRF {chosen:g}, "
                           f"the lowest tried minus one step"]


def guided(src: str | os.PathLike, shots: Sequence[tuple[int, int]], priors: Sequence[Sequence[float]],
           sopts: SearchOptions, gopts: GuidedOptions = GuidedOptions(), *, workers: int = 1, bit_depth: int = 8,
           fps: float = 25.0, on_shot: Callable[[int], None] | None = None) -> list[GuidedShot]:
    """Guided trials for every shot of ``src``; ``priors`` are JND1..3 per shot (the start and the first slope)."""
    gopts.validate()
    if len(priors) != len(shots):
        raise ValueError("one prior per shot is needed")
    threshold = float(sopts.thresholds[gopts.target_jnd - 1])
    cache = None
    if gopts.cache_dir != "":
        cache = TrialCache(gopts.cache_dir or default_cache_dir())
    base = None
    if cache is not None:
        base = [sha256_file(src), CACHE_VERSION, ffmpeg_info().version, sopts.codec, sopts.preset,
                sopts.rate_control, sopts.metric, sopts.pool, sopts.max_trial_seconds]
    tmp = Path(tempfile.mkdtemp(prefix="jndenc-guided-"))
    refs: list[Path] | None = None
    threads = threads_per_job(os.cpu_count() or 1, workers)
    lock = threading.Lock()

    windows = [trial_window(b - a, sopts.max_trial_seconds, fps) for a, b in shots]
    spans = [(a + w[0], a + w[1]) if w else (a, b) for (a, b), w in zip(shots, windows)]
    windowed = False

    def ref_of(i: int) -> tuple[Path, tuple[int, int] | None]:
        """Shot ``i``'s lossless reference and the frames of it a trial measures (None: all)."""
        nonlocal refs, windowed
        with lock:  # cut every trial window in one pass, the first time a trial is not cached
            if refs is None:
                refs = extract_windows(src, spans, tmp, bit_depth)
                windowed = refs is not None
                if not windowed:  # too many shots for one select: whole-shot references, trimmed per trial
                    refs = extract_references(src, shots, tmp, bit_depth)
        return refs[i], (None if windowed else windows[i])

    def one(i: int) -> GuidedShot:
        a, b = shots[i]
        window = windows[i]
        trials: list[Trial] = []
        cached: list[bool] = []

        def measure(crf: float) -> float:
            key = None
            if cache is not None:
                key = hashlib.sha256(json.dumps(base + [a, b, window, crf]).encode()).hexdigest()
                hit = cache.get(key)
                if hit is not None:
                    trials.append(hit)
                    cached.append(True)
                    return hit.score
            ref, frames = ref_of(i)
            t = measure_trial(ref, crf, sopts, tmp / f"trial_{a}_{crf:g}.mkv", threads, frames, bit_depth)
            trials.append(t)
            cached.append(False)
            if cache is not None:
                cache.put(key, t)
            return t.score

        prior = [float(x) for x in priors[i]]
        start = prior[gopts.target_jnd - 1]
        if not math.isfinite(start):
            raise UserError(f"no JND{gopts.target_jnd} prior for shot {a}-{b}; choose a level the model predicts")
        slope = prior_slope(prior, sopts.thresholds)
        crf, met, notes = guide_shot(measure, start, threshold, slope, gopts)
        if on_shot:
            on_shot(i)
        return GuidedShot(crf, trials, met, notes, cached)

    try:
        return map_shots(one, range(len(shots)), workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
