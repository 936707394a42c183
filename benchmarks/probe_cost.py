#!/usr/bin/env python3
"""What probe mode's probe costs, as a share of a medium encode of the same clip.

    python benchmarks/probe_cost.py CLIP [CLIP ...] [--out weights/probe_cost.json]

Per clip, in one process: shot detection and the frame model (`jndenc.analyze`,
not counted: predict mode runs it too, and a centred probe encodes each shot
at its estimate), then the probe of every shot (`jndenc.media.probe_encode.
probe_shots` with the shipped probe weights' settings: encode + VMAF of the
trial windows), then a plain x264 ``-preset medium -crf 23`` encode of the
whole clip, the baseline, each with the same threads. Both are timed on wall
clock and on CPU time (user + system of the FFmpeg children, which other
load on a shared machine does not inflate); the ratio probe / encode of CPU
time is the number the issue bounds (<= 20% at 720p).
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

from jndenc.analyze import analyze
from jndenc.media.ffargs import encode_args
from jndenc.media.probe import probe
from jndenc.media.probe_encode import ProbeOptions, centred_crfs, probe_shots
from jndenc.media.runner import run_ffmpeg


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(clip: Path, opts: ProbeOptions, threads: int, predictor) -> dict:
    info = probe(clip)
    a = analyze(clip, predictor, info=info)
    shots = a.shots
    crfs = centred_crfs(a.shot_jnd()[:, 0]) if opts.centred else None
    with tempfile.TemporaryDirectory(prefix="jndenc-pc-") as tmp:
        t0, c0 = time.perf_counter(), _child_cpu()
        res, _ = probe_shots(clip, shots, fps=info.fps, size=(info.width, info.height), opts=opts,
                             bit_depth=info.bit_depth, threads=threads, crfs=crfs)
        t_probe, c_probe = time.perf_counter() - t0, _child_cpu() - c0
        out = Path(tmp) / "medium.mp4"
        t0, c0 = time.perf_counter(), _child_cpu()
        run_ffmpeg(encode_args(clip, out, encoder="libx264", preset="medium", crf=23, threads=threads),
                   what="baseline encode")
        t_enc, c_enc = time.perf_counter() - t0, _child_cpu() - c0
    probed = sum(r.window[1] - r.window[0] for r in res)
    return {"clip": clip.name, "size": [info.width, info.height], "frames": info.frames, "shots": len(shots),
            "probed_frames": probed, "probe_s": round(t_probe, 3), "medium_encode_s": round(t_enc, 3),
            "probe_cpu_s": round(c_probe, 3), "medium_encode_cpu_s": round(c_enc, 3),
            "ratio_wall": round(t_probe / t_enc, 3), "ratio": round(c_probe / c_enc, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    from jndenc.models.probe import ProbeModel
    from jndenc.predictor import Predictor

    opts = ProbeOptions(**ProbeModel.load().metadata.get("probe", {}))
    predictor = Predictor.load()
    rows = []
    for clip in args.clips:
        r = measure(clip, opts, args.threads, predictor)
        rows.append(r)
        print(f"{r['clip']}: {r['size'][0]}x{r['size'][1]}, {r['frames']} frames, {r['shots']} shots, "
              f"probed {r['probed_frames']}: probe {r['probe_cpu_s']:.2f} CPU s ({r['probe_s']:.2f} s wall), medium "
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
    sys.exit(main())
