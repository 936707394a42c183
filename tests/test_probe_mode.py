"""Probe mode (issue 14): the cheap probe's FFmpeg arguments and scores, the probe model, estimate(src, "probe")."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from jndenc.media.ffargs import select_expr
from jndenc.media.probe_encode import (SHIPPED_PROBE, ProbeOptions, group_windows, keyframe_expr, probe_args,
                                       probe_quality_graph, run_probe, seek_args, shot_windows)
from jndenc.media.ffargs import trial_window

from conftest import ffmpeg, make_cut_clip


# ---- pure argument builders

def test_shot_windows_are_the_labels_trial_windows():
    shots = [(0, 30), (30, 130), (130, 400)]
    got = shot_windows(shots, 25.0, 2.0)
    assert got[0] == (0, 30)  # shorter than the window: the whole shot
    for (a, b), w in zip(shots[1:], got[1:]):
        t = trial_window(b - a, 2.0, 25.0)
        assert w == (a + t[0], a + t[1]) and w[1] - w[0] == 50


def test_encode_args_select_windows_and_key_each_one():
    args = probe_args("in.mp4", "out.mkv", "v.json", [(5, 55), (80, 130)], opts=ProbeOptions(preset="superfast", crf=28))
    enc = args[:args.index("-dec") - 2]  # the encoder's half of the one run (the loopback decoder's threads after)
    assert args[args.index("-dec") - 2:args.index("-dec")] == ["-threads", "1"]
    chain = enc[enc.index("-filter_complex") + 1]
    assert "between(n,5,54)+between(n,80,129)" in chain and "trim=end_frame=130" in chain
    assert "setpts=N" in chain  # constant QP: windows renumbered back to back
    assert enc[enc.index("-preset") + 1] == "superfast" and enc[enc.index("-qp") + 1] == "28"
    assert enc[enc.index("-force_key_frames") + 1] == "expr:eq(n,0)+eq(n,50)"
    assert enc[enc.index("-frames:v") + 1] == "100" and enc[-1] == "out.mkv"
    crf = probe_args("in.mp4", "o.mkv", "v.json", [(0, 5)], opts=ProbeOptions(crf=30, rate_control="crf"), crf=31)
    enc = crf[:crf.index("-dec") - 2]
    assert enc[enc.index("-crf") + 1] == "31" and "-qp" not in enc
    assert "setpts=N" not in enc[enc.index("-filter_complex") + 1]  # CRF keeps the source's timing
    assert select_expr([(0, 1)]) == "between(n,0,0)" and keyframe_expr([3]) == "expr:eq(n,0)"
    seek = seek_args(100, 25.0)
    assert seek == ["-ss", "3.980000"] and seek_args(0, 25.0) == []
    # both decoders on the probe's threads, not FFmpeg's one per core
    assert probe_args("in.mp4", "o.mkv", "v.json", [(0, 5)], seek=seek, threads=2)[:5] == [
        "-ss", "3.980000", "-threads", "2", "-i"]


def test_one_run_encodes_and_scores_with_a_loopback_decoder():
    args = probe_args("in.mp4", "o.mkv", "v.json", [(5, 55)], subsample=4, seek=["-ss", "1.0"])
    assert args[:6] == ["-ss", "1.0", "-threads", "1", "-i", "in.mp4"] and args.count("-i") == 1  # opened once
    assert args[args.index("-dec") + 1] == "0:0" and "o.mkv" in args
    graphs = [args[i + 1] for i, a in enumerate(args) if a == "-filter_complex"]
    assert len(graphs) == 2 and graphs[0].endswith("[enc]") and graphs[1].startswith("[dec:0]")
    assert graphs[0].startswith("[0:V:0]") and "[0:V:0]" in graphs[1] and "[1:V:0]" not in graphs[1]
    assert "n_subsample=4" in graphs[1] and "between(n,5,54)" in graphs[1]
    assert "filter_units=remove_types=6" in args  # no settings SEI in the first window's bits


def test_quality_graph_subsamples_and_selects_the_reference():
    g = probe_quality_graph("/tmp/v.json", [(10, 20)], subsample=4, threads=2)
    assert "n_subsample=4" in g and "n_threads=2" in g and "between(n,10,19)" in g
    assert g.index("[1:V]") < g.index("between")  # the selection is on the reference (input 1)


def test_group_windows_splits_at_long_gaps():
    assert group_windows([(0, 10), (12, 20), (200, 210), (215, 220)], 50) == [[0, 1], [2, 3]]
    assert group_windows([(100, 110), (0, 10)], 50) == [[1], [0]]


# ---- real probes

@pytest.fixture(scope="module")
def probe_clip(tmp_path_factory) -> Path:
    """Three 2 s shots of different content, 25 fps, 320x240 (no audio)."""
    return make_cut_clip(tmp_path_factory.mktemp("probe") / "cuts.mp4", size="320x240", seconds=(2, 2, 2),
                         audio=False)


def test_probe_scores_each_shot_and_falls_with_crf(probe_clip):
    shots = [(0, 50), (50, 100), (100, 150)]
    windows = shot_windows(shots, 25.0, 1.0)  # the middle second of each shot
    lo, _ = run_probe(probe_clip, windows, (320, 240), ProbeOptions(crf=18))
    hi, _ = run_probe(probe_clip, windows, (320, 240), ProbeOptions(crf=40))
    for a, b in zip(lo, hi):
        assert 0 <= b["vmaf"] < a["vmaf"] <= 100 and b["bpp"] < a["bpp"]
        assert a["scored"] == 25 // 4 - 1 and np.isfinite(a["psnr"])  # 24 frames at 1 in 4, the first left out
    # the noisy third shot costs far more bits than the clean test pattern at the same CRF
    assert lo[2]["bpp"] > 2 * lo[0]["bpp"]


def test_seeking_runs_measure_the_same_frames(probe_clip):
    """Windows probed in one run or in separate seeking runs score the same (constant QP: no state carried)."""
    windows = [(10, 30), (120, 140)]
    plain, _ = run_probe(probe_clip, windows, (320, 240))
    seek, _ = run_probe(probe_clip, windows, (320, 240), fps=25.0, max_gap_seconds=1.0)  # two seeking runs
    for a, b in zip(plain, seek):
        assert a["vmaf"] == pytest.approx(b["vmaf"], abs=0.05) and a["bpp"] == pytest.approx(b["bpp"], rel=0.02)


# ---- the probe model

def _toy_model(tmp_path: Path) -> Path:
    """A probe model fitted on synthetic shots where JND1 follows the probe VMAF; saved with its sidecar."""
    from jndenc.models.io import save_model
    from jndenc.models.probe import PROBE_FEATURES, probe_model, probe_vector
    from jndenc.training.probe_fit import fit_probe_model, set_heads

    rng = np.random.default_rng(0)
    n = 120
    vmaf = rng.uniform(60, 99, n)
    y1 = np.round(12 + 0.25 * vmaf + rng.normal(0, 0.7, n))
    y = np.c_[y1, y1 + 4, y1 + 7]
    frame = np.c_[y1 + rng.normal(0, 3, n), y1 + 4, y1 + 7]
    pv = np.stack([probe_vector({"vmaf": v, "psnr": 30 + v / 5, "ssim": 0.9 + v / 1000, "bpp": 0.05, "crf": 30}, (640, 360))
                   for v in vmaf])
    heads, info = fit_probe_model(frame, pv, y, [f"g{i % 30}" for i in range(n)], levels=(0.9,))
    m = probe_model()
    set_heads(m, heads)
    path = tmp_path / "probe.keras"
    save_model(m, path, {"architecture": "probe", "probe": {"preset": "ultrafast", "crf": 30.0, "subsample": 4,
                                                            "window_seconds": 2.0},
                                  "probe_features": list(PROBE_FEATURES), **info})
    return path


def test_probe_model_keras_matches_the_fit_and_keeps_levels_monotone(tmp_path):
    from jndenc.models.probe import ProbeModel, probe_vector

    pm = ProbeModel.load(_toy_model(tmp_path), runtime="tensorflow")
    assert pm.metadata["inner_cv_mae_jnd1"] < 1.5  # the synthetic probe explains JND1
    f = np.array([[25, 29, 32], [30, 34, 37]], float)
    p = np.stack([probe_vector({"vmaf": 70, "psnr": 44, "ssim": 0.97, "bpp": 0.05, "crf": 30}, (640, 360)),
                  probe_vector({"vmaf": 95, "psnr": 49, "ssim": 0.995, "bpp": 0.05, "crf": 30}, (640, 360))])
    jnd, spread = pm.predict(f, p)
    assert jnd.shape == (2, 3) and (np.diff(jnd, axis=1) >= 0).all() and (spread > 0).all()
    assert jnd[1, 0] - jnd[0, 0] == pytest.approx(0.25 * 25, abs=1.5)  # follows the probe, not the frame guess
    assert pm.margin(spread, 0.9).shape == (2,)


def test_calibrated_z_covers_the_share_it_was_fitted_for():
    from jndenc.training.probe_fit import calibrate_z

    rng = np.random.default_rng(1)
    y = rng.normal(25, 3, 2000)
    pred = y + rng.normal(0, 1.5, 2000)
    z = calibrate_z(y, pred, np.full(2000, 1.5), (0.8, 0.95))
    for p, key in ((0.8, "0.8"), (0.95, "0.95")):
        assert np.mean(y >= pred - z[key] * 1.5) >= p
    assert z["0.95"] == pytest.approx(1.645, abs=0.15)


def test_estimate_probe_mode_within_budget(probe_clip, tmp_path):
    """estimate(src, "probe"): one probe per shot, JND from the probe model, in less time than one medium encode."""
    from jndenc.estimate import estimate
    from jndenc.media.ffargs import encode_args
    from jndenc.media.runner import run_ffmpeg
    from jndenc.models.probe import ProbeModel

    pm = ProbeModel.load(_toy_model(tmp_path), runtime="tensorflow")
    est = estimate(probe_clip, "probe", probe_model=pm)
    assert est.mode == "probe" and len(est.shots) == 3 and all(s.source == "probe" for s in est.shots)
    j = est.jnd()
    assert np.isfinite(j).all() and (np.diff(j, axis=1) >= 0).all() and (j[:, 0] > 10).all() and (j[:, 0] < 51).all()
    assert len(est.stats["probe"]) == 3 and all(0 < p["vmaf"] <= 100 for p in est.stats["probe"])
    assert len(est.stats["spread"]) == 3 and est.stats["margin_z"] == pm.margin_z
    t0 = time.perf_counter()
    run_ffmpeg(encode_args(probe_clip, tmp_path / "m.mp4", encoder="libx264", preset="medium", crf=23),
               what="medium encode")
    medium = time.perf_counter() - t0
    # the budget is 20% at 720p (benchmarks/probe_cost.py); here a loose bound that a regression
    # such as probing every frame or decoding the clip per shot would break
    assert est.stats["probe_seconds"] < 1.5 * medium + 1.0


def _journal(ds: Path, clip: Path) -> Path:
    """A dataset folder whose label journal lists the three 2 s shots of ``clip``."""
    (ds / "_work").mkdir(parents=True)
    recs = [{"clip": clip.name, "clip_sha256": "x", "start_frame": a, "end_frame": a + 50, "jnd": [24, 28, 31],
             "fps": 25.0, "width": 320, "height": 240} for a in (0, 50, 100)]
    (ds / "_work" / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return ds


def test_probe_features_cache_is_reused(probe_clip, tmp_path):
    """The dataset feature script probes each journalled shot once; a rerun with the same settings probes none."""
    from jndenc.training.probe_features import probe_dataset

    ds = _journal(tmp_path / "ds", probe_clip)
    data = probe_dataset(ds, [probe_clip.parent], [ProbeOptions(crf=30)], echo=lambda m: None)
    key = ProbeOptions(crf=30).key()
    assert len(data["shots"]) == 3 and all(key in v for v in data["shots"].values())
    before = (ds / "probe_features.json").stat().st_mtime_ns
    probe_dataset(ds, [probe_clip.parent], [ProbeOptions(crf=30)], echo=lambda m: None)
    assert (ds / "probe_features.json").stat().st_mtime_ns == before


def test_probe_model_exports_to_the_light_runtime(tmp_path):
    """`jndenc export` converts a probe model too; the light runtime then runs it and agrees with Keras."""
    from jndenc.models.export import export
    from jndenc.models.probe import ProbeModel, probe_vector
    from jndenc.runtime import available

    if not available()[0]:
        pytest.skip(available()[1])
    path = _toy_model(tmp_path)
    lite = export(path)
    assert lite.is_file() and json.loads(Path(str(lite) + ".json").read_text())["architecture"] == "probe"
    f = np.array([[22, 27, 30], [31, 35, 38]], float)
    p = np.stack([probe_vector({"vmaf": 75, "psnr": 40, "ssim": 0.96, "bpp": 0.1, "crf": 30}, (640, 360)),
                  probe_vector({"vmaf": 98, "psnr": 50, "ssim": 0.99, "bpp": 0.02, "crf": 30}, (640, 360))])
    light, keras_ = ProbeModel.load(path), ProbeModel.load(path, runtime="tensorflow")
    assert light.runtime == "litert" and keras_.runtime == "tensorflow"
    for a, b in zip(light.predict(f, p), keras_.predict(f, p)):
        np.testing.assert_allclose(a, b, atol=0.01)


def test_saturated_probes_are_capped_at_the_frame_estimate():
    from jndenc.models.probe import SATURATED_VMAF, cap_saturated

    probe_est = np.array([[38.0, 40.0, 44.0], [30.0, 34.0, 37.0], [20.0, 25.0, 28.0]])
    frame_est = np.array([[24.0, 29.0, 33.0], [24.0, 29.0, 33.0], [24.0, 29.0, 33.0]])
    vmaf = np.array([SATURATED_VMAF + 1, SATURATED_VMAF - 1, 99.9])
    out = cap_saturated(probe_est, frame_est, vmaf)
    assert out[0].tolist() == [24.0, 29.0, 33.0]  # saturated: the lower of the two, level by level
    assert out[1].tolist() == [30.0, 34.0, 37.0]  # the probe registered: its own estimate
    assert out[2].tolist() == [20.0, 25.0, 28.0]  # saturated but already below the frame estimate
    assert probe_est[0, 0] == 38.0  # the input is not modified


# ---- centred probes (one CRF per shot, at the frame model's estimate)

def test_centred_crfs_round_and_stay_in_the_label_range():
    from jndenc.media.probe_encode import CENTRED_CRF_RANGE, centred_crfs

    assert centred_crfs([23.4, 23.6, 2.0, 60.0]) == [23, 24, CENTRED_CRF_RANGE[0], CENTRED_CRF_RANGE[1]]
    opts = ProbeOptions(preset="medium", rate_control="crf", subsample=1, window_seconds=1.0, centred=True)
    assert opts.key() == "x264-medium-crf@frame-sub1-win1"
    with pytest.raises(ValueError):
        from jndenc.media.probe_encode import probe_shots
        probe_shots("in.mp4", [(0, 10)], fps=25.0, size=(64, 64), opts=opts)  # no CRFs: refused before FFmpeg


def test_parse_config_reads_centred_settings():
    from jndenc.training.probe_features import parse_config

    c = parse_config("medium:crf@frame/sub1/win1")
    assert (c.preset, c.rate_control, c.centred, c.subsample, c.window_seconds) == ("medium", "crf", True, 1, 1.0)
    assert parse_config("ultrafast:34").key() == ProbeOptions().key()
    with pytest.raises(ValueError):
        parse_config("medium:crf@frame/fast")


@pytest.fixture(scope="module")
def clip30(tmp_path_factory) -> Path:
    """Two 2 s shots at 30 fps: a CRF probe must see the source's frame rate, not the 25 fps a renumbering gives."""
    return make_cut_clip(tmp_path_factory.mktemp("probe30") / "cuts30.mp4", size="320x240", rate=30, seconds=(2, 2, 1),
                         audio=False)


