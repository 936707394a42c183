"""What `jndenc.encode` returns: the output, the plan it was encoded at, and what it cost and measured."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import shotloop
from . import verify as V
from .media import segments as S
from .media.ffargs import VMAF_MODEL
from .planner import Plan, margin_report

# a measured effort's "mode": its CRFs are what each shot's attempts measured; the model's estimate only started
# them, so "predict" (the start's mode) read as if the file were a one-pass predict encode
LOOP_MODE = "loop"


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
    effort: str | None = None  # the effort level (None: an expert's --mode, --crf or --plan)
    loop: shotloop.LoopResult | None = None  # measured efforts: what the segment loop did per shot
    cost: dict | None = None  # measured efforts: wall and CPU seconds per phase
    start: dict | None = None  # measured efforts: the start's correction and each shot's label (`jndenc.learn`)
    vmaf_model: str = VMAF_MODEL  # the libvmaf model of every VMAF in the result
    quality_by: str = "output"  # what ``quality`` measured: the finished file, or the loop's "segments"

    def to_dict(self) -> dict:
        shots = []
        for i, s in enumerate(self.plan.shots):
            d = {"start_frame": s.start_frame, "end_frame": s.end_frame, "jnd": s.jnd, "crf": s.crf}
            if self.quality is not None:
                d["vmaf"] = self.quality[i].to_dict()
            if self.loop is not None:
                d.update(self.loop.shots[i].to_dict())
            shots.append(d)
        out = {
            "input": self.input,
            "output": self.output,
            "effort": self.effort,
            "mode": self.mode,
            "codec": self.codec,
            "encoder": self.plan.options.get("encoder") or S.ENCODERS.get(self.codec),
            "preset": self.plan.preset,
            "frames": self.frames,
            "bytes": self.bytes,
            "bitrate_kbps": round(self.bitrate_kbps, 2),
            "model": self.plan.model,
            "shots": shots,
            # the x264/x265 zones string, as `jndenc predict --json` gives it (one-pass paths, x264/x265 only); None
            # where the output is made of measured segments (each shot its own encode: no zones)
            "zones": None if self.loop is not None else self.plan.zones_string(),
            "margin": margin_report(self.plan),
            "vmaf_model": self.vmaf_model,
            "trial_encodes": self.plan.stats.get("trial_encodes"),
            "trials_measured": self.plan.stats.get("trials_measured"),
            "timings": self.timings,
            "notes": self.notes,
        }
        if "probe" in self.plan.stats:  # probe mode: what the probes measured and cost (inside analysis_s)
            out["probe"] = self.plan.stats["probe"]
        if self.quality is not None:
            out["verify"] = V.summary(self.quality, self.target_vmaf, self.vmaf_model, self.quality_by)
        if self.passes:
            out["passes"] = self.passes
        if self.loop is not None:
            out["loop"] = self.loop.summary()
        if self.cost is not None:
            out["cost"] = self.cost
        if self.start is not None:
            out["start"] = self.start
        if self.compare is not None:
            out["compare"] = self.compare
        return out
