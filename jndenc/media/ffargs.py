"""FFmpeg argument builders: data in, argument lists out; nothing here runs FFmpeg.

Every list is what follows the binary and `runner.run_ffmpeg`'s common flags
(``-hide_banner -nostdin -y``). Callers build with these functions and run
through the runner, so each job (lossless intermediate, trial encode, quality
graph) is written once and unit-tested without an encoder.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

VMAF_MODEL = "vmaf_v0.6.1"
# the libvmaf models a user may measure with (`--vmaf-model`), all built into the bundled libvmaf: the default
# (a 1080p screen at three picture heights, the model jndenc's labels and start are made in), its NEG variant
# (no enhancement gain: sharpening or contrast boosts in an encode no longer raise the score) and the 4K-TV
# model (a 2160p screen at one and a half picture heights), with its NEG variant
VMAF_MODELS = ("vmaf_v0.6.1", "vmaf_v0.6.1neg", "vmaf_4k_v0.6.1", "vmaf_4k_v0.6.1neg")


def vmaf_label(model: str | None) -> str:
    """How a score of libvmaf ``model`` is named to a user: "VMAF", with the model said where it is not the default
    (None: a result written before the model was recorded, so the default)."""
    return "VMAF" if model in (None, VMAF_MODEL) else f"VMAF ({model})"
# x264 lossless at its fastest preset: large files, but the fastest exact copy to decode again and again
LOSSLESS_X264 = ("-c:v", "libx264", "-qp", "0", "-preset", "ultrafast")
# libvmaf features computed beside VMAF in the same pass
VMAF_FEATURES = ("psnr", "float_ssim")
# MP4 and its kin share one muxer; their index goes to the front (``+faststart``) so a player or a web server
# can start before the last byte, as a user expects of a delivery file
MP4_FAMILY = (".mp4", ".m4v", ".mov")


# Matroska and WebM draw random segment and track UIDs and stamp the writing date unless told to be bitexact: two
# runs of one encode (another --jobs, a resumed run, a Dask run) would differ in those bytes alone
MATROSKA_FAMILY = (".mkv", ".mka", ".webm")


def container_options(path: str | os.PathLike) -> dict[str, str]:
    """The output options the muxer that ``path``'s extension picks needs (as ``{option: value}``, no dash):
    ``movflags +faststart`` for MP4 and its kin, ``fflags +bitexact`` for Matroska and WebM, else none."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext in MP4_FAMILY:
        return {"movflags": "+faststart"}
    if ext in MATROSKA_FAMILY:
        return {"fflags": "+bitexact"}
    return {}


def container_args(path: str | os.PathLike, options: dict | None = None) -> list[str]:
    """`container_options` as command-line arguments, ``options`` (the output's own muxer options) over them."""
    return [a for k, v in {**container_options(path), **(options or {})}.items() for a in (f"-{k}", v)]


# ffmpeg-python hashes every argument of its graph as UTF-8, so a path that is not valid UTF-8 (stray bytes in a
# file name, which Python holds as surrogates) failed inside it: graphs are built on stand-ins, the paths put back
_GRAPH_IN, _GRAPH_OUT = "<jndenc-input>", "<jndenc-output>"


def graph_args(src: str | os.PathLike, out: str | os.PathLike, build: Callable[[str, str], Any]) -> list[str]:
    """The arguments (without the binary) of the ffmpeg-python graph ``build(input_name, output_name)`` returns,
    with ``src`` and ``out`` as its input and output file names."""
    args = build(_GRAPH_IN, _GRAPH_OUT).compile()[1:]
    return [os.fspath(src) if a == _GRAPH_IN else os.fspath(out) if a == _GRAPH_OUT else a for a in args]


def pix_fmt(bit_depth: int) -> str:
    """4:2:0 at 8 bits, or 10 bits (little-endian) for anything deeper than 8."""
    return "yuv420p10le" if bit_depth > 8 else "yuv420p"


