"""The closed loop's decisions (`jndenc.loop`): pure functions, no FFmpeg."""
from __future__ import annotations

import math

import pytest

from jndenc.loop import Attempt, Band, first_slope, joined_pieces, kept, next_crf, outcome, quantise

BAND = Band.around(94.0)


def curve(jnd: float, steep: float = 0.12):
    """A VMAF-vs-CRF curve shaped like the label searches': flat near 100, steeper as CRF grows; 94 at ``jnd``."""
    k = math.log(6.0) - steep * jnd

    def v(crf: float) -> float:
        return 100.0 - math.exp(k + steep * crf)
    return v


def run_loop(v, start: float, budget: int, band: Band = BAND, slope: float = 0.75):
    attempts = []
    crf = start
    while crf is not None and len(attempts) < budget:
        attempts.append(Attempt(crf, v(crf), int(1e6 * math.exp(-0.11 * crf))))
        crf = next_crf(attempts, band, slope=slope, min_crf=0, max_crf=51)
    return attempts


def test_band_edges_and_aim():
    b = Band.around(94.0)
    assert (b.low, b.high, b.aim) == (pytest.approx(93.7), pytest.approx(95.0), pytest.approx(94.3))
    assert b.contains(93.7) and b.contains(95.0) and not b.contains(93.69) and not b.contains(95.01)
    g = Band.around(94.0, below=0.1, above=0.2)
    assert g.low == pytest.approx(93.9) and g.high == pytest.approx(94.4)  # at least 0.5 wide
    assert b.just_above_low(93.7, 0.3) and b.just_above_low(94.0, 0.3)
    assert not b.just_above_low(94.01, 0.3) and not b.just_above_low(93.69, 0.3)  # under the edge: toward quality


def test_in_band_needs_no_more_attempts():
    assert next_crf([Attempt(24, 94.2, 100)], BAND, slope=0.75, min_crf=10, max_crf=40) is None


def test_first_step_follows_the_slope_both_ways():
    # 3 points above the aim at 0.75 a step would be 4 steps on a straight line; the curve flattens toward 100,
    # so the step on the headroom scale is longer; 3 points below at 1.5 a step would be 2, and is shorter
    up = next_crf([Attempt(20, 97.3, 100)], BAND, slope=0.75, min_crf=10, max_crf=40)
    assert 24.0 < up <= 26.0
    down = next_crf([Attempt(30, 91.3, 100)], BAND, slope=1.5, min_crf=10, max_crf=40)
    assert 28.0 < down < 30.0
    assert next_crf([Attempt(30, 99.9, 100)], BAND, slope=0.1, min_crf=10, max_crf=60) == 38.0  # capped move


def test_clamps_end_the_loop():
    assert next_crf([Attempt(40, 99.0, 10)], BAND, slope=0.75, min_crf=10, max_crf=40) is None
    assert next_crf([Attempt(10, 80.0, 10)], BAND, slope=0.75, min_crf=10, max_crf=40) is None


def test_bracket_interpolates_and_stops_when_a_step_apart():
    c = next_crf([Attempt(20, 96.3, 300), Attempt(28, 92.3, 100)], BAND, slope=0.75, min_crf=10, max_crf=40)
    assert c == 24.0  # half way in VMAF: the chord of a concave curve errs toward quality
    assert next_crf([Attempt(24, 95.2, 300), Attempt(24.25, 93.6, 280)], BAND, slope=0.75,
                    min_crf=10, max_crf=40) is None


def test_never_retries_a_crf():
    attempts = [Attempt(22, 97.0, 300), Attempt(26, 95.5, 200)]
    c = next_crf(attempts, BAND, slope=0.75, min_crf=10, max_crf=40)
    assert c not in (22, 26) and c > 26


@pytest.mark.parametrize("jnd", [14.0, 19.5, 23.0, 27.25, 33.0])
@pytest.mark.parametrize("offset", [-8.0, -3.0, 0.0, 3.0, 8.0])
def test_converges_into_the_band_from_a_bad_start(jnd, offset):
    v = curve(jnd)
    attempts = run_loop(v, start=quantise(jnd + offset), budget=5)
    k = kept(attempts, BAND)
    assert BAND.contains(attempts[k].vmaf), [(a.crf, round(a.vmaf, 2)) for a in attempts]
    assert len({a.crf for a in attempts}) == len(attempts)


def test_kept_is_the_cheapest_in_band_else_above_else_best():
    a = [Attempt(20, 96.0, 300), Attempt(23, 94.8, 200), Attempt(24, 93.9, 180)]
    assert kept(a, BAND) == 2
    above = [Attempt(20, 97.0, 300), Attempt(22, 96.0, 250), Attempt(30, 90.0, 100)]
    assert kept(above, BAND) == 1
    below = [Attempt(30, 90.0, 100), Attempt(26, 92.5, 150)]
    assert kept(below, BAND) == 1
    assert outcome(below, BAND, 1, 40) == "below"
    assert outcome([Attempt(40, 99.0, 10)], BAND, 0, 40) == "clamped"


def test_first_slope_from_the_level_spacing():
    assert first_slope([24, 28, 31], (94, 88, 82), scale=0.5) == pytest.approx(0.75)
    assert first_slope(None, (94, 88, 82)) == pytest.approx(0.75)
    assert first_slope([24, 24.2, 25], (94, 88, 82)) == pytest.approx(0.75)  # no usable spacing
    assert first_slope([24, 60, 70], (94, 88, 82)) == pytest.approx(0.4)  # clamped