def test_a_crf_probe_measures_what_a_trial_encode_of_its_window_does(clip30, tmp_path):
    """The centred probe and the labels' trial encode (jndenc.search) agree on one window at one CRF."""
    from jndenc.search import SearchOptions, extract_windows, measure_trial

    window = (75, 105)  # the middle second of the second shot
    opts = ProbeOptions(preset="ultrafast", rate_control="crf", subsample=1, window_seconds=1.0, centred=True)
    (q,), _ = run_probe(clip30, [window], (320, 240), opts, fps=30.0, crfs=[30])
    (ref,) = extract_windows(clip30, [window], tmp_path)
    t = measure_trial(ref, 30, SearchOptions(preset="ultrafast"), tmp_path / "t.mkv", threads=1)
    assert q["crf"] == 30 and q["scored"] == 30  # every frame scored, the first included, as the trial does
    assert q["vmaf"] == pytest.approx(t.score, abs=0.05)


def test_crf_probes_take_one_crf_per_window(clip30):
    opts = ProbeOptions(preset="ultrafast", rate_control="crf", subsample=1, centred=True)
    windows = [(15, 45), (75, 105)]
    lo, _ = run_probe(clip30, windows, (320, 240), opts, fps=30.0, crfs=[18, 40])
    hi, _ = run_probe(clip30, windows, (320, 240), opts, fps=30.0, crfs=[40, 18])
    assert [q["crf"] for q in lo] == [18, 40] and [q["crf"] for q in hi] == [40, 18]
    assert lo[0]["vmaf"] > hi[0]["vmaf"] and lo[1]["vmaf"] < hi[1]["vmaf"]  # each window at its own CRF
    # a window's score does not depend on the other window's CRF (each runs alone)
    same, _ = run_probe(clip30, windows, (320, 240), opts, fps=30.0, crfs=[18, 18])
    assert same[0]["vmaf"] == pytest.approx(lo[0]["vmaf"], abs=1e-6)


