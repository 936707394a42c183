"""From JND predictions to encoder settings. Pure: data in, data out, no I/O.

A `Plan` lists each shot's frame range, its predicted (or searched) JND1..3
and the CRF chosen for it, plus the rate-control zones actually handed to the
encoder (one per shot, or several per shot with ``granularity="frame"``).
Everything here is JSON-serialisable so a pipeline can save, inspect, edit and
replay a plan (`jndenc encode --plan-out` / `--plan`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Sequence

import numpy as np

from .errors import UserError

CODECS = {"x264": "libx264", "x265": "libx265"}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
CRF_LIMITS = (0, 51)
# x265 CRF with the same VMAF as a given x264 CRF (x265 CRF - x264 CRF), medium
# preset, median over 7 training and validation clips of ../shared/clips (60 frames
# each), measured by `jndenc calibrate` and recorded in benchmarks/calibration_x265.json
# (its command: benchmarks/README.md, "x265 calibration"). It is not FFmpeg guide's
# "+5" (x265 CRF 28 ~ x264 CRF 23): at equal VMAF the two CRF scales nearly
# coincide. `--calibration FILE` replaces it.
DEFAULT_X265_OFFSETS: tuple[tuple[float, float], ...] = (
    (18.0, -2.46), (23.0, -1.25), (28.0, -0.1), (33.0, 0.19), (38.0, 0.61))
PLAN_VERSION = 1


# The output's CRF clamps, one default for every path that encodes (plans, guided trials, the shot loop);
# the label search (`jndenc.search.SearchOptions`) brackets a wider range on purpose: labels may lie outside
CLAMPS = (12.0, 40.0)


@dataclass(frozen=True)
class PlanOptions:
    codec: str = "x264"
    preset: str = "medium"
    target_jnd: int = 1
    # CRF steps toward better quality than the estimated threshold, or "auto": per shot, what keeps a share
    # ``confidence`` of unseen shots at or under their threshold (from the model's measured errors)
    margin: float | str = 1.0
    confidence: float = 0.9
    min_crf: float = CLAMPS[0]
    max_crf: float = CLAMPS[1]
    granularity: str = "shot"  # or "frame"
    x265_offsets: tuple[tuple[float, float], ...] = DEFAULT_X265_OFFSETS
    smooth_seconds: float = 1.0  # frame granularity: moving average window
    min_zone_seconds: float = 0.5  # frame granularity: shortest zone
    crf_step: float = 1.0  # CRFs are multiples of this (x264/x265 take fractional CRF; measured modes use 0.25-0.5)

    def validate(self) -> "PlanOptions":
        if self.codec not in CODECS:
            raise UserError(f"codec must be one of {', '.join(CODECS)}, not {self.codec!r}")
        if self.preset not in PRESETS:
            raise UserError(f"unknown preset {self.preset!r} (x264/x265 presets: {', '.join(PRESETS)})")
        if self.target_jnd not in (1, 2, 3):
            raise UserError(f"target JND level must be 1, 2 or 3, not {self.target_jnd}")
        if not (CRF_LIMITS[0] <= self.min_crf <= self.max_crf <= CRF_LIMITS[1]):
            raise UserError(f"need 0 <= min-crf <= max-crf <= 51 (got {self.min_crf}, {self.max_crf})")
        if self.granularity not in ("shot", "frame"):
            raise UserError(f"granularity must be 'shot' or 'frame', not {self.granularity!r}")
        if self.margin != "auto" and not (isinstance(self.margin, (int, float)) and math.isfinite(self.margin)):
            raise UserError(f"margin must be a number of CRF steps or 'auto', not {self.margin!r}")
        if not (0.5 <= self.confidence < 1):
            raise UserError(f"confidence must be within 0.5..1 (got {self.confidence})")
        if not (0.05 <= self.crf_step <= 5):
            raise UserError(f"crf step must be within 0.05..5 (got {self.crf_step})")
        return self


@dataclass
class ShotPlan:
    start_frame: int
    end_frame: int  # exclusive
    jnd: list[float] | None
    crf: float


@dataclass
class Zone:
    start_frame: int
    end_frame: int  # exclusive
    crf: float


@dataclass
class Plan:
    frames: int
    fps: float
    codec: str
    preset: str
    mode: str
    shots: list[ShotPlan]
    zones: list[Zone]
    options: dict = field(default_factory=dict)
    input: str | None = None
    model: str | None = None
    stats: dict = field(default_factory=dict)  # how the plan was made: timings, trial counts
    shot_times: list[float] | None = None  # start of each shot in seconds from the first frame
    version: int = PLAN_VERSION

    # ---- serialisation -------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Plan":
        if not isinstance(data, dict):  # a JSON list or number said "list indices must be integers"
            raise UserError(f"plan is malformed: expected a JSON object (Plan.to_dict()), got {type(data).__name__}")
        try:
            plan = cls(
                frames=int(data["frames"]),
                fps=float(data["fps"]),
                codec=str(data["codec"]),
                preset=str(data.get("preset", "medium")),
                mode=str(data.get("mode", "plan")),
                shots=[ShotPlan(int(s["start_frame"]), int(s["end_frame"]),
                                None if s.get("jnd") is None else [float(x) for x in s["jnd"]], float(s["crf"]))
                       for s in data["shots"]],
                zones=[Zone(int(z["start_frame"]), int(z["end_frame"]), float(z["crf"])) for z in data.get("zones") or data["shots"]],
                options=dict(data.get("options", {})),
                input=data.get("input"),
                model=data.get("model"),
                stats=dict(data.get("stats") or {}),
                shot_times=None if data.get("shot_times") is None else [float(t) for t in data["shot_times"]],
                version=int(data.get("version", PLAN_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"plan is malformed: {type(exc).__name__}: {exc}") from None
        return plan.validate()

    def validate(self, frames: int | None = None) -> "Plan":
        """Check ranges and values; ``frames`` is the input's frame count to match."""
        if self.codec not in CODECS:
            raise UserError(f"plan: unknown codec {self.codec!r}")
        if self.preset not in PRESETS:
            raise UserError(f"plan: unknown preset {self.preset!r}")
        if frames is not None and abs(frames - self.frames) > 1:
            made = f" (it was made for {self.input})" if self.input else ""
            raise UserError(f"plan covers {self.frames} frames but the input has {frames}{made}")
        for name, ranges in (("shots", self.shots), ("zones", self.zones)):
            if not ranges:
                raise UserError(f"plan: no {name}")
            pos = 0
            for i, r in enumerate(ranges):
                if r.start_frame != pos:
                    kind = "overlap" if r.start_frame < pos else "leave a gap"
                    raise UserError(f"plan: {name}[{i}] starts at frame {r.start_frame}, expected {pos} ({name} {kind})")
                if r.end_frame <= r.start_frame:
                    raise UserError(f"plan: {name}[{i}] is empty or reversed ({r.start_frame}..{r.end_frame})")
                if not (math.isfinite(r.crf) and CRF_LIMITS[0] <= r.crf <= CRF_LIMITS[1]):
                    raise UserError(f"plan: {name}[{i}] has CRF {r.crf}; must be within 0..51")
                pos = r.end_frame
            if pos != self.frames:
                raise UserError(f"plan: {name} end at frame {pos} but the plan has {self.frames} frames")
        return self

    # ---- encoder arguments ----------------------------------------------
    @property
    def base_crf(self) -> float:
        """The stream-level CRF; zones override it everywhere."""
        weights = [z.end_frame - z.start_frame for z in self.zones]
        return float(np.round(np.average([z.crf for z in self.zones], weights=weights), 2))

    @property
    def keyframes(self) -> list[int]:
        return [s.start_frame for s in self.shots]

    def zones_string(self) -> str:
        """x264 ``zones=`` value (crf per zone) or, for x265, bitrate factors.

        x265's zones take ``q=`` (constant QP) or ``b=`` (rate factor) only. In
        CRF mode x265 divides the zone's qscale by ``b`` and QP = 12 + 6*log2(qscale),
        so b = 2**((base - crf) / 6) moves the zone by (base - crf) CRF steps.
        Zone end frames are inclusive in both encoders.
        """
        parts = []
        for z in self.zones:
            if self.codec == "x264":
                parts.append(f"{z.start_frame},{z.end_frame - 1},crf={_fmt(z.crf)}")
            else:
                b = 2.0 ** ((self.base_crf - z.crf) / 6.0)
                parts.append(f"{z.start_frame},{z.end_frame - 1},b={b:.4f}")
        return "/".join(parts)

    def force_key_frames(self, gop: int | None = None) -> str:
        """Keyframe times for ``-force_key_frames``: each shot's start, and with ``gop`` (the user's ``--enc g``)
        every ``gop``-th frame from the first (a forced key frame restarts the encoder's interval, so without
        them the grid HLS/DASH renditions align on would move at every shot).

        A list of times, not an ``expr:`` on frame numbers: FFmpeg's expression
        parser gives up on sums of ~100 terms, and clips with many cuts exist.
        FFmpeg forces the first frame at or after each time, so each is pulled a
        quarter frame early to be immune to timestamp rounding.
        """
        times = self.shot_times
        if times is None or len(times) != len(self.shots):
            times = [k / self.fps for k in self.keyframes]
        if gop:
            grid = [round(k / self.fps, 6) for k in range(0, self.frames, int(gop))]
            times = sorted(set(times) | set(grid))
        quarter = 0.25 / self.fps if self.fps else 0.0
        return ",".join(f"{max(0.0, t - quarter):.6f}" for t in times)

    def ffmpeg_output_kwargs(self, threads: int | None = None) -> dict:
        """Output keyword arguments for ffmpeg-python's ``ffmpeg.output(...)``."""
        params_key = "x264-params" if self.codec == "x264" else "x265-params"
        params = f"zones={self.zones_string()}"
        if self.codec == "x265":
            params += ":log-level=error"
        kw = {
            "c:v": CODECS[self.codec],
            "preset": self.preset,
            "crf": _fmt(self.base_crf),
            params_key: params,
            "force_key_frames": self.force_key_frames(),
        }
        if threads:
            kw["threads"] = threads
        return kw

    def ffmpeg_args(self, threads: int | None = None) -> list[str]:
        """The same as command-line arguments (for users of the ffmpeg CLI)."""
        out = []
        for k, v in self.ffmpeg_output_kwargs(threads).items():
            out += [f"-{k}", str(v)]
        return out


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def x265_offset(crf: float, table: Sequence[Sequence[float]]) -> float:
    pts = sorted((float(a), float(b)) for a, b in table)
    return float(np.interp(crf, [p[0] for p in pts], [p[1] for p in pts]))


