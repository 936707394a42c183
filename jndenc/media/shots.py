"""Shot boundaries and segments.

Detectors are fed from the one streaming PyAV decode that also samples frames
for the JND model (`jndenc.analyze`), at the analysis size, so no detector costs
a second decode. They share one small interface, `ShotDetector`, and are chosen
by name with `make_detector`:

- ``"content"``: the hand-written detector below, mean |dHSV| between
  consecutive 64x36 thumbnails, PySceneDetect's ``ContentDetector`` score on a
  smaller image.
- ``"scenedetect-content"``: PySceneDetect's ``ContentDetector`` on the
  analysis-size frame.
- ``"scenedetect-adaptive"``: PySceneDetect's ``AdaptiveDetector`` (content
  score divided by its rolling mean, which suppresses cuts on camera motion).

Default: ``"content"``, by measurement. The figures are in
benchmarks/shots.json (written by benchmarks/shots.py, which prints them as a
table: the same frames for every detector, at 256x144, minimum shot 0.5 s,
hits within +-1 frame, on generated cuts, generated pans/zooms, and shared
clips labelled by eye). The hand-written detector found every generated cut
and the most labelled ones, at less than half the time per frame of either
PySceneDetect detector. A missed cut is the costly error here: one CRF then
covers two contents and the harder one can cross its JND, while a false cut
only splits a shot whose halves get their own, near-equal CRFs.
PySceneDetect's ContentDetector scores the same quantity on a larger image
and found far fewer labelled cuts (its flash filter merges runs of short
shots, so most of LS_SVA_D's cuts are lost), with a few false cuts on motion
less. Its AdaptiveDetector made no false cut on camera
motion where ``content`` made several (a fast diagonal pan, a tracking pan,
handheld footage) but missed cuts that ``content`` found (motion-blurred
cuts, a cut between two sparse patterns): choose it for footage with fast
handheld or whip pans, ``--detector scenedetect-adaptive``. PySceneDetect
stays optional because its package requires the GUI ``opencv-python`` next
to the ``opencv-python-headless`` jndenc uses; install it with
``pip install --no-deps scenedetect platformdirs``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import UserError

THUMB = (64, 36)


@runtime_checkable
class ShotDetector(Protocol):
    def process(self, index: int, image_bgr: np.ndarray) -> list[int]:
        """Feed frames in order; return the cuts (first frames of new shots) this frame confirms.

        A cut may be reported a few frames after it happened (a detector that
        looks ahead), so the returned indices can be smaller than ``index``.
        """

    def finish(self) -> list[int]:
        """After the last frame: cuts still held back."""


@dataclass
class ContentDetector:
    """Hand-written: mean |dHSV| (0..255) between consecutive 64x36 thumbnails."""

    threshold: float = 27.0  # PySceneDetect's default scale: mean |dHSV| in 0..255
    min_shot_frames: int = 15
    _prev: np.ndarray | None = None
    _last_cut: int = 0

    def score(self, image_bgr: np.ndarray) -> float:
        import cv2  # deferred: the CLI imports this module for its option list

        thumb = cv2.resize(image_bgr, THUMB, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV).astype(np.int16)
        prev, self._prev = self._prev, hsv
        if prev is None:
            return 0.0
        return float(np.abs(hsv - prev).mean())

    def process(self, index: int, image_bgr: np.ndarray) -> list[int]:
        s = self.score(image_bgr)
        if index > 0 and s >= self.threshold and index - self._last_cut >= self.min_shot_frames:
            self._last_cut = index
            return [index]
        return []

    def finish(self) -> list[int]:
        return []


@dataclass
class SceneDetectDetector:
    """Adapter: a PySceneDetect ``SceneDetector`` fed frame by frame (frame indices <-> timecodes)."""

    detector: Any  # scenedetect.SceneDetector
    fps: float = 25.0
    _last: Any = field(default=None, repr=False)

    def _tc(self, index: int):
        from scenedetect.common import FrameTimecode

        return FrameTimecode(index, fps=self.fps)

    def process(self, index: int, image_bgr: np.ndarray) -> list[int]:
        self._last = self._tc(index)
        return [tc.frame_num for tc in self.detector.process_frame(self._last, image_bgr)]

    def finish(self) -> list[int]:
        if self._last is None:
            return []
        return [tc.frame_num for tc in self.detector.post_process(self._last)]


DETECTORS = ("content", "scenedetect-content", "scenedetect-adaptive")
DEFAULT_DETECTOR = "content"


def make_detector(
    spec: str | ShotDetector | None = None,
    *,
    fps: float = 25.0,
    threshold: float | None = None,
    min_shot_frames: int = 15,
) -> ShotDetector:
    """A fresh detector by name (see `DETECTORS`), or ``spec`` itself when it already is one.

    ``threshold`` is the content score (mean |dHSV|, 0..255) a cut must reach;
    None keeps each detector's own default. For the adaptive detector it is
    the floor under the adaptive ratio (its ``min_content_val``).
    """
    if spec is None:
        spec = DEFAULT_DETECTOR
    if not isinstance(spec, str):
        if not isinstance(spec, ShotDetector):
            raise UserError(f"shot detector {spec!r} has no process(index, image)/finish() methods")
        return spec
    if spec not in DETECTORS:
        raise UserError(f"unknown shot detector {spec!r}; choose one of {', '.join(DETECTORS)}")
    min_shot_frames = max(1, int(min_shot_frames))
    if spec == "content":
        return ContentDetector(27.0 if threshold is None else threshold, min_shot_frames)
    try:
        from scenedetect.detectors import AdaptiveDetector, ContentDetector as SDContent
    except ImportError:
        raise UserError(f"shot detector {spec!r} needs PySceneDetect: "
                        "pip install --no-deps scenedetect platformdirs") from None
    if spec == "scenedetect-content":
        kw = {} if threshold is None else {"threshold": threshold}
        return SceneDetectDetector(SDContent(min_scene_len=min_shot_frames, **kw), fps)
    kw = {} if threshold is None else {"min_content_val": threshold}
    return SceneDetectDetector(AdaptiveDetector(min_scene_len=min_shot_frames, **kw), fps)


def shots_from_cuts(cuts: list[int], frames: int) -> list[tuple[int, int]]:
    """Cut indices (first frames of shots after the first) -> [start, end) ranges."""
    starts = [0] + sorted(c for c in set(cuts) if 0 < c < frames)
    return [(a, b) for a, b in zip(starts, starts[1:] + [frames]) if b > a]


def split_long(shots: list[tuple[int, int]], max_frames: int) -> list[tuple[int, int]]:
    """Split shots longer than ``max_frames`` into equal segments so rate control can adapt."""
    if max_frames <= 0:
        return list(shots)
    out = []
    for a, b in shots:
        n = -(-(b - a) // max_frames)
        edges = [a + round(i * (b - a) / n) for i in range(n + 1)]
        out.extend((x, y) for x, y in zip(edges, edges[1:]))
    return out
