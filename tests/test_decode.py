"""Streaming decode: a truncated file is decoded as far as it goes, and the loss is reported, not hidden."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import ffmpeg
from jndenc.errors import InputError
from jndenc.media.decode import iter_frames
from jndenc.media.probe import probe

FRAMES = 100


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    # faststart: the index sits in front, so a file cut short still opens and decodes up to the cut
    p = tmp_path_factory.mktemp("decode") / "whole.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={FRAMES // 25}", "-c:v", "libx264",
           "-preset", "ultrafast", "-movflags", "+faststart", str(p))
    return p


@pytest.fixture(scope="module")
def truncated(whole) -> Path:
    p = whole.with_name("truncated.mp4")
    data = whole.read_bytes()
    p.write_bytes(data[: len(data) // 2])  # bytes cut off the end, as by an interrupted copy
    return p


def test_complete_file_reports_nothing(whole):
    s = iter_frames(whole, size=(32, 24))
    assert len(list(s)) == FRAMES
    assert s.error is None and s.decoded == FRAMES and s.declared == FRAMES
    assert s.truncation_message(probe(whole).frames) is None


def test_truncated_file_keeps_decoded_frames_and_records_the_error(truncated):
    s = iter_frames(truncated, size=(32, 24))
    got = [f.index for f in s]
    assert 0 < len(got) < FRAMES and got == list(range(len(got)))
    assert s.decoded == len(got)
    assert s.error  # the decoder's message, e.g. "Invalid data found when processing input"
    msg = s.truncation_message(probe(truncated).frames)
    assert msg == f"{truncated}: truncated input: decoded {len(got)} of {FRAMES} frames ({s.error})"


def test_decoded_counts_every_frame_when_sampling(truncated):
    s = iter_frames(truncated, size=(32, 24), every=10)
    got = [f.index for f in s]
    assert got == list(range(0, s.decoded, 10)) and s.error


def test_short_stream_without_decode_error_is_reported_against_the_expected_count(whole):
    s = iter_frames(whole, size=(32, 24))
    for _ in s:
        pass
    assert s.truncation_message(FRAMES + 1) is None  # one frame of slack (a last partial packet)
    assert s.truncation_message(2 * FRAMES) == f"{whole}: truncated input: decoded {FRAMES} of {2 * FRAMES} frames"


def test_nothing_decodes_is_an_input_error(whole, tmp_path):
    bad = tmp_path / "head.mp4"
    bad.write_bytes(whole.read_bytes()[:2000])  # the index and no picture
    with pytest.raises(InputError):
        list(iter_frames(bad))


def test_truncated_input_is_reported_by_predict_and_encode(truncated, tmp_path):
    import jndenc
    from jndenc.media.decode import count_decoded_frames

    d = jndenc.predict(truncated).to_dict()  # the shipped model
    assert any("truncated input" in n for n in d["notes"])
    r = jndenc.encode(truncated, tmp_path / "out.mp4", crf=30).to_dict()
    assert any("truncated input" in n and "encoded the" in n for n in r["notes"])
    assert count_decoded_frames(tmp_path / "out.mp4") == r["frames"] == d["frames"] < FRAMES


def test_a_truncated_inputs_encode_stops_at_the_frames_the_plan_covers(truncated, whole):
    """FFmpeg's decoder can get a frame or two more than PyAV out of a damaged tail (a 1080p clip cut mid-GOP gave
    49 against 47): the one-pass command stops at the plan's frames, so validation does not refuse the output."""
    from jndenc.one_pass import build_command
    from jndenc.planner import PlanOptions, fixed_plan

    for src, cut in ((truncated, True), (whole, False)):
        info = probe(src)
        plan = fixed_plan([(0, 60)], 30, 60, 25.0, PlanOptions())
        if cut:
            plan.stats["truncated"] = f"{src}: truncated input: decoded 60 of {FRAMES} frames"
        args = build_command(src, src.with_name("o.mp4"), plan, info, [], {})
        assert ("-frames:v" in args and args[args.index("-frames:v") + 1] == "60") == cut, args


