"""The segment encoder with its closed loop: every shot encoded as its own segment, measured, re-encoded
only where it missed the band, and the kept segments joined into the output.

`run` is what `jndenc encode` calls for the measured effort levels. Decisions (band, next CRF, which
attempt to keep) are `jndenc.loop`'s; FFmpeg jobs are `jndenc.media.segments`'. Shots run on a pool of
``jobs`` threads (the work is in FFmpeg processes); each segment's encoder threads depend only on the
resolution, so the output does not depend on ``jobs``.
"""
from __future__ import annotations

import os
import resource
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from . import learn
from . import resume as R
from . import loop as L
from .loop_options import LoopOptions
from .errors import JndencError
from .media import segments as S
from .media.ffargs import available_cores
from .media.probe import VideoInfo
from .media.runner import cpu_meter, kill_running, run_ffmpeg
from .planner import Plan, ShotPlan, with_shot_crfs
from .starts import LOOP_ONLY_CODECS, max_crf as _max_crf, min_crf as _min_crf
from .progress import bar


@dataclass
class ShotLoop:
    """One shot's attempts and the one kept."""

    start_frame: int
    end_frame: int
    attempts: list[L.Attempt]
    kept: int
    outcome: str
    p5: float
    slope: float = L.DEFAULT_SLOPE  # VMAF per CRF step the first step assumed (on the encoder's scale)
    started_from: int | None = None  # the shot whose attempts gave its start (`ShotJob.heads`)
    rechecks: int = 0  # sampled readings just above the lower edge measured again on every frame

    @property
    def crf(self) -> float:
        return self.attempts[self.kept].crf

    @property
    def vmaf(self) -> float:
        return self.attempts[self.kept].vmaf

    def to_dict(self) -> dict:
        d = {"attempts": [{"crf": a.crf, "vmaf": round(a.vmaf, 3), "bytes": a.bytes} for a in self.attempts],
             "kept": self.kept, "outcome": self.outcome}
        if self.started_from is not None:
            d["started_from"] = self.started_from
        return d


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
                "measured_by": self.options.measurement(), "budget": self.options.budget,
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


def _timestamps(src: Path, info: VideoInfo,
                plan: Plan) -> tuple[list[int], Fraction, float | None, int | None, list[str]]:
    """The source frames' timestamps, their time base, the input's start time (None: do not seek), where the last
    frame ends (None: not stored) and notes."""
    stamps = S.source_timestamps(src, info.video_stream, plan.frames)
    if stamps is not None:
        return *stamps, []
    # raw streams carry no timestamps: decode each shot from the start, stamp frames at the frame rate
    note = f"input has no usable timestamps: shots decoded from the start, output at a constant {plan.fps:g} fps"
    return [round(k * 90000 / plan.fps) for k in range(plan.frames)], Fraction(1, 90000), None, None, [note]


