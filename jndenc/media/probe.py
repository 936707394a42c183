"""Describe an input video with PyAV: the facts the rest of the pipeline needs."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av

from ..errors import InputError
from .timing import variable_rate

_IMAGE_CODECS = {"png", "mjpeg", "bmp", "tiff", "webp", "gif", "jpegls", "jpeg2000"}


@dataclass
class VideoInfo:
    path: str
    container: str
    width: int
    height: int
    fps: float
    frames: int  # counted or estimated; `frames_exact` says which
    frames_exact: bool
    duration: float
    codec: str
    pix_fmt: str
    bit_depth: int
    vfr: bool
    rotation: int
    interlaced: bool
    video_stream: int  # index among video streams
    video_streams: int
    audio_streams: int
    subtitle_streams: int
    bitrate: int | None = None
    notes: list[str] = field(default_factory=list)
    hdr: str | None = None  # "PQ" or "HLG" where the stream says so (its transfer characteristic)

    def to_dict(self) -> dict:
        return asdict(self)


def _check_path(path: Path) -> None:
    if not path.exists():
        if "%" in path.name:  # FFmpeg's image-sequence pattern, which jndenc does not expand
            raise InputError(f"{path}: no such file (image sequences are not read: make a video of them first, e.g. "
                             f"ffmpeg -i '{path.name}' -c:v ffv1 seq.mkv)")
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: not readable (permission denied)")


def open_container(path: str | os.PathLike) -> av.container.InputContainer:
    """Open for reading with errors turned into one-line `InputError`s."""
    p = Path(path)
    _check_path(p)
    try:
        return av.open(str(p), mode="r")
    except av.error.InvalidDataError:
        raise InputError(f"{p}: not a video file FFmpeg can read (invalid data)") from None
    except av.FFmpegError as exc:
        if p.suffix.lower() in RAW_EXTENSIONS:  # headerless: nothing in the file says its size or pixel format
            raise InputError(f"{p}: raw video carries no size, rate or pixel format; wrap it in Y4M first (ffmpeg "
                             f"-f rawvideo -pix_fmt yuv420p -s WxH -r FPS -i {p.name} {p.stem}.y4m)") from None
        raise InputError(f"{p}: cannot open: {exc.strerror or exc}") from None


RAW_EXTENSIONS = (".yuv", ".rgb", ".raw", ".nv12")


def _pixel_format(pix: str):
    try:
        return av.VideoFormat(pix, 16, 16)
    except (ValueError, TypeError):
        return None


def bit_depth_of(pix: str) -> int:
    """Bits per sample of an FFmpeg pixel format name (``yuv420p10le``: 10, ``rgb48le``: 16); 8 where neither
    FFmpeg nor the name says."""
    fmt = _pixel_format(pix)
    if fmt is not None and fmt.components:
        return max(8, max(c.bits for c in fmt.components))
    depth = 8
    for tag, d in (("p16", 16), ("p14", 14), ("p12", 12), ("p10", 10), ("p9", 9)):
        if tag in pix:
            depth = d
    return depth


def is_rgb(pix: str) -> bool:
    """Whether frames of pixel format ``pix`` are RGB (``gbrp``, ``rgb24``, ``bgra``, a palette of RGB colours:
    ``pal8``), not YUV or grey."""
    return _rgb(_pixel_format(pix))


def _rgb(fmt) -> bool:
    return bool(fmt is not None and (fmt.is_rgb or fmt.has_palette))


# chroma plane size of a 16x16 frame -> the subsampling's name
_SUBSAMPLING = {(16, 16): "4:4:4", (8, 16): "4:2:2", (16, 8): "4:4:0", (4, 16): "4:1:1"}


def format_notes(pix: str) -> list[str]:
    """What the 4:2:0 output gives up of a source in pixel format ``pix``, for the result's notes: alpha, chroma
    finer than 4:2:0, RGB (converted with the BT.601 matrix, as FFmpeg converts, and tagged so: `colour_args`)."""
    fmt = _pixel_format(pix)
    if fmt is None:
        return []
    notes = []
    colour = [c for c in fmt.components if not c.is_alpha and not c.is_luma]
    if _rgb(fmt):
        notes.append(f"RGB input ({pix}): converted to 4:2:0 YUV with the BT.601 matrix, as FFmpeg converts, and "
                     "tagged so (smpte170m, limited range) for players to convert it back alike; VMAF scores the "
                     "luma of that conversion, not the chroma resolution given up")
    elif len(colour) == 2 and colour[0].width * colour[0].height > 8 * 8:  # more chroma than 4:2:0's quarter
        sub = _SUBSAMPLING.get((colour[0].width, colour[0].height), "chroma finer than 4:2:0")
        notes.append(f"{sub} input ({pix}): the output is 4:2:0, as delivery encodes are; VMAF scores luma only, "
                     "so the chroma resolution given up is not in its measurement")
    if any(c.is_alpha for c in fmt.components):
        notes.append(f"{pix} input: its alpha channel is dropped (4:2:0 video carries no transparency)")
    return notes


def colour_args(pix: str) -> tuple[tuple[str, str], ...]:
    """Output colour tags for a source in pixel format ``pix``: an RGB source's conversion to YUV uses BT.601 (the
    conversion FFmpeg makes for the encoder and for VMAF's reference alike) and left the output untagged, which
    players read as BT.709 at HD sizes (reds and greens shifted); tagging it makes them convert back with the
    matrix it was made with. YUV sources: none (FFmpeg carries their own tags through). FFmpeg output options as
    (key, value) pairs (`jndenc.media.enc_params.Params`): a user's own ``--enc colorspace=...`` comes after them."""
    return (("colorspace", "smpte170m"), ("color_range", "tv")) if is_rgb(pix) else ()


