"""Shot segments: each shot encoded on its own and measured in the same FFmpeg run (`jndenc.media.join` joins
them without re-encoding, with the source's timestamps).

Builders are pure (`attempt_args`, `codec_args`, `measure_args`); `run_attempt` runs one and reads what it
measured.

Why these choices:

- Frames are cut by index after decoding (``trim=start_frame``), never by seeking to a keyframe: one frame of
  misalignment costs many VMAF points. A shot that starts late is reached by an exact time seek a quarter of the way
  back to the frame before its first (`seek_args`) (the analysis recorded every frame's time), then trimmed by index;
  an input with no index to seek by is read from a copy that has one (`jndenc.media.seekable`).
- x264 writes the initial QP, which follows the CRF, into its PPS; ``stitchable=1`` keeps every header
  identical whatever the CRF, so segments at different CRFs join under one set of parameter sets. x265's
  headers do not depend on the CRF; ``info=0`` drops its settings SEI, the one part that does.
- The segment is decoded back as it is written (FFmpeg's loopback decoder) and scored against the same
  decoded source frames, so the source is decoded once per attempt.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .decode import count_packets
from .enc_params import Params, gop, merged
from .ffargs import VMAF_MODEL, decoder_threads, pix_fmt, quality_args, quality_graph
from ..errors import UserError
from .runner import run_ffmpeg

# The FFmpeg encoders each codec runs through, the default first (`--encoder` picks another)
ENCODER_CHOICES = {"x264": ("libx264",), "x265": ("libx265",), "av1": ("libsvtav1", "libaom-av1", "librav1e"),
                   "vp9": ("libvpx-vp9",)}
ENCODERS = {codec: names[0] for codec, names in ENCODER_CHOICES.items()}
# each encoder's quality knob: CRF, or rav1e's constant quantizer index
QUALITY_RANGE = {"libx264": (0, 51), "libx265": (0, 51), "libsvtav1": (1, 63), "libaom-av1": (0, 63),
                 "librav1e": (0, 255), "libvpx-vp9": (0, 63)}
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
# x264 preset names on each encoder's own speed scale, medium at the speed whose encode time is nearest x264
# medium's (120 frames of a 720p training clip, sam2_01_dog.mp4, one core; benchmarks/codec_speeds.py,
# results/codec_speeds.json): SVT-AV1 preset 8. libvpx-vp9 --cpu-used in its "good" deadline, libaom-av1
# --cpu-used (good usage) and rav1e --speed: no offline setting comes within 1.5x of x264 medium's speed on one
# thread, so medium takes their fastest setting that is not a realtime mode
SPEEDS = {"libsvtav1": dict(zip(X264_PRESETS, (12, 11, 10, 10, 9, 8, 6, 5, 4, 2))),
          "libvpx-vp9": dict(zip(X264_PRESETS, (8, 7, 6, 6, 5, 4, 3, 2, 1, 0))),
          "libaom-av1": dict(zip(X264_PRESETS, (8, 8, 8, 8, 8, 8, 6, 5, 4, 3))),
          "librav1e": dict(zip(X264_PRESETS, (10, 10, 10, 10, 10, 10, 9, 8, 7, 6)))}


# The longest distance between key frames, in frames, on every encoder: x264's and x265's default. Every segment
# starts with a key frame anyway; SVT-AV1 (about 5 s) and libvpx-vp9 (128 frames) would otherwise put another
# one inside most pieces of a long shot, so the same random access would cost them more bytes than x264
KEYINT = 250


def codec_name(codec: str, encoder: str | None) -> str:
    """How results name what encoded: the codec, and the FFmpeg encoder where it is not the codec's default."""
    return codec if encoder in (None, "", ENCODERS.get(codec)) else f"{codec} ({encoder})"


def encoder_of(codec: str, encoder: str | None = None) -> str:
    """The FFmpeg encoder that runs ``codec``: ``encoder`` where it is one of the codec's, else the default."""
    if not encoder:
        return ENCODERS[codec]
    if encoder not in ENCODER_CHOICES[codec]:
        raise UserError(f"--encoder {encoder} does not encode {codec} (choose from "
                        f"{', '.join(ENCODER_CHOICES[codec])})")
    return encoder