def crf_for(jnd: Sequence[float], opts: PlanOptions, margin: float | None = None, calibrated: bool = False) -> float:
    """The CRF for one shot: target level minus margin, plus the x265 offset, floored to ``crf_step``, clamped.

    ``margin`` (this shot's, for ``margin="auto"``) overrides ``opts.margin``.
    ``calibrated``: the margin is a probability statement about the integer
    JND labels of a model's estimate: the true JND (the largest integer CRF
    that still meets the target) is at or above ``jnd - margin`` for a share p
    of unseen shots, hence at or above its ceiling too, so that integer is the
    CRF (flooring it instead would add a second, uncalibrated safety step of
    ~0.5-1 CRF). Fixed margins, and measured JNDs (guided, search), are floored:
    never coarser than the level minus the margin.
    """
    if margin is None:
        if opts.margin == "auto":
            raise ValueError("margin='auto' needs each shot's margin (plan_from_estimates works them out)")
        margin = float(opts.margin)
    value = float(jnd[opts.target_jnd - 1]) - margin
    if not math.isfinite(value):
        raise UserError(f"no JND{opts.target_jnd} estimate for this shot; choose a level the model predicts")
    if calibrated:
        value = float(math.ceil(value - 1e-9))
    if opts.codec == "x265":
        value += x265_offset(value, opts.x265_offsets)
    # floor: never round toward worse quality than the threshold minus margin
    step = opts.crf_step
    return float(np.clip(round(math.floor(value / step + 1e-9) * step, 4), opts.min_crf, opts.max_crf))