def test_probe_runs_at_once_score_what_they_score_one_by_one(clip30):
    # each window is its own FFmpeg run: run side by side (one thread each) or in turn (all threads), the
    # scores are the same and each lands on its own window
    opts = ProbeOptions(preset="medium", rate_control="crf", subsample=1, centred=True)
    windows = [(75, 105), (15, 45), (125, 150)]
    alone, _ = run_probe(clip30, windows, (320, 240), opts, fps=30.0, crfs=[20, 30, 40], jobs=1, threads=2)
    together, _ = run_probe(clip30, windows, (320, 240), opts, fps=30.0, crfs=[20, 30, 40], jobs=3, threads=1)
    assert [q["crf"] for q in together] == [20, 30, 40]
    for a, b in zip(alone, together):
        assert b["vmaf"] == pytest.approx(a["vmaf"], abs=0.01) and b["bpp"] == pytest.approx(a["bpp"], rel=0.01)
    assert len({round(q["vmaf"], 3) for q in together}) == 3


def test_older_probe_weights_get_the_features_they_were_fitted_on():
    from jndenc.models.probe import PROBE_FEATURES, ProbeModel, probe_vector

    old = ProbeModel(None, {"architecture": "probe"}, None, "tensorflow")
    scores = {"vmaf": 90.0, "psnr": 40.0, "bpp": 0.1, "crf": 27}
    assert old.features == list(PROBE_FEATURES[:5]) and len(old.vector(scores, (640, 360))) == 5
    assert probe_vector(scores, (640, 360))[PROBE_FEATURES.index("probe_crf")] == 27


