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
(`--effort fast`'s and the loop's start) and of probe mode, and the share of shots the fast path's margin
covers (planned CRF = ceil(estimate - margin) at or under the label, `jndenc.planner.crf_for`; the frame
model's margin at ``--confidence 0.9`` is one width for every shot, the shipped model's ``margin_auto``).
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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


def stats(shots: list[dict], margin: float | None = None) -> dict:
    out = {"clips": len({r["clip"] for r in shots}), "shots": len(shots)}
    for m in METHODS:
        err = [r[m][0] - r["label"][0] for r in shots if r.get(m)]
        if err:
            out[m] = {"mean_error": round(sum(err) / len(err), 2), "mae": round(sum(map(abs, err)) / len(err), 2)}
    if margin is not None:
        covered = [math.ceil(r["model"][0] - margin) <= r["label"][0] for r in shots if r.get("model")]
        out["fast_covered"] = round(sum(covered) / len(covered), 3) if covered else None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    ct = json.loads((ROOT / "benchmarks" / "data" / "content_types.json").read_text())
    types = ct["clips"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    doc = {"commit": commit, "about": __doc__.split("\n\n")[1].strip().replace("\n", " "), "types": ct["types"],
           "sets": {}}
    # the margin `--effort fast` plans with: the shipped model's, one width for every shot
    margin = float(json.loads((ROOT / "weights" / "jndenc_compact.tflite.json").read_text())["margin_auto"]["0.9"])
    doc["fast_margin"] = margin
    for key, rel, what in SETS:
        per_shot = json.loads((ROOT / rel).read_text())["per_shot"]
        by_type = rows(per_shot, types)
        doc["sets"][key] = {"what": what, "source": rel,
                            "all": stats([r for t in by_type.values() for r in t], margin),
                            "by_type": {t: stats(by_type[t], margin) for t in ct["types"] if by_type.get(t)}}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    json.dump(doc["sets"], sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
