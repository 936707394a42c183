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
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .analyze import Analysis, ShotOptions, analyze
from .errors import UserError
from .modes import NAMES, REGISTRY
from .guided import GuidedOptions, guided
from .media.probe import VideoInfo, probe
from .media.probe_encode import ProbeOptions, centred_crfs, probe_input, probe_jobs, probe_shots
from .models.probe import (ProbeModel, at_level, default_probe_weights, probe_margins, refine_jnd1,
                           second_probe_crfs)
from .progress import bar
from .search import DEFAULT_THRESHOLDS, SearchOptions, check_pool, check_thresholds, search

if TYPE_CHECKING:  # the model runtime is imported only when a model is needed
    from .predictor import Predictor

LEVELS = 3
ESTIMATE_MODES = NAMES


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
    notes: list[str] = field(default_factory=list)  # warnings a caller should show (e.g. a truncated input)

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
        """Trial encodes run by this estimate (trials recalled from the cache not counted)."""
        return sum(not t.get("cached", False) for s in self.shots for t in s.trials)

    @property
    def trials_measured(self) -> int:
        """Measured points behind the estimates, cached or not."""
        return sum(len(s.trials) for s in self.shots)

    def shot_times(self) -> list[float] | None:
        return self.analysis.shot_times()

    def auto_margins(self, confidence: float = 0.9) -> tuple[list[float], str, bool]:
        """Each shot's margin for ``margin="auto"``, where it comes from, and whether it is calibrated.

        Measured modes (guided, search) need none. Probe mode: the shot's predicted spread times the z that
        covered a share ``confidence`` of held-out shots; predict mode: the frame model's held-out
        over-prediction quantile. Between the calibrated levels the value is interpolated; outside them, or
        for a model without calibration, there is nothing measured to stand on: a user error for a share the
        model was not calibrated at, a 1-CRF fallback (with a note) for an uncalibrated model.
        """
        n = len(self.shots)
        key = f"{confidence:g}"
        if REGISTRY[self.mode].measures:
            return [0.0] * n, f"{self.mode} measured each shot: no margin", False
        tables = [t for t in (self.stats.get("margin_z"), self.stats.get("margin_auto")) if t]
        spread = self.stats.get("spread")
        if spread is not None:
            probes = self.stats.get("probe") or []
            twice = [i < len(probes) and "second" in probes[i] for i in range(len(spread))]
            margins = probe_margins(spread, twice, self.stats.get("margin_z"), self.stats.get("refine_margin"),
                                    confidence)
            if margins is not None:
                z, m2 = at_level(self.stats.get("margin_z"), confidence), at_level(self.stats.get("refine_margin"),
                                                                                 confidence)
                source = f"probe model: {z:.3g} x per-shot spread (p={key})"
                if any(twice) and m2 is not None:
                    source += f"; shots probed twice: {m2:.3g} (p={key})"
                return margins, source, True
        m = at_level(self.stats.get("margin_auto"), confidence)
        if m is not None:
            return [float(m)] * n, f"model's held-out over-prediction quantile p={key}", True
        if tables:
            levels = ", ".join(sorted(tables[0]))
            raise UserError(f"--confidence {key}: {self.model or self.mode} is calibrated at {levels} only; "
                            "choose a share in that range or a fixed --margin")
        self.notes.append(f"{self.model or self.mode}: no calibrated margin for p={key}; used 1 CRF step")
        return [1.0] * n, "fallback: 1 CRF step (uncalibrated model)", False

    def frame_jnd(self) -> np.ndarray | None:
        """[frames, 3] per-frame JND (predict mode only)."""
        return self.analysis.frame_jnd() if self.mode == "predict" else None


