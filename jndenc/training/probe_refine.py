"""Second centred probes for the labelled shots, their measured error, and the margins probe mode uses for them.

    python -m jndenc.training.probe_refine DATASET CLIPS_DIR [CLIPS_DIR ...] --probe-weights W.keras \
        --cv weights/model_card_cv5.json --test weights/model_card_test.json --out weights/probe_refine.json

A shot whose first centred probe read more than `REFINE_VMAF` from 94 gets a
second probe at the probe model's estimate (`second_probe_crfs`), and its JND1
becomes the crossing of the line through the two points (`refine_jnd1`). For
the held-out estimates this needs, the shots' probe-model predictions come
from `benchmarks/model_card.py`'s outputs: out-of-fold for the train and valid
splits (``--cv``), the shipped model's for the test split (``--test``), so a
second probe is centred as inference would centre it on a clip the model never
saw. The second probes are cached (``--cache``, default
``DATASET/probe_second.json``). The margins (per share p, the p-quantile of the
two-probe estimate's over-prediction on the cross-validation shots) go into
the probe weights' metadata (``refine``; run `jndenc export` afterwards), the
evaluation on both splits into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from ..media.probe_encode import SHIPPED_PROBE
from ..models.probe import REFINE_SLOPE, REFINE_VMAF, refine_jnd1, second_probe_crfs
from .probe_features import load_cache, probe_dataset, read_journal
from .probe_fit import margin_table
from .shots import shot_key


def _rows(per_shot: Sequence[dict], ends: dict, first: dict, second: dict | None, setting: str) -> list[dict]:
    out = []
    for s in per_shot:
        k = shot_key(s["clip"], s["start_frame"], ends[(s["clip"], s["start_frame"])])
        q1 = first.get(k, {}).get(setting)
        if q1 is None:
            continue
        (c2,) = second_probe_crfs([q1["crf"]], [q1["vmaf"]], [s["probe_model"][0]])
        q2 = (second or {}).get(k, {}).get(setting)
        out.append({"key": k, "label": float(s["label"][0]), "model": float(s["probe_model"][0]), "first": q1, "c2": c2,
                    "second": q2 if (q2 is not None and c2 is not None and int(q2["crf"]) == c2) else None})
    return out


def estimates(rows: Sequence[dict]) -> np.ndarray:
    """JND1 per row: the two-probe estimate where the shot has a second probe, the model's elsewhere."""
    return np.array([refine_jnd1(r["first"]["crf"], r["first"]["vmaf"], r["second"]["crf"], r["second"]["vmaf"])
                     if r["second"] else r["model"] for r in rows])


def summary(rows: Sequence[dict], est: np.ndarray, margin: dict[str, float]) -> dict:
    y = np.array([r["label"] for r in rows])
    two = np.array([r["second"] is not None for r in rows])
    m = np.array([r["model"] for r in rows])
    out = {"shots": len(rows), "two_probe_shots": int(two.sum())}
    for name, p, sel in (("model", m, two), ("two_probe", est, two), ("all_model", m, np.ones_like(two)),
                         ("all_refined", est, np.ones_like(two))):
        e = p[sel] - y[sel]
        out[name] = {"mae": round(float(np.abs(e).mean()), 3), "over_1": round(float((e > 1).mean()), 3),
                     "over_2": round(float((e > 2).mean()), 3), "max_over": round(float(e.max()), 2)}
    e2 = est[two] - y[two]
    out["coverage_two_probe"] = {p: round(float((e2 <= v + 1e-9).mean()), 3) for p, v in margin.items()}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--probe-weights", type=Path, required=True, help="its sidecar gains `refine`")
    ap.add_argument("--probe-cache", type=Path, default=None, help="first probes (default DATASET/probe_features.json)")
    ap.add_argument("--cache", type=Path, default=None, help="second probes (default DATASET/probe_second.json)")
    ap.add_argument("--cv", type=Path, required=True, help="model_card.py --cv output (out-of-fold predictions)")
    ap.add_argument("--test", type=Path, required=True, help="model_card.py test-split output")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    from ..models.io import read_metadata, write_metadata

    setting = SHIPPED_PROBE.key()
    first = load_cache(args.probe_cache or args.dataset / "probe_features.json")["shots"]
    cache = args.cache or args.dataset / "probe_second.json"
    ends = {(r["clip"], r["start_frame"]): r["end_frame"] for r in read_journal(args.dataset)}
    per = {name: json.loads(path.read_text())["per_shot"] for name, path in (("cv", args.cv), ("test", args.test))}
    centre = {r["key"]: r["model"] for rows in (_rows(p, ends, first, None, setting) for p in per.values())
              for r in rows if r["c2"] is not None}
    second = probe_dataset(args.dataset, args.clips, [SHIPPED_PROBE], cache, centre=centre)["shots"]
    rows = {name: _rows(p, ends, first, second, setting) for name, p in per.items()}
    est = {name: estimates(r) for name, r in rows.items()}
    cv_two = np.array([r["second"] is not None for r in rows["cv"]])
    y_cv = np.array([r["label"] for r in rows["cv"]])
    margin = margin_table(est["cv"][cv_two] - y_cv[cv_two])
    res = {"setting": setting, "vmaf_distance": REFINE_VMAF, "slope_range": list(REFINE_SLOPE), "margin": margin,
           "margin_source": "quantiles of the two-probe JND1 over-prediction on the cross-validation shots probed "
                            "twice (second probes centred on out-of-fold probe-model estimates)",
           "cv": summary(rows["cv"], est["cv"], margin), "test": summary(rows["test"], est["test"], margin),
           # per shot, the JND1 probe mode ends with (benchmarks/confidence.py simulates plans from these)
           "per_shot": {name: [{"clip": r["key"].split("|")[0], "start_frame": int(r["key"].split("|")[1]),
                                "two_probe": r["second"] is not None, "jnd1": round(float(e), 3)}
                               for r, e in zip(rows[name], est[name])] for name in rows},
           "command": list(sys.argv)}
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    meta = dict(read_metadata(args.probe_weights) or {})
    meta["refine"] = {k: res[k] for k in ("vmaf_distance", "slope_range", "margin", "margin_source")}
    write_metadata(args.probe_weights, meta)
    print(json.dumps({k: res[k] for k in ("margin", "cv", "test")}, indent=1))  # per_shot: in --out
    return 0


if __name__ == "__main__":
    sys.exit(main())
