"""The measured segments joined into one video stream without re-encoding, and muxed with the source's other
streams.

The concat demuxer re-times each file by the previous one's duration, which breaks variable frame rate: `join`
gives every packet the timestamp of the source frame it shows instead, read from the source by `source_timestamps`.
`mux_args` is pure.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple, Sequence

import av
import numpy as np

from ..errors import JndencError
from .ffargs import container_args
from .probe import open_container


class Stamps(NamedTuple):
    """The source's video timestamps, as the join needs them."""

    pts: list[int]  # presentation timestamps of the frames, display order
    time_base: Fraction
    start: float  # the input's start time in seconds (what FFmpeg's ``-ss`` counts from)
    end: int | None  # where the last frame stops showing (its pts plus its duration); None: not stored
    repeated: int = 0  # frames that shared a timestamp with the frame before, given one between it and the next


def source_timestamps(src: str | os.PathLike, stream_index: int, frames: int) -> Stamps | None:
    """The source's `Stamps`, from its packets (demux only), or where packets and frames differ in number (a
    capture cut mid-GOP: packets before its first key frame decode to nothing) from its decoded frames. None when
    the timestamps cannot stand for the frames (missing, out of order, or not one per frame). A few frames sharing
    a timestamp (a malformed file) are spread between it and the next (`spread_repeats`, counted in ``repeated``)."""
    with open_container(src) as c:
        st = c.streams.video[stream_index]
        pkts = []
        try:  # a packet the edit list discards (pre-roll) is never shown
            pkts += [(p.pts, p.duration) for p in c.demux(st) if p.size and not getattr(p, "is_discard", False)]
        except av.FFmpegError:
            pass  # a truncated file: the count below differs, and the decode pass reads what there is
        tb = st.time_base
        start = (c.start_time or 0) / 1_000_000
    if tb is None:
        return None
    if len(pkts) != frames or any(p is None for p, _ in pkts):
        # a decode pass, only here: stamping such frames at a constant rate from 0 would move the video against
        # its audio by the undecodable lead-in
        pkts = []
        with open_container(src) as c:
            st = c.streams.video[stream_index]
            st.thread_type = "AUTO"
            try:
                for f in c.decode(st):
                    pkts.append((f.pts, f.duration or 0))
            except av.FFmpegError:
                pass  # a truncated or damaged tail: the frames before it are the ones the analysis counted
        if len(pkts) != frames or any(p is None for p, _ in pkts):
            return None
    if _jumps_back([p for p, _ in pkts]):
        return None
    pts = spread_repeats(sorted(p for p, _ in pkts))
    if pts is None:
        return None
    repeated = len(pts) - len(set(p for p, _ in pkts))
    last, last_duration = max(pkts)
    end = last + last_duration if last_duration else None
    return Stamps(pts, Fraction(tb), start, None if end is not None and end <= pts[-1] else end, repeated)


def spread_repeats(pts: list[int]) -> list[int] | None:
    """Sorted timestamps with each run of repeats spread evenly between its timestamp and the next one; None where
    the next leaves no room. Stamping the whole file at its frame rate instead dropped a recording's pauses, and its
    picture drifted 0.8 s from its sound."""
    out = list(pts)
    if not out:
        return None
    i = 0
    while i < len(out):
        j = i
        while j + 1 < len(out) and out[j + 1] == out[i]:
            j += 1
        if j > i:
            # up to the next timestamp, or at the interval before them where the file ends on them
            room = out[j + 1] - out[i] if j + 1 < len(out) else (out[i] - out[i - 1]) * (j - i + 1) if i else 0
            if room < j - i + 1:
                return None
            for k in range(i + 1, j + 1):
                out[k] = out[i] + room * (k - i) // (j - i + 1)
        i = j + 1
    return out


def stream_start(src: str | os.PathLike, stream_index: int) -> tuple[float, float]:
    """Where the video stream starts, in seconds, as the container says (its start where it says nothing), and the
    container's start."""
    with open_container(src) as c:
        st = c.streams.video[stream_index]
        start = (c.start_time or 0) / 1_000_000
        first = float(st.start_time * st.time_base) if st.start_time is not None and st.time_base else start
    return first, start


# How far a frame's place in display order may lie from its place in decode order: B-frame reordering keeps it
# within the decoder's picture buffer (16 frames in H.264 and HEVC); further is a clock that jumped back
REORDER_LIMIT = 32


def _jumps_back(pts: Sequence[int]) -> bool:
    """Whether timestamps in decode order jump back further than reordering explains: two captures joined end to
    end whose second started its clock earlier than the first ended. Sorted, their frames would interleave (the
    first capture's frames took the second's times, and the output lost a third of its frames)."""
    rank = np.argsort(np.argsort(np.asarray(pts), kind="stable"), kind="stable")
    return bool(len(pts)) and int(np.abs(rank - np.arange(len(pts))).max()) > REORDER_LIMIT


