"""One streaming pass over the input: shot detection and JND prediction together.

Frames are decoded once at the model's input size; the detector looks at a
thumbnail of each, and sampled frames (every ``sample_every``-th plus the first
frame of every shot) go to the model in batches. Memory holds one batch of
frames, whatever the video's length.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .media.decode import iter_frames, uniform_format
from .media.probe import VideoInfo, probe
from .progress import bar
from .media.shots import (DEFAULT_DETECTOR, ShotDetector, ShotEdges, kept_cuts, make_detector,
                          returns, shots_from_cuts, split_long)

ANALYSIS_SIZE = (256, 144)  # used when no model decides the size (search/crf modes)


@dataclass
class ShotOptions:
    threshold: float | None = None  # content score (mean |dHSV|, 0..255) a cut must reach; None: the detector's own
    detector: str = DEFAULT_DETECTOR  # a name in jndenc.media.shots.DETECTORS
    min_shot_seconds: float = 0.5
    max_shot_seconds: float = 10.0


@dataclass
class Analysis:
    info: VideoInfo
    frames: int
    cuts: list[int]
    shots: list[tuple[int, int]]
    sample_index: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    sample_jnd: np.ndarray | None = None  # [M, 3]
    model: str | None = None
    seconds: float = 0.0
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per frame, seconds from the first
    truncated: str | None = None  # one line when the decode ended early (a truncated or corrupt input)
    damaged: str | None = None  # one line when frames decoded with concealed errors
    # (start, earlier start): shots that open on what an earlier shot ended on (`jndenc.media.shots.returns`)
    returns: list[tuple[int, int]] = field(default_factory=list)

    def shot_times(self) -> list[float] | None:
        if len(self.times) != self.frames or not np.all(np.isfinite(self.times)):
            return None
        return [float(self.times[a]) for a, _ in self.shots]

    def shot_jnd(self) -> np.ndarray:
        """[S, 3] median JND per shot of the samples inside it (nearest sample if none); NaN = level not predicted."""
        if self.sample_jnd is None:
            raise ValueError("analysis ran without a model")
        out = []
        for a, b in self.shots:
            inside = (self.sample_index >= a) & (self.sample_index < b)
            if inside.any():
                out.append(np.median(self.sample_jnd[inside], axis=0))
            else:
                mid = (a + b) / 2
                out.append(self.sample_jnd[int(np.argmin(np.abs(self.sample_index - mid)))])
        return monotone_levels(np.asarray(out, dtype=float))

    def frame_jnd(self) -> np.ndarray:
        """[frames, 3]: samples interpolated linearly within each shot, held flat at its edges."""
        out = np.zeros((self.frames, 3))
        shot_vals = self.shot_jnd()
        for (a, b), sv in zip(self.shots, shot_vals):
            inside = (self.sample_index >= a) & (self.sample_index < b)
            idx = np.arange(a, b)
            if inside.sum() >= 2:
                for c in range(3):
                    out[a:b, c] = np.interp(idx, self.sample_index[inside], self.sample_jnd[inside, c])
            else:
                out[a:b] = sv
        return monotone_levels(out)


def monotone_levels(jnd: np.ndarray) -> np.ndarray:
    """Sort JND1 <= JND2 <= JND3 within rows that have all three levels.

    Levels are monotone by definition, so a model's crossed heads are untangled;
    a single-head model leaves NaN in the levels it does not predict, and sorting
    those rows would move its one level into another's column.
    """
    out = np.array(jnd, dtype=float, copy=True)
    complete = np.all(np.isfinite(out), axis=1)
    out[complete] = np.sort(out[complete], axis=1)
    return out


def _refuse_changes(stream, info: VideoInfo) -> None:
    """An `InputError` once the picture's size, pixel format, colour matrix or range has changed mid-file."""
    if stream.resized:
        # every attempt's encoder and VMAF pass take one size: FFmpeg failed part way ("Conversion failed!")
        raise InputError(f"{stream.resized}: jndenc encodes one picture size; scale it to one first (ffmpeg "
                         f"-i IN -vf scale={info.width}:{info.height} ...) or split it where it changes")
    if stream.reformatted:
        # FFmpeg rebuilds its filters there, and an attempt's frame count starts again: wrong frames cut
        raise InputError(f"{stream.reformatted}: jndenc encodes one format; convert it to one first (ffmpeg "
                         f"-i IN -vf {uniform_format(stream.first_format)} ...) or split it where it changes")