@dataclass(frozen=True)
class ShotJob:
    """Everything one shot's loop needs, and nothing tied to this process: a Dask worker runs `run` as a local
    thread does (inputs and the work folder at the same paths)."""

    src: Path
    plan: Plan
    band: L.Band
    options: LoopOptions
    work: Path
    codec: S.SegmentCodec
    times: list[int]
    tb: Fraction
    start_time: float | None  # None: no seeking (the input has no usable timestamps)
    thresholds: tuple[float, ...] = ()  # the VMAF of each JND level: the first step's slope comes from them

    @property
    def lo(self) -> float:
        return _min_crf(self.plan)

    @property
    def hi(self) -> float:
        return _max_crf(self.plan)

    @property
    def step(self) -> float:
        return 1.0 if self.plan.codec in LOOP_ONLY_CODECS else L.CRF_STEP  # AV1 and VP9 encoders take whole steps

    @property
    def scale(self) -> float:
        """The encoder's steps per x264 step (`jndenc.starts.codec_scale`): the loop's limits are x264 steps."""
        scale = self.plan.options.get("x264_to_codec")
        return 1.0 if scale is None else float(scale[1])

    def cut(self, a: int, b: int) -> tuple[list[str], tuple[int, int]]:
        """How an attempt reaches frames [a, b): an exact seek and the shot's frames after it, or no seek."""
        if self.start_time is None:
            return [], (a, b)
        t = lambda k: float(self.times[k] * self.tb) - self.start_time  # noqa: E731
        return S.seek_args(t(a), t(a - 1) if a else None), (0, b - a)

    def attempt(self, i: int, n: int, crf: float, cost: dict) -> tuple[Path, S.Measured, bool]:
        """Encode and measure attempt ``n`` of shot ``i`` at ``crf``; wall and CPU seconds go to ``cost``. Returns
        the segment, its measurement and whether a sampled reading was measured again on every frame."""
        s = self.plan.shots[i]
        seek, frames = self.cut(s.start_frame, s.end_frame)
        seg = self.work / f"shot{i:05d}_{n}.mkv"
        kind = "first_attempts" if n == 0 else "extra_attempts"
        cpu: dict[str, float] = {}
        t0 = time.perf_counter()
        with cpu_meter(cpu, kind):
            m = S.run_attempt(self.src, seg, frames, codec=self.codec, crf=crf, seek=seek,
                              subsample=self.options.every(s.end_frame - s.start_frame),
                              what=f"encoding shot {i} (frames {s.start_frame}-{s.end_frame}) of {self.src}")
            rechecked = m.scored < m.frames and self.band.just_above_low(m.vmaf, self.options.recheck_window(m.error))
            if rechecked:
                m = S.remeasure(self.src, seg, frames, bit_depth=self.codec.bit_depth, seek=seek,
                                what=f"measuring shot {i} (frames {s.start_frame}-{s.end_frame}) of {self.src}")
        c = cost.setdefault(kind, {"wall_s": 0.0, "cpu_s": 0.0})
        c["wall_s"] += time.perf_counter() - t0
        c["cpu_s"] += cpu.get(kind, 0.0)
        if m.frames != s.end_frame - s.start_frame:
            raise JndencError(f"{self.src}: shot {i} should have {s.end_frame - s.start_frame} frames, its "
                              f"segment has {m.frames} (the input may be damaged)")
        return seg, m, rechecked

    def run(self, i: int, head: ShotLoop | None = None, head_index: int | None = None, *,
            stop: threading.Event | None = None, status=None) -> tuple[ShotLoop, Path, dict]:
        """Encode shot ``i`` until it lands in the band or its attempts are spent (`jndenc.loop.allowed`); keep one
        attempt's segment. A later piece of a long shot starts where its first piece's attempts put the aim
        (``head``), not at the model's estimate: the same content, measured. Returns the shot, its kept segment
        and what its attempts cost."""
        s = self.plan.shots[i]
        slope = L.first_slope(s.jnd, self.thresholds, self.options.slope_scale)
        slope /= self.scale  # the same VMAF per x264 step spread over the codec's steps
        attempts: list[L.Attempt] = []
        files: list[Path] = []
        p5s: list[float] = []
        cost: dict = {}
        rechecks = 0
        if head is None:
            start = s.crf
        elif self.continues()[i]:
            start = self.continued(head)
        else:
            start = self.resumed(head, head_index, i)
        crf: float | None = L.quantise(min(max(start, self.lo), self.hi), self.step)
        budget = self.options.budget
        while (crf is not None and len(attempts) < L.allowed(attempts, self.band, budget)
               and not (stop and stop.is_set())):
            if status is not None:
                status(f"shot {i}: attempt {len(attempts) + 1} at CRF {crf:g}")
            seg, m, rechecked = self.attempt(i, len(attempts), crf, cost)
            rechecks += rechecked
            attempts.append(L.Attempt(crf, m.vmaf, m.bytes))
            files.append(seg)
            p5s.append(m.p5)
            crf = L.next_crf(attempts, self.band, slope=slope, min_crf=self.lo, max_crf=self.hi, step=self.step,
                             scale=self.scale, steeper_up=self.options.steeper_up)
        if not attempts:  # stopped before its first attempt: another shot failed
            raise KeyboardInterrupt
        k = L.kept(attempts, self.band)
        for j, f in enumerate(files):
            if j != k:
                f.unlink(missing_ok=True)
        outcome = L.outcome(attempts, self.band, k, self.hi)
        return (ShotLoop(s.start_frame, s.end_frame, attempts, k, outcome, p5s[k], slope, head_index, rechecks),
                files[k], cost)

    def continued(self, head: ShotLoop) -> float:
        """Where a later piece starts: the CRF at which its first piece's attempts put the aim, or that piece's kept
        CRF where its attempts only bound the aim (at a clamp); never more than the join allows above the first
        piece's kept CRF (`jndenc.loop.joined_pieces` would lower it again at the cost of one more attempt)."""
        if head.outcome == "clamped" or (head.outcome == "below" and head.crf <= self.lo + 1e-9):
            return head.crf
        return min(L.aim_crf(head.attempts, self.band, slope=head.slope, scale=self.scale,
                             steeper_up=self.options.steeper_up),
                   L.floored(head.crf + L.JOIN_STEP * self.scale, self.step))

    def resumed(self, head: ShotLoop, head_index: int | None, i: int) -> float:
        """Where shot ``i``, which cuts back to shot ``head_index`` (`jndenc.media.shots.returns`), starts: its own
        estimate moved as far as the earlier shot's attempts moved that shot's (the model misses the same content
        by the same amount), to the CRF they put the aim at, or the kept CRF where they only bound it (a clamp)."""
        if head_index is None:
            raise ValueError("a shot that cuts back needs the index of the shot it starts from")
        if head.outcome == "clamped" or (head.outcome == "below" and head.crf <= self.lo + 1e-9):
            aim = head.crf
        else:
            aim = L.aim_crf(head.attempts, self.band, slope=head.slope, scale=self.scale,
                            steeper_up=self.options.steeper_up)
        return self.plan.shots[i].crf + aim - self.plan.shots[head_index].crf

    def heads(self) -> list[int | None]:
        """Per shot: the shot whose attempts give its start, or None (it starts from the model's estimate): a
        later piece of a long shot starts from its first piece, a shot that cuts back to an earlier one from that
        shot's first piece (the later pieces of such a shot from its own first piece)."""
        shots = self.plan.shots
        continues = self.continues()
        first = {s.start_frame: i for i, s in enumerate(shots) if not continues[i]}
        back = {int(a): int(b) for a, b in self.plan.stats.get("returns", ())}
        head: list[int | None] = [None] * len(shots)
        for i, s in enumerate(shots):
            if continues[i]:
                head[i] = head[i - 1] if continues[i - 1] else i - 1
            elif back.get(s.start_frame) in first and first[back[s.start_frame]] < i:
                head[i] = first[back[s.start_frame]]
        return head

    def continues(self) -> list[bool]:
        """Per shot: whether it is a later piece of the shot before it (cut at --max-shot-seconds, not a cut)."""
        cuts = self.plan.stats.get("cuts")
        cuts = set([s.start_frame for s in self.plan.shots] if cuts is None else cuts)  # a plan without: no pieces
        return [i > 0 and s.start_frame not in cuts for i, s in enumerate(self.plan.shots)]


