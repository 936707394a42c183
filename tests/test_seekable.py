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
    i = args.index("-i")
    assert args[i + 1] == "in.ts" and "-copyts" in args[:i] and "+genpts" in args[:i]
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


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    return make_cut_clip(tmp_path_factory.mktemp("master") / "master.mkv")


def _first_times(path: Path) -> dict[str, float]:
    """The first video and audio frame's time (each read from the start of the file)."""
    out = {}
    for kind in ("video", "audio"):
        with av.open(str(path)) as c:
            if getattr(c.streams, kind):
                out[kind] = next(float(f.pts * f.time_base) for f in c.decode(**{kind: 0}) if f.pts is not None)
    return out


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "12"]
X264_B = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-bf", "3"]


@pytest.mark.parametrize("name, args", [
    # AVI stores no presentation timestamps: PyAV's libraries and the FFmpeg command line made them up a frame apart
    ("h264.avi", [*X264, "-c:a", "pcm_s16le"]),  # refused at its last shot (exit 2)
    ("h264_b.avi", [*X264_B, "-c:a", "pcm_s16le"]),  # every later shot a frame early, without a word
    # an XviD film: B-frames in AVI, whose packets carry no timestamp until +genpts gives them one
    ("mpeg4_b.avi", ["-c:v", "mpeg4", "-q:v", "3", "-bf", "2", "-c:a", "pcm_s16le"]),
    ("mpeg2.m2v", ["-c:v", "mpeg2video", "-q:v", "3", "-bf", "2", "-g", "15", "-an", "-f", "mpeg2video"]),  # exit 2
    # frames without a timestamp put the file on stamps from 0: its audio came out half a second late
    ("h264.mpg", [*X264_B, "-c:a", "mp2", "-f", "mpeg"]),
])
def test_a_container_that_makes_its_frame_times_up_is_encoded_frame_for_frame(master, tmp_path, name, args):
    src = tmp_path / name
    ffmpeg("-i", str(master), *args, str(src))
    out = tmp_path / "o.mp4"
    r = encode_cli(src, out)
    assert len(r["shots"]) == 3
    # read from the copy, each shot by a seek (H.264 with B-frames in AVI and in MPEG-PS from the copy numbered in
    # display order): decoded from the start, a long file's attempts cost more each shot on
    assert not any("from the start" in n for n in r["notes"]), r["notes"]
    got, want = frames_of(out), frames_of(src)
    assert len(got) == len(want) == 150
    assert sum(n != 0 for n in _nearest(got, want)) <= 2
    a, b = _first_times(src), _first_times(out)
    if "audio" in a:
        assert abs((b["video"] - b["audio"]) - (a["video"] - a["audio"])) < 0.005


def test_a_source_with_repeated_timestamps_keeps_its_timing(master, tmp_path):
    """Two frames with one timestamp (a malformed file): the segments kept them and the join refused the file (exit
    1) after every attempt had run; then, stamped at its frame rate, the recording lost its 0.3 s pause and drifted
    from its sound. Each repeated frame is now shown between its timestamp and the next, every other frame at its
    own."""
    src = tmp_path / "dup.mkv"
    ffmpeg("-i", str(master), "-vf", "setpts='N/25/TB+gte(N,40)*0.3/TB+eq(mod(N\\,7)\\,3)*0.012/TB'",
           "-fps_mode", "passthrough", *X264, "-an", str(src))
    with av.open(str(src)) as c:
        pts = [p.pts for p in c.demux(video=0) if p.size]
    assert len(set(pts)) < len(pts)  # what this test is about
    out = tmp_path / "o.mp4"
    r = encode_cli(src, out)
    assert any("repeats" in n for n in r["notes"]), r["notes"]
    got = frames_of(out)
    assert len(got) == 150 and sum(n != 0 for n in _nearest(got, frames_of(src))) <= 2
    with av.open(str(out)) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    want = [float(p) / 1000 for p in sorted(pts)]  # Matroska's milliseconds
    assert all(abs(a - b) <= 0.041 for a, b in zip(times, want))
    assert abs(times[-1] - want[-1]) < 0.002 and times[40] - times[39] > 0.3  # the pause is kept