def load_predictor(weights: str | os.PathLike | None = None) -> "Predictor":
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
    guided_options: GuidedOptions = GuidedOptions(),
    prior: float | Sequence[Sequence[float]] | None = None,
    workers: int = 1,
    quiet: bool = True,
    probe_model=None,
    probe_weights: str | os.PathLike | None = None,
    jobs: int | None = None,
) -> Estimates:
    """Per-shot JND estimates of ``src`` by ``mode``; nothing is encoded to keep.

    ``predict``: the model only. ``search``: the oracle's bisection by trial encodes. ``guided``: trial encodes
    starting from ``prior`` (per-shot JND1..3, or one number = a constant JND1 start with levels 4 apart), or from
    the model's prediction when ``prior`` is None. ``probe``: the model's frame estimate plus a probe encode of
    each shot at that estimate (`jndenc.media.probe_encode`) through the probe model (``probe_model``, a loaded
    `jndenc.models.probe.ProbeModel`, or ``probe_weights``; default: the shipped one), and where the probe read
    far from the threshold a second probe at the new estimate (`jndenc.models.probe.refine_jnd1`); ``stats``
    gets the per-shot JND1 ``spread``, the calibrated margins and the probe scores. ``jobs``: probes at once
    (`jndenc.media.probe_encode.probe_jobs`; None: one per core, as many as memory holds).
    """
    if mode not in ESTIMATE_MODES:
        raise UserError(f"estimate mode must be one of {', '.join(ESTIMATE_MODES)}, not {mode!r}")
    info = info or probe(src)
    t0 = time.perf_counter()
    if REGISTRY[mode].needs_model(prior):
        predictor = predictor or load_predictor(weights)
    if mode == "guided":
        est = _guided(src, info, predictor, weights, sample_every, shot_options, search_options, guided_options,
                      prior, workers, quiet, jobs)
    elif mode == "probe":
        est = _probe(src, info, predictor, weights, probe_model, probe_weights, sample_every, shot_options, quiet,
                     jobs)
    elif mode == "predict":
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
    if est.analysis.truncated:
        est.notes.append(est.analysis.truncated)
    if est.analysis.damaged:
        est.notes.append(est.analysis.damaged)
    if predictor is not None:  # e.g. why the model runs on TensorFlow rather than the light runtime
        est.notes.extend(getattr(predictor, "notes", []))
        est.stats.setdefault("margin_auto", (getattr(predictor, "metadata", None) or {}).get("margin_auto"))
    return est


def _guided(src, info, predictor, weights, sample_every, shot_options, sopts, gopts, prior, workers, quiet, jobs):
    start_stats = {}
    if prior is None and _probe_start(gopts.start, weights):
        # the probe-informed estimate is closer to the truth than the frame model's: fewer trials
        first = _probe(src, info, predictor, weights, None, None, sample_every, shot_options, quiet, jobs)
        a, priors, model = first.analysis, first.jnd(), f"guided:{first.model}"
        start_stats = {"probe_seconds": first.stats["probe_seconds"], "start": "probe"}
    elif prior is None:
        a = analyze(src, predictor, info=info, sample_every=sample_every, shot_options=shot_options, quiet=quiet)
        priors = a.shot_jnd()
        model = f"guided:{a.model}"
    else:
        a = analyze(src, None, info=info, shot_options=shot_options, quiet=quiet)
        if isinstance(prior, (int, float)):
            priors = np.array([[prior, prior + 4.0, prior + 8.0]] * len(a.shots), dtype=float)
            model = f"guided:constant-{prior:g}"
        else:
            try:
                priors = np.asarray(prior, dtype=float).reshape(-1, LEVELS)
            except (TypeError, ValueError):  # "cannot reshape array of size 2 into shape (3)"
                raise UserError(f"prior takes one number (a JND1 for every shot) or JND1..JND{LEVELS} per shot, "
                                f"not {prior!r}") from None
            if len(priors) != len(a.shots):
                raise UserError(f"prior has {len(priors)} shots, the input has {len(a.shots)}")
            model = "guided:given"
    with bar(len(a.shots), "trial encodes", quiet, unit="shot") as pb:
        res = guided(src, a.shots, priors, sopts, gopts, workers=workers, bit_depth=info.bit_depth, fps=info.fps,
                     on_shot=lambda i: pb.update(1))
    k = gopts.target_jnd - 1
    shots = []
    for (s, e), p, r in zip(a.shots, priors, res):
        # the measured level replaces the prior's; the others move with it, keeping the model's spacing
        jnd = [float(x) + (r.crf - float(p[k])) for x in p]
        jnd[k] = r.crf
        shots.append(ShotEstimate(s, e, jnd, "guided", notes=r.notes,
                                  trials=[asdict(t) | {"cached": c} for t, c in zip(r.trials, r.cached)]))
    est = Estimates(str(src), a.frames, info.fps, "guided", shots, a, model=model)
    est.stats["prior"] = [[round(float(x), 2) for x in p] for p in priors]
    est.stats.update(start_stats)
    return est


