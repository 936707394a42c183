#!/usr/bin/env python3
"""One long file's shots spread over a Dask cluster: wall time of `jndenc encode --dask` on one worker vs two.

    python benchmarks/dask_spread.py ../shared/clips/night.mp4 --seconds 30 --out benchmarks/results/dask_spread.json
    python benchmarks/dask_spread.py CLIP1 CLIP2 ... --seconds 30 --out edited.json

The first ``--seconds`` of the clip (stream copy, no re-encode), or of several clips one after the other (each
scaled into 1920x1080 at 30 fps, a high-quality x264 intermediate: an edited file with a cut at each join), are
encoded with the default effort on a local
Dask cluster of one worker, then of two, each worker a process with one thread pinned to its own core (the
FFmpeg processes it starts inherit the pin); the client (analysis, join, mux) runs on core 0 beside worker 0.
Reported: wall time per cluster, the ratio two/one, whether the outputs are byte-identical, and how the
file's shots and pieces were spread (a later piece of a long shot waits for its first piece, so a single long
shot cannot use more workers than it has pieces after its first).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jndenc.bench.report import git_commit
from jndenc.encode import encode
from jndenc.media.ffbin import ffmpeg_exe, ffmpeg_info


def _pin(core: int) -> None:
    os.sched_setaffinity(0, {core})


def run_on(src: Path, out: Path, workers: int) -> dict:
    import distributed

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        for core, addr in enumerate(sorted(client.scheduler_info()["workers"])):
            client.run(_pin, core % os.cpu_count(), workers=[addr])
        t = time.perf_counter()
        r = encode(src, out, overwrite=True, dask=cluster.scheduler_address)
        wall = time.perf_counter() - t
    d = r.to_dict()
    return {"workers": workers, "wall_s": round(wall, 2), "bytes": r.bytes, "shots": len(d["shots"]),
            "pieces_after_first": sum("started_from" in s for s in d["shots"]),
            "attempts": d["loop"]["attempts"], "cost": d["cost"]}


def _source(clips: list[Path], seconds: float, tmp: Path) -> Path:
    """The file to encode: the first ``seconds`` of one clip, or of the clips one after the other at 1080p."""
    if len(clips) == 1:
        src = tmp / f"{clips[0].stem}_{seconds:g}s{clips[0].suffix}"
        cmd = ["-i", str(clips[0]), "-t", str(seconds), "-map", "0:v:0", "-c", "copy", str(src)]
    else:
        src = tmp / f"edited_{seconds:g}s.mkv"
        fit = ("scale=1920:1080:force_original_aspect_ratio=decrease,pad=1920:1080:(ow-iw)/2:(oh-ih)/2,"
               "fps=30,format=yuv420p,setsar=1")
        graph = ";".join(f"[{k}:v:0]{fit}[v{k}]" for k in range(len(clips)))
        graph += ";" + "".join(f"[v{k}]" for k in range(len(clips))) + f"concat=n={len(clips)}:v=1:a=0[v]"
        cmd = [*(a for c in clips for a in ("-i", str(c))), "-filter_complex", graph, "-map", "[v]",
               "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "10", str(src)]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", *cmd], check=True)
    return src


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", type=Path, nargs="+")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    missing = [c for c in args.clips if not c.is_file()]
    if missing:
        print(f"skipped: {missing[0]} is not here (the shared clips are absent)", file=sys.stderr)
        return 0
    _pin(0)
    commit = git_commit()
    with tempfile.TemporaryDirectory(prefix="jndenc-dask-spread-") as tmp:
        src = _source(args.clips, args.seconds, Path(tmp))
        runs = [run_on(src, Path(tmp) / f"out{k}.mp4", k) for k in (1, 2)]
        same = (Path(tmp) / "out1.mp4").read_bytes() == (Path(tmp) / "out2.mp4").read_bytes()
    doc = {"commit": commit, "ffmpeg": ffmpeg_info().version, "machine": platform.machine(),
           "clip": " + ".join(c.name for c in args.clips),
           "seconds": args.seconds, "runs": runs, "two_over_one": round(runs[1]["wall_s"] / runs[0]["wall_s"], 3),
           "byte_identical": same}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in doc.items() if k != "runs"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
