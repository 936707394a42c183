#!/usr/bin/env python3
"""Overhead: wall time and peak memory of `jndenc encode` vs a plain FFmpeg encode of the same clip.

    python benchmarks/overhead.py CLIP --out results/overhead [--preset medium] [--crf 23] [--reps 3]

Variants, run interleaved (plain, predict/shot, predict/frame, plain, ...) so
drift in machine load hits all of them alike; ``--mode search`` runs
``--search-reps`` times (it is much slower). Each run is a fresh process
measured from outside by a small wrapper: wall time, peak RSS of the largest
process (``getrusage(RUSAGE_CHILDREN).ru_maxrss``) and peak RSS summed over
the whole process tree (psutil, sampled every 50 ms; jndenc's Python and its
FFmpeg child run at the same time). jndenc's own split (analysis vs encode)
comes from ``--json``. Reports median and min, and the ratios jndenc/plain and
search/predict. ``--scaling`` repeats the clip 1x, 2x, 4x (lossless concat):
time per frame should stay flat (linear time) and peak memory too.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


# ---------------------------------------------------------------------------- wrapper (runs in a fresh process)
def _measure(cmd: list[str]) -> int:
    try:
        import psutil
    except ImportError:
        psutil = None
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_tree = 0
    if psutil is not None:
        try:
            p = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
                    peak_tree = max(peak_tree, rss)
                except psutil.Error:
                    pass
                time.sleep(0.05)
        except psutil.Error:
            pass
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"rc": proc.returncode, "wall_s": wall, "maxrss_mib": ru.ru_maxrss / 1024,
                      "tree_peak_mib": peak_tree / 2**20 if peak_tree else None,
                      "cpu_s": ru.ru_utime + ru.ru_stime, "stdout": out[-20000:], "stderr": err[-2000:]}))
    return 0


def measure(cmd: list[str]) -> dict:
    r = subprocess.run([sys.executable, __file__, "--_measure", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------- main
def ffmpeg_cmd(src: Path, dst: Path, preset: str, crf: float) -> list[str]:
    from jndenc.media.ffbin import ffmpeg_exe

    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i", str(src), "-map", "0:v:0",
            "-c:v", "libx264", "-preset", preset, "-crf", f"{crf:g}", str(dst)]


def jndenc_cmd(src: Path, dst: Path, preset: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "jndenc", "encode", str(src), str(dst), "--preset", preset, "-y", "--json",
            *extra]


def concat(src: Path, n: int, dst: Path) -> Path:
    from jndenc.media.runner import run_ffmpeg

    if n == 1:
        return src
    run_ffmpeg(["-stream_loop", str(n - 1), "-i", str(src), "-map", "0:v:0", "-c:v", "libx264", "-qp", "0",
                "-preset", "ultrafast", str(dst)], what=f"concatenating {n}x")
    return dst


def stats(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["rc"] == 0]
    if not ok:
        return {"n": 0, "error": (runs[0]["stderr"].strip().splitlines() or ["?"])[-1] if runs else "not run"}
    out = {"n": len(ok)}
    for k in ("wall_s", "maxrss_mib", "tree_peak_mib", "analysis_s", "encode_s"):
        vals = [r[k] for r in ok if r.get(k) is not None]
        if vals:
            out[f"{k}_median"] = round(statistics.median(vals), 3)
            out[f"{k}_min"] = round(min(vals), 3)
    return out


def run_variant(name: str, cmd: list[str]) -> dict:
    r = measure(cmd)
    if r["rc"] == 0 and name != "plain":
        try:
            t = json.loads(r["stdout"].strip().splitlines()[-1])["timings"]
            r["analysis_s"], r["encode_s"] = t["analysis_s"], t["encode_s"]
        except (ValueError, KeyError, IndexError):
            pass
    r.pop("stdout", None)
    return r


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--_measure":
        return _measure(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--crf", type=float, default=23.0, help="CRF of the plain FFmpeg encode")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--search-reps", type=int, default=1, help="0 skips --mode search")
    ap.add_argument("--max-frames", type=int, default=0, help="first N frames (lossless cut) first; 0 = whole clip")
    ap.add_argument("--scaling", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4],
                    help="repeat factors for the scaling check ('' or 1 to skip)")
    ap.add_argument("--weights", default=None)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    from jndenc.media.clips import prepare_source
    from jndenc.bench.report import machine
    from jndenc.media.probe import probe

    work = Path(tempfile.mkdtemp(prefix="jndenc-overhead-"))
    t0 = time.perf_counter()
    notes = []
    try:
        src = a.clip
        if a.max_frames:
            src = prepare_source(a.clip, work / "src.mkv", a.max_frames, probe(a.clip, count_frames=False).bit_depth)
        info = probe(src)
        wextra = ["--weights", a.weights] if a.weights else []
        variants = {
            "plain": lambda s, d: ffmpeg_cmd(s, d, a.preset, a.crf),
            "jndenc predict/shot": lambda s, d: jndenc_cmd(s, d, a.preset, ["--mode", "predict", *wextra]),
            "jndenc predict/frame": lambda s, d: jndenc_cmd(s, d, a.preset, ["--mode", "predict", "--granularity",
                                                                              "frame", *wextra]),
            "jndenc search": lambda s, d: jndenc_cmd(s, d, a.preset, ["--mode", "search"]),
        }
        runs: dict[str, list[dict]] = {k: [] for k in variants}
        for rep in range(max(a.reps, a.search_reps)):
            for name, make in variants.items():
                if rep >= (a.search_reps if name == "jndenc search" else a.reps):
                    continue
                if name.startswith("jndenc predict") and runs[name] and runs[name][0]["rc"] != 0:
                    continue  # no model: do not repeat a failing variant
                print(f"overhead: rep {rep + 1} {name}", file=sys.stderr)
                runs[name].append(run_variant(name, make(src, work / "out.mp4")))
        result = {name: stats(rs) for name, rs in runs.items() if rs}
        for name, s in result.items():
            if s["n"] == 0:
                notes.append(f"{name} failed: {s['error']}")
        ratios = {}

        def ratio(k, num, den):
            n, d = result.get(num, {}).get("wall_s_median"), result.get(den, {}).get("wall_s_median")
            if n and d:
                ratios[k] = round(n / d, 2)

        ratio("predict_shot/plain", "jndenc predict/shot", "plain")
        ratio("predict_frame/plain", "jndenc predict/frame", "plain")
        ratio("search/plain", "jndenc search", "plain")
        ratio("search/predict_shot", "jndenc search", "jndenc predict/shot")

        scaling = []
        factors = [f for f in a.scaling if f >= 1] if len(a.scaling) > 1 else []
        if factors:
            pred_ok = result.get("jndenc predict/shot", {}).get("n", 0) > 0
            name = "jndenc predict/shot" if pred_ok else "jndenc search"
            if not pred_ok:
                notes.append("scaling check used --mode search (no model for predict)")
            for f in factors:
                s = concat(src, f, work / f"x{f}.mkv")
                frames = info.frames * f
                for vname in ("plain", name):
                    print(f"overhead: scaling {f}x {vname}", file=sys.stderr)
                    r = run_variant(vname, variants[vname](s, work / "out.mp4"))
                    scaling.append({"factor": f, "variant": vname, "frames": frames, "rc": r["rc"],
                                    "wall_s": round(r["wall_s"], 3), "ms_per_frame": round(1000 * r["wall_s"] / frames, 2),
                                    "maxrss_mib": round(r["maxrss_mib"], 1),
                                    "tree_peak_mib": r["tree_peak_mib"] and round(r["tree_peak_mib"], 1)})
                if s != src:
                    s.unlink(missing_ok=True)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    report = {"clip": str(a.clip), "frames": info.frames, "width": info.width, "height": info.height,
              "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items()},
              "results": result, "ratios": ratios, "scaling": scaling, "notes": notes, "machine": machine(),
              "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
              "seconds": round(time.perf_counter() - t0, 1)}
    (a.out / "overhead.json").write_text(json.dumps(report, indent=1))
    lines = ["# jndenc overhead", "", f"{a.clip.name}: {info.width}x{info.height}, {info.frames} frames; preset "
             f"{a.preset}; plain = ffmpeg -c:v libx264 -crf {a.crf:g}; {report['date']}; "
             f"{report['machine']['cpu']} ({report['machine']['cores']} cores)", "",
             "| variant | runs | wall median (s) | wall min (s) | analysis (s) | encode (s) | peak RSS max proc (MiB) "
             "| peak RSS tree (MiB) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in result.items():
        g = lambda k: f"{s[k]:.2f}" if s.get(k) is not None else "-"  # noqa: E731
        lines.append(f"| {name} | {s['n']} | {g('wall_s_median')} | {g('wall_s_min')} | {g('analysis_s_median')} | "
                     f"{g('encode_s_median')} | {g('maxrss_mib_median')} | {g('tree_peak_mib_median')} |")
    lines += ["", "Ratios (median wall time): " + (", ".join(f"{k} = {v:.2f}x" for k, v in ratios.items()) or "n/a")]
    if scaling:
        lines += ["", "| repeat | variant | frames | wall (s) | ms/frame | peak RSS max proc (MiB) | peak RSS tree (MiB) |",
                  "|---:|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {s['factor']}x | {s['variant']} | {s['frames']} | {s['wall_s']:.2f} | {s['ms_per_frame']:.2f} | "
                  f"{s['maxrss_mib']:.0f} | {s['tree_peak_mib'] or '-'} |" for s in scaling]
    lines += [""] + [f"> note: {n}" for n in notes]
    (a.out / "overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
