"""The one-pass paths of `jndenc encode` (an expert's mode, crf or plan; the fast effort): the whole plan in one
FFmpeg run (x264/x265 zones), validated, optionally measured and corrected (--ensure/--tighten), compared with a
plain encode, renamed into place.

A module of its own because it shares no step with the measured loop (`jndenc.measured`) beyond the checks that
choose it (`jndenc.encode`); the notes and shot ranges both paths give the same way live here, the lower of the two.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import ffmpeg

from .fileio import write_text_atomic
from . import modes
from .effort import UNMEASURED_CONFIDENCE, Effort
from .errors import UserError
from .options import EncodeOptions
from .result import EncodeResult
from .output import (carries_audio, check_size, publish, size_limit, stream_options, temp_path,
                     validate_output)
from .output import target_vmaf as target_vmaf_of
from .media import enc_params
from .media.enc_params import Params as EncParams, merged_kwargs
from .media.ffargs import VMAF_MODEL, container_options, graph_args, pix_fmt
from .media.ffbin import require
from .planner import CODECS, Plan
from . import verify as V
from .media.probe import VideoInfo, colour_args, statistics_tags
from .progress import FrameCounter, bar
from .reference import compare_or_note
from .media.runner import run_ffmpeg


def build_command(src: Path, tmp: Path, plan: Plan, info: VideoInfo, stream_maps: list[str], stream_kw: dict,
                  threads: int | None = None, enc: EncParams = (), vfr: bool = False) -> list[str]:
    """The FFmpeg arguments (without the binary), built with ffmpeg-python; ``enc``: the user's own encoder
    options (`jndenc.media.enc_params`); ``vfr``: the source's frames are unevenly spaced
    (`jndenc.media.timing.variable_rate`)."""
    kw = merged_kwargs(plan.ffmpeg_output_kwargs(threads), colour_args(info.pix_fmt) + enc_params.for_encoder(enc))
    gop = enc_params.gop(enc)
    if gop:
        kw["force_key_frames"] = plan.force_key_frames(gop)
    # 4:2:0 at the source's depth, as the loop's segments and every probe and trial encode measured it (x264 would
    # keep a 4:2:2 master's subsampling: High 4:2:2, which hardware decoders do not play)
    kw["pix_fmt"] = pix_fmt(info.bit_depth)
    kw.update(stream_kw)
    # passthrough: keep every frame and its timestamp (VFR stays VFR, no dup/drop)
    kw.update({"fps_mode": "passthrough", "map_metadata": 0})
    if vfr:
        # FFmpeg gives the encoder a 1/frame-rate time base, which moved an unevenly spaced source's frames onto
        # that grid (a screen recording's by up to 54 ms); the source's own time base keeps them where they were
        kw["enc_time_base:v"] = "filter"
    if plan.stats.get("truncated"):
        # the plan covers the frames PyAV decoded from a damaged input; FFmpeg's decoder can get a frame or two
        # more out of the damaged tail, which the output's validation would refuse
        kw["frames:v"] = plan.frames
    kw.update(container_options(tmp))
    kw.update(enc_params.output_options(enc, CODECS[plan.codec], tmp.suffix))

    def graph(src_name: str, out_name: str):
        inp = ffmpeg.input(src_name)
        streams = [inp[f"v:{info.video_stream}"]] + [inp[f"{m}?"] for m in stream_maps]
        return ffmpeg.output(*streams, out_name, **kw)

    args = graph_args(src, tmp, graph)
    # FFmpeg copies the source stream's tags into the encode, mkvmerge's statistics too (its bit rate, frame and
    # byte counts), which would then describe the source: emptied (one option each, which ffmpeg-python's keyword
    # arguments cannot repeat)
    drop = [a for k in statistics_tags(src) for a in ("-metadata:s:v:0", f"{k}=")]
    at = len(args) - 1 - args[::-1].index(os.fspath(tmp))
    return args[:at] + drop + args[at:]


def one_pass_effort(eff: Effort, info: VideoInfo, *, custom_model: bool) -> tuple[Effort, str | None]:
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


def encode_one_pass(src: Path, dst: Path, info: VideoInfo, plan: Plan, o: EncodeOptions, *, t0: float,
                     effort: Effort | None) -> EncodeResult:
    """The one-pass paths: ``plan`` encoded in one FFmpeg run (x264/x265 zones), validated, optionally measured
    and corrected (--ensure/--tighten), compared with a plain encode, renamed into place."""
    plan_out, validate, verify, compare_crf = (o.outputs.plan_out, o.outputs.validate, o.outputs.verify,
                                               o.outputs.compare_crf)
    ensure, tighten, threads, quiet = o.expert.ensure, o.expert.tighten, o.codec.threads, o.outputs.quiet
    model = o.aim.vmaf_model  # what --verify measures in; the plan is made in the default model (`encode.checked`)
    t_analysis = time.perf_counter() - t0
    require(CODECS[plan.codec])
    if plan_out is not None:
        write_text_atomic(plan_out, json.dumps(plan.to_dict(), indent=1))  # a batch reads it to adopt

    maps, stream_kw, notes = stream_options(src, dst, info)
    notes = info.notes + notes + truncation_notes(plan)
    tmp = temp_path(dst)
    # corrective passes (--ensure/--tighten) write beside it; the kept one is renamed to tmp
    extra = [tmp.with_name(tmp.name.replace(".tmp", f".pass{k}.tmp")) for k in (2, 3)]
    verify = _measures(src, plan, info, verify, ensure, model, notes)
    quality, passes = None, []
    spent = {"validate": 0.0, "verify": 0.0}  # reported apart from the encode
    t1 = time.perf_counter()

    enc = enc_params.parse(o.codec.enc)
    notes += enc_params.notes(enc, segmented=False)

    def one_pass(out: Path, p: Plan, label: str) -> None:
        args = build_command(src, out, p, info, maps, stream_kw, threads, enc, info.vfr)
        with bar(p.frames, f"encoding ({p.codec}){label}", quiet) as pb:
            run_ffmpeg(args, what=f"encoding {src}", on_frame=FrameCounter(pb))
        if validate:
            tv = time.perf_counter()
            validate_output(out, p, want_audio=carries_audio(maps), mode="fast" if validate is True else validate, shown=dst)
            spent["validate"] += time.perf_counter() - tv

    def measured(out: Path, p: Plan) -> list:
        tv = time.perf_counter()
        q = V.verify(out, src, shot_ranges(p), info.bit_depth, threads, name=dst, quiet=quiet, model=model)
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
        check_size(tmp, size_limit(src, o.outputs.max_size), dst)
        publish(tmp, dst, o.outputs.overwrite)
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
        compare, said = compare_or_note(src, dst, plan, info, compare_crf,
                                        jndenc_seconds=t_analysis + t_encode + spent["validate"], quality=quality,
                                        target=target_vmaf_of(plan), threads=threads, quiet=quiet,
                                        vmaf_model=model)
        notes += said
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
        vmaf_model=model if quality is not None else VMAF_MODEL,
    )


def _measures(src: Path, plan: Plan, info: VideoInfo, verify: bool | None, ensure: bool, model: str,
              notes: list[str]) -> bool:
    """Whether the output is measured: as asked, else where the plan came from trial encodes or --ensure
    corrects it; not where libvmaf cannot score the frames (said in ``notes``; refused for --ensure)."""
    if verify is None:
        verify = (plan.mode in modes.REGISTRY and modes.mode(plan.mode).measures) or ensure
    why = V.unmeasurable(info.width, info.height)
    if verify and why:
        if ensure:
            raise UserError(f"{src}: {why}: --ensure and --tighten cannot measure them")
        notes.append(f"{why}: not verified")
        return False
    if verify and model != VMAF_MODEL:
        notes.append(f"planned in {VMAF_MODEL} (the one-pass estimates and margins are made in it), measured in "
                     f"{model}")
    if verify:  # the measured efforts say the same (`jndenc.measured`)
        notes += V.model_notes(info.width, info.height, model)
    return bool(verify)


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


def truncation_notes(plan: Plan) -> list[str]:
    """The frames an input lost, said the same on every path: the plan covers the frames that decode (validation
    refuses an output with more or fewer)."""
    if not plan.stats.get("truncated"):
        return []
    return [f"{plan.stats['truncated']}; encoded the {plan.frames} frames that decode"]


def shot_ranges(plan: Plan) -> list[tuple[int, int]]:
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