def _flagged(stream, flag: str) -> bool:
    """Whether ``stream``'s disposition has ``flag`` (e.g. ``attached_pic``). PyAV gives an integer flag
    set whose text is its number ("1024"), not the flag's name, so a test on the text never matched."""
    disp = getattr(stream, "disposition", None)
    if disp is None:
        return False
    return bool(int(disp) & int(getattr(av.stream.Disposition, flag)))


def is_cover(stream) -> bool:
    """Cover art: a video stream holding one still picture (``attached_pic``)."""
    return _flagged(stream, "attached_pic")


# a video stream's tags that describe the source's own encode, not a re-encode of it: its encoder, its duration and
# the statistics mkvmerge writes (BPS, NUMBER_OF_FRAMES, NUMBER_OF_BYTES, _STATISTICS_*: wrong for another encode)
_STATISTICS_TAGS = ("bps", "number_of_frames", "number_of_bytes")
_ENCODE_TAGS = ("encoder", "duration", *_STATISTICS_TAGS)


def _stream_tags(path: str | os.PathLike) -> dict[str, str]:
    container = open_container(path)
    try:
        return dict(_pick_video_stream(container)[0].metadata)
    finally:
        container.close()


def _describes_encode(key: str, names: tuple[str, ...]) -> bool:
    return key.lower().split("-")[0] in names or key.upper().startswith("_STATISTICS")


def video_tags(path: str | os.PathLike) -> dict[str, str]:
    """The tags of ``path``'s video stream (the one `probe` picks) that a re-encode keeps: its language, title,
    handler, start timecode and the like, not what describes the source's own encode."""
    return {k: v for k, v in _stream_tags(path).items() if not _describes_encode(k, _ENCODE_TAGS)}


def statistics_tags(path: str | os.PathLike) -> list[str]:
    """The names of the statistics of ``path``'s video stream that mkvmerge writes (its bit rate, frame and byte
    counts): FFmpeg copies them into an encode of the stream, where they would describe the source, not it."""
    return [k for k in _stream_tags(path) if _describes_encode(k, _STATISTICS_TAGS)]


def _pick_video_stream(container) -> tuple[av.video.stream.VideoStream, int]:
    """The first video stream that is not cover art: the one FFmpeg's ``0:V:0`` names, which every FFmpeg run
    of jndenc reads from the source (and the index of ``0:v:N`` that names it)."""
    streams = list(container.streams.video)
    if not streams:
        raise InputError(f"{container.name}: no video stream")
    for i, s in enumerate(streams):
        if not is_cover(s):
            return s, i
    if len(container.streams.audio):
        raise InputError(f"{container.name}: no video stream, only cover art (an audio file)")
    return streams[0], 0


def _first_frame(path, container, stream):
    """Decode one frame: proves the stream decodes and reveals the display rotation."""
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as exc:
        raise InputError(f"{path}: video stream does not decode: {exc.strerror or exc}") from None
    raise InputError(f"{path}: video stream has no decodable frames")


def _count_frames(container, stream) -> tuple[int, bool, list, tuple[float, float] | None]:
    """Count video packets (cheap: no decode), collect pts for VFR detection, and the first and the last packet's
    pts in seconds (None without timestamps)."""
    n = 0
    pts = []
    lo = hi = None
    for packet in container.demux(stream):
        # an edit list's pre-roll (a file cut with -ss ... -c copy) is demuxed to decode from, never shown
        if packet.size == 0 or getattr(packet, "is_discard", False):
            continue
        n += 1
        if packet.pts is not None:
            if len(pts) < 4000:
                pts.append(packet.pts)
            lo = packet.pts if lo is None else min(lo, packet.pts)
            hi = packet.pts if hi is None else max(hi, packet.pts)
    bounds = (float(lo * stream.time_base), float(hi * stream.time_base)) if lo is not None and stream.time_base \
        else None
    return n, True, pts, bounds