def margin_report(plan: "Plan") -> dict | None:
    """How the plan's margin was set, for ``--json``: fixed, or auto with its share, source and per-shot values."""
    o = plan.options
    if not o or plan.mode == "crf":  # one fixed CRF: no margin applies
        return None
    if o.get("margin") != "auto":
        return {"margin": o.get("margin")}
    return {"margin": "auto", "confidence": o.get("confidence"), "source": plan.stats.get("margin_source"),
            "calibrated": plan.stats.get("margin_calibrated"), "per_shot": plan.stats.get("margins")}


def _levels(j: Sequence[float]) -> list[float | None]:
    return [round(float(x), 2) if math.isfinite(float(x)) else None for x in j]


def make_plan(
    shots: Sequence[tuple[int, int]],
    shot_jnd: Sequence[Sequence[float]],
    frames: int,
    fps: float,
    opts: PlanOptions = PlanOptions(),
    *,
    frame_jnd: np.ndarray | None = None,
    mode: str = "predict",
    input: str | None = None,
    model: str | None = None,
    shot_times: Sequence[float] | None = None,
    shot_margins: Sequence[float] | None = None,
    calibrated: bool = False,
) -> Plan:
    """Build a plan from per-shot JND (and, for frame granularity, per-frame JND [frames, 3]).

    ``shot_margins``: each shot's margin (needed when ``opts.margin == "auto"``); ``calibrated``: they are
    calibrated margins of a model's estimate (see `crf_for`).
    """
    opts.validate()
    if len(shots) != len(shot_jnd):
        raise ValueError("one JND triple per shot is needed")
    margins = list(shot_margins) if shot_margins is not None else [None] * len(shots)
    shot_plans = [ShotPlan(int(a), int(b), _levels(j), crf_for(j, opts, m, calibrated))
                  for (a, b), j, m in zip(shots, shot_jnd, margins)]
    if opts.granularity == "frame" and frame_jnd is not None:
        zones = frame_zones(shots, frame_jnd, fps, opts, margins, calibrated)
    else:
        zones = [Zone(s.start_frame, s.end_frame, s.crf) for s in shot_plans]
    options = asdict(opts)
    options["x265_offsets"] = [list(p) for p in opts.x265_offsets]
    plan = Plan(frames=int(frames), fps=float(fps), codec=opts.codec, preset=opts.preset, mode=mode,
                shots=shot_plans, zones=zones, options=options, input=input, model=model,
                shot_times=None if shot_times is None else [round(float(t), 6) for t in shot_times])
    return plan.validate()