def test_containers_that_make_their_frame_times_up_are_copied(master, tmp_path):
    avi, m2v, mkv = tmp_path / "a.avi", tmp_path / "a.m2v", tmp_path / "a.mkv"
    ffmpeg("-i", str(master), *X264, "-an", str(avi))
    ffmpeg("-i", str(master), "-c:v", "mpeg2video", "-an", "-f", "mpeg2video", str(m2v))
    ffmpeg("-i", str(avi), "-c", "copy", str(mkv))
    assert seekable.needs_copy(avi) and seekable.needs_copy(m2v) and not seekable.needs_copy(mkv)


def test_repeated_timestamps_are_spread_toward_the_next():
    from jndenc.media.join import spread_repeats
    assert spread_repeats([0, 40, 80, 80, 80, 200, 240]) == [0, 40, 80, 120, 160, 200, 240]
    assert spread_repeats([0, 40, 80, 80]) == [0, 40, 80, 120]  # the last: by the interval before it
    assert spread_repeats([0, 1, 1, 2]) is None  # no room between 1 and 2 for two frames


@pytest.mark.parametrize("gop", ["closed", "open"])
def test_a_raw_stream_with_b_frames_is_copied_with_its_display_order(tmp_path, gop):
    """A raw H.264 stream has no timestamps, so each shot was decoded from the start of the input (every attempt of
    a shot an hour in decoded the hour before it). The restamped copy numbers its packets by their frames' places in
    display order; a seek to any frame's time in it (as an attempt seeks, a quarter of the way back to the frame
    before) decodes that very frame first, with B-frames and with open GOPs."""
    src = tmp_path / "raw.h264"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4", "-c:v", "libx264", "-preset", "veryfast",
           "-bf", "3", "-g", "25", *(["-x264-params", "open_gop=1"] if gop == "open" else []), "-f", "h264", str(src))
    want = frames_of(src)
    copy = seekable.restamped_copy(src, tmp_path / "copy.mkv", len(want))
    assert copy is not None and len(copy.times) == len(want) == 100
    assert all(b > a for a, b in zip(copy.times, copy.times[1:]))
    from jndenc.media.ffbin import ffmpeg_exe
    from jndenc.media.segments import seek_args
    for k in (1, 13, 24, 25, 26, 49, 63, 99):
        p = subprocess.run([ffmpeg_exe(), "-v", "error", *seek_args(copy.times[k], copy.times[k - 1]), "-i",
                            str(copy.path), "-frames:v", "1", "-pix_fmt", "yuv420p", "-f", "rawvideo", "-"],
                           capture_output=True, check=True, timeout=60)
        assert np.array_equal(np.frombuffer(p.stdout, np.uint8), want[k].ravel()), k


def test_a_copy_that_cannot_be_numbered_is_not_written(tmp_path):
    """Frames the analysis counted that the copy would not hold: no copy (each shot then decoded from the start)."""
    src = tmp_path / "raw.h264"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
           "-f", "h264", str(src))
    assert seekable.restamped_copy(src, tmp_path / "c.mkv", 26) is None and not (tmp_path / "c.mkv").exists()
    assert seekable.restamped_copy(src, tmp_path / "c.mkv", 25) is not None


def test_a_raw_h264_stream_is_encoded_frame_for_frame_from_its_copy(master, tmp_path):
    """Three shots of raw H.264 with B-frames: every later shot read from the restamped copy (no note that shots were
    decoded from the start), the output frame for frame the source's at its frame rate."""
    src = tmp_path / "raw.264"
    ffmpeg("-i", str(master), *X264_B, "-an", "-f", "h264", str(src))
    encoded_from_a_copy(src, tmp_path / "o.mp4")


def encoded_from_a_copy(src: Path, out: Path) -> None:
    """The default command on a 3-shot ``src`` without usable timestamps: every shot read from the restamped copy (no
    note that shots were decoded from the start), the output frame for frame the source's."""
    r = encode_cli(src, out)
    assert len(r["shots"]) == 3 and any("no usable timestamps" in n for n in r["notes"])
    assert not any("from the start" in n for n in r["notes"]), r["notes"]
    got, want = frames_of(out), frames_of(src)
    assert len(got) == len(want) == 150
    assert sum(n != 0 for n in _nearest(got, want)) <= 2
