"""Streaming decode with PyAV: frames come out one at a time, never the whole video."""
from __future__ import annotations

import functools
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

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
    for them; `truncation_message` words it. ``resized`` is one line once a
    frame's picture size differs from the first frame's (a capture that
    switches channel or format mid-file), else None; ``reformatted`` the same
    once its pixel format, colour matrix or range does (`frame_format`).
    """

    def __init__(self, path: str | os.PathLike, frames: Iterator[DecodedFrame] = iter(())):
        self.path = path
        self._frames = frames
        self.decoded = 0
        self.error: str | None = None
        self.declared: int | None = None
        self.lead_in = 0  # frame intervals before the first frame that decodes (a capture cut mid-GOP)
        self.corrupt = 0  # frames the decoder flagged corrupt (damaged data it concealed)
        self.resized: str | None = None
        self.reformatted: str | None = None
        self.first_format: tuple[str, str, str] | None = None  # the first frame's `frame_format`

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
        if self.error is None and self.lead_in >= 2:
            return (f"{self.path}: {self.decoded}{of} frames decode; the ones before its first key frame cannot (a "
                    "stream cut mid-GOP)")
        return f"{self.path}: truncated input: decoded {self.decoded}{of} frames{why}"

    def damage_message(self) -> str | None:
        """After iterating: one line when the decoder concealed damaged data in some frames, else None. FFmpeg
        decodes such a file without an error, and its concealed blocks would be encoded (and measured) as if
        they were the picture."""
        if not self.corrupt:
            return None
        return (f"{self.path}: damaged input: {self.corrupt} of {self.decoded} frames decoded with errors the "
                "decoder concealed; they are encoded as decoded (check the source)")


def iter_frames(
    path: str | os.PathLike,
    size: tuple[int, int] | None = None,
    colour: str = "bgr",
    every: int = 1,
    threads: int = 0,
    prefetch: int = 4,
) -> FrameStream:
    """Frames of the default video stream, resized to ``size`` (w, h), one at a time.

    Resizing happens in swscale while converting, which is far cheaper than
    converting full frames to numpy and resizing afterwards. ``every`` keeps
    every Nth frame (indices still count all frames). ``prefetch`` > 0 runs the
    conversion in a helper thread up to that many frames ahead (swscale
    releases the GIL, so it overlaps the caller's work on earlier frames;
    same pixels, ~20% less wall time for a 720p analysis on two cores); 0
    converts in the caller's thread. A decode error part way (truncated file)
    ends the iteration after what decoded, like FFmpeg does, and is recorded
    in the returned stream's ``error``; an error before the first frame raises
    `InputError`.
    """
    stream = FrameStream(path)
    frames = _decode(path, size, colour, every, threads, stream)
    stream._frames = _prefetched(frames, prefetch) if prefetch > 0 else _converted(frames)
    return stream


def _converted(frames: Iterator[tuple[int, float, Callable[[], np.ndarray]]]) -> Iterator[DecodedFrame]:
    for index, t, convert in frames:
        yield DecodedFrame(index, t, convert())


def _prefetched(frames: Iterator[tuple[int, float, Callable[[], np.ndarray]]], depth: int) -> Iterator[DecodedFrame]:
    pending: deque = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="jndenc-convert") as pool:
        try:
            for index, t, convert in frames:
                pending.append((index, t, pool.submit(convert)))
                if len(pending) > depth:
                    i, tt, fut = pending.popleft()
                    yield DecodedFrame(i, tt, fut.result())
            while pending:
                i, tt, fut = pending.popleft()
                yield DecodedFrame(i, tt, fut.result())
        finally:
            for *_, fut in pending:
                fut.cancel()
            frames.close()


def frame_format(frame: av.VideoFrame) -> tuple[str, str, str]:
    """What the FFmpeg command line rebuilds its filters for when it changes mid-stream (besides the size): the
    pixel format, the colour matrix and the range, as names. A rebuilt filter starts counting frames again, so an
    attempt's ``trim`` that spans such a change cut the wrong frames (two TS captures joined end to end, 4:2:0 then
    4:4:4: a shot spanning the change came out a frame off from there, exit 0; one starting at it was refused after
    every attempt as "may be damaged")."""
    # PyAV's libraries name a full-range picture yuvj420p, which the command line's FFmpeg calls yuv420p (range pc)
    return (frame.format.name.replace("yuvj", "yuv"), _MATRICES.get(int(frame.colorspace), str(frame.colorspace)),
            _RANGES.get(int(frame.color_range), str(frame.color_range)))


def format_change(first: tuple[str, str, str], now: tuple[str, str, str], index: int) -> str:
    """What changed between two `frame_format`s at frame ``index``, in words: "the range changes at frame 75 (from
    tv to pc)"."""
    names = [n for n, a, b in zip(("pixel format", "colour matrix", "range"), first, now) if a != b]
    what = (" and ".join(names) if len(names) < 3 else f"{names[0]}, {names[1]} and {names[2]}"
            ) + (" changes" if len(names) == 1 else " change")
    was, became = ("/".join(x for x, y in zip(f, g) if x != y) for f, g in ((first, now), (now, first)))
    return f"the {what} at frame {index} (from {was} to {became})"


