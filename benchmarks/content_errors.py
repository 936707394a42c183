#!/usr/bin/env python3
"""The model's JND1 error cut by content type: where does the start miss, and in which direction?

    python benchmarks/content_errors.py --out benchmarks/results/content_errors.json

Reads the per-shot rows the model card was built from (``weights/model_card_cv5.json``: out-of-fold
predictions of the 5-fold cross-validation over the train and valid splits; ``weights/model_card_test.json``:
the shipped model on the test split) and the content type of each shared clip
(``benchmarks/data/content_types.json``, tagged by eye before any error was cut by it). Only shots of real
clips judge: derived crops and scalings (``clip~crop50``) and generated clips are left out. Error is predicted
minus label, in x264 CRF: negative means the model predicts too low a CRF (spends bytes), positive too high
(risks a visible loss). Per type and set: clips, shots, mean error and mean absolute error of the frame model
(the loop's start) and of probe mode (`--effort fast`'s estimate), and the share of shots `--effort fast`'s
plan covers: probe mode at fast's ``--confidence`` (0.7), planned CRF = ceil(JND1 - margin) at or under the
label (`jndenc.planner.crf_for`), and the share at most one CRF step above it. Its margins: in CV calibrated on
the other folds (`benchmarks/confidence.py`'s ``oof_plans``), on the test split the shipped probe weights'
(``margin_z`` times the shot's spread; shots probed twice, ``probe_refine.json``, the two-probe margin).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from confidence import AUTO, oof_plans, probe_inputs  # noqa: E402
from jndenc.bench.report import git_commit  # noqa: E402
from jndenc.effort import FAST_CONFIDENCE, FAST_MODE  # noqa: E402
from jndenc.models.probe import probe_margins  # noqa: E402
from jndenc.planner import crf_for  # noqa: E402
SETS = (("cv", "weights/model_card_cv5.json", "train + valid, 5-fold CV out of fold"),
        ("test", "weights/model_card_test.json", "test split, shipped model"))
METHODS = ("model", "probe_model")


def rows(per_shot: list[dict], types: dict[str, str]) -> dict[str, list[dict]]:
    """Per content type, the shots of real (not derived, not generated) clips."""
    out: dict[str, list[dict]] = defaultdict(list)
    for r in per_shot:
        t = types.get(r["clip"])
        if t is not None:  # derived (~) and generated clips have no type
            out[t].append(r)
    return out


def stats(shots: list[dict], fast: dict[tuple[str, int], float]) -> dict:
    """Clips, shots, each method's mean error and MAE, and the shares of `--effort fast`'s planned CRFs
    (``fast``, by clip and start frame) at or under the label and at most one step above it."""
    out = {"clips": len({r["clip"] for r in shots}), "shots": len(shots)}
    for m in METHODS:
        err = [r[m][0] - r["label"][0] for r in shots if r.get(m)]
        if err:
            out[m] = {"mean_error": round(sum(err) / len(err), 2), "mae": round(sum(map(abs, err)) / len(err), 2)}
    over = [fast[(r["clip"], r["start_frame"])] - r["label"][0] for r in shots if (r["clip"], r["start_frame"]) in fast]
    if over:
        out["fast_covered"] = round(sum(o <= 0 for o in over) / len(over), 3)
        out["fast_within_1"] = round(sum(o <= 1 for o in over) / len(over), 3)
    return out


def fast_plans(key: str, per_shot: list[dict], refine: dict, probe_meta: dict) -> dict[tuple[str, int], float]:
    """`--effort fast`'s planned CRF per shot: out of fold in CV, with the shipped probe weights' margins on the
    test split."""
    shots = [r for r in per_shot if r.get("probe_model") and r.get("probe_spread")]
    refined, two = probe_inputs(shots, refine["per_shot"][key])
    if key == "cv":
        plan = oof_plans(shots, FAST_CONFIDENCE, refined, two)[FAST_MODE]
    else:
        margins = probe_margins([r["probe_spread"] for r in shots], two, probe_meta["margin_z"],
                                probe_meta["refine"]["margin"], FAST_CONFIDENCE)  # the product's rule
        plan = np.array([crf_for([j], AUTO, m, calibrated=True) for j, m in zip(refined, margins)])
    return {(r["clip"], r["start_frame"]): float(c) for r, c in zip(shots, plan)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    ct = json.loads((ROOT / "benchmarks" / "data" / "content_types.json").read_text())
    types = ct["clips"]
    doc = {"commit": git_commit(), "about": __doc__.split("\n\n")[1].strip().replace("\n", " "),
           "types": ct["types"], "sets": {}, "fast": {"mode": FAST_MODE, "confidence": FAST_CONFIDENCE}}
    refine = json.loads((ROOT / "weights" / "probe_refine.json").read_text())
    probe_meta = json.loads((ROOT / "weights" / "jndenc_probe.tflite.json").read_text())
    for key, rel, what in SETS:
        per_shot = json.loads((ROOT / rel).read_text())["per_shot"]
        fast = fast_plans(key, per_shot, refine, probe_meta)
        by_type = rows(per_shot, types)
        doc["sets"][key] = {"what": what, "source": rel,
                            "all": stats([r for t in by_type.values() for r in t], fast),
                            "by_type": {t: stats(by_type[t], fast) for t in ct["types"] if by_type.get(t)}}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    json.dump(doc["sets"], sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
