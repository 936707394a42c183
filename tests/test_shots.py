"""Shot detection: every selectable detector on real generated clips, fed by analyze's one decode."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import ffmpeg
from jndenc import plan
from jndenc.analyze import ANALYSIS_SIZE, ShotOptions, analyze
from jndenc.errors import UserError
from jndenc.media.shots import (DEFAULT_DETECTOR, DETECTORS, ContentDetector, kept_cuts, make_detector,
                                shots_from_cuts, split_long)

HAVE_SCENEDETECT = importlib.util.find_spec("scenedetect") is not None


def _needs(name: str):
    return pytest.param(name, marks=pytest.mark.skipif(name.startswith("scenedetect") and not HAVE_SCENEDETECT,
                                                       reason="PySceneDetect is not installed"))


ALL = [_needs(d) for d in DETECTORS]


@pytest.fixture(scope="session")
def pan_clip(clip_dir):
    """4 s pan (6 px/frame at 320 px wide) across one still mandelbrot image, back and forth: one shot."""
    still = clip_dir / "still.png"
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=1920x1080:end_scale=0.05", "-frames:v", "1", str(still))
    p = clip_dir / "pan.mp4"
    ffmpeg("-loop", "1", "-i", str(still), "-vf",
           "fps=25,trim=end_frame=100,crop=640:360:x='1280-abs(mod(n*12,2560)-1280)':y=360,scale=320:180,"
           "format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", str(p))
    return p


@pytest.mark.parametrize("name", ALL)
def test_each_detector_finds_generated_cuts(cut_clip, name):
    a = analyze(cut_clip, detector=name)
    assert a.frames == 150
    assert len(a.cuts) == 2, a.cuts
    for found, true in zip(a.cuts, [50, 100]):
        assert abs(found - true) <= 1
    assert a.shots[0][0] == 0 and a.shots[-1][1] == 150


@pytest.mark.parametrize("name", ALL)
def test_pan_over_still_is_one_shot(pan_clip, name):
    a = analyze(pan_clip, detector=name)
    assert a.frames == 100
    assert a.cuts == [] and a.shots == [(0, 100)]


def test_no_false_cuts_on_continuous_content(plain_clip):
    assert analyze(plain_clip).cuts == []


def test_unknown_detector_is_a_user_error(cut_clip):
    with pytest.raises(UserError, match="unknown shot detector 'nope'"):
        make_detector("nope")
    with pytest.raises(UserError, match="unknown shot detector"):
        analyze(cut_clip, detector="nope")
    with pytest.raises(UserError, match="unknown shot detector"):  # the CLI's route: plan -> ShotOptions
        plan(cut_clip, crf=23, shot_options=ShotOptions(detector="nope"))
    with pytest.raises(UserError, match="no process"):
        make_detector(object())


class LateDetector:
    """A real detector with look-ahead: it confirms the cut at 30 three frames late and one more at the end."""

    def __init__(self):
        self.seen: list[tuple[int, tuple]] = []

    def process(self, index, image_bgr):
        self.seen.append((index, image_bgr.shape))
        return [30] if index == 33 else []

    def finish(self):
        return [120]


def test_analyze_uses_a_detector_instance(cut_clip):
    det = LateDetector()
    a = analyze(cut_clip, detector=det)
    # every frame, in order, at the analysis size, from analyze's own decode
    assert [i for i, _ in det.seen] == list(range(150))
    assert {s for _, s in det.seen} == {(ANALYSIS_SIZE[1], ANALYSIS_SIZE[0], 3)}
    # its cuts, not the default detector's (50, 100), including the late and the held-back ones
    assert a.cuts == [30, 120]
    assert a.shots == [(0, 30), (30, 120), (120, 150)]


class TailDetector(LateDetector):
    def finish(self):
        return [147]  # 3 frames before the end of a 150-frame clip: under the 0.5 s minimum at 25 fps


def test_a_cut_just_before_the_end_joins_the_last_shot(cut_clip):
    a = analyze(cut_clip, detector=TailDetector())
    assert a.cuts == [30]
    assert a.shots == [(0, 30), (30, 150)]


@pytest.mark.parametrize("name", ALL)
def test_shot_options_reach_the_detector_through_plan(cut_clip, name):
    # a 3 s minimum shot drops the cut at 2 s (frame 50); the one at 4 s (frame 100) would leave a last shot of
    # 2 s, so it goes too (PySceneDetect's ContentDetector, flash filter in merge mode, drops it itself)
    assert len(plan(cut_clip, crf=23, shot_options=ShotOptions(detector=name)).shots) == 3
    p = plan(cut_clip, crf=23, shot_options=ShotOptions(detector=name, min_shot_seconds=3.0))
    assert [(s.start_frame, s.end_frame) for s in p.shots] == [(0, 150)]
    assert DEFAULT_DETECTOR in DETECTORS


def test_split_long_and_shots_from_cuts():
    assert shots_from_cuts([50, 100, 100, 0], 150) == [(0, 50), (50, 100), (100, 150)]
    # a cut that would leave a last shot under the minimum: the tail joins the shot before it
    assert kept_cuts([149, 50, 0, 150], 150, 15) == [50]
    assert shots_from_cuts([50, 140], 150, 15) == [(0, 50), (50, 150)]
    assert shots_from_cuts([50, 135], 150, 15) == [(0, 50), (50, 135), (135, 150)]
    segs = split_long([(0, 25), (25, 275)], 100)
    assert segs[0] == (0, 25) and segs[-1][1] == 275
    assert all(b - a <= 100 for a, b in segs) and len(segs) == 4
    assert all(s1[1] == s2[0] for s1, s2 in zip(segs, segs[1:]))


def test_detector_min_shot_length():
    d = ContentDetector(threshold=10, min_shot_frames=5)
    black, white = np.zeros((36, 64, 3), np.uint8), np.full((36, 64, 3), 255, np.uint8)
    cuts = [i for i in range(12) if d.process(i, white if i % 2 else black)]
    assert cuts == [5, 10]


def test_returns_finds_a_cut_back_to_a_shot_two_or_more_before():
    """Frames of three looks: red A, green B, dark grey C; cuts at 10, 20, 30, 40 between A B A C A (A's frames a
    little brighter each time). The shots at 20 and 40 open on what the shot at 0 ended on; the one at 30
    (grey) on nothing seen before; a shot that itself returns is no candidate."""
    from jndenc.media.shots import ShotEdges, returns

    def img(bgr, k=0):
        return np.full((36, 64, 3), [min(255, c + k) for c in bgr], np.uint8)

    looks = [(0, 0, 200)] * 10 + [(0, 200, 0)] * 10 + [(0, 0, 200)] * 10 + [(50, 50, 50)] * 10 + [(0, 0, 200)] * 10
    edges = ShotEdges(keep=8)
    for i, bgr in enumerate(looks):
        edges.add(i, img(bgr, i // 10))
        if i in (10, 20, 30, 40):
            edges.cut(i)
    assert returns([10, 20, 30, 40], edges) == [(20, 0), (40, 0)]
    assert returns([10, 20, 30, 40], edges, threshold=0.5) == []  # nothing alike at a stricter score
    late = ShotEdges(keep=4)  # a cut confirmed after its frames left the window is not compared
    for i, bgr in enumerate(looks):
        late.add(i, img(bgr))
    late.cut(20)
    assert returns([10, 20], late) == []
