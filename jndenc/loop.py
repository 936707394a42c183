"""The closed loop of one shot, as pure decisions: the band a shot must land in, the next CRF to try, the attempt
to keep. No FFmpeg here (`jndenc.media.segments` runs the encodes); every rule is a function of what was measured.

A shot is encoded at a start CRF and its VMAF measured. Outside the band, the next CRF comes from what was
measured: after one point, a step at an assumed slope (the model's JND1-JND2 spacing, scaled to the flatter
curve near the target) on the headroom scale log(100.5 - VMAF), where a shot far above the target takes a
longer step; after two on one side, the secant through the two nearest points on that scale (moving at most
`SECANT_GROWTH` times their distance); once two attempts bracket the aim, linear interpolation in VMAF between
them (ab-av1's `crf_search` does the same between its probes); bisection where readings are out of order. CRFs
are quarter steps (x264 and x265 take fractional CRF).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

CRF_STEP = 0.25
# How far a first step may move: a secant from two nearly equal readings on a flat curve would jump to the clamp
MAX_STEP = 8.0
# VMAF points per CRF step assumed for a first step when the estimate gives no spacing. Near VMAF 94 the label
# searches of the training shots fell 0.73 a step at the median (benchmarks/tighten_sim.py)
DEFAULT_SLOPE = 0.75
SLOPE_LIMITS = (0.4, 2.0)
# A step up from a shot measured above the aim, with no measured secant, assumes a curve steeper than the model's
# slope the further above the aim the attempt read: up to RISE_MAX times as steep, rising by RISE_PER per unit
# of headroom (log) beyond RISE_FROM (VMAF ~95.9 at the default aim; the full factor from ~97.7). A start that
# reads far above the target mostly belongs to a steep curve (a flat curve reads near the target whatever the
# start's error): on 55 training and validation shots, first steps up from VMAF 97-99 went 2-4x too far (to VMAF
# 80-85) while steps down and steps from near the band landed about where they aimed (a constant factor of 2.5
# made steps from VMAF ~96 too short). Chosen by replaying the loop on those shots' measured curves, then
# measured on the loop (benchmarks/results/loop_rise.json)
RISE_FROM, RISE_PER, RISE_MAX = 0.3, 4.0, 3.0
TOP = 100.5
# headroom (log) per CRF step a measured secant may claim: flatter readings would jump past MAX_STEP anyway
RATE_LIMITS = (0.02, 0.6)
# A move along a measured secant, at most this many times the CRF distance between the two attempts it came from
# (None: no limit). Two readings close together on the flat top of a curve that falls off a cliff further on
# (short shots, screen content) extrapolate far past the band, and the last attempt then lands under it. Chosen
# by replaying the loop on training and validation curves (benchmarks/results/loop_secant_cap.json), then
# measured on the loop (benchmarks/results/loop_secant.json)
SECANT_GROWTH: float | None = 1.5
# Attempts a shot may take beyond its budget when the budget is spent with no attempt in the band but attempts on
# both sides of it: the interpolation between them nearly always lands in the band, and stopping keeps the
# attempt above it (its bytes) or the one below it (visibly worse). Flat-topped curves that fall off a cliff
# (screen content, sharp CGI) end this way: three attempts read 99.1, 97.6, then 87.3. Measured on training and
# validation clips before it was kept (benchmarks/results/loop_bracket.json)
BRACKET_EXTRA = 1


@dataclass(frozen=True)
class Band:
    """Where a shot's measured VMAF must land. ``aim`` is what each attempt steers at."""

    target: float
    low: float
    high: float
    aim: float

    @classmethod
    def around(cls, target: float, *, below: float = 0.3, above: float = 1.0, aim: float = 0.3) -> "Band":
        """The band for ``target``: [target - below, target + above], aimed at target + aim."""
        low = target - below
        return cls(target=target, low=low, high=max(target + above, low + 0.5), aim=target + aim)

    def just_above_low(self, vmaf: float, within: float) -> bool:
        """Whether a reading lies at or above the lower edge by no more than ``within``: a measurement that uncertain
        cannot tell that the shot is not below it. (A reading under the edge sends the loop toward quality
        whatever the truth, so it needs no such check.)"""
        return 0.0 <= vmaf - self.low <= within

    def contains(self, vmaf: float) -> bool:
        return self.low <= vmaf <= self.high


