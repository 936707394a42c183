"""Fixtures: small real clips generated with FFmpeg's lavfi sources (no mocks)."""
from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from jndenc.media.ffbin import ffmpeg_exe  # noqa: E402

SHARED_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "clips"


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def make_cut_clip(path: Path, size: str = "160x120", rate: int = 25, seconds=(2, 2, 2), audio: bool = True) -> Path:
    """Three shots with hard cuts: testsrc2, mandelbrot, noisy testsrc2 (different content/complexity)."""
    a, b, c = seconds
    srcs = [
        f"testsrc2=size={size}:rate={rate}:duration={a}",
        f"mandelbrot=size={size}:rate={rate},trim=duration={b}",
        f"testsrc=size={size}:rate={rate}:duration={c},noise=alls=40:allf=t,hue=h=120",
    ]
    args = []
    for s in srcs:
        args += ["-f", "lavfi", "-i", s]
    n = len(srcs)
    graph = "".join(f"[{i}:v]format=yuv420p,setsar=1[v{i}];" for i in range(n))
    graph += "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
    cmd = args
    maps = ["-map", "[v]"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={sum(seconds)}"]
        maps += ["-map", f"{n}:a", "-c:a", "aac"]
    ffmpeg(*cmd, "-filter_complex", graph, *maps, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10",
           str(path))
    return path


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def interruptible(cmd: list[str], **popen_kw) -> Iterator[subprocess.Popen]:
    """Start ``cmd`` for an interrupt test: SIGINT/SIGTERM at their defaults, killed if the test fails.

    A shell starts background jobs (``pytest ... &``, CI runners) with SIGINT
    ignored, and an ignored signal stays ignored across exec; jndenc rightly
    keeps what it inherits, so without the reset an interrupt test would test
    the caller's shell, not jndenc.
    """
    proc = subprocess.Popen(cmd, preexec_fn=_default_signals, **popen_kw)
    try:
        yield proc
    finally:
        if proc.poll() is None:  # the test failed part-way: leave no encoder running
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def cut_clip(clip_dir) -> Path:
    """6 s, 25 fps, 160x120, cuts at frames 50 and 100, AAC audio."""
    return make_cut_clip(clip_dir / "cuts.mp4")


@pytest.fixture(scope="session")
def plain_clip(clip_dir) -> Path:
    """2 s testsrc2 with audio, one shot."""
    p = clip_dir / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25:duration=2", "-f", "lavfi", "-i",
           "sine=duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(p))
    return p


@pytest.fixture
def shared_clips() -> Path:
    if not SHARED_CLIPS.is_dir():
        pytest.skip(f"real clips not available ({SHARED_CLIPS} is absent)")
    return SHARED_CLIPS
