"""Benchmark outputs: results.csv, summary.md / summary.json, run.json, and the console table."""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Sequence

from ..fileio import json_safe, write_text_atomic
from ..errors import JndencError
from ..media.ffargs import VMAF_MODEL
from ..media.ffbin import ffmpeg_info
from . import plots
from .bd import BD_METHOD

CSV_COLUMNS = [
    "clip", "clip_sha256", "width", "height", "fps", "frames", "codec", "preset", "ladder", "mode", "target_jnd",
    "margin", "role", "crf", "crf_min", "crf_max", "bitrate_kbps", "bytes", "vmaf_mean", "vmaf_p5",
    "vmaf_worst_shot", "psnr_y", "ssim", "encode_s", "analysis_s", "trial_encodes", "cached",
]


def write_csv(path: Path, rows: list[dict]) -> None:
    fh = io.StringIO(newline="")
    w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for row in rows:
        w.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
    write_text_atomic(path, fh.getvalue())


def _f(x, fmt="{:+.1f}") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    s = fmt.format(x)
    # a difference that rounds to nothing reads as nothing ("-0.0%" for -4e-14)
    return "+" + s[1:] if s.startswith("-") and not any(c in "123456789" for c in s) else s


def averages_table(summary: dict) -> list[str]:
    """The Markdown lines of the per-ladder averages (summary.md; `benchmarks/tables.py` renders the README's from
    it)."""
    lines = ["| ladder | BD-rate VMAF | BD-VMAF | BD-rate PSNR | BD-PSNR (dB) | matched worst-shot rate | "
             "same, clips with > 1 shot (n) | JND1 worst shot VMAF, lowest clip | analysis s / clip | clips |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, a in summary["ladders"].items():
        lines.append(f"| {n} | {_f(a.get('bd_rate_vmaf'), '{:+.1f}%')} | {_f(a.get('bd_vmaf'), '{:+.2f}')} | "
                     f"{_f(a.get('bd_rate_psnr'), '{:+.1f}%')} | {_f(a.get('bd_psnr'), '{:+.2f}')} | "
                     f"{_f(a.get('matched_rate_diff_pct'), '{:+.1f}%')} | "
                     f"{_f(a.get('matched_rate_diff_pct_multishot'), '{:+.1f}%')} "
                     f"({a.get('n_matched_rate_diff_pct_multishot', 0)}) | "
                     f"{_f(a.get('jnd1_vmaf_worst_shot_min'), '{:.2f}')} | {_f(a.get('analysis_s'), '{:.1f}')} | "
                     f"{a.get('n_bd_rate_vmaf', 0)} |")
    return lines


def write_summary_md(path: Path, summary: dict, run: dict) -> None:
    o = run["options"]
    lines = [
        "# jndenc BD-rate benchmark", "",
        f"{run['date']} · {run['machine']['cpu']} ({run['machine']['cores']} cores) · FFmpeg {run['versions']['ffmpeg']}"
        f" · jndenc {run['versions']['jndenc']}", "",
        f"Codec {o['codec']}{' (' + o['encoder'] + ')' if o.get('encoder') else ''}, preset {o['preset']}, "
        f"fixed-CRF ladder {', '.join(f'{c:g}' for c in o['crf_ladder'])}"
        f" vs jndenc target JND {', '.join(map(str, o['targets']))}; "
        f"{'first ' + str(o['max_frames']) + ' frames of each clip' if o['max_frames'] else 'whole clips'}; "
        f"{summary['clips']} clips. BD values: `bjontegaard` {run['versions']['bjontegaard']}, "
        f"interpolation `{summary['bd_method']}`; VMAF model `{o.get('vmaf_model', VMAF_MODEL)}`; "
        "negative BD-rate = fewer bits than fixed CRF at equal quality. "
        "Matched worst-shot: bitrate of jndenc JND1 vs the fixed CRF giving the same worst-shot VMAF.", "",
    ]
    for note in summary.get("notes", []):
        lines.append(f"> note: {note}")
    if summary.get("notes"):
        lines.append("")
    lines += ["## Averages", "", *averages_table(summary)]
    lines += ["", "## Per clip", "",
              "| clip | ladder | BD-rate VMAF | BD-VMAF | BD-rate PSNR | BD-PSNR | JND1 worst-shot VMAF | matched CRF | "
              "rate vs matched |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in summary["per_clip"]:
        for n, s in c["ladders"].items():
            m = s.get("matched") or {}
            lines.append(f"| {c['clip']} | {n} | {_f(s.get('bd_rate_vmaf'), '{:+.1f}%')} | "
                         f"{_f(s.get('bd_vmaf'), '{:+.2f}')} | {_f(s.get('bd_rate_psnr'), '{:+.1f}%')} | "
                         f"{_f(s.get('bd_psnr'), '{:+.2f}')} | "
                         f"{_f(s.get('jnd1_vmaf_worst_shot', m.get('target_vmaf_worst_shot')), '{:.1f}')} | "
                         f"{_f(m.get('crf'), '{:.1f}')} | {_f(m.get('rate_diff_pct'), '{:+.1f}%')} |")
    lines += ["", "![overall RD](rd_overall.png)", ""]
    write_text_atomic(path, "\n".join(lines))


def _versions() -> dict:
    v = {"python": platform.python_version()}
    for pkg in ("jndenc", "bjontegaard", "numpy", "matplotlib", "scipy"):
        try:
            v[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            v[pkg] = None
    try:
        v["ffmpeg"] = ffmpeg_info().version
    except JndencError:
        v["ffmpeg"] = None
    return v


def git_commit() -> str | None:
    """The git commit of the jndenc that ran, where it runs from a checkout (a benchmark's rows are only comparable
    within one commit); None for an installed package."""
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                           cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return (r.stdout.strip() or None) if r.returncode == 0 else None


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = None
    try:
        import psutil  # optional: without it, run.json leaves the memory size out

        mem = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return {"cpu": cpu or "unknown", "cores": cores, "memory_gib": mem, "system": platform.platform(),
            "hostname": platform.node()}


def run_record(options: dict, clips: Sequence[Path], counters: dict, clip_times: dict, total_s: float,
               notes: list[str]) -> dict:
    """What run.json records: when, how and on what the benchmark ran, with its cache counters and timings."""
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": sys.argv,
        "options": options,
        "clips": [{"name": c.name, "path": str(c)} for c in clips],
        "versions": _versions(),
        "commit": git_commit(),
        "machine": machine(),
        "bd": {"package": "bjontegaard", "method": BD_METHOD, "min_overlap": 0,
               "rate": "video stream bitrate (kb/s): the output's video packets' bytes over its duration",
               "quality": ["vmaf_mean", "psnr_y"]},
        "counters": counters,
        "timings": {"total_s": round(total_s, 2), "per_clip_s": clip_times},
        "notes": notes,
    }


def write_results(out: Path, rows: list[dict], summary: dict, run_info: dict, t0: float) -> None:
    """results.csv, summary.json, the RD plots, summary.md and, last, run.json with the final total time
    (seconds since ``t0``, a `time.perf_counter` reading)."""
    write_csv(out / "results.csv", rows)
    write_text_atomic(out / "summary.json", json.dumps(json_safe(summary), indent=1))
    plots.rd_plots(rows, summary, out)
    write_summary_md(out / "summary.md", summary, run_info)
    run_info["timings"]["total_s"] = round(time.perf_counter() - t0, 2)
    write_text_atomic(out / "run.json", json.dumps(json_safe(run_info), indent=1))


def json_document(res: dict, out: str | os.PathLike) -> dict:
    """What ``--json`` prints: the summary, every point as results.csv has it, and the run's record."""
    # results.csv's empty cells (a fixed-CRF point has no target or margin) are nulls here
    points = [{k: (None if row.get(k) == "" else row.get(k)) for k in CSV_COLUMNS} for row in res["rows"]]
    return json_safe({"out": str(out), "summary": res["summary"], "points": points, "run": res["run"]})


def print_table(summary: dict) -> None:
    w = max([22, *map(len, summary["ladders"])])  # a longer ladder name pushed its row out of line
    print(f"{'ladder':<{w}} {'BD-rate VMAF':>12} {'BD-VMAF':>8} {'BD-rate PSNR':>12} {'matched':>8} {'worst':>6}"
          "  clips")
    for n, a in summary["ladders"].items():
        print(f"{n:<{w}} {_f(a.get('bd_rate_vmaf'), '{:+.1f}%'):>12} {_f(a.get('bd_vmaf'), '{:+.2f}'):>8} "
              f"{_f(a.get('bd_rate_psnr'), '{:+.1f}%'):>12} {_f(a.get('matched_rate_diff_pct'), '{:+.1f}%'):>8} "
              f"{_f(a.get('jnd1_vmaf_worst_shot_min'), '{:.2f}'):>6}  {a.get('n_bd_rate_vmaf', 0)}")