@dataclass(frozen=True)
class Attempt:
    """One encode of a shot at ``crf``: its measured VMAF and coded bytes."""

    crf: float
    vmaf: float
    bytes: int


def quantise(crf: float, step: float = CRF_STEP) -> float:
    return round(round(crf / step) * step, 4)


def floored(crf: float, step: float = CRF_STEP) -> float:
    """``crf`` down to a whole ``step`` (toward quality): where a limit binds, rounding up would pass it."""
    return round(math.floor(crf / step + 1e-9) * step, 4)


def first_slope(jnd: Sequence[float | None] | None, thresholds: Sequence[float], scale: float = 0.6) -> float:
    """VMAF per CRF step for a shot's first correction: ``scale`` times the chord from JND1 to JND2.

    The chord (T1 - T2) / (JND2 - JND1) averages the curve from the target down to the next level; the curve
    is flatter above the target, where a first attempt usually lands, hence ``scale`` < 1.
    """
    # a plan keeps a level its model does not predict (a one-head model's other two) as None, not NaN
    if jnd is None or len(jnd) < 2 or len(thresholds) < 2 or jnd[0] is None or jnd[1] is None:
        return DEFAULT_SLOPE
    j1, j2 = float(jnd[0]), float(jnd[1])
    if not (math.isfinite(j1) and math.isfinite(j2)) or j2 - j1 < 0.5:
        return DEFAULT_SLOPE
    chord = (float(thresholds[0]) - float(thresholds[1])) / (j2 - j1)
    return float(min(max(scale * chord, SLOPE_LIMITS[0]), SLOPE_LIMITS[1]))


def headroom(vmaf: float) -> float:
    """The scale the loop steps on: log of the VMAF left below the top (100.5, so a perfect 100 stays finite).

    VMAF-vs-CRF curves flatten toward 100 and steepen as quality falls; on this scale they are close to
    straight lines, so one slope serves a shot far above the target as well as one just below it.
    """
    return math.log(max(TOP - vmaf, 0.05))


def rise(vmaf: float, band: Band) -> float:
    """How many times steeper than the model's slope a step up from an attempt measured at ``vmaf`` assumes."""
    d = headroom(band.aim) - headroom(vmaf)
    return float(min(max(1.0 + RISE_PER * (d - RISE_FROM), 1.0), RISE_MAX))


def next_crf(attempts: Sequence[Attempt], band: Band, *, slope: float, min_crf: float, max_crf: float,
             step: float = CRF_STEP, scale: float = 1.0, steeper_up: bool = False) -> float | None:
    """The CRF to try next, or None when trying more cannot help.

    ``slope`` is the VMAF lost per CRF step near the aim, for the first step (with ``steeper_up``, times `rise` for a
    step up from far above the aim); ``scale`` the encoder's steps per
    x264 step (the limits on a move, `MAX_STEP` and `RATE_LIMITS`, are x264 steps). None when the last attempt is
    in the band, when the shot is at a clamp on the side it would have to pass (above the band at
    ``max_crf``, below it at ``min_crf``), or when the two attempts that bracket the aim are a step apart.
    """
    if not attempts:
        raise ValueError("next_crf needs at least one measured attempt")
    last = attempts[-1]
    if band.contains(last.vmaf):
        return None
    above, below = _sides(attempts, band)
    if above and below:
        lo, hi = _bracket(above, below)
        if hi.crf - lo.crf <= step + 1e-9:
            return None
        c = _bracketed(lo, hi, band)
        return _fresh(quantise(min(max(c, lo.crf + step), hi.crf - step), step), attempts, lo.crf, hi.crf, step)
    if above and last.crf >= max_crf - 1e-9:
        return None
    if below and last.crf <= min_crf + 1e-9:
        return None
    ref, move = _one_sided(attempts, above, below, band, slope, scale, steeper_up)
    move = math.copysign(max(abs(move), step), move)
    c = quantise(min(max(ref.crf + move, min_crf), max_crf), step)
    if above:
        return _fresh(c, attempts, ref.crf, max_crf + step, step)
    return _fresh(c, attempts, min_crf - step, ref.crf, step)


