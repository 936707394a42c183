"""The output file: paths that are safe to write, the streams it carries beside the video, and the check it
passes before it is renamed into place."""
from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Iterable, Sequence

from .errors import InputError, OutputError, OverSize, UserError
from .media.ffargs import MP4_FAMILY
from .media.decode import count_decoded_frames, count_packets, decode_tail
from .media.probe import VideoInfo, is_cover, open_container
from .planner import Plan
from .search import DEFAULT_THRESHOLDS

# What each container carries as it is, by FFmpeg codec name; anything else is converted (audio to the
# container's usual codec, text subtitles to its text format) or, for picture subtitles it cannot hold, dropped
# with a note. Matroska carries everything but MP4's own text format.
_PCM = {"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_s32be", "pcm_f32le", "pcm_f32be",
        "pcm_u8"}
_AUDIO_COPY = {".webm": {"opus", "vorbis"}, ".avi": {"mp3", "mp2", "aac", "ac3", "pcm_s16le", "pcm_u8"},
               ".ts": {"aac", "mp3", "mp2", "ac3", "eac3", "opus"},
               **{e: {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"} for e in MP4_FAMILY}}
# QuickTime carries uncompressed audio, which camera and edit files use: re-encoding it would be a lossy surprise
_AUDIO_COPY[".mov"] = _AUDIO_COPY[".mov"] | _PCM
_AUDIO_TO = {".webm": "libopus", ".avi": "libmp3lame", ".ts": "aac", **{e: "aac" for e in MP4_FAMILY}}
_AUDIO_NAME = {"libopus": "Opus", "libmp3lame": "MP3", "aac": "AAC"}
_TEXT_SUBS = {"subrip", "ass", "webvtt", "text", "mov_text"}
_SUBS_TO = {".webm": "webvtt", ".mkv": "srt", ".avi": None, ".ts": None, **{e: "mov_text" for e in MP4_FAMILY}}
_SUBS_COPY = {".webm": {"webvtt"}, ".avi": set(), ".ts": {"dvb_subtitle", "dvb_teletext"},
              **{e: {"mov_text"} for e in MP4_FAMILY}}
# PyAV names a stream by its decoder; these decoders' codecs go by another name
_CODEC_OF_DECODER = {"mp3float": "mp3", "aac_fixed": "aac", "ac3_fixed": "ac3", "srt": "subrip", "ssa": "ass"}


def temp_path(dst: Path) -> Path:
    """The hidden file beside ``dst`` that FFmpeg writes; renamed to ``dst`` only once it is checked."""
    # the thread too, as `jndenc.fileio.write_text_atomic` names its temp: two threads of a pipeline encoding to one
    # output (as two processes may) wrote one temp file, and one failed
    return dst.with_name(f".{dst.stem}.jndenc-{os.getpid()}-{threading.get_ident()}.tmp{dst.suffix or '.mp4'}")


def check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse anything that could touch the input or clobber a file by surprise."""
    # the input is read more than once (analysis, then each shot), and the output is checked before it is
    # renamed into place: neither can be a pipe
    if str(src) == "-" or (src.exists() and not src.is_dir() and not src.is_file()):
        raise UserError(f"{src}: the input must be a file (jndenc reads it more than once); save the stream first")
    if str(dst) == "-" or str(dst).startswith("/dev/std") or (dst.exists() and not dst.is_dir()
                                                              and not dst.is_file()):
        raise UserError(f"{dst}: the output must be a file (it is checked, then renamed into place)")
    if dst.exists() and dst.is_dir():
        raise UserError(f"{dst}: output is a directory")
    if src.exists() and dst.exists():
        if os.path.samefile(src, dst):  # same path, symlink or hard link
            raise UserError(f"{dst}: output is the input file (refusing to overwrite the input)")
    elif src.resolve() == dst.resolve():
        raise UserError(f"{dst}: output is the input file (refusing to overwrite the input)")
    _check_folder(dst, f"{dst}: output folder")
    if dst.exists() and not overwrite:
        raise UserError(f"{dst}: {_EXISTS}")
    if dst.exists() and not _replaceable(dst):
        raise UserError(f"{dst}: owned by another user in a folder only its files' owners may replace files in "
                        "(the sticky bit, as /tmp has): choose another name")


_EXISTS = "already exists (-y / --overwrite, overwrite=True in Python, replaces it)"
# a file system that makes no hard links (some FUSE and SMB mounts) says so with one of these
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _replaceable(dst: Path) -> bool:
    """Whether this process may rename a file over ``dst``: in a sticky folder only the file's owner, the
    folder's or root may (found only at the end, after the whole encode)."""
    try:
        folder, own = os.stat(dst.parent if str(dst.parent) else "."), os.stat(dst)
    except OSError:
        return True
    me = os.geteuid()
    return not folder.st_mode & stat.S_ISVTX or me in (0, own.st_uid, folder.st_uid)


def publish(tmp: Path, dst: Path, overwrite: bool) -> None:
    """Rename the finished ``tmp`` to ``dst``. Without ``overwrite``, never over a file another run wrote there
    while this one encoded (the check at the start passed for both, and the later rename replaced the earlier
    run's output while both said they had written it): a hard link refuses an existing name."""
    raced = UserError(f"{dst}: {_EXISTS}; it was written while this run encoded")
    try:
        if overwrite:
            os.replace(tmp, dst)
            return
        try:
            os.link(tmp, dst)
        except FileExistsError:
            raise raced from None
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if dst.exists():  # no links here: the check and the rename, as near together as they go
                raise raced from None
            os.replace(tmp, dst)
            return
        tmp.unlink()
    except PermissionError as exc:
        raise OutputError(f"{dst}: cannot be written ({exc.strerror or exc})") from None


def check_side_file(path: str | os.PathLike, option: str) -> None:
    """Refuse, before any work, a file written beside the output (``--plan-out``, ``--report``, ``--learn``) that
    cannot be written: found only after the encode, it failed the run with the output already in place."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{option} {p}: is a directory")
    _check_folder(p, f"{option} {p}: folder")


def check_not_an_input(path: str | os.PathLike, inputs: Iterable[str | os.PathLike], option: str) -> None:
    """Refuse ``path`` (a file the command writes) where it names one of ``inputs`` (files the command reads; a
    folder stands for the files in it): the input is never touched (`jndenc test --result_path` over its own label
    file wrote predictions there; `calibrate -o` over a clip replaced the video with JSON)."""
    p = Path(path).resolve()
    for i in inputs:
        i = Path(i)
        for f in (sorted(i.iterdir()) if i.is_dir() else [i]):
            if p == f.resolve():
                raise UserError(f"{option} {path} is {f}, which this command reads: write it elsewhere")


def check_folder(folder: Path, said: str) -> None:
    """Make ``folder`` (and its parents) where missing, and refuse it where it takes no new file; ``said`` begins the
    message (a batch's output folder: found only by its first write, it read as an internal error)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{said} {folder} cannot be made ({exc.strerror or exc})") from None
    _check_folder(folder / "x", said)


def _check_folder(path: Path, said: str) -> None:
    """Refuse ``path`` where its folder is missing or takes no new file; ``said`` begins the message."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{said} {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{said} {parent} is not writable")
    try:
        # the permission bits are not the whole answer (root on /proc or /sys, a root-squashed NFS share, a FUSE
        # mount, ACLs): one empty file made and removed is
        fd, probe = tempfile.mkstemp(prefix=".jndenc-check-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{said} {parent} is not writable ({exc.strerror or exc})") from None


# The containers jndenc writes, by the output's extension (tested end to end): MP4 and its kin, Matroska, WebM (VP9
# and AV1 only), AVI and MPEG-TS (H.264 and HEVC only: FFmpeg's TS muxer writes AV1 and VP9 as data streams).
# Others fail late and obscurely (an unknown extension names no muxer), so they are refused before any work
CONTAINERS = MP4_FAMILY + (".mkv", ".webm", ".avi", ".ts")
WEBM_CODECS = ("av1", "vp9")
_ONLY = {".webm": (WEBM_CODECS, "WebM carries VP9 or AV1 video", "use .mp4 or .mkv, or --codec av1/vp9"),
         ".ts": (("x264", "x265"), "MPEG-TS carries H.264 or HEVC video here", "use .mp4, .mkv or .webm")}


def check_container(dst: Path, codec: str) -> None:
    """Refuse an output whose extension names no container jndenc writes, or one that cannot carry ``codec``."""
    ext = dst.suffix.lower()
    if ext not in CONTAINERS:
        known = ", ".join(CONTAINERS[:-1]) + f" or {CONTAINERS[-1]}"
        raise UserError(f"{dst}: the output's extension picks its container; jndenc writes {known}, "
                        + (f"not {dst.suffix}" if dst.suffix else "and this name has none"))
    codecs, carries, instead = _ONLY.get(ext, (None, "", ""))
    if codecs is not None and codec not in codecs:
        raise UserError(f"{dst}: {carries}, not {codec} ({instead})")


# 4:2:0 halves the chroma planes, and these encoders refuse a picture that does not halve evenly (FFmpeg's
# "width not divisible by 2"); SVT-AV1, libaom, rav1e and libvpx round the chroma up and take it
EVEN_SIZE_ENCODERS = ("libx264", "libx265")


def check_frame_size(src: Path, info: VideoInfo, encoder: str) -> None:
    """Refuse, before any work, a frame size ``encoder`` cannot encode in 4:2:0 (an odd width or height on x264 or
    x265): otherwise the first encode fails part way with FFmpeg's log as the only explanation."""
    if encoder in EVEN_SIZE_ENCODERS and (info.width % 2 or info.height % 2):
        raise UserError(f"{src}: {info.width}x{info.height} frames: {encoder} encodes 4:2:0 only at an even width "
                        "and height; crop or scale the input to even sizes first (ffmpeg -vf "
                        "crop=trunc(iw/2)*2:trunc(ih/2)*2), or use --codec av1 or vp9")


def stream_options(src: Path, dst: Path, info: VideoInfo) -> tuple[list[str], dict, list[str]]:
    """Which of the source's other streams the output carries and how (`stream_plan`, from the source's codecs)."""
    container = open_container(src)
    try:
        audio = [s.codec_context.name for s in container.streams.audio]
        channels = [s.codec_context.channels or 2 for s in container.streams.audio]
        subs = [s.codec_context.name for s in container.streams.subtitles]
        attachments = len(container.streams.attachments)
        covers = [s.index for s in container.streams.video if is_cover(s)]
    finally:
        container.close()
    return stream_plan(dst.suffix.lower(), audio, subs, attachments, channels, covers)


# The bit rate of re-encoded audio per channel: FFmpeg's encoders default to one rate whatever the channels (AAC
# 128 kb/s), which is a stereo rate and starves 5.1; MP3 holds two channels at most
_AUDIO_RATE = {"aac": 64, "libopus": 48, "libmp3lame": 64}


def stream_plan(ext: str, audio: list[str], subs: list[str], attachments: int = 0,
                channels: list[int] | None = None, covers: Sequence[int] = ()) -> tuple[list[str], dict, list[str]]:
    """Maps (``a``, ``s`` or ``s:N``, ``t``, a stream's index), per-stream codec options (``c:a:N``, ``c:s:N``: copy
    or a conversion) and notes for an output of extension ``ext`` given the source's audio and subtitle codecs
    (FFmpeg decoder names, as PyAV gives them), its audio streams' channel counts (None: stereo), its number of
    attachments and the stream indices of its cover art (attached pictures). Each stream is copied where the
    container carries it, converted where it cannot (audio to the container's usual codec at a rate per channel,
    text subtitles to its text format), and a picture subtitle, attachment or cover it cannot hold is left out
    with a note, never a failed encode. Pure."""
    maps: list[str] = []
    kw: dict = {}
    notes: list[str] = []
    audio = [_CODEC_OF_DECODER.get(a, a) for a in audio]
    subs = [_CODEC_OF_DECODER.get(c, c) for c in subs]
    if audio:
        maps.append("a")
        copy = _AUDIO_COPY.get(ext)
        converted = []
        for i, a in enumerate(audio):
            keep = copy is None or a in copy
            kw[f"c:a:{i}"] = "copy" if keep else _AUDIO_TO[ext]
            if not keep:
                converted.append(a)
                n = channels[i] if channels and i < len(channels) else 2
                n = min(n, 2) if _AUDIO_TO[ext] == "libmp3lame" else n
                kw[f"b:a:{i}"] = f"{_AUDIO_RATE[_AUDIO_TO[ext]] * max(1, n)}k"
        if converted:
            notes.append(f"audio ({', '.join(converted)}) re-encoded to {_AUDIO_NAME[_AUDIO_TO[ext]]}: "
                         f"{ext} cannot carry it as is")
    kept, dropped = [], []
    for i, c in enumerate(subs):
        if c in _SUBS_COPY.get(ext, ()) or (ext == ".mkv" and c != "mov_text"):
            kept.append((i, "copy"))
        elif c in _TEXT_SUBS and _SUBS_TO.get(ext):
            kept.append((i, _SUBS_TO[ext]))
        else:
            dropped.append(c)
    if dropped:
        notes.append(f"subtitles ({', '.join(dropped)}) dropped: {ext} cannot carry them")
    maps += ["s"] if kept and not dropped else [f"s:{i}" for i, _ in kept]
    for n, (_, codec) in enumerate(kept):
        kw[f"c:s:{n}"] = codec
    if attachments:
        # Matroska's attachments are mostly the fonts its ASS subtitles are drawn with: without them a player
        # falls back to another font, so they go wherever the container holds them
        if ext == ".mkv":
            maps.append("t")
        else:
            notes.append(f"{attachments} attachment(s) (fonts for subtitles, cover art) left out: {ext} cannot "
                         "carry them (.mkv can)")
    if covers:
        # an album's or a podcast's picture: MP4 keeps it as its cover atom, a video stream after the encoded one,
        # copied and marked as a picture, not a video to play. FFmpeg's Matroska muxer would write it as a
        # one-frame video track, which a player may pick to show, so Matroska (and the rest) leave it out
        if ext in MP4_FAMILY:
            for k, index in enumerate(covers, start=1):
                maps.append(str(int(index)))
                kw[f"c:v:{k}"] = "copy"
                kw[f"disposition:v:{k}"] = "attached_pic"
        else:
            notes.append(f"cover art ({len(covers)} attached picture(s)) left out: jndenc writes it into "
                         f"{', '.join(MP4_FAMILY)} only")
    return maps, kw, notes


def carries_audio(maps: list[str]) -> bool:
    return any(m == "a" or m.startswith("a:") for m in maps)


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
                        "(the input may be damaged, or was changed while it was read); output discarded")
    if want_audio:
        c = open_container(path)
        try:
            if not c.streams.audio:
                raise UserError(f"{name}: encoded output lost the audio stream; output discarded")
        finally:
            c.close()


def over_size(out_bytes: int, in_bytes: int, max_size: float | None, shots: tuple[int, int] | None = None
              ) -> str | None:
    """Why an output whose video takes ``out_bytes`` is not written where the input's takes ``in_bytes`` and the
    output may take ``max_size`` percent of it (None: no limit), or None where it may. ``shots`` (done, of):
    ``out_bytes`` is what the finished shots' kept segments already take, the rest of the output not yet
    encoded. Pure."""
    if max_size is None or in_bytes <= 0 or out_bytes * 100 <= max_size * in_bytes:
        return None
    got = "came out at" if shots is None else "reached"
    after = "" if shots is None else f" after {shots[0]} of {shots[1]} shots"
    return (f"its video {got} {human_bytes(out_bytes)}{after}, {100 * out_bytes / in_bytes:.0f}% of the input's "
            f"{human_bytes(in_bytes)}, over --max-size {max_size:g}%: nothing written")


def size_limit(src: Path, max_size: float | None) -> tuple[int, float] | None:
    """(the input's video bytes, ``max_size``) for `over_size`, None without a limit: what the loop holds its
    finished shots to, so that a file that cannot fit stops before its last shots are encoded."""
    return None if max_size is None else (count_packets(src).bytes, max_size)


def human_bytes(n: int | None) -> str:
    """A byte count as people read it (three significant digits: 1.23 MB), or "-" where it is not known."""
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def check_size(out: Path, limit: tuple[int, float] | None, shown: Path) -> None:
    """Refuse (`OverSize`, exit 4) the finished output ``out`` (to be renamed to ``shown``) whose video stream takes
    more than ``limit`` (`size_limit`: the input's video bytes, read once per encode, and the percent) allows: a
    library transcode that would make a file larger keeps the source. Both counted from their video packets (audio
    and other streams pass through and do not count)."""
    if limit is not None:
        refuse_over(count_packets(out).bytes, limit, shown)


def refuse_over(out_bytes: int, limit: tuple[int, float], shown: Path, shots: tuple[int, int] | None = None
                ) -> None:
    """Raise `OverSize` (its figures attached for ``--json``) where `over_size` says why ``out_bytes`` may not be
    written to ``shown``."""
    why = over_size(out_bytes, *limit, shots=shots)
    if why:
        raise OverSize(f"{shown}: {why}", str(shown), out_bytes, limit[0], limit[1], shots)


def target_vmaf(plan: Plan) -> float:
    """The VMAF the plan's target level stands for (the thresholds of search/guided, else the defaults)."""
    thresholds = plan.stats.get("thresholds") or list(DEFAULT_THRESHOLDS)
    level = int(plan.options.get("target_jnd", 1) or 1)
    return float(thresholds[min(level, len(thresholds)) - 1])
