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
