#!/usr/bin/env python3
"""How far a cheaper VMAF measurement moves a shot's mean from the full per-frame VMAF, and what it saves.

    python benchmarks/sampling.py CLIPS... --out benchmarks/results/sampling.json [--max-frames 240]

The segment loop (`jndenc.segments`) decides each shot's next CRF from a
measured VMAF. Scoring only runs of ``W`` consecutive frames out of every
``P`` (``select`` on both inputs before libvmaf) cuts libvmaf's feature work
to W/P. VMAF 0.6.1's motion term is the smaller of the motion to the previous
and to the next frame, so the jump between two runs touches neither run's
edge frames. (libvmaf's own ``n_subsample`` avoids the jump altogether: its
motion feature still reads every frame, so each frame it scores reads as in a
full pass; `benchmarks/experiments/vmaf_subsample.py` measures that one.)

Per clip (its first ``--max-frames`` frames, cut into ``--shot-seconds``
pieces that stand in for shots) and per CRF, one x264 medium encode, its full
per-frame VMAF, and each sampling's VMAF; reported: the signed gap of each
piece's mean (sampled - full), its mean, mean absolute and 95th percentile
absolute, and the VMAF seconds over the full pass's. Run it on training and
validation clips only: the loop's sampling is chosen from it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jndenc.media.clips import prepare_source
from jndenc.media.ffargs import encode_args
from jndenc.media.probe import probe
from jndenc.media.quality import compare
from jndenc.media.runner import run_ffmpeg

SAMPLINGS = ((1, 1), (2, 4), (2, 6), (3, 9), (4, 12), (8, 24))
CRFS = (24, 30)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-frames", type=int, default=240)
    ap.add_argument("--shot-seconds", type=float, default=2.0)
    args = ap.parse_args(argv)
    rows = []
    for clip in args.clips:
        with tempfile.TemporaryDirectory(prefix="jndenc-sampling-") as tmp:
            work = Path(tmp)
            src = prepare_source(clip, work / "src.mkv", args.max_frames, probe(clip).bit_depth)
            info = probe(src)
            n = info.frames
            step = max(1, int(round(args.shot_seconds * info.fps)))
            pieces = [(a, min(n, a + step)) for a in range(0, n, step)]
            for crf in CRFS:
                enc = work / f"enc{crf}.mp4"
                run_ffmpeg(encode_args(src, enc, encoder="libx264", preset="medium", crf=crf, threads=1),
                           what="encode")
                full = None
                for w, p in SAMPLINGS:
                    t0 = time.perf_counter()
                    q = compare(enc, src, features=(), threads=1, bit_depth=info.bit_depth,
                                sample=None if p == 1 else (w, p))
                    secs = time.perf_counter() - t0
                    v = q.frames["vmaf"]
                    means = [float(np.nanmean(v[a:b])) for a, b in pieces]
                    if full is None:
                        full = {"means": means, "seconds": secs}
                        continue
                    rows.append({"clip": clip.name, "crf": crf, "sampling": [w, p], "seconds": secs,
                                 "full_seconds": full["seconds"],
                                 "gaps": [round(m - f, 4) for m, f in zip(means, full["means"])],
                                 "full": [round(f, 3) for f in full["means"]]})
                print(f"{clip.name} crf {crf}: done", file=sys.stderr, flush=True)
        args.out.write_text(json.dumps({"rows": rows, "summary": summarize(rows)}, indent=1))
    print(json.dumps(summarize(rows), indent=1))
    return 0


def summarize(rows: list[dict]) -> dict:
    out = {}
    for w, p in SAMPLINGS[1:]:
        mine = [r for r in rows if r["sampling"] == [w, p]]
        if not mine:
            continue
        g = np.array([x for r in mine for x in r["gaps"] if np.isfinite(x)])  # a short tail piece may score none
        out[f"{w}/{p}"] = {"pieces": int(g.size), "mean_gap": round(float(g.mean()), 3),
                           "mean_abs_gap": round(float(np.abs(g).mean()), 3),
                           "p95_abs_gap": round(float(np.percentile(np.abs(g), 95)), 3),
                           "max_abs_gap": round(float(np.abs(g).max()), 3),
                           "time_vs_full": round(float(sum(r["seconds"] for r in mine)
                                                       / sum(r["full_seconds"] for r in mine)), 3)}
    return out


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
