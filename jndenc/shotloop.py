"""The segment encoder with its closed loop: every shot encoded as its own segment, measured, re-encoded
only where it missed the band, and the kept segments joined into the output.

`run` is what `jndenc encode` calls for the measured effort levels. Decisions (band, next CRF, which
attempt to keep) are `jndenc.loop`'s; an attempt's FFmpeg run is `jndenc.media.segments`' and the join
`jndenc.media.join`'s; one shot's loop is `jndenc.shotjob`'s and which shots run when `jndenc.schedule`'s, so this
module holds the run and what it reports. Shots run on a pool of ``jobs`` threads (the work is in FFmpeg
processes); each segment's encoder threads depend only on the resolution, so the output does not depend on
``jobs``.
"""
from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from . import learn
from . import resume as R
from . import loop as L
from .loop_options import LoopOptions
from .media import enc_params
from .media import join as J
from .media import segments as S
from .media import seekable
from .media.ffargs import attempt_memory, available_cores, jobs_in_memory
from .media.probe import VideoInfo, colour_args, video_tags
from .media.runner import run_ffmpeg
from .media.timing import variable_rate
from .planner import Plan, with_shot_crfs
from .schedule import Scheduler
from .shotjob import ShotJob, ShotLoop
from .starts import min_crf as _min_crf


def memory_capped(jobs: int, encoder: str, info: VideoInfo, free: int | None = None) -> tuple[int, list[str]]:
    """``jobs`` shots at once, or as many as ``free`` bytes (default: the machine's free memory) hold, with the
    note that says so: one attempt per core ran a 2160p 10-bit SVT-AV1 source at 6 GB an attempt, and a 16-core
    machine needed 96 GB (`jndenc.media.ffargs.attempt_memory`)."""
    per = attempt_memory(encoder, info.width, info.height, info.bit_depth)
    fit, free = jobs_in_memory(jobs, per, free)
    if fit >= jobs:
        return jobs, []
    return fit, [f"{fit} shot(s) at a time, not {jobs}: an attempt at {info.width}x{info.height} holds about "
                 f"{per / 2**30:.1f} GB and the machine has {free / 2**30:.1f} GB free (--jobs sets it)"]


@dataclass
class LoopResult:
    shots: list[ShotLoop]
    band: L.Band
    options: LoopOptions
    encoded_frames: int
    cost: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        n = len(self.shots)
        out = {k: sum(s.outcome == k for s in self.shots) for k in ("in_band", "above", "clamped", "below")}
        frames = sum(s.end_frame - s.start_frame for s in self.shots)
        return {"band": {"low": round(self.band.low, 3), "high": round(self.band.high, 3),
                         "aim": round(self.band.aim, 3)},
                "measured_by": self.options.measurement(), "vmaf_model": self.options.vmaf_model,
                "budget": self.options.budget,
                "budget_extra": L.BRACKET_EXTRA,
                "attempts": sum(len(s.attempts) for s in self.shots),
                "attempts_per_shot": round(sum(len(s.attempts) for s in self.shots) / n, 3) if n else 0.0,
                "rechecks": sum(s.rechecks for s in self.shots),
                "encoded_frames": self.encoded_frames,
                "encoded_over_output_frames": round(self.encoded_frames / frames, 3) if frames else 0.0,
                "shots": out}



