#!/usr/bin/env python3
"""Could fast's margin grow where the frame model is unsure? Which per-shot signal, of those the fast path has
or could have cheaply, tracks the size of the frame model's JND1 error (out-of-fold, cross-validation rows of
the model card; no encode).

    python benchmarks/margin_signals.py --out benchmarks/results/margin_signals.json

Signals: the frame model's disagreement with each cheaper predictor the card fits on the same folds (the
training mean, SI/TI regression, SI/TI + size regression), the gap between its JND2 and JND1 heads, and its
JND1 estimate itself; for contrast the probe model's per-shot spread, the signal probe mode's margin scales
with. Reported: Pearson r of each signal with the absolute error and with the signed error, and how much of
the error variance a margin that follows it could explain (r squared).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "weights" / "model_card_cv5.json"


def signals(rows: list[dict]) -> dict[str, np.ndarray]:
    m = np.array([r["model"][0] for r in rows])
    out = {f"distance of the frame model from the {k.replace('_', ' ')}": np.abs(m - np.array([r[k][0] for r in rows]))
           for k in ("mean_predictor", "siti_regression", "siti_size_regression")}
    out["frame model JND2 - JND1"] = np.array([r["model"][1] - r["model"][0] for r in rows])
    out["frame model JND1 estimate"] = m
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--card", type=Path, default=CARD)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    card = json.loads(args.card.read_text())
    rows = card["per_shot"]
    err = np.array([r["model"][0] - r["label"][0] for r in rows])
    table = []
    for name, x in signals(rows).items():
        r_abs = float(np.corrcoef(np.abs(err), x)[0, 1])
        table.append({"signal": name, "r_abs_error": round(r_abs, 3),
                      "r_signed_error": round(float(np.corrcoef(err, x)[0, 1]), 3), "r2_abs": round(r_abs ** 2, 3)})
    probe = [(r["probe_model"][0] - r["label"][0], r["probe_spread"]) for r in rows
             if r.get("probe_spread") is not None]
    if probe:
        pe, ps = (np.array(v, float) for v in zip(*probe))
        r_abs = float(np.corrcoef(np.abs(pe), ps)[0, 1])
        table.append({"signal": "probe model's per-shot spread (against the probe model's error)",
                      "r_abs_error": round(r_abs, 3), "r_signed_error": round(float(np.corrcoef(pe, ps)[0, 1]), 3),
                      "r2_abs": round(r_abs ** 2, 3)})
    doc = {"source": str(args.card.relative_to(ROOT)) if args.card.is_relative_to(ROOT) else str(args.card),
           "evaluation": card.get("evaluation"), "shots": len(rows),
           "frame_model_mae": round(float(np.abs(err).mean()), 3), "signals": table}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print("\n".join(f"{t['signal']}: r {t['r_abs_error']:+.2f} with the error's size" for t in table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
