"""Analyse / decide split: estimates carry provenance; the planner decides; single-head models keep their level."""
from __future__ import annotations

import math

import numpy as np
import pytest

from jndenc.analyze import analyze, monotone_levels
from jndenc.errors import UserError
from jndenc.estimate import estimate
from jndenc.models import build_model
from jndenc.models.io import model_metadata, save_model
from jndenc.pipeline import plan, predict
from jndenc.planner import PlanOptions, plan_from_estimates
from jndenc.predictor import Predictor


@pytest.fixture(scope="module")
def single_head(tmp_path_factory):
    """A real MT_1LJND_VA model predicting JND3 only (its other columns are NaN)."""
    m = build_model("MT_1LJND_VA", input_shape=(32, 32))
    path = save_model(m, tmp_path_factory.mktemp("w") / "one.h5", model_metadata(m, "MT_1LJND_VA", jnd_column=2))
    return Predictor.load(path)


def test_monotone_levels_sorts_only_complete_rows():
    j = np.array([[30.0, 25.0, 35.0], [np.nan, np.nan, 20.0]])
    out = monotone_levels(j)
    assert out[0].tolist() == [25.0, 30.0, 35.0]
    assert math.isnan(out[1, 0]) and math.isnan(out[1, 1]) and out[1, 2] == 20.0


def test_single_head_level_stays_in_its_column_through_analyze(cut_clip, single_head):
    a = analyze(cut_clip, single_head)
    raw = a.sample_jnd[:, 2]
    sj = a.shot_jnd()
    assert np.all(np.isnan(sj[:, :2])) and np.all(np.isfinite(sj[:, 2]))
    assert sj[0, 2] == pytest.approx(np.median(raw[(a.sample_index >= 0) & (a.sample_index < a.shots[0][1])]))


def test_single_head_plans_its_level_and_refuses_the_others(cut_clip, single_head):
    p = plan(cut_clip, predictor=single_head, target_jnd=3, margin=0, min_crf=0, max_crf=51)
    est = estimate(cut_clip, predictor=single_head)
    assert est.levels() == (3,)
    for s, e in zip(p.shots, est.shots):
        assert s.jnd[:2] == [None, None]  # JSON-safe, not NaN
        assert s.crf == float(np.clip(math.floor(e.jnd[2] + 1e-9), 0, 51))
    with pytest.raises(UserError, match="JND1 is not available|--target-jnd 1 is not available"):
        plan(cut_clip, predictor=single_head, target_jnd=1)


def test_estimates_have_provenance_and_plan_is_pure_decision(cut_clip, single_head):
    est = estimate(cut_clip, predictor=single_head)
    assert [s.source for s in est.shots] == ["predicted"] * len(est.shots)
    assert est.ranges == est.analysis.shots and est.trial_encodes == 0
    a = plan_from_estimates(est, PlanOptions(target_jnd=3, margin=0.0))
    b = plan_from_estimates(est, PlanOptions(target_jnd=3, margin=2.0))
    assert all(x.crf - y.crf >= 2 - 1e-9 or y.crf == 12.0 for x, y in zip(a.shots, b.shots))
    assert a.mode == "predict" and a.frames == est.frames


def test_predict_reports_planner_crf(cut_clip, single_head):
    r = predict(cut_clip, predictor=single_head, plan_options=PlanOptions(target_jnd=3, margin=1, min_crf=5))
    d = r.to_dict()
    assert all("crf" in s and s["source"] == "predicted" for s in d["shots"])
    assert d["plan_options"]["target_jnd"] == 3


def test_fractional_crf_step_floors_to_the_step():
    from jndenc.planner import crf_for

    assert crf_for([27.3, 30, 33], PlanOptions(margin=0, crf_step=0.25)) == 27.25
    assert crf_for([27.3, 30, 33], PlanOptions(margin=0)) == 27.0
    with pytest.raises(UserError):
        PlanOptions(crf_step=0).validate()


