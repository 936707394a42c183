"""`jndenc calibrate`: measure the x265 CRF that matches x264's VMAF, fit the planner's offset table.

For each clip (first ``max_frames`` frames, cut to a lossless source so both
encoders see the same frames) x264 is encoded at each CRF of ``x264_crfs`` and
x265 on a grid of CRFs spanning them; VMAF (mean) is measured for every
encode. For each x264 CRF c, the x265 CRF with the same VMAF is found by
linear interpolation on that clip's x265 curve, and ``offset = x265_crf - c``.
The table keeps the median offset over clips at each c. The output JSON is
what ``--calibration FILE`` (`jndenc.pipeline.load_calibration`) reads::

    {"x265_offsets": [[18.0, -2.46], [23.0, -1.25], ...], "per_clip": {...}, ...}

(the numbers are the measured medium-preset table, benchmarks/calibration_x265.json:
at equal VMAF x265's CRF scale sits close to x264's, not 4-5 steps above it).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import UserError
from .media.clips import list_clips, prepare_source, sha256_file
from .media.ffbin import ffmpeg_info
from .media.probe import probe
from .media.quality import compare
from .search import SearchOptions, trial_encode

DEFAULT_X264_CRFS = (18, 23, 28, 33, 38)


def x265_grid(x264_crfs: Sequence[float], step: int = 4, above: int = 10) -> list[int]:
    """x265 CRFs to try: from min(x264) - step to max(x264) + ``above`` (x265 needs higher CRFs)."""
    lo = max(0, int(min(x264_crfs)) - step)
    hi = min(51, int(max(x264_crfs)) + above)
    grid = list(range(lo, hi + 1, step))
    if grid[-1] != hi:
        grid.append(hi)
    return grid


def match_crf(x265_crfs: Sequence[float], x265_vmaf: Sequence[float], target: float) -> float | None:
    """x265 CRF where the (CRF -> VMAF) curve reaches ``target``; None outside the measured range."""
    c = np.asarray(x265_crfs, dtype=float)
    v = np.asarray(x265_vmaf, dtype=float)
    order = np.argsort(c)
    c, v = c[order], v[order]
    # make VMAF non-increasing in CRF (tiny non-monotone wiggles near 100 would break interpolation)
    v = np.minimum.accumulate(v)
    if not (v[-1] <= target <= v[0]):
        return None
    # np.interp needs increasing x: interpolate CRF as a function of VMAF on the reversed curve
    vv, cc = v[::-1], c[::-1]
    keep = np.concatenate([[True], np.diff(vv) > 0])
    return float(np.interp(target, vv[keep], cc[keep]))


def fit_table(per_clip: dict[str, dict[str, float | None]], x264_crfs: Sequence[float]) -> list[list[float]]:
    """Median offset over clips at each x264 CRF (CRFs without any match are left out)."""
    table = []
    for c in x264_crfs:
        offs = [d.get(str(float(c))) for d in per_clip.values()]
        offs = [o for o in offs if o is not None]
        if offs:
            table.append([float(c), round(float(np.median(offs)), 2)])
    return table


def calibrate(
    clips: Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    *,
    x264_crfs: Sequence[float] = DEFAULT_X264_CRFS,
    x265_crfs: Sequence[float] | None = None,
    preset: str = "medium",
    max_frames: int | None = 60,
    threads: int | None = None,
    on_encode: Callable[[str], None] | None = None,
) -> dict:
    """Measure and fit; writes JSON to ``out`` when given and returns the same dict."""
    t0 = time.perf_counter()
    paths = list_clips(clips)
    x264_crfs = [float(c) for c in x264_crfs]
    grid = [float(c) for c in (x265_crfs or x265_grid(x264_crfs))]
    if len(grid) < 2:
        raise UserError("need at least two x265 CRFs to interpolate")
    per_clip: dict[str, dict] = {}
    measurements: dict[str, dict] = {}
    tmp = Path(tempfile.mkdtemp(prefix="jndenc-calib-"))
    try:
        for clip in paths:
            info = probe(clip, count_frames=False)
            src = prepare_source(clip, tmp / f"src_{clip.stem}.mkv", max_frames, info.bit_depth)

            def vmaf(codec: str, crf: float) -> float:
                enc = tmp / f"{codec}_{crf:g}.mp4"
                trial_encode(src, crf, SearchOptions(codec=codec, preset=preset), enc, threads or 0)
                q = compare(enc, src, bit_depth=info.bit_depth, threads=threads)
                enc.unlink(missing_ok=True)
                if on_encode:
                    on_encode(f"{clip.name} {codec} crf {crf:g}")
                return q.pool("vmaf", "mean")

            v264 = {c: vmaf("x264", c) for c in x264_crfs}
            v265 = {c: vmaf("x265", c) for c in grid}
            # extend the grid (steps of 4) until it spans every x264 VMAF, or hits CRF 0 / 51
            while max(v264.values()) > max(v265.values()) and min(v265) > 0:
                c = max(0.0, min(v265) - 4)
                v265[c] = vmaf("x265", c)
            while min(v264.values()) < min(v265.values()) and max(v265) < 51:
                c = min(51.0, max(v265) + 4)
                v265[c] = vmaf("x265", c)
            offs = {}
            for c, v in v264.items():
                m = match_crf(list(v265), list(v265.values()), v)
                offs[str(c)] = None if m is None else round(m - c, 3)
            per_clip[clip.name] = offs
            measurements[clip.name] = {"sha256": sha256_file(clip), "x264_vmaf": {str(k): round(v, 3) for k, v in v264.items()},
                                       "x265_vmaf": {str(k): round(v, 3) for k, v in v265.items()}}
            src.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = fit_table(per_clip, x264_crfs)
    if not table:
        raise UserError("no x264 CRF could be matched on the x265 grid; widen --x265-crfs")
    result = {
        "x265_offsets": table,
        "method": "per clip: x265 CRF with equal VMAF (mean, vmaf_v0.6.1) by linear interpolation over an x265 CRF "
                  "grid; offset = x265 CRF - x264 CRF; table = median over clips",
        "preset": preset,
        "x264_crfs": x264_crfs,
        "x265_crfs": grid,  # initial grid; per-clip extensions are in measurements
        "max_frames": max_frames,
        "per_clip_offsets": per_clip,
        "measurements": measurements,
        "ffmpeg": ffmpeg_info().version,
        "python": platform.python_version(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=1))
    return result
