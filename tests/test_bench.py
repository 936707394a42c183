"""Benchmarks on tiny generated clips: two-point ladder, ultrafast, search mode only."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

bd = pytest.importorskip("bjontegaard")
pytest.importorskip("matplotlib")

from jndenc.bench import bdrate  # noqa: E402
from jndenc.bench.bdrate import BenchOptions  # noqa: E402
from jndenc.errors import UserError  # noqa: E402

TINY = dict(crf_ladder=(20, 34), targets=(1, 2), margins=(1.0,), preset="ultrafast", modes=("search",),
            thresholds=(90.0, 80.0, 70.0), max_frames=75, max_clips=None, quiet=True)


@pytest.fixture(scope="module")
def bench_run(cut_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    first = bdrate.run([cut_clip], out, BenchOptions(**TINY))
    return out, first


def test_outputs_and_csv_columns(bench_run):
    out, res = bench_run
    for name in ("results.csv", "summary.md", "summary.json", "run.json", "rd_overall.png", "rd_cuts.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    with open(out / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == bdrate.CSV_COLUMNS
    ladder = [r for r in rows if r["role"] == "ladder"]
    assert {r["ladder"] for r in ladder} == {"fixed-crf", "jndenc-search m1"}
    assert len(ladder) == 2 + 2  # two fixed CRFs + two targets
    for r in ladder:
        assert float(r["bitrate_kbps"]) > 0 and 0 <= float(r["vmaf_mean"]) <= 100
        assert float(r["vmaf_p5"]) <= float(r["vmaf_mean"]) + 1e-6
        assert float(r["vmaf_worst_shot"]) <= float(r["vmaf_mean"]) + 1e-6
        assert float(r["psnr_y"]) > 10 and 0 < float(r["ssim"]) <= 1
        assert int(r["frames"]) == 75
    # the reported rate is the real file size over the clip's duration
    r = ladder[0]
    assert float(r["bitrate_kbps"]) == pytest.approx(int(r["bytes"]) * 8 / 1000 / (75 / 25), rel=1e-3)
    summary = json.loads((out / "summary.json").read_text())
    agg = summary["ladders"]["jndenc-search m1"]
    for key in ("bd_rate_vmaf", "bd_vmaf", "bd_rate_psnr", "bd_psnr", "matched_rate_diff_pct"):
        assert key in agg
    run = json.loads((out / "run.json").read_text())
    assert run["bd"]["method"] == "pchip" and run["versions"]["bjontegaard"]
    assert run["machine"]["cores"] >= 1 and run["counters"]["encodes"] >= 4
    assert "jndenc-search m1" in (out / "summary.md").read_text()


def test_matched_worst_shot(bench_run):
    out, res = bench_run
    m = res["summary"]["per_clip"][0]["ladders"]["jndenc-search m1"].get("matched")
    assert m is not None
    # CRF 0..51 spans JND1's worst-shot VMAF on this clip, so a bracketing fixed CRF must be found
    assert math.isfinite(m["crf"]) and math.isfinite(m["bitrate_kbps"]) and math.isfinite(m["rate_diff_pct"])
    lo, hi = m["bracket"]
    assert hi - lo <= 1 and lo <= m["crf"] <= hi
    assert m["rate_diff_pct"] == pytest.approx((m["jndenc_bitrate_kbps"] / m["bitrate_kbps"] - 1) * 100)


def test_rerun_hits_cache(bench_run, cut_clip):
    out, first = bench_run
    again = bdrate.run([cut_clip], out, BenchOptions(**TINY))
    c = again["run"]["counters"]
    assert c["encodes"] == 0 and c["analyses"] == 0
    assert c["encode_hits"] == first["run"]["counters"]["encodes"]
    assert all(r["cached"] for r in again["rows"])
    assert again["summary"]["ladders"] == first["summary"]["ladders"]


@pytest.mark.parametrize("sidecar", [None, {"architecture": "compact"}])
def test_predict_weights_that_fail_to_load_are_an_error(cut_clip, tmp_path, sidecar):
    # weights that exist but do not load (no metadata: a UserError; not a Keras file: whatever Keras raises)
    # must stop the run, not skip predict mode; only a missing default weights file is a reason to skip
    from jndenc.errors import JndencError

    weights = tmp_path / "broken.keras"
    weights.write_bytes(b"not a keras archive")
    if sidecar is not None:
        (tmp_path / "broken.keras.json").write_text(json.dumps(sidecar))
    out = tmp_path / "out"
    opts = BenchOptions(**{**TINY, "modes": ("predict",), "weights": str(weights)})
    with pytest.raises(JndencError, match="broken.keras"):
        bdrate.run([cut_clip], out, opts)
    assert not list((out / "_cache").glob("*.json"))  # it failed before any encode


def test_bd_rate_matches_bjontegaard_reference():
    rate_a = [100.0, 180.0, 330.0, 600.0]
    vmaf_a = [70.0, 80.0, 88.0, 94.0]
    rate_t = [95.0, 160.0, 300.0, 520.0]
    vmaf_t = [71.0, 80.5, 88.2, 93.5]
    got = bdrate.bd_pair(rate_a, vmaf_a, rate_t, vmaf_t)
    want_rate = bd.bd_rate(rate_a, vmaf_a, rate_t, vmaf_t, method="pchip", min_overlap=0)
    want_q = bd.bd_psnr(rate_a, vmaf_a, rate_t, vmaf_t, method="pchip", min_overlap=0)
    assert got["bd_rate"] == pytest.approx(want_rate, abs=1e-9)
    assert got["bd_quality"] == pytest.approx(want_q, abs=1e-9)
    # a curve that needs 10% fewer bits everywhere has BD-rate -10% whatever the interpolation
    scaled = bdrate.bd_pair(rate_a, vmaf_a, [r * 0.9 for r in rate_a], vmaf_a)
    assert scaled["bd_rate"] == pytest.approx(-10.0, abs=1e-6)
    assert scaled["bd_quality"] > 0


def test_bd_pair_degenerate_curves():
    # duplicate / non-monotone points are dropped; fewer than two points gives NaN, not an exception
    out = bdrate.bd_pair([100, 200], [80, 90], [150, 150], [85, 85])
    assert out["points_test"] == 1 and math.isnan(out["bd_rate"])
    far = bdrate.bd_pair([100, 200], [80, 90], [1000, 2000], [95, 99])
    assert math.isnan(far["bd_rate"]) and far["overlap_quality"] == 0


def test_matched_crf_interpolation():
    pts = {20.0: {"vmaf_worst_shot": 96.0, "bitrate_kbps": 1000.0},
           25.0: {"vmaf_worst_shot": 90.0, "bitrate_kbps": 500.0},
           30.0: {"vmaf_worst_shot": 80.0, "bitrate_kbps": 250.0}}
    m = bdrate.matched_crf(pts, 93.0)
    assert m["crf"] == pytest.approx(22.5) and m["bracket"] == [20.0, 25.0]
    assert m["bitrate_kbps"] == pytest.approx(math.sqrt(1000 * 500))  # log-rate interpolation
    assert bdrate.matched_crf(pts, 99.0) is None


def test_select_clips_spread(tmp_path):
    clips = [tmp_path / f"c{i:02d}.mp4" for i in range(10)]
    got = bdrate.select_clips(clips, 3)
    assert [c.name for c in got] == ["c00.mp4", "c04.mp4", "c09.mp4"]
    assert bdrate.select_clips(clips, None) == clips


def test_calibrate_writes_loadable_table(cut_clip, tmp_path):
    from jndenc.calibrate import calibrate, match_crf
    from jndenc.pipeline import load_calibration

    out = tmp_path / "calib.json"
    res = calibrate([cut_clip], out, x264_crfs=(22, 30), preset="ultrafast", max_frames=25)
    table = load_calibration(out)
    assert len(table) >= 1 and all(-20 < off < 20 for _, off in table)
    assert json.loads(out.read_text())["x265_offsets"] == res["x265_offsets"]
    assert match_crf([20, 30, 40], [95, 85, 70], 90) == pytest.approx(25)
    assert match_crf([20, 30], [95, 85], 99) is None


def test_cli_wiring():
    from click.testing import CliRunner

    from jndenc.cli import main

    r = CliRunner().invoke(main, ["bench", "bdrate", "--help"])
    assert r.exit_code == 0 and "--crf-ladder" in r.output
    r = CliRunner().invoke(main, ["calibrate", "--help"])
    assert r.exit_code == 0 and "--x264-crfs" in r.output


def _load_script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_accuracy_train_labels_and_siti(tmp_path, cut_clip):
    from jndenc.training import siti

    acc = _load_script("accuracy")
    d = tmp_path / "ds" / "train"
    d.mkdir(parents=True)
    (d / "JND-Levels.txt").write_text("# filename JND1 JND2 JND3\na.png 20 25 30\nb.png 20 25 30\nc.png 30 35 40\n"
                                      "d.png 26 31 36\n")
    (d / "features.csv").write_text("filename,si,ti,clip,start_frame,end_frame\na.png,10,5,x,0,10\n"
                                    "b.png,10,5,x,0,10\nc.png,60,5,y,0,10\nd.png,40,20,z,0,10\n")
    feats, labels = acc.read_train_labels(tmp_path / "ds")
    assert feats.shape == (3, 2) and labels.shape == (3, 3)  # b.png is the same shot as a.png
    w = siti.fit_linear(feats, labels)
    assert np.allclose(siti.predict_linear(w, feats), labels, atol=1e-6)  # 3 points, 3 parameters: exact
    f = siti.shot_features(cut_clip, [(0, 50), (50, 100), (100, 150)])
    assert len(f) == 3 and all(s > 0 and t >= 0 for s, t in f)
    fc = siti.shot_features(cut_clip, [(0, 50), (50, 100), (100, 150)], consecutive=True)
    assert fc[2][1] > fc[0][1]  # frame to frame, the noisy third shot has the most temporal information


def test_guided_ladder_measures_each_target_and_aims_at_it(cut_clip, tmp_path):
    # guided: one analysis per target level, margin 0, the shipped model as the start
    res = bdrate.run([cut_clip], tmp_path, BenchOptions(**{**TINY, "modes": ("guided",), "match": False}))
    with open(tmp_path / "results.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["ladder"] == "jndenc-guided m0"]
    assert [int(r["target_jnd"]) for r in rows] == [1, 2]
    assert all(0 < int(r["trial_encodes"]) <= 3 * 3 for r in rows)  # at most 3 trials a shot, 3 shots
    assert float(rows[0]["crf"]) <= float(rows[1]["crf"])  # a lower threshold never asks for a lower CRF
    assert res["run"]["counters"]["analyses"] == 2
    again = bdrate.run([cut_clip], tmp_path, BenchOptions(**{**TINY, "modes": ("guided",), "match": False}))
    assert again["run"]["counters"]["analyses"] == 0 and again["run"]["counters"]["encodes"] == 0


def test_probe_and_predict_ladders_plan_with_their_calibrated_margins(cut_clip, tmp_path):
    # margin "auto" is what `jndenc encode` does by default: each shot's calibrated margin below the estimate
    from jndenc.bench.points import Runner
    from jndenc.planner import crf_for, PlanOptions

    opts = BenchOptions(**{**TINY, "modes": ("predict", "probe"), "margins": ("auto",), "match": False})
    res = bdrate.run([cut_clip], tmp_path, opts)
    assert set(res["summary"]["ladders"]) == {"jndenc-predict mauto", "jndenc-probe mauto"}
    r = Runner(tmp_path, opts)
    cs = r.open_clip(cut_clip)
    an = r.analysis(cs, "probe")
    assert r.counters.analysis_hits == 1  # recalled, not run again
    am = an["auto_margins"]
    assert am["calibrated"] and len(am["margins"]) == len(an["shots"]) and min(am["margins"]) > 0
    assert an["probe_seconds"] > 0
    plan = r.jnd_plan(an, 1, "auto")
    want = [crf_for(j, PlanOptions(margin="auto"), m, True) for j, m in zip(an["jnd"], am["margins"])]
    assert [s.crf for s in plan.shots] == want
    assert all(s.crf <= j[0] for s, j in zip(plan.shots, an["jnd"]))
    with open(tmp_path / "results.csv") as fh:
        rows = [row for row in csv.DictReader(fh) if row["ladder"] == "jndenc-probe mauto"]
    assert [row["margin"] for row in rows] == ["auto", "auto"]
    assert float(rows[0]["crf_max"]) == max(want)


def test_tighten_ladder_corrects_each_point_once_and_keeps_the_better_pass(cut_clip, tmp_path):
    from jndenc.bench.points import Runner
    from jndenc.verify import corrections, shot_quality

    # search at margin 3 with TINY's thresholds (90/80): every shot well above its target, so --tighten raises
    opts = BenchOptions(**{**TINY, "modes": ("search", "search+tighten"), "margins": (3.0,), "match": False})
    res = bdrate.run([cut_clip], tmp_path, opts)
    assert set(res["summary"]["ladders"]) == {"jndenc-search m3", "jndenc-search+tighten m3"}
    rows = {(r["ladder"], r["target_jnd"]): r for r in res["rows"] if r["role"] == "ladder"}
    r = Runner(tmp_path, opts)
    cs = r.open_clip(cut_clip)
    for t, target in ((1, 90.0), (2, 80.0)):
        plain, tight = rows[("jndenc-search m3", t)], rows[("jndenc-search+tighten m3", t)]
        assert tight["first_pass_bytes"] == plain["bytes"] and tight["passes"] in (1, 2, 3)
        plan = r.jnd_plan(r.analysis(cs, "search"), t, 3.0)
        q = shot_quality(np.asarray(plain["vmaf_frames"]), [(s.start_frame, s.end_frame) for s in plan.shots])
        raised = corrections([s.crf for s in plan.shots], q, target, tighten=True)
        assert raised and all(c > plan.shots[i].crf for i, c in raised.items())
        if tight["kept_pass"] > 1:
            assert tight["bytes"] < plain["bytes"] and tight["crf_max"] > plain["crf_max"]
        else:
            assert tight["bytes"] == plain["bytes"]
    s = res["summary"]["per_clip"][0]["ladders"]["jndenc-search+tighten m3"]
    assert s["analysis_s"] > res["summary"]["per_clip"][0]["ladders"]["jndenc-search m3"]["analysis_s"]


def test_bench_mode_specs():
    from jndenc.bench.options import ModeSpec
    from jndenc.errors import UserError

    assert ModeSpec.parse("probe@0.5+tighten") == ModeSpec("probe", 0.5, True)
    assert ModeSpec.parse("guided") == ModeSpec("guided")
    assert ModeSpec.parse("predict+tighten") == ModeSpec("predict", 0.7, True)  # --tighten's own defaults
    assert ModeSpec.parse("probe+tighten") == ModeSpec("probe", 0.5, True)
    assert ModeSpec.parse("balanced") == ModeSpec("balanced", effort=True)  # an effort level's ladder
    for bad in ("probe+ensure", "guided@0.5", "probe@2", "probe@x", "balanced+tighten"):
        with pytest.raises(UserError):
            ModeSpec.parse(bad)


def test_margins_option_parses_auto_and_numbers():
    from jndenc.errors import UserError

    a = bdrate.parser().parse_args(["x.mp4", "--out", "o", "--margins", "auto,1.5"])
    assert bdrate.options_from_args(a).margins == ("auto", 1.5)
    # refused with the other options, in one line: argparse's refusal printed its usage block above it
    a = bdrate.parser().parse_args(["x.mp4", "--out", "o", "--margins", "sometimes"])
    with pytest.raises(UserError, match="--margins: .* not sometimes"):
        bdrate.options_from_args(a).validate()


def test_mode_names_of_the_mode_benchmarks():
    # the same mode name means the same encode in modes.py (API keywords) and overhead.py (CLI options)
    modes, overhead = _load_script("modes"), _load_script("overhead")
    assert modes.mode_kwargs("probe@0.5+ensure", 26.0) == {"mode": "probe", "confidence": 0.5, "ensure": True}
    assert modes.mode_kwargs("predict", 26.0) == {"mode": "predict"}
    assert overhead.mode_args("probe@0.5+ensure") == ["--mode", "probe", "--confidence", "0.5", "--ensure"]
    assert modes.mode_kwargs("predict+tighten", 26.0) == {"mode": "predict", "tighten": True}
    assert overhead.mode_args("probe@0.5+tighten") == ["--mode", "probe", "--confidence", "0.5", "--tighten"]
    assert overhead.mode_args("balanced") == ["--effort", "balanced"]
    assert modes.mode_kwargs("thorough", 26.0) == {"effort": "thorough"}
    assert overhead.mode_args("guided") == ["--mode", "guided"]


def test_av1_effort_ladder_against_a_plain_av1_ladder(cut_clip, tmp_path):
    """--codec av1: the effort ladder (one `jndenc encode --effort balanced --target-jnd T` per point) against
    plain whole-file SVT-AV1 encodes on the x264 ladder mapped to AV1's scale, matched on worst-shot VMAF."""
    from jndenc.errors import UserError

    opts = BenchOptions(**{**TINY, "codec": "av1", "crf_ladder": None, "modes": ("balanced",), "max_frames": 75})
    ladder = opts.ladder()
    assert len(ladder) >= 4 and all(1 <= c <= 63 and float(c).is_integer() for c in ladder)
    res = bdrate.run([cut_clip], tmp_path, opts)
    rows = [r for r in res["rows"] if r["role"] == "ladder"]
    fixed = [r for r in rows if r["ladder"] == "fixed-crf"]
    mine = [r for r in rows if r["ladder"] == "jndenc-balanced"]
    assert sorted(r["crf"] for r in fixed) == sorted(ladder)
    assert [r["target_jnd"] for r in mine] == [1, 2]
    assert mine[0]["bitrate_kbps"] > mine[1]["bitrate_kbps"] and mine[0]["vmaf_mean"] > mine[1]["vmaf_mean"]
    assert all(r["attempts_per_shot"] >= 1 for r in mine)
    s = res["summary"]["per_clip"][0]["ladders"]["jndenc-balanced"]
    assert math.isfinite(s["bd_rate_vmaf"]) and s["analysis_s"] >= 0
    m = s["matched"]
    assert 1 <= m["crf"] <= 63 and math.isfinite(m["rate_diff_pct"])
    assert json.loads((tmp_path / "run.json").read_text())["options"]["crf_ladder"] == list(ladder)
    with pytest.raises(UserError, match="shot loop only"):
        bdrate.run([cut_clip], tmp_path / "x", BenchOptions(**{**TINY, "codec": "av1", "modes": ("search",)}))


