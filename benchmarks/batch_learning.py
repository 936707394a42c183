#!/usr/bin/env python3
"""Does a batch that learns its starts get cheaper as it goes? A series cut from one long clip, encoded by
`jndenc batch` (balanced) with and without learning, one file at a time on one core.

    python benchmarks/batch_learning.py ../shared/clips/night.mp4 --episodes 20 --frames 72 \
        --out benchmarks/results/batch_learning.json [--cpu 1]

The clip is cut into ``--episodes`` consecutive lossless pieces of ``--frames`` frames (the episodes of a
series: one source, one camera, one grade). Each run is `jndenc.batch.run` over them in order with
``jobs=1`` (so every file learns from all before it), and reports per quarter of the series the start's
mean absolute error against where each shot's attempts put the aim (x264 CRF), the model's own error,
attempts per shot; over the series the summed bytes, worst shot, shares of shots >= 93.5 and <= 95.5 (shots
at the max-CRF clamp exempt from the upper edge), encoded over output frames, and wall time over plain
``ffmpeg -c:v libx264 -preset medium -crf 23`` encodes of the same episodes. Results from several clips
accumulate in ``--out`` (one entry per clip, rerun at the same commit); ``--merge A.json B.json --out C.json``
joins series that ran side by side in processes of their own.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jndenc.bench.report import git_commit
from jndenc import batch
from jndenc.batch.journal import Journal
from jndenc.batch.learning import report
from jndenc.batch.summary import result_of
from jndenc.media.ffargs import encode_args
from jndenc.media.ffbin import ffmpeg_exe, ffmpeg_info
from jndenc.media.probe import probe
from jndenc.media.runner import run_ffmpeg

LOW, HIGH = 93.5, 95.5
SPLITS = Path(__file__).resolve().parents[1] / "weights" / "training_clips.json"


def episodes(clip: Path, work: Path, n: int, frames: int) -> list[Path]:
    """``n`` consecutive pieces of ``frames`` frames, lossless, each starting at timestamp 0."""
    total = probe(clip).frames
    if total < n * frames:
        raise SystemExit(f"{clip}: {total} frames, fewer than {n} episodes of {frames}")
    out = []
    (work / "episodes").mkdir()
    for k in range(n):
        p = work / "episodes" / f"{clip.stem}_ep{k:02d}.mkv"
        graph = f"trim=start_frame={k * frames}:end_frame={(k + 1) * frames},setpts=PTS-STARTPTS,format=yuv420p"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(clip), "-an", "-sn", "-vf", graph,
                        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", str(p)], check=True)
        out.append(p)
    return out


def run_series(eps: list[Path], work: Path, learn: bool, plain: dict) -> dict:
    out_dir = work / ("learn" if learn else "no_learn")
    t = time.perf_counter()
    run = batch.run(batch.collect_items(eps[0].parent, out_dir), out_dir, jobs=1, learn=learn)
    items = sorted(run, key=lambda i: i.key)
    wall = time.perf_counter() - t
    if any(i.status != "done" for i in items):
        raise SystemExit(f"batch failed: {[(i.key, i.reason) for i in items if i.status != 'done']}")
    with Journal(out_dir, readonly=True) as journal:
        results = [result_of(journal.get(i.key)) for i in items]
    vmaf = np.array([s["vmaf"]["mean"] for r in results for s in r["shots"]])
    clamped = np.array([s["outcome"] == "clamped" for r in results for s in r["shots"]])
    enc = sum(r["loop"]["encoded_frames"] for r in results)
    frames = sum(r["frames"] for r in results)
    return {"bytes": sum(i.output_bytes for i in items),
            "vs_crf23_pct": round(100 * (sum(i.output_bytes for i in items) / plain["bytes"] - 1), 2),
            "worst_shot": round(float(vmaf.min()), 3), "shots": int(vmaf.size),
            "share_shots_ge_93_5": round(float(np.mean(vmaf >= LOW)), 3),
            "share_shots_le_95_5": round(float(np.mean((vmaf <= HIGH) | clamped)), 3),
            "attempts_per_shot": round(sum(r["loop"]["attempts"] for r in results) / vmaf.size, 3),
            "encoded_over_output_frames": round(enc / frames, 3),
            "wall_s": round(wall, 2), "wall_vs_plain": round(wall / plain["wall_s"], 2),
            "learning": report(results, 1),
            "offsets": [r["start"]["offset"] for r in results],
            # per file, its shots' labels (the model's start and where the attempts put the aim), for replays
            "labels": [r["start"].get("labels", []) for r in results]}


def plain_encodes(eps: list[Path], work: Path) -> dict:
    t, size = time.perf_counter(), 0
    for p in eps:
        out = work / "plain.mp4"
        run_ffmpeg(encode_args(p, out, encoder="libx264", preset="medium", crf=23), what="plain encode")
        size += out.stat().st_size
    return {"bytes": size, "wall_s": round(time.perf_counter() - t, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", type=Path, nargs="?")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--frames", type=int, default=72)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cpu", type=int, default=0, help="the core every process runs on")
    ap.add_argument("--merge", nargs="+", type=Path, help="join these outputs (one commit) into --out instead of "
                    "running: series run side by side, one process per core")
    ap.add_argument("--runs", default="no_learn,learn", help="which runs (a replay of other learning rules needs "
                    "only no_learn's labels)")
    args = ap.parse_args(argv)
    if args.merge:
        runs = [json.loads(p.read_text()) for p in args.merge]
        if len({r["commit"] for r in runs}) != 1:
            ap.error("runs from different commits")
        args.out.write_text(json.dumps({**runs[0], "series": [s for r in runs for s in r["series"]]}, indent=1))
        return 0
    if args.clip is None:
        ap.error("a clip, or --merge")
    if not args.clip.is_file():
        print(f"skipped: {args.clip} is not here (the shared clips are absent)", file=sys.stderr)
        return 0
    os.sched_setaffinity(0, {args.cpu})
    commit = git_commit()
    doc = {"commit": commit, "ffmpeg": ffmpeg_info().version, "machine": f"{platform.machine()}, pinned to one core",
           "series": []}
    if args.out.exists():
        prev = json.loads(args.out.read_text())
        if prev.get("commit") == commit:
            doc["series"] = [s for s in prev["series"] if s["clip"] != args.clip.name]
    split = json.loads(SPLITS.read_text())["clips"].get(args.clip.name, {}).get("split", "not in the label build")
    with tempfile.TemporaryDirectory(prefix="jndenc-batch-learning-") as tmp:
        work = Path(tmp)
        eps = episodes(args.clip, work, args.episodes, args.frames)
        plain = plain_encodes(eps, work)
        rec = {"clip": args.clip.name, "split": split, "episodes": args.episodes, "frames_each": args.frames,
               "plain": plain, "runs": {}}
        for learn in [name == "learn" for name in args.runs.split(",") if name in ("no_learn", "learn")]:
            print(f"{args.clip.name}: {'learning' if learn else 'not learning'} ...", file=sys.stderr, flush=True)
            rec["runs"]["learn" if learn else "no_learn"] = run_series(eps, work, learn, plain)
    doc["series"].append(rec)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk not in ("offsets", "labels")}
                      for k, v in rec["runs"].items()},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
