"""The probe: an encode of each shot's trial window and its VMAF against the source.

The shipped setting (`SHIPPED_PROBE`) is *centred*: each shot's window (the
middle second of the window the labels' trials measure,
`jndenc.media.ffargs.trial_window`) is encoded with x264 medium at that shot's
own CRF, the frame model's JND1 estimate rounded (`centred_crfs`), in an FFmpeg
run of its own that keeps the source's timestamps, and every frame is scored:
the probe is one trial encode of the label search, placed where the shot's
VMAF is near its threshold. Fixed-quantiser settings (the first probe: x264
ultrafast at constant QP 34) encode all windows of a run back to back, a
forced keyframe at each window's first frame so each is coded on its own.
Either way FFmpeg's loopback decoder scores the encode as it is written
(libvmaf, ``n_subsample``), so the source is decoded once per run. Each shot
gets the mean VMAF and PSNR-Y of its window, the probe's bits per pixel and
the quantiser it ran at; the probe model (`jndenc.models.probe`) maps them,
with the frame model's estimate, to JND1..3.

Pure argument builders (`probe_args` for the one FFmpeg run a probe takes, with
`probe_quality_graph`) and one runner (`run_probe`).
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..errors import JndencError
from .ffargs import (attempt_memory, available_cores, decoder_threads, jobs_in_memory, libvmaf_filter, lossless_args,
                     pix_fmt, threads_per_job, trial_window, window_chain)
from .ffbin import require
from .probe import open_container
from .join import source_timestamps
from .runner import run_ffmpeg
from .seekable import reading
from .segments import seek_args as segment_seek
from .timing import variable_rate

ENCODERS = {"x264": "libx264", "x265": "libx265"}
SEI_NAL_TYPES = {"x264": "6", "x265": "39|40"}  # H.264 SEI; HEVC prefix and suffix SEI
# libvmaf features beside VMAF: PSNR is nearly free; float_ssim cost a third of the probe's CPU time
# (1.68 vs 1.25 CPU s on three 720p windows) for little accuracy, so the probe leaves it out
PROBE_FEATURES = ("psnr",)


@dataclass(frozen=True)
class ProbeOptions:
    """What a probe encodes and measures. The field defaults are the first probe (fixed QP, ultrafast);
    `SHIPPED_PROBE` is the measured choice the shipped weights use (weights/MODEL_CARD.md)."""

    codec: str = "x264"
    preset: str = "ultrafast"
    crf: float = 34.0  # the quantiser: a constant QP with rate_control "qp", else a CRF
    subsample: int = 4  # libvmaf n_subsample: every Nth frame is scored
    window_seconds: float = 2.0  # the trial window of `jndenc.media.ffargs.trial_window`
    # constant QP: no rate-control state carries from one window to the next, so a shot's probe does not
    # depend on the shots probed before it in the same run (with CRF a noisy window after a clean one
    # scored 2 VMAF points higher than alone)
    rate_control: str = "qp"
    # centred: each shot's probe runs at its own CRF, the frame model's JND1 estimate rounded (`centred_crfs`;
    # ``crf`` is then unused). Near a shot's JND the probe's VMAF moves about one point per CRF step; a fixed
    # quantiser probes easy shots where VMAF saturates and says little about how far above it their JND lies
    centred: bool = False

    def key(self) -> str:
        """A short name of these settings (cache keys, feature-file columns)."""
        rc = "qp" if self.rate_control == "qp" else "crf"
        q = "@frame" if self.centred else f"{self.crf:g}"
        return f"{self.codec}-{self.preset}-{rc}{q}-sub{self.subsample}-win{self.window_seconds:g}"


# x264 medium (the labels' preset) at the frame model's JND1 estimate, on the middle second of the labels' trial
# window, every frame scored: the probe is one trial encode of the label search, at the CRF where the shot's
# VMAF is nearest its threshold
SHIPPED_PROBE = ProbeOptions(preset="medium", rate_control="crf", subsample=1, window_seconds=1.0, centred=True)


def key_quantiser(key: str) -> float | None:
    """The fixed quantiser named in a `ProbeOptions.key` (None for centred settings): caches written before
    probe results carried their ``crf`` take it from here."""
    m = re.search(r"-(?:qp|crf)([0-9.]+)-sub", key)
    return float(m.group(1)) if m else None


CENTRED_CRF_RANGE = (10, 51)  # the label search's CRF range


def centred_crfs(frame_jnd1: Sequence[float]) -> list[int]:
    """Per shot, the CRF a centred probe encodes at: the frame model's JND1 rounded, inside the labels' range."""
    lo, hi = CENTRED_CRF_RANGE
    return [int(np.clip(np.rint(float(x)), lo, hi)) for x in frame_jnd1]


@dataclass
class ProbeResult:
    start_frame: int  # the shot
    end_frame: int
    window: tuple[int, int]  # absolute source frames [a, b) the probe encoded and measured
    crf: float  # the quantiser it encoded at (QP or CRF, as the settings say)
    vmaf: float  # mean over the scored frames of the window
    psnr: float
    bpp: float  # probe bits per pixel per frame
    scored: int  # frames libvmaf scored in this window

    def to_dict(self) -> dict:
        d = asdict(self)
        d["window"] = list(self.window)
        return d


def shot_windows(shots: Sequence[tuple[int, int]], fps: float, seconds: float | None) -> list[tuple[int, int]]:
    """Absolute source frames [a, b) each shot's probe measures: the trial window of the oracle's labels."""
    out = []
    for a, b in shots:
        w = trial_window(b - a, seconds, fps)
        out.append((a + w[0], a + w[1]) if w else (a, b))
    return out


def keyframe_expr(lengths: Sequence[int]) -> str:
    """``-force_key_frames`` expression: a keyframe at each window's first frame of the probe stream."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    return "expr:" + "+".join(f"eq(n,{s})" for s in starts)


