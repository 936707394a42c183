"""The weights in weights/ (issue 5): they load, predict sane values, and are documented."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
CARD = WEIGHTS / "MODEL_CARD.md"


def test_shipped_weights_predict_finite_crf_range(cut_clip):
    from jndenc.pipeline import predict
    from jndenc.predictor import default_weights_path

    path = default_weights_path()
    assert path is not None and path.parent == WEIGHTS
    meta = json.loads(Path(str(path) + ".json").read_text())
    assert meta["architecture"] == "compact" and meta["label_units"] == "CRF"
    p = predict(cut_clip)
    assert p.jnd.shape == (3, 3)
    assert np.isfinite(p.jnd).all() and (p.jnd >= 0).all() and (p.jnd <= 51).all()
    assert (np.diff(p.jnd, axis=1) >= 0).all()


def test_model_card_names_reproduce_command_and_measurements():
    text = CARD.read_text()
    for needle in ("jndenc dataset build", "jndenc train", "benchmarks/model_card.py", "MAE", "mean predictor", "SI/TI"):
        assert needle in text, needle
    assert re.search(r"\d+\.\d+ ms", text)  # the measured prediction cost


def test_predict_mode_is_the_default(cut_clip, tmp_path):
    out = tmp_path / "o.mp4"
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(cut_clip), str(out), "--preset", "ultrafast",
                        "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["mode"] == "predict" and d["model"] == "compact"
    assert all(s["jnd"] is not None and 0 <= s["crf"] <= 51 for s in d["shots"])


def test_recorded_evaluations_back_the_cards_claim():
    """The card says the model beats both baselines at every level: the recorded results must say so too."""
    text = CARD.read_text()
    for name in ("model_card_cv5.json", "model_card_test.json"):
        res = json.loads((WEIGHTS / name).read_text())
        mae = res["mae"]
        for level in range(3):
            assert mae["model"][level] < mae["mean_predictor"][level], (name, level)
            assert mae["model"][level] < mae["siti_regression"][level], (name, level)
        assert f"{np.mean(mae['model']):.2f}" in text  # the card quotes the measured number
