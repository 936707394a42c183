import subprocess

import numpy as np
import pytest

from jndenc.media.decode import count_decoded_frames, iter_frames
from jndenc.errors import InputError
from jndenc.media.probe import probe
from jndenc.media.ffbin import ffmpeg_exe


def test_probe_fields(cut_clip):
    info = probe(cut_clip)
    assert (info.width, info.height) == (160, 120)
    assert info.fps == pytest.approx(25.0)
    assert info.frames == 150 and info.frames_exact
    assert info.duration == pytest.approx(6.0, abs=0.1)
    assert info.audio_streams == 1 and info.video_streams == 1
    assert info.pix_fmt == "yuv420p" and info.bit_depth == 8
    assert not info.vfr and info.rotation == 0


def test_decode_count_matches_ffmpeg(cut_clip):
    # ffmpeg's own count of decoded frames, read from its null-muxer summary
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(cut_clip), "-map", "0:v", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    ff_frames = int(out.rsplit("frame=", 1)[1].split()[0])
    assert count_decoded_frames(cut_clip) == ff_frames == 150


def test_decode_streams_resized_bgr(cut_clip):
    frames = list(iter_frames(cut_clip, size=(64, 48), every=10))
    assert [f.index for f in frames] == list(range(0, 150, 10))
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    assert frames[1].time == pytest.approx(10 / 25)


@pytest.mark.parametrize("make,expect", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "directory"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(bytes(range(256)) * 64), "not a video"),
])
def test_bad_inputs_raise_input_error(tmp_path, make, expect):
    p = tmp_path / "bad.mp4"
    make(p)
    with pytest.raises(InputError, match=expect):
        probe(p)


def test_audio_only_is_rejected(tmp_path):
    p = tmp_path / "a.m4a"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(p)], check=True)
    with pytest.raises(InputError, match="no video stream"):
        probe(p)
