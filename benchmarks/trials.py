#!/usr/bin/env python3
"""Are trial encodes representative? Trial VMAF of a shot vs the same shot's VMAF inside the final encode.

    python benchmarks/trials.py CLIPS... --out benchmarks/results/trials.json [--crf 28] [--max-frames 300]

Guided and search modes decide from trial encodes of each shot (or of a window
of it) made from a lossless copy of that shot alone; the viewer sees the shot
inside one pass over the whole file (zones, a keyframe at every shot start,
lookahead across the cut). This measures the gap. Per clip: a lossless cut of
the first ``--max-frames`` frames, shots by the default detector, one final
encode at ``--crf`` through `jndenc.encode` (fixed-CRF plan, keyframes at the
shots) with ``--verify`` giving the per-shot VMAF, and per shot a trial encode
at the same CRF for each window variant:

* ``whole``: the whole shot;
* ``middle2`` / ``middle4``: the middle 2 s / 4 s of shots longer than that (what
  `dataset build` and guided mode use);
* ``spread3``: three 1 s windows spread over shots longer than 3 s, encoded as one
  trial (`jndenc.media.ffargs.trial_window` with ``pieces=3``).

Reports per variant the mean, worst and signed mean of (trial - final) VMAF over
all shots and over shots long enough for the window to differ from the whole shot.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jndenc.analyze import analyze
from jndenc.encode import encode
from jndenc.media.clips import list_clips, prepare_source
from jndenc.media.ffbin import ffmpeg_info
from jndenc.media.probe import probe
from jndenc.media.quality import compare
from jndenc.media.ffargs import trial_window
from jndenc.search import SearchOptions, extract_references, trial_encode

VARIANTS = {"whole": (None, 1), "middle2": (2.0, 1), "middle4": (4.0, 1), "spread3": (3.0, 3)}


def measure_clip(clip: Path, work: Path, crf: float, max_frames: int, preset: str, threads: int) -> list[dict]:
    info = probe(clip, count_frames=False)
    src = prepare_source(clip, work / f"{clip.stem}.mkv", max_frames, info.bit_depth)
    sinfo = probe(src)
    shots = analyze(src, info=sinfo).shots
    final = encode(src, work / f"{clip.stem}.final.mp4", crf=crf, preset=preset, verify=True, overwrite=True,
                   threads=threads, validate=False)
    refs_dir = work / f"refs-{clip.stem}"
    refs_dir.mkdir(exist_ok=True)
    refs = extract_references(src, shots, refs_dir, sinfo.bit_depth)
    sopts = SearchOptions(preset=preset)
    rows = []
    for (a, b), ref, q in zip(shots, refs, final.quality):
        row = {"clip": clip.name, "start_frame": a, "end_frame": b, "seconds": round((b - a) / sinfo.fps, 3),
               "final_vmaf": round(q.mean, 3), "trials": {}}
        for name, (secs, pieces) in VARIANTS.items():
            window = trial_window(b - a, secs, sinfo.fps, pieces=pieces) if secs else None
            if secs and window is None:
                row["trials"][name] = row["trials"].get("whole")  # the window is the whole shot
                continue
            out = refs_dir / f"t_{a}_{name}.mkv"
            t0 = time.perf_counter()
            trial_encode(ref, crf, sopts, out, threads, window)
            v = compare(out, ref, ref_range=window, threads=threads, bit_depth=sinfo.bit_depth).pool("vmaf")
            out.unlink(missing_ok=True)
            row["trials"][name] = {"vmaf": round(v, 3), "seconds": round(time.perf_counter() - t0, 3)}
        rows.append(row)
    shutil.rmtree(refs_dir, ignore_errors=True)
    return rows


def summarize(rows: list[dict]) -> dict:
    out = {}
    for name, (secs, _) in VARIANTS.items():
        for subset in ("all", "long"):
            gaps, cost = [], []
            for r in rows:
                if subset == "long" and secs and r["seconds"] <= secs:
                    continue
                if subset == "long" and not secs and r["seconds"] <= 4.0:
                    continue
                t = r["trials"].get(name)
                if t is None:
                    continue
                gaps.append(t["vmaf"] - r["final_vmaf"])
                cost.append(t["seconds"])
            if gaps:
                g = np.array(gaps)
                out[f"{name}/{subset}"] = {"shots": len(g), "mean_abs_gap": round(float(np.mean(np.abs(g))), 3),
                                           "worst_abs_gap": round(float(np.max(np.abs(g))), 3),
                                           "mean_signed_gap": round(float(np.mean(g)), 3),
                                           "trial_s_per_shot": round(float(np.mean(cost)), 3)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--crf", type=float, default=28.0)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--max-frames", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    clips = list_clips(args.clips)
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jndenc-trials-") as tmp:
        for clip in clips:
            print(f"{clip.name} ...", file=sys.stderr, flush=True)
            rows += measure_clip(clip, Path(tmp), args.crf, args.max_frames, args.preset, args.threads)
    res = {"crf": args.crf, "preset": args.preset, "max_frames": args.max_frames, "clips": [c.name for c in clips],
           "summary": summarize(rows), "shots": rows, "seconds": round(time.perf_counter() - t0, 1),
           "ffmpeg": ffmpeg_info().version, "machine": f"{platform.machine()}, {args.threads} thread(s)"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    for k, v in res["summary"].items():
        print(f"{k:16} shots {v['shots']:3d}  mean |gap| {v['mean_abs_gap']:.2f}  worst {v['worst_abs_gap']:.2f}  "
              f"signed {v['mean_signed_gap']:+.2f}  {v['trial_s_per_shot']:.1f}s/trial")
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
