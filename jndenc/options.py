"""What an encode is asked to do, as typed groups: what to aim at, how much work, the codec, the expert's
one-pass path, the analysis, search/guided trials, and what comes out. Built once (`EncodeOptions.from_kwargs`
from the API's keywords; the CLI builds the same object from its flags) and passed whole.

Every field's default has one home: here, or for what the planner and guided mode own, `PlanOptions` and
`GuidedOptions`, which these classes read; `jndenc.pipeline.analyse_and_plan` and the CLI's flags read theirs
from these classes.
"""
from __future__ import annotations

import difflib
import math
import numbers
import os
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .analyze import ShotOptions
from .errors import UserError
from .guided import GuidedOptions
from .media.ffargs import VMAF_MODEL, VMAF_MODELS
from .media.segments import ENCODER_CHOICES
from .planner import CRF_LIMITS, PRESETS, Plan, PlanOptions
from .search import DEFAULT_THRESHOLDS

if TYPE_CHECKING:
    from .learn import StartLearner


# What each simple annotation admits; the CLI's flags type their values, the API's keywords arrive as given
_KINDS = {"int": (numbers.Integral, "an integer"), "float": (numbers.Real, "a number"), "str": (str, "a string"),
          "str | os.PathLike": ((str, os.PathLike), "a path"),
          # a flag must be one: overwrite="no" (a string from a config) is truthy, and replaced the output
          "bool": (bool, "True or False"),
          "ShotOptions": (ShotOptions, "a jndenc.analyze.ShotOptions")}
# the ranges the CLI's flags hold the same options to (`jndenc.cli.encode`)
_RANGES = {"target_vmaf": (20, 100), "jobs": (1, None), "threads": (0, None), "compare_crf": (0, 51),
           "max_size": (1, 1000),
           # sample_every=-3 sampled backwards and changed the plan; trial_seconds=-1 failed naming a temp file
           "sample_every": (1, None), "workers": (1, None), "trial_seconds": (0, None), "max_trials": (1, None),
           # guided halves it for its planner, whose own check then named the half and its own range
           "crf_step": (0.1, 6),
           # said only by the planner, after the analysis (a batch's dry run reported such a row would encode)
           "crf": CRF_LIMITS, "min_crf": CRF_LIMITS, "max_crf": CRF_LIMITS}


def _value(name: str, annotation: str, v):
    """``v`` as the field ``name`` (annotated ``annotation``) takes it. A value of the wrong kind (a str where a
    number goes) is a TypeError that names the keyword, one out of the CLI's range a one-line `UserError`: either
    failed deep inside the encode, some only after the output was written (``compare_crf="23"``), or ran on in
    silence (``target_vmaf=120``)."""
    kind = annotation.removesuffix(" | None")
    if v is None and annotation.endswith(" | None"):
        return v
    if kind in _KINDS:
        want, words = _KINDS[kind]
        if isinstance(v, bool) and kind != "bool" or not isinstance(v, want):
            raise TypeError(f"{name} takes {words}, not {type(v).__name__} {v!r}")
        if kind in ("int", "float") and type(v) not in (int, float):
            v = int(v) if kind == "int" else float(v)  # a NumPy scalar: the result's to_dict() must stay JSON
    lo, hi = _RANGES.get(name, (None, None))
    if not ((lo is None or v >= lo) and (hi is None or v <= hi)):
        raise UserError(f"{name} must be {f'at least {lo}' if hi is None else f'within {lo}..{hi}'} (got {v})")
    return v


def _checked(group) -> None:
    for f in fields(group):
        v = getattr(group, f.name)
        w = _value(f.name, f.type, v)
        if w is not v:
            object.__setattr__(group, f.name, w)


@dataclass(frozen=True)
class Aim:
    """What to aim at: a JND level (1 = VMAF 94), or any VMAF (the measured efforts only), as read by which libvmaf
    model (another than the default: the measured efforts, or a one-pass encode's ``verify`` only)."""

    target_jnd: int = PlanOptions.target_jnd
    target_vmaf: float | None = None
    vmaf_model: str = VMAF_MODEL

    def __post_init__(self) -> None:
        _checked(self)
        if self.vmaf_model not in VMAF_MODELS:
            raise UserError(f"vmaf_model must be one of {', '.join(VMAF_MODELS)}, not {self.vmaf_model!r}")
        if self.target_jnd not in (1, 2, 3):
            raise UserError(f"target JND level must be 1, 2 or 3, not {self.target_jnd}")
        if self.target_vmaf is not None and self.target_jnd != PlanOptions.target_jnd:
            # the VMAF won without a word: a user who asked for JND2 got the VMAF's quality
            raise UserError(f"--target-jnd {self.target_jnd} and --target-vmaf {self.target_vmaf:g} both say what "
                            "to aim at: give one")


