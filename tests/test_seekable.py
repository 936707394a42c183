"""Inputs without an index (MPEG-TS): every shot encoded from its own frames, through a seekable copy."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import ffmpeg, make_cut_clip
from jndenc.media import seekable

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]


def encode_cli(src: Path, out: Path) -> dict:
    """The default command, in its own process with a time limit: a seek FFmpeg cannot serve once hung it."""
    p = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src), str(out), "--preset", "ultrafast",
                        "--jobs", "1", "--json", "-q"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_the_copy_keeps_the_timestamps_and_holds_only_the_video():
    args = seekable.copy_args("in.ts", "w/source.mkv")
    assert args[:3] == ["-copyts", "-i", "in.ts"]
    assert args[args.index("-map") + 1] == "0:V:0" and args[args.index("-c") + 1] == "copy"
    assert args[-3:] == ["-f", "matroska", "w/source.mkv"]


def test_only_a_container_without_an_index_is_copied(tmp_path):
    ts = make_cut_clip(tmp_path / "a.ts", seconds=(1, 1, 1), audio=False)
    mp4 = tmp_path / "a.mp4"
    ffmpeg("-i", str(ts), "-c", "copy", str(mp4))
    assert seekable.needs_copy(ts) and not seekable.needs_copy(mp4)


def test_a_copy_that_may_not_decode_to_the_frames_is_not_used(tmp_path):
    """A capture started mid-GOP: the copy drops the packets before the first key frame, which decode to nothing.
    It stands for the source where it holds one packet per frame the analysis decoded, and only there."""
    whole = tmp_path / "whole.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4", "-c:v", "libx264", "-preset",
           "ultrafast", "-g", "25", "-f", "mpegts", str(whole))
    data = whole.read_bytes()
    ts = tmp_path / "head.ts"
    ts.write_bytes(data[(len(data) // 3) // 188 * 188:])
    with av.open(str(ts)) as c:
        decoded = [f.pts * f.time_base for f in c.decode(video=0)]
    got = seekable.seekable_copy(ts, tmp_path / "ok.mkv", len(decoded))
    assert got is not None and got.path.exists() and abs(got.start - float(decoded[0])) < 0.001
    with av.open(str(got.path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == len(decoded)
    # had the analysis decoded another number of frames, the copy's could not be told to match: not used
    assert seekable.seekable_copy(ts, tmp_path / "no.mkv", len(decoded) + 1) is None
    assert not (tmp_path / "no.mkv").exists()


@pytest.mark.parametrize("seconds", [(2, 2, 2), (4, 4, 4)])
def test_every_shot_of_an_mpeg_ts_is_encoded_from_its_own_frames(tmp_path, seconds):
    """x264 ultrafast puts a key frame at frame 0 and 250 only. FFmpeg's seek in a TS (no index) landed on a frame
    that is not a key frame and decoding began at the next key frame, past the shot: every such file was refused
    (exit 2) at its second shot. The same frames in MP4 (indexed) encode to the same output, frame for frame."""
    ts = make_cut_clip(tmp_path / "in.ts", seconds=seconds, audio=False)
    mp4 = tmp_path / "in.mp4"
    ffmpeg("-i", str(ts), "-c", "copy", str(mp4))
    r = encode_cli(ts, tmp_path / "ts.mp4")
    assert len(r["shots"]) == 3 and r["mode"] == "loop"
    encode_cli(mp4, tmp_path / "mp4.mp4")
    a, b = frames_of(tmp_path / "ts.mp4"), frames_of(tmp_path / "mp4.mp4")
    assert len(a) == len(b) == 25 * sum(seconds)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not list(tmp_path.glob("*segments*"))  # the work folder, with the copy in it, is gone


def _nearest(out: list[np.ndarray], src: list[np.ndarray]) -> list[int]:
    """For each output frame, which source frame (one before, its own, one after) it is nearest."""
    near = []
    for i, f in enumerate(out):
        errs = {j - i: float(np.mean((f.astype(float) - src[j]) ** 2)) for j in (i - 1, i, i + 1) if 0 <= j < len(src)}
        near.append(min(errs, key=errs.get))
    return near


def test_a_ts_capture_started_mid_gop_or_cut_short_is_encoded_frame_for_frame(tmp_path):
    """Damaged captures: the head cut mid-GOP (the packets before the first key frame decode to nothing, and the
    copy leaves them out) and the tail cut mid-packet. Each output frame is its own source frame (the mandelbrot's
    slow zoom leaves one or two frames nearer a neighbour)."""
    whole = tmp_path / "whole.ts"
    ffmpeg("-i", str(make_cut_clip(tmp_path / "cuts.mp4", seconds=(3, 3, 3), audio=False)), "-c:v", "libx264",
           "-preset", "ultrafast", "-g", "30", "-f", "mpegts", str(whole))
    data = whole.read_bytes()
    head, tail = tmp_path / "head.ts", tmp_path / "tail.ts"
    head.write_bytes(data[(len(data) // 5) // 188 * 188:])
    tail.write_bytes(data[: int(len(data) * 0.85)])
    for src in (head, tail):
        out = tmp_path / f"{src.stem}.mp4"
        r = encode_cli(src, out)
        assert len(r["shots"]) >= 2 and not any("from the start" in n for n in r["notes"]), r["notes"]
        got, want = frames_of(out), frames_of(src)
        assert len(got) == len(want) > 100
        assert sum(n != 0 for n in _nearest(got, want)) <= 2
