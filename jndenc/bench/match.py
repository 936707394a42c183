"""Matched worst-shot quality: extra fixed-CRF encodes until two adjacent integer CRFs bracket a target.

The fixed CRF whose worst-shot VMAF equals the jndenc JND1 encode's is found
by encoding integer CRFs around it (`points.Runner.fixed_point`, cached like every
other point) and interpolating between the bracketing pair (`bd.matched_crf`).
"""
from __future__ import annotations

import math

from .bd import matched_crf
from .points import ClipSource, Runner


def match_worst_shot(r: Runner, cs: ClipSource, fixed: dict[float, dict], jnd1: dict,
                     crf_range: tuple[int, int] = (0, 51)) -> dict | None:
    """Encode integer CRFs around the match until two adjacent CRFs bracket JND1's worst-shot VMAF."""
    target = jnd1["vmaf_worst_shot"]
    pts = dict(fixed)
    extra: dict[float, dict] = {}

    def enc(c: int) -> dict:
        if float(c) not in pts:
            rec = r.fixed_point(cs, float(c))
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
                "note": f"no fixed CRF in {lo_lim}..{hi_lim} brackets the target", "extra": extra}
    return {"target_vmaf_worst_shot": target, "crf": round(m["crf"], 3), "bitrate_kbps": m["bitrate_kbps"],
            "jndenc_bitrate_kbps": jnd1["bitrate_kbps"],
            "rate_diff_pct": (jnd1["bitrate_kbps"] / m["bitrate_kbps"] - 1) * 100, "bracket": m["bracket"],
            "extra": extra}
