"""A recipe: what one encode runs, as one short string, parsed in one place.

Spellings: an effort level (``fast``, ``balanced``, ``thorough``), or an expert mode (``predict``, ``probe``,
``guided``, ``search``) with an optional ``@P`` (``--confidence P``) and ``+ensure`` or ``+tighten``, e.g.
``probe@0.5+tighten``. Benchmarks and the BD-rate ladders name what they run this way; `Recipe.kwargs` gives
`jndenc.encode`'s keywords and `Recipe.cli_args` the same as `jndenc encode` options.
"""
from __future__ import annotations

from dataclasses import dataclass

from .effort import EFFORTS
from .errors import UserError
from .modes import NAMES, REGISTRY

MODES = NAMES
CORRECTIVE = ("ensure", "tighten")


@dataclass(frozen=True)
class Recipe:
    effort: str | None = None
    mode: str | None = None
    confidence: float | None = None  # None: the default of `jndenc encode`
    corrective: str | None = None  # "ensure" or "tighten"

    @classmethod
    def parse(cls, spec: str) -> "Recipe":
        if spec in EFFORTS:
            return cls(effort=spec)
        base, plus, flag = spec.partition("+")
        if plus and flag not in CORRECTIVE:
            raise UserError(f"recipe {spec!r}: the suffixes are +ensure and +tighten")
        mode, at, p = base.partition("@")
        if mode not in MODES:
            raise UserError(f"unknown recipe {spec!r}: an effort level ({', '.join(EFFORTS)}) or a mode "
                            f"({', '.join(MODES)}; MODE@P, MODE+ensure, MODE+tighten)")
        conf = None
        if at:
            try:
                conf = float(p)
            except ValueError:
                conf = -1.0
            if REGISTRY[mode].margin != "auto" or not 0 < conf < 1:  # only a calibrated margin takes a share
                raise UserError(f"recipe {spec!r}: @P is a confidence in (0, 1) for predict or probe mode")
        return cls(mode=mode, confidence=conf, corrective=flag or None)

    def kwargs(self) -> dict:
        """`jndenc.encode` keywords."""
        if self.effort:
            return {"effort": self.effort}
        out: dict = {"mode": self.mode}
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.corrective:
            out[self.corrective] = True
        return out

    def cli_args(self) -> list[str]:
        """The same as `jndenc encode` options."""
        if self.effort:
            return ["--effort", self.effort]
        out = ["--mode", self.mode]
        if self.confidence is not None:
            out += ["--confidence", f"{self.confidence:g}"]
        if self.corrective:
            out.append("--" + self.corrective)
        return out
