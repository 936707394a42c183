#!/usr/bin/env python3
"""Two older choices made on clips of today's test split, made again without them.

    python benchmarks/experiments/without_test.py --out benchmarks/results/choices_without_test.json

No encode runs here: both studies' committed JSONs keep every shot's or clip's rows, so each choice is
recomputed on the rows of clips outside today's test split (``weights/training_clips.json``), by the rule it
was first made with:

* guided mode's trial window (``benchmarks/results/trials.json``, `benchmarks/trials.py`): of the windows
  shorter than the shot, the one whose trial VMAF lies nearest the shot's VMAF in the final encode (mean
  absolute gap over the shots longer than the window);
* the shot detector (``benchmarks/shots.json``, `benchmarks/shots.py`): recall on the cuts labelled by eye, then
  the fewest false cuts, on the shared clips with labels and on the generated clips.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import shots as S  # noqa: E402
import trials as T  # noqa: E402
from jndenc.bench.report import git_commit  # noqa: E402

WINDOWS = ("middle2", "middle4", "spread3")  # the trial windows guided mode chose among ("whole" is no window)
SHIPPED_WINDOW, SHIPPED_DETECTOR = "middle4", "content"


def test_clips() -> set[str]:
    clips = json.loads((ROOT / "weights" / "training_clips.json").read_text())["clips"]
    return {name for name, c in clips.items() if c["split"] == "test"}


def window_choice(doc: dict, exclude: set[str]) -> dict:
    rows = [r for r in doc["shots"] if r["clip"] not in exclude]
    summary = T.summarize(rows)
    long = {w: summary[f"{w}/long"] for w in WINDOWS if f"{w}/long" in summary}
    return {"clips": sorted({r["clip"] for r in rows}), "shots": len(rows), "long": long,
            "chosen": min(long, key=lambda w: long[w]["mean_abs_gap"])}


def detector_scores(rows: list[dict], detector: str) -> dict:
    """`benchmarks/shots.py`'s scores of ``detector`` on these clips, false cuts of both kinds summed."""
    s = S.scores(rows, detector)
    return {"true_cuts": s["true_cuts"], "hits": s["hits"],
            "false_cuts": s["false_cuts_in_cut_clips"] + s["false_cuts_on_motion"]}


def detector_choice(doc: dict, exclude: set[str]) -> dict:
    labelled = [r for r in doc["shared"] if r["truth"] is not None and r["clip"] not in exclude]
    rows = labelled + doc["generated"]
    scores = {d: detector_scores(rows, d) for d in S.DETECTORS}
    best = max(scores, key=lambda d: (scores[d]["hits"] / scores[d]["true_cuts"], -scores[d]["false_cuts"]))
    return {"labelled_clips": sorted(r["clip"] for r in labelled), "generated_clips": len(doc["generated"]),
            "scores": scores, "chosen": best}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    test = test_clips()
    win = window_choice(json.loads((ROOT / "benchmarks" / "results" / "trials.json").read_text()), test)
    det = detector_choice(json.loads((ROOT / "benchmarks" / "shots.json").read_text()), test)
    doc = {"commit": git_commit(), "about": __doc__.split("\n\n")[1].strip().replace("\n", " "),
           # named by count: the clips are today's test split (weights/training_clips.json)
           "left_out": {"split": "test", "clips": len(test)},
           "trial_window": win | {"shipped": SHIPPED_WINDOW, "same": win["chosen"] == SHIPPED_WINDOW},
           "shot_detector": det | {"shipped": SHIPPED_DETECTOR, "same": det["chosen"] == SHIPPED_DETECTOR}}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"trial window: {win['chosen']} (shipped {SHIPPED_WINDOW}); detector: {det['chosen']} "
          f"(shipped {SHIPPED_DETECTOR})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
