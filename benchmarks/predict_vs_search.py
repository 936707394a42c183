#!/usr/bin/env python3
"""Predict mode against the oracle on one clip: per-shot CRF, output size, time, VMAF.

    python benchmarks/predict_vs_search.py CLIP [--weights W] [--preset medium] [--out DIR]

Both encodes run in this process on the same clip, so the time ratio
(search / predict) is a like-for-like cost of the oracle.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from jndenc.encode import encode
from jndenc.media.probe import probe
from jndenc.media.quality import compare


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--out", type=Path, default=None, help="write predict_vs_search.json here")
    args = ap.parse_args(argv)
    info = probe(args.clip)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("predict", "search"):
            out = Path(tmp) / f"{mode}.mp4"
            r = encode(args.clip, out, mode=mode, preset=args.preset, weights=args.weights)
            q = compare(out, args.clip, size=(info.width, info.height))
            rows[mode] = {
                "bytes": r.bytes, "bitrate_kbps": round(r.bitrate_kbps, 1), "timings": r.timings,
                "shots": [{"frames": [s.start_frame, s.end_frame], "jnd": s.jnd, "crf": s.crf,
                           "vmaf": round(float(q.frames["vmaf"][s.start_frame:s.end_frame].mean()), 2)}
                          for s in r.plan.shots],
                "trial_encodes": r.plan.stats.get("trial_encodes"),
            }
    p, s = rows["predict"], rows["search"]
    print(f"{args.clip.name}: {info.width}x{info.height}, {info.frames} frames, preset {args.preset}")
    print(f"{'shot':>12} {'pred JND1':>9} {'pred CRF':>8} {'VMAF':>6} | {'srch JND1':>9} {'srch CRF':>8} {'VMAF':>6}")
    for a, b in zip(p["shots"], s["shots"]):
        print(f"{a['frames'][0]:>5}-{a['frames'][1]:<6} {a['jnd'][0]:9.1f} {a['crf']:8g} {a['vmaf']:6.2f} | "
              f"{b['jnd'][0]:9.1f} {b['crf']:8g} {b['vmaf']:6.2f}")
    print(f"size: predict {p['bytes']} B, search {s['bytes']} B (predict/search {p['bytes'] / s['bytes']:.3f})")
    print(f"time: predict {p['timings']['total_s']:.1f} s, search {s['timings']['total_s']:.1f} s "
          f"(search/predict {s['timings']['total_s'] / p['timings']['total_s']:.1f}x, {s['trial_encodes']} trial encodes)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "predict_vs_search.json").write_text(json.dumps({"clip": str(args.clip), **rows}, indent=1))
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