@dataclass(frozen=True)
class Work:
    """How much work: the effort level (None: balanced, unless an expert option chose a one-pass path) and where
    the shot loop runs and starts."""

    effort: str | None = None
    jobs: int | None = None  # shots encoded (the loop) or probed (fast, probe mode) at once; None: the available cores
    dask: str | None = None  # a scheduler address whose workers run the shots
    resume: bool = False  # finished shots kept when the encode stops, and taken up again (`jndenc.resume`)
    start_offset: float | None = None  # x264 CRF steps added to every first attempt
    learner: StartLearner | None = None  # supplies the offset and learns the shots (`jndenc.learn`)

    def __post_init__(self) -> None:
        _checked(self)
        if self.learner is not None and not (hasattr(self.learner, "offset") and hasattr(self.learner, "add")):
            raise TypeError(f"learner takes a jndenc.StartLearner (StartLearner.from_dict for a saved one), not "
                            f"{type(self.learner).__name__}")
        if self.start_offset is not None and not math.isfinite(self.start_offset):
            # else "cannot convert float NaN to integer" from inside the loop
            raise UserError(f"start_offset must be a finite number of CRF steps, not {self.start_offset}")
        if self.start_offset is not None and self.learner is not None:
            # the learner's offset replaced the one given, without a word
            raise UserError("start_offset and learner both set the first attempts' offset: give one (the learner's "
                            "is learner.offset())")


@dataclass(frozen=True)
class Codec:
    """The encoder and its limits."""

    codec: str = PlanOptions.codec
    encoder: str | None = None  # av1: libsvtav1 (None), libaom-av1 or librav1e
    preset: str = PlanOptions.preset
    min_crf: float = PlanOptions.min_crf
    max_crf: float = PlanOptions.max_crf
    calibration: str | os.PathLike | None = None  # `jndenc calibrate` file: x265 offsets, or an AV1/VP9 scale
    enc: Sequence[str] = ()  # the user's own encoder options, KEY=VALUE (`jndenc.media.enc_params`)
    threads: int | None = None  # one-pass encoder threads (the loop's follow the resolution)

    def __post_init__(self) -> None:
        _checked(self)
        if self.codec not in ENCODER_CHOICES:  # else a KeyError from deep inside the encode
            raise UserError(f"codec must be one of {', '.join(ENCODER_CHOICES)}, not {self.codec!r}")
        if self.preset not in PRESETS:  # else each file's planner said so, after its analysis
            raise UserError(f"unknown preset {self.preset!r} (presets: {', '.join(PRESETS)})")
        if self.min_crf > self.max_crf:
            raise UserError(f"min_crf ({self.min_crf}) must not be above max_crf ({self.max_crf})")
        if (isinstance(self.enc, (str, bytes, dict)) or not isinstance(self.enc, Iterable)
                or not all(isinstance(x, str) for x in self.enc)):
            # a bare str would be read one character at a time
            raise TypeError(f"enc takes a list of KEY=VALUE strings, e.g. ['g=48', 'maxrate=6M'], not {self.enc!r}")


@dataclass(frozen=True)
class Expert:
    """The one-pass paths instead of an effort level: a mode, a fixed CRF, a saved plan, corrective passes."""

    mode: str | None = None
    crf: float | None = None
    margin: float | str | None = None  # CRF steps, or "auto"; None: the mode's own
    confidence: float | None = None  # --margin auto's share of shots kept at or under their JND
    granularity: str = PlanOptions.granularity
    ensure: bool = False
    tighten: bool = False
    plan: Plan | str | os.PathLike | None = None  # replayed instead of analysing

    def __post_init__(self) -> None:
        _checked(self)
        if self.mode is not None:
            check_mode(self.mode, self.crf)
        if self.plan is not None and not isinstance(self.plan, (Plan, str, os.PathLike)):
            raise TypeError(f"plan takes a Plan or a saved plan's path (Plan.from_dict for a dict), not "
                            f"{type(self.plan).__name__}")

    def chosen(self) -> list[str]:
        """The expert options set, as the flags a user would have typed (an effort level excludes them)."""
        out = [k for k in ("mode", "crf") if getattr(self, k) is not None]
        if self.plan is not None:
            out.append("plan")
        if self.ensure or self.tighten:
            out.append("ensure/tighten")
        if self.granularity == "frame":
            out.append("granularity frame")
        return out


@dataclass(frozen=True)
class AnalysisOptions:
    """The analysis pass and the model."""

    weights: str | os.PathLike | None = None
    predictor: Any = None  # a loaded model (`jndenc.predictor.load_predictor`) instead of loading ``weights``
    sample_every: int | None = None  # None: two frames per second
    shot_options: ShotOptions = field(default_factory=ShotOptions)

    def __post_init__(self) -> None:
        _checked(self)


@dataclass(frozen=True)
class Trials:
    """Search and guided modes' trial encodes."""

    thresholds: Sequence[float] = DEFAULT_THRESHOLDS
    metric: str = "vmaf"
    pool: str = "mean"
    workers: int = 1
    trial_seconds: float | None = None  # None: the mode's own
    crf_step: float = GuidedOptions.crf_step
    max_trials: int = GuidedOptions.max_trials
    trial_cache: str | os.PathLike | None = None
    guided_start: str = GuidedOptions.start
    prior: Any = None  # guided mode: per-shot JND1..3 (or one JND1) to start from instead of the model

    def __post_init__(self) -> None:
        _checked(self)
        _check_thresholds(self.thresholds)