def seek_args(first_frame: int, fps: float) -> list[str]:
    """Input options that start decoding at frame ``first_frame`` (half a frame early, so rounding keeps it)."""
    if first_frame < 1:
        return []
    return ["-ss", f"{(first_frame - 0.5) / fps:.6f}"]


def _encode_chain(windows: Sequence[tuple[int, int]], opts: ProbeOptions, bit_depth: int) -> str:
    # x264's CRF rate control reads the frame rate from the timestamps: a CRF probe keeps the source's (as a
    # trial encode of the window does), a constant-QP probe is renumbered to line up windows of any source
    return f"{window_chain(windows, renumber=opts.rate_control == 'qp')},format={pix_fmt(bit_depth)}"


def _codec_args(opts: ProbeOptions, lengths: Sequence[int], threads: int, crf: float | None = None) -> list[str]:
    args = ["-fps_mode", "passthrough", "-c:v", ENCODERS[opts.codec], "-preset", opts.preset,
            "-qp" if opts.rate_control == "qp" else "-crf", f"{opts.crf if crf is None else crf:g}",
            "-force_key_frames", keyframe_expr(lengths), "-frames:v", str(sum(lengths))]
    if opts.codec == "x265":
        args += ["-x265-params", "log-level=error"]
    # drop the encoder's settings SEI (hundreds of bytes in the first packet only): a window's bits
    # per pixel must not depend on whether it came first in its run
    args += ["-bsf:v", f"filter_units=remove_types={SEI_NAL_TYPES[opts.codec]}"]
    if threads:
        args += ["-threads", str(threads)]
    return args


def probe_quality_graph(log_path: str | os.PathLike, windows: Sequence[tuple[int, int]], *, bit_depth: int = 8,
                        subsample: int = 4, threads: int = 1, encoded: str = "[0:v]", source: str = "[1:V]") -> str:
    """libvmaf graph: ``encoded`` the probe encode, ``source`` the source (its windows selected the same way)."""
    pix = pix_fmt(bit_depth)
    return (f"{encoded}settb=1/25,setpts=N,format={pix}[d];{source}{window_chain(windows)},format={pix}[r];"
            f"[d][r]{libvmaf_filter(log_path, features=PROBE_FEATURES, threads=threads, subsample=subsample)}")


def probe_args(src: str | os.PathLike, out: str | os.PathLike, log_path: str | os.PathLike,
               windows: Sequence[tuple[int, int]], *, opts: ProbeOptions = ProbeOptions(), bit_depth: int = 8,
               subsample: int = 4, threads: int = 1, seek: Sequence[str] = (), crf: float | None = None) -> list[str]:
    """The whole probe in one FFmpeg run: encode the windows to ``out`` and score them, decoding the source once.

    FFmpeg's loopback decoder (``-dec 0:0``) decodes the probe encode as it is written and feeds it
    to libvmaf beside the same source frames; the source is decoded once for both (two separate
    runs decode it twice, which at 720p cost as much as the encode and VMAF together). A second
    decoder of the source for the scorer would hold half the memory, but FFmpeg hung where the
    first found no frames (`jndenc.media.ffargs.attempt_memory`).
    """
    dec = decoder_threads(threads)  # the source's decoder and the loopback decoder of the encode
    enc = [*seek, *dec, "-i", str(src), "-filter_complex", f"[0:V:0]{_encode_chain(windows, opts, bit_depth)}[enc]",
           "-map", "[enc]", *_codec_args(opts, [b - a for a, b in windows], threads, crf), str(out)]
    graph = probe_quality_graph(log_path, windows, bit_depth=bit_depth, subsample=subsample, threads=threads,
                                encoded="[dec:0]", source="[0:V:0]")
    return enc + [*dec, "-dec", "0:0", "-filter_complex", f"{graph}[scored]", "-map", "[scored]",
                  "-frames:v", str(sum(b - a for a, b in windows)), "-f", "null", "-"]