def uniform_format(first: tuple[str, str, str] | None) -> str:
    """The FFmpeg filter that gives every frame the ``first`` frame's `frame_format` (where FFmpeg's scale filter
    knows its matrix and range by name)."""
    if first is None:
        return "format=yuv420p"
    fmt, matrix, rng = first
    opts = [f"out_color_matrix={_SCALE_MATRICES[matrix]}"] if matrix in _SCALE_MATRICES else []
    opts += [f"out_range={rng}"] if rng in ("tv", "pc") else []
    return (f"scale={':'.join(opts)}," if opts else "") + f"format={fmt}"


# the matrices FFmpeg's scale filter converts to, by their frame_format names
_SCALE_MATRICES = {"bt709": "bt709", "fcc": "fcc", "bt470bg": "bt470", "smpte170m": "smpte170m",
                   "smpte240m": "smpte240m", "bt2020nc": "bt2020"}


# FFmpeg's names of its AVColorSpace and AVColorRange values (PyAV's enums leave "unspecified" out)
_MATRICES = dict(enumerate(("gbr", "bt709", "unknown", "reserved", "fcc", "bt470bg", "smpte170m", "smpte240m",
                            "ycgco", "bt2020nc", "bt2020c", "smpte2085", "chroma-derived-nc", "chroma-derived-c",
                            "ictcp")))
_RANGES = {0: "unknown", 1: "tv", 2: "pc"}


def _decode(path, size, colour, every, threads, out: FrameStream):
    """(index, time, convert) per kept frame, ``convert()`` giving its pixels; see `iter_frames`."""
    fmt = {"bgr": "bgr24", "rgb": "rgb24", "gray": "gray"}[colour]
    kw = {"format": fmt}
    if size is not None:
        kw.update(width=size[0], height=size[1])
    container = open_container(path)
    try:
        stream, _ = _pick_video_stream(container)
        stream.thread_type = "AUTO"
        if threads:
            stream.codec_context.thread_count = threads
        out.declared = stream.frames or None
        index = 0
        tb = float(stream.time_base) if stream.time_base else float("nan")
        start = stream.start_time
        last_end = None  # where the last decoded frame stops showing, in the stream's time base
        first_size = None
        try:
            for frame in container.decode(stream):
                first_size = first_size or (frame.width, frame.height)
                if out.resized is None and (frame.width, frame.height) != first_size:
                    out.resized = (f"{path}: the picture size changes at frame {index} (from {first_size[0]}x"
                                   f"{first_size[1]} to {frame.width}x{frame.height})")
                if out.first_format is None:
                    out.first_format = frame_format(frame)
                elif out.reformatted is None and (now := frame_format(frame)) != out.first_format:
                    out.reformatted = f"{path}: {format_change(out.first_format, now, index)}"
                if frame.pts is not None:
                    last_end = max(last_end or frame.pts, frame.pts + (frame.duration or 0))
                if index == 0 and start is not None and frame.pts is not None and stream.average_rate:
                    # frames lost before the first that decodes: a stream cut mid-GOP, not a file cut short
                    out.lead_in = max(0, round(float((frame.pts - start) * stream.time_base * stream.average_rate)))
                out.decoded = index + 1
                out.corrupt += bool(getattr(frame, "is_corrupt", False))
                if index % every == 0:
                    t = frame.pts * tb if frame.pts is not None else float("nan")
                    yield index, t, functools.partial(frame.to_ndarray, **kw)
                index += 1
        except av.FFmpegError as exc:
            if index == 0:
                raise InputError(f"{path}: video does not decode: {exc.strerror or exc}") from None
            # Truncated/corrupt tail: keep what decoded, and say so (FFmpeg itself only logs it).
            out.error = str(exc.strerror or exc)
        else:
            # frame-threaded decoding can swallow the error of a cut last packet: the header tells
            out.error = _short_of_header(stream, index, last_end)
    finally:
        container.close()


