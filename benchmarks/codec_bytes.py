#!/usr/bin/env python3
"""What the default effort level saves on each codec: bytes against that codec's fixed CRF of equal worst-shot VMAF,
and against x264 jndenc.

    python benchmarks/codec_bytes.py CLIPS... --work /tmp/codec-bytes --out benchmarks/results/codec_bytes.json \\
        [--codecs x264,x265,av1,av1:libaom-av1,vp9] [--max-frames 120] [--cpu N]
    python benchmarks/codec_bytes.py --merge A.json B.json --out benchmarks/results/codec_bytes.json

Per codec (``CODEC`` or ``CODEC:ENCODER``) one `jndenc bench bdrate` run (`jndenc.bench.bdrate.run`) with
``--modes balanced --targets 1``: `jndenc encode --effort balanced` on each clip's first ``--max-frames`` frames
(a lossless cut), the fixed-CRF ladder of the same encoder (x264's 18..38 mapped to its scale), and extra
fixed-CRF encodes until two adjacent CRFs bracket jndenc's worst-shot VMAF (the "matched" CRF, interpolated on
log rate). Every encode is measured against the cut (VMAF of every frame; worst shot = lowest per-shot mean).
Each codec's cache lives in ``--work/CODEC`` so an interrupted run resumes.

Reported per codec: jndenc's bytes against the matched fixed CRF (mean over clips), its bytes against x264 jndenc's
on the same clips (all bytes summed, so at the same target; the worst shots are given beside it), worst shot,
attempts per shot and wall time against x264 jndenc's (median over clips). Run it on clips none of the codec
settings were chosen on (the test split).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from jndenc.bench.report import git_commit
from jndenc.bench.bdrate import run
from jndenc.bench.options import BenchOptions
from jndenc.media.ffbin import ffmpeg_info


def bench(spec: str, clips: list[str], work: Path, max_frames: int) -> dict:
    codec, _, encoder = spec.partition(":")
    opts = BenchOptions(codec=codec, encoder=encoder or None, modes=("balanced",), targets=(1,),
                        max_frames=max_frames, max_clips=None, quiet=True)
    res = run(clips, work / spec.replace(":", "-"), opts)
    per_clip = {}
    for c in res["summary"]["per_clip"]:
        s = c["ladders"]["jndenc-balanced"]
        mine = next(r for r in res["rows"] if r["clip"] == c["clip"] and r["ladder"] == "jndenc-balanced")
        m = s.get("matched") or {}
        diff = m.get("rate_diff_pct")
        per_clip[c["clip"]] = {"shots": c["shots"], "bytes": mine["bytes"],
                               "worst_shot": round(mine["vmaf_worst_shot"], 3), "vmaf_mean": round(mine["vmaf_mean"], 3),
                               "attempts_per_shot": mine["attempts_per_shot"], "total_s": mine["total_s"],
                               "matched_crf": m.get("crf"),
                               "vs_matched_fixed_pct": None if diff is None or not np.isfinite(diff) else round(diff, 2)}
    return {"codec": codec, "encoder": encoder or None, "ladder": list(opts.ladder()), "per_clip": per_clip}


def summarize(runs: dict[str, dict]) -> dict:
    base = runs.get("x264")
    out = {}
    for spec, r in runs.items():
        pc = r["per_clip"]
        matched = [v["vs_matched_fixed_pct"] for v in pc.values() if v["vs_matched_fixed_pct"] is not None]
        s = {"clips": len(pc), "vs_matched_fixed_pct_mean": round(float(np.mean(matched)), 2) if matched else None,
             "clips_matched": len(matched), "worst_shot": round(min(v["worst_shot"] for v in pc.values()), 2),
             "attempts_per_shot": round(float(np.average([v["attempts_per_shot"] for v in pc.values()],
                                                         weights=[v["shots"] for v in pc.values()])), 3),
             "bytes": sum(v["bytes"] for v in pc.values())}
        if base is not None:
            common = [c for c in pc if c in base["per_clip"]]
            s["vs_x264_jndenc_bytes_pct"] = round(100 * (sum(pc[c]["bytes"] for c in common)
                                                         / sum(base["per_clip"][c]["bytes"] for c in common) - 1), 2)
            s["time_vs_x264_jndenc_median"] = round(float(np.median([pc[c]["total_s"] / base["per_clip"][c]["total_s"]
                                                                     for c in common])), 2)
        out[spec] = s
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--work", type=Path, help="caches, one folder per codec")
    ap.add_argument("--cpu", type=int, default=None, help="pin this process to one core")
    ap.add_argument("--merge", nargs="+", type=Path, default=None,
                    help="join outputs of processes that ran different codecs at one commit")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--codecs", default="x264,x265,av1,av1:libaom-av1,vp9")
    ap.add_argument("--max-frames", type=int, default=120)
    args = ap.parse_args(argv)
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        if len({(d["commit"], d["max_frames"], d["ffmpeg"]) for d in parts}) != 1:
            raise SystemExit("--merge: the outputs differ in commit, frames or FFmpeg")
        runs = {k: v for d in parts for k, v in d["runs"].items()}
        out = {**parts[0], "runs": runs, "summary": summarize(runs),
               "machine": parts[0]["machine"] + f"; codecs split over {len(parts)} processes"}
        args.out.write_text(json.dumps(out, indent=1))
        print(json.dumps(out["summary"], indent=1))
        return 0
    if not args.clips or args.work is None:
        ap.error("give CLIPS and --work (or --merge)")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    runs: dict[str, dict] = {}
    if args.out.exists():  # codecs measured by an earlier run of the same commit stay
        old = json.loads(args.out.read_text())
        runs = old.get("runs", {})
    commit = git_commit()
    for spec in [c for c in args.codecs.split(",") if c]:
        print(f"{spec} ...", file=sys.stderr, flush=True)
        runs[spec] = bench(spec, args.clips, args.work, args.max_frames)
        out = {"commit": commit, "ffmpeg": ffmpeg_info().version, "max_frames": args.max_frames,
               "machine": "x86_64, one core per process (taskset by the caller)", "runs": runs,
               "summary": summarize(runs)}
        args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(summarize(runs), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
