"""How hard the shot loop works on each shot: its band, attempt budget and measurement (`jndenc.effort` names the
sets users pick from; `jndenc.shotloop` runs them)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import loop as L
from .media.ffargs import VMAF_MODEL, vmaf_label


@dataclass(frozen=True)
class LoopOptions:
    """How hard the loop works on each shot (`jndenc.effort` names the sets users pick from)."""

    budget: int = 3  # attempts per shot (`jndenc.loop.allowed` adds one where they missed the band on both sides)
    below: float = 0.3  # the band: [target - below, target + above], aimed at target + aim
    above: float = 1.0
    aim: float = 0.3
    # measurement: libvmaf scores every `subsample`-th frame of an attempt (from its first) in shots of at least
    # `subsample_min_frames`. Its motion feature still reads every frame, so each scored frame scores as in a
    # full pass; only the mean is over fewer frames. Measured on the loop's attempts on 16 training and validation
    # clips (benchmarks/experiments/vmaf_subsample.py, results/vmaf_subsample.json): on pieces of 48 frames or
    # more read at VMAF 90-98, every 3rd and every 5th frame (`jndenc.media.segments.sampled_mean`) came within
    # 0.30 of the full mean on 95% of them (every 4th and 6th: 0.50 and 0.63, they alias with x264's frame types).
    # Balanced takes every 3rd (in the study an attempt on every 2nd frame cost 0.81x a full one, on every 5th
    # 0.70x; every 3rd lies between): every 5th aliases with 3:2 pulldown, film telecined to 29.97 fps, whose
    # five-frame cadence puts two combed frames in every five; on such a training clip (a 129-frame shot of
    # short_hamilton_clip.mp4) every 5th frame read 94.77 where every frame reads 92.49, every 3rd within 0.15.
    # A sampled reading at or above the band's lower edge (the edge that decides whether a shot is visibly worse)
    # by no more than `recheck`, or than `recheck_errors` standard errors of that reading where that is more
    # (`jndenc.media.segments.sampled_error`: a shot whose frames differ a lot is read less surely; on a
    # training clip's 48-frame shot with frames from 87 to 98, every 5th frame read 94.39 and every frame 92.91),
    # is measured again on every frame before the loop accepts it; elsewhere the sampled reading decides. A reading
    # under the edge is not measured again: the loop steps toward quality whatever a full pass would say, and the
    # full pass (about an encode's cost) bought only the chance that the shot read in the band after all
    # (benchmarks/results/loop_recheck.json, training and validation clips).
    # The study measured x264 attempts only: other encoders' frame structures (VP9's alt-ref frames, AV1's
    # hierarchical groups, x265's) were not, so their attempts are scored on every frame (`for_encoder`)
    subsample: int = 1
    subsample_min_frames: int = 48
    # the source frames before a shot are scored in front of its attempt (and dropped), so that VMAF's motion term,
    # which reads the reference alone, has the frame before as in the finished file: scored alone, a shot's first
    # frame read as still, several VMAF low after a cut (benchmarks/experiments/loop_lead.py)
    score_lead: bool = True
    recheck: float = 0.32
    recheck_errors: float = 2.0  # one-sided, about 98% under a normal error; set a priori, not tuned
    subsampled_encoders: tuple[str, ...] = ("libx264",)
    slope_scale: float = 0.6  # first step: this share of the model's JND1-JND2 chord (`jndenc.loop.first_slope`)
    steeper_up: bool = True  # ... steeper for a step up from far above the aim (`jndenc.loop.rise`)
    jobs: int | None = None  # shots at once; None: the available cores
    # the libvmaf model every attempt is scored with (`jndenc.media.ffargs.VMAF_MODELS`); the start is made in the
    # default one (the model's labels) and the loop's steps close the difference (benchmarks/README.md, "VMAF models")
    vmaf_model: str = VMAF_MODEL

    def band(self, target: float) -> L.Band:
        return L.Band.around(target, below=self.below, above=self.above, aim=self.aim)

    def for_encoder(self, encoder: str) -> "LoopOptions":
        """These options as they apply to ``encoder``: every frame scored where sampling was not measured on it."""
        return self if encoder in self.subsampled_encoders else replace(self, subsample=1)

    def recheck_window(self, error: float) -> float:
        """How far above the band's lower edge a sampled reading with standard error ``error`` is measured again on
        every frame: `recheck`, or `recheck_errors` standard errors where that is more."""
        return max(self.recheck, self.recheck_errors * error)

    def every(self, frames: int) -> int:
        """Every how many frames a shot of ``frames`` frames is scored (1: every frame)."""
        return self.subsample if frames >= self.subsample_min_frames else 1

    def measurement(self) -> str:
        vmaf = vmaf_label(self.vmaf_model)
        if self.subsample <= 1:
            return f"{vmaf} of every frame of the segment"
        return (f"{vmaf} of every {ordinal(self.subsample)} frame of the segment in shots of "
                f"{self.subsample_min_frames} frames or more (every frame where that read within "
                f"{self.recheck:g}, or {self.recheck_errors:g} standard errors, above the band's lower edge), of "
                "every frame in shorter ones")


def ordinal(n: int) -> str:
    """``n`` as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 22nd."""
    last = n % 10 if n % 100 not in (11, 12, 13) else 0
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(last, "th")
    return f"{n}{suffix}"
