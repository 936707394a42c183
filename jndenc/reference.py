"""`jndenc encode --compare-crf N`: the same input encoded the way a user does today, measured beside jndenc's.

A reference is a plain ``ffmpeg -c:v libx264 -preset P -crf N`` of the video
stream alone (no shot keyframes, no zones: what the user runs now), written to
a temp file and deleted. What it answers, on the user's own clip:

* bytes: jndenc's video stream against the reference's (demuxed packet sizes,
  so audio, subtitles and container overhead do not blur the comparison);
* quality: with ``--verify``, the reference's per-shot VMAF over the same shots,
  so a worst shot that the fixed CRF leaves visibly worse shows beside jndenc's;
* cost: jndenc's own wall time (analysis, encode, validation) over the
  reference encode's, both in this process on this machine.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Sequence

import ffmpeg

from .errors import JndencError
from .media.decode import count_packets
from .media.probe import VideoInfo
from .media.ffargs import VMAF_MODEL, graph_args, pix_fmt
from .media.runner import run_ffmpeg
from .media.segments import SegmentCodec, encoder_args, encoder_threads
from .planner import CODECS, Plan
from .progress import FrameCounter, bar
from . import verify as V


def reference_args(src: str | os.PathLike, out: str | os.PathLike, *, codec: str, preset: str, crf: float,
                   video_stream: int = 0, threads: int | None = None, bit_depth: int = 8,
                   encoder: str | None = None) -> list[str]:
    """FFmpeg arguments (without the binary) of the plain fixed-CRF encode of ``src``'s video stream, 4:2:0 at
    ``bit_depth`` as jndenc's own output (a 4:2:2 master's plain encode would otherwise carry twice the chroma,
    and jndenc's saving against it would be the subsampling's). ``encoder``: AV1's (default: the codec's own)."""
    if codec not in CODECS:
        # AV1 and VP9 have no x264-style preset or CRF option: their plain encode takes the options a segment of
        # the loop takes (the preset on the encoder's speed scale, its quality knob, the key frame distance)
        seg = SegmentCodec(codec, preset, threads or 1, bit_depth, encoder or "")
        return ["-i", str(src), "-map", f"0:v:{video_stream}", *encoder_args(seg, crf), "-fps_mode", "passthrough",
                "-pix_fmt", pix_fmt(bit_depth), str(out)]
    kw = {"c:v": CODECS[codec], "preset": preset, "crf": f"{crf:g}", "fps_mode": "passthrough",
          "pix_fmt": pix_fmt(bit_depth)}
    if codec == "x265":
        kw["x265-params"] = "log-level=error"
    if threads:
        kw["threads"] = threads
    return graph_args(src, out, lambda i, o: ffmpeg.output(ffmpeg.input(i)[f"v:{video_stream}"], o, **kw))


def compare_or_note(src: Path, output: Path, plan: Plan, info: VideoInfo, crf: float, **kwargs
                    ) -> tuple[dict | None, list[str]]:
    """`compare_with_crf`, or no comparison and a note saying why where the plain encode or its measurement
    failed: by then the output is complete and checked, so a failed comparison must not fail the encode (its exit
    code would say the output is missing, and a batch would count the file failed with its output in place)."""
    try:
        return compare_with_crf(src, output, plan, info, crf, **kwargs), []
    except (JndencError, OSError) as exc:  # OSError: the temp file (a full disk)
        return None, [f"--compare-crf {crf:g}: the plain encode could not be made or measured ({exc}); the output "
                      "is complete and has no comparison"]


def video_bytes(path: str | os.PathLike) -> int:
    """Bytes of the video stream's packets (demux only, `count_packets`)."""
    return count_packets(path).bytes


def compare_with_crf(src: Path, output: Path, plan: Plan, info: VideoInfo, crf: float, *,
                     jndenc_seconds: float, quality: Sequence[V.ShotQuality] | None = None,
                     target: float | None = None, threads: int | None = None, quiet: bool = True,
                     work_dir: str | os.PathLike | None = None, vmaf_model: str = VMAF_MODEL) -> dict:
    """Encode the reference at ``crf`` and compare it with ``output`` (``--json``'s ``compare``).

    ``jndenc_seconds``: what jndenc took to produce ``output`` (analysis + encode + validation).
    ``quality`` (jndenc's per-shot VMAF from ``--verify``) asks for the reference's over the same shots, measured
    with libvmaf ``vmaf_model`` as jndenc's were.
    """
    shots = [(s.start_frame, s.end_frame) for s in plan.shots]
    fd, name = tempfile.mkstemp(prefix=".jndenc-reference-", suffix=".mkv", dir=work_dir or output.parent)
    os.close(fd)
    ref = Path(name)
    try:
        t0 = time.perf_counter()
        enc_threads = threads
        if threads is None and plan.codec not in CODECS:
            # their encoders take a thread count, not "auto": the one the loop's segments of this size ran with
            enc_threads = encoder_threads(info.width, info.height)
        args = reference_args(src, ref, codec=plan.codec, preset=plan.preset, crf=crf, bit_depth=info.bit_depth,
                              video_stream=info.video_stream, threads=enc_threads,
                              encoder=plan.options.get("encoder"))
        with bar(plan.frames, f"reference ({plan.codec} crf {crf:g})", quiet) as pb:
            run_ffmpeg(args, what=f"reference encode of {src}", on_frame=FrameCounter(pb))
        seconds = time.perf_counter() - t0
        ours, theirs = video_bytes(output), video_bytes(ref)
        out = {"crf": float(crf), "codec": plan.codec, "preset": plan.preset, "video_bytes": theirs,
               "jndenc_video_bytes": ours, "saving_pct": round(100.0 * (1.0 - ours / theirs), 2) if theirs else None,
               "encode_s": round(seconds, 3),
               "jndenc_time_ratio": round(jndenc_seconds / seconds, 3) if seconds > 0 else None}
        if quality is not None:
            ref_q = V.verify(ref, src, shots, info.bit_depth, threads, quiet=quiet, model=vmaf_model)
            # the same shape as the result's own "shots": per-shot VMAF under "vmaf"
            out["shots"] = [{"start_frame": a, "end_frame": b, "vmaf": q.to_dict()} for (a, b), q in zip(shots, ref_q)]
            out["verify"] = V.summary(ref_q, target, vmaf_model)
        return out
    finally:
        ref.unlink(missing_ok=True)
