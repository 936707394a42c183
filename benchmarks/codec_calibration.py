#!/usr/bin/env python3
"""Where each encoder's CRF scale sits against x264's: the first step of the segment loop on other codecs.

    python benchmarks/codec_calibration.py CLIPS... --out jndenc/assets/codec_scales.json [--max-frames 120]

The model predicts x264 CRFs. Per clip (its first ``--max-frames`` frames, a lossless cut) each encoder is run
on a CRF grid at its default speed in jndenc (`jndenc.media.segments.codec_args`) and VMAF measured (every
frame). For VMAF levels 90..98 the CRF reaching that level is interpolated on each curve; each (x264 CRF,
codec CRF) pair at one level of one clip is a point, and the table is the median codec CRF in bins of x264
CRF. `jndenc.starts` maps a shot's start through it (the loop corrects what is left). Run it on training
and validation clips only.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from jndenc.calibrate import match_crf
from jndenc.media.clips import prepare_source
from jndenc.media.probe import probe
from jndenc.media.quality import compare
from jndenc.media.runner import run_ffmpeg
from jndenc.media.segments import SegmentCodec, codec_args

GRIDS = {"x264": range(14, 45, 4), "av1": range(16, 64, 6), "vp9": range(16, 64, 6)}
LEVELS = (90.0, 92.0, 94.0, 96.0, 98.0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-frames", type=int, default=120)
    ap.add_argument("--codecs", default="av1,vp9")
    args = ap.parse_args(argv)
    codecs = [c for c in args.codecs.split(",") if c]
    per_clip = {}
    with tempfile.TemporaryDirectory(prefix="jndenc-codecs-") as tmp:
        work = Path(tmp)
        for clip in args.clips:
            info = probe(clip, count_frames=False)
            src = prepare_source(clip, work / f"{clip.stem}.mkv", args.max_frames, info.bit_depth)
            curves = {}
            for codec in ["x264", *codecs]:
                sc = SegmentCodec(codec, "medium", 1, info.bit_depth)
                pts = []
                for crf in GRIDS[codec]:
                    out = work / f"{codec}{crf}.mkv"
                    run_ffmpeg(["-i", str(src), "-map", "0:v:0", *codec_args(sc, crf), str(out)], what=codec)
                    pts.append((crf, compare(out, src, features=(), threads=1).pool("vmaf")))
                    out.unlink()
                curves[codec] = pts
                print(f"{clip.name} {codec}: {[(c, round(v, 2)) for c, v in pts]}", file=sys.stderr, flush=True)
            per_clip[clip.name] = curves
            args.out.write_text(json.dumps(summarize(per_clip, codecs), indent=1))
    print(json.dumps(summarize(per_clip, codecs)["scales"], indent=1))
    return 0


def at_level(pts, level: float) -> float | None:
    c, v = zip(*pts)
    return match_crf(c, v, level)


def summarize(per_clip: dict, codecs) -> dict:
    scales = {}
    for codec in codecs:
        pairs = []
        for curves in per_clip.values():
            for level in LEVELS:
                a, b = at_level(curves["x264"], level), at_level(curves[codec], level)
                if a is not None and b is not None:
                    pairs.append((a, b))
        if not pairs:
            continue
        x, y = np.array(pairs).T
        fit = np.polyfit(x, y, 1)
        scales[codec] = {"x264_to_codec": [round(float(fit[1]), 3), round(float(fit[0]), 4)], "points": len(pairs),
                         "mae_of_fit": round(float(np.mean(np.abs(np.polyval(fit, x) - y))), 3)}
    return {"about": "codec CRF = a + b * x264 CRF at equal VMAF (mean, every frame), least squares over clips and "
                     "VMAF levels 90-98; benchmarks/codec_calibration.py", "scales": scales,
            "clips": list(per_clip), "curves": per_clip}


if __name__ == "__main__":
    sys.exit(main())
