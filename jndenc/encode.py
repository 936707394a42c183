"""`jndenc encode`: plan (or load a plan), encode with FFmpeg, validate, rename.

The output appears only when it is complete and checked: FFmpeg writes a
hidden temp file beside the destination, its frame count (video packets,
demuxed) is compared with the plan and its last GOP decoded (``validate="full"``
decodes every frame instead), and only then is it renamed over the
destination. Any failure or interrupt removes the temp file.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import ffmpeg

from .fileio import write_text_atomic
from . import learn, modes, shotloop, starts
from .effort import UNMEASURED_CONFIDENCE, Effort, chosen
from .errors import UserError
from .learn import StartLearner
from .options import EncodeOptions
from .result import EncodeResult
from .output import (VALIDATE_MODES, carries_audio, check_container, check_paths, stream_options, temp_path,  # noqa: F401
                     validate_output)
from .output import target_vmaf as target_vmaf_of

target_vmaf = target_vmaf_of  # the public name (`jndenc.encode.target_vmaf`)
from .media import enc_params
from .media.enc_params import Params as EncParams, merged_kwargs
from .media.ffargs import faststart_args, pix_fmt
from .media.ffbin import require
from .media.segments import encoder_of
from .pipeline import plan as make_plan_for
from .planner import CODECS, Plan
from .search import DEFAULT_THRESHOLDS, check_thresholds
from . import verify as V
from .media.probe import VideoInfo, probe
from .progress import FrameCounter, bar
from .reference import compare_with_crf
from .media.runner import run_ffmpeg



def build_command(src: Path, tmp: Path, plan: Plan, info: VideoInfo, stream_maps: list[str], stream_kw: dict,
                  threads: int | None = None, enc: EncParams = ()) -> list[str]:
    """The FFmpeg arguments (without the binary), built with ffmpeg-python; ``enc``: the user's own encoder
    options (`jndenc.media.enc_params`)."""
    inp = ffmpeg.input(str(src))
    streams = [inp[f"v:{info.video_stream}"]] + [inp[f"{m}?"] for m in stream_maps]
    kw = merged_kwargs(plan.ffmpeg_output_kwargs(threads), enc)
    # 4:2:0 at the source's depth, as the loop's segments and every probe and trial encode measured it (x264 would
    # keep a 4:2:2 master's subsampling: High 4:2:2, which hardware decoders do not play)
    kw["pix_fmt"] = pix_fmt(info.bit_depth)
    kw.update(stream_kw)
    # passthrough: keep every frame and its timestamp (VFR stays VFR, no dup/drop)
    kw.update({"fps_mode": "passthrough", "map_metadata": 0})
    if plan.stats.get("truncated"):
        # the plan covers the frames PyAV decoded from a damaged input; FFmpeg's decoder can get a frame or two
        # more out of the damaged tail, which the output's validation would refuse
        kw["frames:v"] = plan.frames
    if faststart_args(tmp):
        kw["movflags"] = "+faststart"
    return ffmpeg.output(*streams, str(tmp), **kw).compile()[1:]


def encode(src: str | os.PathLike, dst: str | os.PathLike, options: EncodeOptions | None = None,
           **kwargs) -> EncodeResult:
    """Encode ``src`` to ``dst`` with per-shot JND-guided CRF.

    ``options`` (`jndenc.options.EncodeOptions`), or the same as flat keywords (``effort="thorough"``,
    ``codec="av1"``, ``target_vmaf=92``...; `EncodeOptions.from_kwargs` says which group each belongs to).

    The effort level (`jndenc.effort`: fast, balanced, thorough) is the user's knob; without it, and without an
    expert's mode, crf, plan, ensure/tighten or frame granularity, it is balanced: every shot encoded as its own
    segment, measured, and re-encoded where it missed the band around the target (``target_vmaf``, or the VMAF of
    ``target_jnd``); ``jobs`` shots at once (default: the available cores; the output does not depend on it);
    ``dask`` (a scheduler address) runs them on its workers (the input and the output's folder at the same
    paths there) and joins them here; ``start_offset`` (x264 CRF) moves the first attempts from the model's
    estimate, or a ``learner`` (`jndenc.learn.StartLearner`) supplies it and learns this file's shots.
    ``encoder`` picks the FFmpeg encoder of ``codec`` where it has several (av1: libsvtav1, the default,
    libaom-av1 or librav1e; `jndenc.media.segments.ENCODER_CHOICES`).

    The expert's one-pass paths: a ``mode`` or ``crf`` planned by `jndenc.plan`, or a ``plan`` (object or JSON
    path) replayed instead of analysing. ``verify`` (default: on in guided and search modes) measures the
    output's VMAF per shot against ``src`` in one pass; ``ensure`` re-encodes once, at a lower CRF, the shots
    that missed the target by more than 0.5 VMAF; ``tighten`` (implies ``ensure``) also raises, in that
    re-encode, the CRF of shots measured above the target (by their headroom), re-encodes once more only where
    that left a shot below the tolerance (raised shots back to their CRF, misses lower), and keeps the pass with
    the fewest shots below the tolerance, then the fewest bytes (`jndenc.verify.corrective_passes`); with
    ``tighten`` the margin's ``confidence`` defaults to the mode's `jndenc.verify.TIGHTEN_CONFIDENCE`.

    ``compare_crf`` then encodes ``src`` once more the plain way at that CRF (a temp file, deleted) and reports
    bytes, time and, with ``verify``, per-shot VMAF beside jndenc's (`jndenc.reference`).
    """
    if options is not None and kwargs:
        raise TypeError("encode() takes options or keyword arguments, not both")
    o = options if options is not None else EncodeOptions.from_kwargs(**kwargs)
    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    check_paths(src, dst, o.outputs.overwrite)
    o, effort = checked(o)
    check_container(dst, o.codec.codec)
    if effort is not None and effort.loop is not None:
        return _encode_measured(src, dst, effort, o)
    info = probe(src)
    fallback = None
    if effort is not None:
        effort, fallback = _one_pass_effort(effort, info, custom_model=o.analysis.weights is not None)
    if o.expert.mode is None:  # the effort's own estimate (fast: probe mode), else the frame model's
        o = o.with_(mode=effort.mode if effort is not None and effort.mode else "predict")
    if effort is not None and o.expert.confidence is None:
        o = o.with_(confidence=effort.confidence)
    if o.expert.tighten:
        o = o.with_(ensure=True)
    plan = _plan_of(src, info, o)
    r = _encode_one_pass(src, dst, info, plan, o, t0=t0, effort=effort)
    if fallback:
        r.notes.append(fallback)
    if effort is not None and r.quality is None:
        # the effort's --json says what its per-shot quality rests on, as the measured efforts' do
        m = o.expert.margin
        margin = (f"a margin meant to keep {o.expert.confidence:g} of shots at or above the target"
                  if m in (None, "auto") else f"a margin of {float(m):g} CRF")
        r.notes.append(f"the output was not measured: each shot's CRF is {o.expert.mode} mode's estimate less "
                       f"{margin}; --verify measures every shot")
    return r


def _one_pass_effort(eff: Effort, info: VideoInfo, *, custom_model: bool) -> tuple[Effort, str | None]:
    """``eff``, or the frame model alone at `jndenc.effort.UNMEASURED_CONFIDENCE`, with the note that says why,
    where its probes cannot serve: frames too small for libvmaf, or a frame model of the user's (``--weights``;
    the probe model was fitted on the shipped frame model's estimates, as guided's probe start is)."""
    if eff.mode is None or not modes.mode(eff.mode).probes:
        return eff, None
    why = V.unmeasurable(info.width, info.height)
    if why:
        why = f"{why}: no probe encodes"
    elif custom_model:
        why = "--weights: the probe model was fitted on the shipped frame model's estimates, so no probes"
    else:
        return eff, None
    return (replace(eff, mode="predict", confidence=UNMEASURED_CONFIDENCE),
            f"{why}; the frame model's estimate at --confidence {UNMEASURED_CONFIDENCE:g}")


def checked(o: EncodeOptions) -> tuple[EncodeOptions, Effort | None]:
    """The options with the encoder resolved, and the effort level they run; a `UserError` for any combination
    that cannot run, whatever the input (a batch asks once, before its first file)."""
    effort = chosen(o.work.effort, o.expert.chosen())
    o = o.with_(encoder=encoder_of(o.codec.codec, o.codec.encoder))
    enc_params.check_for(enc_params.parse(o.codec.enc), o.codec.encoder)
    if o.codec.calibration is not None and o.codec.codec in starts.LOOP_ONLY_CODECS:
        starts.codec_scale(o.codec.codec, o.codec.encoder, o.codec.calibration)
    if effort is None or effort.loop is None:
        _one_pass_allowed(o)
    check_thresholds(o.trials.thresholds, o.trials.metric)
    if (o.expert.ensure or o.expert.tighten) and o.outputs.verify is False:
        raise UserError("--ensure and --tighten measure the output: they cannot run with --no-verify")
    return o, effort


def _one_pass_allowed(o: EncodeOptions) -> None:
    """What only the shot loop does, refused on a one-pass path in one line."""
    if o.work.dask is not None:
        raise UserError("--dask spreads the shot loop (balanced or thorough) over a cluster; this encode runs no loop")
    if o.work.start_offset is not None or o.work.learner is not None:
        raise UserError("a start offset or learner corrects the first attempts of a measured effort (balanced or "
                        "thorough); this encode measures nothing")
    if o.work.resume:
        raise UserError("--resume takes up the shot loop's finished shots (balanced or thorough); this encode is one "
                        "pass, with nothing to take up")
    if o.aim.target_vmaf is not None:
        raise UserError("--target-vmaf needs a measured effort (balanced or thorough); the one-pass modes aim at "
                        "--target-jnd")
    if o.codec.codec in starts.LOOP_ONLY_CODECS:
        raise UserError(f"--codec {o.codec.codec} has no per-shot zones in FFmpeg: it runs through the "
                        "shot loop (--effort balanced or thorough) only")


def _encode_one_pass(src: Path, dst: Path, info: VideoInfo, plan: Plan, o: EncodeOptions, *, t0: float,
                     effort: Effort | None) -> EncodeResult:
    """The one-pass paths: ``plan`` encoded in one FFmpeg run (x264/x265 zones), validated, optionally measured
    and corrected (--ensure/--tighten), compared with a plain encode, renamed into place."""
    plan_out, validate, verify, compare_crf = (o.outputs.plan_out, o.outputs.validate, o.outputs.verify,
                                               o.outputs.compare_crf)
    ensure, tighten, threads, quiet = o.expert.ensure, o.expert.tighten, o.codec.threads, o.outputs.quiet
    t_analysis = time.perf_counter() - t0
    require(CODECS[plan.codec])
    if plan_out is not None:
        write_text_atomic(plan_out, json.dumps(plan.to_dict(), indent=1))  # a batch reads it to adopt

    maps, stream_kw, notes = stream_options(src, dst, info)
    notes = info.notes + notes + _truncation_notes(plan)
    tmp = temp_path(dst)
    # corrective passes (--ensure/--tighten) write beside it; the kept one is renamed to tmp
    extra = [tmp.with_name(tmp.name.replace(".tmp", f".pass{k}.tmp")) for k in (2, 3)]
    if verify is None:
        verify = (plan.mode in modes.REGISTRY and modes.mode(plan.mode).measures) or ensure
    why = V.unmeasurable(info.width, info.height)
    if verify and why:
        if ensure:
            raise UserError(f"{src}: {why}: --ensure and --tighten cannot measure them")
        notes.append(f"{why}: not verified")
        verify = False
    quality, passes = None, []
    spent = {"validate": 0.0, "verify": 0.0}  # reported apart from the encode
    t1 = time.perf_counter()

    enc = enc_params.parse(o.codec.enc)

    def one_pass(out: Path, p: Plan, label: str) -> None:
        args = build_command(src, out, p, info, maps, stream_kw, threads, enc)
        with bar(p.frames, f"encoding ({p.codec}){label}", quiet) as pb:
            run_ffmpeg(args, what=f"encoding {src}", on_frame=FrameCounter(pb))
        if validate:
            tv = time.perf_counter()
            validate_output(out, p, want_audio=carries_audio(maps), mode="fast" if validate is True else validate, shown=dst)
            spent["validate"] += time.perf_counter() - tv

    def measured(out: Path, p: Plan) -> list:
        tv = time.perf_counter()
        q = V.verify(out, src, _ranges(p), info.bit_depth, threads, name=dst, quiet=quiet)
        spent["verify"] += time.perf_counter() - tv
        return q

    try:
        one_pass(tmp, plan, "")
        if verify:
            target = target_vmaf_of(plan)
            quality = measured(tmp, plan)
            if ensure:
                plan, quality, passes = _corrected(plan, quality, tmp, extra, one_pass, measured, target, tighten,
                                                   notes)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for f in extra:
            f.unlink(missing_ok=True)
    t_encode = time.perf_counter() - t1 - spent["verify"] - spent["validate"]
    compare, t_compare = None, 0.0
    if compare_crf is not None:
        tc = time.perf_counter()
        compare = compare_with_crf(src, dst, plan, info, compare_crf,
                                   jndenc_seconds=t_analysis + t_encode + spent["validate"], quality=quality,
                                   target=target_vmaf_of(plan), threads=threads, quiet=quiet)
        t_compare = time.perf_counter() - tc
    size = dst.stat().st_size
    duration = plan.frames / plan.fps if plan.fps else info.duration
    return EncodeResult(
        input=str(src), output=str(dst), mode=plan.mode, codec=plan.codec, frames=plan.frames, bytes=size,
        bitrate_kbps=size * 8 / 1000 / duration if duration else 0.0, plan=plan,
        timings={"analysis_s": round(t_analysis, 3), "encode_s": round(t_encode, 3),
                 **({"verify_s": round(spent["verify"], 3)} if verify else {}),
                 **({"validate_s": round(spent["validate"], 3)} if validate else {}),
                 **({"compare_s": round(t_compare, 3)} if compare_crf is not None else {}),
                 "total_s": round(time.perf_counter() - t0, 3)},
        notes=notes + list(plan.stats.get("notes", [])),
        quality=quality,
        target_vmaf=target_vmaf_of(plan) if quality is not None else None,
        passes=passes,
        compare=compare,
        effort=None if effort is None else effort.name,
    )


def _corrected(plan: Plan, quality: list, tmp: Path, extra: list[Path], one_pass, measured, target: float,
               tighten: bool, notes: list[str]) -> tuple[Plan, list, list[dict]]:
    """--ensure/--tighten after the first pass (`jndenc.verify.corrective_passes`): the kept pass's plan and
    quality, every pass's record (none when no correction ran); the kept file is renamed to ``tmp``."""
    files = [tmp]

    def run(p: Plan) -> tuple[list, int]:
        out = extra[len(files) - 1]
        one_pass(out, p, f" pass {len(files) + 1}")
        files.append(out)
        return measured(out, p), out.stat().st_size

    runs = V.corrective_passes(V.Pass(plan, quality, tmp.stat().st_size, {}), target, run, tighten=tighten,
                               trials=_trials(plan))
    if len(runs) == 1:
        return plan, quality, []
    best = V.best_pass(runs, target)
    passes = [_pass_record(r, target, kept=i == best) for i, r in enumerate(runs)]
    for prev, r in zip(runs, runs[1:]):
        notes += _correction_notes(prev.plan.shots, r.changed, target)
    if best != len(runs) - 1:
        notes.append(f"kept pass {best + 1}: it left {passes[best]['shots_below_target']} shot(s) more than "
                     f"{V.ENSURE_TOLERANCE:g} VMAF below {target:g}, the last pass {passes[-1]['shots_below_target']}")
    if best:
        os.replace(files[best], tmp)
    return runs[best].plan, runs[best].quality, passes