def test_centred_dataset_probes_encode_each_shot_at_its_centre(probe_clip, tmp_path):
    """Dataset probes of a centred setting run each shot at its own estimate, on the source, like inference."""
    from jndenc.training.probe_features import probe_dataset
    from jndenc.training.shots import shot_key

    ds = _journal(tmp_path / "ds", probe_clip)
    opts = ProbeOptions(preset="ultrafast", rate_control="crf", subsample=1, window_seconds=1.0, centred=True)
    with pytest.raises(ValueError):
        probe_dataset(ds, [probe_clip.parent], [opts], echo=lambda m: None)  # no centres given
    centre = {shot_key(probe_clip.name, 0, 50): 21.6, shot_key(probe_clip.name, 50, 100): 33.2}  # third: none
    data = probe_dataset(ds, [probe_clip.parent], [opts], centre=centre, echo=lambda m: None)
    got = {k: v[opts.key()] for k, v in data["shots"].items() if opts.key() in v}
    assert set(got) == set(centre) and got[shot_key(probe_clip.name, 0, 50)]["crf"] == 22
    assert got[shot_key(probe_clip.name, 50, 100)]["crf"] == 33
    # the same probe at inference (estimate's path: the source, seeking) scores the same
    w = got[shot_key(probe_clip.name, 50, 100)]["window"]
    assert w == [62, 87] and got[shot_key(probe_clip.name, 50, 100)]["scored"] == 25
    (q,), _ = run_probe(probe_clip, [tuple(w)], (320, 240), opts, fps=25.0, crfs=[33])
    assert q["vmaf"] == pytest.approx(got[shot_key(probe_clip.name, 50, 100)]["vmaf"], abs=0.01)


