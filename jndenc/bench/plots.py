"""RD plots for the benchmarks (matplotlib with the Agg backend: no display needed)."""
from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import UserError
from ..fileio import replaced


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


# a PNG text entry every bench plot carries: a rerun removes only stale plots with it, never a user's own rd_*.png
MARK = ("Source", "jndenc bench")


def _save(fig, path: Path) -> None:
    """The figure as a PNG under a temp name, then renamed: an interrupt mid-save leaves no cut-short image."""
    with replaced(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png", metadata=dict([MARK]))


_MARKERS = ["o", "s", "^", "D", "v", "P"]


def _ladders(rows):
    by = defaultdict(list)
    for r in rows:
        if r["role"] == "ladder":
            by[r["ladder"]].append(r)
    return by


def clip_plot(clip: str, rows: list[dict], path: Path, summary: dict | None = None) -> Path:
    """Bitrate (log) vs VMAF mean and PSNR-Y for one clip: fixed-CRF ladder and each jndenc ladder."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    by = _ladders(rows)
    match_rows = [r for r in rows if r["role"] == "match"]
    for ax, metric, label in ((axes[0], "vmaf_mean", "VMAF (mean)"), (axes[1], "psnr_y", "PSNR-Y (dB)")):
        for i, (name, pts) in enumerate(sorted(by.items(), key=lambda kv: kv[0] != "fixed-crf")):
            pts = sorted(pts, key=lambda r: r["bitrate_kbps"])
            x = [p["bitrate_kbps"] for p in pts]
            y = [p[metric] for p in pts]
            if name == "fixed-crf":
                ax.plot(x, y, "-", color="0.35", marker="x", label="fixed CRF")
                for p in pts:
                    ax.annotate(f"{p['crf']:g}", (p["bitrate_kbps"], p[metric]), fontsize=7, color="0.35",
                                textcoords="offset points", xytext=(3, -9))
            else:
                ax.plot(x, y, "--", marker=_MARKERS[i % len(_MARKERS)], label=name)
                for p in pts:
                    ax.annotate(f"JND{p['target_jnd']}", (p["bitrate_kbps"], p[metric]), fontsize=7,
                                textcoords="offset points", xytext=(3, 4))
        if match_rows:
            ax.scatter([r["bitrate_kbps"] for r in match_rows], [r[metric] for r in match_rows], marker="+",
                       color="0.6", label="fixed CRF (matching encodes)", zorder=1)
        ax.set_xscale("log")
        ax.set_xlabel("video bitrate (kb/s, the stream's own bytes)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    title = clip
    if summary:
        bits = [f"{n}: BD-rate(VMAF) {s['bd_rate_vmaf']:+.1f}%" for n, s in summary.get("ladders", {}).items()
                if s.get("bd_rate_vmaf") is not None and math.isfinite(s["bd_rate_vmaf"])]
        if bits:
            title += "\n" + "; ".join(bits)
    fig.suptitle(title, fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def overall_plot(rows: list[dict], summary: dict, path: Path) -> Path:
    """Left: RD curves averaged over clips (geometric-mean bitrate, mean VMAF per ladder point).
    Right: per-clip BD-rate (VMAF) for each jndenc ladder with its mean."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    by = _ladders(rows)
    ax = axes[0]
    for i, (name, pts) in enumerate(sorted(by.items(), key=lambda kv: kv[0] != "fixed-crf")):
        key = "crf" if name == "fixed-crf" else "target_jnd"
        groups = defaultdict(list)
        for p in pts:
            groups[p[key]].append(p)
        n_clips = len({p["clip"] for p in pts})
        xs, ys, labels = [], [], []
        for k, g in groups.items():
            if len(g) != n_clips:  # average only points every clip has
                continue
            xs.append(float(np.exp(np.mean(np.log([p["bitrate_kbps"] for p in g])))))
            ys.append(float(np.mean([p["vmaf_mean"] for p in g])))
            labels.append(f"{k:g}" if name == "fixed-crf" else f"JND{k}")
        order = np.argsort(xs)
        xs, ys, labels = [xs[j] for j in order], [ys[j] for j in order], [labels[j] for j in order]
        style = dict(color="0.35", marker="x", linestyle="-") if name == "fixed-crf" else \
            dict(marker=_MARKERS[i % len(_MARKERS)], linestyle="--")
        ax.plot(xs, ys, label="fixed CRF" if name == "fixed-crf" else name, **style)
        for x, y, l in zip(xs, ys, labels):
            ax.annotate(l, (x, y), fontsize=7, textcoords="offset points", xytext=(3, 4))
    ax.set_xscale("log")
    ax.set_xlabel("bitrate (kb/s, geometric mean over clips)")
    ax.set_ylabel("VMAF (mean over clips)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"average RD, {summary.get('clips', '?')} clips", fontsize=9)

    ax = axes[1]
    ladders = list(summary.get("ladders", {}))
    clips = [c["clip"] for c in summary.get("per_clip", [])]
    width = 0.8 / max(1, len(ladders))
    for j, n in enumerate(ladders):
        vals = []
        for c in summary.get("per_clip", []):
            v = c["ladders"].get(n, {}).get("bd_rate_vmaf")
            vals.append(v if v is not None and math.isfinite(v) else np.nan)
        x = np.arange(len(clips)) + j * width
        ax.bar(x, vals, width, label=n)
        mean = summary["ladders"][n].get("bd_rate_vmaf")
        if mean is not None and math.isfinite(mean):
            ax.axhline(mean, linestyle=":", color=f"C{j}", linewidth=1)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(clips)) + width * (len(ladders) - 1) / 2)
    ax.set_xticklabels(clips, rotation=40, ha="right", fontsize=7)
    ax.set_ylabel("BD-rate, VMAF (%)\n< 0: fewer bits than fixed CRF")
    ax.set_title(f"per clip (dotted: mean; BD interpolation {summary.get('bd_method', 'pchip')})", fontsize=9)
    if ladders:
        ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


