"""Library API behind `jndenc predict` and the planning half of `jndenc encode`.

``plan(src, ...)`` is what a pipeline with its own ffmpeg-python graph calls:
it returns a `Plan` whose ``ffmpeg_output_kwargs()`` slot into ``ffmpeg.output``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .analyze import Analysis, ShotOptions, analyze
from .errors import UserError
from .planner import DEFAULT_X265_OFFSETS, Plan, PlanOptions, fixed_plan, make_plan
from .media.probe import VideoInfo, probe
from .search import DEFAULT_THRESHOLDS, SearchOptions, search

MODES = ("predict", "search", "crf")


def load_predictor(weights: str | os.PathLike | None = None):
    """Load the JND model once; callers keep it for many files."""
    from .predictor import Predictor  # TensorFlow is imported only when a model is needed

    return Predictor.load(weights)


def load_calibration(path: str | os.PathLike | None) -> tuple[tuple[float, float], ...]:
    """x265 offset table from `jndenc calibrate` (JSON ``{"x265_offsets": [[crf, offset], ...]}``)."""
    if path is None:
        return DEFAULT_X265_OFFSETS
    try:
        data = json.loads(Path(path).read_text())
        table = tuple((float(a), float(b)) for a, b in data["x265_offsets"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a calibration file ({type(exc).__name__}: {exc})") from None
    if not table:
        raise UserError(f"{path}: calibration table is empty")
    return table


@dataclass
class Prediction:
    input: str
    frames: int
    fps: float
    model: str | None
    shots: list[tuple[int, int]]
    jnd: np.ndarray  # [S, 3]
    analysis: Analysis

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "frames": self.frames,
            "fps": self.fps,
            "model": self.model,
            "shots": [{"start_frame": a, "end_frame": b, "jnd": [round(float(x), 2) for x in j]}
                      for (a, b), j in zip(self.shots, self.jnd)],
            "analysis_s": round(self.analysis.seconds, 3),
        }


def predict(src: str | os.PathLike, *, weights: str | os.PathLike | None = None, predictor=None,
            sample_every: int | None = None, shot_options: ShotOptions = ShotOptions(),
            info: VideoInfo | None = None, quiet: bool = True) -> Prediction:
    """Per-shot JND1..3 predicted by the model (no encoding)."""
    info = info or probe(src)
    predictor = predictor or load_predictor(weights)
    a = analyze(src, predictor, info=info, sample_every=sample_every, shot_options=shot_options, quiet=quiet)
    return Prediction(str(src), a.frames, info.fps, a.model, a.shots, a.shot_jnd(), a)


def plan(
    src: str | os.PathLike,
    *,
    mode: str = "predict",
    crf: float | None = None,
    codec: str = "x264",
    preset: str = "medium",
    target_jnd: int = 1,
    margin: float = 1.0,
    min_crf: float = 12.0,
    max_crf: float = 40.0,
    granularity: str = "shot",
    calibration: str | os.PathLike | None = None,
    weights: str | os.PathLike | None = None,
    predictor=None,
    sample_every: int | None = None,
    shot_options: ShotOptions = ShotOptions(),
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    metric: str = "vmaf",
    pool: str = "mean",
    workers: int = 1,
    trial_seconds: float = 0.0,
    info: VideoInfo | None = None,
    quiet: bool = True,
) -> Plan:
    """Analyse ``src`` and decide per-shot CRFs; nothing is encoded."""
    if crf is not None:
        mode = "crf"
    if mode not in MODES:
        raise UserError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    opts = PlanOptions(codec=codec, preset=preset, target_jnd=target_jnd, margin=margin, min_crf=min_crf,
                       max_crf=max_crf, granularity=granularity, x265_offsets=load_calibration(calibration)).validate()
    info = info or probe(src)
    t0 = time.perf_counter()
    if mode == "crf":
        if crf is None or not (0 <= crf <= 51):
            raise UserError(f"--crf must be within 0..51 (got {crf})")
        a = analyze(src, None, info=info, shot_options=shot_options, quiet=quiet)
        p = fixed_plan(a.shots, crf, a.frames, info.fps, opts, input=str(src), shot_times=a.shot_times())
    elif mode == "predict":
        predictor = predictor or load_predictor(weights)
        a = analyze(src, predictor, info=info, sample_every=sample_every, shot_options=shot_options, quiet=quiet)
        frame_jnd = a.frame_jnd() if granularity == "frame" else None
        p = make_plan(a.shots, a.shot_jnd(), a.frames, info.fps, opts, frame_jnd=frame_jnd, mode="predict",
                      input=str(src), model=a.model, shot_times=a.shot_times())
    else:
        if granularity == "frame":
            raise UserError("--granularity frame needs --mode predict (search labels whole shots)")
        a = analyze(src, None, info=info, shot_options=shot_options, quiet=quiet)
        sopts = SearchOptions(codec=codec, preset=preset, metric=metric, pool=pool,
                              thresholds=tuple(float(t) for t in thresholds),
                              max_trial_seconds=trial_seconds or None)
        from .progress import bar

        with bar(len(a.shots), "searching", quiet, unit="shot") as pb:
            results = search(src, a.shots, sopts, workers=workers, bit_depth=info.bit_depth, fps=info.fps,
                             on_shot=lambda r: pb.update(1))
        p = make_plan(a.shots, [r.jnd for r in results], a.frames, info.fps, opts, mode="search", input=str(src),
                      model=f"search:{metric}-{pool}@{','.join(f'{t:g}' for t in thresholds)}",
                      shot_times=a.shot_times())
        p.stats["trial_encodes"] = sum(len(r.trials) for r in results)
        p.stats["trials"] = [[t.__dict__ for t in r.trials] for r in results]
    p.stats["analysis_s"] = round(time.perf_counter() - t0, 3)
    p.stats["shot_detection_s"] = round(a.seconds, 3)
    return p