def analyze(
    path: str | os.PathLike,
    predictor=None,
    *,
    info: VideoInfo | None = None,
    sample_every: int | None = None,
    shot_options: ShotOptions = ShotOptions(),
    detector: str | ShotDetector | None = None,
    batch_size: int = 32,
    quiet: bool = True,
) -> Analysis:
    """Detect shots and, with a ``predictor``, predict JND1..3 on sampled frames.

    ``detector``: a name (`jndenc.media.shots.DETECTORS`) or a fresh `ShotDetector`
    instance (it keeps state: one per call); None uses ``shot_options.detector``.
    """
    t0 = time.perf_counter()
    info = info or probe(path)
    fps = info.fps or 25.0
    size = tuple(predictor.input_size) if predictor is not None else ANALYSIS_SIZE
    every = sample_every or max(1, int(round(fps / 2)))
    min_shot_frames = max(1, int(round(shot_options.min_shot_seconds * fps)))
    detector = make_detector(shot_options.detector if detector is None else detector, fps=fps,
                             threshold=shot_options.threshold, min_shot_frames=min_shot_frames)
    cuts: list[int] = []
    idx_buf, img_buf, prev_buf = [], [], []
    sample_index, preds = [], []
    prev_img = None
    shot_start = 0

    def flush():
        if not img_buf:
            return
        prev = np.stack(prev_buf) if getattr(predictor, "uses_motion", False) else None
        preds.append(np.asarray(predictor.predict(np.stack(img_buf), prev, source_size=(info.width, info.height)),
                                dtype=float))
        sample_index.extend(idx_buf)
        idx_buf.clear(), img_buf.clear(), prev_buf.clear()

    n = 0
    times = []
    edges = ShotEdges()
    with bar(info.frames, "analysing", quiet) as pbar:
        stream = iter_frames(path, size=size)
        for fr in stream:
            _refuse_changes(stream, info)
            found = detector.process(fr.index, fr.image)  # a look-ahead detector confirms cuts a few frames late
            # a detector that keeps the frame's thumbnail (`thumb`) saves `ShotEdges` making its own
            edges.add(fr.index, fr.image, getattr(detector, "thumb", None))
            is_cut = bool(found)
            if is_cut:
                cuts.extend(found)
                for c in found:
                    edges.cut(c)
                shot_start = max(found)
            if predictor is not None and (is_cut or fr.index % every == 0):
                # motion reference: the previous frame of the same shot (none across a cut)
                same_shot_prev = prev_img if (prev_img is not None and fr.index > shot_start) else fr.image
                idx_buf.append(fr.index)
                img_buf.append(fr.image)
                prev_buf.append(same_shot_prev)
                if len(img_buf) >= batch_size:
                    flush()
            prev_img = fr.image
            times.append(fr.time)
            n = fr.index + 1
            pbar.update(1)
    late = detector.finish()
    for c in late:
        edges.cut(c)
    cuts = kept_cuts(cuts + late, n, min_shot_frames)
    if predictor is not None:
        flush()
    shots = split_long(shots_from_cuts(cuts, n, min_shot_frames), int(round(shot_options.max_shot_seconds * fps)))
    t = np.asarray(times, dtype=float)
    a = Analysis(info=info, frames=n, cuts=cuts, shots=shots, seconds=time.perf_counter() - t0,
                 times=t - t[0] if len(t) else t,
                 truncated=stream.truncation_message(info.frames if info.frames_exact else None),
                 damaged=stream.damage_message(),
                 returns=returns(cuts, edges))
    if predictor is not None and sample_index:
        a.sample_index = np.asarray(sample_index)
        a.sample_jnd = np.concatenate(preds)
        a.model = getattr(predictor, "name", None)
    return a