def plan_from_estimates(est, opts: PlanOptions = PlanOptions()) -> Plan:
    """Decide per-shot CRFs from `jndenc.estimate.Estimates` (anything with its shape: ``ranges``, ``jnd()``,
    ``frames``, ``fps``, ``mode``, ``model``, ``input``, ``shot_times()``, ``frame_jnd()``, ``levels()``,
    ``auto_margins(confidence)``)."""
    if opts.target_jnd not in est.levels():
        have = ", ".join(f"JND{k}" for k in est.levels()) or "no level"
        raise UserError(f"{est.model or est.mode} gives {have}; --target-jnd {opts.target_jnd} is not available")
    frame_jnd = est.frame_jnd() if opts.granularity == "frame" else None
    if opts.granularity == "frame" and frame_jnd is None:
        raise UserError(f"--granularity frame needs per-frame predictions; mode {est.mode} labels whole shots")
    margins, why, calibrated = None, None, False
    if opts.margin == "auto":
        margins, why, calibrated = est.auto_margins(opts.confidence)
    plan = make_plan(est.ranges, est.jnd(), est.frames, est.fps, opts, frame_jnd=frame_jnd, mode=est.mode,
                     input=est.input, model=est.model, shot_times=est.shot_times(), shot_margins=margins,
                     calibrated=calibrated)
    if margins is not None:
        plan.stats["margins"] = [round(float(m), 3) for m in margins]
        plan.stats["margin_source"] = why
        plan.stats["margin_calibrated"] = calibrated
    return plan


