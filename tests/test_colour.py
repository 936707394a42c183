"""What the 4:2:0 output does with a source that is not 4:2:0 YUV: RGB is converted with the BT.601 matrix and the
output tagged so, finer chroma and alpha are said in the notes; checked on real encodes of generated RGB clips."""
from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest

from conftest import ffmpeg
from jndenc.media.probe import bit_depth_of, colour_args, format_notes, is_rgb
from jndenc.media.segments import SegmentCodec, codec_args


@pytest.mark.parametrize("pix, rgb, depth, said", [
    ("yuv420p", False, 8, []),
    ("yuv420p10le", False, 10, []),
    ("p010le", False, 10, []),  # the name has no "p10": FFmpeg's own description says 10 bits
    ("rgb48le", True, 16, ["RGB"]),
    ("gbrp", True, 8, ["RGB"]),
    ("pal8", True, 8, ["RGB"]),  # a palette of RGB colours (old AVIs, GIF as some decoders give it)
    ("bgra", True, 8, ["RGB", "alpha"]),
    ("yuv422p10le", False, 10, ["4:2:2"]),
    ("yuv444p", False, 8, ["4:4:4"]),
    ("yuva420p", False, 8, ["alpha"]),
    ("gray", False, 8, []),
    ("not-a-format", False, 8, []),
])
def test_what_a_pixel_format_gives_up_and_how_it_is_tagged(pix, rgb, depth, said):
    assert is_rgb(pix) is rgb and bit_depth_of(pix) == depth
    notes = format_notes(pix)
    assert len(notes) == len(said) and all(word in note for word, note in zip(said, notes)), notes
    assert colour_args(pix) == ((("colorspace", "smpte170m"), ("color_range", "tv")) if rgb else ())


def test_a_segments_colour_tags_come_before_the_users_own():
    codec = SegmentCodec(colour=colour_args("gbrp"))
    args = codec_args(codec, 23)
    assert args[args.index("-colorspace") + 1] == "smpte170m" and args[args.index("-color_range") + 1] == "tv"
    mine = codec_args(SegmentCodec(colour=colour_args("gbrp"), params=(("colorspace", "bt709"),)), 23)
    assert mine[mine.index("-colorspace") + 1] == "bt709" and mine.count("-colorspace") == 1
    assert "-colorspace" not in codec_args(SegmentCodec(), 23)


def _luma_gaps(src, out) -> tuple[float, float]:
    """Mean absolute gap between the output's first luma plane and the source's first frame converted with BT.601
    and with BT.709."""
    with av.open(str(src)) as a, av.open(str(out)) as b:
        rgb = next(a.decode(video=0))
        got = next(b.decode(video=0))
        assert got.colorspace == 6 and got.color_range == 1  # smpte170m, limited range: what was used
        y = got.to_ndarray(format="yuv420p")[: got.height].astype(float)
        gaps = []
        for matrix in ("ITU601", "ITU709"):
            ref = rgb.reformat(format="yuv420p", dst_colorspace=matrix, dst_color_range="MPEG")
            gaps.append(float(np.abs(ref.to_ndarray()[: got.height].astype(float) - y).mean()))
    return gaps[0], gaps[1]


@pytest.mark.parametrize("effort, ext", [("balanced", ".mp4"), ("fast", ".mkv")])
def test_an_rgb_source_is_converted_with_bt601_and_tagged_so(tmp_path, effort, ext):
    src = tmp_path / "rgb.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=192x128:rate=25", "-t", "1", "-pix_fmt", "gbrp", "-c:v", "ffv1",
           str(src))
    out = tmp_path / f"out{ext}"
    run = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src), str(out), "--effort", effort,
                          "--json", "--quiet"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert any(n.startswith("RGB input") for n in result["notes"]), result["notes"]
    bt601, bt709 = _luma_gaps(src, out)
    # testsrc2's saturated colours give the two matrices' lumas apart by several levels; the output is the first
    assert bt601 < 3 and bt709 > 2 * bt601, (bt601, bt709)