def longest_first(shots: Sequence[ShotPlan], tasks: list[tuple]) -> list[tuple]:
    """A wave's tasks (shot index first) longest shot first: a pool takes tasks in the order given, and a long
    shot started last would run alone at the end. The order changes no shot's result, only the wall time."""
    return sorted(tasks, key=lambda t: (shots[t[0]].start_frame - shots[t[0]].end_frame, t[0]))


def _run_remote(job: ShotJob, i: int, head: ShotLoop | None, head_index: int | None) -> tuple[ShotLoop, str, dict]:
    """A Dask task: one shot's loop on a worker."""
    shot, seg, cost = job.run(i, head, head_index)
    return shot, str(seg), cost


class _Shots:
    """The loop over one plan's shots, side by side on a pool of threads here or on the workers of a Dask cluster."""

    def __init__(self, job: ShotJob, notes: list[str], executor=None, store: R.ShotStore | None = None) -> None:
        self.job, self.notes, self.executor, self.store = job, notes, executor, store
        self.taken_up = 0  # shots a previous run had finished (`jndenc.resume`)
        self.cost: dict = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def _add(self, cost: dict) -> None:
        with self.lock:
            for kind, c in cost.items():
                mine = self.cost.setdefault(kind, {"wall_s": 0.0, "cpu_s": 0.0})
                mine["wall_s"] += c["wall_s"]
                mine["cpu_s"] += c["cpu_s"]

    def all(self, jobs: int, quiet: bool) -> list[tuple[ShotLoop, Path]]:
        """Every shot, ``jobs`` at a time, in waves: the shots that start from the model's estimate, then those
        that start from one of them (later pieces of a long shot, shots that cut back to an earlier one;
        `ShotJob.heads`), then the later pieces of those. Which shot starts where depends only on what was
        measured, so the output depends neither on ``jobs`` nor on where the shots ran. On any failure or
        interrupt the others are stopped and killed."""
        plan = self.job.plan
        n = len(plan.shots)
        head = self.job.heads()
        depth = [0] * n
        for i in range(n):  # a head always comes before the shots it starts
            depth[i] = 0 if head[i] is None else depth[head[i]] + 1
        done: dict[int, tuple[ShotLoop, Path]] = self.store.load(n, ShotLoop) if self.store is not None else {}
        self.taken_up = len(done)
        with bar(plan.frames, f"encoding ({plan.codec}, {n} shots)", quiet) as pb:
            pb.update(sum(s.end_frame - s.start_frame for s, _ in done.values()))
            for d in range(max(depth, default=-1) + 1):
                tasks = [(i, None if head[i] is None else done[head[i]][0], head[i]) for i in range(n)
                         if depth[i] == d and i not in done]
                done.update(self._wave(longest_first(plan.shots, tasks), jobs, pb))
        return [done[i] for i in range(n)]

    def _finish(self, i: int, got: tuple[ShotLoop, Path | str, dict], pb) -> tuple[ShotLoop, Path]:
        shot, seg, cost = got
        self._add(cost)
        if self.store is not None:
            self.store.save(i, shot, Path(seg))
        pb.update(shot.end_frame - shot.start_frame)  # the bar moves per shot
        return shot, Path(seg)

    def _wave(self, tasks: list[tuple[int, ShotLoop | None, int | None]], jobs: int, pb
              ) -> dict[int, tuple[ShotLoop, Path]]:
        if not tasks:
            return {}
        if self.executor is None and (jobs == 1 or len(tasks) == 1):
            return {i: self._finish(i, self.job.run(i, h, hi, stop=self.stop, status=pb.set_postfix_str), pb)
                    for i, h, hi in tasks}
        if self.executor is not None:
            pool, own = self.executor, False
            futs = {i: pool.submit(_run_remote, self.job, i, h, hi) for i, h, hi in tasks}
        else:
            pool, own = ThreadPoolExecutor(min(jobs, len(tasks)), thread_name_prefix="jndenc-shot"), True
            futs = {i: pool.submit(self.job.run, i, h, hi, stop=self.stop, status=pb.set_postfix_str)
                    for i, h, hi in tasks}
        try:
            # each shot as it finishes, so an interrupted run has recorded every shot that finished
            index = {f: i for i, f in futs.items()}
            got = {index[f]: self._finish(index[f], f.result(), pb) for f in as_completed(futs.values())}
            return {i: got[i] for i in futs}
        except BaseException:
            self.stop.set()
            for f in futs.values():
                f.cancel()
            kill_running()
            raise
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)

    def join_pieces(self, results: list[tuple[ShotLoop, Path]]) -> list[tuple[ShotLoop, Path]]:
        """Pieces of one long shot brought within a CRF step of each other (`jndenc.loop.joined_pieces`): one
        more attempt each at the lower CRF, kept whatever it measures (it can only be better)."""
        out = list(results)
        for i, crf in L.joined_pieces([r[0].crf for r in results], self.job.continues(),
                                      L.JOIN_STEP * self.job.scale).items():
            crf = L.floored(crf, self.job.step)  # whole steps on AV1/VP9, never past the join's limit
            shot, old = results[i]
            cost: dict = {}
            seg, m, rechecked = self.job.attempt(i, len(shot.attempts), crf, cost)
            self._add(cost)
            old.unlink(missing_ok=True)
            attempts = shot.attempts + [L.Attempt(crf, m.vmaf, m.bytes)]
            k = len(attempts) - 1
            out[i] = (replace(shot, attempts=attempts, kept=k, p5=m.p5, rechecks=shot.rechecks + rechecked,
                              outcome=L.outcome(attempts, self.job.band, k, self.job.hi)), seg)
        return out