def aim_crf(attempts: Sequence[Attempt], band: Band, *, slope: float, scale: float = 1.0,
            steeper_up: bool = False) -> float:
    """The CRF at which the measured attempts put the aim, by the same rules `next_crf` steps with (interpolated
    between attempts that bracket it, else stepped from the nearest side), unquantised and unclamped: what a shot
    teaches about where the model's start should have been (`jndenc.learn`)."""
    if not attempts:
        raise ValueError("aim_crf needs at least one measured attempt")
    above, below = _sides(attempts, band)
    if above and below:
        return _bracketed(*_bracket(above, below), band)
    ref, move = _one_sided(attempts, above, below, band, slope, scale, steeper_up)
    return ref.crf + move


def _sides(attempts: Sequence[Attempt], band: Band) -> tuple[list[Attempt], list[Attempt]]:
    """The attempts with quality to spare (above the aim: CRF may rise) and the rest."""
    return [a for a in attempts if a.vmaf > band.aim], [a for a in attempts if a.vmaf <= band.aim]


def _bracket(above: Sequence[Attempt], below: Sequence[Attempt]) -> tuple[Attempt, Attempt]:
    # the coarsest attempt still above the aim, the finest attempt below it
    return max(above, key=lambda a: a.crf), min(below, key=lambda a: a.crf)


def _bracketed(lo: Attempt, hi: Attempt, band: Band) -> float:
    # linear in VMAF between the two: VMAF-vs-CRF curves are concave, so the chord lies under the curve and
    # the CRF it gives errs toward quality. On the headroom scale (exact for a curve of that one shape) a
    # third attempt landed just under the band more often, and ten validation clips cost more bytes
    # (benchmarks/results/loop_interp.json, rendered in benchmarks/README.md, "Effort levels")
    if lo.crf < hi.crf and lo.vmaf > hi.vmaf:
        return lo.crf + (lo.vmaf - band.aim) * (hi.crf - lo.crf) / (lo.vmaf - hi.vmaf)
    return (lo.crf + hi.crf) / 2  # noisy readings out of order: bisect


def _one_sided(attempts: Sequence[Attempt], above: Sequence[Attempt], below: Sequence[Attempt], band: Band,
               slope: float, scale: float = 1.0, steeper_up: bool = False) -> tuple[Attempt, float]:
    """The attempt furthest along on the measured side and the move from it toward the aim (at most MAX_STEP
    x264 steps of ``scale`` encoder steps each): on the headroom scale at ``slope`` (VMAF per CRF step at the
    aim; with ``steeper_up``, times `rise` going up), or at the secant of the two attempts nearest the aim where
    they give a plausible one (then at most `SECANT_GROWTH` times their CRF distance)."""
    # the attempt furthest along toward the aim: the highest CRF still above it (the lowest still below). With
    # readings that fall as CRF rises that is also the one nearest the aim; on a flat or noisy curve (static
    # frames, a fade: 97.06 at CRF 20 and 97.061 at 26.25) the next step then moves on from it instead of back
    # between attempts already made
    ref = max(above, key=lambda x: x.crf) if above else min(below, key=lambda x: x.crf)
    if steeper_up and above:
        slope *= rise(ref.vmaf, band)
    rate = slope / (TOP - band.aim)  # headroom per CRF step at the aim
    longest = MAX_STEP * scale
    if len(attempts) >= 2:
        a, b = sorted(sorted(attempts, key=lambda x: abs(x.vmaf - band.aim))[:2], key=lambda x: x.crf)
        if b.crf > a.crf and a.vmaf > b.vmaf:  # a measured slope, used where it is plausible
            rate = (headroom(b.vmaf) - headroom(a.vmaf)) / (b.crf - a.crf)
            if SECANT_GROWTH is not None:
                longest = min(longest, SECANT_GROWTH * (b.crf - a.crf))
    rate = min(max(rate, RATE_LIMITS[0] / scale), RATE_LIMITS[1] / scale)
    move = (headroom(band.aim) - headroom(ref.vmaf)) / rate
    return ref, math.copysign(min(abs(move), longest), move)