def test_api_encode_stays_the_function_after_the_module_is_imported():
    import subprocess
    import sys

    code = "import jndenc, jndenc.encode, jndenc.pipeline; assert callable(jndenc.encode), jndenc.encode"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_margin_auto_follows_the_spread_and_falls_back_with_a_note(cut_clip, single_head):
    est = estimate(cut_clip, predictor=single_head)
    p = plan_from_estimates(est, PlanOptions(target_jnd=3, margin="auto", min_crf=0, max_crf=51))
    assert p.stats["margins"] == [1.0] * len(est.shots) and any("no calibrated margin" in n for n in est.notes)
    # a calibrated estimate: probe-style spread and z, or predict-style one number per confidence
    est.mode, est.notes = "probe", []
    est.stats.update(spread=[0.5, 1.0, 2.0][: len(est.shots)], margin_z={"0.9": 1.5})
    p = plan_from_estimates(est, PlanOptions(target_jnd=3, margin="auto", min_crf=0, max_crf=51))
    for s, e, m in zip(p.shots, est.shots, p.stats["margins"]):
        assert s.crf == min(51, max(0, math.ceil(e.jnd[2] - m - 1e-9)))  # a calibrated margin: the ceiling
    assert p.stats["margins"] == [0.75, 1.5, 3.0][: len(est.shots)] and not est.notes
    est.stats.update(spread=None, margin_z=None, margin_auto={"0.8": 0.4, "0.9": 1.2})
    p = plan_from_estimates(est, PlanOptions(target_jnd=3, margin="auto", confidence=0.8, min_crf=0, max_crf=51))
    assert p.stats["margins"] == [0.4] * len(est.shots)
    # between calibrated levels: interpolated; outside them: a user error, never a silent fallback
    p = plan_from_estimates(est, PlanOptions(target_jnd=3, margin="auto", confidence=0.85, min_crf=0, max_crf=51))
    assert p.stats["margins"] == [0.8] * len(est.shots)
    with pytest.raises(UserError, match="calibrated at 0.8, 0.9 only"):
        plan_from_estimates(est, PlanOptions(target_jnd=3, margin="auto", confidence=0.7))
    # measured modes take no margin and no ceiling: a measured JND of 24.5 is not rounded up to a CRF that failed
    est.mode = "guided"
    p = plan_from_estimates(est, PlanOptions(target_jnd=3, margin="auto", min_crf=0, max_crf=51))
    assert [s.crf for s in p.shots] == [min(51, max(0, math.floor(e.jnd[2] + 1e-9))) for e in est.shots]
    assert p.stats["margin_calibrated"] is False
    with pytest.raises(UserError):
        PlanOptions(margin="wide").validate()


def test_probe_margins_are_one_rule_for_the_product_and_the_benchmarks():
    from jndenc.models.probe import probe_margins

    z, m2 = {"0.7": 0.5, "0.9": 1.5}, {"0.7": -0.2, "0.9": 0.9}
    assert probe_margins([1.0, 2.0, 4.0], [False, True, False], z, m2, 0.9) == [1.5, 0.9, 6.0]
    assert probe_margins([1.0, 2.0], [False, True], z, m2, 0.8) == pytest.approx([1.0, 0.35])  # interpolated
    assert probe_margins([1.0, 2.0], [False, True], z, m2, 0.7) == [0.5, 0.0]  # never below 0
    assert probe_margins([1.0], [True], z, None, 0.9) == [1.5]  # no two-probe calibration: the spread's
    assert probe_margins([1.0], [False], z, m2, 0.95) is None  # outside the calibrated levels


def test_json_says_how_the_margin_was_set(cut_clip, single_head):
    from jndenc.planner import fixed_plan, margin_report

    est = estimate(cut_clip, predictor=single_head)
    est.stats.update(margin_auto={"0.8": 0.4, "0.9": 1.2})
    p = plan_from_estimates(est, PlanOptions(target_jnd=3, margin="auto", confidence=0.9, min_crf=0, max_crf=51))
    m = margin_report(p)
    assert m["confidence"] == 0.9 and m["per_shot"] == [1.2] * len(est.shots) and "p=0.9" in m["source"]
    assert margin_report(plan_from_estimates(est, PlanOptions(target_jnd=3, margin=2))) == {"margin": 2}
    assert margin_report(fixed_plan([(0, 10)], 23, 10, 25.0)) is None