class Phase:
    """Wall and CPU seconds of a phase run in this process and its FFmpeg children."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.cpu = time.process_time()
        self.children = _children_cpu()

    def done(self) -> dict:
        return {"wall_s": round(time.perf_counter() - self.t, 3),
                "cpu_s": round(time.process_time() - self.cpu + _children_cpu() - self.children, 3)}



def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime



def _timestamps(src: Path, info: VideoInfo, plan: Plan) -> tuple[J.Stamps, bool, list[str]]:
    """The source frames' timestamps (`jndenc.media.join.Stamps`), whether the loop may seek by them and keep them
    in its segments (False: made up at the frame rate, or some repeated) and notes."""
    stamps = J.source_timestamps(src, info.video_stream, plan.frames)
    if stamps is not None and not stamps.repeated:
        return stamps, True, []
    if stamps is not None:
        # a seek to a repeated time could not tell its frames apart, nor the join order them from a segment
        return stamps, False, [f"input repeats {stamps.repeated} frame timestamp(s): each repeated frame shown between "
                               "its timestamp and the next"]
    # raw streams carry none, two captures joined end to end have a clock that goes back: stamp frames at the frame
    # rate from where the container says the video starts, so that the other streams keep their place
    first, start = J.stream_start(src, info.video_stream)
    note = f"input has no usable timestamps: output at a constant {plan.fps:g} fps"
    made = [round((first + k / plan.fps) * 90000) for k in range(plan.frames)]
    return J.Stamps(made, Fraction(1, 90000), start, None), False, [note]



def _reading(src: Path, work: Path, plan: Plan, stamps: J.Stamps | None, notes: list[str]) -> seekable.Reading:
    """How the attempts reach their shots (`jndenc.media.seekable.reading`); ``stamps`` None: not by the source's
    timestamps (by a copy numbered in display order where one can be made). A single shot starts at the first frame,
    which no attempt seeks to."""
    if len(plan.shots) < 2:
        return seekable.Reading(None, None)
    how = seekable.reading(src, stamps, work / "source.mkv", plan.frames)
    if how.failed:
        notes.append("the input's container has no index or no usable frame times, and its video could not be "
                     "copied into one that has: every shot decoded from the start of the input (slower, exact)")
    return how



def run(src: Path, out: Path, plan: Plan, info: VideoInfo, *, target: float, options: LoopOptions,
        thresholds: Sequence[float], stream_maps: Sequence[str], stream_kw: dict, quiet: bool = True,
        dask: str | None = None, resume: str | os.PathLike | None = None,
        enc: S.Params = (), limit: tuple[int, float] | None = None, shown: Path | None = None
        ) -> tuple[Plan, LoopResult]:
    """Encode ``plan``'s shots of ``src`` as measured segments, each steered into the band around ``target``,
    and write the joined output to ``out`` (a temp path the caller renames). Returns the plan at the CRFs
    kept and what the loop did. ``dask``: a scheduler address whose workers run the shots (the input and
    the output's folder at the same paths there); the join and the mux run here. ``resume`` (the final output's
    path): finished shots are kept in a work folder named for this input, this output and these settings
    (`jndenc.resume`) when the run stops, and taken from it by the next run with ``resume``; without, the work
    folder goes whatever happens. ``enc``: the user's own encoder options (`jndenc.media.enc_params`), in every
    attempt. ``limit`` (`jndenc.output.size_limit`): the run stops (`OverSize`, naming ``shown``) once its finished
    shots' segments alone take more than it allows."""
    band = options.band(target)
    stamps, own, notes = _timestamps(src, info, plan)
    times, tb, start_time, end = stamps.pts, stamps.time_base, stamps.start, stamps.end
    codec = S.SegmentCodec(plan.codec, plan.preset, S.encoder_threads(info.width, info.height), info.bit_depth,
                           plan.options.get("encoder", ""), enc_params.for_encoder(tuple(enc)), variable_rate(times),
                           colour_args(info.pix_fmt), 0.0 if own else plan.fps)
    options = options.for_encoder(codec.name)
    close = None
    executor, jobs = None, max(1, min(len(plan.shots), options.jobs or available_cores()))
    if options.jobs is None and dask is None:
        jobs, why = memory_capped(jobs, codec.name, info)
        notes += why
    if dask is not None:
        from .cluster import dask_executor

        executor, jobs, close = dask_executor(dask, None)
    if resume:
        work = R.work_folder(src, Path(resume), plan, band=band, codec=codec, options=replace(options, jobs=None),
                             thresholds=list(thresholds))
        work.mkdir(exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix=R.SEGMENTS_PREFIX, dir=out.parent))  # beside the output: same disk
    # held while this run lives: two runs of one --resume encode refuse each other, and a later run removes the
    # folder only once this one is gone (killed outright, `jndenc.resume.remove_orphans`)
    held = R.ShotStore(work)
    held.acquire()
    store = held if resume else None  # where the finished shots are recorded for a rerun
    finished = False
    try:
        how = _reading(src, work, plan, stamps if own else None, notes)
        job = ShotJob(src, plan, band, options, work, codec, how.times, tuple(thresholds), how.path)
        loop = Scheduler(job, notes, executor, store, limit=limit, shown=shown or out)
        ph = Phase()
        results = loop.join_pieces(loop.all(jobs, quiet))
        loop_phase = ph.done()
        ph = Phase()
        video = work / "video.mp4"
        J.join([r[1] for r in results], [s.start_frame for s in plan.shots], times, tb, video, end)
        muxer = enc_params.output_options(tuple(enc), codec.name, out.suffix)
        frame_time = None if len(times) < 2 or codec.vfr else Fraction(int(times[1] - times[0])) * tb
        run_ffmpeg(J.mux_args(video, src, out, stream_maps, stream_kw, start_time, muxer, video_tags(src),
                              frame_time), what=f"writing {out.name}")
        join_phase = ph.done()
        finished = True
    finally:
        held.release()
        if finished or store is None:
            shutil.rmtree(work, ignore_errors=True)
        if close is not None:
            close()
    shots = [r[0] for r in results]
    kept_plan = with_shot_crfs(plan, [s.crf for s in shots])
    encoded = sum((s.end_frame - s.start_frame) * len(s.attempts) for s in shots)
    cost = {"attempts": loop_phase, "join": join_phase,
            **{k: {"wall_s": round(loop.cost.get(k, {}).get("wall_s", 0.0), 3),
                   "cpu_s": round(loop.cost.get(k, {}).get("cpu_s", 0.0), 3)}
               for k in ("first_attempts", "extra_attempts")}}
    if dask is not None:
        notes = notes + [f"shots encoded and measured on the Dask workers of {dask}; attempts' CPU seconds are "
                         "theirs, the phase totals this machine's"]
    if loop.taken_up:
        notes = notes + [f"{loop.taken_up} of {len(shots)} shots taken from a previous run (--resume): their attempts "
                         "count in the attempts and frames encoded, not in this run's time"]
    return kept_plan, LoopResult(shots, band, options, encoded, cost, notes)