@dataclass(frozen=True)
class SegmentCodec:
    """What every segment of one output shares: the output is byte-identical whatever runs in parallel."""

    codec: str = "x264"
    preset: str = "medium"
    threads: int = 1
    bit_depth: int = 8
    encoder: str = ""  # "": the codec's default encoder
    params: Params = ()  # the user's own encoder options (`jndenc.media.enc_params`)
    vfr: bool = False  # frames not evenly spaced (`jndenc.media.timing.variable_rate`): encode on their time base
    colour: Params = ()  # the output's colour tags (`jndenc.media.probe.colour_args`)
    # frames per second the frames are stamped at where the source's timestamps are missing or repeated; 0: the
    # source's. The join orders a segment's frames by their timestamps: two frames with one (a malformed source) were
    # refused there, after every attempt had run
    rate: float = 0.0

    @property
    def name(self) -> str:
        return self.encoder or ENCODERS[self.codec]


def encoder_threads(width: int, height: int) -> int:
    """Encoder threads of a segment, from its resolution alone (x264's output changes with its thread count,
    so it may not follow the number of parallel jobs): one per 360 lines, 1 to 8."""
    return int(min(8, max(1, math.ceil(min(width, height) / 360))))


def codec_args(codec: SegmentCodec, crf: float) -> list[str]:
    """Encoder options of one segment at ``crf`` (`encoder_args`) with its colour tags and the user's own
    (``codec.params``)."""
    return merged(encoder_args(codec, crf), codec.colour + codec.params)


# On 8-bit sources this SVT-AV1 (4.2) with quantisation matrices decodes to a broken picture at its finest CRFs (a
# mean luma error of 3 to 34 levels where 0.1 to 0.6 is normal: a soak's two AV1 shots ended at VMAF 89.9 and
# 91.7, each finer attempt reading worse). Measured on the first 4 to 12 frames of 18 training and validation
# clips at CRF 1 to 14: broken at CRF 8 and below on some clips (where depends on the frames), never at 9 or
# above; never on 10-bit sources. Below this CRF an 8-bit source is coded without them
SVT_QM_MIN_CRF = 10


def encoder_args(codec: SegmentCodec, crf: float) -> list[str]:
    """Encoder options of one segment at ``crf`` (on the encoder's own scale), ``codec.preset`` an x264 name.

    Film grain synthesis stays off in every AV1 encoder (their default; set anyway): VMAF scores synthesised
    grain as error. SVT-AV1 codes with quantisation matrices (``enable-qm``, off by default): in the loop they
    saved 3.8% of its bytes on 14 training and validation clips at the same attempts and band
    (benchmarks/results/codec_qm.json); not on 8-bit sources below `SVT_QM_MIN_CRF`, where they broke the picture."""
    name = codec.name
    q = f"{round(crf):d}"  # every encoder but x264 and x265 takes whole steps
    g = ["-g", str(KEYINT)]  # x264 and x265 have it by default
    if name == "libsvtav1":
        qm = int(codec.bit_depth > 8 or round(crf) >= SVT_QM_MIN_CRF)
        return ["-c:v", name, "-preset", str(SPEEDS[name][codec.preset]), "-crf", q, *g,
                "-svtav1-params", f"lp={codec.threads}:film-grain=0:enable-qm={qm}"]
    if name == "libaom-av1":
        return ["-c:v", name, "-crf", q, "-b:v", "0", "-cpu-used", str(SPEEDS[name][codec.preset]), *g,
                "-denoise-noise-level", "0", "-threads", str(codec.threads)]
    if name == "librav1e":
        return ["-c:v", name, "-qp", q, "-speed", str(SPEEDS[name][codec.preset]), *g,
                "-threads", str(codec.threads)]
    if name == "libvpx-vp9":
        return ["-c:v", name, "-crf", q, "-b:v", "0", "-deadline", "good", "-cpu-used",
                str(SPEEDS[name][codec.preset]), *g, "-row-mt", "1", "-threads", str(codec.threads)]
    args = ["-c:v", name, "-preset", codec.preset, "-crf", f"{crf:g}"]
    if name == "libx264":
        args += ["-x264-params", "stitchable=1", "-threads", str(codec.threads)]
    else:
        args += ["-x265-params", f"log-level=error:info=0:pools={codec.threads}:frame-threads={codec.threads}"]
    return args


