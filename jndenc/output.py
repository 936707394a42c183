"""The output file: paths that are safe to write, the streams it carries beside the video, and the check it
passes before it is renamed into place."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError, UserError
from .media.ffargs import MP4_FAMILY
from .media.decode import count_decoded_frames, count_packets, decode_tail
from .media.probe import VideoInfo, open_container
from .planner import Plan
from .search import DEFAULT_THRESHOLDS

# audio codecs the MP4/MOV muxer takes as they are; others are re-encoded to AAC
_MP4_AUDIO = {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}
_MP4_SUBS = {"mov_text"}


def temp_path(dst: Path) -> Path:
    """The hidden file beside ``dst`` that FFmpeg writes; renamed to ``dst`` only once it is checked."""
    return dst.with_name(f".{dst.stem}.jndenc-{os.getpid()}.tmp{dst.suffix or '.mp4'}")


def check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse anything that could touch the input or clobber a file by surprise."""
    if dst.exists() and dst.is_dir():
        raise UserError(f"{dst}: output is a directory")
    if src.exists() and dst.exists():
        if os.path.samefile(src, dst):  # same path, symlink or hard link
            raise UserError(f"{dst}: output is the input file (refusing to overwrite the input)")
    elif src.resolve() == dst.resolve():
        raise UserError(f"{dst}: output is the input file (refusing to overwrite the input)")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{dst}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{dst}: output folder {parent} is not writable")
    if dst.exists() and not overwrite:
        raise UserError(f"{dst}: already exists (use --overwrite / -y to replace it)")


# The containers jndenc writes, by the output's extension (tested end to end): MP4 and its kin, Matroska, WebM (VP9
# and AV1 only) and AVI. Others fail late and obscurely (an unknown extension names no muxer; MPEG-TS output
# does not decode back for validation), so they are refused before any work
CONTAINERS = MP4_FAMILY + (".mkv", ".webm", ".avi")
WEBM_CODECS = ("av1", "vp9")


def check_container(dst: Path, codec: str) -> None:
    """Refuse an output whose extension names no container jndenc writes, or one that cannot carry ``codec``."""
    ext = dst.suffix.lower()
    if ext not in CONTAINERS:
        known = ", ".join(CONTAINERS[:-1]) + f" or {CONTAINERS[-1]}"
        raise UserError(f"{dst}: the output's extension picks its container; jndenc writes {known}, "
                        + (f"not {dst.suffix}" if dst.suffix else "and this name has none"))
    if ext == ".webm" and codec not in WEBM_CODECS:
        raise UserError(f"{dst}: WebM carries VP9 or AV1 video, not {codec} (use .mp4 or .mkv, or --codec av1/vp9)")


def stream_options(src: Path, dst: Path, info: VideoInfo) -> tuple[list[str], dict, list[str]]:
    """Which extra streams to map and how; MP4 cannot carry every codec as-is."""
    maps, kw, notes = [], {}, []
    mp4 = dst.suffix.lower() in MP4_FAMILY
    container = open_container(src)
    try:
        audio = [s.codec_context.name for s in container.streams.audio]
        subs = [s.codec_context.name for s in container.streams.subtitles]
    finally:
        container.close()
    webm = dst.suffix.lower() == ".webm"
    if webm:  # WebM carries Opus/Vorbis audio and WebVTT subtitles only
        if audio:
            maps.append("a")
            kw["c:a"] = "copy" if all(a in ("opus", "vorbis") for a in audio) else "libopus"
            if kw["c:a"] != "copy":
                notes.append(f"audio ({', '.join(audio)}) re-encoded to Opus: WebM cannot carry it as is")
        if subs:
            maps.append("s")
            kw["c:s"] = "webvtt"
        return maps, kw, notes
    if audio:
        maps.append("a")
        if mp4 and any(a not in _MP4_AUDIO for a in audio):
            kw["c:a"] = "aac"
            notes.append(f"audio ({', '.join(audio)}) re-encoded to AAC: {dst.suffix} cannot carry it as is")
        else:
            kw["c:a"] = "copy"
    if subs:
        if mp4 and any(s not in _MP4_SUBS for s in subs):
            if all(s in ("subrip", "ass", "ssa", "webvtt", "text") for s in subs):
                maps.append("s")
                kw["c:s"] = "mov_text"
            else:
                notes.append(f"subtitles ({', '.join(subs)}) dropped: {dst.suffix} cannot carry them")
        else:
            maps.append("s")
            kw["c:s"] = "copy"
    return maps, kw, notes


VALIDATE_MODES = ("fast", "full")


def validate_output(path: Path, plan: Plan, want_audio: bool, mode: str = "fast", shown: Path | None = None) -> None:
    """Refuse an output that lacks frames of the plan (or its audio). Errors name ``shown`` (the user's output
    path) instead of ``path`` (the temp file, gone by the time the user reads the message).

    ``fast`` counts the video packets (demux only) and decodes the last GOP, so
    a cut or damaged end is caught for the cost of decoding one GOP; ``full``
    decodes every frame (what ``fast`` replaced: ~2 s on 24 s of 720p).
    """
    name = shown or path
    if mode not in VALIDATE_MODES:
        raise UserError(f"unknown validation {mode!r}; choose {' or '.join(VALIDATE_MODES)}")
    if mode == "full":
        frames = count_decoded_frames(path)
    else:
        try:
            pc = count_packets(path)
        except InputError as exc:
            raise UserError(f"{name}: encoded output does not open ({exc}); output discarded") from None
        frames = pc.frames
        if pc.corrupt:
            raise UserError(f"{name}: encoded output is damaged ({pc.corrupt} unreadable packet(s)); output discarded")
        if abs(frames - plan.frames) <= 1:
            tail = decode_tail(path, pc.last_key_pts)
            if tail < pc.tail_frames:
                raise UserError(f"{name}: the last {pc.tail_frames} frames of the encoded output do not decode "
                                f"({tail} did); output discarded")
    if abs(frames - plan.frames) > 1:
        raise UserError(f"{name}: encoded output has {frames} frames, plan has {plan.frames} "
                        "(the input may be damaged); output discarded")
    if want_audio:
        c = open_container(path)
        try:
            if not c.streams.audio:
                raise UserError(f"{name}: encoded output lost the audio stream; output discarded")
        finally:
            c.close()


def target_vmaf(plan: Plan) -> float:
    """The VMAF the plan's target level stands for (the thresholds of search/guided, else the defaults)."""
    thresholds = plan.stats.get("thresholds") or list(DEFAULT_THRESHOLDS)
    level = int(plan.options.get("target_jnd", 1) or 1)
    return float(thresholds[min(level, len(thresholds)) - 1])