def test_the_jnd1_head_shrinks_towards_the_rule_prior():
    """A centred model's JND1 head is a correction to CRF + (VMAF - 94): strong ridges keep the rule, weak ones fit."""
    from jndenc.models.probe import HEADS, PROBE_FEATURES
    from jndenc.training.probe_fit import fit_levels, rule_prior

    coef, bias = rule_prior()
    assert bias == -94.0 and coef.sum() == 2.0 and coef[3 + PROBE_FEATURES.index("probe_crf")] == 1.0
    rng = np.random.default_rng(1)
    n = 200
    x = np.c_[rng.uniform(18, 34, (n, 3)), rng.uniform(85, 99, n), rng.normal(size=(n, 4)), rng.integers(18, 34, n)]
    y1 = x[:, -1] + 0.8 * (x[:, 3] - 94) + rng.normal(0, 0.3, n)  # the truth: a slope of 0.8, not 1
    y = np.c_[y1, y1 + 4, y1 + 7]
    strong = fit_levels(x, y, 1e6, (coef, bias))
    np.testing.assert_allclose(strong.coef[HEADS[0]], coef, atol=1e-3)  # only the intercept moved
    weak = fit_levels(x, y, 1e-6, (coef, bias))
    plain = fit_levels(x, y, 1e-6)
    np.testing.assert_allclose(weak.coef[HEADS[0]], plain.coef[HEADS[0]], atol=1e-3)  # the data decide
    assert abs(weak.coef[HEADS[0]][3] - 0.8) < 0.05


