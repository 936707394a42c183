#!/usr/bin/env python3
"""Which speed setting of each encoder matches x264 medium's encode time: the table behind
`jndenc.media.segments.SPEEDS` (``--preset medium`` on every encoder).

    python benchmarks/codec_speeds.py ../shared/clips/sam2_01_dog.mp4 --frames 120 --cpu 0 \\
        --out benchmarks/results/codec_speeds.json

One process pinned to one core encodes the first ``--frames`` frames of the clip (a lossless cut) as one segment
with jndenc's own arguments for each encoder (`codec_args`: threads by resolution, quantisation matrices and
screen-content tools on SVT-AV1, the key-frame interval), at the quality that maps from x264 CRF 23
(`jndenc.starts.codec_scale`), at each candidate speed; the figure is its CPU time over x264 medium's at CRF 23
in the same process (median of ``--reps``, the runs interleaved). Medium is the setting nearest x264 medium's
time, on the log scale (a setting twice as slow is as far as one twice as fast); where none comes within a
factor of 1.5, the fastest candidate (none of them a realtime mode). ``libsvtav1+scm=1`` times SVT-AV1 with a
setting under study added (its screen-content tools on every frame; not shipped). Run it on a training clip.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from jndenc.bench.report import git_commit
from jndenc.media.clips import prepare_source
from jndenc.media.probe import probe
from jndenc.media.runner import cpu_meter, run_ffmpeg
from jndenc.media.segments import SPEEDS, SegmentCodec, codec_args, encoder_threads
from jndenc.starts import codec_scale

CODECS = {"libsvtav1": "av1", "libvpx-vp9": "vp9", "libaom-av1": "av1", "librav1e": "av1"}
# the settings near each encoder's fastest offline one: libvpx-vp9's guide keeps --cpu-used 0-4 for good-quality
# (offline) encoding and 5 and up for realtime; FFmpeg takes libaom-av1's -cpu-used up to 8 and rav1e's -speed
# up to 10
CANDIDATES = {"libsvtav1": (7, 8, 9, 10), "libvpx-vp9": (2, 3, 4), "libaom-av1": (6, 7, 8), "librav1e": (9, 10),
              "libsvtav1+scm=1": (7, 8, 9, 10)}
SPEED_FLAG = {"libsvtav1": "-preset", "libvpx-vp9": "-cpu-used", "libaom-av1": "-cpu-used", "librav1e": "-speed"}


def speed_args(codec: SegmentCodec, crf: float, speed: int | None, extra: str = "") -> list[str]:
    """`codec_args` with the encoder's speed flag set to ``speed`` (None: as jndenc sets it) and ``extra``
    SVT-AV1 parameters added (a setting under study, such as ``scm=1``)."""
    args = codec_args(codec, crf)
    if speed is not None:
        args[args.index(SPEED_FLAG[codec.name]) + 1] = str(speed)
    if extra:
        i = args.index("-svtav1-params") + 1
        args[i] = f"{args[i]}:{extra}"
    return args


def medium(ratios: dict[str, float], near: float = 1.5) -> int:
    """The rule: the setting whose time over x264 medium's is nearest 1 on the log scale, if one is within a factor
    of ``near``; else the fastest candidate (every candidate here is slower than realtime modes)."""
    nearest = min(ratios, key=lambda s: abs(math.log(ratios[s])))
    if abs(math.log(ratios[nearest])) <= math.log(near):
        return int(nearest)
    return max(int(s) for s in ratios)  # higher is faster on every one of these scales


def _cpu(src: Path, out: Path, n: int, args: list[str]) -> float:
    used: dict[str, float] = {}
    with cpu_meter(used, "encode"):
        run_ffmpeg(["-i", str(src), "-map", "0:v:0", "-frames:v", str(n), *args, str(out)], what="timed encode")
    return used["encode"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--encoders", default=",".join(CANDIDATES))
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    commit = git_commit()
    encoders = args.encoders.split(",")
    with tempfile.TemporaryDirectory(prefix="jndenc-speeds-") as tmp:
        work = Path(tmp)
        info = probe(args.clip, count_frames=False)
        src = prepare_source(args.clip, work / "src.mkv", args.frames, info.bit_depth)
        info = probe(src)
        threads = encoder_threads(info.width, info.height)
        x264 = SegmentCodec("x264", "medium", threads, info.bit_depth)
        runs = {name: {s: [] for s in CANDIDATES[name]} for name in encoders}
        base = []
        for _ in range(args.reps):
            base.append(_cpu(src, work / "x264.mkv", info.frames, codec_args(x264, 23.0)))
            for name in encoders:
                encoder, _, extra = name.partition("+")
                codec = SegmentCodec(CODECS[encoder], "medium", threads, info.bit_depth, encoder)
                a, b = codec_scale(codec.codec, encoder)
                for s in CANDIDATES[name]:
                    runs[name][s].append(_cpu(src, work / f"{encoder}.mkv", info.frames,
                                              speed_args(codec, a + b * 23.0, s, extra)))
    x = float(np.median(base))
    table = {}
    for name in encoders:
        ratios = {str(s): round(float(np.median(t)) / x, 3) for s, t in runs[name].items()}
        shipped = SPEEDS[name.partition("+")[0]]["medium"]
        table[name] = {"vs_x264_medium": ratios, "medium": medium(ratios), "shipped": shipped}
        print(name, ratios, "medium by the rule:", table[name]["medium"], "shipped:", shipped)
    args.out.write_text(json.dumps({"commit": commit, "clip": args.clip.name, "frames": info.frames,
                                    "size": [info.width, info.height], "x264_medium_cpu_s": round(x, 3),
                                    "reps": args.reps, "encoders": table}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    raise SystemExit(run_main(main))
