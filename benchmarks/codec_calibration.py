#!/usr/bin/env python3
"""Where each encoder's CRF scale sits against x264's: the first step of the segment loop on other codecs.

    python benchmarks/codec_calibration.py CLIPS... --out jndenc/assets/codec_scales.json [--max-frames 120]
        [--codecs av1,vp9,libaom-av1,librav1e]

A codec name stands for its default encoder (av1: SVT-AV1); an encoder name (libaom-av1, librav1e) for that
encoder of its codec. Scales already in ``--out`` for codecs not run now are kept (each with the clips it was
measured on), so one encoder can be added without rerunning the others.

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
from jndenc.media.segments import ENCODER_CHOICES, SegmentCodec, codec_args

GRIDS = {"x264": range(14, 45, 4), "av1": range(16, 64, 6), "vp9": range(16, 64, 6),
         "libaom-av1": range(16, 64, 6), "librav1e": range(30, 231, 25)}  # rav1e: its quantizer index, 0-255
LEVELS = (90.0, 92.0, 94.0, 96.0, 98.0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-frames", type=int, default=120)
    ap.add_argument("--codecs", default="av1,vp9")
    args = ap.parse_args(argv)
    codecs = [c for c in args.codecs.split(",") if c]
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    per_clip = {}
    with tempfile.TemporaryDirectory(prefix="jndenc-codecs-") as tmp:
        work = Path(tmp)
        for clip in args.clips:
            info = probe(clip, count_frames=False)
            src = prepare_source(clip, work / f"{clip.stem}.mkv", args.max_frames, info.bit_depth)
            curves = {}
            for codec in ["x264", *codecs]:
                sc = segment_codec(codec, info.bit_depth)
                pts = []
                for crf in GRIDS[codec]:
                    out = work / f"{codec}{crf}.mkv"
                    run_ffmpeg(["-i", str(src), "-map", "0:v:0", *codec_args(sc, crf), str(out)], what=codec)
                    pts.append((crf, compare(out, src, features=(), threads=1).pool("vmaf")))
                    out.unlink()
                curves[codec] = pts
                print(f"{clip.name} {codec}: {[(c, round(v, 2)) for c, v in pts]}", file=sys.stderr, flush=True)
            per_clip[clip.name] = curves
            args.out.write_text(json.dumps(merged(old, summarize(per_clip, codecs, args.max_frames)), indent=1))
    print(json.dumps(summarize(per_clip, codecs, args.max_frames)["scales"], indent=1))
    return 0


def segment_codec(key: str, bit_depth: int) -> SegmentCodec:
    """A codec name (its default encoder) or an encoder name, at jndenc's default speed."""
    for codec, names in ENCODER_CHOICES.items():
        if key == codec or key in names:
            return SegmentCodec(codec, "medium", 1, bit_depth, "" if key == codec else key)
    raise SystemExit(f"unknown codec or encoder {key!r}")


def merged(old: dict, new: dict) -> dict:
    """``new``'s scales, with ``old``'s for codecs ``new`` did not measure (their clips and curves kept)."""
    out = {**new, "scales": {**old.get("scales", {}), **new["scales"]}, "curves": {}}
    for key, scale in out["scales"].items():
        src = new if key in new["scales"] else old
        scale.setdefault("clips", list(src.get("clips", [])))
    for clip, curves in {**old.get("curves", {})}.items():
        out["curves"][clip] = {k: v for k, v in curves.items() if k == "x264" or k not in new["scales"]}
    for clip, curves in new["curves"].items():
        out["curves"].setdefault(clip, {}).update(curves)
    out["clips"] = sorted({c for s in out["scales"].values() for c in s["clips"]})
    return out


def at_level(pts, level: float) -> float | None:
    c, v = zip(*pts)
    return match_crf(c, v, level)


def summarize(per_clip: dict, codecs, frames: int) -> dict:
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
                         "mae_of_fit": round(float(np.mean(np.abs(np.polyval(fit, x) - y))), 3),
                         "clips": list(per_clip), "frames": frames}
    return {"about": "codec CRF = a + b * x264 CRF at equal VMAF (mean, every frame), least squares over clips and "
                     "VMAF levels 90-98 (first `frames` frames of each clip); benchmarks/codec_calibration.py; keyed "
                     "by codec for its default encoder, by encoder name for the others", "scales": scales,
            "clips": list(per_clip), "curves": per_clip}


if __name__ == "__main__":
    sys.exit(main())
