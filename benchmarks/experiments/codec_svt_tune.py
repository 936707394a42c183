#!/usr/bin/env python3
"""SVT-AV1 settings against VMAF: bytes at VMAF 94 of the loop's SVT-AV1 segments with each candidate setting
added to jndenc's (`jndenc.media.segments.codec_args`), on training and validation clips.

    python benchmarks/experiments/codec_svt_tune.py CLIPS... --out A.json [--cpu 0] [--max-frames 90]
    python benchmarks/experiments/codec_svt_tune.py --merge A.json B.json --out RESULT.json

SVT-AV1 4.x tunes for PSNR by default (``tune=1``) and leaves variance boost off; jndenc targets VMAF. Per clip
(a lossless cut of its first ``--max-frames`` frames) every setting encodes the cut as one segment at four CRFs
(``--crfs``: a clip still above 94 at the default ones runs again at higher ones) and scores every frame (the loop's attempt, `attempt_args`); bytes at VMAF 94 come from linear interpolation of
log bytes between the two CRFs around 94 (the nearest two where none brackets it, marked). A setting's figure
is the per-clip ratio of its bytes at 94 to jndenc's setting's, and its CPU time over jndenc's setting's.

Run it only on training and validation clips: a shipped encoder setting is chosen from it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from jndenc.media.runner import cpu_meter, run_ffmpeg
from jndenc.media.segments import SegmentCodec, attempt_args, encoder_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
import study  # noqa: E402

SETTINGS = {"jndenc": "", "tune=0": "tune=0", "variance-boost": "enable-variance-boost=1", "scm=1": "scm=1",
            "tune=0+variance-boost": "tune=0:enable-variance-boost=1",
            # second round: the in-loop filters and psychovisual knobs that smooth or keep fine lines and text
            "tf=0": "enable-tf=0", "cdef=0": "enable-cdef=0", "restoration=0": "enable-restoration=0",
            "sharpness=2": "sharpness=2", "tune=2": "tune=2", "luminance-qp-bias=50": "luminance-qp-bias=50",
            "ac-bias=1": "ac-bias=1.0", "dlf=2": "enable-dlf=2"}
CRFS = (24, 31, 38, 45)
TARGET = 94.0


def _args(src: Path, out: Path, log: Path, n: int, codec: SegmentCodec, crf: int, extra: str) -> list[str]:
    args = attempt_args(src, out, log, (0, n), codec=codec, crf=crf)
    if extra:
        i = args.index("-svtav1-params") + 1
        args[i] = f"{args[i]}:{extra}"
    return args


def at_target(points: list[tuple[float, int]]) -> tuple[float, bool]:
    """Bytes at VMAF `TARGET` from (VMAF, bytes) points, and whether two points bracket it."""
    pts = sorted(points)
    v = np.array([p[0] for p in pts])
    lb = np.log([p[1] for p in pts])
    above = np.nonzero(v >= TARGET)[0]
    below = np.nonzero(v < TARGET)[0]
    if len(above) and len(below):
        i, j = below[-1], above[0]
        bracket = True
    else:
        i, j = (0, 1) if not len(below) else (len(v) - 2, len(v) - 1)
        bracket = False
    if v[j] == v[i]:
        return float(np.exp(lb[j])), bracket
    return float(np.exp(lb[i] + (TARGET - v[i]) * (lb[j] - lb[i]) / (v[j] - v[i]))), bracket


def run_clip(clip: Path, work: Path, max_frames: int, crfs: tuple[int, ...] = CRFS,
             settings: tuple[str, ...] = tuple(SETTINGS)) -> dict:
    src, info = study.cut(clip, work, max_frames)
    codec = SegmentCodec(codec="av1", threads=encoder_threads(info.width, info.height), bit_depth=info.bit_depth)
    n = info.frames
    rec = {"clip": clip.name, "frames": n, "size": [info.width, info.height], "crfs": list(crfs), "settings": {}}
    out, log = work / "seg.mkv", work / "seg.json"
    for name in settings:
        extra = SETTINGS[name]
        points, cpu = [], {"s": 0.0}
        for crf in crfs:
            with cpu_meter(cpu, "s"):
                run_ffmpeg(_args(src, out, log, n, codec, crf, extra), what="encoding")
            frames = json.loads(log.read_text())["frames"]
            vmaf = float(np.mean([f["metrics"]["vmaf"] for f in frames]))
            points.append((round(vmaf, 4), out.stat().st_size))
        b, bracket = at_target(points)
        rec["settings"][name] = {"points": points, "bytes_at_94": round(b), "bracketed": bracket,
                                 "cpu_s": round(cpu["s"], 2)}
    return rec


def summary(clips: list[dict]) -> dict:
    """Bytes over the clips where both settings' CRFs bracket VMAF 94 (elsewhere the figure is an extrapolation:
    a clip that reads above 94 at every CRF tried says nothing about its bytes at 94); time over every clip."""
    rows = {}
    for name in SETTINGS:
        clips_with = [c for c in clips if name in c["settings"]]
        both = [c for c in clips_with if c["settings"][name]["bracketed"] and c["settings"]["jndenc"]["bracketed"]]
        r = [c["settings"][name]["bytes_at_94"] / c["settings"]["jndenc"]["bytes_at_94"] for c in both]
        t = [c["settings"][name]["cpu_s"] / c["settings"]["jndenc"]["cpu_s"] for c in clips_with]
        if not r or not t:
            continue
        rows[name] = {"clips": len(r), "bytes_vs_jndenc_geomean": round(float(np.exp(np.mean(np.log(r)))), 4),
                      "bytes_vs_jndenc_worst": round(max(r), 4), "better_on": int(sum(x < 1 for x in r)),
                      "cpu_vs_jndenc_median": round(float(np.median(t)), 3)}
    return rows


def main(argv=None) -> int:
    ap = study.parser(__doc__, 90)
    ap.add_argument("--crfs", default=",".join(map(str, CRFS)), help="comma-separated (clips above 94 at every "
                    "default CRF need higher ones)")
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names; jndenc always runs")
    args = ap.parse_args(argv)
    crfs = tuple(int(x) for x in args.crfs.split(","))
    settings = tuple(dict.fromkeys(["jndenc", *args.settings.split(",")]))
    commit, clips = study.clips(ap, args, lambda clip, tmp: run_clip(clip, tmp, args.max_frames, crfs, settings),
                                "jndenc-svt-",
                                show=lambda rec: {k: v["bytes_at_94"] for k, v in rec["settings"].items()})
    s = summary(clips)
    args.out.write_text(json.dumps({"commit": commit, "settings": SETTINGS, "clips": clips,
                                    "summary": s}, indent=1) + "\n")
    for k, v in s.items():
        print(k, v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