def available_cores() -> int:
    """The cores this process may run on (taskset / cgroup affinity), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity API (macOS)
        return os.cpu_count() or 1


# Peak memory of one attempt (an encode and its VMAF in one FFmpeg run) per pixel of the frame, 8-bit and 10-bit,
# measured on testsrc2 at 720p, 1080p and 2160p with jndenc's own arguments (x265, VP9 and libaom within a few
# percent of x264 or under it at 1080p; SVT-AV1 the most: 4.7 GB at 2160p 8-bit, 6.1 GB at 10-bit), then raised to
# what real footage held: 90-frame attempts from mid-clip on two 1080p clips peaked at up to 1.43 times the testsrc2
# figure on x264 and x265 (Big Buck Bunny, 1.17 GB), 1.14 on VP9 and 1.06 on SVT-AV1; on seven 720p-1080p clips
# (benchmarks/results/own_reference.json) x264 attempts of 60-90 frames at up to 1.7 times it. So x264's 380 and
# 660 bytes a pixel became 660 and 1140, SVT-AV1's 580 and 760 became 620 and 810. On 2160p cuts coded as such
# sources come (H.264 8-bit, HEVC 10-bit; benchmarks/results/uhd_memory.json) x264 attempts peaked at up to 0.68
# times that estimate and SVT-AV1's at up to 0.97, so SVT-AV1's became 670 and 880 (its peaks 0.9 of it)
_ATTEMPT_BYTES_PER_PIXEL = {"libsvtav1": (670, 880)}
_DEFAULT_BYTES_PER_PIXEL = (660, 1140)
_ATTEMPT_BASE = 64 << 20


# A segment shorter than x264's lookahead (40 frames at medium) is written only once its last frame is in, and the
# scorer, fed from the encoder's decoder, holds the source frames meanwhile: on the seven clips a 45-frame attempt
# peaked at up to 1.15 times this estimate (1.36 GB at 1080p), within the 80% share of free memory the caps
# leave (`memory_jobs`), and every other run under it. A second decoder of the source for the scorer halved
# those peaks for the same packets and scores, but FFmpeg then hung where the encoder's input found no frames (a
# seek before an MPEG-TS capture's first frame: one input ended, the scorer waited on the encode for ever; with one
# decoder both end and FFmpeg exits with an error), so the scorer keeps the encoder's decoder (benchmarks/README.md,
# "A scorer's source frames")


def attempt_memory(encoder: str, width: int, height: int, bit_depth: int) -> int:
    """Bytes one attempt of a shot may hold at its peak (the estimate the number of parallel attempts is capped by)."""
    per = _ATTEMPT_BYTES_PER_PIXEL.get(encoder, _DEFAULT_BYTES_PER_PIXEL)[1 if bit_depth > 8 else 0]
    return _ATTEMPT_BASE + int(width) * int(height) * per


def available_memory() -> int | None:
    """Bytes this process may still use: the system's available memory, or a container's (cgroup) limit less what
    it uses where that is lower; None where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit) as a, open(used) as b:
                text = a.read().strip()
                if text.isdigit() and int(text) < 1 << 60:
                    found.append(max(0, int(text) - int(b.read().strip())))
        except (OSError, ValueError):
            continue
    return min(found) if found else None


