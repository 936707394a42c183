"""Output validation (issue 15): frames counted from packets, last GOP decoded; a cut output is refused."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jndenc.encode import encode
from jndenc.output import validate_output
from jndenc.errors import UserError
from jndenc.media.decode import count_decoded_frames, count_packets, decode_tail


@pytest.fixture(scope="module", params=["mp4", "mkv"])
def encoded(request, cut_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("val") / f"o.{request.param}"
    r = encode(cut_clip, out, crf=30, preset="ultrafast")
    return out, r.plan


def _cut(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def test_packet_count_matches_decode_and_tail_decodes(encoded):
    out, plan = encoded
    pc = count_packets(out)
    assert pc.frames == count_decoded_frames(out) == plan.frames and pc.corrupt == 0
    # the plan puts keyframes at the shot cuts: the last GOP is the last shot (or less), never the whole file
    assert 0 < pc.tail_frames <= plan.frames - plan.shots[-1].start_frame
    assert decode_tail(out, pc.last_key_pts) == pc.tail_frames
    for mode in ("fast", "full"):
        validate_output(out, plan, want_audio=True, mode=mode)


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_cut_output_is_refused(encoded, tmp_path, mode):
    out, plan = encoded
    cut = _cut(out, tmp_path / f"cut{out.suffix}", 0.6)
    with pytest.raises(UserError, match="output discarded|does not open"):
        validate_output(cut, plan, want_audio=False, mode=mode)


def test_count_short_of_the_plan_is_refused(tmp_path, encoded):
    """A plan that expects more frames than the output has is refused (the check before the rename)."""
    out, plan = encoded
    copy = tmp_path / f"copy{out.suffix}"
    shutil.copy(out, copy)
    longer = type(plan).from_dict({**plan.to_dict()})
    longer.frames = plan.frames + 10
    with pytest.raises(UserError, match=f"has {plan.frames} frames, plan has {plan.frames + 10}"):
        validate_output(copy, longer, want_audio=False, mode="fast")
    with pytest.raises(UserError, match="unknown validation"):
        validate_output(copy, plan, want_audio=False, mode="quick")