@pytest.mark.parametrize("cut", [False, True])
def test_prefetched_conversion_gives_the_same_frames_in_order(whole, truncated, cut):
    src = truncated if cut else whole
    a, b = iter_frames(src, size=(32, 24), prefetch=0), iter_frames(src, size=(32, 24), prefetch=3)
    fa, fb = list(a), list(b)
    assert [f.index for f in fa] == [f.index for f in fb] and len(fa) > 0
    assert all(np.array_equal(x.image, y.image) and x.time == y.time for x, y in zip(fa, fb))
    assert (a.decoded, a.error) == (b.decoded, b.error)


def test_stopping_a_prefetched_stream_early_releases_it(whole):
    s = iter_frames(whole, size=(32, 24), prefetch=4)
    first = [next(s) for _ in range(3)]
    s.close()
    assert [f.index for f in first] == [0, 1, 2]
    with pytest.raises(StopIteration):
        next(s)


def test_the_default_shot_loop_encodes_a_truncated_input_as_far_as_it_decodes(truncated, tmp_path):
    """A partial download (index in front, tail cut) runs through balanced's segments as through one pass: the
    source's timestamps are read as far as the file decodes, not given up on with the decoder's error."""
    import os

    import jndenc
    from jndenc.media.decode import count_decoded_frames

    cpus = os.sched_getaffinity(0)
    # on one core the decoder runs one thread and raises the cut packet's error (frame threads swallow it)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        r = jndenc.encode(truncated, tmp_path / "out.mkv").to_dict()
    finally:
        os.sched_setaffinity(0, cpus)
    assert r["effort"] == "balanced"
    assert any("truncated input" in n and "encoded the" in n for n in r["notes"])
    assert count_decoded_frames(tmp_path / "out.mkv") == r["frames"] < FRAMES


@pytest.fixture(scope="module")
def cut(whole) -> Path:
    """A complete file cut with ``-ss S -c copy``: its index lists the frames from the key frame before S, and an
    edit list hides those before S (the pre-roll), which decode to nothing."""
    p = whole.with_name("cut.mp4")
    ffmpeg("-ss", "1.5", "-i", str(whole), "-c", "copy", str(p))
    return p


def test_an_edit_lists_pre_roll_is_not_taken_for_a_truncated_file(cut, tmp_path):
    import jndenc

    s = iter_frames(cut, size=(32, 24))
    got = sum(1 for _ in s)
    assert 0 < got < FRAMES - 30  # the pre-roll decodes to nothing
    assert s.error is None
    info = probe(cut)
    assert info.frames == got and info.frames_exact
    assert s.truncation_message(info.frames) is None
    r = jndenc.encode(cut, tmp_path / "out.mkv", crf=30).to_dict()
    assert r["frames"] == got
    assert not any("truncated" in n for n in r["notes"])


def test_frames_the_decoder_concealed_damage_in_are_said(whole, tmp_path):
    """Bytes damaged mid-file decode without an error (the decoder conceals them): the result says so."""
    import jndenc

    data = bytearray(whole.read_bytes())
    rng = np.random.default_rng(7)
    for i in rng.integers(len(data) // 3, 2 * len(data) // 3, 60):
        data[i] ^= 0xFF
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    s = iter_frames(bad, size=(32, 24))
    n = sum(1 for _ in s)
    assert s.corrupt > 0 and n > 0 and s.error is None
    assert s.damage_message() == (f"{bad}: damaged input: {s.corrupt} of {n} frames decoded with errors the decoder "
                                  "concealed; they are encoded as decoded (check the source)")
    notes = jndenc.predict(bad).to_dict()["notes"]
    assert any("damaged input" in x for x in notes), notes
    clean = iter_frames(whole, size=(32, 24))
    assert sum(1 for _ in clean) == FRAMES and clean.corrupt == 0 and clean.damage_message() is None