def group_windows(windows: Sequence[tuple[int, int]], max_gap: int) -> list[list[int]]:
    """Indices of ``windows`` (sorted by start) in runs whose gaps are at most ``max_gap`` frames.

    Each run is probed by its own pair of FFmpeg calls that seek to its first frame, so frames
    between far-apart windows (the rest of long shots) are never decoded.
    """
    order = sorted(range(len(windows)), key=lambda i: windows[i][0])
    runs: list[list[int]] = []
    for i in order:
        if runs and windows[i][0] - windows[runs[-1][-1]][1] <= max_gap:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def window_bytes(path: str | os.PathLike, lengths: Sequence[int]) -> list[int]:
    """Coded bytes of each window of the probe file (packets in presentation order, no decoding)."""
    sizes = []
    with open_container(path) as c:
        stream = c.streams.video[0]
        for pkt in c.demux(stream):
            if pkt.size and pkt.pts is not None:
                sizes.append((pkt.pts, pkt.size))
    sizes.sort()
    per = [s for _, s in sizes]
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    return [int(sum(per[bounds[i]:bounds[i + 1]])) for i in range(len(lengths))]


def _effective_subsample(lengths: Sequence[int], subsample: int) -> int:
    # every window must get at least one scored frame (a 3-frame shot with n_subsample=4 might get none)
    return max(1, min(int(subsample), min(lengths)))