def labels(model: Sequence[float], plan: Plan, result: LoopResult) -> list[learn.ShotLabel | None]:
    """What each shot the loop ran teaches about its start (`jndenc.learn.label`): ``model`` is the model's x264
    start per shot before any correction, ``plan`` the plan the loop encoded (on the encoder's scale)."""
    scale = plan.options.get("x264_to_codec")
    return [learn.label(m, s.attempts, result.band, slope=s.slope, steeper_up=result.options.steeper_up,
                        outcome=s.outcome,
                        frames=s.end_frame - s.start_frame, min_crf=_min_crf(plan),
                        to_x264=None if scale is None else (float(scale[0]), float(scale[1])))
            for m, s in zip(model, result.shots)]



def outcome_notes(result: LoopResult, min_crf: float | None = None) -> list[str]:
    """One line per kind of shot the loop could not bring into the band; a shot below it at ``min_crf`` (the
    finest CRF the options allow) says so, since only a lower --min-crf would reach the target there."""
    notes = []
    floored = [i for i, s in enumerate(result.shots) if s.outcome == "below" and not s.joined
               and min_crf is not None and s.crf <= min_crf + 1e-9]
    if floored:
        notes.append(f"shot(s) {', '.join(map(str, floored))} below the band at --min-crf, the finest CRF allowed "
                     "(a lower --min-crf reaches further)")
    for kind, why in (("below", "below the band after its attempts (kept: the best quality measured)"),
                      ("above", "above the band after its attempts (kept: the fewest bytes above it)"),
                      ("clamped", "above the band at the maximum CRF (accepted as it is)")):
        idx = [str(i) for i, s in enumerate(result.shots) if s.outcome == kind and not s.joined
               and i not in floored]
        if idx:
            notes.append(f"shot(s) {', '.join(idx)} {why}")
    joined = [str(i) for i, s in enumerate(result.shots) if s.joined]
    if joined:
        # kept for the join, not for the band: its outcome may read above the band beside an attempt inside it
        notes.append(f"shot(s) {', '.join(joined)} kept within one CRF step of the other pieces of their long shot, "
                     "so that quality does not jump where they join (whatever it measured)")
    return notes