@pytest.mark.parametrize("script", ["segments", "sampling", "modes", "trials", "codec_speeds", "vmaf_models"])
def test_benchmarks_skip_where_the_shared_clips_are_absent(script, tmp_path):
    """A benchmark run on a machine without ../shared/clips says so and skips; it does not fail with a traceback."""
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{script}.py"
    missing = tmp_path / "shared" / "clips" / "book.mkv"
    r = subprocess.run([sys.executable, str(path), str(missing), "--out", str(tmp_path / "o.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and f"skipped: {missing} is not here" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o.json").exists()


def test_a_vmaf_model_measures_every_point_and_the_effort_levels_aim_in_it(bench_run, cut_clip, tmp_path):
    """--vmaf-model vmaf_v0.6.1neg: the fixed ladder's encodes are the default run's (same encodes), read lower
    by NEG; the balanced ladder aims each shot at JND1 as NEG reads it; the run says which model it used."""
    from jndenc.errors import UserError

    with pytest.raises(UserError, match="--vmaf-model"):
        BenchOptions(**{**TINY, "vmaf_model": "vmaf_v9"}).validate()
    _, default = bench_run
    res = bdrate.run([cut_clip], tmp_path, BenchOptions(**{**TINY, "modes": ("balanced",),
                                                           "vmaf_model": "vmaf_v0.6.1neg"}))
    fixed = lambda r: {x["crf"]: x for x in r["rows"] if x["role"] == "ladder" and x["ladder"] == "fixed-crf"}  # noqa: E731
    plain, neg = fixed(default), fixed(res)
    assert sorted(neg) == sorted(plain)
    for crf in neg:
        assert neg[crf]["bytes"] == plain[crf]["bytes"]  # the same encode...
        assert neg[crf]["vmaf_mean"] < plain[crf]["vmaf_mean"]  # ...measured by another model
    jnd1 = [x for x in res["rows"] if x["role"] == "ladder" and x["ladder"] == "jndenc-balanced" and
            x["target_jnd"] == 1]
    assert jnd1 and jnd1[0]["vmaf_worst_shot"] >= 93.0
    assert json.loads((tmp_path / "run.json").read_text())["options"]["vmaf_model"] == "vmaf_v0.6.1neg"
    assert "VMAF model `vmaf_v0.6.1neg`" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize("change, env, said", [
    ({"preset": "nosuchpreset"}, {}, "--preset 'nosuchpreset'"),  # said after --out was made
    ({"weights": "nope.keras", "modes": ("predict",)}, {}, "--weights nope.keras: no such file"),
    ({"targets": (1,), "match": False}, {}, "a BD-rate needs two levels"),  # exit 0, a table of "0 clips"
    ({"crf_ladder": (20, 20, 34)}, {}, "20 given more than once"),  # merged without a word
    # an effort ladder failed after the fixed ladder's encodes, naming encode's --mode; predict alone compared nothing
    ({"modes": ("balanced",)}, {"JNDENC_WEIGHTS": "/nonexistent"}, "need the JND model"),
    ({"modes": ("predict",)}, {"JNDENC_WEIGHTS": "/nonexistent"}, "need the JND model"),
])
def test_options_no_run_could_use_are_refused_before_out_is_made(cut_clip, tmp_path, monkeypatch, change, env, said):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(UserError, match=said):
        bdrate.run([cut_clip], tmp_path / "out", BenchOptions(**{**TINY, **change}))
    assert not (tmp_path / "out").exists()


def test_an_empty_out_is_refused(cut_clip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "" wrote into the current folder and said "results in /"
    with pytest.raises(UserError, match="name a results folder"):
        bdrate.run([cut_clip], "", BenchOptions(**TINY))
    assert list(tmp_path.iterdir()) == []


def test_a_difference_that_rounds_to_nothing_prints_without_a_minus():
    from jndenc.bench.report import _f
    assert _f(-4.4e-14, "{:+.1f}%") == "+0.0%" and _f(-0.04) == "+0.0" and _f(-0.06) == "-0.1"
    assert _f(float("nan")) == "n/a" and _f(2.5, "{:.1f}") == "2.5"


def test_the_per_clip_table_shows_the_ladders_worst_shot_without_a_match(tmp_path):
    """With --no-match the per-clip column read n/a where summary.json had the value."""
    from jndenc.bench.report import write_summary_md
    summary = {"bd_method": "pchip", "clips": 1, "notes": [], "ladders": {},
               "per_clip": [{"clip": "a.mp4", "ladders": {"jndenc-search mauto": {"jnd1_vmaf_worst_shot": 95.04}}}]}
    run = {"date": "d", "machine": {"cpu": "c", "cores": 1}, "versions": {"ffmpeg": "9", "jndenc": "0",
                                                                         "bjontegaard": "1"},
           "options": {"codec": "x264", "preset": "ultrafast", "crf_ladder": [20, 34], "targets": [1, 2],
                       "max_frames": 25}}
    write_summary_md(tmp_path / "s.md", summary, run)
    assert "| 95.0 |" in (tmp_path / "s.md").read_text()


def test_a_run_leaves_no_empty_work_folders_and_prints_long_ladder_names_in_line(bench_run, cut_clip, tmp_path,
                                                                                   capsys):
    out, _ = bench_run
    assert not (out / "_work" / "src").exists()
    from jndenc.bench.report import print_table
    print_table({"ladders": {"jndenc-probe@0.5+tighten mauto": {}, "fixed": {}}})
    head, *rows = capsys.readouterr().out.splitlines()
    end = head.index("BD-rate VMAF") + len("BD-rate VMAF")  # the first figure's column, right-aligned under it
    assert [len(r.split()[0]) for r in rows] == [len("jndenc-probe@0.5+tighten"), len("fixed")]
    assert all(r[end - 3:end] == "n/a" for r in rows), rows
