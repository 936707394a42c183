"""Where the loop's first attempts start (`jndenc.starts`): pure plan functions, no encode."""
from __future__ import annotations

from jndenc.planner import Plan, ShotPlan, Zone
from jndenc.starts import first_pieces, shifted


def _plan(ranges, cuts=None) -> Plan:
    shots = [ShotPlan(a, b, [24.0, 30.0, 34.0], 24.0 + k) for k, (a, b) in enumerate(ranges)]
    stats = {} if cuts is None else {"cuts": cuts}
    return Plan(frames=ranges[-1][1], fps=25.0, codec="x264", preset="medium", mode="predict", shots=shots,
                zones=[Zone(s.start_frame, s.end_frame, s.crf) for s in shots], stats=stats)


def test_first_pieces_cut_the_head_of_each_long_enough_shot_only():
    # shots at 0 and 100 (cuts); 100-250 already cut in two pieces at --max-shot-seconds (a piece at 175)
    plan = _plan([(0, 100), (100, 175), (175, 250), (250, 280)], cuts=[100, 250])  # the detector's: not frame 0
    out = first_pieces(plan, 30)
    assert [(s.start_frame, s.end_frame) for s in out.shots] == [(0, 30), (30, 100), (100, 130), (130, 175),
                                                                 (175, 250), (250, 280)]
    assert [s.crf for s in out.shots] == [24.0, 24.0, 25.0, 25.0, 26.0, 27.0]  # each piece keeps its shot's start
    assert out.stats["cuts"] == [100, 250]  # the rest of a shot is known as the same shot
    assert [(z.start_frame, z.crf) for z in out.zones] == [(s.start_frame, s.crf) for s in out.shots]
    assert first_pieces(plan, 0) is plan and first_pieces(plan, 60) is plan  # none long enough: unchanged


def test_shifted_moves_every_start_within_the_clamps():
    plan = _plan([(0, 10), (10, 20)])
    plan.options.update({"min_crf": 20.0, "max_crf": 25.0})
    assert [s.crf for s in shifted(plan, 0.6).shots] == [24.5, 25.0]  # quarter steps, then the clamp
    assert [s.crf for s in shifted(plan, -10).shots] == [20.0, 20.0]
    assert shifted(plan, 0.0) is plan