def test_pieces_of_one_long_shot_stay_within_a_step():
    crfs = [20.0, 24.0, 21.5, 30.0, 26.0]
    continues = [False, True, True, False, True]  # shot A = pieces 0-2, shot B = pieces 3-4
    assert joined_pieces(crfs, continues) == {1: 21.0, 2: 21.0, 3: 27.0}
    assert joined_pieces([20.0, 30.0], [False, False]) == {}  # two shots: a cut may jump


def test_a_flat_curve_steps_on_from_the_furthest_attempt():
    """Two readings alike at different CRFs (static frames): the next step goes beyond both, not between them."""
    for later in (97.06, 97.061):  # equal, or a hair higher at the higher CRF (a static shot measured on real clips)
        att = [Attempt(20.0, 97.06, 100), Attempt(26.25, later, 90)]
        nxt = next_crf(att, BAND, slope=0.75, min_crf=12, max_crf=40)
        assert nxt is not None and nxt > 27.0
    low = [Attempt(30.0, 90.0, 100), Attempt(26.0, 90.0, 120)]
    nxt = next_crf(low, BAND, slope=0.75, min_crf=12, max_crf=40)
    assert nxt is not None and nxt < 26.0


@pytest.mark.parametrize("scale", [2.7, 5.0])
def test_limits_are_x264_steps_on_any_encoder_scale(scale):
    """An encoder whose scale spreads one x264 step over ``scale`` of its own (AV1, rav1e's quantizer index)
    takes the same moves, stretched: the longest move and the measured-rate limits are x264 steps."""
    x264 = curve(23.0)
    stretched = lambda q: x264(q / scale)  # noqa: E731 - the same curve on the encoder's scale
    for start in (10.0, 16.0, 30.0):  # far above (a capped move), above, below
        a = [Attempt(start, x264(start), 1)]
        b = [Attempt(start * scale, stretched(start * scale), 1)]
        want = next_crf(a, BAND, slope=0.75, min_crf=0, max_crf=51, step=0.01)
        got = next_crf(b, BAND, slope=0.75 / scale, min_crf=0, max_crf=51 * scale, step=0.01, scale=scale)
        assert got == pytest.approx(want * scale, abs=0.01 * scale)  # both quantised to 0.01


def test_a_step_up_from_far_above_assumes_a_steeper_curve():
    """`steeper_up`: from a reading far above the aim the step is shorter (a steep curve is the likelier cause);
    from near the band, and going down, it is the model's slope as before."""
    from jndenc.loop import RISE_MAX, rise

    far, near, low = [Attempt(24, 98.8, 1)], [Attempt(24, 95.4, 1)], [Attempt(24, 91.0, 1)]
    step = lambda a, up: next_crf(a, BAND, slope=0.75, min_crf=10, max_crf=40, steeper_up=up) - 24  # noqa: E731
    assert 0 < step(far, True) < step(far, False) / 2
    assert step(near, True) == step(near, False) and step(low, True) == step(low, False)
    assert rise(95.4, BAND) == 1.0 and rise(99.9, BAND) == RISE_MAX and 1.0 < rise(97.0, BAND) < RISE_MAX


def test_floored_never_rounds_past_a_limit():
    from jndenc.loop import floored

    assert floored(32.71, 1.0) == 32.0 and floored(24.0, 1.0) == 24.0 and floored(24.6, 0.25) == 24.5
    assert floored(25.0 - 1e-12, 0.25) == 25.0  # float noise below a step is not a step down


def test_a_secant_step_is_limited_to_a_multiple_of_its_span(monkeypatch):
    """Two readings close together above the band extrapolate far (the curve's flat top; a training shot read
    96.48 and 95.80 three steps apart, the secant went 5.25 further and read 93.52, under the band); the move
    from the furthest attempt is at most `SECANT_GROWTH` times their distance."""
    import jndenc.loop as L

    seq = [Attempt(21.0, 96.48, 100), Attempt(24.0, 95.80, 90)]
    capped = next_crf(seq, BAND, slope=0.75, min_crf=10, max_crf=40)
    monkeypatch.setattr(L, "SECANT_GROWTH", None)
    free = next_crf(seq, BAND, slope=0.75, min_crf=10, max_crf=40)
    assert L.SECANT_GROWTH is None and free - 24.0 > 4.5
    assert capped == 24.0 + 1.5 * 3.0


def test_one_more_attempt_only_where_the_budget_missed_the_band_on_both_sides():
    """A test clip's shot read 99.1, 97.6, then 87.3 (a flat top, then a cliff): at a budget of 3 it kept 97.6.
    One more attempt, interpolated between the last two, lands in the band; nowhere else does the budget grow."""
    from jndenc.loop import allowed

    cliff = [Attempt(24.0, 99.105, 300), Attempt(27.75, 97.583, 200), Attempt(31.5, 87.322, 100)]
    assert allowed(cliff[:2], BAND, 3) == 3
    assert allowed(cliff, BAND, 3) == 4
    c = next_crf(cliff, BAND, slope=0.75, min_crf=10, max_crf=40)
    assert 27.75 < c < 31.5
    one_side = [Attempt(24.0, 99.1, 300), Attempt(26.0, 98.0, 250), Attempt(28.0, 96.5, 200)]
    assert allowed(one_side, BAND, 3) == 3
    hit = cliff[:2] + [Attempt(29.0, 94.2, 150)]
    assert allowed(hit, BAND, 3) == 3
    assert allowed(cliff + [Attempt(29.5, 92.0, 140)], BAND, 3) == 4  # one more, not one more each time