def run(src: Path, out: Path, plan: Plan, info: VideoInfo, *, target: float, options: LoopOptions,
        thresholds: Sequence[float], stream_maps: Sequence[str], stream_kw: dict, quiet: bool = True,
        dask: str | None = None, resume: str | os.PathLike | None = None,
        enc: S.Params = ()) -> tuple[Plan, LoopResult]:
    """Encode ``plan``'s shots of ``src`` as measured segments, each steered into the band around ``target``,
    and write the joined output to ``out`` (a temp path the caller renames). Returns the plan at the CRFs
    kept and what the loop did. ``dask``: a scheduler address whose workers run the shots (the input and
    the output's folder at the same paths there); the join and the mux run here. ``resume`` (the final output's
    path): finished shots are kept in a work folder named for this input, this output and these settings
    (`jndenc.resume`) when the run stops, and taken from it by the next run with ``resume``; without, the work
    folder goes whatever happens. ``enc``: the user's own encoder options (`jndenc.media.enc_params`), in every
    attempt."""
    band = options.band(target)
    codec = S.SegmentCodec(plan.codec, plan.preset, S.encoder_threads(info.width, info.height), info.bit_depth,
                           plan.options.get("encoder", ""), tuple(enc))
    options = options.for_encoder(codec.name)
    times, tb, start_time, end, notes = _timestamps(src, info, plan)
    close = None
    executor, jobs = None, max(1, min(len(plan.shots), options.jobs or available_cores()))
    if dask is not None:
        from .cluster import dask_executor

        executor, jobs, close = dask_executor(dask, None)
    store = None
    if resume:
        work = R.work_folder(src, Path(resume), plan, band=band, codec=codec, options=replace(options, jobs=None),
                             thresholds=list(thresholds))
        work.mkdir(exist_ok=True)
        store = R.ShotStore(work)
        store.acquire()
    else:
        work = Path(tempfile.mkdtemp(prefix=".jndenc-segments-", dir=out.parent))  # beside the output: same disk
    finished = False
    try:
        job = ShotJob(src, plan, band, options, work, codec, times, tb, start_time, tuple(thresholds))
        loop = _Shots(job, notes, executor, store)
        ph = Phase()
        results = loop.join_pieces(loop.all(jobs, quiet))
        loop_phase = ph.done()
        ph = Phase()
        video = work / "video.mp4"
        S.join([r[1] for r in results], [s.start_frame for s in plan.shots], times, tb, video, end)
        run_ffmpeg(S.mux_args(video, src, out, stream_maps, stream_kw, start_time), what=f"writing {out.name}")
        join_phase = ph.done()
        finished = True
    finally:
        if store is not None:
            store.release()
        if finished or store is None:
            shutil.rmtree(work, ignore_errors=True)
        if finished and store is not None:
            R.remove_stale(Path(resume), work)
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


def outcome_notes(result: LoopResult) -> list[str]:
    """One line per kind of shot the loop could not bring into the band."""
    notes = []
    for kind, why in (("below", "below the band after its attempts (kept: the best quality measured)"),
                      ("above", "above the band after its attempts (kept: the fewest bytes above it)"),
                      ("clamped", "above the band at the maximum CRF (accepted as it is)")):
        idx = [str(i) for i, s in enumerate(result.shots) if s.outcome == kind]
        if idx:
            notes.append(f"shot(s) {', '.join(idx)} {why}")
    return notes
