"""A copy of the source's video that FFmpeg can seek in exactly, for inputs whose container has no index.

The shot loop reaches a shot by a time seek and then counts frames from where decoding starts (`segments.seek_args`).
That holds where the demuxer seeks to the key frame at or before the time asked for (MP4, Matroska, AVI: they carry
an index of key frames). MPEG-TS and MPEG-PS carry none: FFmpeg finds a position by timestamps alone, may land on a
frame that is not a key frame, and the decoder then drops every frame up to the next key frame, past the shot's
first. Every later shot of such a file came out a frame or more late, or the file was refused at a shot whose
frames ran short. One stream copy of the video into Matroska (no re-encode: it costs a read and a write of the video
stream) gives an index, and every attempt decodes from that copy.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import av

from ..errors import JndencError
from .decode import count_packets
from .probe import open_container
from .runner import run_ffmpeg

# AVFMT_TS_DISCONT: the container allows timestamp discontinuities, which is to say it is a stream format with no
# index (MPEG-TS, MPEG-PS, FLV among FFmpeg's demuxers); a seek in it is a search by timestamp
_TS_DISCONT = 0x0200


class Seekable(NamedTuple):
    """The file attempts decode and its start time in seconds (what FFmpeg's ``-ss`` counts from)."""

    path: Path
    start: float


def needs_copy(src: str | os.PathLike) -> bool:
    """Whether ``src``'s container has no index of key frames to seek by (`_TS_DISCONT`)."""
    with open_container(src) as c:
        return bool(c.format.flags & _TS_DISCONT)


def copy_args(src: str | os.PathLike, dst: str | os.PathLike) -> list[str]:
    """The source's first video stream, its packets as they are, into Matroska at ``dst``. ``-copyts`` keeps the
    timestamps (Matroska stores milliseconds, far finer than the quarter frame a seek aims off by). FFmpeg's stream
    copy drops the packets before the first key frame (a capture started mid-GOP), which the decoder drops too."""
    return ["-copyts", "-i", str(src), "-map", "0:V:0", "-c", "copy", "-an", "-sn",
            "-dn", "-f", "matroska", str(dst)]


def seekable_copy(src: str | os.PathLike, dst: Path, frames: int) -> Seekable | None:
    """Write `copy_args`'s copy to ``dst`` and return it, or None (``dst`` removed) when FFmpeg cannot copy the
    stream or the copy may not decode to the source's ``frames`` frames: it must hold one packet per frame, or every
    packet of the source (then it decodes as the source does). The caller then decodes each shot from the start of
    the source, which is slower but cannot miss a frame."""
    try:
        run_ffmpeg(copy_args(src, dst), what=f"copying the video of {Path(src).name} for seeking")
        held = count_packets(dst).frames
        same = held == frames or held == count_packets(src).frames
        with open_container(dst) as c:
            start = (c.start_time or 0) / 1_000_000
    except (JndencError, av.FFmpegError):
        same = False
    if not same:
        dst.unlink(missing_ok=True)
        return None
    return Seekable(dst, start)
