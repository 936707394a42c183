"""Where the shot loop's first attempts start: the model's x264 estimate per shot, moved to the target VMAF
(`start_at`), by a learned offset (`shifted`, `jndenc.learn`), then to the encoder's own CRF scale (`on_codec`).
Pure: plans in, plans out."""
from __future__ import annotations

import os
from typing import Sequence

from . import loop as L
from .media import segments as S
from .planner import CLAMPS, Plan, with_shot_crfs


LOOP_ONLY_CODECS = ("av1", "vp9")  # no per-frame zones in FFmpeg: per-shot quality needs segments


def codec_scale(codec: str, encoder: str | None = None,
                calibration: str | os.PathLike | None = None) -> tuple[float, float]:
    """(a, b) with codec CRF = a + b * x264 CRF at equal VMAF for ``codec`` run by ``encoder`` (None: the
    codec's default): from ``calibration`` (a `jndenc calibrate --codec` file) where given, else the line measured
    on training clips and shipped in jndenc/assets/codec_scales.json (keyed by codec for the default encoder, by
    encoder name for the others)."""
    import json
    from importlib import resources

    from .calibrate import load_scale, scale_key

    name = S.encoder_of(codec, encoder)
    if calibration is not None:
        return load_scale(calibration, codec, name)
    data = json.loads((resources.files("jndenc") / "assets" / "codec_scales.json").read_text())
    a, b = data["scales"][scale_key(codec, name)]["x264_to_codec"]
    return float(a), float(b)


def on_codec(plan: Plan, codec: str, encoder: str | None = None,
             calibration: str | os.PathLike | None = None) -> Plan:
    """An x264 plan moved to ``codec``'s CRF scale under ``encoder`` (start CRFs and the clamps; the scale from
    ``calibration`` where given), for the loop."""
    if codec not in LOOP_ONLY_CODECS:
        return plan
    name = S.encoder_of(codec, encoder)
    a, b = codec_scale(codec, name, calibration)
    lo, hi = S.QUALITY_RANGE[name]
    to = lambda c: float(min(max(round(a + b * c), lo), hi))  # noqa: E731 - the encoders take whole steps
    options = {**plan.options, "codec": codec, "encoder": name, "min_crf": to(min_crf(plan)),
               "max_crf": to(max_crf(plan)), "x264_to_codec": [a, b],
               "x264_to_codec_from": "shipped" if calibration is None else os.fspath(calibration)}
    return with_shot_crfs(plan, [to(s.crf) for s in plan.shots], codec=codec, options=options)


def shifted(plan: Plan, offset: float) -> Plan:
    """The plan with every shot's start moved by ``offset`` x264 CRF (a `jndenc.learn` correction), on quarter
    steps within the plan's clamps; the plan itself for no offset."""
    if not offset:
        return plan
    return with_shot_crfs(plan, [L.quantise(min(max(s.crf + offset, min_crf(plan)), max_crf(plan)))
                                 for s in plan.shots])


def start_at(plan: Plan, target: float, thresholds: Sequence[float]) -> Plan:
    """The plan with each shot's first CRF moved from its JND1 estimate to ``target`` (a VMAF other than T1, from
    ``--target-vmaf``), at the shot's first-step slope; the plan itself where the target is T1."""
    shift = float(thresholds[0]) - target
    if abs(shift) < 1e-9:
        return plan
    crfs = [s.crf + shift / L.first_slope(s.jnd, thresholds) for s in plan.shots]
    return with_shot_crfs(plan, [L.quantise(min(max(c, min_crf(plan)), max_crf(plan))) for c in crfs])


def min_crf(plan: Plan) -> float:
    return float(plan.options.get("min_crf", CLAMPS[0]))


def max_crf(plan: Plan) -> float:
    return float(plan.options.get("max_crf", CLAMPS[1]))
