"""The segment encoder with its closed loop: every shot encoded as its own segment, measured, re-encoded
only where it missed the band, and the kept segments joined into the output.

`run` is what `jndenc encode` calls for the measured effort levels. Decisions (band, next CRF, which
attempt to keep) are `jndenc.loop`'s; FFmpeg jobs are `jndenc.media.segments`'. Shots run on a pool of
``jobs`` threads (the work is in FFmpeg processes); each segment's encoder threads depend only on the
resolution, so the output does not depend on ``jobs``.
"""
from __future__ import annotations

import resource
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from . import loop as L
from .errors import JndencError
from .media import segments as S
from .media.ffargs import available_cores
from .media.probe import VideoInfo, open_container
from .media.runner import cpu_meter, kill_running, run_ffmpeg
from .planner import Plan, Zone
from .progress import bar


@dataclass(frozen=True)
class LoopOptions:
    """How hard the loop works on each shot (`jndenc.effort` names the sets users pick from)."""

    budget: int = 3  # attempts per shot
    below: float = 0.3  # the band: [target - below, target + above], aimed at target + aim
    above: float = 1.0
    aim: float = 0.3
    # measurement: runs of W frames out of every P (None: every frame) in shots of at least sample_min_frames,
    # and how far that reads above the full per-frame VMAF at the 95th percentile; the band's lower edge rises
    # by it. Off by default: on 3 s pieces of training clips every sampling tried (benchmarks/sampling.py) moved
    # a shot's mean by more than 1 VMAF at the 95th percentile, far beyond the 0.2 a decision can afford
    sample: tuple[int, int] | None = None
    sample_min_frames: int = 240
    measurement_gap: float = 0.0
    slope_scale: float = 0.6  # first step: this share of the model's JND1-JND2 chord (`jndenc.loop.first_slope`)
    # the first lead_shots shots are measured first; the others start shifted by shift_share of how far those
    # had to move (`jndenc.loop.start_shift`): shots of one clip share much of the model's error
    lead_shots: int = 2
    shift_share: float = 0.5
    jobs: int | None = None  # shots at once; None: the available cores

    def band(self, target: float) -> L.Band:
        return L.Band.around(target, below=self.below, above=self.above, aim=self.aim,
                             measurement_gap=self.measurement_gap if self.sample else 0.0)

    def sampling(self, frames: int) -> tuple[int, int] | None:
        """How a shot of ``frames`` frames is measured: runs (W, P), or None for every frame."""
        return self.sample if self.sample and frames >= self.sample_min_frames else None

    def measurement(self) -> str:
        if not self.sample:
            return "VMAF of every frame of the segment"
        w, p = self.sample
        return (f"VMAF of every frame of the segment; of runs of {w} frames in every {p} in shots of "
                f"{self.sample_min_frames} frames or more")


@dataclass
class ShotLoop:
    """One shot's attempts and the one kept."""

    start_frame: int
    end_frame: int
    attempts: list[L.Attempt]
    kept: int
    outcome: str
    p5: float

    @property
    def crf(self) -> float:
        return self.attempts[self.kept].crf

    @property
    def vmaf(self) -> float:
        return self.attempts[self.kept].vmaf

    def to_dict(self) -> dict:
        return {"attempts": [{"crf": a.crf, "vmaf": round(a.vmaf, 3), "bytes": a.bytes} for a in self.attempts],
                "kept": self.kept, "outcome": self.outcome}


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
                "attempts": sum(len(s.attempts) for s in self.shots),
                "attempts_per_shot": round(sum(len(s.attempts) for s in self.shots) / n, 3) if n else 0.0,
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


