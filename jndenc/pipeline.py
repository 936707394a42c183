"""Library API behind `jndenc predict` and the planning half of `jndenc encode`: estimate, then decide.

``plan(src, ...)`` is what a pipeline with its own ffmpeg-python graph calls:
it returns a `Plan` whose ``ffmpeg_output_kwargs()`` slot into ``ffmpeg.output``.
It is `jndenc.estimate.estimate` (analyse) followed by
`jndenc.planner.plan_from_estimates` (decide).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .analyze import Analysis, ShotOptions, analyze
from .calibrate import load_offsets
from .errors import UserError
from .estimate import Estimates, estimate, load_predictor, search_options
from .guided import GuidedOptions
from .media.probe import VideoInfo, probe
from .planner import DEFAULT_X265_OFFSETS, Plan, PlanOptions, fixed_plan, margin_report, plan_from_estimates
from .starts import LOOP_ONLY_CODECS
from . import modes as registry
from .options import (PLAN_KEYS, AnalysisOptions, Aim, Codec, Expert, Trials, check_keywords, check_known,
                      check_mode)

MODES = (*registry.NAMES, "crf")

__all__ = ["plan", "predict", "analyse_and_plan", "load_predictor", "load_calibration", "Prediction", "MODES"]


def load_calibration(path: str | os.PathLike | None) -> tuple[tuple[float, float], ...]:
    """x265 offset table from `jndenc calibrate` (`jndenc.calibrate.load_offsets`); the shipped one without a
    file."""
    return DEFAULT_X265_OFFSETS if path is None else load_offsets(path)


@dataclass
class Prediction:
    """`jndenc predict`'s result: the estimates, and the CRF per shot the planner options give."""

    estimates: Estimates | None
    plan: Plan | None = None

    @property
    def input(self) -> str:
        return self.estimates.input

    @property
    def frames(self) -> int:
        return self.estimates.frames

    @property
    def fps(self) -> float:
        return self.estimates.fps

    @property
    def model(self) -> str | None:
        return self.estimates.model

    @property
    def shots(self) -> list[tuple[int, int]]:
        return self.estimates.ranges

    @property
    def jnd(self) -> np.ndarray:
        return self.estimates.jnd()

    @property
    def analysis(self) -> Analysis:
        return self.estimates.analysis

    def to_dict(self) -> dict:
        shots = []
        for i, s in enumerate(self.estimates.shots):
            d = {"start_frame": s.start_frame, "end_frame": s.end_frame, "jnd": s.to_dict()["jnd"],
                 "source": s.source}
            if self.plan is not None:
                d["crf"] = self.plan.shots[i].crf
            if s.trials:
                d["trials"] = len(s.trials)
            if s.notes:
                d["notes"] = s.notes
            shots.append(d)
        out = {"input": self.input, "frames": self.frames, "fps": self.fps, "model": self.model,
               "mode": self.estimates.mode, "shots": shots, "analysis_s": round(self.estimates.seconds, 3),
               "trial_encodes": self.estimates.trial_encodes, "notes": list(self.estimates.notes)}
        if "probe" in self.estimates.stats:
            # the plan carries the same report when there is one
            out["probe"] = (self.plan.stats.get("probe") if self.plan is not None else None) \
                or probe_report(self.estimates.stats)
        if self.plan is not None:
            out["plan_options"] = {k: self.plan.options[k] for k in ("codec", "preset", "target_jnd", "margin",
                                                                       "confidence", "min_crf", "max_crf")}
            out["margin"] = margin_report(self.plan)
        return out


def probe_report(stats: dict) -> dict:
    """Probe mode's part of ``--json``: the setting, what the probes cost, and each shot's probe CRF and VMAF."""
    return {"setting": stats["probe_setting"], "seconds": stats["probe_seconds"],
            # probes at once (`jndenc.media.probe_encode.probe_jobs`); a plan saved before it was recorded: unknown
            "jobs": stats.get("probe_jobs"),
            "shots": [{"crf": p["crf"], "vmaf": round(float(p["vmaf"]), 3), "window": list(p["window"])}
                      | ({"second": {"crf": p["second"]["crf"], "vmaf": round(float(p["second"]["vmaf"]), 3)}}
                         if "second" in p else {})
                      for p in stats["probe"]]}


