"""benchmarks/confidence.py: the trial-window lookup it rests on, and what its committed JSON claims."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import confidence  # noqa: E402

TRIALS = [(20.0, 4000.0, 97.0), (22.0, 2000.0, 95.0), (26.0, 1000.0, 91.0)]


def test_lookup_interpolates_log_bytes_and_vmaf_between_tried_crfs():
    b, v = confidence.at_crf(TRIALS, 21.0)
    assert b == pytest.approx(np.sqrt(4000 * 2000)) and v == pytest.approx(96.0)
    assert confidence.at_crf(TRIALS, 22.0) == pytest.approx((2000.0, 95.0))
    b, v = confidence.at_crf(TRIALS, 30.0)  # extrapolated along the last two points
    assert b == pytest.approx(500.0) and v == pytest.approx(87.0)
    assert confidence.at_crf(TRIALS, 10.0)[1] == 100.0  # VMAF is capped


def test_simulate_counts_shots_planned_above_their_label_as_visible():
    shots = [{"clip": "a~scale50.mkv", "start_frame": 0, "label": [22.0, 27.0, 30.0]},
             {"clip": "a.mp4", "start_frame": 0, "label": [24.0, 28.0, 31.0]}]
    trials = {("a~scale50.mkv", 0): TRIALS, ("a.mp4", 0): TRIALS}
    r = confidence.simulate(shots, trials, np.array([23.0, 23.0]))
    assert r["visible_share"] == 0.5 and r["saving_mean_per_clip"] == 0.0  # both shots are parent "a"
    assert confidence.parent("a~scale50.mkv") == "a"


def test_committed_simulation_is_consistent():
    path = ROOT / "weights" / "confidence_cv5.json"
    if not path.is_file():
        pytest.skip("weights/confidence_cv5.json not committed")
    d = json.loads(path.read_text())
    assert d["oracle"]["visible_share"] == 0.0 and d["fixed_crf"]["saving_mean_per_clip"] == 0.0
    for mode in ("predict", "probe"):
        vis = [d["levels"][p][mode]["visible_share"] for p in sorted(d["levels"], key=float)]
        crf = [d["levels"][p][mode]["mean_crf"] for p in sorted(d["levels"], key=float)]
        assert vis == sorted(vis, reverse=True) and crf == sorted(crf, reverse=True)  # more confidence, fewer visible
        # the calibrated share holds within the shortfall the card states (at most 5 points)
        assert d["levels"]["0.9"][mode]["visible_share"] <= 0.15
