"""MTJND model family: builders, layer names, weights I/O and metadata checks."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py
import numpy as np
import pytest

from jndenc.errors import UserError
from jndenc.models import ARCHITECTURES, build_model
from jndenc.models.attention import spectral_residual_saliency
from jndenc.models import frames_shape
from jndenc.models.compact import COMPACT_INPUT_SHAPE, compact_input, geometry_input
from jndenc.models.io import load_weights_into, model_metadata, read_metadata, save_model, sidecar_path

JND3 = ["JND1_output", "JND2_output", "JND3_output"]


def _outputs(model, x):
    if len(model.inputs) == 2:  # compact: frames + geometry (source size)
        x = (x, np.tile(geometry_input(1280, 720), (len(x), 1)))
    out = model(x, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def test_full_size_vgg_models_build_with_paper_names_and_shapes():
    import keras

    m = build_model("MT_3LJND")
    assert m.input_shape == (None, 270, 480, 3)
    assert list(m.output_names) == JND3
    assert [tuple(o.shape) for o in m.outputs] == [(None, 1)] * 3
    assert m.get_layer("block5_pool").output.shape[1:] == (8, 15, 512)
    assert m.get_layer("flatten").output.shape[1] == 61440
    assert all(not layer.trainable for layer in m.layers[:10]) and m.layers[10].trainable
    assert m.count_params() == 62_000_451
    del m
    keras.backend.clear_session()

    m = build_model("MT_1LJND_VA")
    assert list(m.output_names) == ["JND_output", "VA_output"]
    assert tuple(m.get_layer("VA_output").output.shape) == (None, 64, 120, 1)
    del m
    keras.backend.clear_session()

    m = build_model("MT_3LJND_VA")
    assert list(m.output_names) == JND3 + ["VA_output"]
    del m
    keras.backend.clear_session()


def test_compact_model_is_small_named_and_monotone():
    m = build_model("compact")
    assert frames_shape(m) == COMPACT_INPUT_SHAPE == (144, 256, 6)
    assert [i.name for i in m.inputs] == ["frames", "geometry"]
    assert list(m.output_names) == JND3
    assert 50_000 <= m.count_params() <= 300_000
    assert ARCHITECTURES["compact"].uses_motion and ARCHITECTURES["compact"].colour_order == "bgr"
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (4, 144, 256, 3), dtype=np.uint8)
    j1, j2, j3 = _outputs(m, compact_input(frames, frames[::-1]))
    assert np.all(j1 <= j2) and np.all(j2 <= j3)
    assert np.all(np.abs(j1 - 30) < 15)  # the fixed output offset puts an untrained model mid-range
    assert geometry_input(1920, 1080)[0] > geometry_input(176, 144)[0]


def test_compact_input_channels_match_tf_pipeline():
    from jndenc.training.data import model_input_tf

    rng = np.random.default_rng(1)
    cur = rng.integers(0, 256, (2, 8, 12, 3), dtype=np.uint8)
    prev = rng.integers(0, 256, (2, 8, 12, 3), dtype=np.uint8)
    x = compact_input(cur, prev)
    assert x.shape == (2, 8, 12, 6)
    np.testing.assert_allclose(x[..., :3], cur / 255.0, atol=1e-6)
    np.testing.assert_allclose(x[..., 3:], (cur.astype(float) - prev) / 255.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model_input_tf(cur, prev, True)), x, atol=1e-6)
    assert np.all(compact_input(cur)[..., 3:] == 0)


def test_h5_round_trip_by_layer_name(tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    a = build_model("MT_3LJND", input_shape=(32, 64))
    path = save_model(a, tmp_path / "MT_3LJND.h5", model_metadata(a, "MT_3LJND"))
    with h5py.File(path) as f:  # the authors' legacy layout: layer_names + one group per layer
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs["layer_names"]]
    assert {"block1_conv1", "block5_conv3", "JND1_output", "JND3_output"} <= set(names)
    keras.utils.set_random_seed(2)
    b = build_model("MT_3LJND", input_shape=(32, 64))
    x = np.random.default_rng(0).random((2, 32, 64, 3), dtype=np.float32)
    assert not np.allclose(_outputs(a, x)[0], _outputs(b, x)[0]) or not np.allclose(
        a.get_layer("JND1_output").get_weights()[0], b.get_layer("JND1_output").get_weights()[0])
    meta = load_weights_into(b, path)
    assert meta["architecture"] == "MT_3LJND"
    for oa, ob in zip(_outputs(a, x), _outputs(b, x)):
        np.testing.assert_array_equal(oa, ob)
    # a file without a sidecar (as the authors publish) loads as well
    sidecar_path(path).unlink()
    c = build_model("MT_3LJND", input_shape=(32, 64))
    assert load_weights_into(c, path) is None
    np.testing.assert_array_equal(_outputs(a, x)[2], _outputs(c, x)[2])


def test_keras_round_trip_and_metadata_mismatch_refused(tmp_path):
    a = build_model("compact", input_shape=(36, 64, 6))
    path = save_model(a, tmp_path / "c.keras", model_metadata(a, "compact", label_units="CRF", encoder="x264"))
    meta = read_metadata(path)
    assert meta["architecture"] == "compact" and meta["input_shape"] == [36, 64, 6] and meta["label_units"] == "CRF"
    b = build_model("compact", input_shape=(36, 64, 6))
    load_weights_into(b, path)
    x = np.random.default_rng(0).random((3, 36, 64, 6), dtype=np.float32)
    for oa, ob in zip(_outputs(a, x), _outputs(b, x)):
        np.testing.assert_allclose(oa, ob, rtol=1e-6)
    with pytest.raises(UserError, match="input shape"):
        load_weights_into(build_model("compact", input_shape=(72, 128, 6)), path)
    h5 = save_model(a, tmp_path / "c.h5", model_metadata(a, "compact"))
    with pytest.raises(UserError, match="architecture 'compact', not 'MT_3LJND'"):
        load_weights_into(build_model("MT_3LJND", input_shape=(36, 64)), h5)


def test_imagenet_backbone_needs_cached_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(UserError, match="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        build_model("MT_3LJND", input_shape=(32, 32), backbone_weights="imagenet")


def test_unknown_model_is_a_user_error():
    with pytest.raises(UserError, match="unknown model"):
        build_model("resnet")


def test_spectral_residual_saliency_marks_the_odd_region():
    img = np.full((90, 160, 3), 120, np.uint8)
    img[30:50, 100:130] = 250
    sal = spectral_residual_saliency(img, (45, 80))
    assert sal.shape == (45, 80) and sal.dtype == np.float32
    assert 0.0 <= sal.min() and sal.max() <= 1.0
    assert sal[15:25, 50:65].mean() > 2 * sal[:, :30].mean()


def test_wide_heads_fit_in_closed_form_and_cnn_correction_is_bounded():
    import keras

    from jndenc.models.compact import DEEP_LIMIT, WIDE_HEADS, compact, fit_wide_heads

    model = compact(input_shape=(32, 48, 6))
    rng = np.random.default_rng(0)
    x = rng.random((40, 32, 48, 6)).astype(np.float32)
    geo = rng.uniform(-1, 1, (40, 1)).astype(np.float32)
    feats = np.asarray(keras.Model(model.inputs, model.get_layer("wide_features").output)([x, geo]))
    # labels that are an exact function of the wide features: the fit must reproduce them
    j1 = 24 + 3 * feats[:, -1] + 2 * feats[:, 1]
    labels = np.stack([j1, j1 + 4 + feats[:, 2], j1 + 7 + feats[:, 2] + feats[:, 0]], axis=1)
    res = fit_wide_heads(model, feats, labels, ridge=0.0)
    assert max(res["train_mae"]) < 0.05
    out = np.concatenate([np.asarray(o) for o in model([x, geo])], axis=1)
    np.testing.assert_allclose(out, labels, atol=0.1)  # the CNN term starts at exactly zero
    assert all(not model.get_layer(n).trainable for n in WIDE_HEADS)
    # whatever the CNN learns, it moves JND1 by at most DEEP_LIMIT steps
    deep = model.get_layer("JND1_deep")
    deep.set_weights([np.full_like(deep.get_weights()[0], 100.0)])
    moved = np.asarray(model([x, geo])[0])[:, 0] - labels[:, 0]
    assert np.abs(moved).max() <= DEEP_LIMIT + 0.1
