"""BD-rate benchmark: jndenc ladders (target JND 1..3) against a fixed-CRF ladder.

For every clip the source is first cut to its first ``max_frames`` frames into
a lossless x264 (``-qp 0``) file, so every encode and every metric sees the
same frames. Then:

* the fixed-CRF ladder (default 18, 23, 28, 33, 38) and, for each mode
  (predict, search) and margin, the jndenc ladder over the target JND levels
  are encoded through `jndenc.encode` (both with keyframes at the shot cuts,
  so the only difference is the per-shot CRF);
* each encode is measured against the source (VMAF mean / 5th percentile /
  worst shot, PSNR-Y, SSIM; `jndenc.quality.compare`); the rate is the actual
  output file's bitrate;
* BD-rate and BD-quality come from the ``bjontegaard`` package with PCHIP
  interpolation (``method="pchip"``, ``min_overlap=0``; the overlap fraction is
  reported beside each value);
* "matched worst-shot quality": the fixed CRF whose worst-shot VMAF equals the
  jndenc JND1 encode's, found by extra integer-CRF encodes around it and
  log-rate interpolation between the two bracketing CRFs; the bitrate
  difference is jndenc vs that fixed-CRF encode.

Everything expensive is cached under ``OUT/_cache`` (one JSON per encode, keyed
by the clip's SHA-256, the frame limit and the exact encoder arguments; one per
JND analysis), so a rerun only computes what is missing, and an interrupted
run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import JndencError, UserError

VIDEO_EXT = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".264", ".h264", ".265", ".hevc", ".ts", ".m4v", ".y4m",
             ".mpg", ".mpeg"}
BD_METHOD = "pchip"
CACHE_VERSION = 1
CSV_COLUMNS = [
    "clip", "clip_sha256", "width", "height", "fps", "frames", "codec", "preset", "ladder", "mode", "target_jnd",
    "margin", "role", "crf", "crf_min", "crf_max", "bitrate_kbps", "bytes", "vmaf_mean", "vmaf_p5",
    "vmaf_worst_shot", "psnr_y", "ssim", "encode_s", "analysis_s", "cached",
]


@dataclass
class BenchOptions:
    crf_ladder: tuple[float, ...] = (18, 23, 28, 33, 38)
    targets: tuple[int, ...] = (1, 2, 3)
    margins: tuple[float, ...] = (1.0,)
    codec: str = "x264"
    preset: str = "medium"
    modes: tuple[str, ...] = ("predict", "search")
    max_frames: int | None = 60
    max_clips: int | None = 6
    thresholds: tuple[float, ...] | None = None  # search mode; None: jndenc's defaults
    weights: str | None = None
    calibration: str | None = None
    match: bool = True  # extra fixed-CRF encodes for the matched worst-shot comparison
    threads: int | None = None
    keep_encodes: bool = False
    quiet: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Counters:
    encodes: int = 0
    encode_hits: int = 0
    analyses: int = 0
    analysis_hits: int = 0


# ---------------------------------------------------------------------------- helpers
def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def list_clips(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    clips: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            clips += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in VIDEO_EXT)
        elif p.is_file():
            clips.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    if not clips:
        raise UserError("no video clips found in " + ", ".join(map(str, inputs)))
    return clips


def select_clips(clips: Sequence[Path], max_clips: int | None) -> list[Path]:
    """A deterministic, evenly spread subset (by name order) when ``max_clips`` is set."""
    clips = sorted(clips, key=lambda p: p.name)
    if not max_clips or len(clips) <= max_clips:
        return list(clips)
    idx = np.unique(np.round(np.linspace(0, len(clips) - 1, max_clips)).astype(int))
    return [clips[i] for i in idx]


class Cache:
    """One JSON file per key under ``root``; written atomically."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> dict | None:
        p = self.root / f"{key}.json"
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, rec: dict) -> dict:
        tmp = self.root / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(rec))
        os.replace(tmp, self.root / f"{key}.json")
        return rec


# ---------------------------------------------------------------------------- one clip
@dataclass
class ClipSource:
    clip: Path
    sha: str
    src: Path | None = None  # the lossless trimmed source (made on demand)
    info: dict = field(default_factory=dict)  # width, height, fps, frames, bit_depth, shots


