"""BD-rate / BD-quality of a jndenc ladder against the fixed-CRF ladder, and matched-CRF interpolation: numbers only.

BD values come from the ``bjontegaard`` package with PCHIP interpolation
(``min_overlap=0``; the overlap fraction is reported beside each value).
`matched_crf` interpolates between measured points; the extra encodes that
find those points are `match.match_worst_shot`'s job.
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np

BD_METHOD = "pchip"


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
    import bjontegaard as bd  # the optional "bench" extra: importing this module must not need it

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


def ladder_summary(fixed: dict[float, dict], pts: dict[int, dict]) -> dict:
    """BD-rate and BD-quality (VMAF mean, PSNR-Y) of one jndenc ladder against the fixed-CRF ladder."""
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
                # a one-shot clip has nothing to redistribute (0% by construction): the multi-shot mean apart
                if c.get("shots", 0) > 1:
                    vals.setdefault("matched_rate_diff_pct_multishot", []).append(s["matched"]["rate_diff_pct"])
            for k in ("jnd1_vmaf_worst_shot", "analysis_s"):
                if k in s:
                    vals.setdefault(k, []).append(s[k])
        agg = {}
        for k, v in vals.items():
            v = [x for x in v if x is not None and math.isfinite(x)]
            agg[k] = float(np.mean(v)) if v else float("nan")
            agg[f"n_{k}"] = len(v)
        # per-shot quality is judged by its worst case, not its mean
        worst = [x for x in vals.get("jnd1_vmaf_worst_shot", []) if x is not None and math.isfinite(x)]
        if worst:
            agg["jnd1_vmaf_worst_shot_min"] = float(min(worst))
        out[n] = agg
    return out
