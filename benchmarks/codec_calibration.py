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
codec CRF) pair at one level of one clip is a point, and the scale is the least-squares line through the points
(`jndenc.calibrate.fit_scale`; `jndenc calibrate --codec` measures and fits one encoder the same way for a
user's own clips). `jndenc.starts` maps a shot's start through it (the loop corrects what is left). Run it on
training and validation clips only.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from jndenc.calibrate import SCALE_GRIDS as GRIDS, fit_scale, scale_curves


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
        for clip in args.clips:
            curves = scale_curves(clip, {k: GRIDS[k] for k in ["x264", *codecs]}, Path(tmp),
                                  max_frames=args.max_frames)
            for codec, pts in curves.items():
                print(f"{clip.name} {codec}: {[(c, round(v, 2)) for c, v in pts]}", file=sys.stderr, flush=True)
            per_clip[clip.name] = curves
            args.out.write_text(json.dumps(merged(old, summarize(per_clip, codecs, args.max_frames)), indent=1))
    print(json.dumps(summarize(per_clip, codecs, args.max_frames)["scales"], indent=1))
    return 0


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


def summarize(per_clip: dict, codecs, frames: int) -> dict:
    """The line of each codec over every clip (`jndenc.calibrate.fit_scale`, what `jndenc calibrate --codec`
    fits), in the shipped asset's layout: every codec's scale in one file."""
    scales = {}
    for codec in codecs:
        fit = fit_scale(per_clip, codec)
        if fit is not None:
            scales[codec] = {**fit, "clips": list(per_clip), "frames": frames}
    return {"about": "codec CRF = a + b * x264 CRF at equal VMAF (mean, every frame), least squares over clips and "
                     "VMAF levels 90-98 (first `frames` frames of each clip); benchmarks/codec_calibration.py; keyed "
                     "by codec for its default encoder, by encoder name for the others", "scales": scales,
            "clips": list(per_clip), "curves": per_clip}


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
