import json

import numpy as np
import pytest

from jndenc.errors import UserError
from jndenc.planner import Plan, PlanOptions, crf_for, fixed_plan, frame_zones, make_plan, with_crf

SHOTS = [(0, 50), (50, 100), (100, 150)]
JND = [[30.0, 35.0, 40.0], [20.4, 26.0, 31.0], [44.0, 48.0, 50.0]]


def test_target_level_and_margin():
    assert crf_for([30, 35, 40], PlanOptions(target_jnd=1, margin=1)) == 29
    assert crf_for([30, 35, 40], PlanOptions(target_jnd=2, margin=0)) == 35
    assert crf_for([30, 35, 40], PlanOptions(target_jnd=3, margin=2.5)) == 37
    # fractional predictions floor toward better quality
    assert crf_for([20.9, 26, 31], PlanOptions(margin=0)) == 20


def test_calibrated_margin_takes_the_integer_ceiling():
    # a calibrated margin says "the integer JND label is >= jnd - margin with probability p", so the
    # ceiling of jnd - margin keeps that probability; flooring it would spend one CRF more for nothing
    auto = PlanOptions(margin="auto")
    assert crf_for([27.3, 30, 33], auto, 2.0, calibrated=True) == 26  # ceil(25.3)
    assert crf_for([27.3, 30, 33], PlanOptions(margin=2.0)) == 25  # a fixed margin still floors
    assert crf_for([27.0, 30, 33], auto, 2.0, calibrated=True) == 25  # already an integer
    assert crf_for([27.3, 30, 33], PlanOptions(margin="auto", crf_step=0.5), 2.0, calibrated=True) == 26
    assert crf_for([13.2, 30, 33], auto, 3.0, calibrated=True) == 12  # clamps still apply
    # a measured JND (guided/search with margin auto: margin 0, not a calibrated statement) is floored
    assert crf_for([24.5, 30, 33], auto, 0.0) == 24


def test_clamps():
    p = make_plan(SHOTS, JND, 150, 25.0, PlanOptions(min_crf=22, max_crf=35))
    assert [s.crf for s in p.shots] == [29, 22, 35]


def test_x265_offsets_applied():
    x264 = make_plan(SHOTS, JND, 150, 25.0, PlanOptions())
    x265 = make_plan(SHOTS, JND, 150, 25.0, PlanOptions(codec="x265", x265_offsets=((10, 2.0), (40, 6.0))))
    # offset interpolated at the x264 CRF: 29 -> 29 + 2 + 4*(19/30)
    assert x265.shots[0].crf == np.floor(29 + 2 + 4 * 19 / 30)
    assert all(b.crf > a.crf for a, b in zip(x264.shots[:2], x265.shots[:2]))
    kw = x265.ffmpeg_output_kwargs()
    assert kw["c:v"] == "libx265" and "b=" in kw["x265-params"]


def test_zones_string_and_kwargs():
    p = make_plan(SHOTS, JND, 150, 25.0)
    assert p.zones_string() == "0,49,crf=29/50,99,crf=19/100,149,crf=40"
    kw = p.ffmpeg_output_kwargs()
    assert kw["x264-params"] == "zones=" + p.zones_string()
    assert kw["force_key_frames"] == "0.000000,1.990000,3.990000"
    assert p.keyframes == [0, 50, 100]


def test_x265_zone_factor_moves_by_crf_difference():
    p = make_plan([(0, 10), (10, 20)], [[30, 31, 32], [18, 19, 20]], 20, 25.0, PlanOptions(codec="x265", x265_offsets=((0, 0),)))
    base = p.base_crf
    for part, z in zip(p.zones_string().split("/"), p.zones):
        b = float(part.split("b=")[1])
        assert base - 6 * np.log2(b) == pytest.approx(z.crf, abs=0.01)


def test_json_round_trip():
    p = make_plan(SHOTS, JND, 150, 25.0, PlanOptions(codec="x265", preset="fast"), input="a.mp4", model="m")
    q = Plan.from_dict(json.loads(json.dumps(p.to_dict())))
    assert q == p


def test_fixed_plan_and_with_crf():
    p = fixed_plan(SHOTS, 23, 150, 25.0)
    assert {s.crf for s in p.shots} == {23} and p.mode == "crf"
    q = with_crf(make_plan(SHOTS, JND, 150, 25.0), 18)
    assert {z.crf for z in q.zones} == {18}


def test_frame_granularity_zones_are_smoothed_and_bounded():
    frames = 100
    fj = np.zeros((frames, 3))
    fj[:, 0] = np.linspace(20, 40, frames)  # a ramp inside one shot
    fj[:, 1] = fj[:, 0] + 5
    fj[:, 2] = fj[:, 0] + 10
    opts = PlanOptions(granularity="frame", margin=0, min_zone_seconds=0.4)
    zones = frame_zones([(0, 60), (60, 100)], fj, 25.0, opts)
    assert zones[0].start_frame == 0 and zones[-1].end_frame == 100
    assert any(z.start_frame == 60 for z in zones)  # never spans a cut
    assert all(z.end_frame - z.start_frame >= 10 for z in zones)
    assert len(zones) > 2
    crfs = [z.crf for z in zones if z.end_frame <= 60]
    assert crfs == sorted(crfs)  # the ramp survives smoothing


@pytest.mark.parametrize("edit,msg", [
    (lambda d: d["shots"][0].update(crf=-3), "CRF"),
    (lambda d: d["zones"][0].update(crf=-3), "CRF"),
    (lambda d: d["shots"][1].update(start_frame=40), "overlap"),
    (lambda d: d["shots"][1].update(start_frame=60), "gap"),
    (lambda d: d.update(frames=200), "end at frame"),
    (lambda d: d.update(codec="vp9"), "codec"),
    (lambda d: d["shots"][0].pop("crf"), "malformed"),
])
def test_invalid_edited_plans_refused(edit, msg):
    d = make_plan(SHOTS, JND, 150, 25.0).to_dict()
    edit(d)
    with pytest.raises(UserError, match=msg):
        Plan.from_dict(d)


def test_options_validated():
    with pytest.raises(UserError):
        make_plan(SHOTS, JND, 150, 25.0, PlanOptions(min_crf=30, max_crf=20))
    with pytest.raises(UserError):
        make_plan(SHOTS, JND, 150, 25.0, PlanOptions(preset="warp"))


def test_default_x265_table_is_the_recorded_calibration():
    from pathlib import Path

    from jndenc.pipeline import load_calibration
    from jndenc.planner import DEFAULT_X265_OFFSETS

    recorded = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration_x265.json"
    assert load_calibration(recorded) == DEFAULT_X265_OFFSETS