def _plan_of(src: Path, info: VideoInfo, o: EncodeOptions) -> Plan:
    """The one-pass paths' plan: a saved plan (object or JSON path) checked against the input, or a new one."""
    plan = o.expert.plan
    if o.expert.tighten and plan is None and o.expert.confidence is None:
        # the correction measures every shot, so the plan starts nearer the estimate (benchmarks/tighten_sim.py)
        conf = V.TIGHTEN_CONFIDENCE.get(o.expert.mode or "predict")
        if conf is not None:
            o = o.with_(confidence=conf)
    if plan is not None:
        if not isinstance(plan, Plan):
            try:
                plan = Plan.from_dict(json.loads(Path(plan).read_text()))
            except (OSError, ValueError) as exc:
                raise UserError(f"{plan}: cannot read plan ({exc})") from None
        if info.frames_exact:
            plan.validate(frames=info.frames)
        return plan
    return make_plan_for(src, info=info, quiet=o.outputs.quiet, **o.plan_kwargs())


def _encode_measured(src: Path, dst: Path, eff: Effort, o: EncodeOptions) -> EncodeResult:
    """A measured effort level: plan the start from the model, run the segment loop (`jndenc.shotloop`), check and
    rename the output, record what its shots teach about the start."""
    quiet, validate, verify, threads = o.outputs.quiet, o.outputs.validate, o.outputs.verify, o.codec.threads
    plan_out, compare_crf, learner = o.outputs.plan_out, o.outputs.compare_crf, o.work.learner
    t0 = time.perf_counter()
    analysis = shotloop.Phase()
    info = probe(src)
    why = V.unmeasurable(info.width, info.height)
    if why:
        r = encode(src, dst, o.with_(effort="fast", overwrite=True, jobs=None, dask=None, resume=False,
                                     target_vmaf=None, start_offset=None, learner=None))
        r.notes.append(f"{why}: encoded at --effort fast instead of {eff.name}, nothing measured")
        return r
    offset = learner.offset() if learner is not None else float(o.work.start_offset or 0.0)
    plan, target, thresholds, model = _loop_start(src, info, eff, o, offset)
    cost = {"analysis": analysis.done()}
    maps, stream_kw, notes = stream_options(src, dst, info)
    enc = enc_params.parse(o.codec.enc)
    notes += enc_params.notes(enc, segmented=True)
    plan, result, quality = _loop_output(src, dst, plan, info, eff, cost, target=target, thresholds=thresholds,
                                         jobs=o.work.jobs, dask=o.work.dask, maps=maps, stream_kw=stream_kw,
                                         validate=validate, verify=verify, threads=threads, quiet=quiet,
                                         resume=o.work.resume, enc=enc)
    start = _start_record(model, plan, result, offset, learner)
    if plan_out is not None:
        write_text_atomic(plan_out, json.dumps(plan.to_dict(), indent=1))  # a batch reads it to adopt
    compare = None
    if compare_crf is not None:
        ph = shotloop.Phase()
        compare = compare_with_crf(src, dst, plan, info, compare_crf, jndenc_seconds=time.perf_counter() - t0,
                                   quality=quality, target=target, threads=threads, quiet=quiet)
        cost["compare"] = ph.done()
    size = dst.stat().st_size
    duration = plan.frames / plan.fps if plan.fps else info.duration
    notes = info.notes + notes + result.notes + list(plan.stats.get("notes", [])) + shotloop.outcome_notes(result)
    notes += _truncation_notes(plan)
    if not verify and result.options.subsample > 1:
        notes.append(f"per-shot VMAF is the loop's measurement ({result.options.measurement()}); --verify measures "
                     "every frame of the finished file")
    total = round(time.perf_counter() - t0, 3)
    return EncodeResult(
        input=str(src), output=str(dst), mode=plan.mode, codec=plan.codec, frames=plan.frames, bytes=size,
        bitrate_kbps=size * 8 / 1000 / duration if duration else 0.0, plan=plan,
        timings={"analysis_s": cost["analysis"]["wall_s"], "encode_s": cost["attempts"]["wall_s"],
                 **({"verify_s": cost["verify"]["wall_s"]} if "verify" in cost else {}), "total_s": total},
        notes=notes, quality=quality, target_vmaf=target, compare=compare, effort=eff.name, loop=result,
        cost=cost | {"total": {"wall_s": total}}, start=start)


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
                 enc: EncParams = ()):
    """The loop writes a temp file beside ``dst``, which is validated (and with ``verify`` measured once more)
    and only then renamed to ``dst``; any failure removes it. Returns the plan at the kept CRFs, the loop's
    result and each shot's quality; each phase's seconds go to ``cost``."""
    tmp = temp_path(dst)
    quality = None
    try:
        plan, result = shotloop.run(src, tmp, plan, info, target=target, thresholds=thresholds,
                                    options=replace(eff.loop, jobs=jobs), stream_maps=maps, stream_kw=stream_kw,
                                    quiet=quiet, dask=dask, resume=dst if resume else None, enc=enc)
        cost.update(result.cost)
        if validate:
            ph = shotloop.Phase()
            validate_output(tmp, plan, want_audio=carries_audio(maps), mode="fast" if validate is True else validate,
                            shown=dst)
            cost["validate"] = ph.done()
        if verify:
            ph = shotloop.Phase()
            quality = V.verify(tmp, src, _ranges(plan), info.bit_depth, threads, name=dst, quiet=quiet)
            cost["verify"] = ph.done()
        os.replace(tmp, dst)
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
    if learner is not None:
        learner.add(found)
    scale = {} if "x264_to_codec" not in plan.options else {"codec_scale": {
        "x264_to_codec": plan.options["x264_to_codec"], "from": plan.options.get("x264_to_codec_from", "shipped")}}
    return {"offset": offset, **scale, **learn.errors([(offset, found)]),
            "labels": [None if x is None else x.to_dict() for x in labels]}


