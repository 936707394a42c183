"""Predictor: load saved weights with metadata once, predict JND1..3 for uint8 frames."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from jndenc.errors import UserError
from jndenc.models import build_model
from jndenc.models.io import model_metadata, save_model
from jndenc.predictor import Predictor, default_weights_candidates


def _save_compact(path, hw=(36, 64)):
    m = build_model("compact", input_shape=hw)
    return save_model(m, path, model_metadata(m, "compact", label_units="CRF", encoder="libx264",
                                              thresholds=[94, 88, 82]))


def test_predictor_compact_predicts_finite_levels(tmp_path):
    path = _save_compact(tmp_path / "w.keras")
    p = Predictor.load(path)
    assert p.name == "compact" and p.input_size == (64, 36) and p.uses_motion
    assert p.metadata["encoder"] == "libx264"
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 36, 64, 3), dtype=np.uint8)
    prev = rng.integers(0, 256, (5, 36, 64, 3), dtype=np.uint8)
    out = p.predict(frames, prev, batch_size=2)
    assert out.shape == (5, 3) and out.dtype == np.float32 and np.all(np.isfinite(out))
    np.testing.assert_allclose(out, p.predict(frames, prev, batch_size=32), rtol=1e-5)
    assert np.all(np.isfinite(p.predict(frames)))  # no previous frame: zero motion
    assert p.prepare(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)).shape == (36, 64, 3)
    with pytest.raises(ValueError):
        p.predict(frames[:, :10])


def test_predictor_single_head_fills_its_column(tmp_path):
    m = build_model("MT_1LJND_VA", input_shape=(32, 32))
    path = save_model(m, tmp_path / "one.h5", model_metadata(m, "MT_1LJND_VA", jnd_column=2))
    p = Predictor.load(path)
    out = p.predict(np.zeros((2, 32, 32, 3), np.uint8))
    assert np.all(np.isnan(out[:, :2])) and np.all(np.isfinite(out[:, 2]))


def test_predictor_default_weights_and_mismatch(tmp_path, monkeypatch):
    path = _save_compact(tmp_path / "jndenc_compact.keras")
    monkeypatch.setenv("JNDENC_WEIGHTS", str(path))
    assert default_weights_candidates()[0] == path
    assert Predictor.load().weights_path == path
    with pytest.raises(UserError, match="architecture 'compact', not 'MT_3LJND'"):
        Predictor.load(path, architecture="MT_3LJND")
    with pytest.raises(UserError, match="not found"):
        Predictor.load(tmp_path / "nope.keras")