def seek_args(shot_time: float | None, previous_time: float | None) -> list[str]:
    """Input options that start decoding at the frame shown at ``shot_time`` seconds: an exact seek a quarter of
    the way back to the frame before (none for the first frame).

    FFmpeg keeps the frames from the seek time rounded to the nearest tick of the stream's time base; where that is
    1/frame-rate (many cameras, MPEG-4 Part 2, AVI), a seek half way back printed to the microsecond rounds as
    often onto the frame before as onto the shot's (every segment after a cut at a multiple of 3 frames on a 1/30 s
    grid began one frame early, and the output showed each such shot one frame late). A quarter is far from
    both ties. ``-copyts`` keeps the source's timestamps: without it FFmpeg subtracts the seek time, and the
    encoder's 1/frame-rate time base then rounds frames half a frame off the grid onto each other (two frames
    with one timestamp, whose order `join` could no longer tell).
    """
    if previous_time is None or not shot_time or shot_time <= 0:
        return []
    back = (shot_time - previous_time) / 4 if previous_time < shot_time else 0.001
    return ["-copyts", "-ss", f"{max(0.0, shot_time - back):.6f}"]


def keyframe_grid(gop: int | None, first: int) -> list[str]:
    """``-force_key_frames`` for a segment whose first frame is frame ``first`` of the output: a key frame at every
    ``gop``-th frame counted from the output's first, as one encode of the whole file with a fixed interval puts
    them (HLS/DASH renditions align on that grid). Without it each segment's encoder counts its interval from the
    segment's own start, and every shot moved the grid (g=48, a cut at frame 120: key frames at 168 and 216, not
    144 and 192). None: the encoder's own placement."""
    if not gop:
        return []
    return ["-force_key_frames", f"expr:eq(mod(n+{int(first)},{int(gop)}),0)"]


def attempt_args(src: str | os.PathLike, out: str | os.PathLike, log: str | os.PathLike, frames: tuple[int, int],
                 *, codec: SegmentCodec, crf: float, seek: Sequence[str] = (),
                 subsample: int = 1, vmaf_threads: int = 1, first: int = 0, model: str = VMAF_MODEL,
                 lead: int = 0) -> list[str]:
    """One attempt in one FFmpeg run: frames [a, b) (counted after ``seek``) of ``src`` encoded to ``out`` and
    scored with VMAF (``model``) against the same decoded frames (every ``subsample``-th frame from the first), to
    ``log``.
    ``first``: the segment's first frame in the output, which places the user's key frame grid (`keyframe_grid`).
    ``lead``: that many source frames before a are scored in front (`jndenc.media.ffargs.quality_graph`), so that
    the segment's first frame reads as it will in the finished file; `read_scores` drops them.

    The encoder gets the source's timestamps (its rate control reads the frame rate from them, as in a
    whole-file encode); the scorer lines frames up by index.
    """
    a, b = int(frames[0]), int(frames[1])
    # a variable-rate source keeps its own time base in the encoder: on FFmpeg's default, 1/frame-rate, frames closer
    # together than that grid (a screen recording's bursts) were stamped alike, and `join` could not order them
    tb = ["-enc_time_base:v", "filter"] if codec.vfr else []
    # one decoder feeds the encoder and the scorer (`jndenc.media.ffargs.attempt_memory` says why not two); it and
    # the encode's decoder take the encoder's thread count, fixed by the frame size, not the machine's cores
    dec = decoder_threads(codec.threads)
    restamp = f",setpts=N/({codec.rate:.9g}*TB)" if codec.rate else ""
    enc = [*seek, *dec, "-i", str(src), "-filter_complex",
           f"[0:V:0]trim=start_frame={a}:end_frame={b}{restamp},format={pix_fmt(codec.bit_depth)}[enc]",
           "-map", "[enc]",
           "-fps_mode", "passthrough", *tb, *codec_args(codec, crf), *keyframe_grid(gop(codec.params), first),
           "-frames:v", str(b - a), str(out)]
    graph = quality_graph(log, bit_depth=codec.bit_depth, ref_range=(a, b), threads=vmaf_threads, features=(),
                          subsample=subsample, distorted="[dec:0]", reference="[0:V:0]", model=model, lead=lead)
    return enc + [*dec, "-dec", "0:0", "-filter_complex", f"{graph}[scored]", "-map", "[scored]", "-f", "null", "-"]


@dataclass
class Measured:
    """What one attempt wrote and measured."""

    bytes: int
    frames: int
    vmaf: float  # mean over the scored frames
    p5: float
    scored: int
    error: float = 0.0  # standard error of ``vmaf`` as the mean of every frame (`sampled_error`); 0: all scored


