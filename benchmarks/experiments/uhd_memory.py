#!/usr/bin/env python3
"""Does an attempt's peak memory at 2160p, 8 and 10 bits, stay under the estimate the caps use, and what do the
decoders' threads add?

    python benchmarks/experiments/uhd_memory.py CLIPS... --out benchmarks/results/uhd_memory.json

`jndenc.media.ffargs.attempt_memory` sizes how many attempts run at once (the loop's, the probes', a batch's
reservation per file). Its bytes a pixel came from testsrc2 at up to 2160p and from real 720p-1080p footage on
this 2-core machine; no real 2160p source was measured (none is among the shared clips), and FFmpeg gives each
decoder one thread per core plus one (up to 16), each holding a frame, so a machine with more cores held more.
Per clip (1080p training clips): a 2160p cut (Lanczos upscale, from 40% of the way in) coded as 2160p sources
come, H.264 High at 8 bits and HEVC Main 10 at 10 bits, both near-transparent; on it one attempt as the loop runs
it (`jndenc.media.segments.attempt_args`: encode and VMAF in one FFmpeg run, every 3rd frame scored from 48
frames) of 45 and 90 frames, x264 medium at CRF 26 and SVT-AV1 at its medium speed at CRF 32, each in a child
process, twice: as jndenc runs it (both decoders on the segment's encoder threads, 6 at 2160p) and with both
decoders on 16 threads (what FFmpeg's own choice gives them on a machine of 15 cores or more). Peak resident
memory against the estimate, and CPU seconds. An upscale is smoother than native 2160p footage; the frames the
decoders, the encoder and the scorer hold set the peak. Run it on training and validation clips.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from own_reference import command_line, run_measured, write_rows  # noqa: E402

from jndenc.media import segments as S  # noqa: E402
from jndenc.media.ffargs import attempt_memory, pix_fmt  # noqa: E402
from jndenc.media.ffbin import ffmpeg_exe  # noqa: E402
from jndenc.media.probe import probe  # noqa: E402

LENGTHS = (45, 90)
MANY_CORES = 16  # FFmpeg's decoder threads on a machine of 15 cores or more
CODECS = (("x264", 26.0), ("av1", 32.0))


def uhd_cut(clip: Path, depth: int, frames: int, work: Path) -> Path:
    """A 3840x2160 cut of ``frames`` frames of ``clip`` from 40% of the way in: H.264 at 8 bits, HEVC at 10."""
    info = probe(clip)
    first = max(0, min(int(info.frames * 0.4), info.frames - frames))
    out = work / f"{clip.stem}_2160p{depth}.mkv"
    codec = (["-c:v", "libx264", "-preset", "veryfast", "-crf", "12"] if depth == 8 else
             ["-c:v", "libx265", "-preset", "ultrafast", "-crf", "14", "-x265-params", "log-level=error"])
    if not out.exists():
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip), "-vf",
                        f"trim=start_frame={first},setpts=PTS-STARTPTS,scale=3840:2160:flags=lanczos,"
                        f"format={pix_fmt(depth)}", "-frames:v", str(frames), *codec, str(out)], check=True)
    return out


def with_decoder_threads(args: list[str], threads: int) -> list[str]:
    """``args`` with every decoder's ``-threads`` (the one before each ``-i`` and before ``-dec``) set to
    ``threads``."""
    out = list(args)
    for k, a in enumerate(out):
        if a == "-threads" and k + 2 < len(out) and out[k + 2] in ("-i", "-dec"):
            out[k + 1] = str(threads)
    return out


def main(argv=None) -> int:
    args = command_line(__doc__, "/tmp/jndenc-uhd-memory", argv)
    rows = []
    for clip in args.clips:
        for depth in (8, 10):
            src = uhd_cut(clip, depth, max(LENGTHS), args.work)
            info = probe(src)
            for codec_name, crf in CODECS:
                codec = S.SegmentCodec(codec_name, "medium", S.encoder_threads(info.width, info.height), depth)
                estimate = attempt_memory(codec.name, info.width, info.height, depth)
                for n in LENGTHS:
                    args_n = S.attempt_args(src, args.work / "a.mkv", args.work / "a.json", (0, n), codec=codec,
                                            crf=crf, subsample=3 if n >= 48 else 1)
                    for threads in (codec.threads, MANY_CORES):
                        cpu, peak_mib = run_measured(with_decoder_threads(args_n, threads))
                        rows.append({"clip": clip.name, "bit_depth": depth, "encoder": codec.name, "frames": n,
                                     "decoder_threads": threads, "cpu_s": round(cpu, 2), "peak_mib": peak_mib,
                                     "estimate_mib": estimate >> 20,
                                     "peak_over_estimate": round((peak_mib << 20) / estimate, 3)})
                        print(rows[-1], flush=True)
    write_rows(args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
