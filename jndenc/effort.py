"""Effort levels: the recipes users pick from with ``--effort`` (``--mode`` is the expert's spelling).

- ``fast``: one pass at the estimate of probe mode (`--mode probe`): the frame model, moved by one or two 1 s
  x264-medium probe encodes per shot and their VMAF, at ``--confidence 0.7``; the output itself is not measured.
- ``balanced`` (the default): each shot encoded as its own segment from the model's median estimate,
  measured (on x264 VMAF of every 3rd frame in shots of 48 frames or more, of every frame where that reads just
  above the band's lower edge; every frame on other encoders), and re-encoded where it missed the band, at most
  three attempts (a fourth where three missed it on both sides, `jndenc.loop.allowed`; `jndenc.shotloop`).
- ``thorough``: the same loop measuring every frame, with a narrower band above the target and five attempts.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError
from .loop_options import LoopOptions

DEFAULT_EFFORT = "balanced"


@dataclass(frozen=True)
class Effort:
    name: str
    # the --confidence of the estimate the plan (or the loop's first attempt) starts from
    confidence: float
    loop: LoopOptions | None  # None: one pass, the output not measured
    mode: str | None = None  # the one-pass path's estimate (`jndenc.modes`); None: the loop's own start


# fast plans at probe mode's estimate: in the cross-validation's simulation (weights/confidence_cv5.json, 334
# training/validation shots, weights/MODEL_CARD.md "What --confidence buys") the frame model alone needed
# --confidence 0.95 to keep 95% of shots at VMAF 93 or above (the floor for fast), spending 24% more
# bytes than CRF 23 where the oracle saves 12%; probe mode keeps 96.4% there at 0.7 and saves what the oracle
# saves (101% of its bytes); 0.6 keeps 95.5%, too close to the floor for clips unlike the training ones
FAST_MODE, FAST_CONFIDENCE = "probe", 0.7
# where probes cannot serve (frames too small for libvmaf, a frame model of the user's), fast falls back to the
# frame model alone at the level whose margin keeps about nine shots in ten at or above their JND1 (fast's
# setting before the probes)
UNMEASURED_CONFIDENCE = 0.9


# The loop starts from the model's median (confidence 0.5): it measures every shot, so a safety margin would
# only push the first attempt further from the target
EFFORTS = {
    "fast": Effort("fast", FAST_CONFIDENCE, None, mode=FAST_MODE),
    "balanced": Effort("balanced", 0.5, LoopOptions(budget=3, subsample=3)),
    "thorough": Effort("thorough", 0.5, LoopOptions(budget=5, above=0.5)),
}


def effort(name: str) -> Effort:
    try:
        return EFFORTS[name]
    except KeyError:
        raise UserError(f"effort must be one of {', '.join(EFFORTS)}, not {name!r}") from None


def measures(options: dict) -> bool:
    """Whether `jndenc.encode` with these keyword arguments runs the measured loop (so it takes a start offset
    and returns labels, `jndenc.learn`)."""
    from .options import EncodeOptions

    try:
        o = EncodeOptions.from_kwargs(**options)
        e = chosen(o.work.effort, o.expert.chosen())
    except (UserError, TypeError):
        return False
    return e is not None and e.loop is not None


def chosen(name: str | None, expert: list[str]) -> Effort | None:
    """The effort level `jndenc.encode` runs: the one asked for, or the default one where no expert option
    (``expert``: a mode, a fixed CRF, a saved plan, --ensure/--tighten, frame granularity; see
    `jndenc.options.Expert.chosen`) chose a path of its own."""
    if name is None:
        return None if expert else effort(DEFAULT_EFFORT)
    if expert:
        raise UserError(f"--effort {name} cannot be combined with --{expert[0].split('/')[0]}: "
                        "choose an effort level or an expert mode")
    return effort(name)
