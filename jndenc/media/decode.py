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


def iter_frames(
    path: str | os.PathLike,
    size: tuple[int, int] | None = None,
    colour: str = "bgr",
    every: int = 1,
    threads: int = 0,
) -> Iterator[DecodedFrame]:
    """Yield frames of the default video stream, resized to ``size`` (w, h).

    Resizing happens in swscale while converting, which is far cheaper than
    converting full frames to numpy and resizing afterwards. ``every`` keeps
    every Nth frame (indices still count all frames). A decode error part way
    (truncated file) ends the iteration after what decoded, like FFmpeg does;
    an error before the first frame raises `InputError`.
    """
    fmt = {"bgr": "bgr24", "rgb": "rgb24", "gray": "gray"}[colour]
    container = open_container(path)
    try:
        stream, _ = _pick_video_stream(container)
        stream.thread_type = "AUTO"
        if threads:
            stream.codec_context.thread_count = threads
        index = 0
        tb = float(stream.time_base) if stream.time_base else float("nan")
        try:
            for frame in container.decode(stream):
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
            # Truncated/corrupt tail: keep what decoded; callers compare counts.
    finally:
        container.close()


def count_decoded_frames(path: str | os.PathLike) -> int:
    """Exact number of decodable frames (decodes everything; used for validation)."""
    n = 0
    for _ in iter_frames(path, size=(16, 16), colour="gray"):
        n += 1
    return n