OVERALL = "overall"  # rd_overall.png, the average over clips


def plot_names(clips: Iterable[str | os.PathLike]) -> dict[str, str]:
    """Each clip's RD plot by its file name: ``rd_<stem>.png``, or ``rd_<file name>.png`` where that stem is another
    clip's too (``x.mp4``, ``x.mkv``) or the average's (``overall.mp4``), so no plot is drawn over another while the
    usual clip keeps the name earlier runs gave it. Clips whose plots would still meet are a `UserError` naming
    them (checked before the first encode: the plots are drawn after the last)."""
    given = {Path(c).name: c for c in clips}
    names = {n: _safe(Path(n).stem) for n in given}
    while True:
        clashes = _clashes(names)
        longer = [n for group in clashes for n in group if names[n] != _safe(n)]
        if not longer:
            break
        for n in longer:
            names[n] = _safe(n)
    if clashes:
        group = [str(given[n]) for n in clashes[0]]
        what = f"clips {' and '.join(group)}" if len(group) > 1 else f"clip {group[0]} and the average over clips"
        raise UserError(f"{what} would share the plot rd_{names[clashes[0][0]]}.png; rename one")
    return {n: f"rd_{v}.png" for n, v in names.items()}


def _clashes(names: dict[str, str]) -> list[list[str]]:
    """The groups of clips given one plot name, or the average's."""
    by = defaultdict(list)
    for n, v in names.items():
        by[v].append(n)
    return [g for v, g in by.items() if len(g) > 1 or v == OVERALL]


def rd_plots(rows: list[dict], summary: dict, out: Path) -> list[Path]:
    """One plot per clip (`plot_names`) and ``rd_overall.png``; the RD plots an earlier run left for other clips
    are removed, so the folder's plots are this run's only."""
    out = Path(out)
    written = []
    per = {c["clip"]: c for c in summary.get("per_clip", [])}
    by_clip = defaultdict(list)
    for r in rows:
        by_clip[r["clip"]].append(r)
    files = plot_names([*per, *by_clip])
    for clip, rs in by_clip.items():
        written.append(clip_plot(clip, rs, out / files[clip], per.get(clip)))
    if rows:
        written.append(overall_plot(rows, summary, out / f"rd_{OVERALL}.png"))
    prune_plots(out, written)
    return written


def prune_plots(out: Path, keep: Iterable[Path]) -> list[Path]:
    """Remove the ``rd_*.png`` in ``out`` that are not in ``keep`` and carry the bench's `MARK`; returns them."""
    kept = {Path(p).name for p in keep}
    stale = [p for p in sorted(Path(out).glob("rd_*.png")) if p.name not in kept and _is_bench_plot(p)]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def _is_bench_plot(path: Path) -> bool:
    from PIL import Image  # matplotlib's own dependency

    try:
        with Image.open(path) as im:
            return im.format == "PNG" and im.info.get(MARK[0]) == MARK[1]
    except (OSError, ValueError):  # not an image, or unreadable: not ours to remove
        return False


def scatter_plot(points: dict[str, list[tuple[float, float]]], path: Path, title: str, xlabel: str,
                 ylabel: str) -> Path:
    """Generic predicted-vs-truth scatter (accuracy benchmark), one series per label, with y = x."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 5))
    lo, hi = math.inf, -math.inf
    for i, (label, pts) in enumerate(points.items()):
        if not pts:
            continue
        x, y = zip(*pts)
        ax.scatter(x, y, s=14, alpha=0.7, marker=_MARKERS[i % len(_MARKERS)], label=label)
        lo, hi = min(lo, *x, *y), max(hi, *x, *y)
    if math.isfinite(lo):
        ax.plot([lo, hi], [lo, hi], color="0.5", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path
