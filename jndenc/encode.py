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
from dataclasses import dataclass, field
from pathlib import Path

import ffmpeg

from .media.decode import count_decoded_frames, count_packets, decode_tail
from .errors import InputError, UserError
from .media.ffbin import require
from .pipeline import plan as make_plan_for
from .planner import CODECS, Plan, margin_report
from .search import DEFAULT_THRESHOLDS
from . import verify as V
from .media.probe import VideoInfo, open_container, probe
from .progress import FrameCounter, bar
from .reference import compare_with_crf
from .media.runner import run_ffmpeg

# audio codecs the MP4/MOV muxer takes as they are; others are re-encoded to AAC
_MP4_AUDIO = {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}
_MP4_SUBS = {"mov_text"}


@dataclass
class EncodeResult:
    input: str
    output: str
    mode: str
    codec: str
    frames: int
    bytes: int
    bitrate_kbps: float
    plan: Plan
    timings: dict
    notes: list[str] = field(default_factory=list)
    quality: list | None = None  # per-shot `jndenc.verify.ShotQuality` with --verify
    target_vmaf: float | None = None
    passes: list[dict] = field(default_factory=list)  # --ensure/--tighten: each pass's CRFs, bytes, per-shot VMAF, kept
    compare: dict | None = None  # --compare-crf: a plain fixed-CRF encode of the same input beside this one

    def to_dict(self) -> dict:
        shots = []
        for i, s in enumerate(self.plan.shots):
            d = {"start_frame": s.start_frame, "end_frame": s.end_frame, "jnd": s.jnd, "crf": s.crf}
            if self.quality is not None:
                d["vmaf"] = self.quality[i].to_dict()
            shots.append(d)
        out = {
            "input": self.input,
            "output": self.output,
            "mode": self.mode,
            "codec": self.codec,
            "preset": self.plan.preset,
            "frames": self.frames,
            "bytes": self.bytes,
            "bitrate_kbps": round(self.bitrate_kbps, 2),
            "model": self.plan.model,
            "shots": shots,
            "zones": len(self.plan.zones),
            "margin": margin_report(self.plan),
            "trial_encodes": self.plan.stats.get("trial_encodes"),
            "trials_measured": self.plan.stats.get("trials_measured"),
            "timings": self.timings,
            "notes": self.notes,
        }
        if "probe" in self.plan.stats:  # probe mode: what the probes measured and cost (inside analysis_s)
            out["probe"] = self.plan.stats["probe"]
        if self.quality is not None:
            out["verify"] = V.summary(self.quality, self.target_vmaf)
        if self.passes:
            out["passes"] = self.passes
        if self.compare is not None:
            out["compare"] = self.compare
        return out