def _short_of_header(stream, decoded: int, last_end: int | None) -> str | None:
    """Why a stream that decoded without an error is short of what its header states, or None where it is not.

    The header's duration decides where it has one: its frame count also counts an edit list's pre-roll, which
    never shows (every file cut with ``ffmpeg -ss S -c copy`` has one), so a complete cut decoded 122 of its 182
    listed frames. Short means the last frame stops showing more than a frame and a half before the header's end, and
    (where the header counts frames) fewer frames decoded than it lists: a variable-rate recording whose last frame
    shows for seconds and states no duration of its own ends early by time alone."""
    declared = stream.frames or None
    fewer = declared is not None and decoded < declared - 1
    if stream.duration and stream.time_base and stream.average_rate and last_end is not None:
        end = (stream.start_time or 0) + stream.duration
        if (end - last_end) * stream.time_base * stream.average_rate > 1.5 and (fewer or declared is None):
            return (f"the decoder stopped at {float(last_end * stream.time_base):.2f} s of the "
                    f"{float(end * stream.time_base):.2f} s the header lists")
        return None
    if fewer:
        return f"the decoder stopped after {decoded} of the {declared} frames the header lists"
    return None


def count_decoded_frames(path: str | os.PathLike) -> int:
    """Exact number of decodable frames (decodes everything; used for validation)."""
    n = 0
    for _ in iter_frames(path, size=(16, 16), colour="gray"):
        n += 1
    return n


@dataclass
class PacketCount:
    """What demuxing the default video stream (no decode) says about a file; see `count_packets`."""

    frames: int  # packets that carry a frame
    corrupt: int  # packets the demuxer flagged corrupt (a damaged or cut file)
    last_key_pts: int | None  # pts of the last keyframe packet (None: no keyframe / no timestamps)
    tail_frames: int  # frame packets at or after the last keyframe in presentation order: its GOP
    bytes: int  # the packets' payload: the video stream's size without container overhead


def count_packets(path: str | os.PathLike) -> PacketCount:
    """Count the video stream's frames from its packets, without decoding them.

    One packet carries one frame for every codec jndenc writes (x264/x265,
    progressive), so this is the frame count at demux cost (~1% of a decode).
    A file cut short loses its last packets (Matroska) or reports the missing
    ones as read errors or corrupt packets (MP4 with the index in front), so
    a short count or ``corrupt`` > 0 both mean a damaged file. Raises
    `InputError` when the file does not open.
    """
    container = open_container(path)
    frames = corrupt = tail = size = 0
    last_key = None
    try:
        stream, _ = _pick_video_stream(container)
        after_key: list[int | None] = []  # pts of the packets since the last keyframe (decode order)
        try:
            for pkt in container.demux(stream):
                if pkt.size == 0:  # the flush packet at the end
                    continue
                frames += 1
                size += pkt.size
                corrupt += bool(pkt.is_corrupt)
                if pkt.is_keyframe:
                    last_key = pkt.pts
                    after_key = []
                after_key.append(pkt.pts)
        except av.FFmpegError:
            corrupt += 1  # a read error part way: the packets before it are counted, the file is damaged
        # leading pictures of an open GOP (x265 CRA) follow the keyframe in decode order but show
        # before it and need the previous GOP: not part of what decoding from the keyframe gives
        tail = sum(1 for p in after_key if last_key is None or p is None or p >= last_key)
    finally:
        container.close()
    return PacketCount(frames, corrupt, last_key, tail, size)


def decode_tail(path: str | os.PathLike, key_pts: int | None) -> int:
    """Frames that decode from the keyframe at ``key_pts`` to the end (pts >= it); 0 on a decode error.

    With `count_packets` this checks that a file's end decodes without decoding
    all of it: seek to the last keyframe, decode its GOP (frame-threaded, no
    pixel conversion), count the frames.
    """
    n = _tail(path, key_pts, seek=True)
    # a seek that lands nowhere decodes nothing without an error (MPEG-TS, asked for its first key frame): the
    # tail is then decoded from the start, as a file with one GOP has to be anyway
    return n if n or key_pts is None else _tail(path, key_pts, seek=False)


def _tail(path: str | os.PathLike, key_pts: int | None, seek: bool) -> int:
    container = open_container(path)
    n = 0
    try:
        stream, _ = _pick_video_stream(container)
        stream.thread_type = "AUTO"
        if key_pts is not None and seek:
            container.seek(key_pts, stream=stream, backward=True, any_frame=False)
        try:
            for frame in container.decode(stream):
                if key_pts is None or frame.pts is None or frame.pts >= key_pts:
                    n += 1
        except av.FFmpegError:
            return 0
    finally:
        container.close()
    return n
