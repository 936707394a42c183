"""A copy of the source's video that FFmpeg seeks in exactly, for inputs whose container has no index or stores no
presentation timestamps.

The shot loop reaches a shot by a time seek and then counts frames from where decoding starts (`segments.seek_args`).
That holds where the demuxer seeks to the key frame at or before the time asked for and where the frame times jndenc
read (with PyAV's FFmpeg libraries) are the ones the FFmpeg that runs the attempts sees. Two kinds of container
break it:

- MPEG-TS and MPEG-PS carry no index: FFmpeg finds a position by timestamps alone, may land on a frame that is not a
  key frame, and the decoder then drops every frame up to the next key frame, past the shot's first.
- AVI stores no presentation timestamps and a raw MPEG video stream only its parser's guesses: FFmpeg makes them up,
  and PyAV's libraries and the FFmpeg command line made them up a frame apart (H.264 in AVI: every later shot one
  frame early or late).

One stream copy of the video into Matroska (no re-encode: it costs a read and a write of the video stream) gives an
index and stored timestamps; every attempt decodes from the copy and seeks by the copy's own frame times.

Where the input's timestamps cannot say which frame is where (a raw H.264 or HEVC stream has none; H.264 with
B-frames in AVI has them in decode order; two captures joined end to end have a clock that goes back; a malformed
file repeats some), FFmpeg's copy cannot give them either, and each shot used to be decoded from the start of the
input: every attempt of a shot an hour in decoded the hour before it. `restamped_copy` decodes the video once,
numbering its packets, reads the number each frame comes out with, and writes the packets with the times of their
frames' places in display order, which FFmpeg then seeks by like any indexed file's.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av

from ..errors import JndencError
from .join import Stamps
from .probe import _pick_video_stream, open_container
from .runner import run_ffmpeg

# AVFMT_TS_DISCONT: the container allows timestamp discontinuities, which is to say it is a stream format with no
# index (MPEG-TS, MPEG-PS, FLV among FFmpeg's demuxers); a seek in it is a search by timestamp
_TS_DISCONT = 0x0200
# FFmpeg's demuxers whose presentation timestamps are made up rather than read: AVI (a frame index), a raw MPEG-1/2
# video stream. Raw H.264/HEVC streams have none at all, and the loop decodes their shots from the start
_INVENTED_TIMESTAMPS = ("avi", "mpegvideo")


class Seekable(NamedTuple):
    """The copy attempts decode, its start time (what FFmpeg's ``-ss`` counts from) and each of its frames' time
    after that start, in seconds, in display order."""

    path: Path
    start: float
    times: list[float]


class Reading(NamedTuple):
    """How the shot loop's attempts and the probes read an input (`reading`)."""

    path: Path | None  # the copy they decode; None: the input itself
    times: list[float] | None  # each frame's time from the start of what they decode, which seeks go by; None: none
    failed: bool = False  # a copy was needed and could not stand for the frames (they decode from the start)


def seconds(stamps: Stamps) -> list[float]:
    """Each frame's time in seconds from the input's start (what FFmpeg's ``-ss`` counts from)."""
    return [float(p * stamps.time_base) - stamps.start for p in stamps.pts]


def reading(src: str | os.PathLike, stamps: Stamps | None, dst: Path, frames: int) -> Reading:
    """How to reach the frames of ``src`` whose timestamps are ``stamps`` (`jndenc.media.join.source_timestamps`):
    by the input's own frame times where its container seeks exactly (`needs_copy`); else from the seekable copy
    (`seekable_copy`, written to ``dst``), or where the timestamps are unusable (None), repeat (a seek could not tell
    such frames apart) or the copy cannot stand for the frames, from the `restamped_copy`; with neither, no seek
    (``failed``: each shot decoded from the start of the input)."""
    if stamps is not None and not stamps.repeated:
        if not needs_copy(src):
            return Reading(None, seconds(stamps))
        copy = seekable_copy(src, dst, frames)
        if copy is not None:
            return Reading(copy.path, copy.times)
    copy = restamped_copy(src, dst, frames)
    return Reading(None, None, True) if copy is None else Reading(copy.path, copy.times)


def needs_copy(src: str | os.PathLike) -> bool:
    """Whether ``src``'s container has no index of key frames to seek by (`_TS_DISCONT`) or makes its frame times up
    (`_INVENTED_TIMESTAMPS`)."""
    with open_container(src) as c:
        return bool(c.format.flags & _TS_DISCONT) or c.format.name in _INVENTED_TIMESTAMPS


def copy_args(src: str | os.PathLike, dst: str | os.PathLike) -> list[str]:
    """The source's first video stream, its packets as they are, into Matroska at ``dst``. ``-copyts`` keeps the
    timestamps (Matroska stores milliseconds, far finer than the quarter frame a seek aims off by); ``+genpts``
    gives a packet that has none the one its decode order implies (AVI with B-frames, a raw MPEG-2 stream: Matroska
    refuses a packet without one, and without the copy every shot of an XviD film was decoded from its start).
    FFmpeg's stream copy drops the packets before the first key frame (a capture started mid-GOP), which the decoder
    drops too."""
    return ["-fflags", "+genpts", "-copyts", "-i", str(src), "-map", "0:V:0", "-c", "copy", "-an", "-sn", "-dn",
            "-f", "matroska", str(dst)]


def frame_times(path: str | os.PathLike, ordered: bool = False) -> tuple[list[float], float] | None:
    """The video packets' presentation times of ``path`` in seconds after its start, sorted, and that start; None
    where a packet has none, two share one, or (unless ``ordered``: stamped in display order by `restamped_copy`) a
    stream that reorders its frames has them in decode order (made up from it: ``+genpts`` on H.264 with B-frames in
    AVI), since then they cannot say which frame is where."""
    with open_container(path) as c:
        st = c.streams.video[0]
        pts = [p.pts for p in c.demux(st) if p.size]
        start = (c.start_time or 0) / 1_000_000
        tb = st.time_base
        reorders = bool(st.codec_context.has_b_frames)
    if tb is None or None in pts or len(set(pts)) != len(pts):
        return None
    if reorders and not ordered and len(pts) > 2 and all(b > a for a, b in zip(pts, pts[1:])):
        return None
    return [float(p * tb) - start for p in sorted(pts)], start


def display_order(src: str | os.PathLike) -> tuple[list[int], int] | None:
    """Which packet (numbered in decode order, empty ones left out) each frame of the analysed video stream comes
    from, in display order, and how many packets there are; None where a frame comes from no numbered packet or two
    from one (fields coded as two packets, say). The decoder carries each packet's timestamp to the frame it makes,
    so numbering the packets before decoding them reads the order off."""
    seen: list[int] = []
    n = 0
    with open_container(src) as c:
        st, _ = _pick_video_stream(c)
        st.thread_type = "AUTO"
        for pkt in c.demux(st):
            if pkt.size:
                pkt.pts = pkt.dts = n
                n += 1
            seen += [f.pts for f in pkt.decode()]
    if None in seen or len(set(seen)) != len(seen):
        return None
    return seen, n


def restamped_copy(src: str | os.PathLike, dst: Path, frames: int) -> Seekable | None:
    """The analysed video stream of ``src`` copied (no re-encode) into Matroska at ``dst`` with each packet stamped
    at its frame's place in display order (`display_order`) at the stream's frame rate, and returned; None (``dst``
    removed) where that order cannot be read, or the copy would not decode to the ``frames`` frames the analysis
    counted. Packets before the first one that makes a frame (a capture cut mid-GOP) are left out, as FFmpeg's own
    stream copy leaves them; a packet after it that makes none means the order cannot be read."""
    got = None
    try:
        order = display_order(src)
        if order is not None and len(order[0]) == frames and frames:
            _write_restamped(src, dst, *order)
            got = frame_times(dst, ordered=True)
    except (JndencError, av.FFmpegError, ValueError):
        pass
    if got is None or len(got[0]) != frames:
        dst.unlink(missing_ok=True)
        return None
    return Seekable(dst, got[1], got[0])


def _write_restamped(src: str | os.PathLike, dst: Path, seen: list[int], count: int) -> None:
    place = {p: k for k, p in enumerate(seen)}
    first = min(seen)
    if len(place) != count - first:
        raise ValueError("a packet after the first frame's makes no frame")
    # decode times one frame apart in decode order, early enough that none comes after its frame's display time
    delay = max(0, max(p - k for k, p in enumerate(seen)) - first)
    with open_container(src) as c, av.open(str(dst), "w", format="matroska") as out:
        st, _ = _pick_video_stream(c)
        rate = st.average_rate or st.guessed_rate or Fraction(25)
        tb = Fraction(1, 90000)
        tick = 90000 / Fraction(rate)
        ost = out.add_stream_from_template(st)
        n = 0
        for pkt in c.demux(st):
            if not pkt.size:
                continue
            i, n = n, n + 1
            if i < first:
                continue
            pkt.stream = ost
            pkt.time_base = tb
            pkt.pts = round(place[i] * tick)
            pkt.dts = round((i - first - delay) * tick)
            out.mux(pkt)


def seekable_copy(src: str | os.PathLike, dst: Path, frames: int) -> Seekable | None:
    """Write `copy_args`'s copy to ``dst`` and return it, or None (``dst`` removed) when FFmpeg cannot copy the
    stream or the copy may not decode to the source's ``frames`` frames (it must hold one packet per frame, each
    with its own timestamp). The caller then decodes each shot from the start of the source, which is slower but
    cannot miss a frame."""
    got = None
    try:
        run_ffmpeg(copy_args(src, dst), what=f"copying the video of {Path(src).name} for seeking")
        got = frame_times(dst)
    except (JndencError, av.FFmpegError):
        pass
    if got is None or len(got[0]) != frames:
        dst.unlink(missing_ok=True)
        return None
    return Seekable(dst, got[1], got[0])