def memory_jobs(per_job: int, available: int | None, share: float = 0.8) -> int | None:
    """How many jobs of ``per_job`` bytes fit in ``share`` of ``available`` bytes (at least one); None: unknown."""
    if available is None:
        return None
    return max(1, int(available * share) // max(1, per_job))


def jobs_in_memory(jobs: int, per_job: int, free: int | None = None) -> tuple[int, int | None]:
    """``jobs``, or as many jobs of ``per_job`` bytes as ``free`` bytes (default: what the machine has free) hold,
    whichever is fewer (at least one); and the free bytes it read (None: unknown, ``jobs`` kept)."""
    free = available_memory() if free is None else free
    fit = memory_jobs(per_job, free)
    return (jobs if fit is None else max(1, min(jobs, fit))), free


def threads_per_job(cores: int | None, workers: int) -> int:
    """Cores shared evenly among ``workers`` concurrent jobs, at least one each (``cores`` None: this machine's)."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def lossless_args(
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    bit_depth: int = 8,
    input_args: Sequence[str] = (),
    seconds: float | None = None,
    max_frames: int | None = None,
    vf: str | None = None,
    segment_frames: Sequence[int] | None = None,
) -> list[str]:
    """Lossless x264 copy of ``src``'s first video stream (audio, subtitles and data dropped).

    ``input_args`` go before ``-i`` (e.g. the raw-video format of a pipe); ``seconds``
    or ``max_frames`` keep only the start; ``vf`` runs before the conversion to
    `pix_fmt` (``bit_depth``). With ``segment_frames`` (a list, possibly empty) the
    output is all-intra and cut at those frame numbers by the segment muxer, so
    ``out`` is a pattern such as ``ref_%05d.mkv``: one file per shot in one pass.
    """
    args = [*input_args, "-i", str(src)]
    if seconds:
        args += ["-t", f"{seconds:g}"]
    args += ["-map", "0:V:0", "-an", "-sn", "-dn"]
    if max_frames:
        args += ["-frames:v", str(int(max_frames))]
    if segment_frames is not None:
        args += ["-fps_mode", "passthrough"]  # every input frame reaches a segment: frame numbers stay exact
    fmt = f"format={pix_fmt(bit_depth)}"
    args += ["-vf", f"{vf},{fmt}" if vf else fmt, *LOSSLESS_X264]
    if segment_frames is not None:
        # all-intra, so the segment muxer can cut at any frame number exactly
        args += ["-g", "1", "-f", "segment", "-reset_timestamps", "1"]
        # without split points the segment muxer would still cut every 2 s (its segment_time default)
        args += (["-segment_frames", ",".join(map(str, segment_frames))] if segment_frames
                 else ["-segment_time", "100000000"])
    return args + [str(out)]


def raw_input_args(size: tuple[int, int], fps: float, pix: str = "bgr24") -> list[str]:
    """Input options for raw frames of ``size`` (w, h) written to FFmpeg's stdin (``src="-"``)."""
    return ["-f", "rawvideo", "-pix_fmt", pix, "-s", f"{size[0]}x{size[1]}", "-r", f"{fps:g}"]


Window = tuple[int, int]


def windows_of(frames: Window | Sequence[Window]) -> list[Window]:
    """A window ``(a, b)`` or several ``((a1, b1), (a2, b2), ...)`` as a list of windows."""
    if len(frames) and isinstance(frames[0], (tuple, list)):
        return [(int(a), int(b)) for a, b in frames]
    return [(int(frames[0]), int(frames[1]))]


def trim_filter(frames: Window | Sequence[Window]) -> str:
    """Frames [a, b) by index (or the union of several such windows, played back to back), timestamps from zero."""
    w = windows_of(frames)
    if len(w) == 1:
        return f"trim=start_frame={w[0][0]}:end_frame={w[0][1]},setpts=PTS-STARTPTS"
    return f"{select_filter(w)},setpts=N/FRAME_RATE/TB"


def select_expr(frames: Window | Sequence[Window]) -> str:
    """The ``select`` expression keeping frames [a, b) of every window, by decoded frame index."""
    return "+".join(f"between(n,{a},{b - 1})" for a, b in windows_of(frames))


def select_filter(frames: Window | Sequence[Window]) -> str:
    """Keep frames [a, b) by index (of one window or several); timestamps untouched."""
    return f"select='{select_expr(frames)}'"


def window_chain(windows: Sequence[Window], renumber: bool = True) -> str:
    """The frames of ``windows`` as one stream; ``renumber`` restarts their timestamps at 0, one per frame.

    The trim ends the stream at the last window, so FFmpeg stops decoding there instead of at the end of the
    clip. Renumbered, two runs over the same windows line their frames up by index.
    """
    end = max(b for _, b in windows)
    chain = f"trim=end_frame={end},{select_filter(list(windows))}"
    return chain + ",settb=1/25,setpts=N" if renumber else chain


def sample_expr(run: int, period: int) -> str:
    """``select`` expression keeping runs of ``run`` consecutive frames out of every ``period`` (by frame index)."""
    return f"lt(mod(n,{int(period)}),{int(run)})"


def filter_value(value: str | os.PathLike) -> str:
    """``value`` escaped for a filter option inside a filter graph (FFmpeg's two levels of backslash escaping)."""
    # the log sits beside the output, so its path carries whatever the user's folder and file are named: a quote,
    # colon, comma or bracket there otherwise ends the option or the filter and FFmpeg refuses the graph
    # (a leading space would still be trimmed: callers pass absolute paths)
    v = os.fspath(value)
    for ch in "\\':":  # the option's own level
        v = v.replace(ch, "\\" + ch)
    for ch in "\\'[],;":  # the graph's level
        v = v.replace(ch, "\\" + ch)
    return v


def libvmaf_filter(log_path: str | os.PathLike, *, features: Sequence[str] = VMAF_FEATURES, threads: int = 1,
                   subsample: int = 1, model: str = VMAF_MODEL) -> str:
    """libvmaf (``model``, one of `VMAF_MODELS`) plus ``features``, scoring every ``subsample``-th frame, to a
    JSON log (whichever the model, the log names its score ``vmaf``)."""
    if model not in VMAF_MODELS:
        raise ValueError(f"VMAF model must be one of {', '.join(VMAF_MODELS)}, not {model!r}")
    extra = "|".join(f"name={f}" for f in features)
    return (f"libvmaf=model=version={model}" + (f":feature='{extra}'" if extra else "")
            + f":log_fmt=json:log_path={filter_value(os.path.abspath(log_path))}:n_threads={int(threads)}"
            + (f":n_subsample={int(subsample)}" if subsample > 1 else ""))


def encode_args(
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    encoder: str,
    preset: str,
    crf: float,
    rate_control: str = "crf",
    threads: int = 0,
    frames: Window | Sequence[Window] | None = None,
) -> list[str]:
    """One constant-quality encode (``-crf``, or ``-qp`` with ``rate_control="qp"``) of ``src``'s video.

    ``encoder`` is the FFmpeg encoder name (libx264, libx265); ``frames`` encodes
    only frames [a, b); ``threads`` the encoder's and its source decoder's (`decoder_threads`), 0 leaves them
    FFmpeg's own choice.
    """
    args = [*decoder_threads(threads), "-i", str(src), "-map", "0:V:0", "-fps_mode", "passthrough"]
    if frames is not None:
        args += ["-vf", trim_filter(frames)]
    args += ["-c:v", encoder, "-preset", preset, "-qp" if rate_control == "qp" else "-crf", str(crf)]
    if encoder == "libx265":
        args += ["-x265-params", "log-level=error"]  # x265 logs every encode's settings to stderr otherwise
    if threads:
        args += ["-threads", str(threads)]
    return args + [str(out)]


def quality_graph(
    log_path: str | os.PathLike,
    *,
    bit_depth: int = 8,
    ref_range: Window | Sequence[Window] | None = None,
    size: tuple[int, int] | None = None,
    threads: int = 1,
    features: Sequence[str] = VMAF_FEATURES,
    subsample: int = 1,
    sample: tuple[int, int] | None = None,
    distorted: str = "[0:v]",
    reference: str = "[1:V]",
    model: str = VMAF_MODEL,
    lead: int = 0,
) -> str:
    """The libvmaf filter graph: input 0 distorted, input 1 reference (or the ``distorted`` and ``reference``
    stream labels given); VMAF (plus ``features``) to a JSON log.

    ``ref_range`` compares against reference frames [a, b) only; ``size`` (w, h)
    scales the distorted video to the reference size (bicubic, as VMAF's model expects);
    ``subsample`` N scores every Nth frame only (the log names each scored frame's number); ``sample`` (W, P)
    scores runs of W consecutive frames out of every P (the log then numbers the scored frames 0, 1, ...);
    ``model``: the libvmaf model (`VMAF_MODELS`). ``lead`` (with ``ref_range`` (a, b), a >= lead): the ``lead``
    reference frames before a are played in front of the distorted video too and scored first (the caller drops
    their scores). VMAF's motion term reads the reference alone and needs the frame before: a segment scored on
    its own read its first frame as still (4 to 5 VMAF low after a cut), where the finished file, which has the
    frame before, reads it as it moves.
    """
    pix = pix_fmt(bit_depth)
    # Align by frame index, not timestamp: containers round timestamps
    # differently (mkv keeps ms), and framesync would then pair wrong frames.
    by_index = "settb=1/25,setpts=N"
    ref_chain = by_index
    if ref_range is not None:
        ref_chain = f"{trim_filter(ref_range)},{by_index}"
    dist_chain = by_index
    if size is not None:
        dist_chain += f",scale={size[0]}:{size[1]}:flags=bicubic"
    if sample is not None:
        keep = f"select='{sample_expr(*sample)}',{by_index}"
        dist_chain += "," + keep
        ref_chain += "," + keep
    head = ""
    if lead:
        if ref_range is None or sample is not None or ref_range[0] < lead:
            raise ValueError("lead frames need a ref_range starting at least that far in, and no sample")
        a, b = ref_range
        # setsar=1 on both: concat refuses inputs whose aspect differs (VMAF reads none)
        head = (f"{reference}split[jr][jl];[jl]{trim_filter((a - lead, a))},{by_index},format={pix},setsar=1[jlead];"
                f"{distorted}{dist_chain},format={pix},setsar=1[jd];")
        reference, distorted = "[jr]", "[jlead][jd]"
        ref_chain = f"{trim_filter((a - lead, b))},{by_index}"
        dist_chain = f"concat=n=2:v=1:a=0,{by_index}"
    return (f"{head}{distorted}{dist_chain},format={pix}[d];{reference}{ref_chain},format={pix}[r];"
            f"[d][r]{libvmaf_filter(log_path, features=features, threads=threads, subsample=subsample, model=model)}")


def decoder_threads(threads: int) -> list[str]:
    """Input (or ``-dec``) options that give a decoder ``threads`` threads (0: FFmpeg's own choice).

    FFmpeg's own choice is one thread per core, plus one, up to 16, for every decoder of every run: a 16-core
    machine running 16 attempts at once had each decode its source and its encode on 17 threads apiece, some 550
    threads, each frame-threaded decoder holding a frame per thread (a 90-frame 2160p 10-bit x264 attempt peaked
    0.8 GB higher with 16 decoding threads than with 6: benchmarks/results/uhd_memory.json). Decoding is exact on any number of threads, so the
    outputs and scores do not change (benchmarks/README.md, "Decoding threads")."""
    return ["-threads", str(int(threads))] if threads else []


def quality_args(distorted: str | os.PathLike, reference: str | os.PathLike, graph: str,
                 reference_seek: Sequence[str] = (), threads: int = 0) -> list[str]:
    """Run ``graph`` (see `quality_graph`) over the two inputs; the scores go to its log, the frames nowhere.
    ``reference_seek``: input options that start the reference where the distorted video starts; ``threads``:
    each decoder's (`decoder_threads`)."""
    dec = decoder_threads(threads)
    return [*dec, "-i", str(distorted), *reference_seek, *dec, "-i", str(reference), "-lavfi", graph, "-f", "null",
            "-"]


def trial_window(n: int, max_seconds: float | None, fps: float, pieces: int = 1
                 ) -> tuple[int, int] | tuple[tuple[int, int], ...] | None:
    """Frames of a shot of ``n`` frames that trials measure (relative to the shot); None = all of it.

    ``pieces=1``: the middle ``max_seconds``, as ``(a, b)``. More pieces: that many
    windows of ``max_seconds / pieces`` each, spread evenly over the shot, as
    ``((a1, b1), ...)``; one trial encodes them back to back.
    """
    if not max_seconds or n <= max_seconds * fps:
        return None
    keep = int(round(max_seconds * fps))
    if pieces <= 1:
        a = (n - keep) // 2
        return (a, a + keep)
    each = max(1, keep // pieces)
    starts = [round((n - each) * i / (pieces + 1)) for i in range(1, pieces + 1)]  # evenly inside, ends excluded
    return tuple((int(s), int(s) + each) for s in starts)