def predict(src: str | os.PathLike, *, mode: str = "predict", plan_options: PlanOptions | None = None,
            **options) -> Prediction:
    """Per-shot JND1..3 by ``mode`` (predict, probe, guided or search) and the CRF the planner gives each shot.

    ``options`` are `plan`'s; nothing is encoded to keep. ``plan_options`` (a `PlanOptions`) replaces the planner
    keywords when given.
    """
    _known(options)
    if mode == "crf" or options.get("crf") is not None:
        raise UserError("predict needs a JND estimate; --crf plans nothing to predict")
    return analyse_and_plan(src, mode=mode, plan_options=plan_options, **options)


def plan(src: str | os.PathLike, **options) -> Plan:
    """Analyse ``src`` and decide per-shot CRFs; nothing is encoded. Options: see `analyse_and_plan`."""
    _known(options)
    return analyse_and_plan(src, **options).plan


def _known(options: dict) -> None:
    """A misspelt keyword of `plan` or `predict` named with what was probably meant (Python's own message names
    `analyse_and_plan`, a function the caller never called)."""
    import inspect

    check_known(options, [k for k in inspect.signature(analyse_and_plan).parameters if k != "src"])


def _fixed(src, crf: float | None, info: VideoInfo, opts: PlanOptions, shot_options: ShotOptions, quiet: bool):
    """A fixed CRF's plan (shots detected, nothing estimated) and the analysis it came from."""
    if crf is None or not (0 <= crf <= 51):
        raise UserError(f"--crf must be within 0..51 (got {crf})")
    a = analyze(src, None, info=info, shot_options=shot_options, quiet=quiet)
    return fixed_plan(a.shots, crf, a.frames, info.fps, opts, input=str(src), shot_times=a.shot_times()), a


def _record_estimates(p: Plan, est: Estimates, thresholds: Sequence[float]) -> None:
    """What the estimates measured and noted, kept in the plan's stats for the encode's report."""
    if registry.mode(est.mode).measures:
        p.stats["trial_encodes"] = est.trial_encodes
        p.stats["trials_measured"] = est.trials_measured
        p.stats["trials"] = [s.trials for s in est.shots]
        p.stats["thresholds"] = [float(x) for x in thresholds]
    # the truncation note is encode's to word (it knows what it encoded)
    notes = [n for n in est.notes if n != est.analysis.truncated]
    notes += [f"shot {i} ({s.start_frame}-{s.end_frame}): {n}" for i, s in enumerate(est.shots) for n in s.notes]
    if notes:
        p.stats["notes"] = notes
    for key in ("prior", "spread"):
        if key in est.stats:
            p.stats[key] = est.stats[key]
    if "probe" in est.stats:
        p.stats["probe"] = probe_report(est.stats)


def _checked_mode(mode: str, crf: float | None, codec: str | None) -> str:
    """The mode a plan is made by (``crf`` given: a fixed CRF), refused where no plan can be made; ``codec`` None
    where the caller's planner options carry it."""
    if crf is not None:
        mode = "crf"
    check_mode(mode, crf)
    if codec in LOOP_ONLY_CODECS:
        # --codec offers them (encode takes them), but no one-pass plan exists for them: this said "codec must be
        # one of x264, x265", or with their own --calibration file "use it with --codec av1"
        raise UserError(f"--codec {codec} has no per-shot plan to predict (FFmpeg has no zones for it): "
                        f"`jndenc encode --codec {codec}` starts each shot's loop at the x264 estimate moved to its "
                        f"scale; predict with --codec x264 for those estimates")
    return mode