def run(src: Path, out: Path, plan: Plan, info: VideoInfo, *, target: float, options: LoopOptions,
        thresholds: Sequence[float], stream_maps: Sequence[str], stream_kw: dict, quiet: bool = True
        ) -> tuple[Plan, LoopResult]:
    """Encode ``plan``'s shots of ``src`` as measured segments, each steered into the band around ``target``,
    and write the joined output to ``out`` (a temp path the caller renames). Returns the plan at the CRFs
    kept and what the loop did."""
    band = options.band(target)
    codec = S.SegmentCodec(plan.codec, plan.preset, S.encoder_threads(info.width, info.height), info.bit_depth)
    stamps = S.source_timestamps(src, info.video_stream, plan.frames)
    notes = []
    if stamps is None:
        # raw streams carry no timestamps: decode each shot from the start, stamp frames at the frame rate
        notes.append("input has no usable timestamps: shots decoded from the start, output at a constant "
                     f"{plan.fps:g} fps")
        tb = Fraction(1, 90000)
        stamps = ([round(k * 90000 / plan.fps) for k in range(plan.frames)], tb)
        start_time = None
    else:
        start_time = _start_seconds(src)
    times, tb = stamps
    jobs = max(1, min(len(plan.shots), options.jobs or available_cores()))
    work = Path(tempfile.mkdtemp(prefix=".jndenc-segments-", dir=out.parent))  # beside the output: same disk
    cpu: dict[str, float] = {}
    wall = {"first_attempts": 0.0, "extra_attempts": 0.0}
    lock = threading.Lock()
    stop = threading.Event()

    def one(i: int, pb, shift: float) -> tuple[ShotLoop, Path]:
        s = plan.shots[i]
        a, b = s.start_frame, s.end_frame
        if start_time is None:
            seek, frames = [], (a, b)
        else:
            prev = float(times[a - 1] * tb) - start_time if a else None
            seek, frames = S.seek_args(float(times[a] * tb) - start_time, prev), (0, b - a)
        slope = L.first_slope(s.jnd, thresholds, options.slope_scale)
        attempts: list[L.Attempt] = []
        files: list[Path] = []
        p5s: list[float] = []
        crf: float | None = L.quantise(min(max(s.crf + shift, _min_crf(plan)), _max_crf(plan)))
        while crf is not None and len(attempts) < options.budget and not stop.is_set():
            seg = work / f"shot{i:05d}_{len(attempts)}.mkv"
            kind = "first_attempts" if not attempts else "extra_attempts"
            t0 = time.perf_counter()
            with cpu_meter(cpu, kind):
                m = S.run_attempt(src, seg, frames, codec=codec, crf=crf, seek=seek, sample=options.sampling(b - a),
                                  what=f"encoding shot {i} (frames {a}-{b}) of {src}")
            with lock:
                wall[kind] += time.perf_counter() - t0
            if m.frames != b - a:
                raise JndencError(f"{src}: shot {i} should have {b - a} frames, its segment has {m.frames} "
                                  "(the input may be damaged)")
            attempts.append(L.Attempt(crf, m.vmaf, m.bytes))
            files.append(seg)
            p5s.append(m.p5)
            crf = L.next_crf(attempts, band, slope=slope, min_crf=_min_crf(plan), max_crf=_max_crf(plan))
        k = L.kept(attempts, band)
        for j, f in enumerate(files):
            if j != k:
                f.unlink(missing_ok=True)
        pb.update(b - a)
        return ShotLoop(a, b, attempts, k, L.outcome(attempts, band, k, _max_crf(plan)), p5s[k]), files[k]

    def wave(pool, idx: Sequence[int], pb, shift: float) -> list[tuple[ShotLoop, Path]]:
        if pool is None:
            return [one(i, pb, shift) for i in idx]
        futs = [pool.submit(one, i, pb, shift) for i in idx]
        try:
            return [f.result() for f in futs]
        except BaseException:
            stop.set()
            for f in futs:
                f.cancel()
            kill_running()
            raise

    try:
        ph = Phase()
        lead = min(len(plan.shots), options.lead_shots)
        with bar(plan.frames, f"encoding ({plan.codec}, {len(plan.shots)} shots)", quiet) as pb, \
                ThreadPoolExecutor(jobs, thread_name_prefix="jndenc-shot") as pool:
            pool = pool if jobs > 1 else None
            # the lead shots' measurements move the start of the rest (a fixed split, so the output does not
            # depend on which job finished first)
            results = wave(pool, range(lead), pb, 0.0)
            shift = L.start_shift([r[0].attempts for r in results], band, options.shift_share)
            results += wave(pool, range(lead, len(plan.shots)), pb, shift)
        loop_phase = ph.done()
        ph = Phase()
        video = work / "video.mp4"
        S.join([r[1] for r in results], [s.start_frame for s in plan.shots], times, tb, video)
        run_ffmpeg(S.mux_args(video, src, out, stream_maps, stream_kw), what=f"writing {out.name}")
        join_phase = ph.done()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    shots = [r[0] for r in results]
    kept_plan = replace(plan, shots=[replace(p, crf=s.crf) for p, s in zip(plan.shots, shots)],
                        zones=[Zone(s.start_frame, s.end_frame, s.crf) for s in shots])
    encoded = sum((s.end_frame - s.start_frame) * len(s.attempts) for s in shots)
    cost = {"attempts": loop_phase, "join": join_phase,
            **{k: {"wall_s": round(wall[k], 3), "cpu_s": round(cpu.get(k, 0.0), 3)} for k in wall}}
    return kept_plan, LoopResult(shots, band, options, encoded, cost, notes)


def start_at(plan: Plan, target: float, thresholds: Sequence[float]) -> Plan:
    """The plan with each shot's first CRF moved from its JND1 estimate to ``target`` (a VMAF other than T1, from
    ``--target-vmaf``), at the shot's first-step slope; the plan itself where the target is T1."""
    shift = float(thresholds[0]) - target
    if abs(shift) < 1e-9:
        return plan
    shots = []
    for s in plan.shots:
        c = s.crf + shift / L.first_slope(s.jnd, thresholds)
        shots.append(replace(s, crf=L.quantise(min(max(c, _min_crf(plan)), _max_crf(plan)))))
    return replace(plan, shots=shots, zones=[Zone(s.start_frame, s.end_frame, s.crf) for s in shots])


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


def _min_crf(plan: Plan) -> float:
    return float(plan.options.get("min_crf", 12.0))


def _max_crf(plan: Plan) -> float:
    return float(plan.options.get("max_crf", 40.0))


def _start_seconds(src: Path) -> float:
    """The input's start time, which FFmpeg's ``-ss`` counts from."""
    with open_container(src) as c:
        return (c.start_time or 0) / 1_000_000
