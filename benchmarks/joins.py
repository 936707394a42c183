#!/usr/bin/env python3
"""Segments against the one-pass zones encode at the same CRFs: bytes, per-shot VMAF, frames and timestamps.

    python benchmarks/joins.py CLIPS... --out benchmarks/results/joins.json [--max-frames 480]

Per clip (a lossless cut of its first ``--max-frames`` frames), the frame model's plan at its median estimate
(what the balanced loop starts from) is encoded twice at exactly its CRFs: once as today's one-pass x264 encode
with per-shot zones and a keyframe at every shot (`jndenc encode --plan`), once as independent segments joined
with the source's timestamps (`jndenc.shotloop.run` with one attempt a shot). Both outputs are measured per shot
(every frame), and their decoded frames' timestamps compared with the cut's (largest difference, ms). Only clips with more than one shot
say anything about joins; single-shot clips are skipped.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import av

from jndenc.bench.report import git_commit
from jndenc.encode import encode
from jndenc.media.clips import list_clips, prepare_source
from jndenc.media.probe import probe
from jndenc.output import stream_options
from jndenc.pipeline import plan as make_plan
from jndenc.search import DEFAULT_THRESHOLDS
from jndenc.loop_options import LoopOptions
from jndenc.shotloop import run as run_segments
from jndenc.verify import verify


def frame_times(path: Path) -> list:
    with av.open(str(path)) as c:
        return [f.time for f in c.decode(video=0)]


def run_clip(clip: Path, work: Path, args) -> dict | None:
    info0 = probe(clip, count_frames=False)
    src = prepare_source(clip, work / f"{clip.stem}.mkv", args.max_frames, info0.bit_depth)
    info = probe(src)
    plan = make_plan(src, info=info, mode="predict", margin="auto", confidence=0.5)
    if len(plan.shots) < 2:
        return None
    zones = work / "zones.mp4"
    encode(src, zones, plan=plan, overwrite=True)
    seg = work / "segments.mp4"
    maps, kw, _ = stream_options(src, seg, info)
    _, res = run_segments(src, seg, plan, info, target=94.0, options=LoopOptions(budget=1, jobs=1),
                          thresholds=DEFAULT_THRESHOLDS, stream_maps=maps, stream_kw=kw)
    shots = [(s.start_frame, s.end_frame) for s in plan.shots]
    want = frame_times(src)
    out = {"clip": clip.name, "shots": len(shots), "frames": [b - a for a, b in shots],
           "crf": [s.crf for s in plan.shots]}
    for name, path in (("zones", zones), ("segments", seg)):
        q = verify(path, src, shots, info.bit_depth, threads=1)
        got = frame_times(path)
        out[name] = {"bytes": path.stat().st_size, "vmaf": [round(x.mean, 3) for x in q], "frames": len(got),
                     "max_timestamp_error_ms": round(1000 * max(abs(a - b) for a, b in zip(got, want)), 3)
                     if len(got) == len(want) else None}
    return out


def summarize(rows: list[dict]) -> dict:
    z = sum(r["zones"]["bytes"] for r in rows)
    s = sum(r["segments"]["bytes"] for r in rows)
    gaps = [b - a for r in rows for a, b in zip(r["zones"]["vmaf"], r["segments"]["vmaf"])]

    def worst_ms(k: str) -> float | None:
        errs = [r[k]["max_timestamp_error_ms"] for r in rows]
        return None if None in errs or not errs else max(errs)
    return {"clips": len(rows), "shots": len(gaps), "segments_vs_zones_bytes_pct": round(100 * (s / z - 1), 2),
            "mean_shot_vmaf_gap": round(sum(gaps) / len(gaps), 3) if gaps else None,
            "min_shot_vmaf_gap": round(min(gaps), 3) if gaps else None,
            "frames_identical": all(r[k]["frames"] == sum(r["frames"]) for r in rows for k in ("zones", "segments")),
            "max_timestamp_error_ms": {k: worst_ms(k) for k in ("zones", "segments")},
            "clips_with_timestamp_error_over_1ms": {k: [r["clip"] for r in rows if (r[k]["max_timestamp_error_ms"]
                                                                                  or 0) > 1.0]
                                                    for k in ("zones", "segments")}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-frames", type=int, default=480)
    args = ap.parse_args(argv)
    commit = git_commit()
    rows = []
    with tempfile.TemporaryDirectory(prefix="jndenc-joins-") as tmp:
        for clip in list_clips(args.clips):
            print(f"{clip.name} ...", file=sys.stderr, flush=True)
            r = run_clip(clip, Path(tmp), args)
            if r is not None:
                rows.append(r)
    summary = summarize(rows)
    args.out.write_text(json.dumps({"commit": commit, "max_frames": args.max_frames, "summary": summary,
                                    "clips": rows}, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