def measure_args(src: str | os.PathLike, seg: str | os.PathLike, log: str | os.PathLike, frames: tuple[int, int],
                 *, bit_depth: int, seek: Sequence[str] = (), model: str = VMAF_MODEL, threads: int = 0,
                 lead: int = 0) -> list[str]:
    """Every frame of an attempt's segment ``seg`` scored against frames [a, b) (counted after ``seek``) of
    ``src`` with VMAF ``model``, to ``log``: the full measurement of an attempt first scored on a sample
    (`attempt_args`, whose ``lead`` it takes); ``threads``: each decoder's (the segment's encoder threads, as in its
    attempt)."""
    graph = quality_graph(log, bit_depth=bit_depth, ref_range=(int(frames[0]), int(frames[1])), features=(),
                          model=model, distorted="[0:v]", reference="[1:V]", lead=lead)
    return quality_args(seg, src, graph, reference_seek=seek, threads=threads)


def read_scores(log: Path, lead: int = 0) -> np.ndarray:
    """The VMAF of each frame libvmaf scored, less the ``lead`` frames played in front (`attempt_args`)."""
    frames = json.loads(log.read_text()).get("frames", [])
    return np.array([f["metrics"]["vmaf"] for f in frames if not lead or f["frameNum"] >= lead], float)


def sampled_mean(scored: np.ndarray, frames: int) -> float:
    """A segment's mean VMAF from its scored frames (every Nth from the first, or all ``frames``): the first at
    its own weight, the others standing for the rest. The first frame is a key frame (and in the file's first shot
    VMAF's motion term has no frame before it), so it reads unlike the rest; a plain mean of every Nth frame would
    weigh it N times."""
    if scored.size < 2 or scored.size >= frames:
        return float(scored.mean())
    return float((scored[0] + (frames - 1) * scored[1:].mean()) / frames)


def sampled_error(scored: np.ndarray, frames: int) -> float:
    """The standard error of `sampled_mean` as an estimate of the mean over all ``frames``: the spread of the
    frames standing for the rest over their number, with the finite-population correction (0 when every frame
    was scored; infinite when too few were to tell). A shot whose frames differ a lot (a flash, fast motion,
    frames at 87 and 98) is read far less surely from every Nth frame than a steady one."""
    if scored.size >= frames:
        return 0.0
    rest = scored[1:]
    if rest.size < 2:
        return float("inf")
    k, n = rest.size, frames - 1
    se = float(rest.std(ddof=1)) / np.sqrt(k) * np.sqrt(max(0.0, 1.0 - k / n))
    return float(se * n / frames)


def _measured(out: Path, scores: np.ndarray) -> Measured:
    pc = count_packets(out)
    if not scores.size:
        return Measured(pc.bytes, pc.frames, float("nan"), float("nan"), 0)
    return Measured(pc.bytes, pc.frames, sampled_mean(scores, pc.frames), float(np.percentile(scores, 5)),
                    int(scores.size), sampled_error(scores, pc.frames))


def run_attempt(src: str | os.PathLike, out: Path, frames: tuple[int, int], *, codec: SegmentCodec, crf: float,
                seek: Sequence[str] = (), subsample: int = 1, first: int = 0, model: str = VMAF_MODEL,
                lead: int = 0, what: str) -> Measured:
    log = out.with_suffix(".vmaf.json")
    try:
        run_ffmpeg(attempt_args(src, out, log, frames, codec=codec, crf=crf, seek=seek, subsample=subsample,
                                first=first, model=model, lead=lead), what=what)
        scores = read_scores(log, lead)
    finally:
        log.unlink(missing_ok=True)
    return _measured(out, scores)


def remeasure(src: str | os.PathLike, seg: Path, frames: tuple[int, int], *, bit_depth: int,
              seek: Sequence[str] = (), model: str = VMAF_MODEL, threads: int = 0, lead: int = 0,
              what: str) -> Measured:
    """An attempt's segment measured again on every frame (``threads``: each decoder's, `measure_args`)."""
    log = seg.with_suffix(".full.json")
    try:
        run_ffmpeg(measure_args(src, seg, log, frames, bit_depth=bit_depth, seek=seek, model=model, threads=threads,
                                lead=lead), what=what)
        scores = read_scores(log, lead)
    finally:
        log.unlink(missing_ok=True)
    return _measured(seg, scores)
