"""The BD-rate benchmark's options, on their own so every bench module can import them without a cycle."""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

from ..media.ffargs import VMAF_MODEL

BENCH_MODES = ("predict", "probe", "guided", "search")
BENCH_EFFORTS = ("fast", "balanced", "thorough")  # one `jndenc encode --effort E --target-jnd T` per point
DEFAULT_LADDER = (18, 23, 28, 33, 38)  # x264 CRFs; on another encoder's scale through `jndenc.starts.codec_scale`


@dataclass(frozen=True)
class ModeSpec:
    """One jndenc ladder's mode: ``probe``, ``probe@0.5`` (``--confidence 0.5``), ``probe@0.5+tighten``."""

    mode: str  # a mode, or an effort level where ``effort``
    confidence: float | None = None  # None: the default of `jndenc encode`
    tighten: bool = False  # encode, measure every shot, re-encode once as `jndenc encode --tighten`
    effort: bool = False

    @classmethod
    def parse(cls, spec: str) -> "ModeSpec":
        """A `jndenc.recipe.Recipe` the BD-rate ladders can run: a mode, optionally @P and +tighten."""
        from ..errors import UserError
        from ..recipe import Recipe

        base, plus, flag = spec.partition("+")
        # checked before the recipe: its message offers `jndenc encode`'s recipes, +ensure among them
        if not (spec in BENCH_EFFORTS or base.partition("@")[0] in BENCH_MODES and (not plus or flag == "tighten")):
            raise UserError(f"--modes {spec!r}: not an effort level ({', '.join(BENCH_EFFORTS)}), a mode "
                            f"({', '.join(BENCH_MODES)}), MODE@P or MODE+tighten")
        r = Recipe.parse(spec)  # what is left to refuse, a bad @P, in the recipe's own words
        if r.effort:
            return cls(r.effort, effort=True)
        conf = r.confidence
        if r.corrective and conf is None:
            from ..verify import TIGHTEN_CONFIDENCE

            conf = TIGHTEN_CONFIDENCE.get(r.mode)  # as `jndenc encode --tighten` plans without --confidence
        return cls(r.mode, conf, bool(r.corrective))


def _is_margin(m: object) -> bool:
    return m == "auto" or isinstance(m, (int, float)) and not isinstance(m, bool) and math.isfinite(m)


@dataclass
class BenchOptions:
    crf_ladder: tuple[float, ...] | None = None  # on the encoder's own scale; None: DEFAULT_LADDER mapped to it
    targets: tuple[int, ...] = (1, 2, 3)
    # "auto": each mode's default in `jndenc encode` (predict/probe: calibrated per-shot margins, search 1, guided 0)
    margins: tuple[float | str, ...] = ("auto",)
    codec: str = "x264"
    encoder: str | None = None  # --codec av1: libsvtav1 (None), libaom-av1 or librav1e
    preset: str = "medium"
    modes: tuple[str, ...] = ("predict", "probe", "guided", "search")
    max_frames: int | None = 60
    max_clips: int | None = 6
    thresholds: tuple[float, ...] | None = None  # search mode; None: jndenc's defaults
    weights: str | None = None
    calibration: str | None = None
    match: bool = True  # extra fixed-CRF encodes for the matched worst-shot comparison
    threads: int | None = None
    keep_encodes: bool = False
    quiet: bool = False
    # the libvmaf model every point is measured with, and the effort levels aim in (the one-pass modes' plans are
    # made in the default model whatever this says: only their measurement moves)
    vmaf_model: str = VMAF_MODEL

    def validate(self) -> "BenchOptions":
        """Refuse a bad option before the first encode: left to the run, it fails clips into it (or misleads)."""
        from ..errors import UserError
        from ..media.segments import QUALITY_RANGE, encoder_of
        from ..search import check_thresholds

        for name, v, least in (("--max-frames", self.max_frames, 0), ("--max-clips", self.max_clips, 0),
                               ("--threads", self.threads, 1)):
            if v is not None and v < least:
                raise UserError(f"{name} must be {least} or more, not {v}")
        if self.calibration is not None and not os.path.isfile(self.calibration):
            # it is hashed into the cache keys before anything reads it
            raise UserError(f"--calibration {self.calibration}: no such file")
        if self.weights is not None and not os.path.isfile(self.weights):  # said after --out was made
            raise UserError(f"--weights {self.weights}: no such file")
        from ..planner import PRESETS

        if self.preset not in PRESETS:  # said after --out was made, with the first clip's encodes
            raise UserError(f"--preset {self.preset!r}: not one of {', '.join(PRESETS)}")
        bad = [t for t in self.targets if t not in (1, 2, 3)]
        if not self.targets or bad:
            raise UserError(f"--targets: JND levels 1, 2 or 3, not {','.join(map(str, bad)) or 'none'}")
        bad = [m for m in self.margins if not _is_margin(m)]
        if not self.margins or bad:
            # none at all ran no predict, probe or search ladder and said nothing; NaN failed clips into the run
            raise UserError(f"--margins: CRF steps or 'auto', not {','.join(map(str, bad)) or 'none'}")
        if self.thresholds is not None:
            check_thresholds(self.thresholds)
        if self.vmaf_model != VMAF_MODEL:  # unknown or not loadable: said before the first encode
            from ..media.quality import require_model

            require_model(self.vmaf_model)
        enc = encoder_of(self.codec, self.encoder)
        lo, hi = QUALITY_RANGE[enc]
        ladder = self.ladder()
        out = [c for c in ladder if not lo <= c <= hi]
        if out:
            raise UserError(f"--crf-ladder: {', '.join(f'{c:g}' for c in out)} outside {enc}'s CRF range {lo}..{hi}")
        if len(set(ladder)) < 2:  # a curve of one point has no BD-rate
            raise UserError("the fixed-CRF ladder needs at least two different CRFs")
        twice = sorted({c for c in ladder if ladder.count(c) > 1})
        if twice:  # merged without a word: a typo for another CRF, most likely
            raise UserError(f"--crf-ladder: {', '.join(f'{c:g}' for c in twice)} given more than once")
        if len(set(self.targets)) < 2 and not self.match:
            # one point a jndenc ladder: no BD-rate, and without the match nothing to compare (exit 0, "0 clips")
            raise UserError("--targets: a BD-rate needs two levels or more (each is one point of jndenc's curve); "
                            "with one, only the matched comparison compares, which --no-match turns off")
        return self

    def to_dict(self) -> dict:
        return {**asdict(self), "crf_ladder": list(self.ladder())}

    def ladder(self) -> tuple[float, ...]:
        """The fixed-CRF ladder on the encoder's own scale: the one given, or `DEFAULT_LADDER` mapped there
        (whole steps, within the encoder's range, repeats dropped)."""
        if self.crf_ladder is not None:
            return tuple(self.crf_ladder)
        from ..media.segments import QUALITY_RANGE, encoder_of
        from ..starts import LOOP_ONLY_CODECS, codec_scale

        if self.codec not in LOOP_ONLY_CODECS:
            return DEFAULT_LADDER
        a, b = codec_scale(self.codec, self.encoder, self.calibration)
        lo, hi = QUALITY_RANGE[encoder_of(self.codec, self.encoder)]
        return tuple(dict.fromkeys(float(min(max(round(a + b * c), lo), hi)) for c in DEFAULT_LADDER))
