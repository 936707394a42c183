#!/usr/bin/env python3
"""Overhead: `jndenc encode` / `jndenc predict` against a plain FFmpeg encode of the same clip, same run.

    python benchmarks/overhead.py --out benchmarks/results [--reps 2] [--cpus 0] [--seconds 20]
    python benchmarks/overhead.py --table benchmarks/results/overhead.json   # Markdown from the JSON only

Clips, built from ``--clips-dir`` (the shared clips) by looping with
``ffmpeg -stream_loop N -c copy`` (no re-encode, so decoding them costs what
the originals cost): a 720p and a 1080p clip of ``--seconds`` (>= 20 s) and a
5 s 720p clip. For each, interleaved per repetition so that drift in machine
load hits all variants alike:

- ``plain``: ``ffmpeg -c:v libx264 -preset P -crf C`` (the baseline);
- ``jndenc predict/shot``: ``jndenc encode --mode predict --json`` (and
  ``predict/frame`` with ``--granularity frame``, ``--frame-reps`` times);
- on the 5 s clip also ``jndenc predict --json`` (the predict command alone);
- ``--tf-reps`` runs of ``predict/shot`` with ``JNDENC_RUNTIME=tensorflow``
  on the first clip: the same encode on the TensorFlow path, for comparison.

Every run is a fresh process pinned to ``--cpus`` (default core 0: the
machine's other core runs other jobs), measured from this process: wall
time, CPU time (``wait4``) and the peak of the process tree's summed RSS (psutil, 50 ms samples;
jndenc's Python and its FFmpeg child run at the same time). jndenc's own
analysis / encode / validate split comes from its ``--json`` timings.
Start-up (``import jndenc.pipeline`` + ``load_predictor()``) is timed inside
a fresh pinned process, for each runtime. Medians are reported; ratios are
median jndenc / median plain on the same clip. The JSON goes to
``OUT/overhead.json`` and the Markdown table, generated from it, to
``OUT/overhead.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"encode_ratio_long": 1.10, "encode_frame_ratio_long": 1.20, "predict_5s_wall_s": 1.5, "startup_s": 0.5,
           "tree_peak_mib": 400}
CLIPS = [  # label, source in --clips-dir, seconds (None: --seconds)
    ("720p", "pyscenedetect_deerleaf720.mp4", None),
    ("1080p", "small_bunny_1080p_30fps.mp4", None),
    ("720p-5s", "pyscenedetect_deerleaf720.mp4", 5.0),
]
STARTUP = ("import time, json; t0 = time.perf_counter(); import jndenc.pipeline as P; t1 = time.perf_counter(); "
           "p = P.load_predictor(); t2 = time.perf_counter(); import sys; "
           "print(json.dumps({'import_s': t1 - t0, 'load_s': t2 - t1, 'runtime': p.runtime, "
           "'tensorflow_imported': 'tensorflow' in sys.modules}))")


def measure(cmd: list[str], cpus: list[int], env: dict | None = None) -> dict:
    """Run ``cmd`` pinned to ``cpus``: wall time, CPU time of its process tree, peak summed RSS, stdout.

    CPU time (user + sys, the child and the children it waited for, from
    ``wait4``) is reported beside wall time: on a shared machine other jobs
    stretch the wall time of whatever runs, the CPU time much less.
    """
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})},
                                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        peak = 0
        p = psutil.Process(proc.pid)
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                peak = max(peak, p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True)))
            except psutil.Error:
                pass
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    r = {"rc": proc.returncode, "wall_s": round(wall, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
         "tree_peak_mib": round(peak / 2**20, 1)}
    if proc.returncode != 0:
        r["error"] = (stderr.strip().splitlines() or ["?"])[-1]
    r["stdout"] = stdout
    return r


def mode_args(mode: str) -> list[str]:
    """`jndenc encode` options of a `jndenc.recipe.Recipe`: ``balanced``, ``probe``, ``probe@0.5+tighten``..."""
    from jndenc.recipe import Recipe

    return Recipe.parse(mode).cli_args()


def ffmpeg_cmd(src: Path, dst: Path, preset: str, crf: float) -> list[str]:
    from jndenc.media.ffbin import ffmpeg_exe

    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i", str(src), "-map", "0:v:0",
            "-c:v", "libx264", "-preset", preset, "-crf", f"{crf:g}", str(dst)]


def replay_cmd(src: Path, dst: Path, preset: str) -> list[str]:
    """FFmpeg alone with the arguments `jndenc encode` (predict, per shot) runs for ``src``: its zones, its keyframes.

    The plan comes from the same model and options as the timed jndenc runs, decided here once before timing,
    so this variant is the encode jndenc chose without the deciding: jndenc's time over it is the decision's cost,
    and its time over plain is what the chosen (lower) CRFs cost the encoder.
    """
    from jndenc.one_pass import build_command
    from jndenc.media.ffbin import ffmpeg_exe
    from jndenc.media.probe import probe
    from jndenc.pipeline import plan

    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            *build_command(src, dst, plan(src, preset=preset), probe(src), [], {})]


def jndenc_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "jndenc", *args]


def make_clip(src: Path, seconds: float, dst: Path) -> Path:
    """``src`` looped (stream copy) and cut to ``seconds``."""
    from jndenc.media.probe import probe
    from jndenc.media.runner import run_ffmpeg

    loops = max(0, int(-(-seconds // max(probe(src, count_frames=False).duration, 0.1))) - 1)
    run_ffmpeg(["-stream_loop", str(loops), "-i", str(src), "-map", "0:v:0", "-t", f"{seconds:g}", "-c", "copy",
                str(dst)], what=f"looping {src.name}")
    return dst


def _timings(r: dict) -> dict:
    try:
        t = json.loads(r["stdout"].strip().splitlines()[-1])["timings"]
    except (ValueError, KeyError, IndexError):
        return {}
    return {k: t[k] for k in ("analysis_s", "encode_s", "validate_s") if k in t}


def _median(runs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get("rc") == 0 and r.get(key) is not None]
    return round(statistics.median(vals), 3) if vals else None


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["rc"] == 0]
    out = {"n": len(ok), "wall_s": [r["wall_s"] for r in ok]}
    for k in ("wall_s", "cpu_s", "tree_peak_mib", "analysis_s", "encode_s", "validate_s"):
        m = _median(runs, k)
        if m is not None:
            out[f"{k}_median"] = m
    if len(ok) < len(runs):
        out["errors"] = [r.get("error") for r in runs if r["rc"] != 0]
    return out


def startup(cpus: list[int], runtime: str, reps: int) -> dict:
    runs = []
    for _ in range(reps):
        r = measure([sys.executable, "-c", STARTUP], cpus, {"JNDENC_RUNTIME": runtime})
        if r["rc"] == 0:
            d = json.loads(r["stdout"].strip().splitlines()[-1])
            runs.append({**d, "process_wall_s": r["wall_s"], "process_cpu_s": r["cpu_s"],
                         "tree_peak_mib": r["tree_peak_mib"]})
    if not runs:
        return {"error": r.get("error")}
    med = lambda k: round(statistics.median(x[k] for x in runs), 3)  # noqa: E731
    return {"runtime": runs[0]["runtime"], "tensorflow_imported": runs[0]["tensorflow_imported"], "n": len(runs),
            "import_s": med("import_s"), "load_s": med("load_s"),
            "startup_s": round(med("import_s") + med("load_s"), 3), "process_wall_s": med("process_wall_s"),
            "process_cpu_s": med("process_cpu_s"), "tree_peak_mib": med("tree_peak_mib")}


def run(a) -> dict:
    work = Path(tempfile.mkdtemp(prefix="jndenc-overhead-"))
    t0 = time.perf_counter()
    from jndenc.bench.report import machine
    from jndenc.media.probe import probe

    pinning = (f"every measured process (jndenc and plain FFmpeg alike) pinned to core(s) "
               f"{','.join(map(str, a.cpus))} with sched_setaffinity (like taskset -c)" if a.cpus else
               f"no pinning: every measured process free to use all {os.cpu_count()} cores, one process at a time")
    report: dict = {"command": "python benchmarks/overhead.py " + " ".join(a.argv), "cpu_affinity": a.cpus,
                    "pinning": pinning,
                    "preset": a.preset, "plain_crf": a.crf, "targets": TARGETS, "clips": {}, "startup": {}}
    try:
        print("overhead: start-up", file=sys.stderr)
        report["startup"]["litert"] = startup(a.cpus, "auto", 3)
        report["startup"]["tensorflow"] = startup(a.cpus, "tensorflow", 1)
        for i, (label, name, seconds) in enumerate(CLIPS):
            if a.only and label not in a.only.split(","):
                continue
            secs = seconds or a.seconds
            src = make_clip(a.clips_dir / name, secs, work / f"{label}.mp4")
            info = probe(src)
            out = work / "out.mp4"
            variants = {
                "plain": (ffmpeg_cmd(src, out, a.preset, a.crf), None, a.reps),
                "plain, jndenc's plan": (replay_cmd(src, out, a.preset), None, a.reps),
                "jndenc predict/shot": (jndenc_cmd("encode", str(src), str(out), "--preset", a.preset, "-y",
                                                   "--json", "--mode", "predict"), None, a.reps),
                "jndenc predict/frame": (jndenc_cmd("encode", str(src), str(out), "--preset", a.preset, "-y",
                                                    "--json", "--mode", "predict", "--granularity", "frame"), None,
                                         a.frame_reps),
            }
            for m in a.modes:
                # a fresh trial cache per run: every run pays for its trials
                variants[f"jndenc {m}/shot"] = (jndenc_cmd("encode", str(src), str(out), "--preset", a.preset, "-y",
                                                           "--json", *mode_args(m),
                                                           *([] if m in ("fast", "balanced", "thorough") else
                                                             ["--trial-cache", str(work / f"cache-{label}-{m}")])),
                                                None, a.mode_reps)
            if seconds is not None and a.predict_reps:
                variants["jndenc predict (command)"] = (jndenc_cmd("predict", str(src), "--json"), None,
                                                        a.predict_reps)
            if i == 0 and a.tf_reps:
                variants["jndenc predict/shot, TensorFlow runtime"] = (
                    variants["jndenc predict/shot"][0], {"JNDENC_RUNTIME": "tensorflow"}, a.tf_reps)
            runs: dict[str, list[dict]] = {k: [] for k in variants}
            for rep in range(max(v[2] for v in variants.values())):
                for vname, (cmd, env, n) in variants.items():
                    if rep >= n:
                        continue
                    if "cache-" in " ".join(cmd):
                        shutil.rmtree(work / f"cache-{label}-{vname.split()[1].split('/')[0]}", ignore_errors=True)
                    print(f"overhead: {label} rep {rep + 1} {vname}", file=sys.stderr)
                    r = measure(cmd, a.cpus, env)
                    r.update(_timings(r))
                    r.pop("stdout")
                    runs[vname].append(r)
            res = {k: summarise(v) for k, v in runs.items()}
            plain = res["plain"].get("wall_s_median")
            ratios = {k: round(v["wall_s_median"] / plain, 3) for k, v in res.items()
                      if k != "plain" and plain and v.get("wall_s_median") and "command" not in k}
            plain_cpu = res["plain"].get("cpu_s_median")
            cpu_ratios = {k: round(v["cpu_s_median"] / plain_cpu, 3) for k, v in res.items()
                          if k != "plain" and plain_cpu and v.get("cpu_s_median") and "command" not in k}
            replay = res.get("plain, jndenc's plan", {}).get("wall_s_median")
            vs_plan = {k: round(v["wall_s_median"] / replay, 3) for k, v in res.items()
                       if k.startswith("jndenc predict/") and replay and v.get("wall_s_median") and "TensorFlow" not in k}
            report["clips"][label] = {"source": name, "seconds": round(info.duration, 2), "frames": info.frames,
                                      "size": f"{info.width}x{info.height}", "variants": res,
                                      "ratio_vs_plain": ratios, "cpu_ratio_vs_plain": cpu_ratios,
                                      "ratio_vs_own_plan": vs_plan}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    from jndenc.bench.report import git_commit  # the jndenc that ran (its checkout's commit)

    commit = git_commit()
    report.update({"commit": commit, "machine": machine(), "python": platform.python_version(),
                   "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "seconds": round(time.perf_counter() - t0, 1)})
    report["verdict"] = verdict(report)
    return report


def verdict(rep: dict) -> dict:
    """Each target of issue 15 against what this run measured (None: not measured)."""
    t, v = rep["targets"], {}
    longs = [c for lab, c in rep["clips"].items() if c["seconds"] >= 20]
    shot = [c["ratio_vs_plain"].get("jndenc predict/shot") for c in longs]
    frame = [c["ratio_vs_plain"].get("jndenc predict/frame") for c in longs]
    cshot = [c["cpu_ratio_vs_plain"].get("jndenc predict/shot") for c in longs]
    cframe = [c["cpu_ratio_vs_plain"].get("jndenc predict/frame") for c in longs]
    worst = lambda xs: max(xs) if xs and None not in xs else None  # noqa: E731
    v["encode_ratio_long"] = {"worst": worst(shot), "cpu_s": worst(cshot)}
    v["encode_frame_ratio_long"] = {"worst": worst(frame), "cpu_s": worst(cframe)}
    p5 = [c["variants"]["jndenc predict (command)"] for c in rep["clips"].values()
          if "jndenc predict (command)" in c["variants"]]
    v["predict_5s_wall_s"] = {"worst": p5[0].get("wall_s_median") if p5 else None,
                              "cpu_s": p5[0].get("cpu_s_median") if p5 else None}
    v["startup_s"] = {"worst": rep["startup"].get("litert", {}).get("startup_s"),
                      "cpu_s": rep["startup"].get("litert", {}).get("process_cpu_s")}
    peaks = [vv.get("tree_peak_mib_median") for c in rep["clips"].values() for k, vv in c["variants"].items()
             if k.startswith("jndenc") and "TensorFlow" not in k]
    v["tree_peak_mib"] = {"worst": max(p for p in peaks if p is not None) if any(peaks) else None}
    for k, d in v.items():
        d["target"] = t[k]
        d["met"] = None if d["worst"] is None else bool(d["worst"] <= t[k])
    return v


def render(rep: dict) -> str:
    """The Markdown report, generated from the JSON alone."""
    m = rep["machine"]
    lines = ["# jndenc overhead vs plain FFmpeg", "",
             f"`{rep['command']}` - {rep['date']}, {m.get('cpu')}; {rep['pinning']}. Plain = `ffmpeg -c:v libx264 "
             f"-preset {rep['preset']} -crf {rep['plain_crf']:g}`; jndenc = `jndenc encode` (predict mode, the "
             "shipped model, same preset). Medians of the runs; every ratio is against the plain encode of the same "
             "clip in the same run. \"plain, jndenc's plan\" is FFmpeg alone with the arguments jndenc runs (its "
             "per-shot CRFs and keyframes, decided once before timing): jndenc's time over it is what the decision "
             "costs, its time over plain is what the chosen CRFs cost the encoder.", "",
             "| clip | variant | runs | wall (s) | ratio vs plain | ratio vs its own plan in plain FFmpeg | CPU (s) "
             "| CPU ratio | analysis (s) | encode (s) | validate (s) | peak RSS, process tree (MiB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    f = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    for label, c in rep["clips"].items():
        for k, s in c["variants"].items():
            lines.append(f"| {label} ({c['size']}, {c['seconds']:g} s) | {k} | {s['n']} | {f(s.get('wall_s_median'))} "
                         f"| {f(c['ratio_vs_plain'].get(k))} | {f(c.get('ratio_vs_own_plan', {}).get(k))} "
                         f"| {f(s.get('cpu_s_median'))} "
                         f"| {f(c.get('cpu_ratio_vs_plain', {}).get(k))} | {f(s.get('analysis_s_median'))} "
                         f"| {f(s.get('encode_s_median'))} | {f(s.get('validate_s_median'))} "
                         f"| {s.get('tree_peak_mib_median', '-')} |")
    lines += ["", "Start-up in a fresh process (`import jndenc.pipeline` + `load_predictor()`, medians):", "",
              "| runtime | runs | import (s) | model load (s) | start-up (s) | process wall incl. interpreter (s) "
              "| process CPU (s) | TensorFlow imported |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for k, s in rep["startup"].items():
        lines.append(f"| {s.get('runtime', k)} | {s.get('n', 0)} | {f(s.get('import_s'))} | {f(s.get('load_s'))} "
                     f"| {f(s.get('startup_s'))} | {f(s.get('process_wall_s'))} | {f(s.get('process_cpu_s'))} "
                     f"| {s.get('tensorflow_imported')} |")
    lines += ["", "Targets (issue 15; ratios are wall-time ratios, the CPU-time figure beside them is the same "
              "measure on CPU seconds, which other jobs on the machine disturb less):", "",
              "| target | limit | measured, wall (worst) | same on CPU time | met (wall) |", "|---|---:|---:|---:|---|"]
    for k, d in rep["verdict"].items():
        lines.append(f"| {k} | {d['target']} | {f(d['worst'])} | {f(d.get('cpu_s'))} | {d['met']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--table", type=Path, default=None, help="only render OUT.md from this JSON")
    ap.add_argument("--clips-dir", type=Path, default=ROOT.parent / "shared" / "clips")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the long clips (>= 20)")
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--crf", type=float, default=23.0, help="CRF of the plain FFmpeg encode")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--frame-reps", type=int, default=1, help="runs of --granularity frame (0 skips)")
    ap.add_argument("--modes", type=lambda s: [m for m in s.split(",") if m], default=[],
                    help="other encode modes to time as well, e.g. guided,probe,probe@0.5+ensure (MODE@P: --confidence P; "
                         "+ensure/+tighten: that flag; each run with a fresh trial cache)")
    ap.add_argument("--mode-reps", type=int, default=1, help="runs of each of --modes")
    ap.add_argument("--predict-reps", type=int, default=None, help="runs of `jndenc predict` (default: --reps)")
    ap.add_argument("--only", default=None, help="comma-separated clip labels to run (default: all)")
    ap.add_argument("--tf-reps", type=int, default=1, help="runs on the TensorFlow runtime, first clip (0 skips)")
    ap.add_argument("--cpus", type=lambda s: [int(x) for x in s.split(",") if x != ""], default=[0],
                    help="cores every measured process is pinned to ('' = no pinning)")
    a = ap.parse_args(argv)
    a.argv = list(argv) if argv is not None else sys.argv[1:]
    if a.predict_reps is None:
        a.predict_reps = a.reps
    if a.table is not None:
        rep = json.loads(a.table.read_text())
        a.table.with_suffix(".md").write_text(render(rep))
        print(render(rep))
        return 0
    rep = run(a)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "overhead.json").write_text(json.dumps(rep, indent=1) + "\n")
    (a.out / "overhead.md").write_text(render(rep))
    print(render(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
