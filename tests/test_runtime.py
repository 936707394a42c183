"""The light runtime (issue 15): shipped weights predict through LiteRT, without TensorFlow, as Keras does."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jndenc.media.decode import iter_frames
from jndenc.predictor import Predictor, default_weights_path
from jndenc.runtime import find_light, light_path, read_light_metadata, sha256_file

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def _real_batch(clip: Path, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    frames = [f.image for f in iter_frames(clip, size=size)][:24]
    return np.stack(frames[1:]), np.stack(frames[:-1])


def test_shipped_weights_ship_a_matching_converted_file():
    keras_path = default_weights_path()
    assert keras_path is not None and keras_path.parent == WEIGHTS
    lite, why = find_light(keras_path)
    assert lite == WEIGHTS / "jndenc_compact.tflite", why
    meta = read_light_metadata(lite)
    keras_meta = json.loads((WEIGHTS / "jndenc_compact.keras.json").read_text())
    assert meta["source_sha256"] == sha256_file(keras_path) and meta["sha256"] == sha256_file(lite)
    for k in ("architecture", "input_shape", "label_units", "thresholds", "encoder", "outputs", "data_digest"):
        assert meta[k] == keras_meta[k], k


def test_light_runtime_matches_tensorflow_on_real_frames(cut_clip):
    lite = Predictor.load(runtime="auto")
    tf = Predictor.load(runtime="tensorflow")
    assert lite.runtime == "litert" and lite.notes == [] and tf.runtime == "tensorflow"
    frames, prev = _real_batch(cut_clip, lite.input_size)
    for size in ((160, 120), (1920, 1080)):  # the geometry input at two source sizes
        a = lite.predict(frames, prev, source_size=size)
        b = tf.predict(frames, prev, source_size=size)
        assert np.all(np.isfinite(a))
        assert np.max(np.abs(a - b)) <= 0.01
    np.testing.assert_allclose(lite.predict(frames[:1]), tf.predict(frames[:1]), atol=0.01)  # no motion input


def test_api_predict_does_not_import_tensorflow(cut_clip):
    code = ("import sys, json, jndenc; p = jndenc.predict(sys.argv[1]); "
            "print(json.dumps({'tf': 'tensorflow' in sys.modules, 'keras': 'keras' in sys.modules, "
            "'shots': len(p.jnd)}))")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("JNDENC_RUNTIME", "JNDENC_WEIGHTS")}
    r = subprocess.run([sys.executable, "-c", code, str(cut_clip)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert d == {"tf": False, "keras": False, "shots": 3}
    assert r.stderr == ""  # no native INFO lines from the interpreter


def test_keras_without_converted_file_falls_back_then_export_fixes_it(tmp_path):
    from click.testing import CliRunner

    from jndenc.cli import main

    src = WEIGHTS / "jndenc_compact.keras"
    w = tmp_path / "mine.keras"
    shutil.copy(src, w)
    shutil.copy(str(src) + ".json", str(w) + ".json")
    p = Predictor.load(w)
    assert p.runtime == "tensorflow"
    assert len(p.notes) == 1 and "TensorFlow" in p.notes[0] and f"jndenc export {w}" in p.notes[0]

    r = CliRunner().invoke(main, ["export", str(w), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output.strip().splitlines()[-1])
    assert d["output"] == str(light_path(w)) == str(tmp_path / "mine.tflite")
    assert d["source_sha256"] == sha256_file(w) and d["parity_max_abs"] <= 0.01
    assert Predictor.load(w).runtime == "litert"

    # a conversion of other weights (hash no longer matches) is not used
    side = Path(str(light_path(w)) + ".json")
    meta = json.loads(side.read_text())
    side.write_text(json.dumps({**meta, "source_sha256": "0" * 64}))
    stale = Predictor.load(w)
    assert stale.runtime == "tensorflow" and "hash mismatch" in stale.notes[0]
    with pytest.raises(Exception, match="hash mismatch"):
        Predictor.load(w, runtime="litert")


def test_one_rule_chooses_the_runtime_for_every_model(tmp_path, monkeypatch):
    from jndenc.errors import UserError
    from jndenc.runtime import choose

    shipped = WEIGHTS / "jndenc_probe.keras"
    monkeypatch.delenv("JNDENC_RUNTIME", raising=False)
    lite, why = choose(shipped)
    assert lite == shipped.with_suffix(".tflite") and why == ""
    assert choose(shipped, "tensorflow") == (None, "")
    monkeypatch.setenv("JNDENC_RUNTIME", "tensorflow")
    assert choose(shipped) == (None, "")  # the environment speaks when the caller does not
    lone = tmp_path / "lone.keras"
    shutil.copy(shipped, lone)  # no converted file beside it
    lite, why = choose(lone, "auto")
    assert lite is None and "no converted model" in why
    with pytest.raises(UserError, match="cannot use the light runtime"):
        choose(lone, "litert")
    with pytest.raises(UserError, match="unknown runtime"):
        choose(lone, "onnx")