def check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse anything that could touch the input or clobber a file by surprise."""
    if dst.exists() and dst.is_dir():
        raise UserError(f"{dst}: output is a directory")
    if src.exists() and dst.exists():
        if os.path.samefile(src, dst):  # same path, symlink or hard link
            raise UserError(f"{dst}: output is the input file (refusing to overwrite the input)")
    elif src.resolve() == dst.resolve():
        raise UserError(f"{dst}: output is the input file (refusing to overwrite the input)")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{dst}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{dst}: output folder {parent} is not writable")
    if dst.exists() and not overwrite:
        raise UserError(f"{dst}: already exists (use --overwrite / -y to replace it)")


def _stream_options(src: Path, dst: Path, info: VideoInfo) -> tuple[list[str], dict, list[str]]:
    """Which extra streams to map and how; MP4 cannot carry every codec as-is."""
    maps, kw, notes = [], {}, []
    mp4 = dst.suffix.lower() in (".mp4", ".m4v", ".mov")
    container = open_container(src)
    try:
        audio = [s.codec_context.name for s in container.streams.audio]
        subs = [s.codec_context.name for s in container.streams.subtitles]
    finally:
        container.close()
    if audio:
        maps.append("a")
        if mp4 and any(a not in _MP4_AUDIO for a in audio):
            kw["c:a"] = "aac"
            notes.append(f"audio ({', '.join(audio)}) re-encoded to AAC: {dst.suffix} cannot carry it as is")
        else:
            kw["c:a"] = "copy"
    if subs:
        if mp4 and any(s not in _MP4_SUBS for s in subs):
            if all(s in ("subrip", "ass", "ssa", "webvtt", "text") for s in subs):
                maps.append("s")
                kw["c:s"] = "mov_text"
            else:
                notes.append(f"subtitles ({', '.join(subs)}) dropped: {dst.suffix} cannot carry them")
        else:
            maps.append("s")
            kw["c:s"] = "copy"
    return maps, kw, notes


def build_command(src: Path, tmp: Path, plan: Plan, info: VideoInfo, stream_maps: list[str], stream_kw: dict,
                  threads: int | None = None) -> list[str]:
    """The FFmpeg arguments (without the binary), built with ffmpeg-python."""
    inp = ffmpeg.input(str(src))
    streams = [inp[f"v:{info.video_stream}"]] + [inp[f"{m}?"] for m in stream_maps]
    kw = dict(plan.ffmpeg_output_kwargs(threads))
    kw.update(stream_kw)
    # passthrough: keep every frame and its timestamp (VFR stays VFR, no dup/drop)
    kw.update({"fps_mode": "passthrough", "map_metadata": 0})
    if tmp.suffix.lower() in (".mp4", ".m4v", ".mov"):
        kw["movflags"] = "+faststart"
    return ffmpeg.output(*streams, str(tmp), **kw).compile()[1:]


VALIDATE_MODES = ("fast", "full")


def validate_output(path: Path, plan: Plan, want_audio: bool, mode: str = "fast") -> None:
    """Refuse an output that lacks frames of the plan (or its audio).

    ``fast`` counts the video packets (demux only) and decodes the last GOP, so
    a cut or damaged end is caught for the cost of decoding one GOP; ``full``
    decodes every frame (what ``fast`` replaced: ~2 s on 24 s of 720p).
    """
    if mode not in VALIDATE_MODES:
        raise UserError(f"unknown validation {mode!r}; choose {' or '.join(VALIDATE_MODES)}")
    if mode == "full":
        frames = count_decoded_frames(path)
    else:
        try:
            pc = count_packets(path)
        except InputError as exc:
            raise UserError(f"{path}: encoded output does not open ({exc}); output discarded") from None
        frames = pc.frames
        if pc.corrupt:
            raise UserError(f"{path}: encoded output is damaged ({pc.corrupt} unreadable packet(s)); output discarded")
        if abs(frames - plan.frames) <= 1:
            tail = decode_tail(path, pc.last_key_pts)
            if tail < pc.tail_frames:
                raise UserError(f"{path}: the last {pc.tail_frames} frames of the encoded output do not decode "
                                f"({tail} did); output discarded")
    if abs(frames - plan.frames) > 1:
        raise UserError(f"{path}: encoded output has {frames} frames, plan has {plan.frames}; output discarded")
    if want_audio:
        c = open_container(path)
        try:
            if not c.streams.audio:
                raise UserError(f"{path}: encoded output lost the audio stream; output discarded")
        finally:
            c.close()


def encode(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    plan: Plan | str | os.PathLike | None = None,
    plan_out: str | os.PathLike | None = None,
    overwrite: bool = False,
    quiet: bool = True,
    threads: int | None = None,
    validate: bool | str = True,
    verify: bool | None = None,
    ensure: bool = False,
    tighten: bool = False,
    compare_crf: float | None = None,
    **plan_options,
) -> EncodeResult:
    """Encode ``src`` to ``dst`` with per-shot JND-guided CRF.

    ``plan_options`` go to `jndenc.plan` (mode, crf, codec, preset, target_jnd,
    margin, min_crf, max_crf, granularity, weights, ...); a ``plan`` (object or
    JSON path) replays a saved plan instead of analysing. ``verify`` (default: on in guided and search modes)
    measures the output's VMAF per shot against ``src`` in one pass; ``ensure`` re-encodes once, at a lower CRF,
    the shots that missed the target by more than 0.5 VMAF; ``tighten`` (implies ``ensure``) also raises, in
    that re-encode, the CRF of shots measured above the target (by their headroom), re-encodes once more only where
    that left a shot below the tolerance (raised shots back to their CRF, misses lower), and keeps the pass with the
    fewest shots below the tolerance, then the fewest bytes (`jndenc.verify.corrective_passes`); with ``tighten``
    the margin's ``confidence`` defaults to the mode's `jndenc.verify.TIGHTEN_CONFIDENCE` instead of 0.9.
    ``compare_crf`` then encodes ``src`` once more the plain way at that CRF (a temp file, deleted) and reports
    bytes, time and, with ``verify``, per-shot VMAF beside jndenc's (`jndenc.reference`).
    """
    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    check_paths(src, dst, overwrite)
    ensure = ensure or tighten
    if ensure and verify is False:
        raise UserError("--ensure and --tighten measure the output: they cannot run with --no-verify")
    info = probe(src)
    if tighten and plan is None and plan_options.get("confidence") is None:
        # the correction measures every shot, so the plan starts nearer the estimate (benchmarks/tighten_sim.py)
        conf = V.TIGHTEN_CONFIDENCE.get(plan_options.get("mode") or "predict")
        if conf is not None:
            plan_options["confidence"] = conf
    if plan is not None:
        if not isinstance(plan, Plan):
            try:
                plan = Plan.from_dict(json.loads(Path(plan).read_text()))
            except (OSError, ValueError) as exc:
                raise UserError(f"{plan}: cannot read plan ({exc})") from None
        if info.frames_exact:
            plan.validate(frames=info.frames)
    else:
        plan = make_plan_for(src, info=info, quiet=quiet, **plan_options)
    t_analysis = time.perf_counter() - t0
    require(CODECS[plan.codec])
    if plan_out is not None:
        Path(plan_out).write_text(json.dumps(plan.to_dict(), indent=1))

    maps, stream_kw, notes = _stream_options(src, dst, info)
    notes = info.notes + notes
    if plan.stats.get("truncated"):
        # the plan covers the frames that decode; validation refuses the output if FFmpeg gets more or fewer
        notes.append(f"{plan.stats['truncated']}; encoded the {plan.frames} frames that decode")
    tmp = dst.with_name(f".{dst.stem}.jndenc-{os.getpid()}.tmp{dst.suffix or '.mp4'}")
    # corrective passes (--ensure/--tighten) write beside it; the kept one is renamed to tmp
    extra = [tmp.with_name(tmp.name.replace(".tmp", f".pass{k}.tmp")) for k in (2, 3)]
    if verify is None:
        verify = plan.mode in ("guided", "search") or ensure
    quality, passes = None, []
    spent = {"validate": 0.0, "verify": 0.0}  # reported apart from the encode
    t1 = time.perf_counter()

    def one_pass(out: Path, p: Plan, label: str) -> None:
        args = build_command(src, out, p, info, maps, stream_kw, threads)
        with bar(p.frames, f"encoding ({p.codec}){label}", quiet) as pb:
            run_ffmpeg(args, what=f"encoding {src}", on_frame=FrameCounter(pb))
        if validate:
            tv = time.perf_counter()
            validate_output(out, p, want_audio="a" in maps, mode="fast" if validate is True else validate)
            spent["validate"] += time.perf_counter() - tv

    def measured(out: Path, p: Plan) -> list:
        tv = time.perf_counter()
        q = V.verify(out, src, _ranges(p), info.bit_depth, threads)
        spent["verify"] += time.perf_counter() - tv
        return q

    try:
        one_pass(tmp, plan, "")
        if verify:
            target = target_vmaf(plan)
            quality = measured(tmp, plan)
            if ensure:
                files = [tmp]

                def run(p: Plan) -> tuple[list, int]:
                    out = extra[len(files) - 1]
                    one_pass(out, p, f" pass {len(files) + 1}")
                    files.append(out)
                    return measured(out, p), out.stat().st_size

                runs = V.corrective_passes(V.Pass(plan, quality, tmp.stat().st_size, {}), target, run,
                                           tighten=tighten, trials=_trials(plan))
                if len(runs) > 1:
                    best = V.best_pass(runs, target)
                    passes = [_pass_record(r, target, kept=i == best) for i, r in enumerate(runs)]
                    for prev, r in zip(runs, runs[1:]):
                        notes += _correction_notes(prev.plan.shots, r.changed, target)
                    if best != len(runs) - 1:
                        notes.append(f"kept pass {best + 1}: it left {passes[best]['shots_below_target']} shot(s) "
                                     f"more than {V.ENSURE_TOLERANCE:g} VMAF below {target:g}, the last pass "
                                     f"{passes[-1]['shots_below_target']}")
                    plan, quality = runs[best].plan, runs[best].quality
                    if best:
                        os.replace(files[best], tmp)
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
                                   target=target_vmaf(plan), threads=threads, quiet=quiet)
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
        target_vmaf=target_vmaf(plan) if quality is not None else None,
        passes=passes,
        compare=compare,
    )


def target_vmaf(plan: Plan) -> float:
    """The VMAF the plan's target level stands for (the thresholds of search/guided, else the defaults)."""
    thresholds = plan.stats.get("thresholds") or list(DEFAULT_THRESHOLDS)
    level = int(plan.options.get("target_jnd", 1) or 1)
    return float(thresholds[min(level, len(thresholds)) - 1])


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