def join(segments: Sequence[Path], starts: Sequence[int], timestamps: Sequence[int], time_base: Fraction,
         out: Path, end: int | None = None) -> None:
    """Write the segments' video packets, in order, as one stream in ``out`` (MP4), each packet stamped with
    the source timestamp of the frame it shows and shown until the next frame's; decode timestamps trail them by
    the encoder's reorder delay.

    ``starts`` are the source frame index of each segment's first frame; ``timestamps`` the source's frame
    timestamps in display order, in ``time_base``; ``end`` where the last frame stops showing (None: one frame
    interval after it, as the interval before it).
    """
    per_seg = []
    delay = 0
    for seg in segments:
        with open_container(seg) as c:
            pkts = [p for p in c.demux(c.streams.video[0]) if p.size]
            pts = [p.pts for p in pkts]
            if None in pts or len(set(pts)) != len(pts):
                # the display order cannot be told: refuse rather than write frames out of order
                raise JndencError(f"{seg.name}: segment timestamps missing or repeated; cannot join it")
            order = np.argsort(pts, kind="stable")
        rank = np.empty(len(pkts), int)
        rank[order] = np.arange(len(pkts))
        delay = max(delay, int(max((i - r for i, r in enumerate(rank)), default=0)))
        per_seg.append(rank)
    step = timestamps[1] - timestamps[0] if len(timestamps) > 1 else 1

    def ts(k: int) -> int:
        return int(timestamps[k]) if k >= 0 else int(timestamps[0] + k * step)

    n = len(timestamps)
    last_step = timestamps[-1] - timestamps[-2] if n > 1 else step
    # each packet shows until the next frame; the segment's own durations are in the segment's time base, and
    # the MP4 muxer takes the last one as the last frame's, which would cut the output short
    ends = [*timestamps[1:], end if end is not None and end > timestamps[-1] else timestamps[-1] + last_step]

    with open_container(segments[0]) as first, av.open(str(out), "w", format="mp4") as oc:
        ost = oc.add_stream_from_template(first.streams.video[0], opaque=True)  # a copy: no encoder needed
        ost.time_base = time_base
        sar = first.streams.video[0].sample_aspect_ratio
        if sar:
            # AV1 and VP9 carry no pixel aspect in their bitstream (H.264 and HEVC do): the container's is the
            # only one, and the template leaves it behind, which showed an anamorphic 16:9 source at 3:2
            ost.codec_context.sample_aspect_ratio = sar
        for seg, a, rank in zip(segments, starts, per_seg):
            with open_container(seg) as c:
                pkts = [p for p in c.demux(c.streams.video[0]) if p.size]
                for i, p in enumerate(pkts):
                    p.stream = ost
                    p.time_base = time_base
                    k = a + int(rank[i])
                    p.pts = ts(k)
                    p.dts = ts(a + i - delay)
                    p.duration = int(ends[k]) - p.pts
                    oc.mux(p)


def mux_args(video: Path, src: str | os.PathLike, out: Path, stream_maps: Sequence[str], stream_kw: dict,
             start: float | None = None, options: dict | None = None, tags: dict[str, str] | None = None,
             frame_time: Fraction | None = None) -> list[str]:
    """The joined video with the source's other streams (``stream_maps``, e.g. ``a``, ``s``, copied or converted
    as ``stream_kw`` says) and metadata, every timestamp moved back by the source's ``start`` time (seconds),
    so the output starts at 0 as a plain FFmpeg transcode's does: an MPEG-TS capture may start hours in, and
    its output would show those hours as an empty lead-in. ``options``: the output's own muxer options
    (`jndenc.media.enc_params.output_options`), over jndenc's container options; ``tags``: the output video
    stream's; ``frame_time``: a constant-rate source's frame interval in seconds, the time base AVI gets (AVI stores
    one frame per tick: copied from the join's MP4 it was stamped at 600 ticks a second, a 25 fps file declaring
    600 fps with 23 empty index entries between frames)."""
    # one offset for every stream (never each input's own start), so audio keeps its place against the video
    shift = ["-output_ts_offset", f"{-start:.6f}"] if start else []
    args = ["-copyts", "-i", str(video), "-i", str(src), "-map", "0:v:0"]
    for m in stream_maps:
        args += ["-map", f"1:{m}?"]
    args += ["-c:v", "copy"]
    for k, v in stream_kw.items():
        args += [f"-{k}", str(v)]
    # the source video stream's own tags (`jndenc.media.probe.video_tags`), as a one-pass encode keeps them: set
    # one by one, since a stream -map_metadata would stop FFmpeg copying every other stream's (an attachment's
    # mimetype, without which Matroska refuses it)
    for k, v in (tags or {}).items():
        args += ["-metadata:s:v:0", f"{k}={v}"]
    args += ["-map_metadata", "1", *shift]
    if frame_time and Path(out).suffix.lower() == ".avi":
        args += ["-time_base:v", f"{frame_time.numerator}/{frame_time.denominator}"]
    return args + container_args(out, options) + [str(out)]
