#!/usr/bin/env python3
"""What aiming in another libvmaf model costs: balanced with `--vmaf-model vmaf_v0.6.1neg` beside balanced in the
default model and fixed CRF 23, every output's shots measured in both models.

    python benchmarks/vmaf_models.py CLIPS... --out benchmarks/results/vmaf_models.json [--max-frames 240] [--cpu 0]
    python benchmarks/vmaf_models.py --merge A.json B.json --out benchmarks/results/vmaf_models.json

Per clip (a lossless cut of its first ``--max-frames`` frames), in one process pinned to one core: a plain
``ffmpeg -c:v libx264 -preset medium -crf 23`` (the time every ratio divides by), `jndenc encode` (balanced, the
default model) and `jndenc encode --vmaf-model MODEL` for each ``--models``; then every output measured per shot
(the default run's shots, every frame scored, `jndenc.verify`) in the default model and in each of ``--models``.
Reported per row: bytes against CRF 23 (summed, and the mean per clip), and per model the worst shot and the share
of shots at 93.5 or above, attempts per shot, encoded over output frames, and wall time over the plain encode
(median over clips). Nothing here chooses a setting: the rows are `jndenc encode` as shipped.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from segments import parser, timed  # noqa: E402

from jndenc.bench.report import git_commit  # noqa: E402
from jndenc.encode import encode  # noqa: E402
from jndenc.media.clips import list_clips, prepare_source  # noqa: E402
from jndenc.media.ffargs import VMAF_MODEL, VMAF_MODELS, encode_args  # noqa: E402
from jndenc.media.ffbin import ffmpeg_info  # noqa: E402
from jndenc.media.probe import probe  # noqa: E402
from jndenc.media.runner import run_ffmpeg  # noqa: E402
from jndenc.verify import verify  # noqa: E402

LOW = 93.5


def run_clip(clip: Path, work: Path, models: list[str], max_frames: int) -> dict:
    info = probe(clip, count_frames=False)
    src = prepare_source(clip, work / f"{clip.stem}.mkv", max_frames, info.bit_depth)
    rows: dict[str, dict] = {}
    outs = {"crf23": work / "crf23.mp4"}
    _, wall, cpu = timed(lambda: run_ffmpeg(encode_args(src, outs["crf23"], encoder="libx264", preset="medium",
                                                        crf=23), what="plain encode"))
    rows["crf23"] = {"bytes": outs["crf23"].stat().st_size, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
    shots = None
    for model in [VMAF_MODEL, *models]:
        out = outs[model] = work / f"{model}.mp4"
        r, wall, cpu = timed(lambda: encode(src, out, overwrite=True, quiet=True, vmaf_model=model))
        d = r.to_dict()
        shots = shots or [(s["start_frame"], s["end_frame"]) for s in d["shots"]]
        rows[model] = {"bytes": r.bytes, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                       "attempts": d["loop"]["attempts"], "encoded_frames": d["loop"]["encoded_frames"],
                       "crf": [s["crf"] for s in d["shots"]]}
    for name, out in outs.items():
        rows[name]["vmaf"] = {m: [round(q.mean, 3) for q in verify(out, src, shots, info.bit_depth, threads=1,
                                                                   model=m)]
                              for m in [VMAF_MODEL, *models]}
        out.unlink(missing_ok=True)
    return {"clip": clip.name, "frames": [b - a for a, b in shots], "rows": rows}


def summarize(clips: list[dict], models: list[str]) -> dict:
    out = {}
    base = sum(c["rows"]["crf23"]["bytes"] for c in clips)
    for row in ["crf23", VMAF_MODEL, *models]:
        rs = [c["rows"][row] for c in clips]
        b = sum(r["bytes"] for r in rs)
        s = {"bytes": b, "vs_crf23_pct": round(100 * (b / base - 1), 2),
             "mean_per_clip_saving_pct": round(100 * float(np.mean(
                 [1 - r["bytes"] / c["rows"]["crf23"]["bytes"] for r, c in zip(rs, clips)])), 2),
             "shots": sum(len(c["frames"]) for c in clips), "measured_in": {}}
        for m in [VMAF_MODEL, *models]:
            v = np.array([x for r in rs for x in r["vmaf"][m]])
            s["measured_in"][m] = {"worst_shot": round(float(v.min()), 2),
                                   "share_shots_ge_93_5": round(float(np.mean(v >= LOW)), 3)}
        if row != "crf23":
            s["attempts_per_shot"] = round(sum(r["attempts"] for r in rs) / s["shots"], 3)
            s["encoded_over_output_frames"] = round(sum(r["encoded_frames"] for r in rs)
                                                    / sum(sum(c["frames"]) for c in clips), 3)
            s["wall_vs_plain_median"] = round(float(np.median(
                [r["wall_s"] / c["rows"]["crf23"]["wall_s"] for r, c in zip(rs, clips)])), 2)
            if row != VMAF_MODEL:
                s["bytes_vs_default_pct"] = round(100 * (b / sum(c["rows"][VMAF_MODEL]["bytes"] for c in clips) - 1), 2)
        out[row] = s
    return out


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--models", default="vmaf_v0.6.1neg", help="models beside the default, comma-separated")
    args = ap.parse_args(argv)
    if args.merge:
        runs = [json.loads(p.read_text()) for p in args.merge]
        if len({json.dumps([r["commit"], r["options"]]) for r in runs}) != 1:
            raise SystemExit("--merge: the runs differ in commit or options")
        merged = {**runs[0], "clips": [c for r in runs for c in r["clips"]],
                  "machine": runs[0]["machine"] + f"; clips split over {len(runs)} processes, each on its own core"}
        merged["summary"] = summarize(merged["clips"], merged["options"]["models"])
        args.out.write_text(json.dumps(merged, indent=1))
        print(json.dumps(merged["summary"], indent=1))
        return 0
    models = [m for m in args.models.split(",") if m]
    bad = [m for m in models if m not in VMAF_MODELS or m == VMAF_MODEL]
    if bad or not args.clips:
        ap.error(f"give CLIPS, and --models from {', '.join(VMAF_MODELS[1:])}" + (f" (not {bad})" if bad else ""))
    os.sched_setaffinity(0, {args.cpu})
    out = {"clips": [], "commit": git_commit(), "ffmpeg": ffmpeg_info().version,
           "machine": f"{platform.machine()}, pinned to one core",
           "options": {"max_frames": args.max_frames, "models": models}}
    with tempfile.TemporaryDirectory(prefix="jndenc-vmaf-models-") as tmp:
        for clip in list_clips(args.clips):
            print(f"{clip.name} ...", file=sys.stderr, flush=True)
            out["clips"].append(run_clip(clip, Path(tmp), models, args.max_frames))
            out["summary"] = summarize(out["clips"], models)
            args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out["summary"], indent=1))
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
