"""The measured effort levels of `jndenc encode` (balanced, thorough): the loop's start from the model, the shot
loop (`jndenc.shotloop`) into a temp file that is validated (and with --verify measured) before it is renamed, and
what the file's shots teach about the start (`jndenc.learn`).

A module of its own because it shares no step with the one-pass paths (`jndenc.one_pass`) beyond the checks that
choose it and the fall back to the fast effort where frames cannot be measured (`jndenc.encode`).
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from .fileio import write_text_atomic
from . import learn, shotloop, starts
from .effort import Effort
from .learn import StartLearner
from .one_pass import shot_ranges, truncation_notes
from .options import EncodeOptions
from .result import LOOP_MODE, EncodeResult
from .output import (carries_audio, check_size, publish, size_limit, stream_options, temp_path,
                     validate_output)
from .output import target_vmaf as target_vmaf_of
from .media import enc_params
from .media.enc_params import Params as EncParams
from .media.ffargs import VMAF_MODEL
from .media.ffbin import require
from .pipeline import plan as make_plan_for
from .planner import Plan
from .search import DEFAULT_THRESHOLDS
from . import verify as V
from .media.probe import VideoInfo
from .reference import compare_or_note


def encode_measured(src: Path, dst: Path, info: VideoInfo, eff: Effort, o: EncodeOptions, *, t0: float,
                    analysis: shotloop.Phase) -> EncodeResult:
    """A measured effort level: plan the start from the model, run the segment loop (`jndenc.shotloop`), check and
    rename the output, record what its shots teach about the start. ``t0`` and ``analysis`` started before the
    probe that gave ``info`` (`jndenc.encode`), which counts in the analysis."""
    quiet, validate, verify, threads = o.outputs.quiet, o.outputs.validate, o.outputs.verify, o.codec.threads
    plan_out, compare_crf, learner = o.outputs.plan_out, o.outputs.compare_crf, o.work.learner
    if isinstance(learner, StartLearner):  # a pipeline's own learner (any object with offset and add) keeps its own
        learner.check_model(o.aim.vmaf_model)  # before any work
    offset = learner.offset() if learner is not None else float(o.work.start_offset or 0.0)
    plan, target, thresholds, model = _loop_start(src, info, eff, o, offset)
    cost = {"analysis": analysis.done()}
    maps, stream_kw, notes = stream_options(src, dst, info)
    enc = enc_params.parse(o.codec.enc)
    notes += enc_params.notes(enc, segmented=True)
    notes += V.model_notes(info.width, info.height, o.aim.vmaf_model)
    if o.expert.margin is not None or o.expert.confidence is not None:
        # the loop measures every shot, so a margin can only move where its first attempt lands
        notes.append("--margin/--confidence moved only each shot's first attempt; the loop keeps every shot in the "
                     f"band around VMAF {target:g} whatever they are (aim elsewhere with --target-vmaf)")
    plan, result, quality = _loop_output(src, dst, plan, info, eff, cost, target=target, thresholds=thresholds,
                                         jobs=o.work.jobs, dask=o.work.dask, maps=maps, stream_kw=stream_kw,
                                         validate=validate, verify=verify, threads=threads, quiet=quiet,
                                         resume=o.work.resume, enc=enc, max_size=o.outputs.max_size,
                                         vmaf_model=o.aim.vmaf_model, overwrite=o.outputs.overwrite)
    start = _start_record(model, plan, result, offset, learner)
    if plan_out is not None:
        write_text_atomic(plan_out, json.dumps(plan.to_dict(), indent=1))  # a batch reads it to adopt
    compare = None
    if compare_crf is not None:
        ph = shotloop.Phase()
        # what producing the output took (analysis, attempts, join, validation): --verify's pass over the finished
        # file is a check, left out as the one-pass paths leave it out
        produced = time.perf_counter() - t0 - cost.get("verify", {}).get("wall_s", 0.0)
        compare, said = compare_or_note(src, dst, plan, info, compare_crf, jndenc_seconds=produced,
                                        quality=quality, target=target, threads=threads, quiet=quiet,
                                        vmaf_model=o.aim.vmaf_model)
        notes = notes + said
        cost["compare"] = ph.done()
    size = dst.stat().st_size
    duration = plan.frames / plan.fps if plan.fps else info.duration
    notes = (info.notes + notes + result.notes + list(plan.stats.get("notes", []))
             + shotloop.outcome_notes(result, starts.min_crf(plan)))
    notes += truncation_notes(plan)
    if not verify and result.options.subsample > 1:
        notes.append(f"per-shot VMAF is the loop's measurement ({result.options.measurement()}); --verify measures "
                     "every frame of the finished file")
    total = round(time.perf_counter() - t0, 3)
    return EncodeResult(
        input=str(src), output=str(dst), mode=LOOP_MODE, codec=plan.codec, frames=plan.frames, bytes=size,
        bitrate_kbps=size * 8 / 1000 / duration if duration else 0.0, plan=plan,
        timings={"analysis_s": cost["analysis"]["wall_s"], "encode_s": cost["attempts"]["wall_s"],
                 **({"verify_s": cost["verify"]["wall_s"]} if "verify" in cost else {}), "total_s": total},
        notes=notes, quality=quality, target_vmaf=target, compare=compare, effort=eff.name, loop=result,
        # the total's CPU seconds: the analysis phase's clocks started with the run (`jndenc.encode`), so read now
        # they give the whole run's
        cost=cost | {"total": {"wall_s": total, "cpu_s": analysis.done()["cpu_s"]}}, start=start,
        vmaf_model=o.aim.vmaf_model, quality_by="output" if verify else "segments")


def _loop_start(src: Path, info: VideoInfo, eff: Effort, o: EncodeOptions,
                offset: float) -> tuple[Plan, float, list[float], list[float]]:
    """Where the loop's first attempts start: the model's median estimate per shot (x264 CRF), moved to the
    target VMAF and by the learned ``offset`` on that scale, then to the encoder's own scale (`jndenc.starts`).
    Returns that plan, the target VMAF, the JND levels' VMAF and the model's x264 start per shot."""
    codec = o.codec.codec
    # the frame model: a probe-mode start landed more first attempts in the band but its probes cost what they
    # saved (benchmarks/README.md: "A seventh, not adopted")
    plan_options = {**o.plan_kwargs(), "mode": "predict", "margin": o.expert.margin or "auto",
                    "confidence": o.expert.confidence or eff.confidence,
                    # the model predicts x264 CRFs: AV1 and VP9 plans move to their encoder's scale after
                    "codec": "x264" if codec in starts.LOOP_ONLY_CODECS else codec}
    if codec in starts.LOOP_ONLY_CODECS:
        plan_options["calibration"] = None  # theirs is a scale for `starts.on_codec`, not an x265 table
    plan = make_plan_for(src, info=info, quiet=o.outputs.quiet, **plan_options)
    target = target_vmaf_of(plan) if o.aim.target_vmaf is None else float(o.aim.target_vmaf)
    thresholds = list(plan.stats.get("thresholds") or DEFAULT_THRESHOLDS)
    plan = starts.start_at(plan, target, thresholds)
    model = [s.crf for s in plan.shots]
    plan = starts.on_codec(starts.shifted(plan, offset), codec, o.codec.encoder, o.codec.calibration)
    require(o.codec.encoder)  # resolved by `encode` (`encoder_of`)
    return plan, target, thresholds, model


def _loop_output(src: Path, dst: Path, plan: Plan, info: VideoInfo, eff: Effort, cost: dict, *, target: float,
                 thresholds: list[float], jobs: int | None, dask: str | None, maps: list[str], stream_kw: dict,
                 validate, verify: bool | None, threads: int | None, quiet: bool, resume: bool = False,
                 enc: EncParams = (), max_size: float | None = None, vmaf_model: str = VMAF_MODEL,
                 overwrite: bool = False):
    """The loop writes a temp file beside ``dst``, which is validated (and with ``verify`` measured once more)
    and only then renamed to ``dst``; any failure removes it. Returns the plan at the kept CRFs, the loop's
    result and each shot's quality; each phase's seconds go to ``cost``."""
    tmp = temp_path(dst)
    quality = None
    limit = size_limit(src, max_size)
    try:
        plan, result = shotloop.run(src, tmp, plan, info, target=target, thresholds=thresholds,
                                    options=replace(eff.loop, jobs=jobs, vmaf_model=vmaf_model),
                                    stream_maps=maps, stream_kw=stream_kw,
                                    quiet=quiet, dask=dask, resume=dst if resume else None, enc=enc,
                                    limit=limit, shown=dst)
        cost.update(result.cost)
        if validate:
            ph = shotloop.Phase()
            validate_output(tmp, plan, want_audio=carries_audio(maps), mode="fast" if validate is True else validate,
                            shown=dst)
            cost["validate"] = ph.done()
        if verify:
            ph = shotloop.Phase()
            quality = V.verify(tmp, src, shot_ranges(plan), info.bit_depth, threads, name=dst, quiet=quiet,
                               model=vmaf_model)
            cost["verify"] = ph.done()
        check_size(tmp, limit, dst)
        publish(tmp, dst, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if quality is None:
        quality = [V.ShotQuality(s.vmaf, s.p5) for s in result.shots]
    return plan, result, quality


def _start_record(model: list[float], plan: Plan, result, offset: float, learner: StartLearner | None) -> dict:
    """What this file's shots teach about the start (`jndenc.learn`), given to ``learner`` and kept in the
    result's ``"start"`` block: the offset used, its errors, one label per shot (None where a shot cannot
    locate its aim)."""
    labels = shotloop.labels(model, plan, result)
    found = [x for x in labels if x is not None]
    if isinstance(learner, StartLearner):
        learner.add(found, result.options.vmaf_model)
    elif learner is not None:
        learner.add(found)
    scale = {} if "x264_to_codec" not in plan.options else {"codec_scale": {
        "x264_to_codec": plan.options["x264_to_codec"], "from": plan.options.get("x264_to_codec_from", "shipped")}}
    return {"offset": offset, **scale, **learn.errors([(offset, found)]),
            "labels": [None if x is None else x.to_dict() for x in labels]}