def scored_windows(windows: Sequence[tuple[int, int]], subsample: int) -> list[tuple[int, int]]:
    """Each window shortened to a multiple of ``subsample`` frames (at least one frame kept).

    Back to back in one probe stream, every window then starts on a scored frame, so libvmaf
    scores the same frames of a window (its 0th, Nth, 2Nth...) whichever windows precede it.
    """
    return [(a, a + max(min(b - a, subsample), (b - a) // subsample * subsample)) for a, b in windows]


def probe_memory(size: tuple[int, int], bit_depth: int = 8, codec: str = "x264") -> int:
    """Bytes one probe run may hold at its peak (the estimate the probes at once are capped by): a loop attempt's
    (on seven real 720p-1080p clips a probe's peak was at most 0.9 times it, `jndenc.media.ffargs.attempt_memory`)."""
    return attempt_memory(ENCODERS.get(codec, ""), size[0], size[1], bit_depth)


def probe_jobs(runs: int, jobs: int | None, size: tuple[int, int], *, bit_depth: int = 8, codec: str = "x264",
               cores: int | None = None, free: int | None = None) -> int:
    """How many of ``runs`` probe runs go at once: ``jobs`` where given (the user's ``--jobs``), else one per
    available core (``cores``), as many as ``free`` bytes of memory hold (default: what the machine has free).

    A probe run holds up to an attempt's memory (`probe_memory`): one per core of a 16-core machine on a 2160p
    10-bit source would have asked for tens of GB."""
    if jobs is None:
        jobs, _ = jobs_in_memory(cores or available_cores(), probe_memory(size, bit_depth, codec), free)
    return max(1, min(int(runs), int(jobs)))


def run_probe(src: str | os.PathLike, windows: Sequence[tuple[int, int]], size: tuple[int, int],
              opts: ProbeOptions = ProbeOptions(), *, bit_depth: int = 8, threads: int | None = None,
              work_dir: str | os.PathLike | None = None, fps: float | None = None,
              max_gap_seconds: float = 4.0, crfs: Sequence[float] | None = None,
              jobs: int | None = None, seek_times: Sequence[float] | None = None) -> tuple[list[dict], float]:
    """Probe the absolute frame ``windows`` of ``src`` (``size`` = (w, h)); returns per-window scores and seconds.

    Each dict has vmaf, psnr (means over scored frames), bpp, scored and crf. ``crfs`` gives each
    window its own quantiser (centred probes; default ``opts.crf``). With constant QP, windows
    within ``max_gap_seconds`` share a run; with CRF every window has a run of its own (rate
    control carries state from one window to the next: a noisy window after a clean one scored 2
    VMAF points higher than alone). With ``fps`` a run seeks (by time) to its first frame; without
    it, it decodes from the start (exact frame numbers whatever the timestamps, as the dataset's
    lossless window copies need). ``seek_times`` (`probe_input`): each frame's time from the input's start, which
    a run seeks by; an empty list: every run decodes from the start.

    Runs are independent FFmpeg processes and a 1 s probe keeps about one core busy whatever its
    thread count, so ``jobs`` of them run at once (default: `probe_jobs`, one per available core as far
    as memory holds them, at most one per run), each with ``threads`` (default: the cores shared among
    the jobs). The scores do not depend on it: x264 and libvmaf gave the same numbers at 1 and 2
    threads per probe.
    """
    require("libvmaf")
    if opts.codec not in ENCODERS:
        raise ValueError(f"probe codec must be one of {', '.join(ENCODERS)}")
    windows = [(int(a), int(b)) for a, b in windows]
    if not windows or min(b - a for a, b in windows) < 1:
        raise ValueError("every probe window needs at least one frame")
    q = [float(opts.crf)] * len(windows) if crfs is None else [float(c) for c in crfs]
    if len(q) != len(windows):
        raise ValueError("one probe CRF per window")
    t0 = time.perf_counter()
    runs = _runs(windows, opts, fps, max_gap_seconds, q)
    cores = available_cores()
    jobs = probe_jobs(len(runs), jobs, size, bit_depth=bit_depth, codec=opts.codec, cores=cores)
    threads = threads or threads_per_job(cores, jobs)
    out: list[dict] = [{}] * len(windows)
    tmp = Path(tempfile.mkdtemp(prefix="jndenc-probe-", dir=work_dir))

    def one(r: int) -> list[dict]:
        idx = runs[r]
        first = windows[idx[0]][0] if fps or seek_times else 0
        if seek_times is not None and not seek_times:
            seek = []
        elif seek_times is not None:
            seek = segment_seek(seek_times[first], seek_times[first - 1] if first else None)
        else:
            seek = seek_args(first, fps) if fps else []
        if not seek:
            first = 0
        local = [(windows[i][0] - first, windows[i][1] - first) for i in idx]
        try:
            return _probe_run(src, local, size, opts, bit_depth, threads, tmp / f"run{r}", seek, q[idx[0]])
        except JndencError:
            if not seek:
                raise
            # some inputs cannot seek (raw H.264 streams have no index): decode from the start instead
            return _probe_run(src, [windows[i] for i in idx], size, opts, bit_depth, threads, tmp / f"run{r}b", [],
                              q[idx[0]])

    try:
        if jobs == 1:
            results = [one(r) for r in range(len(runs))]
        else:
            with ThreadPoolExecutor(jobs, thread_name_prefix="jndenc-probe") as pool:
                results = list(pool.map(one, range(len(runs))))
        for idx, res in zip(runs, results):
            for i, sc in zip(idx, res):
                out[i] = sc | {"crf": q[i]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out, time.perf_counter() - t0


def _runs(windows: list[tuple[int, int]], opts: ProbeOptions, fps: float | None, max_gap_seconds: float,
          q: list[float]) -> list[list[int]]:
    """Indices of ``windows`` grouped into FFmpeg runs (each run encodes at one quantiser)."""
    if opts.rate_control != "qp" or len(set(q)) > 1:
        return [[i] for i in sorted(range(len(windows)), key=lambda i: windows[i][0])]
    # windows shorter than the subsampling step (1-frame shots) would force every frame of their run to
    # be scored: they get runs of their own
    short = [i for i, (a, b) in enumerate(windows) if b - a < opts.subsample]
    normal = [i for i in range(len(windows)) if i not in set(short)]
    runs = []
    for part in (normal, short):
        if not part:
            continue
        if fps:
            runs += [[part[j] for j in run] for run in group_windows([windows[i] for i in part],
                                                                     int(max_gap_seconds * fps))]
        else:
            runs.append(part)
    return runs


def _probe_run(src, windows, size, opts, bit_depth, threads, tmp: Path, seek, crf: float) -> list[dict]:
    tmp.mkdir(parents=True)
    sub = _effective_subsample([b - a for a, b in windows], opts.subsample)
    windows = scored_windows(windows, sub)
    lengths = [b - a for a, b in windows]
    enc = tmp / "probe.mkv"
    log = tmp / "vmaf.json"
    run_ffmpeg(probe_args(src, enc, log, windows, opts=opts, bit_depth=bit_depth, subsample=sub, threads=threads,
                          seek=seek, crf=crf), what=f"probe of {src}")
    nbytes = window_bytes(enc, lengths)
    frames = json.loads(log.read_text()).get("frames", [])
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    out = []
    for i, n in enumerate(lengths):
        mine = [f["metrics"] for f in frames if bounds[i] <= int(f["frameNum"]) < bounds[i + 1]]
        # a window's first frame has no previous frame of its own: alone its VMAF motion term is 0, after
        # another window it is the motion across the join, so where runs may join windows (constant QP) it is
        # left out wherever another frame is scored; a CRF window always runs alone and is scored whole,
        # exactly as a trial encode of it is
        if opts.rate_control == "qp" and len(mine) > 1:
            mine = mine[1:]
        mean = lambda k: float(np.mean([m[k] for m in mine])) if mine else math.nan  # noqa: E731
        out.append({"vmaf": mean("vmaf"), "psnr": min(mean("psnr_y"), 100.0),
                    "bpp": 8.0 * nbytes[i] / (size[0] * size[1] * n), "scored": len(mine)})
    return out


@contextmanager
def probe_input(src: str | os.PathLike, stream_index: int, frames: int,
                work_dir: str | os.PathLike | None = None) -> Iterator[tuple[Path, list[float] | None]]:
    """The file the probes of ``src`` read and the frame times their seeks go by (`run_probe`'s ``seek_times``),
    by the shot loop's rules: a seekable copy where the container has no index or makes its frame times up
    (`jndenc.media.seekable`, removed on leaving; numbered in display order where the timestamps are missing,
    repeated or jump back), no seek where no copy can stand for the frames, each frame's own time where frames are
    not evenly spaced (a screen recording that paused 10 s after frame 20 had its later shots probed on the first
    shot's frames), else None: frame number over the frame rate, as the
    probe model's features were measured. Sought by frame number, a probe of an MPEG-PS with frames missing their
    timestamps scored another shot's frames, and fast encoded two of three shots at the wrong CRF."""
    src = Path(src)
    stamps = source_timestamps(src, stream_index, frames)
    tmp = Path(tempfile.mkdtemp(prefix="jndenc-probe-src-", dir=work_dir))
    try:
        how = reading(src, stamps, tmp / "source.mkv", frames)
        if how.times is None:
            yield src, []
        elif how.path is None and not variable_rate(stamps.pts):
            yield src, None
        else:
            yield how.path or src, how.times
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def probe_shots(src: str | os.PathLike, shots: Sequence[tuple[int, int]], *, fps: float, size: tuple[int, int],
                opts: ProbeOptions = ProbeOptions(), bit_depth: int = 8, threads: int | None = None,
                work_dir: str | os.PathLike | None = None, crfs: Sequence[float] | None = None,
                jobs: int | None = None, seek_times: Sequence[float] | None = None
                ) -> tuple[list[ProbeResult], float]:
    """One probe per shot of ``src`` on its trial window; returns the results and the seconds it took.

    Centred settings need ``crfs`` (`centred_crfs` of the frame model's estimates). ``jobs``: probes at once
    (`probe_jobs`). ``seek_times``: `run_probe`'s.
    """
    if opts.centred and crfs is None:
        raise ValueError("a centred probe needs each shot's CRF (centred_crfs)")
    windows = shot_windows(shots, fps, opts.window_seconds)
    res, secs = run_probe(src, windows, size, opts, bit_depth=bit_depth, threads=threads, work_dir=work_dir, fps=fps,
                          crfs=crfs, jobs=jobs, seek_times=seek_times)
    return [ProbeResult(a, b, w, r["crf"], r["vmaf"], r["psnr"], r["bpp"], r["scored"])
            for (a, b), w, r in zip(shots, windows, res)], secs


def extract_windows(src: str | os.PathLike, windows: Sequence[tuple[int, int]], out: str | os.PathLike,
                    bit_depth: int = 8) -> list[tuple[int, int]]:
    """A lossless copy of only ``windows`` of ``src`` (one decode); returns the windows' frames in the copy.

    Probing the copy gives the same scores as probing ``src`` (the copy is exact) and is cheaper when
    several probe settings are compared on one clip.
    """
    args = lossless_args(src, out, bit_depth=bit_depth, vf=window_chain(windows))
    args[-1:-1] = ["-fps_mode", "passthrough"]
    run_ffmpeg(args, what=f"cutting probe windows of {src}")
    bounds = np.concatenate([[0], np.cumsum([b - a for a, b in windows])]).astype(int)
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(windows))]