def prepare_source(clip: Path, out: Path, max_frames: int | None, bit_depth: int) -> Path:
    """First ``max_frames`` frames of ``clip`` as lossless x264 (all encodes and metrics use it)."""
    from ..runner import run_ffmpeg

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        return out
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.mkv")
    pix = "yuv420p10le" if bit_depth > 8 else "yuv420p"
    args = ["-i", str(clip), "-map", "0:v:0", "-an", "-sn", "-dn"]
    if max_frames:
        args += ["-frames:v", str(int(max_frames))]
    args += ["-vf", f"format={pix}", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", str(tmp)]
    try:
        run_ffmpeg(args, what=f"cutting a lossless source from {clip}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def worst_shot(vmaf: np.ndarray, shots: Sequence[Sequence[int]]) -> float:
    """Lowest per-shot mean VMAF (frames outside the measured range are ignored)."""
    vals = [float(np.mean(vmaf[a:b])) for a, b in shots if a < len(vmaf)]
    return min(vals) if vals else float("nan")


def measure(enc: Path, src: Path, info: dict, threads: int | None) -> dict:
    from ..quality import compare

    q = compare(enc, src, size=(info["width"], info["height"]), bit_depth=info["bit_depth"], threads=threads)
    n = len(q.frames["vmaf"])
    if abs(n - info["frames"]) > 1:
        raise JndencError(f"{enc}: VMAF measured {n} frames, source has {info['frames']}")
    return {
        "vmaf_mean": q.pool("vmaf", "mean"),
        "vmaf_p5": q.pool("vmaf", "p5"),
        "vmaf_worst_shot": worst_shot(q.frames["vmaf"], info["shots"]),
        "psnr_y": q.pool("psnr", "mean"),
        "ssim": q.pool("ssim", "mean"),
    }


class Runner:
    """Runs (or recalls) encodes and analyses for one benchmark output folder."""

    def __init__(self, out: Path, opts: BenchOptions):
        self.out = out
        self.opts = opts
        self.cache = Cache(out / "_cache")
        self.work = out / "_work"
        self.counters = Counters()
        self.notes: list[str] = []
        self._predictor = None
        self._predictor_failed: str | None = None
        self._calib_key = sha256_file(opts.calibration) if opts.calibration else None
        self.pbar = None

    # -- clip ---------------------------------------------------------------
    def open_clip(self, clip: Path) -> ClipSource:
        sha = sha256_file(clip)
        cs = ClipSource(clip, sha)
        key = _key("clip", CACHE_VERSION, sha, self.opts.max_frames)
        rec = self.cache.get(key)
        if rec is None:
            from ..analyze import analyze
            from ..probe import probe

            bit_depth = probe(clip, count_frames=False).bit_depth
            cs.src = self._source_path(cs, bit_depth)
            prepare_source(clip, cs.src, self.opts.max_frames, bit_depth)
            info = probe(cs.src)
            a = analyze(cs.src, None, info=info)
            rec = self.cache.put(key, {"width": info.width, "height": info.height, "fps": info.fps,
                                       "frames": a.frames, "bit_depth": bit_depth,
                                       "shots": [list(s) for s in a.shots]})
        cs.info = rec
        return cs

    def _source_path(self, cs: ClipSource, bit_depth: int) -> Path:
        return self.work / "src" / f"{cs.clip.stem}-{cs.sha[:12]}-{self.opts.max_frames or 'all'}.mkv"

    def ensure_source(self, cs: ClipSource) -> Path:
        if cs.src is None or not cs.src.exists():
            cs.src = self._source_path(cs, cs.info["bit_depth"])
            prepare_source(cs.clip, cs.src, self.opts.max_frames, cs.info["bit_depth"])
        return cs.src

    def release(self, cs: ClipSource) -> None:
        if cs.src is not None:
            cs.src.unlink(missing_ok=True)
            cs.src = None

    # -- JND analysis (once per clip and mode; every target/margin reuses it) --
    def predictor(self):
        if self._predictor is None and self._predictor_failed is None:
            from ..pipeline import load_predictor

            try:
                self._predictor = load_predictor(self.opts.weights)
            except (JndencError, OSError, ImportError, ValueError) as exc:
                self._predictor_failed = f"{type(exc).__name__}: {exc}"
        return self._predictor

    def analysis(self, cs: ClipSource, mode: str) -> dict | None:
        from ..search import DEFAULT_THRESHOLDS

        thresholds = tuple(self.opts.thresholds or DEFAULT_THRESHOLDS)
        weights = self.opts.weights
        wkey = sha256_file(weights) if weights and os.path.isfile(weights) else weights
        key = _key("analysis", CACHE_VERSION, cs.sha, self.opts.max_frames, mode, self.opts.codec, self.opts.preset,
                   thresholds if mode == "search" else None, wkey if mode == "predict" else None)
        rec = self.cache.get(key)
        if rec is not None:
            self.counters.analysis_hits += 1
            return rec
        kw = {}
        if mode == "predict":
            pred = self.predictor()
            if pred is None:
                return None
            kw["predictor"] = pred
        else:
            kw["thresholds"] = thresholds
        from ..pipeline import plan as make_plan_for

        src = self.ensure_source(cs)
        t0 = time.perf_counter()
        p = make_plan_for(src, mode=mode, codec=self.opts.codec, preset=self.opts.preset, target_jnd=1, margin=0.0,
                          quiet=True, **kw)
        self.counters.analyses += 1
        return self.cache.put(key, {
            "mode": mode, "model": p.model, "frames": p.frames, "fps": p.fps,
            "shots": [[s.start_frame, s.end_frame] for s in p.shots], "jnd": [s.jnd for s in p.shots],
            "analysis_s": round(time.perf_counter() - t0, 3), "trial_encodes": p.stats.get("trial_encodes"),
        })

    # -- encodes -------------------------------------------------------------
    def _plan_options(self, **kw):
        from ..pipeline import load_calibration
        from ..planner import PlanOptions

        return PlanOptions(codec=self.opts.codec, preset=self.opts.preset,
                           x265_offsets=load_calibration(self.opts.calibration), **kw).validate()

    def fixed_plan(self, cs: ClipSource, crf: float):
        from ..planner import fixed_plan

        i = cs.info
        return fixed_plan([tuple(s) for s in i["shots"]], crf, i["frames"], i["fps"], self._plan_options())

    def jnd_plan(self, cs: ClipSource, an: dict, target: int, margin: float):
        from ..planner import make_plan

        opts = self._plan_options(target_jnd=target, margin=margin)
        return make_plan([tuple(s) for s in an["shots"]], an["jnd"], an["frames"], an["fps"], opts, mode=an["mode"],
                         model=an["model"])

    def point(self, cs: ClipSource, plan) -> dict:
        """Encode ``plan`` and measure it, or recall the cached result."""
        args = plan.ffmpeg_args()
        key = _key("encode", CACHE_VERSION, cs.sha, self.opts.max_frames, args)
        rec = self.cache.get(key)
        if rec is not None:
            self.counters.encode_hits += 1
            return dict(rec, cached=True)
        from ..encode import encode

        src = self.ensure_source(cs)
        enc_dir = self.work / "enc"
        enc_dir.mkdir(parents=True, exist_ok=True)
        dst = enc_dir / f"{key}.mp4"
        if self.pbar is not None:
            self.pbar.set_postfix_str(f"{cs.clip.name} crf {plan.base_crf:g}")
        res = encode(src, dst, plan=plan, overwrite=True, quiet=True, threads=self.opts.threads, validate=False)
        m = measure(dst, src, cs.info, self.opts.threads)
        size = dst.stat().st_size
        dur = cs.info["frames"] / cs.info["fps"]
        crfs = [z.crf for z in plan.zones]
        rec = {"bytes": size, "bitrate_kbps": size * 8 / 1000 / dur, "encode_s": res.timings["encode_s"],
               "crf": plan.base_crf, "crf_min": min(crfs), "crf_max": max(crfs), **m}
        if not self.opts.keep_encodes:
            dst.unlink(missing_ok=True)
        self.counters.encodes += 1
        self.cache.put(key, rec)
        return dict(rec, cached=False)


# ---------------------------------------------------------------------------- BD metrics
def clean_curve(rate: Sequence[float], dist: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Sort by rate, drop duplicates and points that break monotonicity (PCHIP needs strictly increasing x)."""
    pts = sorted({(float(r), float(d)) for r, d in zip(rate, dist) if math.isfinite(r) and math.isfinite(d) and r > 0})
    keep: list[tuple[float, float]] = []
    for r, d in pts:
        if keep and (r <= keep[-1][0] or d <= keep[-1][1]):
            continue
        keep.append((r, d))
    return np.array([p[0] for p in keep]), np.array([p[1] for p in keep])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    span = max(a.max(), b.max()) - min(a.min(), b.min())
    return float(max(hi - lo, 0.0) / span) if span > 0 else 0.0


def bd_pair(rate_anchor, dist_anchor, rate_test, dist_test, method: str = BD_METHOD) -> dict:
    """BD-rate (%) and BD-quality (metric units) of test vs anchor; NaN where undefined."""
    import bjontegaard as bd

    ra, da = clean_curve(rate_anchor, dist_anchor)
    rt, dt = clean_curve(rate_test, dist_test)
    out = {"bd_rate": float("nan"), "bd_quality": float("nan"), "overlap_quality": float("nan"),
           "overlap_rate": float("nan"), "points_anchor": len(ra), "points_test": len(rt)}
    if len(ra) < 2 or len(rt) < 2:
        return out
    out["overlap_quality"] = overlap(da, dt)
    out["overlap_rate"] = overlap(np.log10(ra), np.log10(rt))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if out["overlap_quality"] > 0:
            out["bd_rate"] = float(bd.bd_rate(ra, da, rt, dt, method=method, require_matching_points=False,
                                              min_overlap=0))
        if out["overlap_rate"] > 0:
            out["bd_quality"] = float(bd.bd_psnr(ra, da, rt, dt, method=method, require_matching_points=False,
                                                 min_overlap=0))
    return out


def _interp_log_rate(x0, r0, x1, r1, x) -> float:
    if x1 == x0:
        return float(r0)
    t = (x - x0) / (x1 - x0)
    return float(10 ** (math.log10(r0) + t * (math.log10(r1) - math.log10(r0))))


def matched_crf(points: dict[float, dict], target: float) -> dict | None:
    """Fixed CRF (fractional) whose worst-shot VMAF equals ``target``, and its interpolated bitrate.

    ``points``: CRF -> record. Uses the two nearest CRFs that bracket the
    target (worst-shot VMAF falls as CRF grows); None when no pair brackets it.
    """
    crfs = sorted(points)
    best = None
    for a, b in zip(crfs, crfs[1:]):
        va, vb = points[a]["vmaf_worst_shot"], points[b]["vmaf_worst_shot"]
        if va >= target >= vb and va != vb:
            t = (va - target) / (va - vb)
            crf = a + t * (b - a)
            rate = _interp_log_rate(va, points[a]["bitrate_kbps"], vb, points[b]["bitrate_kbps"], target)
            cand = {"crf": crf, "bitrate_kbps": rate, "bracket": [a, b]}
            if best is None or (b - a) < (best["bracket"][1] - best["bracket"][0]):
                best = cand
        elif va == vb == target:
            return {"crf": a, "bitrate_kbps": points[a]["bitrate_kbps"], "bracket": [a, a]}
    return best


# ---------------------------------------------------------------------------- run
def _ladder_name(mode: str, margin: float) -> str:
    return f"jndenc-{mode} m{margin:g}"


def run_clip(r: Runner, cs: ClipSource) -> tuple[list[dict], dict]:
    """All points of one clip; returns CSV rows and the per-clip summary."""
    o = r.opts
    base = {"clip": cs.clip.name, "clip_sha256": cs.sha[:16], "width": cs.info["width"], "height": cs.info["height"],
            "fps": round(cs.info["fps"], 3), "frames": cs.info["frames"], "codec": o.codec, "preset": o.preset}
    rows: list[dict] = []
    fixed: dict[float, dict] = {}
    for crf in o.crf_ladder:
        rec = r.point(cs, r.fixed_plan(cs, float(crf)))
        fixed[float(crf)] = rec
        rows.append({**base, "ladder": "fixed-crf", "mode": "crf", "target_jnd": "", "margin": "", "role": "ladder",
                     "analysis_s": 0.0, **rec})
        _tick(r)
    summary: dict = {"clip": cs.clip.name, "ladders": {}}
    for mode in o.modes:
        an = r.analysis(cs, mode)
        if an is None:
            _tick(r, len(o.margins) * len(o.targets))
            continue
        for margin in o.margins:
            name = _ladder_name(mode, margin)
            pts = {}
            for t in o.targets:
                rec = r.point(cs, r.jnd_plan(cs, an, t, margin))
                pts[t] = rec
                rows.append({**base, "ladder": name, "mode": mode, "target_jnd": t, "margin": margin,
                             "role": "ladder", "analysis_s": an["analysis_s"], **rec})
                _tick(r)
            s = ladder_summary(fixed, pts)
            if o.match and 1 in pts:
                m = match_worst_shot(r, cs, fixed, pts[1])
                if m is not None:
                    for crf, rec in m.pop("extra").items():
                        rows.append({**base, "ladder": "fixed-crf", "mode": "crf", "target_jnd": "", "margin": "",
                                     "role": "match", "analysis_s": 0.0, **rec})
                    s["matched"] = m
            summary["ladders"][name] = s
    # fixed points that match encodes added: dedupe rows by (ladder, role, crf)
    seen, out = set(), []
    for row in rows:
        k = (row["ladder"], row["target_jnd"], row["margin"], row["crf"], row["role"])
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out, summary


def _tick(r: Runner, n: int = 1) -> None:
    if r.pbar is not None:
        r.pbar.update(n)


def ladder_summary(fixed: dict[float, dict], pts: dict[int, dict]) -> dict:
    fr = [fixed[c]["bitrate_kbps"] for c in sorted(fixed)]
    tr = [pts[t]["bitrate_kbps"] for t in sorted(pts)]
    out = {}
    for metric in ("vmaf_mean", "psnr_y"):
        short = "vmaf" if metric == "vmaf_mean" else "psnr"
        b = bd_pair(fr, [fixed[c][metric] for c in sorted(fixed)], tr, [pts[t][metric] for t in sorted(pts)])
        out[f"bd_rate_{short}"] = b["bd_rate"]
        out[f"bd_{short}"] = b["bd_quality"]
        out[f"overlap_{short}"] = b["overlap_quality"]
        out[f"points_{short}"] = b["points_test"]
    return out


def match_worst_shot(r: Runner, cs: ClipSource, fixed: dict[float, dict], jnd1: dict,
                     crf_range: tuple[int, int] = (0, 51)) -> dict | None:
    """Encode integer CRFs around the match until two adjacent CRFs bracket JND1's worst-shot VMAF."""
    target = jnd1["vmaf_worst_shot"]
    pts = dict(fixed)
    extra: dict[float, dict] = {}

    def enc(c: int) -> dict:
        if float(c) not in pts:
            rec = r.point(cs, r.fixed_plan(cs, float(c)))
            pts[float(c)] = extra[float(c)] = rec
        return pts[float(c)]

    # integer bisection, assuming worst-shot VMAF falls with CRF: lo passes (>= target), hi fails
    lo_lim, hi_lim = crf_range
    passing = [c for c, v in pts.items() if v["vmaf_worst_shot"] >= target]
    lo = max(passing) if passing else None
    failing = [c for c, v in pts.items() if v["vmaf_worst_shot"] < target and (lo is None or c > lo)]
    hi = min(failing) if failing else None
    while lo is None:
        c = int(math.floor(hi)) - 4 if hi is not None else lo_lim
        c = max(lo_lim, c)
        if enc(c)["vmaf_worst_shot"] >= target:
            lo = float(c)
        elif c <= lo_lim:
            break
        else:
            hi = float(c)
    while lo is not None and hi is None:
        c = min(hi_lim, int(math.ceil(lo)) + 4)
        if enc(c)["vmaf_worst_shot"] < target:
            hi = float(c)
        elif c >= hi_lim:
            break
        else:
            lo = float(c)
    while lo is not None and hi is not None and hi - lo > 1:
        mid = int(math.floor((lo + hi) / 2))
        if mid <= lo:
            mid = int(math.floor(lo)) + 1
        if mid >= hi:
            break
        if enc(mid)["vmaf_worst_shot"] >= target:
            lo = float(mid)
        else:
            hi = float(mid)
    m = matched_crf(pts, target)
    if m is None:
        return {"target_vmaf_worst_shot": target, "crf": float("nan"), "bitrate_kbps": float("nan"),
                "jndenc_bitrate_kbps": jnd1["bitrate_kbps"], "rate_diff_pct": float("nan"),
                "note": "no fixed CRF in 0..51 brackets the target", "extra": extra}
    return {"target_vmaf_worst_shot": target, "crf": round(m["crf"], 3), "bitrate_kbps": m["bitrate_kbps"],
            "jndenc_bitrate_kbps": jnd1["bitrate_kbps"],
            "rate_diff_pct": (jnd1["bitrate_kbps"] / m["bitrate_kbps"] - 1) * 100, "bracket": m["bracket"],
            "extra": extra}


def aggregate(per_clip: list[dict]) -> dict:
    """Averages over clips for each ladder (NaNs skipped; ``n_*`` says how many clips counted)."""
    names = sorted({n for c in per_clip for n in c["ladders"]})
    out = {}
    for n in names:
        vals: dict[str, list[float]] = {}
        for c in per_clip:
            s = c["ladders"].get(n)
            if not s:
                continue
            for k in ("bd_rate_vmaf", "bd_vmaf", "bd_rate_psnr", "bd_psnr"):
                vals.setdefault(k, []).append(s.get(k, float("nan")))
            if "matched" in s:
                vals.setdefault("matched_rate_diff_pct", []).append(s["matched"]["rate_diff_pct"])
        agg = {}
        for k, v in vals.items():
            v = [x for x in v if x is not None and math.isfinite(x)]
            agg[k] = float(np.mean(v)) if v else float("nan")
            agg[f"n_{k}"] = len(v)
        out[n] = agg
    return out


# ---------------------------------------------------------------------------- outputs
def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})


def _f(x, fmt="{:+.1f}") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else fmt.format(x)


def write_summary_md(path: Path, summary: dict, run: dict) -> None:
    o = run["options"]
    lines = [
        "# jndenc BD-rate benchmark", "",
        f"{run['date']} · {run['machine']['cpu']} ({run['machine']['cores']} cores) · FFmpeg {run['versions']['ffmpeg']}"
        f" · jndenc {run['versions']['jndenc']}", "",
        f"Codec {o['codec']}, preset {o['preset']}, fixed-CRF ladder {', '.join(f'{c:g}' for c in o['crf_ladder'])}"
        f" vs jndenc target JND {', '.join(map(str, o['targets']))}; "
        f"{'first ' + str(o['max_frames']) + ' frames of each clip' if o['max_frames'] else 'whole clips'}; "
        f"{summary['clips']} clips. BD values: `bjontegaard` {run['versions']['bjontegaard']}, "
        f"interpolation `{summary['bd_method']}`; negative BD-rate = fewer bits than fixed CRF at equal quality. "
        "Matched worst-shot: bitrate of jndenc JND1 vs the fixed CRF giving the same worst-shot VMAF.", "",
    ]
    for note in summary.get("notes", []):
        lines.append(f"> note: {note}")
    if summary.get("notes"):
        lines.append("")
    lines += ["## Averages", "",
              "| ladder | BD-rate VMAF | BD-VMAF | BD-rate PSNR | BD-PSNR (dB) | matched worst-shot rate | clips |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for n, a in summary["ladders"].items():
        lines.append(f"| {n} | {_f(a.get('bd_rate_vmaf'), '{:+.1f}%')} | {_f(a.get('bd_vmaf'), '{:+.2f}')} | "
                     f"{_f(a.get('bd_rate_psnr'), '{:+.1f}%')} | {_f(a.get('bd_psnr'), '{:+.2f}')} | "
                     f"{_f(a.get('matched_rate_diff_pct'), '{:+.1f}%')} | {a.get('n_bd_rate_vmaf', 0)} |")
    lines += ["", "## Per clip", "",
              "| clip | ladder | BD-rate VMAF | BD-VMAF | BD-rate PSNR | BD-PSNR | JND1 worst-shot VMAF | matched CRF | "
              "rate vs matched |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in summary["per_clip"]:
        for n, s in c["ladders"].items():
            m = s.get("matched") or {}
            lines.append(f"| {c['clip']} | {n} | {_f(s.get('bd_rate_vmaf'), '{:+.1f}%')} | "
                         f"{_f(s.get('bd_vmaf'), '{:+.2f}')} | {_f(s.get('bd_rate_psnr'), '{:+.1f}%')} | "
                         f"{_f(s.get('bd_psnr'), '{:+.2f}')} | {_f(m.get('target_vmaf_worst_shot'), '{:.1f}')} | "
                         f"{_f(m.get('crf'), '{:.1f}')} | {_f(m.get('rate_diff_pct'), '{:+.1f}%')} |")
    lines += ["", "![overall RD](rd_overall.png)", ""]
    path.write_text("\n".join(lines))


def _versions() -> dict:
    from importlib import metadata

    from ..ffbin import ffmpeg_info

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
        import psutil

        mem = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return {"cpu": cpu or "unknown", "cores": cores, "memory_gib": mem, "system": platform.platform(),
            "hostname": platform.node()}


def run(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, opts: BenchOptions = BenchOptions()) -> dict:
    """Run the benchmark; writes results.csv, summary.md/json, plots and run.json into ``out``."""
    from ..progress import bar
    from . import plots

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if opts.codec not in ("x264", "x265"):
        raise UserError(f"codec must be x264 or x265, not {opts.codec!r}")
    bad = [m for m in opts.modes if m not in ("predict", "search")]
    if bad:
        raise UserError(f"unknown mode(s) {', '.join(bad)} (predict, search)")
    if len(opts.crf_ladder) < 2:
        raise UserError("the fixed-CRF ladder needs at least two CRFs")
    all_clips = list_clips(inputs)
    clips = select_clips(all_clips, opts.max_clips)
    r = Runner(out, opts)
    rows: list[dict] = []
    per_clip: list[dict] = []
    clip_times = {}
    per_clip_points = len(opts.crf_ladder) + len(opts.modes) * len(opts.margins) * len(opts.targets)
    with bar(len(clips) * per_clip_points, "bdrate", opts.quiet, unit="point") as pb:
        r.pbar = pb
        for clip in clips:
            tc = time.perf_counter()
            cs = r.open_clip(clip)
            try:
                crow, csum = run_clip(r, cs)
            finally:
                r.release(cs)
            rows += crow
            per_clip.append(csum)
            clip_times[clip.name] = round(time.perf_counter() - tc, 2)
            if not opts.quiet and not sys.stderr.isatty():
                print(f"bdrate: {clip.name} done in {clip_times[clip.name]:.1f}s", file=sys.stderr)
        r.pbar = None
    notes = []
    if "predict" in opts.modes and r._predictor_failed:
        notes.append(f"predict mode skipped: no JND model ({r._predictor_failed})")
    if len(clips) < len(all_clips):
        notes.append(f"{len(clips)} of {len(all_clips)} clips (--max-clips {opts.max_clips}); "
                     "use --max-clips 0 for all")
    summary = {"bd_method": BD_METHOD, "clips": len(clips), "ladders": aggregate(per_clip), "per_clip": per_clip,
               "notes": notes}
    # flat keys for the headline numbers of each ladder, e.g. "jndenc-search m1.bd_rate_vmaf"
    run_info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": sys.argv,
        "options": opts.to_dict(),
        "clips": [{"name": c.name, "path": str(c)} for c in clips],
        "versions": _versions(),
        "machine": machine(),
        "bd": {"package": "bjontegaard", "method": BD_METHOD, "min_overlap": 0,
               "rate": "actual output file bitrate (kb/s)", "quality": ["vmaf_mean", "psnr_y"]},
        "counters": asdict(r.counters),
        "timings": {"total_s": round(time.perf_counter() - t0, 2), "per_clip_s": clip_times},
        "notes": notes,
    }
    write_csv(out / "results.csv", rows)
    (out / "summary.json").write_text(json.dumps(_json_safe(summary), indent=1))
    plots.rd_plots(rows, summary, out)
    write_summary_md(out / "summary.md", summary, run_info)
    run_info["timings"]["total_s"] = round(time.perf_counter() - t0, 2)
    (out / "run.json").write_text(json.dumps(_json_safe(run_info), indent=1))
    shutil.rmtree(r.work / "enc", ignore_errors=True) if not opts.keep_encodes else None
    for n in notes:
        if not opts.quiet:
            print(f"bdrate: note: {n}", file=sys.stderr)
    return {"summary": summary, "run": run_info, "rows": rows}


def _json_safe(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return _json_safe(x.item())
    return x


# ---------------------------------------------------------------------------- command line
def _nums(s: str, kind=float) -> tuple:
    try:
        return tuple(kind(x) for x in s.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {s!r}") from None


def parser() -> argparse.ArgumentParser:
    d = BenchOptions()
    p = argparse.ArgumentParser(
        prog="bdrate", description="BD-rate of jndenc (target JND 1..3) vs a fixed-CRF ladder, with plots.",
        epilog="Defaults keep a run on ../shared/clips to ~20-30 min on 2 cores "
               f"({d.max_clips} clips, first {d.max_frames} frames). Full run: --max-clips 0 --max-frames 0.")
    p.add_argument("inputs", nargs="+", metavar="CLIP_OR_DIR")
    p.add_argument("--out", required=True, help="results folder (also holds the cache)")
    p.add_argument("--crf-ladder", type=_nums, default=d.crf_ladder, help="fixed CRFs (default 18,23,28,33,38)")
    p.add_argument("--targets", type=lambda s: _nums(s, int), default=d.targets, help="target JND levels (1,2,3)")
    p.add_argument("--margins", type=_nums, default=d.margins, help="jndenc margins, one ladder each (1)")
    p.add_argument("--codec", choices=["x264", "x265"], default=d.codec)
    p.add_argument("--preset", default=d.preset)
    p.add_argument("--modes", type=lambda s: tuple(x.strip() for x in s.split(",") if x.strip()),
                   default=d.modes, help="predict,search")
    p.add_argument("--max-frames", type=int, default=d.max_frames, help="first N frames per clip; 0 = all")
    p.add_argument("--max-clips", type=int, default=d.max_clips, help="evenly spread subset; 0 = all")
    p.add_argument("--thresholds", type=_nums, default=None, help="search-mode VMAF thresholds T1,T2,T3")
    p.add_argument("--weights", default=None, help="model weights for predict mode")
    p.add_argument("--calibration", default=None, help="x265 offset table (jndenc calibrate)")
    p.add_argument("--no-match", action="store_true", help="skip the matched worst-shot quality encodes")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--keep-encodes", action="store_true", help="keep encoded files in OUT/_work/enc")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def options_from_args(a: argparse.Namespace) -> BenchOptions:
    return BenchOptions(crf_ladder=tuple(a.crf_ladder), targets=tuple(a.targets), margins=tuple(a.margins),
                        codec=a.codec, preset=a.preset, modes=tuple(a.modes), max_frames=a.max_frames or None,
                        max_clips=a.max_clips or None, thresholds=a.thresholds, weights=a.weights,
                        calibration=a.calibration, match=not a.no_match, threads=a.threads,
                        keep_encodes=a.keep_encodes, quiet=a.quiet)


def print_table(summary: dict) -> None:
    print(f"{'ladder':<22} {'BD-rate VMAF':>12} {'BD-VMAF':>8} {'BD-rate PSNR':>12} {'matched':>8}  clips")
    for n, a in summary["ladders"].items():
        print(f"{n:<22} {_f(a.get('bd_rate_vmaf'), '{:+.1f}%'):>12} {_f(a.get('bd_vmaf'), '{:+.2f}'):>8} "
              f"{_f(a.get('bd_rate_psnr'), '{:+.1f}%'):>12} {_f(a.get('matched_rate_diff_pct'), '{:+.1f}%'):>8}  "
              f"{a.get('n_bd_rate_vmaf', 0)}")


def main(argv: Sequence[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        res = run(a.inputs, a.out, options_from_args(a))
    except JndencError as exc:
        print(f"bdrate: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        print("bdrate: interrupted (finished points are cached; rerun to resume)", file=sys.stderr)
        return 130
    if not a.quiet:
        print_table(res["summary"])
        print(f"results in {a.out}/ (summary.md, results.csv, summary.json, rd_*.png, run.json)")
    return 0
