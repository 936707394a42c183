"""Analyse: per-shot JND estimates with their provenance. Deciding CRFs is the planner's job.

``estimate(src, mode)`` runs the analysis a mode needs and returns `Estimates`:
one `ShotEstimate` per shot with JND1..3 (NaN for a level the source does not
give), where each number came from (``predicted`` by the model, ``searched`` by
the oracle's trial encodes, ``guided`` by the model's start plus a few measured
trials), and the trials behind it. `jndenc.planner.plan_from_estimates` turns
estimates and options into a `Plan`; benchmarks, dataset building and
calibration read estimates directly instead of planning and taking a plan apart.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from .analyze import Analysis, ShotOptions, analyze
from .errors import UserError
from .media.probe import VideoInfo, probe
from .progress import bar
from .search import DEFAULT_THRESHOLDS, SearchOptions, search

LEVELS = 3


@dataclass
class ShotEstimate:
    start_frame: int
    end_frame: int  # exclusive
    jnd: list[float]  # JND1..3 in CRF steps; NaN where this shot has no value for a level
    source: str  # predicted | searched | guided | probe
    trials: list[dict] = field(default_factory=list)  # measured trial encodes: crf, bytes, score, seconds
    notes: list[str] = field(default_factory=list)

    def level(self, k: int) -> float:
        return float(self.jnd[k - 1])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["jnd"] = [None if not math.isfinite(x) else round(float(x), 2) for x in self.jnd]
        return d


@dataclass
class Estimates:
    input: str
    frames: int
    fps: float
    mode: str
    shots: list[ShotEstimate]
    analysis: Analysis
    model: str | None = None
    seconds: float = 0.0  # the whole estimate, shot detection included
    stats: dict = field(default_factory=dict)

    @property
    def ranges(self) -> list[tuple[int, int]]:
        return [(s.start_frame, s.end_frame) for s in self.shots]

    def jnd(self) -> np.ndarray:
        """[S, 3] JND per shot (NaN for missing levels)."""
        return np.array([s.jnd for s in self.shots], dtype=float).reshape(len(self.shots), LEVELS)

    def levels(self) -> tuple[int, ...]:
        """JND levels (1-based) every shot has a value for."""
        j = self.jnd()
        return tuple(k + 1 for k in range(LEVELS) if j.size and np.all(np.isfinite(j[:, k])))

    def require_level(self, k: int) -> None:
        if k not in self.levels():
            have = ", ".join(f"JND{x}" for x in self.levels()) or "none"
            raise UserError(f"{self.model or self.mode} gives {have}; target JND{k} is not available")

    @property
    def trial_encodes(self) -> int:
        return sum(len(s.trials) for s in self.shots)

    def shot_times(self) -> list[float] | None:
        return self.analysis.shot_times()

    def frame_jnd(self) -> np.ndarray | None:
        """[frames, 3] per-frame JND (predict mode only)."""
        return self.analysis.frame_jnd() if self.mode == "predict" else None


def load_predictor(weights: str | os.PathLike | None = None):
    """Load the JND model once; callers keep it for many files."""
    from .predictor import Predictor  # the model runtime is imported only when a model is needed

    return Predictor.load(weights)


def estimate(
    src: str | os.PathLike,
    mode: str = "predict",
    *,
    predictor=None,
    weights: str | os.PathLike | None = None,
    info: VideoInfo | None = None,
    sample_every: int | None = None,
    shot_options: ShotOptions = ShotOptions(),
    search_options: SearchOptions = SearchOptions(),
    workers: int = 1,
    quiet: bool = True,
) -> Estimates:
    """Per-shot JND estimates of ``src`` by ``mode`` (``predict`` or ``search``); nothing is encoded to keep."""
    if mode not in ("predict", "search"):
        raise UserError(f"estimate mode must be 'predict' or 'search', not {mode!r}")
    info = info or probe(src)
    t0 = time.perf_counter()
    if mode == "predict":
        predictor = predictor or load_predictor(weights)
        a = analyze(src, predictor, info=info, sample_every=sample_every, shot_options=shot_options, quiet=quiet)
        shots = [ShotEstimate(s, e, [float(x) for x in j], "predicted") for (s, e), j in zip(a.shots, a.shot_jnd())]
        est = Estimates(str(src), a.frames, info.fps, mode, shots, a, model=a.model)
    else:
        a = analyze(src, None, info=info, shot_options=shot_options, quiet=quiet)
        with bar(len(a.shots), "searching", quiet, unit="shot") as pb:
            results = search(src, a.shots, search_options, workers=workers, bit_depth=info.bit_depth, fps=info.fps,
                             on_shot=lambda r: pb.update(1))
        shots = [ShotEstimate(r.start_frame, r.end_frame, [float(x) for x in r.jnd], "searched",
                              trials=[asdict(t) for t in r.trials]) for r in results]
        est = Estimates(str(src), a.frames, info.fps, mode, shots, a, model=search_label(search_options))
    est.seconds = time.perf_counter() - t0
    return est


def search_label(opts: SearchOptions) -> str:
    return f"search:{opts.metric}-{opts.pool}@{','.join(f'{t:g}' for t in opts.thresholds)}"


def search_options(codec: str = "x264", preset: str = "medium", thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                   metric: str = "vmaf", pool: str = "mean", trial_seconds: float = 0.0) -> SearchOptions:
    return SearchOptions(codec=codec, preset=preset, metric=metric, pool=pool,
                         thresholds=tuple(float(t) for t in thresholds), max_trial_seconds=trial_seconds or None)
