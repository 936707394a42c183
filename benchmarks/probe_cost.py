#!/usr/bin/env python3
"""What probe mode's probe costs, as a share of a medium encode of the same clip.

    python benchmarks/probe_cost.py CLIP [CLIP ...] [--out weights/probe_cost.json]

Per clip, in one process: probe mode as shipped (`jndenc.estimate.estimate(clip,
"probe")`: shot detection and the frame model run in this process and are
not counted, every probe - the first of each shot and the second where the
first read far from the threshold - runs in an FFmpeg child and is), then a
plain x264 ``-preset medium -crf 23`` encode of the whole clip, the baseline,
with ``--threads``. Both are timed on wall clock and on CPU time (user +
system of the FFmpeg children, which other load on a shared machine does not
inflate); the ratio probe / encode of CPU time is the number the issue bounds
(<= 20% at 720p).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from jndenc.estimate import estimate
from jndenc.media.ffargs import encode_args
from jndenc.media.probe import probe
from jndenc.media.probe_encode import ProbeOptions
from jndenc.media.runner import run_ffmpeg


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(clip: Path, threads: int, probe_model) -> dict:
    info = probe(clip)
    with tempfile.TemporaryDirectory(prefix="jndenc-pc-") as tmp:
        # probe mode as shipped: the analysis runs in this process (PyAV, the light runtime), every probe in an
        # FFmpeg child, so the children's CPU time during the estimate is the probes' (second probes included)
        c0 = _child_cpu()
        est = estimate(clip, "probe", info=info, quiet=True, probe_model=probe_model)
        c_probe = _child_cpu() - c0
        t_probe = est.stats["probe_seconds"]
        out = Path(tmp) / "medium.mp4"
        t0, c0 = time.perf_counter(), _child_cpu()
        run_ffmpeg(encode_args(clip, out, encoder="libx264", preset="medium", crf=23, threads=threads),
                   what="baseline encode")
        t_enc, c_enc = time.perf_counter() - t0, _child_cpu() - c0
    probes = est.stats["probe"]
    probed = sum(p["window"][1] - p["window"][0] for p in probes)
    second = [p["second"] for p in probes if "second" in p]
    return {"clip": clip.name, "size": [info.width, info.height], "frames": info.frames, "shots": len(probes),
            "second_probes": len(second), "probed_frames": probed + sum(p["window"][1] - p["window"][0] for p in second),
            "probe_s": round(t_probe, 3), "medium_encode_s": round(t_enc, 3),
            "probe_cpu_s": round(c_probe, 3), "medium_encode_cpu_s": round(c_enc, 3),
            "ratio_wall": round(t_probe / t_enc, 3), "ratio": round(c_probe / c_enc, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    from jndenc.models.probe import ProbeModel

    pm = ProbeModel.load()  # loaded once, as a batch worker does
    opts = ProbeOptions(**pm.metadata.get("probe", {}))
    rows = []
    for clip in args.clips:
        r = measure(clip, args.threads, pm)
        rows.append(r)
        print(f"{r['clip']}: {r['size'][0]}x{r['size'][1]}, {r['frames']} frames, {r['shots']} shots, "
              f"{r['second_probes']} probed twice, probed {r['probed_frames']}: probe {r['probe_cpu_s']:.2f} CPU s ({r['probe_s']:.2f} s wall), medium "
              f"encode {r['medium_encode_cpu_s']:.2f} CPU s ({r['medium_encode_s']:.2f} s wall), ratio {r['ratio']:.1%} "
              f"(wall {r['ratio_wall']:.1%})", flush=True)
    total = sum(r["probe_cpu_s"] for r in rows) / sum(r["medium_encode_cpu_s"] for r in rows)
    wall = sum(r["probe_s"] for r in rows) / sum(r["medium_encode_s"] for r in rows)
    print(f"all: probe / medium encode = {total:.1%} of CPU time ({wall:.1%} wall; {args.threads} threads, "
          f"setting {opts.key()})")
    if args.out:
        args.out.write_text(json.dumps({"setting": opts.key(), "threads": args.threads, "clips": rows,
                                        "ratio_total": round(total, 3), "ratio_total_wall": round(wall, 3)},
                                       indent=1) + "\n")
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