def _truncation_notes(plan: Plan) -> list[str]:
    """The frames an input lost, said the same on every path: the plan covers the frames that decode (validation
    refuses an output with more or fewer)."""
    if not plan.stats.get("truncated"):
        return []
    return [f"{plan.stats['truncated']}; encoded the {plan.frames} frames that decode"]


def _ranges(plan: Plan) -> list[tuple[int, int]]:
    return [(s.start_frame, s.end_frame) for s in plan.shots]


def _pass_record(r: V.Pass, target: float, kept: bool) -> dict:
    return {"bytes": r.bytes, "crf": [s.crf for s in r.plan.shots], "vmaf": [q.to_dict() for q in r.quality],
            **V.summary(r.quality, target), "kept": kept}


def _trials(plan: Plan) -> list[list[dict]]:
    """Each shot's trials (guided and search plans; empty lists otherwise), for the measured slopes."""
    trials = list(plan.stats.get("trials") or [])
    return trials + [[] for _ in range(len(plan.shots) - len(trials))]


def _correction_notes(shots: list, new: dict[int, float], target: float) -> list[str]:
    lowered = [i for i, c in new.items() if c < shots[i].crf]
    raised = [i for i, c in new.items() if c > shots[i].crf]
    notes = []
    if lowered:
        notes.append(f"--ensure re-encoded shots {', '.join(map(str, lowered))} (more than "
                     f"{V.ENSURE_TOLERANCE:g} VMAF below {target:g}) at a lower CRF")
    if raised:
        notes.append(f"--tighten re-encoded shots {', '.join(map(str, raised))} (measured above {target:g}) at a "
                     f"higher CRF, by their headroom at {V.TIGHTEN_SLOPE:g} VMAF a step")
    return notes