def _cut_short(stream, bounds: tuple[float, float] | None, fps: float) -> str | None:
    """A note when the video track's own header (Matroska's per-track DURATION tag, which FFmpeg writes up front)
    states clearly more than its packets hold: a Matroska file cut at a byte boundary (a partial copy or download)
    decodes without an error and states no frame count, so nothing else would say it is short. ``bounds``: the
    first and last packet's time."""
    tag = (stream.metadata or {}).get("DURATION")
    if bounds is None or not tag:
        return None
    try:
        h, m, sec = tag.split(":")
        stated = int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None
    frame = 1.0 / fps if fps else 0.0
    held = bounds[1] - bounds[0] + frame
    # FFmpeg's muxer states where the track ends, so a file that starts at 10 s (a -copyts cut, a remuxed
    # recording) states 13 s for 3 s of video; other muxers state the length: short only against both
    if stated - max(held, bounds[1] + frame) <= max(0.5, 0.1 * held):
        return None
    return (f"the video track's header says {stated:.2f} s but its packets hold {held:.2f} s: the file may be cut "
            "short (a partial copy or download?)")


# AVColorTransferCharacteristic values of the HDR transfers (SMPTE ST 2084 and ARIB STD-B67)
_HDR_TRANSFERS = {16: "PQ", 18: "HLG"}


def probe(path: str | os.PathLike, count_frames: bool = True) -> VideoInfo:
    """Probe ``path``; raises `InputError` with one line for unusable input."""
    container = open_container(path)
    try:
        stream, vindex = _pick_video_stream(container)
        ctx = stream.codec_context
        if ctx.width <= 0 or ctx.height <= 0:
            raise InputError(f"{path}: video stream has no frame size (corrupt header?)")
        codec = ctx.name or "unknown"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 25.0
        duration = 0.0
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1e6
        first = _first_frame(path, container, stream)
        rotation = int(getattr(first, "rotation", 0) or 0) % 360
        notes = []
        covers = sum(1 for s in container.streams.video if is_cover(s))
        if len(container.streams.video) - covers > 1:
            notes.append(f"{len(container.streams.video) - covers} video streams; using stream #{stream.index}")
        frames = 0
        exact = False
        pts = []
        if count_frames:
            # a fresh demuxer rather than seek(0): raw Annex-B streams cannot seek
            again = open_container(path)
            try:
                frames, exact, pts, bounds = _count_frames(again, again.streams.video[vindex])
            finally:
                again.close()
            short = _cut_short(stream, bounds, fps)
            if short:
                notes.append(f"{path}: {short}")
        late = (container.start_time or 0) / 1e6
        if late >= 1.0:  # a timeline a sidecar, an EDL or a marker list may count on; a lead-in under 1 s is noise
            notes.append(f"the input starts at {late:.2f} s; the output starts at 0, every stream moved by as much "
                         "(as a plain FFmpeg transcode): timestamps are kept relative to the start")
        if not frames:
            frames = stream.frames or int(round(duration * fps))
            exact = False
        vfr = len(pts) > 3 and variable_rate(sorted(pts))
        if len(pts) > 3 and stream.time_base and duration <= 0:
            duration = float((max(pts) - min(pts)) * stream.time_base) + 1.0 / fps
        if duration <= 0:
            duration = frames / fps if fps else 0.0
        pix = ctx.format.name if ctx.format is not None else (ctx.pix_fmt or "unknown")
        depth = bit_depth_of(pix)
        notes += format_notes(pix)
        if codec in _IMAGE_CODECS and frames <= 1:
            raise InputError(f"{path}: is a still image ({codec}), not a video")
        interlaced = bool(getattr(first, "interlaced_frame", False))
        if interlaced:
            # encoders here code frames, not fields: the woven pair is what both the output and VMAF see, which
            # keeps the scores honest, but a viewer's deinterlacer meets x264's progressive coding of combed lines
            notes.append("interlaced input: encoded as progressive frames with both fields woven, as FFmpeg does "
                         "without -flags +ildct; deinterlace it first (ffmpeg -vf bwdif) for progressive delivery")
        hdr = _HDR_TRANSFERS.get(int(getattr(ctx, "color_trc", 0) or 0))
        if hdr:
            notes.append(f"HDR input ({hdr}): the output keeps its bit depth and colour metadata, but VMAF does not "
                         "model HDR: it scores the coded values as if SDR, so treat the target as approximate")
        return VideoInfo(
            path=str(path),
            container=container.format.name,
            width=ctx.width,
            height=ctx.height,
            fps=fps,
            frames=int(frames),
            frames_exact=exact,
            duration=duration,
            codec=codec,
            pix_fmt=pix,
            bit_depth=depth,
            vfr=vfr,
            rotation=rotation,
            interlaced=interlaced,
            video_stream=vindex,
            video_streams=len(container.streams.video),
            audio_streams=len(container.streams.audio),
            subtitle_streams=len(container.streams.subtitles),
            bitrate=container.bit_rate or None,
            notes=notes,
            hdr=hdr,
        )
    except av.FFmpegError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        container.close()
