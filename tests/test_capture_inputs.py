"""Broadcast captures joined end to end: a clock that jumps back, a picture size or format that changes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ffmpeg, make_cut_clip
from test_seekable import encoded_from_a_copy

X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-bf", "3", "-c:a", "aac"]


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    return make_cut_clip(tmp_path_factory.mktemp("cap") / "master.mkv")


def _half(master: Path, out: Path, first: bool, offset: float, scale: str = "", extra: tuple = ()) -> Path:
    """The first or second half (75 frames, 3 s) of the 3-shot clip as an MPEG-TS whose clock starts at ``offset``
    (``scale``: filters after the cut, ``extra``: output options)."""
    cut = "trim=end_frame=75" if first else "trim=start_frame=75"
    audio = "atrim=end=3" if first else "atrim=start=3"
    ffmpeg("-i", str(master), "-vf", f"{cut},setpts=PTS-STARTPTS{scale}", "-af", f"{audio},asetpts=PTS-STARTPTS",
           *X264, *extra, "-output_ts_offset", str(offset), "-f", "mpegts", str(out))
    return out


def test_two_captures_whose_clock_goes_back_encode_frame_for_frame(master, tmp_path):
    """The second capture's clock starts 12 s before the first's ends. Sorted, the two captures' frame times
    interleaved: the first capture's frames took the second's, and after every attempt the file was refused (exit 2,
    "encoded output has 100 frames, plan has 150"). Such timestamps are not used: the file is encoded frame for
    frame at its frame rate, each shot read from a copy numbered in display order (before it, each was decoded from
    the start of the input)."""
    a = _half(master, tmp_path / "a.ts", True, 10)
    b = _half(master, tmp_path / "b.ts", False, 1)
    src = tmp_path / "joined.ts"
    src.write_bytes(a.read_bytes() + b.read_bytes())
    encoded_from_a_copy(src, tmp_path / "o.mp4")


@pytest.mark.parametrize("effort", ["balanced", "fast"])
def test_a_capture_whose_picture_size_changes_is_refused_in_one_line(master, tmp_path, effort):
    """160x120, then 640x480 from frame 75: every encoder and VMAF pass takes one size, and FFmpeg failed part way
    ("Conversion failed!", exit 1, an internal error) after the analysis and the attempts before it. Refused with
    what changed, where, and what to do, before any encode."""
    a = _half(master, tmp_path / "a.ts", True, 10)
    b = _half(master, tmp_path / "b.ts", False, 13, ",scale=640:480")
    src = tmp_path / "resized.ts"
    src.write_bytes(a.read_bytes() + b.read_bytes())
    out = tmp_path / "o.mp4"
    p = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src), str(out), "--effort", effort,
                        "--preset", "ultrafast", "-q"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and not out.exists()
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "picture size changes at frame 75 (from 160x120 to 640x480)" in lines[0], p.stderr


@pytest.mark.parametrize("change, extra, said", [
    (",format=yuv444p", (), "pixel format changes at frame 75 (from yuv420p to yuv444p)"),
    ("", ("-color_range", "pc", "-colorspace", "bt470bg"),
     "colour matrix and range change at frame 75 (from bt709/tv to bt470bg/pc)")])
def test_a_capture_whose_format_changes_is_refused_in_one_line(master, tmp_path, change, extra, said):
    """4:2:0, then 4:4:4 (or another colour matrix and range) from frame 75, inside the second shot (50-99): FFmpeg
    rebuilds its filters at such a change and the attempt's frame count starts again, so from the change on the
    shot came out a frame off its source (exit 0, no warning; where a shot starts at the change, its segment lost the
    frames its lead-in counted and the file was refused after every attempt as possibly damaged). Refused with what
    changed, where, and the conversion to run first, before any encode."""
    a = _half(master, tmp_path / "a.ts", True, 10, extra=("-color_range", "tv", "-colorspace", "bt709"))
    b = _half(master, tmp_path / "b.ts", False, 13, change, extra or ("-color_range", "tv", "-colorspace", "bt709"))
    src = tmp_path / "reformatted.ts"
    src.write_bytes(a.read_bytes() + b.read_bytes())
    out = tmp_path / "o.mp4"
    p = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src), str(out), "--preset", "ultrafast", "-q"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and not out.exists()
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and "-vf scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" \
        in lines[0], p.stderr


def test_probes_of_a_program_stream_without_every_timestamp_measure_their_own_shots(master, tmp_path):
    """H.264 in MPEG-PS whose packets do not all carry a timestamp: probes sought by frame number over the frame rate
    and scored other shots' frames (probe mode put the three shots at 19/23/23 where the same frames in MP4 get
    28/18/23: one shot far above the target, another under it, no note). They now read the input as the shot loop
    does, and get the MP4's CRFs."""
    from jndenc import encode
    mpg, mp4 = tmp_path / "ps.mpg", tmp_path / "same.mp4"
    ffmpeg("-i", str(master), *X264[:-2], "-c:a", "mp2", "-f", "mpeg", str(mpg))
    ffmpeg("-i", str(mpg), "-c:v", "copy", "-an", str(mp4))
    import av
    with av.open(str(mpg)) as c:
        assert any(p.pts is None for p in c.demux(video=0) if p.size)  # what this test is about
    got = [s.crf for s in encode(mpg, tmp_path / "a.mp4", mode="probe", preset="ultrafast").plan.shots]
    want = [s.crf for s in encode(mp4, tmp_path / "b.mp4", mode="probe", preset="ultrafast").plan.shots]
    assert len(got) == 3 and got == want