def _fresh(c: float, attempts: Sequence[Attempt], lo: float, hi: float, step: float) -> float | None:
    """``c``, or the nearest untried quarter step strictly between ``lo`` and ``hi``; None if there is none."""
    tried = {quantise(a.crf, step) for a in attempts}
    for k in range(int(math.ceil((hi - lo) / step)) + 2):
        for x in ((c,) if k == 0 else (c + k * step, c - k * step)):
            x = quantise(x, step)
            if lo < x < hi and x not in tried:
                return x
    return None


# how far apart (x264 steps) the CRFs of two pieces of one shot may be before quality jumps at the join
JOIN_STEP = 1.0


def joined_pieces(crfs: Sequence[float], continues: Sequence[bool], step: float = JOIN_STEP) -> dict[int, float]:
    """Pieces of one long shot (``continues[i]``: piece i goes on from piece i - 1) must keep their CRFs within
    ``step`` of each other, or quality jumps at the join: each piece more than ``step`` above its shot's lowest
    CRF gets that CRF plus ``step`` (only ever lowered: the join costs bytes, never quality)."""
    out: dict[int, float] = {}
    start = 0
    for i in range(1, len(crfs) + 1):
        if i < len(crfs) and continues[i]:
            continue
        low = min(crfs[start:i])
        out.update({j: low + step for j in range(start, i) if crfs[j] > low + step + 1e-9})
        start = i
    return out


def allowed(attempts: Sequence[Attempt], band: Band, budget: int) -> int:
    """How many attempts the shot may take: ``budget``, or `BRACKET_EXTRA` more once ``budget`` attempts missed
    the band on both sides of it."""
    if len(attempts) < budget or any(band.contains(a.vmaf) for a in attempts):
        return budget
    if any(a.vmaf > band.high for a in attempts) and any(a.vmaf < band.low for a in attempts):
        return budget + BRACKET_EXTRA
    return budget


def kept(attempts: Sequence[Attempt], band: Band) -> int:
    """The attempt that goes into the output: the fewest bytes inside the band; else the fewest bytes above it
    (no shot is kept below the band while one above it exists); else the best quality measured."""
    if not attempts:
        raise ValueError("no attempts")
    idx = range(len(attempts))
    inside = [i for i in idx if band.contains(attempts[i].vmaf)]
    if inside:
        return min(inside, key=lambda i: attempts[i].bytes)
    over = [i for i in idx if attempts[i].vmaf >= band.low]
    if over:
        return min(over, key=lambda i: attempts[i].bytes)
    return max(idx, key=lambda i: attempts[i].vmaf)


def outcome(attempts: Sequence[Attempt], band: Band, index: int, max_crf: float) -> str:
    """How the kept attempt relates to the band: in_band, clamped (above it at ``max_crf``), above, below."""
    a = attempts[index]
    if band.contains(a.vmaf):
        return "in_band"
    if a.vmaf > band.high:
        return "clamped" if a.crf >= max_crf - 1e-9 else "above"
    return "below"
