#!/usr/bin/env python3
"""Could a first attempt at a faster x264 preset stand in for one at medium? A screen before any loop change.

    python benchmarks/experiments/loop_fast_preset.py CLIPS... --out A.json [--cpu 1]
    python benchmarks/experiments/loop_fast_preset.py --merge A.json B.json --out RESULT.json

Per clip (a lossless cut of its first ``--max-frames`` frames, one segment as a loop attempt encodes it, scored
on every frame) and per preset, the cut is encoded at four CRFs; the CRF at which each preset reads the loop's
aim (VMAF 94.3) is interpolated, and the gap between medium's and the faster preset's is what a fast first attempt
would have to predict. The idea pays only if that gap is far steadier across clips than the model's start
error (about 2 CRF): a fast attempt then says where medium lands for a fraction of an attempt's time. Time: each
preset's attempts against medium's, same process.

Run it on training and validation clips only.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from jndenc.media.runner import run_ffmpeg
from jndenc.media.segments import SegmentCodec, attempt_args, encoder_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
import study  # noqa: E402

PRESETS = ("medium", "faster", "veryfast", "superfast")
CRFS = (19, 23, 27, 31, 35)
AIM = 94.3


def run_clip(clip: Path, work: Path, max_frames: int) -> dict:
    src, info = study.cut(clip, work, max_frames)
    n = info.frames
    rec = {"clip": clip.name, "frames": n, "size": [info.width, info.height], "presets": {}}
    for preset in PRESETS:
        codec = SegmentCodec(preset=preset, threads=encoder_threads(info.width, info.height),
                             bit_depth=info.bit_depth)
        pts = []
        for crf in CRFS:
            out, log = work / "seg.mkv", work / "seg.json"
            t = time.perf_counter()
            run_ffmpeg(attempt_args(src, out, log, (0, n), codec=codec, crf=crf), what="encoding the cut")
            dt = time.perf_counter() - t
            v = [f["metrics"]["vmaf"] for f in json.loads(log.read_text())["frames"]]
            pts.append({"crf": crf, "vmaf": float(np.mean(v)), "bytes": out.stat().st_size, "seconds": dt})
        rec["presets"][preset] = {"points": pts, "aim_crf": aim_crf(pts)}
    return rec


def aim_crf(pts: list[dict]) -> float | None:
    """The CRF at which the points read `AIM`, linear between the two that bracket it; None if none do."""
    for a, b in zip(pts, pts[1:]):
        if (a["vmaf"] - AIM) * (b["vmaf"] - AIM) <= 0 and a["vmaf"] != b["vmaf"]:
            return a["crf"] + (AIM - a["vmaf"]) * (b["crf"] - a["crf"]) / (b["vmaf"] - a["vmaf"])
    return None


def summary(clips: list[dict]) -> list[dict]:
    rows = []
    for preset in PRESETS[1:]:
        gaps = [c["presets"]["medium"]["aim_crf"] - c["presets"][preset]["aim_crf"] for c in clips
                if c["presets"]["medium"]["aim_crf"] is not None and c["presets"][preset]["aim_crf"] is not None]
        g = np.array(gaps)
        centred = np.abs(g - np.median(g)) if g.size else g
        t = [sum(p["seconds"] for p in c["presets"][preset]["points"])
             / sum(p["seconds"] for p in c["presets"]["medium"]["points"]) for c in clips]
        rows.append({"preset": preset, "clips": int(g.size), "median_gap": round(float(np.median(g)), 3),
                     "mae_about_median": round(float(centred.mean()), 3),
                     "max_about_median": round(float(centred.max()), 3),
                     "time_vs_medium_median": round(float(np.median(t)), 3)})
    return rows


def main(argv=None) -> int:
    ap = study.parser(__doc__, 240)
    args = ap.parse_args(argv)
    commit, clips = study.clips(ap, args, lambda clip, tmp: run_clip(clip, tmp, args.max_frames),
                                "jndenc-fastpreset-",
                                show=lambda r: {p: r["presets"][p]["aim_crf"] for p in PRESETS})
    rows = summary(clips) if all(len(c["presets"]) == len(PRESETS) for c in clips) else []
    args.out.write_text(json.dumps({"commit": commit, "crfs": CRFS, "aim": AIM, "clips": clips,
                                    "summary": rows}, indent=1) + "\n")
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
