#!/usr/bin/env python3
"""A library of several series through one learning batch: each clip cut into episodes (as
`benchmarks/batch_learning.py` cuts them), each series in a folder of its own, and `jndenc batch --recursive`
(balanced, ``jobs=1``, one core) over the library, so the folders come one after the other. Run at two commits
(one offset for the whole batch before `jndenc.learn.source_offset`, one per folder after) to compare them.

    python benchmarks/experiments/batch_library.py ../shared/clips/night.mp4:20:72 \
        ../shared/clips/sam2_720px_dark_motiongraphics.mp4:14:72 --out OUT.json [--cpu 1]

Reported per series: the start's mean absolute error (x264 CRF, against where each shot's attempts put the aim)
over its first and last quarter of files and over all, attempts per shot; over the library: attempts per shot,
frames encoded over output frames, worst shot, wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batch_learning import SPLITS, episodes  # noqa: E402

from jndenc import batch, learn  # noqa: E402
from jndenc.batch.journal import Journal  # noqa: E402
from jndenc.batch.learning import quarters_of  # noqa: E402
from jndenc.batch.summary import result_of  # noqa: E402
from jndenc.bench.report import git_commit  # noqa: E402
from jndenc.media.ffbin import ffmpeg_info  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("series", nargs="+", help="CLIP:EPISODES:FRAMES")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cpu", type=int, default=0)
    args = ap.parse_args(argv)
    specs = [(Path(c), int(n), int(f)) for c, n, f in (s.rsplit(":", 2) for s in args.series)]
    missing = [str(c) for c, _, _ in specs if not c.is_file()]
    if missing:
        print(f"skipped: {', '.join(missing)} not here (the shared clips are absent)", file=sys.stderr)
        return 0
    os.sched_setaffinity(0, {args.cpu})
    splits = json.loads(SPLITS.read_text())["clips"]
    with tempfile.TemporaryDirectory(prefix="jndenc-batch-library-") as tmp:
        lib = Path(tmp) / "library"
        for k, (clip, n, frames) in enumerate(specs):
            work = Path(tmp) / f"cut{k}"
            work.mkdir()
            (lib / f"{k}_{clip.stem}").mkdir(parents=True)
            for p in episodes(clip, work, n, frames):
                p.rename(lib / f"{k}_{clip.stem}" / p.name)
        out_dir = Path(tmp) / "out"
        t = time.perf_counter()
        run = batch.run(batch.collect_items(lib, out_dir, recursive=True), out_dir, jobs=1)
        items = sorted(run, key=lambda i: i.key)  # the batch runs as its items are taken
        wall = time.perf_counter() - t
        if any(i.status != "done" for i in items):
            raise SystemExit(f"batch failed: {[(i.key, i.reason) for i in items if i.status != 'done']}")
        with Journal(out_dir, readonly=True) as journal:
            results = [(i.key.split("/")[0], result_of(journal.get(i.key))) for i in items]
    per = {}
    for k, (clip, n, frames) in enumerate(specs):
        mine = [r for s, r in results if s == f"{k}_{clip.stem}"]
        errs = [[abs(x.found - x.model - r["start"]["offset"]) for x in learn.labels_from(r["start"])] for r in mine]
        quarters = [float(np.mean([v for f in q for v in f])) for q in quarters_of(errs)]
        shots = sum(len(r["shots"]) for r in mine)
        per[clip.name] = {"split": splits.get(clip.name, {}).get("split", "not in the label build"), "files": n,
                          "frames_each": frames, "shots": shots,
                          "start_mae_first_quarter": round(quarters[0], 3),
                          "start_mae_last_quarter": round(quarters[-1], 3),
                          "start_mae": round(float(np.mean([v for f in errs for v in f])), 3),
                          "attempts_per_shot": round(sum(r["loop"]["attempts"] for r in mine) / shots, 3),
                          "offsets": [r["start"]["offset"] for r in mine]}
    allr = [r for _, r in results]
    vmaf = [s["vmaf"]["mean"] for r in allr for s in r["shots"]]
    shots = len(vmaf)
    doc = {"commit": git_commit(), "ffmpeg": ffmpeg_info().version, "machine": f"{platform.machine()}, pinned to one core",
           "series": per, "sources": run.summary["learning"].get("sources", 1),
           "attempts_per_shot": round(sum(r["loop"]["attempts"] for r in allr) / shots, 3),
           "encoded_over_output_frames": round(sum(r["loop"]["encoded_frames"] for r in allr)
                                               / sum(r["frames"] for r in allr), 3),
           "worst_shot": round(min(vmaf), 3), "shots": shots, "wall_s": round(wall, 1),
           "bytes": sum(i.output_bytes for i in items)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in doc.items() if k != "series"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
