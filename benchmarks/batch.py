#!/usr/bin/env python3
"""Batch throughput: --jobs 1 vs --jobs 2 vs --dask-local 2 on the same generated clips.

    python benchmarks/batch.py --clips 8 --size 320x240 --seconds 2

Every configuration encodes the same set into a fresh output folder (so the
journal skips nothing) in this one process run, and ratios are against the
--jobs 1 run measured here, so machine load and clock speed cancel out as far
as they can. Wall time includes pool / cluster start-up: that is what a batch
pays. Fixed CRF, so no model is needed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jndenc import batch
from jndenc.media.ffbin import ffmpeg_exe

SOURCES = ["testsrc2", "mandelbrot", "testsrc", "smptehdbars,noise=alls=20:allf=t"]


def make_clips(folder: Path, n: int, size: str, seconds: float) -> list[Path]:
    paths = []
    for i in range(n):
        src = SOURCES[i % len(SOURCES)]
        name, _, extra = src.partition(",")
        graph = f"{name}=size={size}:rate=25" + ("" if name == "mandelbrot" else f":duration={seconds}")
        graph += f",trim=duration={seconds}" if name == "mandelbrot" else ""
        graph += f",{extra}" if extra else ""
        graph += f",hue=h={i * 37}"
        p = folder / f"clip{i:03d}.mp4"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                        "-i", graph, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12",
                        str(p)], check=True)
        paths.append(p)
    return paths


def measure(name: str, clips: list[Path], out: Path, opts: dict, **how) -> dict:
    t0 = time.perf_counter()
    results = batch.run(clips, out, **how, **opts)
    statuses = [r.status for r in results]
    wall = time.perf_counter() - t0
    s = results.summary
    assert statuses.count("done") == len(clips), statuses
    return {"config": name, "files": len(clips), "wall_s": round(wall, 2),
            "files_per_min": round(len(clips) / wall * 60, 1),
            "realtime_factor": round(s["encoded_media_s"] / wall, 2),
            "jobs": s["jobs"], "threads": s["threads"], "output_bytes": s["output_bytes"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--crf", type=float, default=28)
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--no-dask", action="store_true", help="Skip the --dask-local 2 run.")
    ap.add_argument("--json", action="store_true", help="Print the rows as one JSON array.")
    args = ap.parse_args(argv)
    opts = {"crf": args.crf, "preset": args.preset}
    configs = [("--jobs 1", {"jobs": 1}), ("--jobs 2", {"jobs": 2})]
    if not args.no_dask:
        configs.append(("--dask-local 2", {"dask_local": 2}))
    with tempfile.TemporaryDirectory(prefix="jndenc-bench-batch-") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        clips = make_clips(tmp / "in", args.clips, args.size, args.seconds)
        rows = [measure(name, clips, tmp / f"out{i}", opts, **how) for i, (name, how) in enumerate(configs)]
    base = rows[0]["wall_s"]
    for r in rows:
        r["speedup_vs_jobs1"] = round(base / r["wall_s"], 2)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{args.clips} clips, {args.size}, {args.seconds:g} s each, crf {args.crf:g} {args.preset}")
    print(f"{'config':<15} {'jobs':>4} {'thr':>3} {'wall s':>7} {'files/min':>9} {'x realtime':>10} {'vs jobs 1':>9}")
    for r in rows:
        print(f"{r['config']:<15} {r['jobs']:>4} {r['threads']:>3} {r['wall_s']:>7.2f} {r['files_per_min']:>9.1f} "
              f"{r['realtime_factor']:>10.2f} {r['speedup_vs_jobs1']:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