def analyse_and_plan(
    src: str | os.PathLike,
    *,
    mode: str = "predict",
    crf: float | None = Expert.crf,
    # the encoder
    codec: str = Codec.codec,
    preset: str = Codec.preset,
    calibration: str | os.PathLike | None = Codec.calibration,
    # the decision (PlanOptions)
    target_jnd: int = Aim.target_jnd,
    margin: float | str | None = Expert.margin,
    confidence: float | None = Expert.confidence,
    min_crf: float = Codec.min_crf,
    max_crf: float = Codec.max_crf,
    granularity: str = Expert.granularity,
    # the model and the analysis pass
    weights: str | os.PathLike | None = AnalysisOptions.weights,
    predictor=AnalysisOptions.predictor,
    sample_every: int | None = AnalysisOptions.sample_every,
    shot_options: ShotOptions = ShotOptions(),
    # trial encodes: search and guided modes
    thresholds: Sequence[float] = Trials.thresholds,
    metric: str = Trials.metric,
    pool: str = Trials.pool,
    workers: int = Trials.workers,
    trial_seconds: float | None = Trials.trial_seconds,
    # guided mode only
    crf_step: float = Trials.crf_step,
    max_trials: int = Trials.max_trials,
    trial_cache: str | os.PathLike | None = Trials.trial_cache,
    guided_start: str = Trials.guided_start,
    prior: float | Sequence[Sequence[float]] | None = Trials.prior,
    # a probe already made; progress bars; planner options as one object; probe encodes at once
    info: VideoInfo | None = None,
    quiet: bool = True,
    plan_options: PlanOptions | None = None,
    jobs: int | None = None,
) -> Prediction:
    """Estimate per-shot JND by ``mode`` (`jndenc.estimate`) and decide CRFs (`jndenc.planner`).

    Returns the estimates (None for a fixed ``crf``) with the `Plan`. ``margin`` defaults to 1 CRF step in predict and search modes and 0 in guided mode (it measures).
    Guided mode: ``crf_step``, ``max_trials``, ``trial_cache`` (a folder; "" = none), ``prior`` (per-shot
    JND1..3 or a constant JND1 to start from instead of the model), ``trial_seconds`` (default 4).
    ``jobs``: probe encodes at once (probe mode, guided's probe start; None: one per core as memory allows).
    """
    # the API's keywords as they came (`jndenc.plan("in.mp4", min_crf="20")` failed as "'<=' not supported")
    check_keywords({k: v for k, v in locals().items() if k in PLAN_KEYS})
    mode = _checked_mode(mode, crf, None if plan_options is not None else codec)
    m = registry.REGISTRY.get(mode)
    if margin is None:
        margin = m.margin if m else 1.0
    if trial_seconds is None:
        trial_seconds = m.trial_seconds if m else 0.0
    opts = plan_options or PlanOptions(
        codec=codec, preset=preset, target_jnd=target_jnd, margin=margin,
        confidence=PlanOptions.confidence if confidence is None else confidence, min_crf=min_crf,
        max_crf=max_crf,
        granularity=granularity, x265_offsets=load_calibration(calibration),
        # guided CRFs sit on half steps where the curve is steep; keep them
        crf_step=crf_step / 2 if mode == "guided" else 1.0)
    opts.validate()
    info = info or probe(src)
    t0 = time.perf_counter()
    if mode == "crf":
        est, p, analysis = None, *_fixed(src, crf, info, opts, shot_options, quiet)
    else:
        if mode != "predict" and opts.granularity == "frame":
            raise UserError(f"--granularity frame needs --mode predict ({mode} measures whole shots)")
        gopts = GuidedOptions(target_jnd=target_jnd, crf_step=crf_step, max_trials=max_trials, min_crf=min_crf,
                              max_crf=max_crf, cache_dir=None if trial_cache is None else str(trial_cache),
                              start=guided_start)
        est = estimate(src, mode, predictor=predictor, weights=weights, info=info, sample_every=sample_every,
                       shot_options=shot_options, workers=workers, quiet=quiet, guided_options=gopts, prior=prior,
                       jobs=jobs,
                       search_options=search_options(opts.codec, opts.preset, thresholds, metric, pool,
                                                     trial_seconds))
        p, analysis = plan_from_estimates(est, opts), est.analysis
        _record_estimates(p, est, thresholds)
    if analysis.truncated:
        p.stats["truncated"] = analysis.truncated
    # where the detector cut (plan shots that start elsewhere are pieces of a long shot, `--max-shot-seconds`)
    p.stats["cuts"] = [int(c) for c in analysis.cuts]
    # shots that cut back to an earlier one: the loop starts them from what the earlier one measured
    p.stats["returns"] = [[int(a), int(b)] for a, b in analysis.returns]
    p.stats["analysis_s"] = round(time.perf_counter() - t0, 3)
    p.stats["shot_detection_s"] = round(analysis.seconds, 3)
    return Prediction(est, p)
