"""Learning the start from measured shots: every shot the loop measures says where its CRF should have been,
and a library encoded one file after another can correct the model's start for the files still to come.

The frame model is biased on content unlike its training clips (it predicts slides, screen recordings and
upscaled animation several CRF too low), and files of one source share that bias. A shot's label is the pair
(the model's start, the x264 CRF at which its attempts put the aim, `jndenc.loop.aim_crf`); the correction for
the next file is the mean over earlier files of each file's median residual, shrunk toward zero by
``PRIOR_FILES`` pseudo-files of residual 0, so one odd file moves the start a little and a series moves it far.

Pure (data in, data out): `jndenc.encode` applies an offset and returns its shots' labels, `jndenc.batch`
keeps them in its journal, and `StartLearner` is the object a pipeline holds between encodes.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .fileio import write_text_atomic
from . import loop as L
from .errors import UserError
from .media.ffargs import VMAF_MODELS

# Pseudo-files of residual 0 the mean is shrunk with: the correction after one file is half its residual, after
# three three quarters. Set before any series was measured (not tuned; benchmarks/batch_learning.py reports it)
PRIOR_FILES = 1.0
# How far a correction may move the start, in x264 CRF: the model's misses on unseen content reached 6.4
MAX_OFFSET = 6.0


@dataclass(frozen=True)
class ShotLabel:
    """One measured shot: the model's start (x264 CRF, before any correction), where the attempts put the aim
    (x264 CRF) and the shot's length in frames."""

    model: float
    found: float
    frames: int

    @property
    def residual(self) -> float:
        return self.found - self.model

    def to_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ShotLabel":
        """A label as `to_dict` keeps it (an encode's ``"start"`` labels); ValueError for a value that is not a finite
        number (a NaN offset failed every later encode deep inside the loop)."""
        model, found, frames = float(d["model"]), float(d["found"]), int(d["frames"])
        if not (math.isfinite(model) and math.isfinite(found)) or frames < 1:
            raise ValueError(f"a label needs finite CRFs and a frame count of 1 or more, not {d!r}")
        return cls(model, found, frames)


def labels_from(start: dict) -> list[ShotLabel]:
    """The labels of one encode's ``"start"`` block (`jndenc.encode`'s result), shots without one left out."""
    return [ShotLabel.from_dict(x) for x in start.get("labels", []) if x is not None]


def label(model: float, attempts: Sequence[L.Attempt], band: L.Band, *, slope: float, outcome: str, frames: int,
          min_crf: float, to_x264: tuple[float, float] | None = None,
          steeper_up: bool = False) -> ShotLabel | None:
    """The label of one shot the loop ran, or None where its attempts do not locate the aim: a shot clamped above
    the band at the maximum CRF, or below the aim at the minimum, only bounds it.

    ``slope`` and ``steeper_up`` are the first step's (`jndenc.loop.next_crf`), on the encoder's scale;
    ``to_x264`` the (a, b) of codec CRF = a + b x264 CRF (AV1 and VP9), so the label is on the scale the model
    predicts."""
    if outcome == "clamped":
        return None
    if all(a.vmaf <= band.aim for a in attempts) and min(a.crf for a in attempts) <= min_crf + 1e-9:
        return None
    found = L.aim_crf(attempts, band, slope=slope, steeper_up=steeper_up,
                      scale=1.0 if to_x264 is None else float(to_x264[1]))
    if to_x264 is not None:
        a, b = to_x264
        found = (found - a) / b
    # rounded as the journal keeps it, so a resumed batch learns exactly what the first run learned
    return ShotLabel(round(float(model), 3), round(float(found), 3), int(frames))


def offset(files: Iterable[Sequence[ShotLabel]], *, prior: float = PRIOR_FILES, limit: float = MAX_OFFSET,
           toward: float = 0.0) -> float:
    """The correction for the next file's start (x264 CRF, added to the model's), from earlier files' labels:
    each file's median residual, averaged with ``prior`` files of residual ``toward`` (0: the model's own start),
    within +-``limit``; ``toward`` itself where there are no labels.

    The median keeps one shot the loop could not locate well (a flash, a fade) from moving a file's vote."""
    medians = [statistics.median(x.residual for x in f) for f in files if f]
    if not medians:
        return toward
    m = (sum(medians) + prior * toward) / (len(medians) + prior)
    return round(min(max(m, -limit), limit), 3)


