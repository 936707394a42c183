#!/usr/bin/env python3
"""Which clips did each committed result read, by split? The evidence behind "nothing was chosen on the test split".

    python benchmarks/provenance.py            # the table, as weights/MODEL_CARD.md shows it
    python benchmarks/provenance.py --check    # exit 1 if a result that chose something read a test clip

Every committed result (``benchmarks/results/``, ``benchmarks/shots.json``, the shipped calibrations and the
model card's JSON in ``weights/``) has a role here: a **choice** (a default, rule, setting or model was chosen
from it), a **model** result (training data and the model card's held-out measurements) or a **report** (it
measures the product; the test split belongs here). The clips each one read are found in the JSON itself (any
string naming a shared clip, a derived copy counting for its parent) and counted by the split that
``weights/training_clips.json`` gives them. A choice that read a test clip is listed in ``KNOWN`` with what
happened, or ``--check`` fails: a new experiment run on the test split cannot land unnoticed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHOICE, MODEL, REPORT = "choice", "model", "report"
# path -> (role, what it chose or measures)
ROLES: dict[str, tuple[str, str]] = {
    "weights/model_card_cv5.json": (MODEL, "frame and probe models, `--margin auto` (5-fold CV over train + valid)"),
    "weights/model_card_cv5_cnn.json": (MODEL, "the CNN correction left off (CV)"),
    "weights/model_card_test.json": (REPORT, "the models' held-out error"),
    "weights/training_clips.json": (MODEL, "the splits themselves"),
    "weights/jndenc_compact.keras.json": (MODEL, "the shipped frame model's training shots"),
    "weights/jndenc_compact.tflite.json": (MODEL, "its LiteRT copy"),
    "weights/probe_refine.json": (MODEL, "probe mode's second probe and its margins (fitted on CV rows; test rows "
                                         "reported)"),
    "weights/probe_cost.json": (REPORT, "what a probe costs"),
    "weights/predict_vs_search.json": (REPORT, "predict against the oracle on one clip"),
    "benchmarks/shots.json": (CHOICE, "the shot detector"),
    "benchmarks/calibration_x265.json": (CHOICE, "x265's CRF offsets"),
    "jndenc/assets/codec_scales.json": (CHOICE, "each codec's start on its own scale"),
    "benchmarks/results/trials.json": (CHOICE, "guided mode's 4 s trial window"),
    "benchmarks/results/choices_without_test.json": (CHOICE, "guided's trial window and the shot detector, made "
                                                             "again without the test clips"),
    "benchmarks/results/sampling.json": (CHOICE, "the loop's VMAF sampling"),
    "benchmarks/results/vmaf_subsample.json": (CHOICE, "every 3rd frame scored in balanced"),
    "benchmarks/results/vmaf_stride_long.json": (CHOICE, "VMAF stride on long shots"),
    "benchmarks/results/codec_speeds.json": (CHOICE, "each encoder's `--preset medium`"),
    "benchmarks/results/codec_keyint.json": (CHOICE, "SVT-AV1 key-frame interval"),
    "benchmarks/results/codec_qm.json": (CHOICE, "SVT-AV1 quantisation matrices"),
    "benchmarks/results/codec_scm.json": (CHOICE, "SVT-AV1 screen-content tools"),
    "benchmarks/results/codec_svt_tune.json": (CHOICE, "SVT-AV1 tuning settings"),
    "benchmarks/results/codec_svt_tune2.json": (CHOICE, "SVT-AV1's in-loop filters and psychovisual settings"),
    "benchmarks/results/loop_band.json": (CHOICE, "balanced's band: the target + 1.0 above"),
    "benchmarks/results/loop_above_budget.json": (CHOICE, "shots measured only above the band keep balanced's "
                                                           "budget"),
    "benchmarks/results/own_reference.json": (CHOICE, "the scorer keeps the encoder's decoder (a second one was "
                                                      "taken out: FFmpeg hung where the first found no frames)"),
    "benchmarks/results/uhd_memory.json": (CHOICE, "SVT-AV1's attempt memory estimate at 2160p; the decoders' "
                                                   "threads"),
    "benchmarks/results/loop_bracket.json": (CHOICE, "one more attempt where the budget missed on both sides"),
    "benchmarks/results/loop_file_learning.json": (CHOICE, "no start learning inside a file"),
    "benchmarks/results/loop_first_piece.json": (CHOICE, "no short first piece per shot"),
    "benchmarks/results/loop_groups.json": (CHOICE, "every shot its own segment"),
    "benchmarks/results/loop_interp.json": (CHOICE, "the loop's interpolation"),
    "benchmarks/results/loop_probe_start.json": (CHOICE, "the loop starts from the frame model"),
    "benchmarks/results/loop_returns.json": (CHOICE, "a shot that cuts back starts from the earlier shot"),
    "benchmarks/results/loop_returns_x265.json": (REPORT, "the cut-back start on x265"),
    "benchmarks/results/loop_fast.json": (CHOICE, "fast stays one pass (a measured fast was not adopted)"),
    "benchmarks/results/loop_fast_preset.json": (CHOICE, "no first attempt at a faster preset"),
    "benchmarks/results/loop_short_sampling.json": (CHOICE, "shots under 48 frames stay scored on every frame"),
    "benchmarks/results/codecs_train.json": (REPORT, "x265, SVT-AV1 and VP9 through the loop on training clips "
                                                     "(curves for later loop studies)"),
    "benchmarks/results/loop_codec_steps.json": (CHOICE, "the first step's reach per encoder (why x265's step was "
                                                         "tried longer)"),
    "benchmarks/results/loop_x265_step.json": (CHOICE, "x265 keeps x264's first step (a longer one not adopted)"),
    "benchmarks/results/loop_lead.json": (CHOICE, "attempts scored with the frames before their shot in front"),
    "benchmarks/results/loop_recheck.json": (CHOICE, "rechecking readings near the band's edge"),
    "benchmarks/results/loop_rise.json": (CHOICE, "the loop's rise rule"),
    "benchmarks/results/loop_secant.json": (CHOICE, "secant steps"),
    "benchmarks/results/loop_secant_cap.json": (CHOICE, "the secant step's cap"),
    "benchmarks/results/loop_shift.json": (CHOICE, "the start shift of later shots"),
    "benchmarks/results/loop_start_error.json": (REPORT, "what a better start would buy (replay)"),
    "benchmarks/results/loop_start_shift.json": (CHOICE, "no constant start shift"),
    "benchmarks/results/loop_stride.json": (CHOICE, "the loop's frame stride"),
    "benchmarks/results/loop_subsample.json": (CHOICE, "the loop's subsampled scoring"),
    "benchmarks/results/loop_waves.json": (CHOICE, "attempts in waves"),
    "benchmarks/results/margin_signals.json": (CHOICE, "fast keeps one margin"),
    "benchmarks/results/content_errors.json": (REPORT, "the start's error by content type"),
    "benchmarks/results/frame_features_synth.json": (CHOICE, "generated clips not added to the frame model's data "
                                                             "(chosen on CV and held-out types; test reported)"),
    "benchmarks/results/frame_features.json": (CHOICE, "no new frame statistics (chosen on CV; test reported)"),
    "benchmarks/results/probe_scale.json": (CHOICE, "no smaller probe (chosen on CV and the loop's replay; test "
                                                    "reported)"),
    "benchmarks/results/tighten_sim.json": (CHOICE, "`--tighten`/`--ensure` slopes"),
    "benchmarks/results/joins.json": (REPORT, "segments against the one-pass zones encode"),
    "benchmarks/results/segments.json": (REPORT, "effort levels against CRF 23 and the oracle"),
    "benchmarks/results/segments_codecs.json": (REPORT, "effort levels per codec"),
    "benchmarks/results/codec_bytes.json": (REPORT, "bytes per codec"),
    "benchmarks/results/vmaf_models.json": (REPORT, "balanced aimed in VMAF NEG beside the default model"),
    "benchmarks/results/modes.json": (REPORT, "every mode on the same clips"),
    "benchmarks/results/run.json": (REPORT, "BD-rate run"),
    "benchmarks/results/summary.json": (REPORT, "BD-rate summary"),
    "benchmarks/results/overhead.json": (REPORT, "analysis overhead"),
    "benchmarks/results/default_mode/overhead.json": (REPORT, "effort levels' time on long clips"),
    "benchmarks/results/long_1080p/overhead.json": (REPORT, "overhead on a long 1080p clip"),
    "benchmarks/results/batch_learning.json": (REPORT, "a batch that learns its starts"),
    "benchmarks/results/batch_slope.json": (CHOICE, "the batch learns an offset, no slope (test series reported)"),
    "benchmarks/results/batch_series.json": (REPORT, "five series encoded without learning: the labels the "
                                                      "batch-learning replays read"),
    "benchmarks/results/batch_library.json": (REPORT, "a library of three series through one learning batch, "
                                                       "before and after per-source learning"),
    "benchmarks/results/batch_sources.json": (CHOICE, "a batch of several sources learns each apart (test series "
                                                      "reported)"),
    "benchmarks/results/dask_spread.json": (REPORT, "one file over a Dask cluster"),
    "benchmarks/results/dask_spread_edited.json": (REPORT, "an edited file over a Dask cluster"),
}
# choices and model results that read test clips, and what that means for the claim
KNOWN = {
    "benchmarks/results/trials.json": "run before the split was pinned: 2 of its 8 clips are test clips today; "
                                      "made again without them (`choices_without_test.json`), the same window",
    "benchmarks/results/batch_slope.json": "the test series (LS_SVA_D) is reported beside the training ones; "
                                           "the choice is by the training and validation series",
    "benchmarks/results/batch_sources.json": "libraries with the test series (LS_SVA_D) are reported beside "
                                             "those of training and validation series only, which made the choice",
    "benchmarks/results/frame_features_synth.json": "test rows reported beside every candidate",
    "benchmarks/results/frame_features.json": "test rows reported beside every candidate; the choice is by CV",
    "benchmarks/results/probe_scale.json": "test rows reported beside every size; the choice is by CV",
    "weights/probe_refine.json": "test rows reported; the rule and margins come from the CV rows",
    "weights/training_clips.json": "names every clip's split",
    "benchmarks/shots.json": "the detector comparison scored cuts labelled by eye on shared clips, test clips "
                             "among them (no parameter was fitted); made again without them "
                             "(`choices_without_test.json`), the same detector",
}


def committed() -> list[str]:
    paths = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "benchmarks" / "results").rglob("*.json"))
    return paths + [p for p in ROLES if not p.startswith("benchmarks/results/") and (ROOT / p).is_file()]


def clip_splits() -> dict[str, str]:
    clips = json.loads((ROOT / "weights/training_clips.json").read_text())["clips"]
    return {name: c["split"] for name, c in clips.items()}


def clips_read(data, splits: dict[str, str]) -> set[str]:
    """Shared clips named anywhere in ``data`` (keys and values; a derived copy ``stem~scale50.mkv`` counts for
    its parent)."""
    by_stem = {Path(n).stem: n for n in splits}
    found: set[str] = set()

    def one(s: str) -> None:
        for piece in re.split(r"[:|\s]", s):  # keys such as "clip.mp4:variant" or "clip|start|end"
            name = piece.replace("\\", "/").rsplit("/", 1)[-1]
            if name in splits:
                found.add(name)
            elif "~" in name and name.split("~", 1)[0] in by_stem:
                found.add(by_stem[name.split("~", 1)[0]])

    def walk(d) -> None:
        if isinstance(d, dict):
            for k, v in d.items():
                one(str(k))
                walk(v)
        elif isinstance(d, list):
            for v in d:
                walk(v)
        elif isinstance(d, str):
            one(d)

    walk(data)
    return found


def scan() -> list[dict]:
    splits = clip_splits()
    rows = []
    for path in committed():
        role, what = ROLES.get(path, ("?", "no role recorded"))
        n = Counter(splits[c] for c in clips_read(json.loads((ROOT / path).read_text()), splits))
        rows.append({"path": path, "role": role, "what": what, "train": n["train"], "valid": n["valid"],
                     "test": n["test"], "known": KNOWN.get(path)})
    return rows


def problems(rows: list[dict]) -> list[str]:
    out = [f"{r['path']}: no role in benchmarks/provenance.py ROLES" for r in rows if r["role"] == "?"]
    out += [f"{r['path']}: a {r['role']} read {r['test']} test clip(s)" for r in rows
            if r["role"] in (CHOICE, MODEL) and r["test"] and not r["known"]]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    rows = scan()
    bad = problems(rows)
    if args.check:
        for b in bad:
            print(b, file=sys.stderr)
        return 1 if bad else 0
    for r in rows:
        print(f"{r['role']:6s} {r['train']:3d} {r['valid']:3d} {r['test']:3d}  {r['path']}  {r['what']}")
    for b in bad:
        print("problem:", b, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
