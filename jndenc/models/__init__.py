"""The MTJND model family: paper-exact VGG16 models and the compact CPU model.

`ARCHITECTURES` holds the facts other modules need about each model (input
size, channels, colour order, motion input, heads); `build_model(name)` builds
a fresh, untrained model (no download, no global state).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class ArchInfo:
    name: str
    input_hw: tuple[int, int]  # (height, width)
    channels: int
    colour_order: str
    uses_motion: bool
    jnd_heads: tuple[str, ...]
    has_va: bool
    uses_geometry: bool = False  # a second input with the source frame size (see compact.geometry_input)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (*self.input_hw, self.channels)


_JND3 = ("JND1_output", "JND2_output", "JND3_output")

ARCHITECTURES: dict[str, ArchInfo] = {
    "MT_3LJND": ArchInfo("MT_3LJND", (270, 480), 3, "bgr", False, _JND3, False),
    "MT_1LJND_VA": ArchInfo("MT_1LJND_VA", (270, 480), 3, "bgr", False, ("JND_output",), True),
    "MT_3LJND_VA": ArchInfo("MT_3LJND_VA", (270, 480), 3, "bgr", False, _JND3, True),
    "compact": ArchInfo("compact", (144, 256), 6, "bgr", True, _JND3, False, uses_geometry=True),
}


def arch_info(name: str) -> ArchInfo:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}; choose one of {', '.join(ARCHITECTURES)}") from None


def frames_shape(model) -> tuple[int, ...]:
    """(H, W, C) of the model's image input (the first input; compact also takes ``geometry``)."""
    return tuple(int(d) for d in model.inputs[0].shape[1:])


def build_model(name: str, input_shape: tuple[int, int, int] | None = None, **kw):
    """Build architecture `name`; `input_shape` (H, W, C) overrides the default size."""
    info = arch_info(name)
    shape = tuple(input_shape) if input_shape is not None else info.input_shape
    if len(shape) == 2:
        shape = (*shape, info.channels)
    if shape[2] != info.channels:
        raise UserError(f"{name} takes {info.channels} input channels, not {shape[2]}")
    if name == "compact":
        from .compact import compact

        return compact(input_shape=shape, **kw)
    from . import mtjnd

    return getattr(mtjnd, name)(input_shape=shape, **kw)


def __getattr__(attr: str):
    # builders importable as jndenc.models.MT_3LJND without importing TF up front;
    # the compact builder is jndenc.models.compact.compact (the name is the submodule's)
    if attr in ("MT_3LJND", "MT_1LJND_VA", "MT_3LJND_VA"):
        from . import mtjnd

        return getattr(mtjnd, attr)
    raise AttributeError(attr)