def source_offset(files: Iterable[tuple[str | None, Sequence[ShotLabel]]], source: str | None, *,
                  prior: float = PRIOR_FILES, limit: float = MAX_OFFSET) -> float:
    """The correction for the next file of ``source``, from earlier files given as ``(their source, labels)``:
    `offset` over the files of ``source``, but shrunk toward what the other sources taught (their own `offset`)
    rather than toward zero. A library of several series then learns each series' bias, and a series' first
    file starts where the rest of the library put the start. With one source it is `offset` exactly."""
    files = list(files)
    base = offset([f for s, f in files if s != source], prior=prior, limit=limit)
    return offset([f for s, f in files if s == source], prior=prior, limit=limit, toward=base)


def errors(files: Sequence[tuple[float, Sequence[ShotLabel]]]) -> dict:
    """How far the starts were from where the shots' aims turned out to be, over ``(offset applied, labels)``
    per file: mean absolute error of the corrected start and of the model's own, in x264 CRF."""
    shots = [(off, x) for off, f in files for x in f]
    if not shots:
        return {"shots": 0, "start_mae": None, "model_mae": None, "start_bias": None}
    n = len(shots)
    return {"shots": n,
            "start_mae": round(sum(abs(x.found - x.model - off) for off, x in shots) / n, 3),
            "model_mae": round(sum(abs(x.residual) for _, x in shots) / n, 3),
            "start_bias": round(sum(x.found - x.model - off for off, x in shots) / n, 3)}


