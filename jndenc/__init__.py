"""jndenc: JND-guided per-shot rate control (x264, x265, SVT-AV1, VP9): every shot measured with VMAF and corrected.

The CLI (`jndenc ...`) is a thin layer over these functions.
"""
from __future__ import annotations

from .encode import encode  # eager: a lazy import would let the submodule `jndenc.encode` shadow the function
from .errors import FFmpegError, InputError, JndencError, OverSize, UserError
from .learn import StartLearner
from .options import EncodeOptions
from .planner import Plan, PlanOptions

__all__ = ["encode", "EncodeOptions", "plan", "predict", "probe", "Plan", "PlanOptions", "JndencError", "UserError",
           "InputError", "FFmpegError", "OverSize", "quality", "StartLearner"]


def __getattr__(name):
    # heavy modules load on first use, so `import jndenc` stays cheap
    if name in ("plan", "predict"):
        from . import pipeline
        return getattr(pipeline, name)
    if name == "probe":
        from .media.probe import probe
        return probe
    if name == "quality":
        from .media import quality
        return quality
    if name in ("batch", "effort", "shotloop", "loop", "estimate", "planner", "verify", "pipeline", "learn", "options"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(name)
