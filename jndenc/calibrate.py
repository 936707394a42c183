"""`jndenc calibrate`: where another encoder's quality scale sits against x264's CRF at equal VMAF.

Two fits, one per way the planner uses them. x265 (`calibrate`): an offset table for the planner, which plans
x265 directly. SVT-AV1, libaom-av1, rav1e and VP9 (`calibrate_scale`): a line, codec CRF = a + b * x264 CRF,
which moves the model's x264 estimate onto the encoder's scale for the shot loop's first attempt (the shipped
line is `jndenc/assets/codec_scales.json`); `jndenc encode --calibration FILE` reads either, and `load` checks
that a file calibrates the codec it is used with.

For each clip (first ``max_frames`` frames, cut to a lossless source so both
encoders see the same frames) x264 is encoded at each CRF of ``x264_crfs`` and
x265 on a grid of CRFs spanning them; VMAF (mean) is measured for every
encode. For each x264 CRF c, the x265 CRF with the same VMAF is found by
linear interpolation on that clip's x265 curve, and ``offset = x265_crf - c``.
The table keeps the median offset over clips at each c. The output JSON is
what ``--calibration FILE`` (`load_offsets`) reads::

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
from .fileio import write_text_atomic
from .output import check_side_file
from .media.clips import list_clips, prepare_source, sha256_file
from .media.ffbin import ffmpeg_info
from .media.probe import probe
from .media.quality import compare
from .media.runner import run_ffmpeg
from .media.segments import ENCODER_CHOICES, ENCODERS, QUALITY_RANGE, SegmentCodec, codec_args
from .search import SearchOptions, trial_encode

DEFAULT_X264_CRFS = (18, 23, 28, 33, 38)
# the CRF grids of the scale fit, wide enough that every curve crosses VMAF 90-98 on ordinary content
SCALE_GRIDS = {"x264": range(14, 45, 4), "av1": range(16, 64, 6), "vp9": range(16, 64, 6),
               "libaom-av1": range(16, 64, 6), "librav1e": range(30, 231, 25)}  # rav1e: its quantizer index, 0-255
# VMAF levels where the two curves are matched: around the targets users set (JND1 = 94)
SCALE_LEVELS = (90.0, 92.0, 94.0, 96.0, 98.0)
SCALE_CODECS = ("av1", "vp9")  # the loop-only codecs, whose start is moved along a line


def grids(codec: str, encoder: str | None = None, x264_crfs: Sequence[float] | None = None,
          codec_crfs: Sequence[float] | None = None) -> dict[str, list[float]]:
    """The CRF grids a calibration of ``codec`` starts from, keyed ``x264`` and the codec's own key (the given
    ones, else the defaults: x265's table at `DEFAULT_X264_CRFS` on `x265_grid`, which grows where a clip's curve
    needs it; a scale on `SCALE_GRIDS`)."""
    if codec == "x265":
        x264 = _in_range([float(c) for c in (x264_crfs or DEFAULT_X264_CRFS)], "libx264", "--x264-crfs")
        return {"x264": x264, "x265": _in_range([float(c) for c in (codec_crfs or x265_grid(x264))], "libx265",
                                                "--codec-crfs")}
    key = scale_key(codec, encoder)
    return {"x264": _in_range([float(c) for c in (x264_crfs or SCALE_GRIDS["x264"])], "libx264", "--x264-crfs"),
            key: _in_range([float(c) for c in (codec_crfs or SCALE_GRIDS[key])], encoder or ENCODERS[codec],
                           "--codec-crfs")}


def _in_range(crfs: list[float], encoder: str, flag: str) -> list[float]:
    # outside the encoder's scale an x264 CRF failed as an internal IndexError, a codec CRF as "FFmpeg refused
    # the option ... (an --enc option?)" after the encodes before it
    lo, hi = QUALITY_RANGE[encoder]
    bad = [c for c in crfs if not lo <= c <= hi]
    if bad:
        raise UserError(f"{flag}: {encoder}'s scale is {lo}..{hi}, not {','.join(f'{c:g}' for c in bad)}")
    return crfs


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
    x264_crfs: Sequence[float] | None = None,  # None: DEFAULT_X264_CRFS
    x265_crfs: Sequence[float] | None = None,
    preset: str = "medium",
    max_frames: int | None = 60,
    threads: int | None = None,
    on_encode: Callable[[str], None] | None = None,
) -> dict:
    """Measure and fit; writes JSON to ``out`` when given and returns the same dict."""
    t0 = time.perf_counter()
    paths = list_clips(clips)
    x264_crfs, grid = grids("x265", x264_crfs=x264_crfs, codec_crfs=x265_crfs).values()
    if out is not None:  # found only when the fit was written, after every encode, it threw the run away
        check_side_file(out, "-o")
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
        write_text_atomic(out, json.dumps(result, indent=1))
    return result


def scale_key(codec: str, encoder: str | None = None) -> str:
    """The key of a scale: the codec for its default encoder, the encoder's name for the others (``av1``,
    ``libaom-av1``)."""
    name = encoder or ENCODERS[codec]
    if name not in ENCODER_CHOICES.get(codec, ()):
        raise UserError(f"--encoder {name} does not encode {codec}")
    return codec if name == ENCODERS[codec] else name


def segment_codec(key: str, bit_depth: int, preset: str = "medium") -> SegmentCodec:
    """The encoder behind a scale key (or ``x264``) at ``preset`` (an x264 name, mapped to its own speed)."""
    for codec, names in ENCODER_CHOICES.items():
        if key == codec or key in names:
            return SegmentCodec(codec, preset, 1, bit_depth, "" if key == codec else key)
    raise UserError(f"unknown codec or encoder {key!r}")


def fit_scale(curves: dict[str, dict[str, list]], key: str, levels: Sequence[float] = SCALE_LEVELS) -> dict | None:
    """Least-squares line codec CRF = a + b * x264 CRF through the (x264 CRF, codec CRF) pairs of equal VMAF at
    each of ``levels`` on each clip (``curves``: per clip, per key, [[crf, vmaf], ...]); None without two
    distinct pairs."""
    pairs = []
    for per_key in curves.values():
        for level in levels:
            a = match_crf(*zip(*per_key["x264"]), level)
            b = match_crf(*zip(*per_key[key]), level)
            if a is not None and b is not None:
                pairs.append((a, b))
    if len({p[0] for p in pairs}) < 2:
        return None
    x, y = np.array(pairs).T
    slope, icpt = np.polyfit(x, y, 1)
    return {"x264_to_codec": [round(float(icpt), 3), round(float(slope), 4)], "points": len(pairs),
            "mae_of_fit": round(float(np.mean(np.abs(np.polyval([slope, icpt], x) - y))), 3)}


def calibrate_scale(
    clips: Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    *,
    codec: str = "av1",
    encoder: str | None = None,
    preset: str = "medium",
    max_frames: int | None = 120,
    x264_crfs: Sequence[float] | None = None,
    codec_crfs: Sequence[float] | None = None,
    on_encode: Callable[[str], None] | None = None,
) -> dict:
    """Measure x264 and ``codec`` (run by ``encoder``, at jndenc's own segment settings and ``preset``) on CRF
    grids over each clip's first ``max_frames`` frames (a lossless cut, VMAF of every frame), fit the line; writes
    JSON to ``out`` when given (what ``--calibration FILE`` reads) and returns the same dict."""
    if codec not in SCALE_CODECS:
        raise UserError(f"--codec {codec}: a scale is fitted for {', '.join(SCALE_CODECS)}; x265 has its offset table")
    key = scale_key(codec, encoder)
    planned = grids(codec, encoder, x264_crfs, codec_crfs)
    if min(len(g) for g in planned.values()) < 2:
        raise UserError("need at least two CRFs on each grid to interpolate")
    if out is not None:  # found only when the fit was written, after every encode, it threw the run away
        check_side_file(out, "-o")
    t0 = time.perf_counter()
    curves: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory(prefix="jndenc-scale-") as work:
        for clip in list_clips(clips):
            curves[clip.name] = scale_curves(clip, planned, Path(work), preset=preset, max_frames=max_frames,
                                             on_encode=on_encode)
    fit = fit_scale(curves, key)
    if fit is None:
        raise UserError(f"no VMAF level between {SCALE_LEVELS[0]:g} and {SCALE_LEVELS[-1]:g} was crossed by both "
                        "curves; widen the grids or use other clips")
    result = {"codec": codec, "encoder": key if key != codec else ENCODERS[codec], "key": key, **fit,
              "method": "per clip and VMAF level (90-98, mean over every frame), the x264 and the codec CRF reaching "
                        "it by linear interpolation on each curve; least squares over every pair",
              "preset": preset, "frames": max_frames, "clips": list(curves), "curves": curves,
              "ffmpeg": ffmpeg_info().version, "python": platform.python_version(),
              "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
              "seconds": round(time.perf_counter() - t0, 1)}
    if out is not None:
        write_text_atomic(out, json.dumps(result, indent=1))
    return result


def scale_curves(clip: Path, grids: dict[str, Sequence[float]], work: Path, *, preset: str = "medium",
                 max_frames: int | None = 120, on_encode: Callable[[str], None] | None = None) -> dict[str, list]:
    """Per key of ``grids`` (``x264``, a codec or an encoder name), [[crf, vmaf], ...] over its grid: the clip's
    first ``max_frames`` frames cut losslessly into ``work``, each encode scored on every frame."""
    info = probe(clip, count_frames=False)
    src = prepare_source(clip, work / "src.mkv", max_frames, info.bit_depth)
    curves = {}
    try:
        for key, grid in grids.items():
            sc = segment_codec(key, info.bit_depth, preset)
            pts = []
            for crf in grid:
                enc = work / f"{key}.mkv"
                run_ffmpeg(["-i", str(src), "-map", "0:V:0", *codec_args(sc, crf), str(enc)], what=sc.name)
                pts.append([float(crf), round(compare(enc, src, features=(), threads=1).pool("vmaf"), 3)])
                enc.unlink(missing_ok=True)
                if on_encode:
                    on_encode(f"{clip.name} {sc.name} crf {crf:g}")
            curves[key] = pts
    finally:
        src.unlink(missing_ok=True)
    return curves


def load_scale(path: str | os.PathLike, codec: str, encoder: str | None = None) -> tuple[float, float]:
    """(a, b) from a `calibrate_scale` file, refused unless it calibrates ``codec`` under ``encoder``."""
    data = _read(path)
    want = scale_key(codec, encoder)
    if "x265_offsets" in data:
        raise UserError(f"{path}: calibrates x265, not {want} (run `jndenc calibrate --codec {codec}`)")
    try:
        a, b = (float(v) for v in data["x264_to_codec"])
        key = str(data["key"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: not a calibration file ({type(exc).__name__}: {exc})") from None
    if key != want:
        raise UserError(f"{path}: calibrates {key}, not {want}")
    if not b > 0:
        raise UserError(f"{path}: its scale falls with x264's CRF (slope {b:g}); measure it again on more clips")
    return a, b


def load_offsets(path: str | os.PathLike) -> tuple[tuple[float, float], ...]:
    """The x265 offset table (``(x264 CRF, offset)`` pairs) from a `calibrate` file; an AV1 or VP9 scale is
    refused here, where plans are x264's or x265's."""
    data = _read(path)
    if "x264_to_codec" in data:
        raise UserError(f"{path}: calibrates {data.get('key', 'another encoder')}, not x264 or x265 "
                        f"(use it with --codec {data.get('codec', 'av1')})")
    try:
        table = tuple((float(a), float(b)) for a, b in data["x265_offsets"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: not a calibration file ({type(exc).__name__}: {exc})") from None
    if not table:
        raise UserError(f"{path}: calibration table is empty")
    return table


def _read(path: str | os.PathLike) -> dict:
    if not Path(path).is_file():  # said "not a calibration file (FileNotFoundError: ...)"
        raise UserError(f"{path}: no such calibration file")
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a calibration file ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a calibration file (a JSON object was expected)")
    return data
