"""One shot's closed loop (`ShotJob`: encode, measure, step the CRF until the band or the budget) and its record
(`ShotLoop`: the attempts and the one kept).

A module of its own, below the scheduling (`jndenc.schedule`) and the run (`jndenc.shotloop`): both need it, and
the run needs the scheduling. A `ShotJob` is what a Dask worker unpickles, so it holds nothing tied to this process.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import loop as L
from .loop_options import LoopOptions
from .errors import InputError
from .media import segments as S
from .media.runner import cpu_meter
from .planner import Plan
from .starts import LOOP_ONLY_CODECS, max_crf as _max_crf, min_crf as _min_crf


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
    # kept for the join: held or re-encoded within a CRF step of its long shot's other pieces (`Scheduler.join_pieces`)
    joined: bool = False

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
        if self.joined:
            d["joined"] = True
        return d



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
    seek_times: list[float] | None  # each frame's time from the start of the file attempts decode; None: no seeks
    thresholds: tuple[float, ...] = ()  # the VMAF of each JND level: the first step's slope comes from them
    reads: Path | None = None  # the file attempts decode (`jndenc.media.seekable`); None: ``src``

    @property
    def source(self) -> Path:
        return self.reads or self.src

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

    def cut(self, a: int, b: int, lead: int = 0) -> tuple[list[str], tuple[int, int]]:
        """How an attempt reaches frames [a, b) with the ``lead`` frames before them: an exact seek and the shot's
        frames after it, or no seek."""
        t = self.seek_times
        if t is None:
            return [], (a, b)
        f = a - lead
        return S.seek_args(t[f], t[f - 1] if f else None), (lead, b - a + lead)

    def segment(self, i: int, n: int) -> Path:
        """Where attempt ``n`` of shot ``i`` writes its segment."""
        return self.work / f"shot{i:05d}_{n}.mkv"

    def attempt(self, i: int, n: int, crf: float, cost: dict) -> tuple[Path, S.Measured, bool]:
        """Encode and measure attempt ``n`` of shot ``i`` at ``crf``; wall and CPU seconds go to ``cost``. Returns
        the segment, its measurement and whether a sampled reading was measured again on every frame."""
        s = self.plan.shots[i]
        every = self.options.every(s.end_frame - s.start_frame)
        # the frames before the shot are scored in front of it (on the sample's phase, so the shot's first frame is
        # still the first scored): its first frame then reads as in the finished file, where VMAF's motion term
        # has the frame before (alone it read as still, a short shot 0.3 to 0.7 low: attempts spent on bytes)
        lead = every if self.options.score_lead and s.start_frame >= every else 0
        seek, frames = self.cut(s.start_frame, s.end_frame, lead)
        seg = self.segment(i, n)
        kind = "first_attempts" if n == 0 else "extra_attempts"
        cpu: dict[str, float] = {}
        t0 = time.perf_counter()
        with cpu_meter(cpu, kind):
            m = S.run_attempt(self.source, seg, frames, codec=self.codec, crf=crf, seek=seek, first=s.start_frame,
                              subsample=every, model=self.options.vmaf_model, lead=lead,
                              what=f"encoding shot {i} (frames {s.start_frame}-{s.end_frame}) of {self.src}")
            rechecked = m.scored < m.frames and self.band.just_above_low(m.vmaf, self.options.recheck_window(m.error))
            if rechecked:
                m = S.remeasure(self.source, seg, frames, bit_depth=self.codec.bit_depth, seek=seek,
                                model=self.options.vmaf_model, threads=self.codec.threads, lead=lead,
                                what=f"measuring shot {i} (frames {s.start_frame}-{s.end_frame}) of {self.src}")
        c = cost.setdefault(kind, {"wall_s": 0.0, "cpu_s": 0.0})
        c["wall_s"] += time.perf_counter() - t0
        c["cpu_s"] += cpu.get(kind, 0.0)
        if m.frames != s.end_frame - s.start_frame:
            raise InputError(f"{self.src}: shot {i} should have {s.end_frame - s.start_frame} frames, its "
                             f"segment has {m.frames} (the input may be damaged, or was changed while it was read)")
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
        hi = self.hi
        if head is not None and self.continues()[i]:
            # a later piece kept more than a step above its first piece would be encoded again at that step for
            # the join (`jndenc.loop.joined_pieces`): its attempts stop there, rather than measure what the join
            # would throw away and then encode that step once more
            hi = min(hi, L.floored(head.crf + L.JOIN_STEP * self.scale, self.step))
        crf: float | None = L.quantise(min(max(start, self.lo), hi), self.step)
        budget = self.options.budget
        try:
            while (crf is not None and len(attempts) < L.allowed(attempts, self.band, budget)
                   and not (stop and stop.is_set())):
                if status is not None:
                    status(f"shot {i}: attempt {len(attempts) + 1} at CRF {crf:g}")
                seg, m, rechecked = self.attempt(i, len(attempts), crf, cost)
                rechecks += rechecked
                attempts.append(L.Attempt(crf, m.vmaf, m.bytes))
                files.append(seg)
                p5s.append(m.p5)
                crf = L.next_crf(attempts, self.band, slope=slope, min_crf=self.lo, max_crf=hi, step=self.step,
                                 scale=self.scale, steeper_up=self.options.steeper_up)
            if not attempts or (stop and stop.is_set()):  # stopped: the run gave up on every shot not yet back
                raise KeyboardInterrupt
        except BaseException:
            # an unfinished shot's segments (the killed attempt's too) would never be joined; a Dask worker's
            # would outlive the run in a --resume folder, which the client keeps
            for n in range(len(attempts) + 1):
                self.segment(i, n).unlink(missing_ok=True)
            raise
        k = L.kept(attempts, self.band)
        for j, f in enumerate(files):
            if j != k:
                f.unlink(missing_ok=True)
        outcome = L.outcome(attempts, self.band, k, self.hi)
        held = hi < self.hi and attempts[k].vmaf > self.band.high and attempts[k].crf >= hi - 1e-9  # at the join's step
        return (ShotLoop(s.start_frame, s.end_frame, attempts, k, outcome, p5s[k], slope, head_index, rechecks,
                         joined=held), files[k], cost)

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