def check_mode(mode: str, crf: float | None) -> None:
    """Refuse a mode no plan is made by (`jndenc.encode`'s options and `jndenc.plan` alike): an unknown one, or
    "crf" without a CRF (it said "--crf must be within 0..51 (got None)")."""
    from .modes import NAMES

    if mode == "crf" and crf is None:
        raise UserError("mode 'crf' is a fixed CRF: give crf=N (--crf N) instead")
    if mode not in (*NAMES, "crf"):
        raise UserError(f"mode must be one of {', '.join(NAMES)}, not {mode!r}")


def _check_thresholds(t) -> None:
    """``thresholds`` as a list of VMAF numbers: "94,88,82" failed as "could not convert string to float: ','",
    None as "not iterable"."""
    if (isinstance(t, (str, bytes)) or not isinstance(t, Iterable)
            or not all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in t) or not len(list(t))):
        raise TypeError(f"thresholds takes VMAF numbers, JND1 first (e.g. [94, 88, 82]), not {t!r}")


@dataclass(frozen=True)
class Outputs:
    """What comes out besides the file, and the checks before it is renamed into place."""

    overwrite: bool = False
    quiet: bool = True
    validate: bool | str = True  # True/"fast", "full", False
    verify: bool | None = None  # None: on where the mode measures
    compare_crf: float | None = None
    plan_out: str | os.PathLike | None = None
    max_size: float | None = None  # percent of the input's video bytes the output's video may take (`check_size`)

    def __post_init__(self) -> None:
        _checked(self)


_GROUPS = {"aim": Aim, "work": Work, "codec": Codec, "expert": Expert, "analysis": AnalysisOptions, "trials": Trials,
           "outputs": Outputs}
_GROUP_OF = {f.name: g for g, cls in _GROUPS.items() for f in fields(cls)}
_FIELDS = {f.name: f for cls in _GROUPS.values() for f in fields(cls)}
# the planner's keywords (`jndenc.pipeline.analyse_and_plan`) and the group each comes from
PLAN_KEYS = ("mode", "crf", "codec", "preset", "calibration", "target_jnd", "margin", "confidence", "min_crf",
             "max_crf", "granularity", "weights", "predictor", "sample_every", "shot_options", "thresholds", "metric",
             "pool", "workers", "trial_seconds", "crf_step", "max_trials", "trial_cache", "guided_start", "prior")


@dataclass(frozen=True)
class EncodeOptions:
    """Everything `jndenc.encode` is asked to do, one group per concern; frozen: `with_` makes changed copies."""

    aim: Aim = field(default_factory=Aim)
    work: Work = field(default_factory=Work)
    codec: Codec = field(default_factory=Codec)
    expert: Expert = field(default_factory=Expert)
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    trials: Trials = field(default_factory=Trials)
    outputs: Outputs = field(default_factory=Outputs)

    @classmethod
    def from_kwargs(cls, **kwargs) -> "EncodeOptions":
        """The groups from flat keywords (`jndenc.encode`'s): each name belongs to one group."""
        check_known(kwargs)
        per: dict[str, dict] = {}
        for k, v in kwargs.items():
            per.setdefault(_GROUP_OF[k], {})[k] = v
        return cls(**{g: _GROUPS[g](**kw) for g, kw in per.items()})

    def with_(self, **kwargs) -> "EncodeOptions":
        """A copy with some fields (flat names, as in `from_kwargs`) changed."""
        check_known(kwargs)
        per: dict[str, dict] = {}
        for k, v in kwargs.items():
            per.setdefault(_GROUP_OF[k], {})[k] = v
        return replace(self, **{g: replace(getattr(self, g), **kw) for g, kw in per.items()})

    def plan_kwargs(self) -> dict:
        """The planner's keywords (`jndenc.pipeline.plan`); an unset mode is left to the caller."""
        out = {k: getattr(getattr(self, _GROUP_OF[k]), k) for k in PLAN_KEYS}
        if out["mode"] is None:
            del out["mode"]
        return out


def check_known(kwargs: dict, allowed: Iterable[str] | None = None) -> None:
    """A misspelt keyword is a TypeError that names it and what was probably meant, or every keyword there is;
    ``allowed``: the keywords there are (default: the groups' fields)."""
    allowed = list(_GROUP_OF if allowed is None else allowed)
    unknown = sorted(set(kwargs) - set(allowed))
    if not unknown:
        return
    close = {k: difflib.get_close_matches(k, allowed, n=1) for k in unknown}
    hint = "; ".join(f"{k!r}: did you mean {m[0]!r}?" for k, m in close.items() if m)
    raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)} "
                    f"({hint or 'the keywords are ' + ', '.join(sorted(allowed))})")


def check_keywords(kwargs: dict) -> None:
    """Keywords named as the groups' fields (`jndenc.plan`'s), checked as the groups check theirs."""
    for k, v in kwargs.items():
        if k in _FIELDS:
            _value(k, _FIELDS[k].type, v)
    if "thresholds" in kwargs:
        _check_thresholds(kwargs["thresholds"])