# ---- the second probe

def test_two_probes_give_the_crossing_of_their_line():
    from jndenc.models.probe import REFINE_SLOPE, refine_jnd1, second_probe_crfs

    assert refine_jnd1(30, 98.0, 34, 90.0) == pytest.approx(32.0)  # 2 points a step: 94 crossed at 32
    assert refine_jnd1(34, 90.0, 30, 98.0) == pytest.approx(32.0)  # order does not matter
    assert refine_jnd1(24, 95.0, 28, 85.0) == pytest.approx(24 + 1 / 2.5)  # drawn from the nearer point
    # a flat or inverted pair (noise) cannot throw the estimate further than the slope range allows
    assert refine_jnd1(24, 97.0, 28, 97.5) == pytest.approx(24 + 3 / REFINE_SLOPE[0])
    assert refine_jnd1(24, 99.0, 25, 80.0) == pytest.approx(24 + 5 / REFINE_SLOPE[1])
    with pytest.raises(ValueError):
        refine_jnd1(24, 95.0, 24, 93.0)
    # a second probe only where the first read far from 94 and the estimate moved to another CRF
    assert second_probe_crfs([30, 24, 26, 22], [98.1, 95.0, 90.0, 90.0], [34.2, 27.0, 26.4, 18.6]) == [34, None, None, 19]