class StartLearner:
    """The labels of the files encoded so far, for a pipeline that encodes a library one file after another::

        learner = jndenc.StartLearner()
        for src, dst in files:
            jndenc.encode(src, dst, learner=learner)  # starts at learner.offset(), then adds its shots

    ``offset()`` is `offset` over every file added; ``to_dict``/``from_dict`` keep it between runs. A library of
    several series learns each apart: ``learner.for_source("show a")`` is the same learner seen from one source
    (its ``offset()`` is `source_offset` for that source, its ``add`` records the source), so a pipeline holds
    one learner and passes ``learner=learner.for_source(series)`` to each encode.
    ``vmaf_model``: the libvmaf model its labels were measured in (None: none added yet, or kept before it was
    recorded); a label says where a shot met the target in that model, so files measured in another model would
    teach the wrong offset (NEG put the target about two CRF steps finer on the test clips), and `check_model`
    refuses them.
    """

    def __init__(self, files: Iterable[Sequence[ShotLabel]] = (), *, prior: float = PRIOR_FILES,
                 vmaf_model: str | None = None, sources: Iterable[str | None] | None = None) -> None:
        self.files: list[list[ShotLabel]] = [list(f) for f in files]
        # each file's source (None: added without one); one list per learner, whichever view added the file
        self.sources: list[str | None] = [None] * len(self.files) if sources is None else list(sources)
        if len(self.sources) != len(self.files):
            raise ValueError(f"{len(self.sources)} sources for {len(self.files)} files")
        self.vmaf_model = vmaf_model
        # a negative prior divides by zero (or flips the sign of) the correction at the first files
        if isinstance(prior, bool) or not isinstance(prior, numbers.Real) or not prior >= 0:
            raise ValueError(f"prior must be a number of pseudo-files >= 0, not {prior!r}")
        self.prior = float(prior)

    def offset(self, source: str | None = None) -> float:
        """The start's correction for the next file of ``source`` (a learner never given one: `offset`, which
        `source_offset` is where every file has the same source)."""
        return source_offset(zip(self.sources, self.files), source, prior=self.prior)

    def add(self, labels: Sequence[ShotLabel | dict], vmaf_model: str | None = None, source: str | None = None
            ) -> None:
        """One file's labels (`ShotLabel`s, or their dicts as an encode's ``"start"`` block holds them)."""
        self.check_model(vmaf_model)
        try:
            got = [x if isinstance(x, ShotLabel) else ShotLabel.from_dict(x) for x in labels]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # a dict kept as it was failed later, in offset() and to_dict(), as "no attribute 'residual'"
            raise UserError(f"labels take ShotLabels or their dicts ({{'model', 'found', 'frames'}}): {exc}") from None
        self.files.append(got)
        self.sources.append(source)
        self.vmaf_model = self.vmaf_model or vmaf_model

    def for_source(self, source: str) -> "StartLearner":
        """This learner as one source's encodes use it: offsets for ``source``, files added as ``source``'s."""
        return _SourceView(self, str(source))

    def check_model(self, vmaf_model: str | None) -> None:
        """A `UserError` where this learner's labels were measured in another libvmaf model than ``vmaf_model``."""
        if vmaf_model is not None and self.vmaf_model is not None and vmaf_model != self.vmaf_model:
            raise UserError(f"the learned starts were measured in {self.vmaf_model}, this encode measures in "
                            f"{vmaf_model}: they would start it off its target (use another learner or file)")

    def to_dict(self) -> dict:
        return {"prior": self.prior, "files": [[x.to_dict() for x in f] for f in self.files],
                **({"sources": list(self.sources)} if any(s is not None for s in self.sources) else {}),
                **({"vmaf_model": self.vmaf_model} if self.vmaf_model else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "StartLearner":
        """The learner `to_dict` kept; a `UserError` for anything else (a file of the wrong kind, a hand edit)."""
        try:
            if not isinstance(d, dict):
                raise TypeError(f"expected {{'prior': ..., 'files': [...]}}, got {type(d).__name__}")
            if "files" not in d:
                # every learner kept has its files, if none: an object without is another file (an encode's
                # --json result, a plan), which `append` would otherwise overwrite with a new learner
                raise KeyError(f"no 'files' (keys: {', '.join(sorted(map(str, d))[:5]) or 'none'})")
            if not isinstance(d["files"], list):
                raise TypeError(f"'files' must be a list of files' label lists, not {type(d['files']).__name__}")
            sources = d.get("sources")
            if sources is not None and not (isinstance(sources, list)
                                            and all(s is None or isinstance(s, str) for s in sources)):
                raise TypeError("'sources' must be a list of source names (or nulls), one per file")
            model = d.get("vmaf_model")
            if model is not None and model not in VMAF_MODELS:
                raise ValueError(f"vmaf_model {model!r} is not one of {', '.join(VMAF_MODELS)}")
            return cls(([ShotLabel.from_dict(x) for x in f] for f in d["files"]),
                       prior=d.get("prior", PRIOR_FILES), vmaf_model=model, sources=sources)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"not a StartLearner's to_dict() ({type(exc).__name__}: {exc})") from None


class _SourceView(StartLearner):
    """`StartLearner.for_source`: one learner's files and model, seen from one source."""

    def __init__(self, learner: StartLearner, source: str) -> None:  # noqa: super().__init__ not called: a view
        self.learner, self.source = learner, source

    def __getattr__(self, name: str):  # files, sources, prior, vmaf_model: the learner's own
        if "learner" not in self.__dict__:  # a copy or unpickling asks before its state is set
            raise AttributeError(name)
        return getattr(self.__dict__["learner"], name)

    def offset(self, source: str | None = None) -> float:
        return self.learner.offset(self.source if source is None else source)

    def add(self, labels: Sequence[ShotLabel], vmaf_model: str | None = None, source: str | None = None) -> None:
        self.learner.add(labels, vmaf_model, self.source if source is None else source)

    def check_model(self, vmaf_model: str | None) -> None:
        self.learner.check_model(vmaf_model)

    def for_source(self, source: str) -> StartLearner:
        return self.learner.for_source(source)

    def to_dict(self) -> dict:
        return self.learner.to_dict()


def load(path: str | os.PathLike) -> StartLearner:
    """The learner kept in ``path`` (`StartLearner.to_dict` as JSON), or a new one where there is no file yet."""
    p = Path(path)
    if not p.exists():
        return StartLearner()
    try:
        return StartLearner.from_dict(json.loads(p.read_text()))
    except UserError as exc:
        raise UserError(f"{p}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{p}: not a start-learning file ({exc})") from None


def append(path: str | os.PathLike, labels: Sequence[ShotLabel], vmaf_model: str | None = None,
           source: str | None = None) -> None:
    """Add one file's labels (measured in libvmaf ``vmaf_model``, of ``source``: `StartLearner.for_source`) to the
    learner kept in ``path``, under a lock and
    by an atomic rename, so encodes that share the file never lose each other's labels (each starts from what was
    there when it began)."""
    import fcntl

    p = Path(path)
    lock_path = p.with_name(p.name + ".lock")
    while True:
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                # removed below by the holder before us once it was done: lock the file at the path now instead
                if os.stat(lock_path).st_ino != os.fstat(lock.fileno()).st_ino:
                    continue
            except FileNotFoundError:
                continue
            try:
                learner = load(p)
                learner.add(labels, vmaf_model, source)
                write_text_atomic(p, json.dumps(learner.to_dict()))
            finally:
                # no empty lock file left beside the user's own file; a waiter on it sees it gone and retries
                lock_path.unlink(missing_ok=True)
            return