def fixed_plan(shots: Sequence[tuple[int, int]], crf: float, frames: int, fps: float, opts: PlanOptions = PlanOptions(),
               input: str | None = None, shot_times: Sequence[float] | None = None) -> Plan:
    """The baseline: one CRF everywhere, through the same encode path."""
    opts.validate()
    sp = [ShotPlan(int(a), int(b), None, float(crf)) for a, b in shots]
    return Plan(frames=int(frames), fps=float(fps), codec=opts.codec, preset=opts.preset, mode="crf", shots=sp,
                zones=[Zone(s.start_frame, s.end_frame, s.crf) for s in sp], options=asdict(opts) | {"x265_offsets": []},
                input=input, shot_times=None if shot_times is None else [round(float(t), 6) for t in shot_times]).validate()


def frame_zones(shots: Sequence[tuple[int, int]], frame_jnd: np.ndarray, fps: float, opts: PlanOptions,
                margins: Sequence[float | None] | None = None, calibrated: bool = False) -> list[Zone]:
    """Per-frame CRF, smoothed inside each shot, held for blocks of ``min_zone_seconds``.

    Smoothing never crosses a shot boundary: a cut is exactly where the content
    (and so the right CRF) may jump.
    """
    win = max(1, int(round(opts.smooth_seconds * fps)))
    min_len = max(1, int(round(opts.min_zone_seconds * fps)))
    zones: list[Zone] = []
    margins = list(margins) if margins is not None else [None] * len(shots)
    for (a, b), margin in zip(shots, margins):
        seg = np.asarray(frame_jnd[a:b], dtype=float)
        if win > 1 and len(seg) > 1:
            k = np.ones(min(win, len(seg))) / min(win, len(seg))
            pad = len(k) // 2
            padded = np.pad(seg, ((pad, len(k) - 1 - pad), (0, 0)), mode="edge")
            seg = np.stack([np.convolve(padded[:, c], k, mode="valid") for c in range(seg.shape[1])], axis=1)
        crfs = np.array([crf_for(row, opts, margin, calibrated) for row in seg])
        # blocks of min_len frames take their lowest (safest) CRF; a short tail joins the block before it
        n_blocks = max(1, len(crfs) // min_len)
        edges = [a + i * min_len for i in range(n_blocks)] + [b]
        runs: list[list] = []
        for s0, e0 in zip(edges, edges[1:]):
            c = float(crfs[s0 - a:e0 - a].min())
            if runs and runs[-1][2] == c:
                runs[-1][1] = e0
            else:
                runs.append([s0, e0, c])
        zones.extend(Zone(int(s), int(e), float(c)) for s, e, c in runs)
    return zones


def with_shot_crfs(plan: Plan, crfs: Sequence[float], **changes) -> Plan:
    """A copy of ``plan`` with shot i at ``crfs[i]`` and one zone per shot (same shots/keyframes); ``changes``
    replace other fields."""
    shots = [replace(s, crf=float(c)) for s, c in zip(plan.shots, crfs)]
    return replace(plan, shots=shots, zones=[Zone(s.start_frame, s.end_frame, s.crf) for s in shots], **changes)


def with_crf(plan: Plan, crf: float) -> Plan:
    """A copy of ``plan`` with every shot and zone at one CRF (same shots/keyframes)."""
    return with_shot_crfs(plan, [crf] * len(plan.shots), mode="crf")