def test_probe_mode_probes_far_shots_twice_and_gives_them_their_own_margin(probe_clip):
    """With the shipped weights: every shot whose first probe read far from 94 was probed again at the model's
    estimate, its JND1 is the two-probe crossing, and its margin is the two-probe one."""
    from jndenc.estimate import estimate
    from jndenc.models.probe import ProbeModel, refine_jnd1, second_probe_crfs

    pm = ProbeModel.load()
    if not pm.refine:
        pytest.skip("the shipped probe weights have no second-probe settings")
    est = estimate(probe_clip, "probe")
    probes = est.stats["probe"]
    frame = np.array(est.stats["frame_jnd"])
    vec = np.stack([pm.vector(p, (320, 240)) for p in probes])
    model_jnd1 = pm.predict(frame, vec)[0][:, 0]
    want = second_probe_crfs([p["crf"] for p in probes], [p["vmaf"] for p in probes], model_jnd1,
                             pm.refine["vmaf_distance"])
    assert [p["second"]["crf"] if "second" in p else None for p in probes] == want
    assert any(c is not None for c in want)  # this clip's synthetic shots are far from the training content
    margins, source, calibrated = est.auto_margins(0.9)
    for i, (p, s) in enumerate(zip(probes, est.shots)):
        if "second" in p:
            j1 = refine_jnd1(p["crf"], p["vmaf"], p["second"]["crf"], p["second"]["vmaf"],
                             slope=tuple(pm.refine["slope_range"]))
            assert s.jnd[0] == pytest.approx(j1, abs=1e-6)
            assert margins[i] == pytest.approx(pm.refine["margin"]["0.9"])
        else:
            assert s.jnd[0] == pytest.approx(model_jnd1[i], abs=1e-3)
    assert calibrated


def test_effort_fast_is_one_pass_at_probe_modes_estimate(probe_clip, tmp_path):
    """--effort fast: the shots' CRFs are probe mode's plan at fast's confidence (the same estimate, the same
    margin), encoded in one pass; the probes are reported, the output is not measured."""
    import jndenc
    from jndenc.effort import FAST_CONFIDENCE, FAST_MODE

    r = jndenc.encode(probe_clip, tmp_path / "f.mp4", effort="fast", threads=1)
    d = r.to_dict()
    assert d["effort"] == "fast" and d["mode"] == FAST_MODE == "probe" and r.quality is None
    assert d["margin"]["confidence"] == FAST_CONFIDENCE
    plan = jndenc.plan(probe_clip, mode="probe", confidence=FAST_CONFIDENCE)
    assert [s.crf for s in r.plan.shots] == [s.crf for s in plan.shots]
    assert len(r.plan.stats["probe"]["shots"]) == len(r.plan.shots)
    assert any(n.startswith("the output was not measured") for n in r.notes)
    v = jndenc.encode(probe_clip, tmp_path / "v.mp4", effort="fast", verify=True, threads=1, jobs=1)
    assert v.quality is not None and not any(n.startswith("the output was not measured") for n in v.notes)
    # --jobs bounds the probes as it bounds the loop's shots (a batch gives each file one); the plan is the same
    from jndenc.media.ffargs import available_cores

    assert d["probe"]["jobs"] == min(len(r.plan.shots), available_cores())
    assert v.to_dict()["probe"]["jobs"] == 1 and [s.crf for s in v.plan.shots] == [s.crf for s in r.plan.shots]


def test_probes_at_once_are_the_jobs_asked_for_else_the_cores_the_memory_holds():
    from jndenc.media.probe_encode import probe_jobs

    gb = 1 << 30
    assert probe_jobs(3, 1, (3840, 2160), cores=16, free=gb) == 1  # asked for: as asked, even past the memory
    assert probe_jobs(3, 8, (320, 240), cores=16, free=None) == 3  # never more than the runs
    assert probe_jobs(40, None, (1280, 720), cores=16, free=64 * gb) == 16  # one per core where memory holds them
    assert probe_jobs(40, None, (1280, 720), cores=16, free=None) == 16  # memory unknown: the cores
    # a 2160p 10-bit probe may hold about 9 GB (probe_memory): 24 GB free holds two, not sixteen
    assert probe_jobs(40, None, (3840, 2160), bit_depth=10, cores=16, free=24 * gb) == 2
    assert probe_jobs(40, None, (3840, 2160), bit_depth=10, cores=16, free=gb) == 1  # at least one


