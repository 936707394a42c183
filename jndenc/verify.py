"""What the output reached: per-shot VMAF of the finished encode against the source, in one metric pass.

``--verify`` measures the output once (one libvmaf pass over the whole file, not
one per shot) and pools the per-frame scores by shot: mean and 5th percentile.
``--ensure`` uses it to re-encode, once, the shots that missed the target by
more than a tolerance, at a CRF lowered by the measured (or prior) slope.
``--tighten`` also raises, in the same re-encode, the CRF of shots measured well
above the target (the plan's estimate was conservative there, and the finished
output is the one measurement that needs no model), and settles once more where
that left a shot below the tolerance. The pass with the fewest shots below the
tolerance becomes the output.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from .media.ffargs import VMAF_MODEL
from .media.quality import compare
from .progress import FrameCounter, bar
from .planner import Plan, Zone

# libvmaf fails on frames with a side of 16 pixels (its feature pyramids run out of rows); 24 measured fine
MIN_SIDE = 24


def unmeasurable(width: int, height: int) -> str | None:
    """Why frames of this size cannot be measured (libvmaf), or None when they can."""
    if min(width, height) < MIN_SIDE:
        return f"{width}x{height} frames are too small for VMAF (a side under {MIN_SIDE} pixels)"
    return None


ENSURE_TOLERANCE = 0.5  # VMAF points below the target that --ensure lets pass
# --ensure lowers a missed shot by its shortfall at this many VMAF points per CRF step (or its trials' slope where
# shallower), at least one step. Replayed on the training shots' label-search curves (benchmarks/tighten_sim.py),
# 1.5 left a third of the lowered shots still below the tolerance; 0.75 (about the median slope) leaves one in
# fifty, at about one CRF step more on the shots it lowers
ENSURE_SLOPE = 0.75
# --tighten raises a shot by its headroom over the target at this many VMAF points per CRF step (or its trials'
# slope where steeper), in steps of TIGHTEN_STEP. Near VMAF 94-96 the label searches of the training shots fell
# 0.73 VMAF per CRF step at the median and under 1.5 in nine cases of ten (benchmarks/tighten_sim.py, train and
# valid splits): an assumed 1.5 under-raises most shots, so that a raised shot rarely ends below the tolerance
TIGHTEN_SLOPE = 1.5
TIGHTEN_STEP = 0.25
# --tighten's --confidence where none is given (margin auto), per mode: `jndenc.modes` (from 0.9, the default
# without --tighten, one raise is too short in either mode)
from .modes import TIGHTEN_CONFIDENCE  # noqa: E402,F401 - re-exported: verify's public name for it


@dataclass
class ShotQuality:
    mean: float
    p5: float

    def to_dict(self) -> dict:
        return {"mean": round(self.mean, 2), "p5": round(self.p5, 2)}


def shot_quality(frame_scores: np.ndarray, shots: Sequence[tuple[int, int]]) -> list[ShotQuality]:
    """Pool per-frame scores by shot (frame ``i`` of the output is frame ``i`` of the source)."""
    out = []
    for a, b in shots:
        v = frame_scores[a:min(b, len(frame_scores))]
        v = v[np.isfinite(v)]
        out.append(ShotQuality(float(np.mean(v)), float(np.percentile(v, 5))) if v.size else
                   ShotQuality(float("nan"), float("nan")))
    return out


# above 1440p the default model's viewer (a 1080p screen at three picture heights) no longer matches the screen
# the video is made for; ab-av1 switches to the 4K model there on its own, jndenc keeps its labels' model and says so
LARGE_PIXELS = 2560 * 1440


def model_notes(width: int, height: int, model: str) -> list[str]:
    """What a user should know about measuring ``width`` x ``height`` frames with libvmaf ``model``."""
    if model == VMAF_MODEL and width * height > LARGE_PIXELS:
        return [f"{width}x{height} scored with {VMAF_MODEL}, which models a 1080p screen seen from three picture "
                "heights; --vmaf-model vmaf_4k_v0.6.1 scores for a 4K TV (the starts are made in the default "
                "model either way)"]
    return []


def verify(output: str | os.PathLike, source: str | os.PathLike, shots: Sequence[tuple[int, int]],
           bit_depth: int = 8, threads: int | None = None, name: str | os.PathLike | None = None,
           quiet: bool = True, model: str = VMAF_MODEL) -> list[ShotQuality]:
    """Per-shot VMAF (mean, p5 over the shot's frames; libvmaf ``model``) of ``output`` against ``source``, in one
    libvmaf pass.

    VMAF alone (no PSNR/SSIM features): the same VMAF for half the CPU. Every frame is scored: this is the
    measurement users check the loop's own (possibly subsampled, `jndenc.loop_options.LoopOptions`) against.
    """
    with bar(shots[-1][1] if shots else None, "measuring VMAF", quiet) as pb:
        q = compare(output, source, bit_depth=bit_depth, threads=threads, features=(), name=name,
                    on_frame=FrameCounter(pb), model=model)
    return shot_quality(q.frames["vmaf"], shots)


def summary(quality: Sequence[ShotQuality], target: float, model: str = VMAF_MODEL, measured: str = "output"
            ) -> dict:
    """``--json``'s ``"verify"``: the worst shot and the shots below ``target``, scores of libvmaf ``model``;
    ``measured``: "output" (the finished file, every frame: --verify) or "segments" (the shot loop's own readings of
    the segments the file is made of, sampled as its ``measured_by`` says), so that nobody takes the second for the
    first."""
    means = [q.mean for q in quality]
    worst = int(np.nanargmin(means)) if quality else -1
    return {
        "target_vmaf": target,
        "vmaf_model": model,
        "measured": measured,
        "worst_shot": worst,
        "worst_shot_vmaf": round(means[worst], 2) if quality else None,
        "worst_shot_p5": round(quality[worst].p5, 2) if quality else None,
        "shots_below_target": int(sum(m < target - ENSURE_TOLERANCE for m in means)),
    }


def misses(quality: Sequence[ShotQuality], target: float, tolerance: float = ENSURE_TOLERANCE) -> list[int]:
    return [i for i, q in enumerate(quality) if math.isfinite(q.mean) and q.mean < target - tolerance]


def corrected_crf(crf: float, vmaf: float, target: float, slope: float, step: float, min_crf: float) -> float:
    """A CRF expected to lift ``vmaf`` to ``target`` at ``slope`` VMAF per CRF: at least one step lower."""
    drop = max(step, math.ceil((target - vmaf) / max(slope, 0.05) / step - 1e-9) * step)
    return max(float(min_crf), round(crf - drop, 4))


@dataclass
class Pass:
    """One encode of a plan and what the verification measured of it."""

    plan: Plan
    quality: list[ShotQuality]
    bytes: int
    changed: dict[int, float]  # shot index -> the CRF this pass gave it (empty for the first pass)


def best_pass(passes: Sequence[Pass], target: float) -> int:
    """The index of the pass that becomes the output: fewest shots more than the tolerance below ``target``,
    then fewest bytes (so a correction never costs a visible shot)."""
    return min(range(len(passes)), key=lambda i: (len(misses(passes[i].quality, target)), passes[i].bytes))


def _lowered(crf: float, q: ShotQuality, target: float, trials: Sequence[dict], step: float, min_crf: float) -> float:
    """A missed shot's lower CRF (`corrected_crf`) at ENSURE_SLOPE, or its trials' slope where shallower."""
    return corrected_crf(crf, q.mean, target, min(measured_slope(trials, ENSURE_SLOPE), ENSURE_SLOPE), step, min_crf)


def settled(crfs: Sequence[float], quality: Sequence[ShotQuality], target: float, before: Sequence[float], *,
            trials: Sequence[Sequence[dict]] | None = None, step: float = 1.0,
            min_crf: float = 0.0) -> dict[int, float]:
    """The last pass of ``--tighten``: shots still more than the tolerance below ``target`` after a correction
    go back to their CRF ``before`` it where it raised them (they met the target there), else are lowered again
    as `--ensure` lowers; nothing is raised, so the passes end."""
    trials = trials or [[] for _ in crfs]
    new: dict[int, float] = {}
    for i in misses(quality, target):
        raised = crfs[i] > before[i]
        new[i] = float(before[i]) if raised else _lowered(crfs[i], quality[i], target, trials[i], step, min_crf)
    return new


def corrective_passes(first: Pass, target: float, run: Callable[[Plan], tuple[list[ShotQuality], int]], *,
                      tighten: bool, trials: Sequence[Sequence[dict]] | None = None) -> list[Pass]:
    """Every pass of ``--ensure`` (one correction of the misses) or ``--tighten`` (misses lowered and headroom
    raised, then, only where that left a shot below the tolerance, one settling pass: `settled`), starting from
    ``first``; ``run(plan)`` encodes and verifies a plan and returns (per-shot quality, bytes). Pick the output
    with `best_pass`."""
    o = first.plan.options
    kw = {"trials": trials, "step": float(o.get("crf_step", 1.0) or 1.0), "min_crf": float(o.get("min_crf", 0.0))}
    passes = [first]
    new = corrections([s.crf for s in first.plan.shots], first.quality, target, tighten=tighten,
                      max_crf=float(o.get("max_crf", 51.0)), **kw)
    while new:
        prev = passes[-1]
        plan = with_shot_crfs(prev.plan, new)
        quality, nbytes = run(plan)
        passes.append(Pass(plan, quality, nbytes, new))
        new = {}
        if tighten and len(passes) == 2 and misses(quality, target):
            new = settled([s.crf for s in plan.shots], quality, target, [s.crf for s in prev.plan.shots], **kw)
    return passes


def raised_crf(crf: float, vmaf: float, target: float, slope: float, step: float, max_crf: float) -> float:
    """A CRF expected to bring ``vmaf`` down to ``target`` at ``slope`` VMAF per CRF, floored to ``step``;
    ``crf`` itself when the headroom is under one step."""
    up = math.floor((vmaf - target) / max(slope, 0.05) / step + 1e-9) * step
    return min(float(max_crf), round(crf + up, 4)) if up >= step else float(crf)


def corrections(crfs: Sequence[float], quality: Sequence[ShotQuality], target: float, *,
                trials: Sequence[Sequence[dict]] | None = None, step: float = 1.0, min_crf: float = 0.0,
                max_crf: float = 51.0, tighten: bool = False) -> dict[int, float]:
    """New CRFs by shot index: misses (more than the tolerance below ``target``) lowered as ``--ensure`` does;
    with ``tighten`` also shots with a quarter step or more of headroom (at the assumed slope) raised
    (`raised_crf`). Shots left as they are are not in the result."""
    trials = trials or [[] for _ in crfs]
    new: dict[int, float] = {}
    for i in misses(quality, target):
        new[i] = _lowered(crfs[i], quality[i], target, trials[i], step, min_crf)
    if tighten:
        for i, (crf, q) in enumerate(zip(crfs, quality)):
            if i in new or not math.isfinite(q.mean) or q.mean <= target:
                continue
            slope = max(measured_slope(trials[i], TIGHTEN_SLOPE), TIGHTEN_SLOPE)
            up = raised_crf(crf, q.mean, target, slope, TIGHTEN_STEP, max_crf)
            if up > crf:
                new[i] = up
    return new


def with_shot_crfs(plan: Plan, new: dict[int, float]) -> Plan:
    """A copy of ``plan`` whose shots in ``new`` take the given CRF (their zones follow by the same delta)."""
    shots = list(plan.shots)
    zones = list(plan.zones)
    for i, crf in new.items():
        s = shots[i]
        delta = crf - s.crf
        shots[i] = replace(s, crf=float(crf))
        zones = [Zone(z.start_frame, z.end_frame, max(0.0, round(z.crf + delta, 4)))
                 if s.start_frame <= z.start_frame < s.end_frame else z for z in zones]
    return replace(plan, shots=shots, zones=zones).validate()


def measured_slope(trials: Sequence[dict], default: float) -> float:
    """VMAF per CRF from a shot's trials (least squares over them), or ``default`` with fewer than two."""
    if len(trials) < 2:
        return default
    x = np.array([t["crf"] for t in trials], float)
    y = np.array([t["score"] for t in trials], float)
    if np.ptp(x) < 1e-6:
        return default
    s = -float(np.polyfit(x, y, 1)[0])
    return s if s > 0.05 else default
