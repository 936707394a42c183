"""Streaming decode with PyAV: frames come out one at a time, never the whole video."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import av
import numpy as np

from ..errors import InputError
from .probe import _pick_video_stream, open_container


@dataclass
class DecodedFrame:
    index: int  # presentation-order index, the unit of every frame range in a plan
    time: float  # seconds (pts * time_base), NaN if the stream has no timestamps
    image: np.ndarray  # HxWx3 uint8, colour order as requested


class FrameStream(Iterator[DecodedFrame]):
    """What `iter_frames` returns: iterate it for frames; afterwards it says how the stream ended.

    ``decoded`` counts every frame the decoder gave (also those ``every`` skipped).
    ``error`` is None when decoding reached the end of the stream, or the
    decoder's message when an error part way (a truncated or corrupt file)
    ended it early: the frames before it were yielded, the rest are lost.
    ``declared`` is the frame count the container's header states (None when
    it states none, e.g. Matroska). Callers decide what a short stream means
    for them; `truncation_message` words it.
    """

    def __init__(self, path: str | os.PathLike, frames: Iterator[DecodedFrame] = iter(())):
        self.path = path
        self._frames = frames
        self.decoded = 0
        self.error: str | None = None
        self.declared: int | None = None

    def __next__(self) -> DecodedFrame:
        return next(self._frames)

    def close(self) -> None:
        """Stop early and release the file (also happens when the stream is garbage-collected)."""
        self._frames.close()

    def truncation_message(self, expected: int | None = None) -> str | None:
        """After iterating: one line when frames are missing, else None.

        Missing means a decode error ended the stream, or fewer frames decoded
        than ``expected`` (`VideoInfo.frames` when ``frames_exact``), with one
        frame of slack (a demuxer may count a last partial packet as a frame).
        The header's count only words the message: edit lists can make a
        complete file decode fewer frames than its header lists.
        """
        if self.error is None and (expected is None or self.decoded >= expected - 1):
            return None
        known = [n for n in (expected, self.declared) if n]
        want = max(known) if known else None
        of = f" of {want}" if want is not None else ""
        why = f" ({self.error})" if self.error else ""
        return f"{self.path}: truncated input: decoded {self.decoded}{of} frames{why}"


def iter_frames(
    path: str | os.PathLike,
    size: tuple[int, int] | None = None,
    colour: str = "bgr",
    every: int = 1,
    threads: int = 0,
) -> FrameStream:
    """Frames of the default video stream, resized to ``size`` (w, h), one at a time.

    Resizing happens in swscale while converting, which is far cheaper than
    converting full frames to numpy and resizing afterwards. ``every`` keeps
    every Nth frame (indices still count all frames). A decode error part way
    (truncated file) ends the iteration after what decoded, like FFmpeg does,
    and is recorded in the returned stream's ``error``; an error before the
    first frame raises `InputError`.
    """
    stream = FrameStream(path)
    stream._frames = _decode(path, size, colour, every, threads, stream)
    return stream


def _decode(path, size, colour, every, threads, out: FrameStream) -> Iterator[DecodedFrame]:
    fmt = {"bgr": "bgr24", "rgb": "rgb24", "gray": "gray"}[colour]
    container = open_container(path)
    try:
        stream, _ = _pick_video_stream(container)
        stream.thread_type = "AUTO"
        if threads:
            stream.codec_context.thread_count = threads
        out.declared = stream.frames or None
        index = 0
        tb = float(stream.time_base) if stream.time_base else float("nan")
        try:
            for frame in container.decode(stream):
                out.decoded = index + 1
                if index % every == 0:
                    kw = {"format": fmt}
                    if size is not None:
                        kw.update(width=size[0], height=size[1])
                    image = frame.to_ndarray(**kw)
                    t = frame.pts * tb if frame.pts is not None else float("nan")
                    yield DecodedFrame(index, t, image)
                index += 1
        except av.FFmpegError as exc:
            if index == 0:
                raise InputError(f"{path}: video does not decode: {exc.strerror or exc}") from None
            # Truncated/corrupt tail: keep what decoded, and say so (FFmpeg itself only logs it).
            out.error = str(exc.strerror or exc)
    finally:
        container.close()


def count_decoded_frames(path: str | os.PathLike) -> int:
    """Exact number of decodable frames (decodes everything; used for validation)."""
    n = 0
    for _ in iter_frames(path, size=(16, 16), colour="gray"):
        n += 1
    return n
