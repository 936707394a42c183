#!/usr/bin/env python3
"""Every mode on the same clips in one run: bytes, per-shot quality reached, and cost.

    python benchmarks/modes.py CLIPS... --out benchmarks/results/modes.json [--max-frames 240] [--modes ...] [--cpu N]
    python benchmarks/modes.py --merge A.json B.json --out benchmarks/results/modes.json

Two processes, each pinned to its own core (``--cpu``) over half of the clips, are joined with ``--merge``
(they must come from one commit with the same options).

Per clip (a lossless cut of its first ``--max-frames`` frames, so every mode
sees the same frames) and per mode, one `jndenc.encode` with ``--verify``:

* ``crf23``: fixed CRF 23, the baseline most users run today;
* ``predict``: the shipped model, default margin (1 CRF step);
* ``probe``: the model plus one cheap probe encode per shot (when the installed jndenc has it);
* ``guided``: the model's start plus at most 3 real trial encodes per shot, margin 0;
* ``guided-const``: guided from a constant start (``--constant-start``) instead of the model:
  what the model contributes to guided mode;
* ``search``: the oracle (bisection by trial encodes), margin 0;
* ``predict@P``, ``probe@P``: predict or probe mode at ``--confidence P`` (the default is 0.9);
* ``MODE+ensure``: any of them with ``--ensure`` (shots the verification finds more than 0.5 VMAF
  under the target re-encoded once at a lower CRF; its time counted);
* ``MODE+tighten``: any of them with ``--tighten`` (``--ensure``, and shots measured above the target
  raised by their headroom in the same re-encode).

A plain ``ffmpeg -c:v libx264 -preset P -crf 23`` of the same cut is timed in
the same process, so times are ratios to it. The trial cache is off, so every
mode pays for its trials. Reported per mode: bytes vs CRF 23 and vs search,
worst-shot and 5th-percentile-shot VMAF (shot means), share of shots at or
above target - 0.5, trial encodes per shot, analysis seconds, total time over
plain FFmpeg. ``--plot`` draws bytes vs worst-shot VMAF per mode.
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

from jndenc.bench.report import git_commit
from jndenc.encode import encode
from jndenc.recipe import Recipe
from jndenc.media.clips import list_clips, prepare_source
from jndenc.media.ffbin import ffmpeg_info
from jndenc.media.probe import probe
from jndenc.media.runner import run_ffmpeg
from jndenc.media.ffargs import encode_args

TARGET = 94.0
ALL_MODES = ("crf23", "predict", "probe", "guided", "guided-const", "search")


def mode_kwargs(mode: str, constant_start: float) -> dict:
    """Encode options of a row name: ``crf23``, ``guided-const`` (guided from a constant start), ``search`` (margin 0),
    or any `jndenc.recipe.Recipe` (an effort level, ``predict@0.8``, ``probe@0.5+tighten``, ``guided+ensure``)."""
    special = {"crf23": {"crf": 23.0},
               "guided-const": {"mode": "guided", "trial_cache": "", "prior": constant_start},
               "search": {"mode": "search", "margin": 0.0}}
    if mode in special:
        return special[mode]
    kw = Recipe.parse(mode).kwargs()
    return kw | ({"trial_cache": ""} if kw.get("mode") == "guided" else {})


def plain_encode_seconds(src: Path, work: Path, preset: str, threads: int) -> float:
    out = work / "plain.mp4"
    t0 = time.perf_counter()
    run_ffmpeg(encode_args(src, out, encoder="libx264", preset=preset, crf=23, threads=threads),
               what="plain encode")
    dt = time.perf_counter() - t0
    out.unlink(missing_ok=True)
    return dt


def run_clip(clip: Path, work: Path, modes, args, rec: dict | None = None) -> dict:
    """Measure ``modes`` on ``clip``; with an earlier ``rec``, only the modes it lacks (plain FFmpeg timed again)."""
    info = probe(clip, count_frames=False)
    src = prepare_source(clip, work / f"{clip.stem}.mkv", args.max_frames, info.bit_depth)
    rec = rec or {"clip": clip.name, "modes": {}}
    rec["plain_s"] = plain_encode_seconds(src, work, args.preset, args.threads)
    for mode in modes:
        if "bytes" in rec["modes"].get(mode, {}):
            continue
        kw = mode_kwargs(mode, args.constant_start)
        t0 = time.perf_counter()
        try:
            r = encode(src, work / f"{clip.stem}.{mode}.mp4", overwrite=True, quiet=True, preset=args.preset,
                       threads=args.threads, verify=True, workers=1, **kw)
        except Exception as exc:  # noqa: BLE001 - a mode this jndenc lacks (e.g. probe) is recorded, not fatal
            rec["modes"][mode] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        d = r.to_dict()
        (work / f"{clip.stem}.{mode}.mp4").unlink(missing_ok=True)
        rec["modes"][mode] = {
            "bytes": d["bytes"], "seconds": round(time.perf_counter() - t0, 3), "timings": d["timings"],
            "shots": [{"frames": s["end_frame"] - s["start_frame"], "crf": s["crf"], "vmaf": s["vmaf"]["mean"],
                       "p5": s["vmaf"]["p5"], "jnd": s["jnd"]} for s in d["shots"]],
            "trial_encodes": d.get("trial_encodes") or 0, "model": d.get("model"), "notes": d["notes"],
        }
    return rec


def summarize(clips: list[dict], modes) -> dict:
    out = {}
    for mode in modes:
        rows = [c for c in clips if "bytes" in c["modes"].get(mode, {}) and "bytes" in c["modes"].get("crf23", {})]
        if not rows:
            continue
        shots = [s for c in rows for s in c["modes"][mode]["shots"]]
        means = np.array([s["vmaf"] for s in shots])
        b = sum(c["modes"][mode]["bytes"] for c in rows)
        b23 = sum(c["modes"]["crf23"]["bytes"] for c in rows)
        per_clip_saving = [1 - c["modes"][mode]["bytes"] / c["modes"]["crf23"]["bytes"] for c in rows]
        srch = [c for c in rows if "bytes" in c["modes"].get("search", {})]
        s = {
            "clips": len(rows), "shots": len(shots),
            "saving_vs_crf23_pct": round(100 * (1 - b / b23), 2),
            "mean_clip_saving_vs_crf23_pct": round(100 * float(np.mean(per_clip_saving)), 2),
            "worst_shot_vmaf": round(float(means.min()), 2),
            "p5_shot_vmaf": round(float(np.percentile(means, 5)), 2),
            "share_shots_at_target_minus_0_5": round(float(np.mean(means >= TARGET - 0.5)), 3),
            "share_shots_at_target_minus_1": round(float(np.mean(means >= TARGET - 1.0)), 3),
            "trials_per_shot": round(sum(c["modes"][mode]["trial_encodes"] for c in rows) / len(shots), 2),
            "analysis_s": round(sum(c["modes"][mode]["timings"]["analysis_s"] for c in rows), 2),
            "time_vs_plain": round(sum(c["modes"][mode]["seconds"] for c in rows) / sum(c["plain_s"] for c in rows),
                                   2),
        }
        if srch and mode != "search":
            bs = sum(c["modes"]["search"]["bytes"] for c in srch)
            b23s = sum(c["modes"]["crf23"]["bytes"] for c in srch)
            bm = sum(c["modes"][mode]["bytes"] for c in srch)
            s["share_of_search_saving_pct"] = round(100 * (b23s - bm) / (b23s - bs), 1) if b23s != bs else None
            s["bytes_vs_search_pct"] = round(100 * (bm / bs - 1), 2)
            # per clip, then averaged: one large clip that needs more bits than CRF 23 cannot swamp the rest
            mean_s = float(np.mean([1 - c["modes"]["search"]["bytes"] / c["modes"]["crf23"]["bytes"] for c in srch]))
            mean_m = float(np.mean([1 - c["modes"][mode]["bytes"] / c["modes"]["crf23"]["bytes"] for c in srch]))
            s["share_of_search_mean_clip_saving_pct"] = round(100 * mean_m / mean_s, 1) if mean_s else None
            s["analysis_vs_search_pct"] = round(100 * sum(c["modes"][mode]["timings"]["analysis_s"] for c in srch)
                                                / sum(c["modes"]["search"]["timings"]["analysis_s"] for c in srch), 1)
        out[mode] = s
    return out


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, s in summary.items():
        ax.scatter(s["saving_vs_crf23_pct"], s["worst_shot_vmaf"], s=40)
        ax.annotate(mode, (s["saving_vs_crf23_pct"], s["worst_shot_vmaf"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.axhline(TARGET, color="grey", lw=0.8, ls="--")
    ax.axhline(TARGET - 1, color="grey", lw=0.5, ls=":")
    ax.set_xlabel("bytes saved vs fixed CRF 23 (%)")
    ax.set_ylabel("worst-shot VMAF (shot mean)")
    ax.set_title("jndenc modes: saving vs the worst shot")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--modes", default=",".join(ALL_MODES))
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--max-frames", type=int, default=240)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--constant-start", type=float, default=26.0,
                    help="guided-const's JND1 start for every shot (about the training labels' mean)")
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--cpu", type=int, help="pin this process to one core")
    ap.add_argument("--merge", nargs="+", type=Path, help="join the clips of runs from one commit")
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out, args.plot)
    if not args.clips:
        ap.error("clips, or --merge")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    modes = [m for m in args.modes.split(",") if m]
    if "crf23" not in modes:
        modes.insert(0, "crf23")
    clips = list_clips(args.clips)
    out = {"clips": [], "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    machine = f"{platform.machine()}, {args.threads} thread(s)" + ("" if args.cpu is None else ", pinned to one core")
    if args.out.exists():  # resume: modes already measured on a clip are kept, missing ones are run
        prev_out = json.loads(args.out.read_text())
        out["clips"] = prev_out.get("clips", [])
        # a resumed file keeps the provenance written after its "machine" (which run measured which rows)
        if str(prev_out.get("machine", "")).startswith(machine):
            machine = prev_out["machine"]
    by_name = {c["clip"]: c for c in out["clips"]}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jndenc-modes-") as tmp:
        for clip in clips:
            prev = by_name.get(clip.name)
            if prev is not None and all("bytes" in prev["modes"].get(m, {}) for m in modes):
                continue
            print(f"{clip.name} ...", file=sys.stderr, flush=True)
            rec = run_clip(clip, Path(tmp), modes, args, prev)
            if prev is None:
                out["clips"].append(rec)
            out["summary"] = summarize(out["clips"], modes)
            out.update(commit=git_commit() or "", ffmpeg=ffmpeg_info().version, machine=machine,
                       target_vmaf=TARGET, seconds=round(time.perf_counter() - t0, 1))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=1))
    out["summary"] = summarize(out["clips"], modes)
    args.out.write_text(json.dumps(out, indent=1))
    for mode, s in out["summary"].items():
        print(f"{mode:13} saving {s['saving_vs_crf23_pct']:6.1f}%  worst {s['worst_shot_vmaf']:6.2f}  "
              f"p5 {s['p5_shot_vmaf']:6.2f}  >=T-0.5 {100 * s['share_shots_at_target_minus_0_5']:5.1f}%  "
              f"trials/shot {s['trials_per_shot']:5.2f}  time {s['time_vs_plain']:5.2f}x")
    if args.plot:
        plot(out["summary"], args.plot)
    return 0


def merge(paths: list[Path], out_path: Path, plot_path: Path | None) -> int:
    """One result from runs over disjoint clips: same commit, modes and options (the clips aside)."""
    runs = [json.loads(p.read_text()) for p in paths]
    if len({r.get("commit") for r in runs}) != 1 or not runs[0].get("commit"):
        raise SystemExit("modes.py --merge: the runs come from different (or unrecorded) commits")
    same = [{k: v for k, v in r["options"].items() if k not in ("clips", "out", "cpu", "plot")} for r in runs]
    if any(o != same[0] for o in same):
        raise SystemExit("modes.py --merge: the runs' options differ")
    modes = list(runs[0]["summary"])
    out = {**runs[0], "clips": [c for r in runs for c in r["clips"]],
           "machine": runs[0]["machine"] + "; clips split over two processes pinned to one core each",
           "seconds": round(sum(r["seconds"] for r in runs), 1)}
    out["options"] = {**runs[0]["options"], "clips": [c for r in runs for c in r["options"]["clips"]]}
    out["summary"] = summarize(out["clips"], modes)
    out_path.write_text(json.dumps(out, indent=1))
    if plot_path:
        plot(out["summary"], plot_path)
    return 0


if __name__ == "__main__":
    from jndenc.bench.script import run_main

    sys.exit(run_main(main))
