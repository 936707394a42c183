"""A second user audit: predict, dataset, calibrate and the API beside encode, run as a user runs them (real FFmpeg,
PyAV and the shipped model on tiny generated clips)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ffmpeg


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jndenc", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("clip") / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-c:v", "libx264", "-preset",
           "ultrafast", "-crf", "10", str(src))
    return src


@pytest.mark.parametrize("args", [("--mode", "search", "--pool", "foo"), ("--mode", "guided", "--pool", "p200"),
                                  ("--mode", "search", "--thresholds", "94,88")])
def test_predict_bad_pool_or_thresholds_is_a_user_error(clip, args):
    # they failed as "internal error: ValueError" (exit 1) once the trials had run
    r = _cli("predict", clip, *args)
    assert r.returncode == 2, r.stderr
    assert "internal error" not in r.stderr and r.stderr.count("\n") == 1
    assert "--pool" in r.stderr or "--thresholds" in r.stderr


def test_encode_bad_pool_refused_before_any_work(clip, tmp_path):
    dst = tmp_path / "out.mp4"
    r = _cli("encode", clip, dst, "--mode", "search", "--pool", "foo")
    assert r.returncode == 2 and "--pool" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_api_plan_bad_pool_is_a_user_error(clip):
    import jndenc

    with pytest.raises(jndenc.UserError, match="--pool"):
        jndenc.plan(clip, mode="search", pool="p101")


@pytest.mark.parametrize("codec", ["av1", "vp9"])
def test_predict_loop_only_codec_says_why(clip, tmp_path, codec):
    # predict --codec av1 said "codec must be one of x264, x265"; with an av1 calibration file, "use it with
    # --codec av1" to a user who had
    cal = tmp_path / "cal.json"
    r = _cli("calibrate", clip, "-o", cal, "--codec", codec, "--max-frames", "5", "--x264-crfs", "14,24,34,44",
             "--codec-crfs", "20,35,50,63", "-q")
    assert r.returncode == 0, r.stderr
    for extra in ((), ("--calibration", cal)):
        r = _cli("predict", clip, "--codec", codec, *extra)
        assert r.returncode == 2, r.stderr
        assert f"jndenc encode --codec {codec}" in r.stderr and "use it with" not in r.stderr, r.stderr


@pytest.mark.parametrize("args", [("--preset", "bogus"), ("--pool", "foo"), ("--thresholds", "94,88"),
                                  ("--min-crf", "40", "--max-crf", "20"), ("--split", "0,0,0")])
def test_dataset_build_bad_options_refused_before_any_work(clip, tmp_path, args):
    # --preset bogus skipped every clip and wrote an empty dataset with exit 0; --pool, --thresholds and --split
    # were internal errors after the trials; --min-crf above --max-crf labelled at a bound
    out = tmp_path / "ds"
    r = _cli("dataset", "build", clip, out, "-q", *args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("jndenc: error:") and "internal error" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("args", [("-o", "{tmp}/no/such/folder/cal.json"), ("--x264-crfs", "60"),
                                  ("--codec", "av1", "--codec-crfs", "70,80"),
                                  ("--codec", "vp9", "-o", "{tmp}/no/such/folder/cal.json")])
def test_calibrate_bad_output_folder_or_grid_refused_before_any_encode(clip, tmp_path, args):
    # a missing output folder was an internal error once every encode had run; an x264 CRF above 51 an internal
    # IndexError; an AV1 CRF above 63 "FFmpeg refused the option ... (an --enc option?)"
    args = [a.format(tmp=tmp_path) for a in args]
    out = [] if "-o" in args else ["-o", tmp_path / "cal.json"]
    r = _cli("calibrate", clip, *out, "--max-frames", "5", "-q", *args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("jndenc: error:") and "internal error" not in r.stderr and "--enc" not in r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("metric", ["psnr", "ssim"])
def test_another_metric_needs_its_own_thresholds(clip, tmp_path, metric):
    # the default thresholds are VMAF scores: as PSNR every level sat near lossless and fell to --min-crf unsaid
    r = _cli("encode", clip, tmp_path / "o.mp4", "--mode", "search", "--metric", metric)
    assert r.returncode == 2 and f"--metric {metric} needs --thresholds" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and list(tmp_path.iterdir()) == []
    r = _cli("predict", clip, "--mode", "search", "--metric", "psnr", "--thresholds", "42,38,34", "--json")
    assert r.returncode == 0, r.stderr


def test_dataset_build_with_no_usable_clip_fails(tmp_path):
    # every clip skipped (here: audio only, no video) wrote an empty dataset with exit 0
    clips = tmp_path / "clips"
    clips.mkdir()
    ffmpeg("-f", "lavfi", "-i", "sine=d=1", str(clips / "a.mp4"))
    r = _cli("dataset", "build", clips, tmp_path / "ds", "-q", "--preset", "ultrafast")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "skipping a.mp4" in r.stderr and "none of the 1 clip(s) could be labelled" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "ds" / "dataset.json").exists()


def test_a_comparison_that_fails_is_a_note_not_a_failed_encode(plain_clip, tmp_path):
    # by the time --compare-crf runs the output is complete and checked: a failing plain encode made the encode
    # exit non-zero with its output in place, and a batch counted the file failed
    from jndenc.media.probe import probe
    from jndenc.planner import fixed_plan
    from jndenc.reference import compare_or_note

    info = probe(plain_clip)
    plan = fixed_plan([(0, info.frames)], 30, info.frames, info.fps)
    out = tmp_path / "o.mp4"
    out.write_bytes(plain_clip.read_bytes())
    got, notes = compare_or_note(plain_clip, out, plan, info, 30, jndenc_seconds=1.0)
    assert got is not None and got["video_bytes"] > 0 and notes == []
    got, notes = compare_or_note(tmp_path / "gone.mp4", out, plan, info, 30, jndenc_seconds=1.0)
    assert got is None and len(notes) == 1 and "--compare-crf 30" in notes[0] and "complete" in notes[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mp4"]  # no reference temp left
