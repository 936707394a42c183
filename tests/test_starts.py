"""Where the loop's first attempts start (`jndenc.starts`): pure plan functions, no encode."""
from __future__ import annotations

from jndenc.planner import Plan, ShotPlan, Zone
from jndenc.starts import shifted


def _plan(ranges, cuts=None) -> Plan:
    shots = [ShotPlan(a, b, [24.0, 30.0, 34.0], 24.0 + k) for k, (a, b) in enumerate(ranges)]
    stats = {} if cuts is None else {"cuts": cuts}
    return Plan(frames=ranges[-1][1], fps=25.0, codec="x264", preset="medium", mode="predict", shots=shots,
                zones=[Zone(s.start_frame, s.end_frame, s.crf) for s in shots], stats=stats)


def test_shifted_moves_every_start_within_the_clamps():
    plan = _plan([(0, 10), (10, 20)])
    plan.options.update({"min_crf": 20.0, "max_crf": 25.0})
    assert [s.crf for s in shifted(plan, 0.6).shots] == [24.5, 25.0]  # quarter steps, then the clamp
    assert [s.crf for s in shifted(plan, -10).shots] == [20.0, 20.0]
    assert shifted(plan, 0.0) is plan


def test_each_encoder_has_its_own_scale_and_range():
    from jndenc.media import segments as S
    from jndenc.starts import codec_scale, on_codec

    plan = _plan([(0, 10), (10, 20)])
    plan.options.update({"min_crf": 12.0, "max_crf": 40.0})
    for encoder in S.ENCODER_CHOICES["av1"]:
        a, b = codec_scale("av1", encoder)
        moved = on_codec(plan, "av1", encoder)
        lo, hi = S.QUALITY_RANGE[encoder]
        assert moved.options["encoder"] == encoder and moved.codec == "av1"
        assert [s.crf for s in moved.shots] == [float(min(max(round(a + b * s.crf), lo), hi)) for s in plan.shots]
    assert codec_scale("av1") == codec_scale("av1", "libsvtav1")
    assert codec_scale("av1", "librav1e")[1] > 2 * codec_scale("av1")[1]  # a quantizer index, not a CRF