def test_effort_fast_with_a_users_frame_model_plans_without_probes(probe_clip, tmp_path):
    """The probe model was fitted on the shipped frame model's estimates: beside a model of the user's
    (``--weights``) fast plans from that model alone, at the confidence that keeps nine shots in ten safe."""
    import jndenc
    from jndenc.effort import UNMEASURED_CONFIDENCE
    from jndenc.predictor import default_weights_path

    weights = default_weights_path()
    if weights is None:
        pytest.skip("no shipped frame model to stand in for the user's")
    r = jndenc.encode(probe_clip, tmp_path / "w.mp4", effort="fast", weights=weights, threads=1)
    d = r.to_dict()
    assert d["mode"] == "predict" and d["margin"]["confidence"] == UNMEASURED_CONFIDENCE and "probe" not in d
    assert any("--weights" in n and "no probes" in n for n in r.notes)


def test_a_probe_whose_seek_finds_no_frames_ends_with_an_error_and_is_probed_from_the_start(tmp_path):
    """A capture that starts an hour in (MPEG-TS) gives no frames after this seek. With one decoder feeding the
    encoder and the scorer, FFmpeg ends with an error and the probe decodes from the start instead; a second
    decoder for the scorer (half the memory) left FFmpeg waiting for ever, so the probe keeps one."""
    src = tmp_path / "cap.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
           "-output_ts_offset", "3600", "-f", "mpegts", str(src))
    seek = seek_args(12, 25.0)
    args = probe_args(src, tmp_path / "p.mkv", tmp_path / "v.json", [(0, 25)], opts=SHIPPED_PROBE, subsample=1,
                      threads=1, seek=seek, crf=24)
    from jndenc.media.ffbin import ffmpeg_exe

    r = subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], capture_output=True, timeout=120)
    assert r.returncode != 0
    (q,), _ = run_probe(src, [(12, 37)], (320, 240), SHIPPED_PROBE, fps=25.0, crfs=[24])
    assert 0 < q["vmaf"] <= 100 and q["scored"] == 25


def test_a_probe_of_a_recording_that_pauses_measures_its_own_shot(tmp_path):
    """A screen recording that stops updating for 10 s after frame 20: frame 50 (the second shot's first) is shown
    at 12 s. Probes sought by frame number over the frame rate (2 s) and measured the first shot's frames for the
    other two: the fast effort encoded both at the first shot's coarse CRF. Sought by the frames' own times, each
    probe measures its shot, as on the same frames evenly spaced."""
    from jndenc import encode
    from jndenc.media.probe_encode import probe_input
    even = make_cut_clip(tmp_path / "even.mkv", size="320x240", audio=False)
    pause = tmp_path / "pause.mkv"
    ffmpeg("-i", str(even), "-vf", "setpts='N/25/TB+gte(N,20)*10/TB'", "-fps_mode", "passthrough", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", str(pause))
    with probe_input(pause, 0, 150) as (reads, times):
        assert reads == pause and times is not None and abs(times[50] - 12.0) < 0.01
    with probe_input(even, 0, 150) as (reads, times):
        assert reads == even and times is None  # evenly spaced: sought by frame number, as the features were
    got = [s.crf for s in encode(pause, tmp_path / "p.mp4", effort="fast", preset="ultrafast").plan.shots]
    want = [s.crf for s in encode(even, tmp_path / "e.mp4", effort="fast", preset="ultrafast").plan.shots]
    assert len(got) == len(want) == 3
    # the first shot's frames are timed otherwise (x264's rate control reads them): a step apart at most
    assert got[1:] == want[1:] and abs(got[0] - want[0]) <= 1.0
