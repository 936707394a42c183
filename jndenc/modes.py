"""The expert modes (`--mode`), each described once: what it measures, its defaults, what it needs.

Every place that used to spell out the mode list or a per-mode default (the planner's margin, guided's trial
window, `--tighten`'s confidence, whether an encode verifies by default, whether a batch worker loads the model,
the CLI's choices and help) reads it from here. The effort levels users pick from are `jndenc.effort`'s; they
are recipes over these modes and the shot loop.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError


@dataclass(frozen=True)
class Mode:
    name: str
    help: str
    margin: float | str  # default --margin: "auto" (calibrated to --confidence), or CRF steps
    measures: bool  # its plan comes from trial encodes, so `encode` verifies the output by default
    model: bool  # estimates start from the frame model (guided only without a prior)
    trial_seconds: float = 0.0  # trial window over long shots (0: the whole shot, or no trials)
    # --confidence --tighten plans at where none is given (the whole correction replayed per training shot from
    # the mode's out-of-fold estimates, benchmarks/tighten_sim.py: no shot below the tolerance at any level, and
    # the fewest bytes at these; predict's many misses at 0.5-0.6 are lowered past their target)
    tighten_confidence: float | None = None
    probes: bool = False  # its estimate reads VMAF of probe encodes (so frames libvmaf cannot score rule it out)

    def needs_model(self, prior=None) -> bool:
        """Whether its estimates start from the frame model (guided starts from ``prior`` instead where given)."""
        return self.model and not (self.name == "guided" and prior is not None)


REGISTRY: dict[str, Mode] = {m.name: m for m in (
    Mode("predict", "the JND model, no trial encode", "auto", measures=False, model=True, tighten_confidence=0.7),
    Mode("probe", "the model plus one or two 1 s medium-preset probe encodes per shot at its estimate", "auto",
         measures=False, model=True, tighten_confidence=0.5, probes=True),
    # guided measures the target itself, so no margin; its trials cover the middle 4 s of long shots
    Mode("guided", "the model's JND plus 2-3 measured trial encodes per shot", 0.0, measures=True, model=True,
         trial_seconds=4.0),
    Mode("search", "bisection by trial encodes (slow, exact for the proxy)", 1.0, measures=True, model=False),
)}
NAMES = tuple(REGISTRY)
HELP = "; ".join(f"{m.name}: {m.help}" for m in REGISTRY.values()) + "."
TIGHTEN_CONFIDENCE = {m.name: m.tighten_confidence for m in REGISTRY.values() if m.tighten_confidence is not None}


def mode(name: str) -> Mode:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserError(f"mode must be one of {', '.join(NAMES)}, not {name!r}") from None
