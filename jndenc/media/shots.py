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

Whatever the detector, no shot is shorter than the minimum at the end either (`kept_cuts`), and `returns`
finds the shots that cut back to an earlier one, by the content score between the frames on either side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import UserError

THUMB = (64, 36)


# The content detector's cut threshold (mean |dHSV| between thumbnails, 0..255, PySceneDetect's default scale)
CUT_SCORE = 27.0


def thumbnail(image_bgr: np.ndarray) -> np.ndarray:
    """A frame as the content score sees it: a 64x36 HSV thumbnail."""
    import cv2  # deferred: the CLI imports this module for its option list

    return cv2.cvtColor(cv2.resize(image_bgr, THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2HSV).astype(np.int16)


def content_score(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |dHSV| between two thumbnails: at or above `CUT_SCORE` the content detector sees a cut."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@runtime_checkable
class ShotDetector(Protocol):
    def process(self, index: int, image_bgr: np.ndarray) -> list[int]:
        """Feed frames in order; return the cuts (first frames of new shots) this frame confirms.

        A cut may be reported a few frames after it happened (a detector that
        looks ahead), so the returned indices can be smaller than ``index``.
        """

    def finish(self) -> list[int]:
        """After the last frame: cuts still held back."""

    # optional: ``thumb``, the last frame's `thumbnail` where the detector made one (the analysis reuses it)


@dataclass
class ContentDetector:
    """Hand-written: mean |dHSV| (0..255) between consecutive 64x36 thumbnails."""

    threshold: float = CUT_SCORE
    min_shot_frames: int = 15
    _prev: np.ndarray | None = None
    _last_cut: int = 0

    @property
    def thumb(self) -> np.ndarray | None:
        """The last frame's thumbnail (`ShotEdges` keeps it instead of making its own)."""
        return self._prev

    def score(self, image_bgr: np.ndarray) -> float:
        hsv = thumbnail(image_bgr)
        prev, self._prev = self._prev, hsv
        if prev is None:
            return 0.0
        return content_score(hsv, prev)

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
        return ContentDetector(CUT_SCORE if threshold is None else threshold, min_shot_frames)
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


def kept_cuts(cuts: list[int], frames: int, min_shot_frames: int = 1) -> list[int]:
    """The cuts inside the video, sorted, less any that would leave a last shot shorter than ``min_shot_frames``.

    The detectors hold each cut ``min_shot_frames`` after the one before, but nothing holds the last cut back
    from the end: a fade's last frame or a flash a few frames from the end became a shot of its own, a key frame
    and a loop of attempts (three encodes) for a fraction of a second. Such a tail joins the shot before it."""
    inside = sorted(c for c in set(cuts) if 0 < c < frames)
    return [c for c in inside if frames - c >= max(1, int(min_shot_frames))]


def shots_from_cuts(cuts: list[int], frames: int, min_shot_frames: int = 1) -> list[tuple[int, int]]:
    """Cut indices (first frames of shots after the first) -> [start, end) ranges (`kept_cuts`)."""
    starts = [0] + kept_cuts(cuts, frames, min_shot_frames)
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


class ShotEdges:
    """The thumbnails on both sides of each cut, kept while the frames stream past (the last ``keep`` frames, so
    a detector that confirms a cut a few frames late still finds them): what `returns` compares."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._recent: dict[int, np.ndarray] = {}
        self.before: dict[int, np.ndarray] = {}  # cut -> the last frame of the shot it ends
        self.after: dict[int, np.ndarray] = {}  # cut -> the first frame of the shot it starts

    def add(self, index: int, image_bgr: np.ndarray, thumb: np.ndarray | None = None) -> None:
        """Frame ``index``; ``thumb``: its `thumbnail` where the caller has it already (the content detector's)."""
        self._recent[index] = thumbnail(image_bgr) if thumb is None else thumb
        self._recent.pop(index - self.keep, None)

    def cut(self, index: int) -> None:
        if index - 1 in self._recent and index in self._recent:
            self.before[index], self.after[index] = self._recent[index - 1], self._recent[index]


def returns(cuts: list[int], edges: ShotEdges, threshold: float = CUT_SCORE) -> list[tuple[int, int]]:
    """Shots that return to an earlier one: ``(start, earlier_start)`` where the shot starting at ``start`` opens on
    a frame the content detector would not tell from the last frame of the shot starting at ``earlier_start``
    (score under ``threshold``): a cut back to a camera of a dialogue, an interview, a stage. Only a shot at least
    two before it, which itself returns to none, is a candidate (the most alike one): the earlier shot's measured
    attempts tell where the returning one should start, and each such start is known once the earlier shots ran."""
    starts = [0] + sorted(cuts)
    ends = sorted(cuts) + [None]
    out: list[tuple[int, int]] = []
    resumed: set[int] = set()
    for k in range(2, len(starts)):
        first = edges.after.get(starts[k])
        if first is None:
            continue
        best = None
        for j in range(k - 1):
            last = edges.before.get(ends[j])
            if last is None or starts[j] in resumed:
                continue
            score = content_score(first, last)
            if score < threshold and (best is None or score < best[0]):
                best = (score, starts[j])
        if best is not None:
            out.append((starts[k], best[1]))
            resumed.add(starts[k])
    return out