def _probe_start(start: str, weights) -> bool:
    if start == "model":
        return False
    if start == "probe":
        return True
    # auto: only beside the shipped frame model
    return weights is None and default_probe_weights() is not None


def _probe(src, info, predictor, weights, probe_model, probe_weights, sample_every, shot_options, quiet, jobs):
    pm = probe_model or ProbeModel.load(probe_weights)
    a = analyze(src, predictor, info=info, sample_every=sample_every, shot_options=shot_options, quiet=quiet)
    frame = a.shot_jnd()
    # the probe the model was trained on (its settings are in its metadata), not whatever the defaults are now
    popts = ProbeOptions(**pm.metadata.get("probe", {}))
    crfs = centred_crfs(frame[:, 0]) if popts.centred else None
    jobs = probe_jobs(len(a.shots), jobs, (info.width, info.height), bit_depth=info.bit_depth, codec=popts.codec)
    # the probes read what the shot loop would: a seekable copy, or by the frames' own times (`probe_input`)
    with probe_input(src, info.video_stream, a.frames) as (reads, times):
        res, secs = probe_shots(reads, a.shots, fps=info.fps, size=(info.width, info.height), opts=popts,
                                bit_depth=info.bit_depth, crfs=crfs, jobs=jobs, seek_times=times)
        jnd, spread = pm.predict(frame, np.stack([pm.vector(r.to_dict(), (info.width, info.height)) for r in res]))
        jnd = np.array(jnd, dtype=np.float64)
        refine = pm.refine if popts.centred else None
        second: dict[int, dict] = {}
        if refine:
            c2 = second_probe_crfs([r.crf for r in res], [r.vmaf for r in res], jnd[:, 0], refine["vmaf_distance"])
            idx = [i for i, c in enumerate(c2) if c is not None]
            if idx:
                res2, secs2 = probe_shots(reads, [a.shots[i] for i in idx], fps=info.fps,
                                          size=(info.width, info.height), opts=popts, bit_depth=info.bit_depth,
                                          crfs=[c2[i] for i in idx], jobs=jobs, seek_times=times)
                secs += secs2
                for i, r2 in zip(idx, res2):
                    j1 = refine_jnd1(res[i].crf, res[i].vmaf, r2.crf, r2.vmaf, slope=tuple(refine["slope_range"]))
                    jnd[i] += j1 - jnd[i, 0]  # the levels move together, keeping the model's spacing
                    second[i] = r2.to_dict()
    shots = [ShotEstimate(s, e, [float(x) for x in j], "probe") for (s, e), j in zip(a.shots, jnd)]
    est = Estimates(str(src), a.frames, info.fps, "probe", shots, a, model=f"probe:{a.model}")
    est.stats.update({"spread": [round(float(x), 3) for x in spread], "margin_z": dict(pm.margin_z),
                      "probe": [r.to_dict() | ({"second": second[i]} if i in second else {})
                                for i, r in enumerate(res)], "probe_setting": popts.key(),
                      "probe_seconds": round(secs, 3), "probe_jobs": jobs,
                      "frame_jnd": [[round(float(x), 2) for x in j] for j in frame]})
    if refine and refine.get("margin"):
        est.stats["refine_margin"] = dict(refine["margin"])
    return est


def search_label(opts: SearchOptions) -> str:
    return f"search:{opts.metric}-{opts.pool}@{','.join(f'{t:g}' for t in opts.thresholds)}"


def search_options(codec: str = "x264", preset: str = "medium", thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                   metric: str = "vmaf", pool: str = "mean", trial_seconds: float = 0.0) -> SearchOptions:
    # `jndenc predict` and `jndenc.plan` reach the trials through here without encode's checks: a bad --pool or
    # --thresholds ended in an internal error after the shots' first trial encodes
    check_thresholds(thresholds, metric)
    check_pool(pool)
    return SearchOptions(codec=codec, preset=preset, metric=metric, pool=pool,
                         thresholds=tuple(float(t) for t in thresholds), max_trial_seconds=trial_seconds or None)
