#!/usr/bin/env python3
"""Figure tables in the docs, generated from the committed JSON behind them.

A generated region in a Markdown file is::

    <!-- table:NAME -->
    (whatever `render(NAME)` gives; never edit by hand)
    <!-- /table:NAME -->

    python benchmarks/tables.py           # rewrite every region of every doc in DOCS in place
    python benchmarks/tables.py --check   # exit 1, with a diff, where a doc differs from its JSON

A rerun of a benchmark writes its JSON; this script then updates text and
numbers together. `tests/test_docs.py` runs ``--check``, so a table typed or
edited by hand fails the test suite. The render functions are pure (dicts in,
Markdown out).
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Callable, Sequence

from jndenc.bench.report import averages_table
from jndenc.loop_options import ordinal
from jndenc.verify import TIGHTEN_CONFIDENCE
from jndenc.training.derive import parent_stem

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "weights/MODEL_CARD.md", "benchmarks/README.md")
REGION = re.compile(r"(<!-- table:([\w-]+) -->\n)(.*?)(<!-- /table:\2 -->)", re.S)

LEVELS = ("JND1", "JND2", "JND3")
# model_card.py's method keys, in the order and words of the model card
METHODS = (("model", "this model"), ("probe_model", "probe mode: probe model (frame estimate + one probe)"),
           ("mean_predictor", "(a) mean predictor"),
           ("siti_regression", "(b) SI/TI regression"), ("siti_size_regression", "(c) SI/TI + frame size (reference)"),
           ("probe_vmaf_regression", "(d) probe VMAF regression (reference)"),
           ("probe_siti_size_regression", "(e) probe vector + SI/TI + size regression (reference)"))


# ---------------------------------------------------------------- pure renderers

def md_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A GitHub Markdown table; ``right[i]`` right-aligns column i (numbers)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _num(x, fmt: str = "{:.2f}") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else fmt.format(x)


def mae_rows(mae: dict, extra: Sequence[tuple[str, Sequence[float]]] = (), bold: str = "model") -> list[list[str]]:
    """Rows "method | MAE JND1..3 | mean" from model_card.py's ``mae`` dict; ``extra`` rows go after the model."""
    rows = []
    entries = [(k, label, mae[k]) for k, label in METHODS if k in mae]
    for i, (key, label, vals) in enumerate(entries):
        cells = [label] + [_num(v) for v in vals] + [_num(sum(vals) / len(vals))]
        rows.append([f"**{c}**" for c in cells] if key == bold else cells)
        if i == 0:
            rows += [[lab] + [_num(v) for v in vs] + [_num(sum(vs) / len(vs))] for lab, vs in extra]
    return rows


def model_card_mae(result: dict, cnn: dict | None = None, subset: str = "mae") -> str:
    """MAE table of one `benchmarks/model_card.py` result; ``cnn``: the CNN-trained recipe's result, as a row."""
    extra = [("same architecture, CNN correction trained", cnn[subset]["model"])] if cnn else []
    label = "this model (shipped recipe, `--linear-only`)" if cnn else "this model"
    rows = mae_rows(result[subset], extra)
    rows[0] = [f"**{label}**"] + rows[0][1:]
    n = result["shots"] if subset == "mae" else result["original_shots"]
    table = md_table(["method", *(f"MAE {lv}" for lv in LEVELS), "mean"], rows, [False, True, True, True, True])
    return f"{table}\n\n{n} shots; {result['evaluation']}; per-shot MAE in CRF steps."


def model_card_calibration(cv: dict, test: dict) -> str:
    """Share of held-out shots at or above ``JND1 - margin`` (`benchmarks/model_card.py`'s ``calibration``)."""
    names = {"model": "predict mode (constant margin per p)", "probe_model": "probe mode (z x per-shot spread)"}
    rows = []
    for what, res in (("CV", cv), ("test", test)):
        for key, label in names.items():
            c = res.get("calibration", {}).get(key)
            if not c:
                continue
            rows.append([what, label] + [f"{100 * v['share_covered']:.0f}% ({_num(v['mean_margin'], '{:.1f}')})"
                                         for v in c.values()])
    ps = next(iter(cv.get("calibration", {}).values()), {})
    return md_table(["split", "mode", *(f"target {100 * float(p):.0f}%: covered (mean margin, CRF)" for p in ps)],
                    rows, [False, False] + [True] * len(ps))


def model_card_range(cv: dict, test: dict) -> str:
    """Shrinkage towards the mean: slope of predicted on true JND1 and the error in the outer fifths."""
    rows = []
    for what, res in (("CV", cv), ("test", test)):
        for key, r in res.get("range", {}).items():
            rows.append([what, "predict mode" if key == "model" else "probe mode", _num(r["slope_pred_on_true"]),
                         f"{r['pred_range'][0]:.1f}-{r['pred_range'][1]:.1f}",
                         f"{r['true_range'][0]:g}-{r['true_range'][1]:g}",
                         f"{_num(r['mae_low_fifth'])} ({_num(r['bias_low_fifth'], '{:+.2f}')})",
                         f"{_num(r['mae_high_fifth'])} ({_num(r['bias_high_fifth'], '{:+.2f}')})"])
    return md_table(["split", "mode", "slope (1 = no shrinkage)", "predicted JND1", "true JND1",
                     "MAE (bias) lowest fifth", "MAE (bias) highest fifth"], rows, [False, False] + [True] * 5)


def probe_centred(res: dict) -> str:
    """`benchmarks/probe_study.py`, centred settings: the model-free rule's error, its over-predictions, time."""
    rows = [[k, str(v["shots"]), _num(v["mae_rule"]), f"{100 * v['share_over_1']:.0f}%", f"{100 * v['share_over_2']:.0f}%",
             _num(v["mae_fit"]), _num(v["ms_per_window_frame"], "{:.1f}")]
            for k, v in sorted(res.get("centred", {}).items())]
    head = ["centred setting", "shots", "MAE of CRF + (VMAF - 94)", "over by > 1", "over by > 2",
            "MAE fit on CRF, VMAF, headroom", "ms / probed frame (wall, one core)"]
    return (f"{res['shots']} shots of {res['groups']} parent clips (test split left out), {res['cv']}-fold CV by "
            f"parent clip for the fit; x264 medium at the frame model's out-of-fold JND1 estimate.\n\n"
            + md_table(head, rows, [False] + [True] * 6))


def probe_refine(res: dict) -> str:
    """`jndenc.training.probe_refine`: JND1 error with one probe and with the second probe, per split."""
    rows = []
    for split, label in (("cv", "CV (out-of-fold)"), ("test", "test split")):
        r = res[split]
        for key, what in (("model", "probed twice: one-probe model"), ("two_probe", "probed twice: two probes"),
                          ("all_model", "all shots: one probe"), ("all_refined", "all shots: as shipped")):
            n = r["two_probe_shots"] if key in ("model", "two_probe") else r["shots"]
            m = r[key]
            rows.append([label, what, str(n), _num(m["mae"]), f"{100 * m['over_1']:.0f}%", f"{100 * m['over_2']:.1f}%",
                         _num(m["max_over"], "{:.1f}")])
    cov = ", ".join(f"{p}: {100 * res['cv']['coverage_two_probe'][p]:.0f}% / {100 * res['test']['coverage_two_probe'][p]:.0f}%"
                    for p in ("0.8", "0.9", "0.95"))
    head = ["split", "shots, estimate", "shots", "JND1 MAE", "over by > 1", "over by > 2", "worst over"]
    return (f"A second probe where the first read more than {res['vmaf_distance']:g} VMAF from 94; slope clipped to "
            f"{res['slope_range'][0]:g}-{res['slope_range'][1]:g} VMAF a step. Margins for shots probed twice "
            f"(CRF steps, p: margin): " + ", ".join(f"{p}: {v:.2f}" for p, v in res["margin"].items())
            + f"; covered (CV, fitted there / test, held out): {cov}.\n\n"
            + md_table(head, rows, [False, False] + [True] * 5))


def probe_study(res: dict) -> str:
    """`benchmarks/probe_study.py`: each probe setting's correlation with JND1 and CV MAE of plain fits."""
    rows = [[k, str(v["shots"]), _num(v["corr_vmaf"], "{:.3f}"), _num(v["mae_vmaf_only"]), _num(v["mae_probe"]),
             _num(v["mae_probe_frame"]), _num(v["ms_per_window_frame"], "{:.1f}")]
            for k, v in sorted(res["settings"].items(), key=lambda kv: -kv[1]["corr_vmaf"])]
    head = (f"{res['shots']} shots of {res['groups']} parent clips (test split left out), "
            f"{res['cv']}-fold CV by parent clip; constant {_num(res['mean_predictor'])}, "
            f"SI/TI + size {_num(res['frame_cues'])} CRF MAE. A setting's shots are those probed with it.\n\n")
    return head + md_table(["probe setting", "shots", "r(VMAF, JND1)", "MAE VMAF only", "MAE probe vector",
                            "MAE probe + SI/TI + size", "ms / window frame (wall, shared CPU)"], rows,
                           [False] + [True] * 6)


def probe_cost(res: dict) -> str:
    """`benchmarks/probe_cost.py`: probe CPU time against a medium encode of the same clip."""
    rows = [[r["clip"], f"{r['size'][0]}x{r['size'][1]}", str(r["frames"]), str(r["shots"]),
             str(r.get("second_probes", "n/a")), str(r["probed_frames"]),
             _num(r["probe_cpu_s"]), _num(r["medium_encode_cpu_s"]), _num(100 * r["ratio"], "{:.0f}%")]
            for r in res["clips"]]
    rows.append(["all", "", "", "", "", "", "", "", _num(100 * res["ratio_total"], "{:.0f}%")])
    return (f"Setting `{res['setting']}`, {res['threads']} thread(s), CPU time of the FFmpeg processes.\n\n" +
            md_table(["clip", "size", "frames", "shots", "shots probed twice", "probed frames", "probe CPU s",
                      "medium encode CPU s", "probe / encode"], rows, [False, False] + [True] * 7))


def label_stats(result: dict) -> str:
    labels = [s["label"] for s in result["per_shot"]]
    rows = [[lv, _num(m, "{:.1f}"), _num(s, "{:.1f}"), f"{min(r[i] for r in labels):g}-{max(r[i] for r in labels):g}"]
            for i, (lv, m, s) in enumerate(zip(LEVELS, result["label_mean"], result["label_std"]))]
    return md_table(["label", "mean (CRF)", "std (CRF)", "range (CRF)"], rows, [False, True, True, True]) + \
        f"\n\nOver the {result['shots']} shots of {result['evaluation']}; the frame model ran at " \
        f"{result['ms_per_frame']:.1f} ms per frame (batch 32, after warm-up)."


def training_clips(clips: dict, per_shot: Sequence[dict]) -> str:
    """Per parent clip: split, shots (own + derived copies), copies, source and licence.

    Shot counts come from the cross-validation result's per-shot rows (every
    labelled shot is held out once there); ``clips`` holds only the text.
    """
    own, copies, kinds = defaultdict(int), defaultdict(int), defaultdict(set)
    for s in per_shot:
        key = parent_stem(s["clip"])
        if "~" in s["clip"]:
            copies[key] += 1
            kinds[key].add(s["clip"].split("~")[1].rsplit(".", 1)[0])
        else:
            own[key] += 1
    rows = []
    for name, c in clips.items():
        key = parent_stem(name)
        rows.append([name, c["split"], f"{own[key]} + {copies[key]}", ", ".join(sorted(kinds[key])) or "-",
                     c["source"], c["licence"]])
    return md_table(["clip", "split", "shots (own + copies)", "copies", "source", "licence note (from CLIPS.tsv)"],
                    rows, [False, False, True, False, False, False])


def predict_vs_search(runs: Sequence[dict]) -> str:
    """`benchmarks/predict_vs_search.py --out` results, one per clip."""
    rows = []
    for r in runs:
        p, s = r["predict"], r["search"]
        name = Path(r["clip"]).name
        for a, b in zip(p["shots"], s["shots"]):
            rows.append([name, f"{a['frames'][0]}-{a['frames'][1]}", f"{a['jnd'][0]:.1f} -> {a['crf']:g}",
                         f"{a['vmaf']:.2f}", f"{b['jnd'][0]:g} -> {b['crf']:g}", f"{b['vmaf']:.2f}",
                         f"{p['bytes']:,} / {s['bytes']:,} B",
                         f"{p['timings']['total_s']:.1f} / {s['timings']['total_s']:.1f} s"])
    return md_table(["clip", "shot", "predict JND1 -> CRF", "VMAF", "search JND1 -> CRF", "VMAF",
                     "size predict / search", "time predict / search"], rows,
                    [False, False, False, True, False, True, False, False])


def bdrate_averages(summary: dict, run: dict | None = None) -> str:
    """The averages of a `benchmarks/bdrate.py` run's summary.json (with its run.json), one row per jndenc ladder."""
    head = ""
    if run is not None:
        o = run["options"]
        frames = f"first {o['max_frames']} frames of each" if o.get("max_frames") else "whole clips"
        margins = ", ".join(str(m) for m in o.get("margins", []))
        at = f" at commit `{run['commit']}`" if run.get("commit") else ""
        head = (f"{run['date'][:10]}{at}: {summary['clips']} clips ({frames}), {o['codec']} {o['preset']}, fixed-CRF ladder "
                f"{', '.join(f'{c:g}' for c in o['crf_ladder'])} vs jndenc JND "
                f"{', '.join(map(str, o['targets']))} (margins: {margins}); {run['machine']['cores']} cores, "
                f"{o.get('threads') or 'all'} encoder thread(s). "
                "Means over clips; the worst-shot column is the lowest clip's worst shot at JND1.\n\n")
    return head + "\n".join(averages_table(summary))


def overhead_report(rep: dict) -> str:
    """`benchmarks/overhead.py`'s own Markdown rendering of its JSON, without its title line."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from overhead import render
    finally:
        sys.path.pop(0)
    return "\n".join(ln for ln in render(rep).splitlines() if not ln.startswith("# ")).strip()


REPLAY = "plain, jndenc's plan"  # overhead.py's variant: FFmpeg alone with the arguments jndenc runs


def decision_cost(rep: dict) -> str:
    """What predict mode costs on top of the encode it chooses (`overhead.py`'s plan-replay variant)."""
    rows = []
    for label, c in rep["clips"].items():
        v = c["variants"]
        if REPLAY not in v or "jndenc predict/shot" not in v:
            continue
        j, r, p = v["jndenc predict/shot"], v[REPLAY], v["plain"]
        rows.append([f"{label} ({c['size']}, {c['seconds']:g} s)", f"{p['wall_s_median']:.2f} s",
                     f"{r['wall_s_median']:.2f} s ({c['ratio_vs_plain'][REPLAY]:.2f}x)",
                     f"{j['wall_s_median']:.2f} s ({c['ratio_vs_plain']['jndenc predict/shot']:.2f}x)",
                     f"{c['ratio_vs_own_plan']['jndenc predict/shot']:.2f}x",
                     _num(j.get("analysis_s_median"), "{:.2f} s"),
                     f"{p['tree_peak_mib_median']:.0f} / {j['tree_peak_mib_median']:.0f} MiB"])
    if not rows:
        return not_committed("overhead run with the plan-replay variant", "run `overhead.py --out benchmarks/results`")
    head = (f"{rep['pinning']}; x264 {rep['preset']}, plain at CRF {rep['plain_crf']:g}; medians "
            f"(`benchmarks/overhead.py`; the full table below).")
    return head + "\n\n" + md_table(["clip", "plain FFmpeg", "FFmpeg with jndenc's plan", "jndenc encode",
                                     "jndenc over its own plan", "analysis", "peak RSS plain / jndenc"], rows,
                                    [False] + [True] * 6)


MODE_LABELS = {"crf23": "fixed CRF 23", "predict": "predict", "probe": "probe", "guided": "guided",
               "guided-const": "guided, constant start", "search": "search (oracle, margin 0)"}


def _mode_label(spec: str) -> str:
    """A `benchmarks/modes.py` row in words: its label, or the recipe (`jndenc.recipe.Recipe`) spelled out."""
    from jndenc.errors import UserError
    from jndenc.recipe import Recipe

    if spec in MODE_LABELS:
        return MODE_LABELS[spec]
    try:
        r = Recipe.parse(spec)
    except UserError:
        return spec
    label = r.effort or MODE_LABELS.get(r.mode, r.mode)
    label += f", --confidence {r.confidence:g}" if r.confidence is not None else ""
    return label + (f", --{r.corrective}" if r.corrective else "")


def modes_table(res: dict) -> str:
    """`benchmarks/modes.py`'s summary: one row per mode."""
    rows = []
    for mode, s in res["summary"].items():
        label = _mode_label(mode)
        rows.append([label, _num(s["saving_vs_crf23_pct"], "{:+.1f}%"),
                     _num(s["mean_clip_saving_vs_crf23_pct"], "{:+.1f}%"),
                     _num(s.get("share_of_search_mean_clip_saving_pct"), "{:.0f}%"),
                     _num(s.get("bytes_vs_search_pct"), "{:+.1f}%"), _num(s["worst_shot_vmaf"]),
                     _num(s["p5_shot_vmaf"]), _num(100 * s["share_shots_at_target_minus_0_5"], "{:.0f}%"),
                     _num(s["trials_per_shot"], "{:.1f}"), _num(s.get("analysis_vs_search_pct"), "{:.0f}%"),
                     _num(s["time_vs_plain"], "{:.1f}x")])
    n = max((s["clips"] for s in res["summary"].values()), default=0)
    shots = max((s["shots"] for s in res["summary"].values()), default=0)
    head = (f"{n} clips, {shots} shots, first {res['options']['max_frames']} frames each, x264 "
            f"{res['options']['preset']}, target VMAF {res['target_vmaf']:g} (JND1), {res['machine']}"
            + (f", one run at commit `{res['commit']}`" if res.get("commit") else "") + ". "
            "Savings are fewer bytes than fixed CRF 23 (negative: more bytes, where CRF 23 falls short of the "
            "target).\n\n")
    return head + md_table(["mode", "saving vs CRF 23, all bytes", "mean per-clip saving",
                            "share of search's mean saving", "bytes vs search", "worst shot VMAF",
                            "5th-pct shot VMAF", "shots >= target - 0.5", "trial encodes / shot",
                            "analysis time vs search", "time vs plain ffmpeg"], rows, [False] + [True] * 10)


def default_mode_table(rep: dict) -> str:
    """`overhead.py --modes guided` on the 720p clip: each encode mode's time over a plain FFmpeg encode."""
    rows = []
    for label, c in rep["clips"].items():
        plain = c["variants"]["plain"]
        for name, ratio in c["ratio_vs_plain"].items():
            v = c["variants"][name]
            rows.append([f"{label} {c['seconds']:g} s ({c['size']})", name.replace("jndenc ", ""),
                         _num(plain.get("wall_s_median"), "{:.1f} s"), _num(v.get("wall_s_median"), "{:.1f} s"),
                         _num(ratio, "{:.2f}x"), _num(c["cpu_ratio_vs_plain"].get(name), "{:.2f}x")])
    at = f", commit `{rep['commit']}`" if rep.get("commit") else ", commit not recorded (a run before 2026-12-05)"
    return (f"{rep['pinning']}; x264 {rep['preset']}{at}.\n\n"
            + md_table(["clip", "mode", "plain ffmpeg", "jndenc encode", "wall vs plain", "CPU vs plain"], rows,
                       [False, False, True, True, True, True]))


def default_mode_short(rep: dict) -> str:
    """One sentence for the README: what each effort costs on the long clips of the default-mode run."""
    clips = list(rep["clips"].items())

    def cost(level: str) -> str:
        return " and ".join(f"{c['ratio_vs_plain'][f'jndenc {level}/shot']:.1f}x" for _, c in clips)

    what = " and ".join(f"{c['seconds']:.0f} s {label}" for label, c in clips)
    return (f"On {what} training clips (each looped from a shorter clip; one core, commit `{rep['commit']}`) "
            f"balanced took {cost('balanced')} a plain encode, thorough {cost('thorough')}, fast {cost('fast')}: "
            "balanced samples only shots of 48 frames or more (the test clips above are 8 s cuts, most of their "
            "shots under 48 frames and scored on every frame; `benchmarks/README.md`, \"Overhead\"). A looped clip "
            "repeats its shots, and a shot that cuts back to an earlier one starts from that one's attempts, so the "
            "measured levels' figures flatter them where the short clip had cuts (the 720p one; "
            "`benchmarks/README.md`, \"A fifteenth\").")


def codecs_short(d: dict) -> str:
    """One sentence for the README: each codec row of the codec run, its saving per clip and its time."""
    names = {"balanced": "x264", "balanced@x265": "x265", "balanced@av1": "SVT-AV1", "balanced@vp9": "VP9",
             "balanced@av1:libaom-av1": "libaom-av1", "balanced@av1:librav1e": "rav1e"}
    parts = [f"{names.get(k, k)} {s['mean_per_clip_saving_pct']:.1f}% in {s['wall_vs_plain_median']:.1f}x"
             for k, s in d["summary"].items() if k != "crf23"]
    return (f"On the {len(d['clips'])} test clips (codec run at commit `{d['commit']}`, one core) the balanced loop "
            f"saved per clip against x264 CRF 23, in a plain x264 encode's time (median): {', '.join(parts)}.")


def vmaf_models_table(d: dict) -> str:
    """`benchmarks/vmaf_models.py`: balanced in each libvmaf model beside CRF 23, every output read in each."""
    models = ["vmaf_v0.6.1", *d["options"]["models"]]
    names = {"crf23": "`ffmpeg -c:v libx264 -preset medium -crf 23`", "vmaf_v0.6.1": "`jndenc encode` (balanced)"}
    head = ["what you run", "bytes vs CRF 23 (all clips)", "mean saving per clip",
            *[f"worst shot in {m}" for m in models], *[f"shots >= 93.5 in {m}" for m in models],
            "attempts per shot", "frames encoded / output", "time vs plain (median)"]
    rows = []
    for k, s in d["summary"].items():
        m = s["measured_in"]
        rows.append([names.get(k, f"`jndenc encode --vmaf-model {k}`"), f"{s['vs_crf23_pct']:+.1f}%",
                     f"{s['mean_per_clip_saving_pct']:+.1f}%", *[f"{m[x]['worst_shot']:.2f}" for x in models],
                     *[f"{100 * m[x]['share_shots_ge_93_5']:.0f}%" for x in models],
                     f"{s['attempts_per_shot']:.2f}" if "attempts_per_shot" in s else "-",
                     f"{s['encoded_over_output_frames']:.2f}x" if "encoded_over_output_frames" in s else "-",
                     f"{s['wall_vs_plain_median']:.2f}x" if "wall_vs_plain_median" in s else "1.00x"])
    shots = next(iter(d["summary"].values()))["shots"]
    return (f"{len(d['clips'])} test clips (first {d['options']['max_frames']} frames each), {shots} shots, x264 "
            f"medium, target VMAF 94 in the model each row aims in, every output's shots measured on every frame in "
            f"each model; one run at commit `{d['commit']}`, {d['machine']} (`benchmarks/vmaf_models.py`, "
            f"`benchmarks/results/vmaf_models.json`).\n\n"
            + md_table(head, rows, [False] + [True] * (len(head) - 1)))


def vmaf_models_short(d: dict) -> str:
    """One sentence for the README: what aiming in each other model cost against the default model's bytes."""
    parts = [f"`--vmaf-model {k}` spent {s['bytes_vs_default_pct']:+.1f}% bytes against the default model's "
             f"output (its worst shot read {s['measured_in']['vmaf_v0.6.1']['worst_shot']:.2f} in the default "
             f"model, {s['measured_in'][k]['worst_shot']:.2f} in its own), in {s['wall_vs_plain_median']:.1f}x a "
             f"plain encode's time against balanced's {d['summary']['vmaf_v0.6.1']['wall_vs_plain_median']:.1f}x; "
             f"balanced's own worst shot read "
             f"{d['summary']['vmaf_v0.6.1']['measured_in'][k]['worst_shot']:.2f} in {k}"
             for k, s in d["summary"].items() if "bytes_vs_default_pct" in s]
    return (f"On the {len(d['clips'])} test clips (run at commit `{d['commit']}`, one core; `benchmarks/README.md`, "
            f"\"VMAF models\"): " + "; ".join(parts) + ".")


def batch_learning_short(d: dict) -> str:
    """One sentence for the README: per series of the batch-learning run, the last quarter's start error over the
    first's and the attempts per shot against `--no-learn`."""
    parts = []
    for se in d["series"]:
        on, off = se["runs"]["learn"], se["runs"]["no_learn"]
        q = on["learning"]["quarters"]
        parts.append(f"`{se['clip']}` ({SERIES_KINDS.get(se['clip'], 'a series')}): "
                     f"{100 * q[-1]['start_mae'] / q[0]['start_mae']:.0f}%, {off['attempts_per_shot']:.2f} -> "
                     f"{on['attempts_per_shot']:.2f}")
    return (f"Batch-learning run (commit `{d['commit']}`, {len(d['series'])} series of {d['series'][0]['episodes']} "
            "files), per series: the last quarter's start error as a share of the first quarter's, and attempts "
            f"per shot with `--no-learn` -> learning: {'; '.join(parts)}.")


def batch_library_short(d: dict) -> str:
    """One sentence for the README: the library run before and after per-source learning."""
    before, after = d["runs"]
    moved = max(after["series"], key=lambda n: before["series"][n]["start_mae"] - after["series"][n]["start_mae"])
    return (f"A library of {len(after['series'])} series in {after['sources']} folders through one batch "
            f"(`{before['commit']}` one offset, `{after['commit']}` per source): attempts per shot "
            f"{before['attempts_per_shot']:.2f} -> {after['attempts_per_shot']:.2f}, worst shot "
            f"{before['worst_shot']:.2f} / {after['worst_shot']:.2f}; on `{moved}`, the series whose start moved most, "
            f"start error {before['series'][moved]['start_mae']:.2f} -> {after['series'][moved]['start_mae']:.2f} CRF "
            f"and attempts per shot {before['series'][moved]['attempts_per_shot']:.2f} -> "
            f"{after['series'][moved]['attempts_per_shot']:.2f}.")


# what each batch-learning series is cut from (a description, not a figure)
SERIES_KINDS = {"night.mp4": "one camera's footage", "highway_cif.mp4": "one camera's footage",
                "one-by-one-person-detection.mp4": "one camera's footage",
                "LS_SVA_D.mp4": "a sequence of unrelated scenes"}


def bdrate_short(d: dict, run: dict | None) -> str:
    """One sentence for the README: every ladder of the BD-rate run at equal average and worst-shot VMAF."""
    def name(k: str) -> str:
        return k.split()[0].removeprefix("jndenc-")

    lad = d["ladders"]
    bd = [v["bd_rate_vmaf"] for v in lad.values()]
    worst = ", ".join(f"{name(k)} {v['matched_rate_diff_pct']:+.1f}%" for k, v in lad.items())
    n_multi = max(v.get("n_matched_rate_diff_pct_multishot", 0) for v in lad.values())
    multi = ", ".join(f"{name(k)} {v['matched_rate_diff_pct_multishot']:+.1f}%" for k, v in lad.items()
                      if v.get("matched_rate_diff_pct_multishot") is not None)
    when = f" of {run['date'][:10]}" if run else ""
    at = f" at commit `{run['commit']}`" if run and run.get("commit") else ""
    what = ("the default effort level (balanced) and the expert modes at their default margins"
            if any(name(k) == "balanced" for k in lad) else
            "the expert modes at their default margins; it predates the effort levels")
    return (f"The BD-rate run{when}{at} (`bdrate.py`, the {d['clips']} held-out test clips, {what}) puts every "
            f"ladder between "
            f"{min(bd):+.1f}% and {max(bd):+.1f}% bits against fixed CRF at equal *average* VMAF, and at equal "
            f"*worst-shot* VMAF at {worst} (on the {n_multi} clips with more than one shot: {multi}).")


def trials_table(res: dict) -> str:
    """`benchmarks/trials.py`'s summary: trial VMAF minus the shot's VMAF in the final encode."""
    rows = []
    for key, s in res["summary"].items():
        name, subset = key.split("/")
        rows.append([name, "all shots" if subset == "all" else "shots longer than the window", str(s["shots"]),
                     _num(s["mean_abs_gap"]), _num(s["worst_abs_gap"]), _num(s["mean_signed_gap"], "{:+.2f}"),
                     _num(s["trial_s_per_shot"], "{:.1f}")])
    head = (f"{len(res['clips'])} clips, first {res['max_frames']} frames, x264 {res['preset']} CRF "
            f"{res['crf']:g}, {res['machine']}.\n\n")
    return head + md_table(["trial window", "shots", "n", "mean abs gap (VMAF)", "worst abs gap",
                            "mean signed gap", "trial s / shot"], rows, [False, False] + [True] * 5)


EFFORT_COMMANDS = {"crf23": "`ffmpeg -c:v libx264 -preset medium -crf 23`", "oracle": "oracle (`--mode search --margin 0`)",
                   "balanced@av1": "`--codec av1` (balanced)", "balanced@vp9": "`--codec vp9` (balanced)",
                   "balanced@x265": "`--codec x265` (balanced)",
                   "balanced@av1:libaom-av1": "`--codec av1 --encoder libaom-av1` (balanced)",
                   "balanced@av1:librav1e": "`--codec av1 --encoder librav1e` (balanced)",
                   "fast": "`--effort fast`", "balanced": "`jndenc encode in.mp4 out.mp4` (balanced)",
                   "thorough": "`--effort thorough`"}


CODEC_ROWS = ("crf23,balanced,balanced@x265,balanced@av1,balanced@vp9,balanced@av1:libaom-av1,"
              "balanced@av1:librav1e")


def codec_bytes_table(d: dict) -> str:
    """`benchmarks/codec_bytes.py`: per codec, jndenc's default against its own fixed CRF of equal worst shot."""
    names = {"x264": "x264", "x265": "x265", "av1": "AV1 (SVT-AV1)", "vp9": "VP9 (libvpx)",
             "av1:libaom-av1": "AV1 (libaom-av1)", "av1:librav1e": "AV1 (rav1e)"}
    rows = []
    order = list(names)  # the codecs in one order whatever order the merged runs came in
    for spec, s in sorted(d["summary"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
        v = s.get("vs_matched_fixed_pct_mean")
        rows.append([names.get(spec, spec), str(s["clips"]),
                     "-" if v is None else f"{v:+.1f}% ({s['clips_matched']} clips)",
                     f"{s.get('vs_x264_jndenc_bytes_pct', 0.0):+.1f}%", f"{s['worst_shot']:.2f}",
                     f"{s['attempts_per_shot']:.2f}", f"{s.get('time_vs_x264_jndenc_median', 1.0):.2f}x"])
    head = (f"`jndenc encode --effort balanced` per codec on the first {d['max_frames']} frames of each clip, one "
            f"run per codec at commit `{d['commit']}` (`benchmarks/codec_bytes.py`, through `jndenc bench bdrate "
            "--modes balanced --targets 1`). Against its own fixed CRF: jndenc's bitrate against the plain encode "
            "of the same encoder at the CRF whose worst-shot VMAF equals jndenc's (interpolated between two "
            "integer CRFs), mean over the clips where two CRFs bracket it. Against x264 jndenc: all bytes, the "
            "same target.")
    return head + "\n\n" + md_table(["codec", "clips", "bytes vs its fixed CRF of equal worst shot",
                                      "bytes vs x264 jndenc", "worst shot", "attempts per shot",
                                      "time vs x264 jndenc (median)"], rows, [False] + [True] * 6)


def _effort_rows(summary: dict, names: dict[str, str]) -> list[list[str]]:
    """One row per `benchmarks/segments.py` summary row: savings, the oracle's share, quality, frames and time."""
    rows = []
    for name, s in summary.items():
        enc = s.get("encoded_over_output_frames")
        share = s.get("share_of_oracle_saving_pct")
        pshare = s.get("share_of_oracle_per_clip_saving_pct")
        rows.append([names.get(name, name), f"{-s['vs_crf23_pct']:+.1f}%",
                     f"{s['mean_per_clip_saving_pct']:+.1f}%",
                     "-" if pshare is None or name == "crf23" else f"{pshare:.0f}%",
                     "-" if share is None or name == "crf23" else f"{share:.0f}%",
                     f"{s['vs_oracle_pct']:+.1f}%" if "vs_oracle_pct" in s else "-",
                     f"{s['worst_shot']:.2f}",
                     "-" if "share_shots_ge_93" not in s else f"{100 * s['share_shots_ge_93']:.0f}%",
                     f"{100 * s['share_shots_ge_93_5']:.0f}%",
                     f"{100 * s['share_shots_le_95_5']:.0f}%", "-" if enc is None else f"{enc:.2f}x",
                     f"{s['wall_vs_plain_median']:.2f}x / {s['wall_vs_plain_worst']:.2f}x",
                     f"{s['cpu_vs_plain_median']:.2f}x"])
    return rows


EFFORT_HEADER = ["what you run", "bytes saved vs CRF 23 (all clips)", "mean saving per clip",
                 "share of the oracle's per-clip saving", "share of the oracle's saving (all bytes)",
                 "bytes vs oracle", "worst shot (VMAF)", "shots >= 93.0", "shots >= 93.5", "shots <= 95.5",
                 "frames encoded / output", "time vs plain, median / worst", "CPU vs plain"]


def efforts_table(res: dict) -> str:
    """The effort levels from one `benchmarks/segments.py` run (README's first screen)."""
    rows = _effort_rows(res["summary"], EFFORT_COMMANDS)
    n = len(res["clips"])
    head = (f"{n} clips outside the training data (test split, first {res['options']['max_frames']} frames each), "
            f"{rows and res['summary']['crf23']['shots']} shots, x264 medium, target JND1 = VMAF "
            f"{res['target_vmaf']:g}, every shot measured on the finished file; one run at commit "
            f"`{res['commit']}`, {res['machine']} (`benchmarks/segments.py`).\n\n")
    return head + md_table(EFFORT_HEADER, rows, [False] + [True] * 12)


def loop_fast_table(res: dict) -> str:
    """`benchmarks/experiments/loop_fast.py`: fast as a cheaper shot loop, beside fast, balanced and the oracle."""
    names = {**EFFORT_COMMANDS, "fast": "`--effort fast` (one pass at probe mode's estimate, kept)"}
    for name in res["summary"]:
        if name.startswith("fast-b2-a"):
            names[name] = (f"two attempts a shot, band up to the target + {int(name[len('fast-b2-a'):]) / 10:.1f} "
                           "(not adopted)")
    head = (f"{len(res['clips'])} training and validation clips with more than one shot in their first "
            f"{res['options']['max_frames']} frames ({res['summary']['crf23']['shots']} shots), x264 medium, target "
            f"JND1 = VMAF {res['target_vmaf']:g}, every shot measured on the finished file; one run at commit "
            f"`{res['commit']}` with the variants registered as effort levels for the run, the clips split over two "
            "processes each pinned to its own core (`benchmarks/experiments/loop_fast.py`, "
            "`benchmarks/results/loop_fast.json`):\n\n")
    return head + md_table(EFFORT_HEADER, _effort_rows(res["summary"], names), [False] + [True] * 12)


VARIANT_HEADER = ["attempts per shot", "rechecks", "frames encoded / output", "attempts", "bytes vs shipped",
                  "worst shot", ">= 93.5", "<= 95.5", "time vs plain, median / worst"]


def _variant_rows(res: dict, base: str, labels: dict[str, str]) -> list[list[str]]:
    """A loop variant beside the shipped row ``base`` of one `segments.py` run, per row of ``labels``: attempts,
    rechecks, frames, attempt time, bytes against ``base``, quality and time."""
    rows = []
    ref = res["summary"][base]
    for name, label in labels.items():
        s = res["summary"][name]
        per = [c["rows"][name] for c in res["clips"]]
        rows.append([label, f"{s['attempts_per_shot']:.2f}", str(sum(r["loop"]["rechecks"] for r in per)),
                     f"{s['encoded_over_output_frames']:.2f}x",
                     f"{sum(r['cost']['attempts']['wall_s'] for r in per):.1f} s",
                     f"{100 * (s['bytes'] / ref['bytes'] - 1):+.1f}%", f"{s['worst_shot']:.2f}",
                     f"{100 * s['share_shots_ge_93_5']:.0f}%", f"{100 * s['share_shots_le_95_5']:.0f}%",
                     f"{s['wall_vs_plain_median']:.2f}x / {s['wall_vs_plain_worst']:.2f}x"])
    return rows


def _variant_head(res: dict, base: str, what: str, script: str) -> str:
    return (f"{what} on {len(res['clips'])} training and validation clips with more than one shot in their first "
            f"{res['options']['max_frames']} frames ({res['summary'][base]['shots']} shots), each variant in the same "
            f"process as the shipped setting, the clips split over two processes each pinned to its own core; one run "
            f"at commit `{res['commit']}` (`benchmarks/experiments/{script}.py`, `benchmarks/results/{script}.json`); "
            "VMAF per shot on the finished file (every frame), time over a plain `-crf 23` x264 encode in the same "
            "process:\n\n")


def loop_short_sampling_table(res: dict) -> str:
    """`benchmarks/experiments/loop_short_sampling.py`: balanced with sampled VMAF on shorter shots."""
    labels = {name: (f"{int(name[len('balanced-min'):])} frames or more" if name != "balanced"
                     else "48 frames or more (shipped)") for name in res["summary"] if name != "crf23"}
    return (_variant_head(res, "balanced", "Balanced, x264 medium,", "loop_short_sampling")
            + md_table(["every 3rd frame scored in shots of", *VARIANT_HEADER],
                       _variant_rows(res, "balanced", labels), [False] + [True] * 9))


def loop_fast_preset_table(res: dict) -> str:
    """`benchmarks/experiments/loop_fast_preset.py`: how steadily a faster preset's CRF at the aim tells medium's."""
    n = len(res["clips"])
    missing = [c["clip"] for c in res["clips"] if any(v["aim_crf"] is None for v in c["presets"].values())]
    head = (f"{n} training and validation clips (first 240 frames each, one segment each, scored on every frame), "
            f"x264 at CRF {', '.join(map(str, res['crfs']))} per preset, one core; one run at commit "
            f"`{res['commit'][:7]}` (`benchmarks/experiments/loop_fast_preset.py`, "
            "`benchmarks/results/loop_fast_preset.json`). Gap: medium's CRF at VMAF "
            f"{res['aim']:g} minus the preset's, each interpolated between the two CRFs that bracket it"
            + (f" ({', '.join(missing)}: a preset read under it at every CRF, left out)" if missing else "")
            + "; time: the preset's attempts (encode and VMAF) over medium's, median over clips:\n\n")
    rows = [[r["preset"], str(r["clips"]), _num(r["median_gap"]), _num(r["mae_about_median"]),
             _num(r["max_about_median"]), _num(r["time_vs_medium_median"], "{:.2f}x")] for r in res["summary"]]
    return head + md_table(["preset", "clips", "median gap (CRF)", "mean distance from it", "largest distance",
                            "attempt time vs medium"], rows, [False] + [True] * 5)


def loop_x265_step_table(res: dict) -> str:
    """`benchmarks/experiments/loop_x265_step.py`: x265's first step longer by a factor."""
    labels = {"balanced@x265": "as x264's step (shipped)",
              "balanced-x265step@x265": f"{res['factor']:g} times as long"}
    return (_variant_head(res, "balanced@x265", "Balanced on x265 (`--codec x265`),", "loop_x265_step")
            + md_table(["x265's first step", *VARIANT_HEADER], _variant_rows(res, "balanced@x265", labels),
                       [False] + [True] * 9))


def _reading_gaps(res: dict, name: str) -> list[float]:
    """Per shot after each clip's first: the loop's reading of the kept attempt minus the finished file's VMAF of
    that shot (every frame)."""
    gaps = []
    for c in res["clips"]:
        r = c["rows"][name]
        for i, (attempts, crf, file_vmaf) in enumerate(zip(r["attempts"], r["crf"], r["vmaf"])):
            kept = [v for a, v in attempts if a == crf]
            if i and kept:
                gaps.append(kept[-1] - file_vmaf)
    return gaps


def loop_lead_table(res: dict) -> str:
    """`benchmarks/experiments/loop_lead.py`: attempts scored with the frames before their shot in front, or alone."""
    labels = {"balanced": "with the frames before (shipped)", "balanced-nolead": "alone (before)"}
    head = (f"Balanced, x264 medium, on {len(res['clips'])} training and validation clips with more than one shot in "
            f"their first {res['options']['max_frames']} frames ({res['summary']['balanced']['shots']} shots), both "
            f"in one process pinned to one core; one run at commit `{res['commit']}` "
            "(`benchmarks/experiments/loop_lead.py`, `benchmarks/results/loop_lead.json`); VMAF per shot on the "
            "finished file (every frame), time over a plain `-crf 23` x264 encode in the same process; reading gap: "
            "the loop's reading of each kept attempt minus the finished file's VMAF of that shot, over the shots "
            "after each clip's first (the first has no frame before it either way):\n\n")
    rows = _variant_rows(res, "balanced", labels)
    for row, name in zip(rows, labels):
        g = _reading_gaps(res, name)
        row += [f"{statistics.mean(g):+.2f}", f"{statistics.mean(map(abs, g)):.2f}", f"{max(map(abs, g)):.2f}"]
    return head + md_table(["each attempt scored", *VARIANT_HEADER, "reading gap, mean", "mean abs", "largest abs"],
                           rows, [False] + [True] * 12)


def loop_codec_steps_table(d: dict) -> str:
    """`benchmarks/experiments/loop_codec_steps.py`: the first step's reach per encoder on training clips."""
    rows = []
    for name, r in d["codecs"].items():
        cells = [name, str(r["shots"]), f"{100 * r['first_in_band']:.0f}%", f"{r['attempts_per_shot']:.2f}"]
        for side in ("quality", "bytes"):
            t = r[f"toward_{side}"]
            cells += [str(t["steps"]), f"{t['reach_median']:.2f} ({t['reach_q25']:.2f}-{t['reach_q75']:.2f})",
                      "-" if t["second_in_band"] is None else f"{100 * t['second_in_band']:.0f}%"]
        rows.append(cells)
    runs = " and ".join(f"`{Path(r['file']).name}` (commit `{r['commit']}`)" for r in d["runs"])
    head = (f"Balanced on {len(d['runs'][0]['clips'])} training and validation clips with more than one shot in their "
            f"first 240 frames, from {runs}; reach: how far the second attempt moved on the headroom scale over how far "
            "the aim lay from the first (1: on the aim; above 1: past it), median (quartiles), for first attempts "
            "under the aim (a step toward quality) and above it (toward bytes) "
            "(`benchmarks/experiments/loop_codec_steps.py`, `benchmarks/results/loop_codec_steps.json`):\n\n")
    return head + md_table(["encoder", "shots", "first attempt in the band", "attempts per shot",
                            "steps toward quality", "reach", "second attempt in the band",
                            "steps toward bytes", "reach", "second attempt in the band"], rows,
                           [False] + [True] * 9)


def efforts_short(res: dict) -> str:
    """The README's first-screen table: per effort level what it saves, its worst shot and what it costs."""
    rows = []
    for name, s in res["summary"].items():
        pshare = s.get("share_of_oracle_per_clip_saving_pct")
        rows.append([EFFORT_COMMANDS.get(name, name), f"{s['mean_per_clip_saving_pct']:+.1f}%",
                     "-" if pshare is None or name == "crf23" else f"{pshare:.0f}%", f"{s['worst_shot']:.2f}",
                     f"{s['wall_vs_plain_median']:.1f}x"])
    head = (f"{len(res['clips'])} clips none of jndenc's choices were made on, x264 medium, one core; the oracle puts "
            f"every shot at its own JND1 (VMAF {res['target_vmaf']:g}) by bisection. Run and details: "
            "`benchmarks/README.md`, \"Effort levels\".\n\n")
    return head + md_table(["what you run", "bytes saved vs CRF 23 (mean per clip)", "share of the oracle's saving",
                            "worst shot (VMAF)", "time vs plain FFmpeg (median)"], rows, [False] + [True] * 4)


def joins_table(res: dict) -> str:
    """Segments against the one-pass zones encode at the same CRFs (`benchmarks/joins.py`)."""
    s = res["summary"]
    ts = s["max_timestamp_error_ms"]
    over = s["clips_with_timestamp_error_over_1ms"]
    rows = [["segments vs one-pass zones, bytes (all clips summed)", f"{s['segments_vs_zones_bytes_pct']:+.2f}%"],
            ["shot VMAF, segments minus zones: mean / lowest", f"{s['mean_shot_vmaf_gap']:+.2f} / "
                                                              f"{s['min_shot_vmaf_gap']:+.2f}"],
            ["frame counts equal to the source (both)", "yes" if s["frames_identical"] else "no"],
            ["largest timestamp error, segments", f"{ts['segments']:.3f} ms"],
            ["largest timestamp error, one-pass zones", f"{ts['zones']:.3f} ms"
             + (f" ({', '.join(over['zones'])}: its start offset; others at most 0.5 ms)" if over["zones"] else "")]]
    return (f"{s['clips']} multi-shot clips of `../shared/clips/` ({s['shots']} shots, first {res['max_frames']} "
            f"frames each), the model's median plan, x264 medium; one run at commit `{res['commit']}`.\n\n"
            + md_table(["", ""], rows, [False, True]))


def fast_reading(f: dict) -> str:
    """The fast row in words, against issue 24's target for it (half the oracle's per-clip saving, 95% of shots
    at VMAF 93 or above)."""
    share = f.get("share_of_oracle_per_clip_saving_pct")
    saving = (f"fast saves {f['mean_per_clip_saving_pct']:.1f}% per clip ({share:.0f}% of the oracle's saving)"
              if f["mean_per_clip_saving_pct"] > 0 else
              f"fast spends {-f['mean_per_clip_saving_pct']:.1f}% more per clip than CRF 23")
    floor = f.get("share_shots_ge_93")
    return (saving + " from one pass at probe mode's estimate, measuring nothing of its output"
            + ("" if floor is None else f", with {100 * floor:.0f}% of shots at VMAF 93 or above") + ".")


def efforts_reading(res: dict) -> str:
    """The README's reading of the effort table, its figures from the same JSON."""
    s = res["summary"]
    b, o, f = s["balanced"], s["oracle"], s["fast"]
    tiny = max(res["clips"], key=lambda c: c["rows"]["balanced"]["wall_s"] / c["plain"]["wall_s"])
    return (f"How to read it: on these clips CRF 23 already sits near the target on the largest clips, so the "
            f"oracle (each shot at its JND1, found by bisection) saves {-o['vs_crf23_pct']:.1f}% of all bytes "
            f"but {o['mean_per_clip_saving_pct']:.1f}% per clip on average; balanced saves "
            f"{b['mean_per_clip_saving_pct']:.1f}% per clip and lands at {b['vs_oracle_pct']:+.1f}% of the "
            f"oracle's bytes with its worst shot at {b['worst_shot']:.2f} on the finished file; {fast_reading(f)} Every "
            f"attempt costs an encode plus a VMAF pass (balanced scores every 3rd frame, thorough every frame, "
            f"which costs about another encode at 720p on one core), and a shot took "
            f"{b['attempts_per_shot']:.1f} attempts on average from the model's start, so balanced costs "
            f"{b['wall_vs_plain_median']:.1f}x a plain encode at the median (up "
            f"to {b['wall_vs_plain_worst']:.1f}x on {tiny['clip']}, {len(tiny['rows']['balanced']['vmaf'])} "
            f"shots, where per-run start-up dominates). `benchmarks/README.md` has the details.")


def loop_choices_table(shift: dict, interp: dict) -> str:
    """The two loop experiments on training/validation clips (`benchmarks/experiments/`): totals per variant."""
    rows = []
    for title, res, variants in (("start shift of later shots", shift, ("0.0", "0.5", "1.0")),
                                 ("bracket interpolation", interp, ("headroom", "vmaf"))):
        runs = res["runs"]
        clips = sorted({k.rsplit(":", 1)[0] for k in runs})
        clips = [c for c in clips if all(f"{c}:{v}" in runs for v in variants)]
        for v in variants:
            mine = [runs[f"{c}:{v}"] for c in clips]
            vm = [x for r in mine for x in r["vmaf"]]
            rows.append([title, v, str(len(clips)), str(sum(len(r["vmaf"]) for r in mine)),
                         str(sum(r["attempts"] for r in mine)), f"{sum(r['bytes'] for r in mine):,}",
                         f"{min(vm):.2f}", str(sum(x > 95.5 for x in vm))])
    return md_table(["choice", "variant", "clips", "shots", "attempts", "bytes", "worst shot", "shots > 95.5"],
                    rows, [False, False] + [True] * 6)


def sampling_table(res: dict) -> str:
    rows = [[f"runs of {k.split('/')[0]} in every {k.split('/')[1]}", str(v["pieces"]), f"{v['mean_gap']:+.2f}",
             f"{v['mean_abs_gap']:.2f}", f"{v['p95_abs_gap']:.2f}", f"{v['max_abs_gap']:.2f}",
             f"{v['time_vs_full']:.2f}x"] for k, v in res["summary"].items()]
    return md_table(["VMAF scored on", "3 s pieces", "mean gap", "mean abs gap", "95th pct abs gap", "max abs gap",
                     "time vs every frame"], rows, [False] + [True] * 6)


def not_committed(what: str, how: str) -> str:
    return f"*No {what} is committed yet: {how}, then `python benchmarks/tables.py` writes this table.*"


# ---------------------------------------------------------------- regions: name -> (JSON files, renderer)

def _load(rel: str):
    return json.loads((ROOT / rel).read_text())


def _load_opt(rel: str):
    return _load(rel) if (ROOT / rel).is_file() else None


def tighten_sim(d: dict) -> str:
    """`benchmarks/tighten_sim.py`: `--tighten`'s raise replayed on the label searches' trial curves."""
    q = d["local_slopes"]["quantiles"]
    head = (f"Label-search trial curves of {d['shots']} shots ({d['splits']}); readings from {d['target_vmaf']:g} to "
            f"{d['target_vmaf'] + d['headroom']:g} VMAF, raises in steps of {d['step']:g} CRF. Slopes near the "
            f"target (VMAF lost per CRF step between neighbouring trials, {d['local_slopes']['n']} pairs): "
            + ", ".join(f"{float(k) * 100:.0f}th pct {v:.2f}" for k, v in q.items())
            + f". The shipped rule assumes {d['shipped_slope']:g}.\n\n")
    rows = [[f"{r['slope']:g}" + (" (shipped)" if r["slope"] == d["shipped_slope"] else ""), str(r["raised"]),
             _num(r["mean_start_vmaf"]), _num(r["mean_raise_crf"]), _num(r["mean_end_vmaf"]),
             _num(100 * r["share_end_below_target"], "{:.1f}%"), _num(100 * r["share_end_missed"], "{:.1f}%"),
             _num(r["worst_end_vmaf"])] for r in d["replay"]]
    out = head + md_table(["assumed VMAF per CRF step", "raises", "VMAF before", "mean raise (CRF)", "VMAF after",
                           f"after < {d['target_vmaf']:g}", f"after < {d['target_vmaf'] - 0.5:g}", "worst after"],
                          rows, [False] + [True] * 7)
    if "lower" in d:
        t = d["target_vmaf"]
        rows = [[f"{r['slope']:g}" + (" (shipped)" if r["slope"] == d["shipped_lower_slope"] else ""),
                 str(r["lowered"]), _num(r["mean_drop_crf"]), _num(r["mean_end_vmaf"]),
                 _num(100 * r["share_end_below_target"], "{:.1f}%"), _num(100 * r["share_still_missed"], "{:.1f}%")]
                for r in d["lower"]]
        out += (f"\n\nMisses lowered (readings {t - d['shortfall']:g} to {t - 0.5:g}, whole steps, at least one):\n\n"
                + md_table(["assumed VMAF per CRF step", "lowered", "mean drop (CRF)", "VMAF after", f"after < {t:g}",
                            f"still < {t - 0.5:g}"], rows, [False] + [True] * 5))
    for lp in (d.get("loop"), d.get("loop_probe")):
        if not (lp or {}).get("rows"):
            continue
        rows = [[f"{r['confidence']:g}", _num(r["margin"]), _num(100 * r["first_pass_missed"], "{:.0f}%"),
                 _num(r["first_pass_saving_vs_crf23_pct"], "{:+.1f}%"), _num(r["saving_vs_crf23_pct"], "{:+.1f}%"),
                 _num(r["oracle_saving_vs_crf23_pct"], "{:+.1f}%"), _num(100 * r["missed"], "{:.1f}%"),
                 _num(r["worst_vmaf"]), _num(r["mean_passes"])] for r in lp["rows"]]
        shipped = TIGHTEN_CONFIDENCE.get(lp["mode"])
        for r, row in zip(lp["rows"], rows):
            row[0] += " (shipped)" if r["confidence"] == shipped else ""
        out += (f"\n\nThe whole loop, {lp['mode']} mode at each `--confidence`, {lp['rows'][0]['n']} shots whose "
                f"passes stay on their measured curves at every level ({lp['estimates']}); savings are means over "
                "shots against CRF 23:\n\n"
                + md_table(["--confidence", "margin", "first pass missed", "first pass saving", "kept pass saving",
                            "oracle saving", f"kept < {t - 0.5:g}", "worst kept", "passes"], rows,
                           [False] + [True] * 8))
    return out


def _provenance_rows() -> list[dict]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import provenance

    return provenance.scan()


def _maybe(rel: str, render: Callable[[dict], str], what: str, how: str) -> Callable[[], str]:
    return lambda: render(_load(rel)) if (ROOT / rel).is_file() else not_committed(what, how)


def confidence_table(d: dict) -> str:
    """`benchmarks/confidence.py`'s simulated bytes and visible shots per --confidence, beside fixed CRFs."""
    def row(name: str, level: str, r: dict) -> list[str]:
        return [name, level, f"{r['mean_crf']:.1f}", f"{r['saving_mean_per_clip']:+.1%}", f"{r['saving_all_bytes']:+.1%}",
                f"{r['visible_share']:.0%}", f"{r['p5_vmaf']:.1f}", f"{r['worst_vmaf']:.1f}"]

    rows = [row("oracle (each shot at its label)", "-", d["oracle"])]
    for mode in ("predict", "probe"):
        rows += [row(mode, p, modes[mode]) for p, modes in d["levels"].items()]
    rows += [row(f"fixed CRF {c}", "-", r) for c, r in d["fixed_crfs"].items()]
    head = (f"{d['shots']} shots of {d['clips']} parent clips, {d['folds']}-fold cross-validation by parent clip "
            f"(margins calibrated on the other folds); trial windows at the planned CRF, interpolated from the label "
            f"build's trial encodes (x264 medium). Savings are fewer bytes than CRF {d['base_crf']:g} (negative: more); "
            f"a shot is visible when its CRF lies above its JND1 (VMAF < 94).")
    return head + "\n\n" + md_table(["plan", "--confidence", "mean CRF", "saving, mean per clip", "saving, all bytes",
                                     "visible shots", "5th-pct shot VMAF", "worst shot VMAF"], rows,
                                    [False, False] + [True] * 6)


def mt3ljnd_table(d: dict, test: dict) -> str:
    """`benchmarks/mt3ljnd_scratch.py` runs beside the shipped models' test-split MAE (`model_card_test.json`)."""
    rows = []
    for r in d["runs"]:
        rc = r["recipe"]
        rows.append([f"MT_3LJND from scratch, {rc['optimizer']}, batch {rc['batch']} (best of {r['epochs_run']} epochs: "
                     f"{r['best_epoch']})", *(f"{v:.2f}" for v in r["test_mae"]), f"{r['fit_seconds']:.0f} s on "
                     f"{r['device']} ({r['backend']})"])
    r0 = d["runs"][0]
    rows.append(["mean of the MT_3LJND training labels", *(f"{v:.2f}" for v in r0["test_mae_mean_predictor"]), "-"])
    for key, label in (("model", "shipped predict-mode model"), ("probe_model", "shipped probe-mode model")):
        if key in test.get("mae", {}):
            rows.append([label, *(f"{v:.2f}" for v in test["mae"][key]), "-"])
    head = (f"Test split, {r0['test_shots']} shots (per-shot MAE in CRF steps, median over each shot's frames); "
            f"MT_3LJND trained on the train split ({r0['images']['train']} images, {r0['params']:,} parameters), "
            f"best val_loss on the valid split kept; input {r0['input_hw'][0]}x{r0['input_hw'][1]}, "
            f"{r0['recipe']['images']}.")
    return head + "\n\n" + md_table(["model", "JND1", "JND2", "JND3", "training time"], rows,
                                    [False, True, True, True, False])


def content_errors_table(d: dict) -> str:
    """JND1 error of the frame model and probe mode per content type, CV (train/valid) and test columns."""
    sets = d["sets"]
    names = {"static_or_slow_camera": "static or slow camera", "computer_generated": "computer-generated",
             "noise_grain": "noise / grain", "shallow_focus": "shallow focus", "high_motion": "high motion",
             "low_light": "low light", "screen": "screen content and text", "natural": "natural (the rest)"}

    def cells(s: dict | None) -> list[str]:
        if not s:
            return ["-", "-", "-", "-"]
        m, p = s.get("model", {}), s.get("probe_model", {})
        cov, near = s.get("fast_covered"), s.get("fast_within_1")
        return [f"{s['clips']} / {s['shots']}", f"{_num(m.get('mean_error'), '{:+.2f}')} / {_num(m.get('mae'))}",
                f"{_num(p.get('mean_error'), '{:+.2f}')} / {_num(p.get('mae'))}",
                "-" if cov is None else f"{100 * cov:.0f}% / {100 * near:.0f}%"]

    rows = [[names.get(t, t), *cells(sets["cv"]["by_type"].get(t)), *cells(sets["test"]["by_type"].get(t))]
            for t in d["types"]]
    rows.append(["**all real clips**", *cells(sets["cv"]["all"]), *cells(sets["test"]["all"])])
    head = (f"JND1, x264 CRF, predicted minus label (negative: too low a CRF, bytes spent), mean error / MAE; "
            f"{sets['cv']['what']} | {sets['test']['what']}; real clips only (commit {d['commit']}, "
            "`benchmarks/content_errors.py`). Fast covered: shots whose `--effort fast` CRF (probe mode at "
            f"`--confidence {d['fast']['confidence']:g}`: its JND1 less a margin that grows with the shot's "
            "predicted spread, margins calibrated out of fold in CV, the shipped ones on the test split) is at or "
            f"under the label (asked for: {100 * d['fast']['confidence']:.0f}%) / at most one CRF step above it.")
    return head + "\n\n" + md_table(
        ["content type", "CV clips / shots", "CV frame model", "CV probe mode", "CV fast covered / within 1",
         "test clips / shots", "test frame model", "test probe mode", "test fast covered / within 1"], rows,
        [False] + [True] * 8)


def batch_learning_table(d: dict) -> str:
    """Per series (one long clip cut into episodes): the batch without and with learning, side by side."""
    rows = []
    for se in d["series"]:
        for key, name in (("no_learn", "--no-learn"), ("learn", "learning")):
            r = se["runs"].get(key)
            if r is None:
                continue
            q = r["learning"]["quarters"]
            rows.append([f"{se['clip']} ({se['split']}), {se['episodes']} x {se['frames_each']} frames", name,
                         f"{q[0]['start_mae']:.2f} -> {q[-1]['start_mae']:.2f}",
                         f"{q[0]['model_mae']:.2f} -> {q[-1]['model_mae']:.2f}",
                         f"{q[0]['attempts_per_shot']:.2f} -> {q[-1]['attempts_per_shot']:.2f}",
                         f"{r['attempts_per_shot']:.2f}", f"{r['vs_crf23_pct']:+.1f}%", f"{r['worst_shot']:.2f}",
                         f"{100 * r['share_shots_le_95_5']:.0f}%", f"{r['wall_vs_plain']:.2f}x"])
    head = (f"`jndenc batch` (balanced, `--jobs 1`, one core) over each series in input order, commit {d['commit']} "
            f"({d['machine']}). Start and model error: mean absolute error in x264 CRF against where each shot's "
            "attempts put the aim, first -> last quarter of the series; attempts per shot the same; then over the "
            "whole series: attempts per shot, bytes against `-crf 23` of the same episodes, worst shot VMAF, shots "
            "<= 95.5, wall time over the plain encodes'.")
    return head + "\n\n" + md_table(
        ["series (split)", "run", "start error", "model error", "attempts/shot", "attempts/shot (all)",
         "bytes vs CRF 23", "worst shot", "<= 95.5", "time vs plain"], rows, [False, False] + [True] * 8)


def codec_starts_table(res: dict) -> str:
    """Per codec row of a segments run: how far the first attempt was from where the shot's attempts put the aim
    (the encoder's own CRF units), how often it landed in the band, and the attempts per shot."""
    from jndenc import loop as L
    from jndenc.starts import codec_scale

    rows = []
    for row in res["options"]["rows"]:
        if row == "crf23" or row == "oracle":
            continue
        codec, _, encoder = (row.partition("@")[2] or "x264").partition(":")
        per_step = codec_scale(codec, encoder or None)[1] if codec in ("av1", "vp9") else 1.0
        errs, first_in, shots, attempts = [], 0, 0, 0
        for c in res["clips"]:
            r = c["rows"].get(row) or {}
            band = r.get("loop", {}).get("band")
            if not band:
                continue
            b = L.Band(94.0, band["low"], band["high"], band["aim"])
            for seq, outcome in zip(r["attempts"], r["outcome"]):
                att = [L.Attempt(crf, vmaf, 0) for crf, vmaf in seq]
                shots += 1
                attempts += len(att)
                first_in += b.contains(att[0].vmaf)
                if outcome != "clamped":
                    errs.append(abs(att[0].crf - L.aim_crf(att, b, slope=L.DEFAULT_SLOPE / per_step, scale=per_step)))
        if not shots:
            continue
        errs.sort()
        rows.append([f"`{row}`", str(shots), f"{100 * first_in / shots:.0f}%", f"{attempts / shots:.2f}",
                     f"{errs[len(errs) // 2]:.2f}", f"{sum(errs) / len(errs):.2f}", f"{per_step:.2f}"])
    head = (f"The first attempt against where each shot's attempts put the aim (`jndenc.loop.aim_crf`; shots at "
            f"the max-CRF clamp left out), in the encoder's own CRF units, from the run above (commit "
            f"`{res['commit']}`). One x264 CRF step is worth the last column's steps of that encoder at equal VMAF "
            "(`jndenc/assets/codec_scales.json`), so divide by it to compare with x264.")
    return head + "\n\n" + md_table(["row", "shots", "first attempt in band", "attempts per shot",
                                      "start error, median", "start error, mean", "codec steps per x264 step"],
                                     rows, [False] + [True] * 6)


def batch_learning_reading(d: dict) -> str:
    """The issue's test of batch learning, read off the same JSON: the last quarter's start error over the first's."""
    lines = []
    for se in d["series"]:
        on, off = se["runs"]["learn"], se["runs"]["no_learn"]
        q = on["learning"]["quarters"]
        ratio = q[-1]["start_mae"] / q[0]["start_mae"] if q[0]["start_mae"] else float("nan")
        lines.append(f"- `{se['clip']}` ({se['split']}): last quarter's start error {100 * ratio:.0f}% of the first's "
                     f"({'within' if ratio <= 0.7 else 'above'} 70%); attempts per shot {off['attempts_per_shot']:.2f} "
                     f"-> {on['attempts_per_shot']:.2f} against `--no-learn`, time vs plain "
                     f"{off['wall_vs_plain']:.2f}x -> {on['wall_vs_plain']:.2f}x, bytes vs CRF 23 "
                     f"{off['vs_crf23_pct']:+.1f}% -> {on['vs_crf23_pct']:+.1f}%, worst shot {off['worst_shot']:.2f} -> "
                     f"{on['worst_shot']:.2f}.")
    return "\n".join(lines)


def loop_waves_table(d: dict) -> str:
    """Before/after rows of the two-wave experiment, each from its own run and commit."""
    rows = []
    for key, name in (("before", "every piece from the model's estimate"),
                      ("after", "later pieces from the first piece's aim"),
                      ("uncapped", "the same, rerun later (the commit before the cap)"),
                      ("capped", "and their attempts stop a step above the first piece's kept CRF")):
        if key not in d["runs"]:
            continue
        r = d["runs"][key]
        s = r["summary"]["balanced"]
        rows.append([name, f"`{r['commit']}`", str(s["shots"]), f"{s['encoded_over_output_frames']:.2f}x",
                     f"{s['wall_vs_plain_median']:.2f}x", f"{s['cpu_vs_plain_median']:.2f}x",
                     f"{s['mean_per_clip_saving_pct']:+.1f}%", f"{s['worst_shot']:.2f}",
                     f"{100 * s['share_shots_le_95_5']:.0f}%"])
    clips = ", ".join(f"`{c['clip']}`" for c in d["runs"]["after"]["clips"])
    head = (f"Balanced on the first 600 frames of {clips} (training and validation clips whose shots run past "
            "`--max-shot-seconds`), one run per row on one core (`benchmarks/results/loop_waves.json`).")
    return head + "\n\n" + md_table(["later pieces start", "commit", "shots", "frames encoded / output",
                                      "time vs plain (median)", "CPU vs plain (median)", "saving per clip vs CRF 23",
                                      "worst shot", "<= 95.5"], rows, [False, False] + [True] * 7)


def loop_first_piece_table(d: dict) -> str:
    """The first-piece experiment: per variant, bytes against no first piece, frames, time, worst shot."""
    import statistics

    clips = d["clips"]
    base = sum(c["variants"]["none"]["bytes"] for c in clips.values())
    rows = []
    for key, name in (("none", "no first piece (kept)"), ("1s", "first 1 s of each shot"),
                      ("2s", "first 2 s of each shot")):
        vs = [(c, c["variants"][key]) for c in clips.values() if key in c["variants"]]
        if len(vs) != len(clips):
            continue
        b = sum(v["bytes"] for _, v in vs)
        enc = sum(v["encoded_over_output_frames"] * c["frames"] for c, v in vs) / sum(c["frames"] for c, _ in vs)
        vm = [x for _, v in vs for x in v["vmaf"]]
        worse = sum(v["bytes"] > c["variants"]["none"]["bytes"] * 1.02 for c, v in vs)
        rows.append([name, f"{100 * (b / base - 1):+.1f}%", str(worse), f"{enc:.2f}x",
                     f"{statistics.median(v['wall_s'] / c['plain_s'] for c, v in vs):.2f}x",
                     f"{min(vm):.2f}", str(sum(x > 95.5 for x in vm))])
    by_len = ", ".join(f"{sum(c['frames'] == n for c in clips.values())} at their first {n} frames"
                       for n in sorted({c["frames"] for c in clips.values()}))
    head = (f"Balanced with and without a short first piece per shot on {len(clips)} training and validation clips "
            f"({by_len}), commit `{d['commit']}`, one core "
            "(`benchmarks/experiments/loop_first_piece.py`, `benchmarks/results/loop_first_piece.json`); VMAF per "
            "shot of the run without first pieces, on the finished file.")
    return head + "\n\n" + md_table(["each shot starts with", "bytes vs no first piece", "clips > 2% more bytes",
                                      "frames encoded / output", "time vs plain (median)", "worst shot",
                                      "shots > 95.5"], rows, [False] + [True] * 6)


def loop_rise_table(d: dict) -> str:
    """A step up's steepness (`jndenc.loop.rise`): replayed candidates, then the measured runs."""
    replay = [[r["rule"] + (" (shipped)" if r["shipped"] else ""), f"{r['attempts_per_shot']:.2f}",
               f"{100 * r['kept_in_band']:.0f}%", f"{r['worst_kept']:.2f}"] for r in d["replay"]]

    def row(name: str, r: dict, tree: str = "") -> list[str]:
        return [name, f"`{', '.join(r['commit'])}`{tree}", str(r["shots"]), f"{r['attempts_per_shot']:.2f}",
                f"{r['encoded_over_output_frames']:.2f}x", f"{r['wall_vs_plain_median']:.2f}x",
                f"{100 * r['kept_in_band']:.0f}%", f"{100 * r['share_le_95_5']:.0f}%", f"{r['worst_shot']:.2f}"]
    rows = [row("none (before)", d["before"]), row("ramp, at most 3 (shipped)", d["after"])]
    rows += [row(f"constant 2.5 ({len(x['clips_run'])} training clips only)", x, " with the constant, not committed")
             for x in d.get("also", [])]
    n = d["before"]["shots"]
    head = (f"Balanced on {len(d['clips'])} training and validation clips ({n} shots, first 240 frames each), one core "
            "(`benchmarks/experiments/loop_rise.py`, `benchmarks/results/loop_rise.json`). Replayed on the curves "
            "every run measured (d: how far above the aim the attempt read, on the headroom scale):")
    return (head + "\n\n" + md_table(["rise", "attempts per shot", "kept in the band", "worst kept"], replay,
                                      [False, True, True, True])
            + "\n\nMeasured, one run per row (VMAF per shot on the finished file; bytes: ramp "
            + f"{d['after']['bytes_vs_before_pct']:+.1f}% against none):\n\n"
            + md_table(["rise", "commit", "shots", "attempts per shot", "frames encoded / output",
                        "time vs plain (median)", "kept in the band", "<= 95.5", "worst shot"], rows,
                       [False, False] + [True] * 7))


def _against_before(r: dict) -> list[str]:
    """A before/after experiment's closing cells: bytes against the run before, worst shot, shots <= 95.5, time."""
    return [f"{r['bytes_vs_before_pct']:+.1f}%" if "bytes_vs_before_pct" in r else "-", f"{r['worst_shot']:.2f}",
            f"{100 * r['share_le_95_5']:.0f}%", f"{r['wall_vs_plain_median']:.2f}x / {r['wall_vs_plain_worst']:.2f}x"]


def loop_groups_table(d: dict) -> str:
    """Short shots in shared segments (`jndenc.loop.short_groups`): each row's run before and after."""
    rows = []
    for row, name in (("balanced", "x264"), ("balanced@av1", "SVT-AV1")):
        for key, what in (("before", "every shot its own segment"), ("after", "shots under 1 s share one")):
            r = d["rows"][row][key]
            rows.append([name, what + (" (rejected)" if key == "after" else ""), f"`{r['commit']}`",
                         f"{r['shots']}", f"{r['segments']}", f"{r['encodes']}",
                         f"{r['encoded_over_output_frames']:.2f}x", f"{r['bytes']:,}", *_against_before(r)])
    head = (f"Balanced on {len(d['clips'])} training and validation clips with short shots (first {d['frames']} "
            "frames each), the two runs each pinned to its own core (`benchmarks/experiments/loop_groups.py`, "
            "`benchmarks/results/loop_groups.json`); VMAF per shot on the finished file, time over a plain "
            "`-crf 23` x264 encode in the same process:")
    return head + "\n\n" + md_table(["codec", "variant", "commit", "shots", "segments", "encodes",
                                      "frames encoded / output", "bytes", "bytes vs before", "worst shot",
                                      "<= 95.5", "time vs plain, median / worst"], rows,
                                     [False, False, False] + [True] * 9)


def loop_probe_start_table(d: dict) -> str:
    """The loop started from the probe model's estimate against the frame model's."""
    rows = []
    for key, what in (("before", "the frame model's estimate (kept)"), ("after", "probe mode's estimate")):
        r = d[key]
        rows.append([what, f"`{r['commit']}`", f"{r['shots']}", f"{100 * r['first_in_band']:.0f}%",
                     f"{r['attempts_per_shot']:.2f}", f"{r['encoded_over_output_frames']:.2f}x",
                     f"{r['analysis_s']:.1f} s", f"{r['attempts_s']:.1f} s", *_against_before(r)])
    head = (f"Balanced on {len(d['clips'])} training and validation clips (first {d['frames']} frames each), the "
            "two runs each pinned to its own core (`benchmarks/experiments/loop_probe_start.py`, "
            "`benchmarks/results/loop_probe_start.json`); frames encoded include the probes'; VMAF per shot on the "
            "finished file, time over a plain `-crf 23` x264 encode in the same process:")
    return head + "\n\n" + md_table(["first attempts start at", "commit", "shots", "first attempt in the band",
                                      "attempts per shot", "frames encoded / output", "analysis", "attempts",
                                      "bytes vs before", "worst shot", "<= 95.5", "time vs plain, median / worst"],
                                     rows, [False, False] + [True] * 10)


def probe_scale_table(d: dict) -> str:
    """`benchmarks/experiments/probe_scale.py`: the probe at a fraction of the frame size."""
    rows = [[r["estimate"], f"{r['cv_mae']:.2f} ({r['cv_bias']:+.2f})", f"{r['test_mae']:.2f} ({r['test_bias']:+.2f})",
             "-" if r["probe_cpu_s"] is None else f"{r['probe_cpu_s']:.2f} s"] for r in d["rows"]]
    head = (f"JND1 MAE (mean error) in x264 CRF on the real clips' labelled shots ({d['shots']['cv']} of the train and "
            f"valid splits, 5-fold cross-validation by clip; {d['shots']['test']} of the test split, reported, chosen "
            "on nothing); the probe: the middle second of each shot encoded with x264 medium at the frame model's "
            "estimate rounded and scored on every frame against the source at the same size; CPU: the median "
            f"probe's encode and score, one thread, its decode not counted; commit `{d['commit']}` "
            "(`benchmarks/experiments/probe_scale.py`, `benchmarks/results/probe_scale.json`):")
    return head + "\n\n" + md_table(["estimate", "CV", "test split", "probe CPU"], rows, [False, True, True, True])


def loop_returns_table(d: dict) -> str:
    """Shots that cut back to an earlier one, started from the model's estimate or from the earlier shot."""
    rows = []
    for key, what in (("before", "the model's estimate"), ("after", "the earlier shot's measured aim (kept)"),
                      ("variant", "the earlier shot's kept CRF")):
        if key not in d:
            continue
        r = d[key]
        tree = " with the variant, not committed" if key == "variant" else ""
        rows.append([what, f"`{r['commit']}`{tree}", f"{r['shots']}", f"{100 * r['first_attempt_in_band']:.0f}%",
                     f"{r['attempts_per_shot']:.2f}", f"{r['encoded_over_output_frames']:.2f}x",
                     f"{r['attempts_s']:.1f} s", *_against_before(r)])
    head = (f"Balanced on {len(d['clips'])} edits of two training or validation clips each, cut A B A B A B in "
            f"pieces of 2 s ({d['frames']} frames, 640x360; `benchmarks/experiments/loop_returns.py build`), the "
            "first two runs each pinned to its own core, the third after them (`benchmarks/results/loop_returns.json`); VMAF per shot on the "
            "finished file, time over a plain `-crf 23` x264 encode in the same process:")
    return head + "\n\n" + md_table(["shots that cut back start from", "commit", "shots", "first attempt in the band",
                                      "attempts per shot", "frames encoded / output", "attempts",
                                      "bytes vs before", "worst shot", "<= 95.5", "time vs plain, median / worst"],
                                     rows, [False, False] + [True] * 9)


def _replay_commits(d: dict) -> str:
    """The commits of the runs a replay read (`loop_start_shift.runs_header`), as the tables name them."""
    return ", ".join(f"`{r['commit']}`" for r in [d["first"]] + d["also"])


def _replay_intro(d: dict, shots: int) -> str:
    """How a replay table begins: the shots and clips it replayed, the runs whose attempts make the curves."""
    return (f"Replayed on {shots} shots of {len(d['first']['clips'])} training and validation clips, curves through "
            f"the attempts of {1 + len(d['also'])} runs (commits {_replay_commits(d)}; {d['curves_with_one_point']} "
            "shots measured at one CRF only, given the default slope)")


def replay_table(d: dict, column: str, label: Callable[[dict], str], script: str, bytes_key: str) -> str:
    """A loop rule replayed on measured curves, one row per candidate (`loop_start_shift.py`,
    `loop_secant_cap.py`)."""
    rows = [[label(r), f"{100 * r['first_in_band']:.0f}%", f"{r['attempts_per_shot']:.2f}",
             f"{100 * r['kept_in_band']:.0f}%", f"{100 * r['share_le_95_5']:.0f}%", f"{r['worst_kept']:.2f}",
             f"{r[bytes_key]:+.1f}%"] for r in d["replay"]]
    head = (f"{_replay_intro(d, d['replay'][0]['shots'])}, `benchmarks/experiments/{script}.py`, "
            f"`benchmarks/results/{script}.json`; bytes modelled as exp(-0.11 CRF):")
    return head + "\n\n" + md_table([column, "first attempt in the band", "attempts per shot", "kept in the band",
                                      "<= 95.5", "worst kept", "bytes"], rows, [False] + [True] * 6)


def loop_start_shift_table(d: dict) -> str:
    """The first attempt moved by a constant, replayed on measured curves."""
    return replay_table(d, "start moved by (CRF)",
                        lambda r: f"{r['shift']:+.1f}" + (" (kept)" if r["shift"] == 0 else ""),
                        "loop_start_shift", "bytes_vs_no_shift_pct")


def loop_secant_cap_table(d: dict) -> str:
    """A secant's move limited to a multiple of its span, replayed on measured curves."""
    return replay_table(d, "a secant's move at most",
                        lambda r: "no limit" if r["limit"] is None
                        else f"{r['limit']:g}x its span" + (" (kept)" if r["limit"] == 1.5 else ""),
                        "loop_secant_cap", "bytes_vs_no_limit_pct")


def loop_band_table(d: dict) -> str:
    """The band's upper edge moved, replayed on measured curves (`experiments/loop_band.py`)."""
    rows = [[f"+{r['above']:g}" + (" (balanced, kept)" if r["above"] == 1.0 else
                                   " (thorough's)" if r["above"] == 0.5 else ""),
             f"{r['band'][0]:.2f}-{r['band'][1]:.2f}", f"{100 * r['first_in_band']:.0f}%",
             f"{r['attempts_per_shot']:.2f}", f"{r['frame_weighted_attempts']:.2f}x", f"{100 * r['kept_in_band']:.0f}%",
             f"{100 * r['share_le_95_5']:.0f}%", f"{r['worst_kept']:.2f}", f"{r['bytes_vs_balanced_pct']:+.1f}%"]
            for r in d["replay"]]
    head = (f"{_replay_intro(d, d['shots'])}, budget {d['budget']}, `benchmarks/experiments/loop_band.py`, `benchmarks/results/loop_band.json`; frames "
            "encoded modelled as attempts weighted by each shot's frames, bytes as exp(-0.11 CRF):")
    return head + "\n\n" + md_table(["band's upper edge above the target", "band", "first attempt in the band",
                                      "attempts per shot", "frames encoded / output", "kept in the band", "<= 95.5",
                                      "worst kept", "bytes"], rows, [False] + [True] * 8)


def loop_above_budget_table(d: dict) -> str:
    """Budgets that end sooner for shots measured only above the band, replayed (`experiments/loop_above_budget.py`)."""
    rows = [[r["rule"], f"{100 * r['first_in_band']:.0f}%", f"{r['attempts_per_shot']:.2f}",
             f"{r['frame_weighted_attempts']:.2f}x", f"{100 * r['kept_in_band']:.0f}%", f"{100 * r['share_le_95_5']:.0f}%",
             f"{r['worst_kept']:.2f}", f"{r['bytes_vs_kept_pct']:+.1f}%"] for r in d["replay"]]
    head = (f"{_replay_intro(d, d['shots'])}, balanced's band, `benchmarks/experiments/loop_above_budget.py`, `benchmarks/results/loop_above_budget.json`; frames "
            "encoded modelled as attempts weighted by each shot's frames, bytes as exp(-0.11 CRF):")
    return head + "\n\n" + md_table(["attempts end", "first attempt in the band", "attempts per shot",
                                      "frames encoded / output", "kept in the band", "<= 95.5", "worst kept",
                                      "bytes"], rows, [False] + [True] * 7)


def own_reference_table(d: dict) -> str:
    """A short segment's scorer on a decoder of its own, against the encoder's (`experiments/own_reference.py`)."""
    kinds = sorted({r["kind"] for r in d["rows"]}, key=lambda k: (k == "probe", int(k.split()[-1]) if k != "probe"
                                                                  else 0))
    rows = []
    for k in kinds:
        rs = [r for r in d["rows"] if r["kind"] == k]
        cpu = sorted(r["cpu_own_over_shared"] for r in rs)
        mem = sorted(r["peak_own_over_shared"] for r in rs)
        rows.append([k if k == "probe" else f"attempt of {k.split()[-1]} frames", str(len(rs)),
                     f"{statistics.median(cpu):.2f}x ({cpu[0]:.2f}-{cpu[-1]:.2f})",
                     f"{statistics.median(mem):.2f}x ({mem[0]:.2f}-{mem[-1]:.2f})",
                     f"{max(r['shared_peak_mib'] for r in rs):,} MiB",
                     "yes" if all(r["same_packets"] and r["same_scores"] for r in rs) else "no"])
    head = (f"{len(d['clips'])} clips of 720p to 1080p (from 40% of the way in), x264 medium, each run both ways twice "
            f"in a child process, commit `{d['commit']}` (`benchmarks/experiments/own_reference.py`, "
            "`benchmarks/results/own_reference.json`); the scorer's source frames from a second decoder over the "
            "encoder's, median and range over the clips:")
    return head + "\n\n" + md_table(["run", "clips", "CPU", "peak memory", "largest peak, one decoder",
                                      "same packets and scores"], rows, [False, True, True, True, True, False])


def uhd_memory_table(d: dict) -> str:
    """An attempt's peak memory at 2160p against the estimate, decoders on jndenc's threads and on FFmpeg's
    many-core default (`experiments/uhd_memory.py`)."""
    rows = []
    keys = sorted({(r["bit_depth"], r["encoder"], r["frames"]) for r in d["rows"]})
    for depth, enc, n in keys:
        rs = sorted((r for r in d["rows"] if (r["bit_depth"], r["encoder"], r["frames"]) == (depth, enc, n)),
                    key=lambda r: r["decoder_threads"])
        ours, many = rs[0], rs[-1]
        rows.append([f"{depth}-bit", enc, str(n), f"{ours['estimate_mib']:,} MiB",
                     f"{ours['peak_mib']:,} MiB ({ours['peak_over_estimate']:.2f}x)",
                     f"{many['peak_mib']:,} MiB ({many['peak_over_estimate']:.2f}x)",
                     f"{many['cpu_s'] / ours['cpu_s']:.2f}x"])
    threads = sorted({r["decoder_threads"] for r in d["rows"]})
    head = (f"One attempt on a 2160p cut of {', '.join(f'`{c}`' for c in d['clips'])} (Lanczos upscale; H.264 at 8 "
            f"bits, HEVC Main 10 at 10 bits), in a child process on one core, commit `{d['commit']}` "
            "(`benchmarks/experiments/uhd_memory.py`, `benchmarks/results/uhd_memory.json`); peak resident memory "
            f"(and over the estimate) with both decoders on jndenc's {threads[0]} threads and on {threads[-1]} "
            "(FFmpeg's own choice on a machine of 15 cores or more); CPU of the latter over the former:")
    return head + "\n\n" + md_table(["source", "encoder", "frames", "estimate", f"peak, {threads[0]} decoder threads",
                                      f"peak, {threads[-1]}", "CPU"], rows,
                                     [False, False, True, True, True, True, True])


def batch_slope_table(d: dict) -> str:
    """Batch learning rules replayed on series encoded without learning (`experiments/batch_slope.py`)."""
    rows = []
    for se in d["series"]:
        for name, r in [("no learning", se["no_learning"]), *se["rules"].items()]:
            q = r["quarters"]
            rows.append([f"`{se['clip']}` ({se['split']}, {se['files']} files, {se['shots']} shots)", name,
                         f"{q[0]:.2f}", f"{q[-1]:.2f}", "-" if r["last_over_first"] is None or name == "no learning"
                         else f"{100 * r['last_over_first']:.0f}%", f"{r['mae']:.2f}"])
    commits = ", ".join(sorted({f"`{r['commit']}`" for r in d["runs"]}))
    head = ("Each series encoded once without learning (`batch_learning.py --runs no_learn`, commit "
            f"{commits}, one core); each rule replayed on its labels in input order, every file corrected from the "
            "files before it; the start's mean absolute error (x264 CRF) against where each shot's attempts put "
            "the aim (`benchmarks/experiments/batch_slope.py`, `benchmarks/results/batch_slope.json`):")
    return head + "\n\n" + md_table(["series", "rule", "first quarter", "last quarter", "last / first",
                                      "whole series"], rows, [False, False, True, True, True, True])


def batch_sources_table(d: dict) -> str:
    """One offset for a batch against one per source, replayed on libraries of series (`experiments/batch_sources.py`)."""
    short = {n: n.rsplit(".", 1)[0].split("_")[0][:10] for n in d["series"]}
    rows = []
    for lib in d["libraries"]:
        name = " + ".join(f"{short[n]}" for n in lib["series"]) + (" (with the test series)" if lib["with_test"] else "")
        for how, rules in lib["orders"].items():
            a, b, c = rules["one offset"], rules["per source"], rules["each source alone"]
            worst = lambda r: max(v["last_quarter"] for v in r["series"].values())  # noqa: E731
            rows.append([name, how, f"{a['mae']:.2f}", f"{b['mae']:.2f}", f"{c['mae']:.2f}", f"{worst(a):.2f}",
                         f"{worst(b):.2f}"])
    series = "; ".join(f"`{n}` = {short[n]} ({s['split']}, {s['files']} files, mean residual {s['mean_residual']:+.2f})"
                       for n, s in d["series"].items())
    head = ("Series encoded once without learning (`batch_learning.py --runs no_learn`, commit "
            f"`{d['commit']}`, one core; `benchmarks/results/batch_series.json`): {series}. Each library replayed in "
            "input order, every file corrected from the files before it, with one offset for the whole batch "
            "(`jndenc.learn.offset`, before), one per source (`jndenc.learn.source_offset`, now) and, for comparison, "
            "each source alone (its own files shrunk toward zero, so a new series starts at the model); the start's mean "
            "absolute error (x264 CRF) against where each shot's attempts put the aim; order `folders`: each series' "
            "files together (a recursive folder scan), `interleaved`: one of each in turn "
            "(`benchmarks/experiments/batch_sources.py`, `benchmarks/results/batch_sources.json`):")
    return head + "\n\n" + md_table(["library", "order", "start error, one offset", "start error, per source",
                                      "start error, each source alone", "worst series' last quarter, one offset",
                                      "worst series' last quarter, per source"],
                                     rows, [False, False, True, True, True, True, True])


def batch_library_table(d: dict) -> str:
    """A library of series through one learning batch, at the commits before and after per-source learning
    (`experiments/batch_library.py`)."""
    rows = []
    for r in d["runs"]:
        rule = "one offset" if r["sources"] == 1 else f"per source ({r['sources']} folders)"
        for name, s in r["series"].items():
            rows.append([f"`{r['commit']}`", rule, f"`{name}` ({s['split']}, {s['files']} files)",
                         f"{s['start_mae_first_quarter']:.2f} -> {s['start_mae_last_quarter']:.2f}",
                         f"{s['start_mae']:.2f}", f"{s['attempts_per_shot']:.2f}", "", "", "", ""])
        rows.append([f"`{r['commit']}`", rule, "the library", "", "", f"{r['attempts_per_shot']:.2f}",
                     f"{r['encoded_over_output_frames']:.2f}x", f"{r['bytes']:,}", f"{r['worst_shot']:.2f}",
                     f"{r['wall_s']:.0f} s"])
    head = ("`jndenc batch --recursive` (balanced, `--jobs 1`) over a library of three series, one folder each, "
            "handed out one folder after another; each run pinned to its own core, side by side "
            "(`benchmarks/experiments/batch_library.py`, `benchmarks/results/batch_library.json`). Start error: "
            "mean absolute error (x264 CRF) against where each shot's attempts put the aim, first -> last quarter "
            "of the series' files, and over them all:")
    return head + "\n\n" + md_table(["commit", "learning", "series", "start error", "start error (all)",
                                      "attempts per shot", "frames encoded / output", "bytes", "worst shot",
                                      "wall time"], rows, [False, False, False] + [True] * 7)


def loop_file_learning_table(d: dict) -> str:
    """Later shots of a file started from its earlier shots' labels, replayed on measured curves."""
    names = {"none": "every shot from the model (kept)", "lead": "the first shot, then the rest from it",
             "lead2": "the first two shots, then the rest from them", "sequential": "each shot from all before it"}
    rows = [[r["clips"], names[r["scheme"]], str(r["shots"]), f"{r['start_mae']:.2f}",
             f"{100 * r['first_in_band']:.0f}%", f"{r['attempts_per_shot']:.2f}",
             f"{r['frame_weighted_attempts']:.2f}x", f"{100 * r['kept_in_band']:.0f}%", f"{r['worst_kept']:.2f}",
             f"{r['bytes_vs_none_pct']:+.1f}%"] for r in d["replay"]]
    commits = _replay_commits(d)
    head = (f"Replayed on {len(d['first']['clips'])} training and validation clips, curves through the attempts of "
            f"{1 + len(d['also'])} runs (commits {commits}; {d['curves_with_one_point']} shots measured at one CRF "
            "only, given the default slope); a shot's correction is `jndenc.learn.offset` over the labels of the shots "
            "it learns from, each counted as one file; `benchmarks/experiments/loop_file_learning.py`, "
            "`benchmarks/results/loop_file_learning.json`; bytes modelled as exp(-0.11 CRF):")
    return head + "\n\n" + md_table(["clips", "later shots start from", "shots", "start error (MAE, CRF)",
                                      "first attempt in the band", "attempts per shot", "frames encoded / output",
                                      "kept in the band", "worst kept", "bytes"], rows,
                                     [False, False] + [True] * 8)


def loop_start_error_table(d: dict) -> str:
    """The loop replayed from starts of known error: what a better start would buy."""
    rows = [["the model's estimate" if r["width"] is None else f"the aim + N(0, {r['width']:g})",
             f"{r['start_mae']:.2f}", f"{100 * r['first_in_band']:.0f}%", f"{r['attempts_per_shot']:.2f}",
             f"{r['frame_weighted_attempts']:.2f}x", f"{100 * r['kept_in_band']:.0f}%"] for r in d["replay"]]
    commits = _replay_commits(d)
    head = (f"Replayed on {d['shots']} shots of {len(d['first']['clips'])} training and validation clips, curves "
            f"through the attempts of {1 + len(d['also'])} runs (commits {commits}); a start at the CRF where the "
            f"shot's curve meets the aim plus Gaussian error of each width ({d['seeds']} seeds, means), its error "
            "measured against that CRF; `benchmarks/experiments/loop_start_error.py`, "
            "`benchmarks/results/loop_start_error.json`:")
    return head + "\n\n" + md_table(["first attempt at", "start error (MAE, CRF)", "first attempt in the band",
                                      "attempts per shot", "frames encoded / output", "kept in the band"], rows,
                                     [False] + [True] * 5)


def frame_features_table(d: dict, result: str = "frame_features") -> str:
    """`benchmarks/experiments/frame_features.py`: JND1 error of ridges on candidate frame statistics, judged by
    parent-clip CV, by leaving one content type out, and on the test split (real clips only)."""
    def cell(s: dict | None) -> str:
        return "-" if not s else f"{s['mae_real']:.2f} ({s['bias_real']:+.2f})"

    def worst(s: dict | None) -> str:
        if not s:
            return "-"
        t, v = max(s["by_type"].items(), key=lambda kv: abs(kv[1]["bias"]))
        return f"{v['bias']:+.1f} ({t.replace('_', ' ')})"

    rows = []
    for name, cv in d["cv"].items():
        loto = d.get("loto", {}).get(name)
        label = f"{name} (chosen on CV)" if name == d["chosen_on_cv"] else name
        rows.append([label, cell(cv), worst(cv), cell(loto), worst(loto), cell(d["test"].get(name)),
                     worst(d["test"].get(name))])
    cv0 = next(iter(d["cv"].values()))
    t0 = next(iter(d["test"].values()))
    gen = d.get("generated_training_shots")
    extra = (f"; {gen} shots of {len(d['clips']['generated'])} generated clips (`jndenc dataset synth`) join every "
             "training set" if gen else "")
    head = (f"JND1 MAE (mean error) in x264 CRF on real clips ({cv0['shots_real']} train/valid shots, "
            f"{t0['shots_real']} test shots; derived copies train, never judge){extra}, and the content type with "
            f"the largest mean error; ridges refitted per fold, their strength chosen inside the training folds; "
            f"commit `{d['commit']}` (`benchmarks/experiments/frame_features.py`, "
            f"`benchmarks/results/{result}.json`):")
    return head + "\n\n" + md_table(
        ["predictor", "CV by parent clip", "CV worst type", "one type held out", "held-out worst type",
         "test split", "test worst type"], rows, [False] + [True] * 6)


def provenance_table(rows: list[dict]) -> str:
    """`benchmarks/provenance.py`: every committed result, its role and the clips it read by split."""
    order = {"choice": 0, "model": 1, "report": 2}
    body = []
    for r in sorted(rows, key=lambda r: (order.get(r["role"], 3), r["path"])):
        n = r["train"] + r["valid"] + r["test"]
        body.append([r["role"], f"`{r['path']}`", r["what"],
                     f"{r['train']} / {r['valid']} / {r['test']}" if n else "not named in it", r["known"] or ""])
    head = ("Every committed result, what it chose or measures, and the shared clips its JSON names by today's "
            "split (`weights/training_clips.json`; a derived copy counts for its parent); "
            "`benchmarks/provenance.py --check` fails if a choice reads a test clip not listed with a note:")
    return head + "\n\n" + md_table(["role", "result", "what it chose or measures", "train / valid / test clips",
                                      "note"], body, [False, False, False, True, False])


def without_test_table(d: dict) -> str:
    """`benchmarks/experiments/without_test.py`: two older choices made again without today's test clips."""
    w, det = d["trial_window"], d["shot_detector"]
    gaps = ", ".join(f"{k} {v['mean_abs_gap']:.2f} ({v['shots']} shots)" for k, v in w["long"].items())
    scores = ", ".join(f"{k} {v['hits']}/{v['true_cuts']} cuts, {v['false_cuts']} false"
                       for k, v in det["scores"].items())
    rows = [["guided mode's trial window", f"{len(w['clips'])} clips", f"mean abs VMAF gap, trial - final: {gaps}",
             f"`{w['chosen']}`", "yes" if w["same"] else f"no (ships `{w['shipped']}`)"],
            ["the shot detector", f"{len(det['labelled_clips'])} labelled + {det['generated_clips']} generated clips",
             scores, f"`{det['chosen']}`", "yes" if det["same"] else f"no (ships `{det['shipped']}`)"]]
    head = (f"Both choices made again from their committed rows without the {d['left_out']['clips']} test clips, by "
            f"the rule each was first made with; commit `{d['commit']}` "
            "(`benchmarks/experiments/without_test.py`, `benchmarks/results/choices_without_test.json`):")
    return head + "\n\n" + md_table(["choice", "data left", "what decides", "chosen", "as shipped"], rows,
                                    [False, False, False, False, False])


def margin_signals_table(d: dict) -> str:
    """Per-shot signals against the size of the model's error (`benchmarks/margin_signals.py`)."""
    rows = [[t["signal"], f"{t['r_abs_error']:+.2f}", f"{t['r_signed_error']:+.2f}", f"{100 * t['r2_abs']:.1f}%"]
            for t in d["signals"]]
    head = (f"{d['shots']} shots, {d['evaluation']} (`{d['source']}`; frame model JND1 MAE {d['frame_model_mae']:.2f} "
            "CRF); `benchmarks/margin_signals.py`, `benchmarks/results/margin_signals.json`:")
    return head + "\n\n" + md_table(["per-shot signal", "r with the error's size", "r with the signed error",
                                      "share of the size's variance it explains"], rows, [False, True, True, True])


def codec_pair_table(d: dict, codecs: dict[str, str], variants: tuple[str, str], script: str,
                     subject: str = "training and validation clips", experiment: str | None = None) -> str:
    """Before/after rows of a codec experiment (`benchmarks/experiments/pair.codec_rows`): ``codecs`` maps each row
    to its name, ``variants`` names the before and after settings; ``subject`` what the clips are, ``experiment``
    the script when it is not named ``script`` (the result file's name)."""
    rows = []
    for row, name in codecs.items():
        for key, what in zip(("before", "after"), variants):
            r = d["rows"][row][key]
            rows.append([name, what, f"`{r['commit']}`", f"{r['shots']}", f"{r['attempts_per_shot']:.2f}",
                         f"{r['encoded_over_output_frames']:.2f}x", f"{r['bytes']:,}", *_against_before(r)])
    head = (f"Balanced on {len(d['clips'])} {subject} (first {d['frames']} frames each), each run "
            f"pinned to one core (`benchmarks/experiments/{experiment or script}.py`, "
            f"`benchmarks/results/{script}.json`); VMAF per shot on the finished file, time over a plain "
            "`-crf 23` x264 encode in the same process:")
    return head + "\n\n" + md_table(["codec", "setting", "commit", "shots", "attempts per shot",
                                      "frames encoded / output", "bytes", "bytes vs before", "worst shot",
                                      "<= 95.5", "time vs plain, median / worst"], rows,
                                     [False, False, False] + [True] * 8)


def vmaf_subsample_table(d: dict) -> str:
    """libvmaf's every-Nth-frame mean against the full mean on the loop's attempts (the choice's view): the mean
    the loop takes (`sampled_mean`) at every stride, and the plain mean of the scored frames beside it."""
    t = d["time"]

    rows = [[f"every {ordinal(r['every'])} frame" + (", plain mean" if r["estimate"] == "gap" else ""),
             str(r["pieces"]), f"{r['mean_gap']:+.2f}", f"{r['mean_abs_gap']:.2f}", f"{r['p95_abs_gap']:.2f}",
             f"{r['p95_reads_high']:+.2f}", f"{r['max_abs_gap']:.2f}",
             f"{t[str(r['every'])]['vs_full_median']:.2f}x" if str(r["every"]) in t else "-"]
            for r in d["choice"] if r["estimate"] == "gap_first_own_weight" or r["every"] == 5]
    c = d["choice"][0]
    head = (f"{len(d['clips'])} training and validation clips (first 240 frames each), pieces of 1, 3 and 8 s each "
            f"encoded as its own segment at CRF {', '.join(str(x) for x in d['crfs'])} and scored on every frame; "
            f"here the {c['pieces']} pieces of at least {c['min_frames']} frames whose full mean lies between "
            f"{c['vmaf_range'][0]:g} and {c['vmaf_range'][1]:g}, gap = sampled mean - full mean (the first frame "
            "at its own weight, as the loop takes it, unless the row says plain mean). Time: one attempt over "
            "each whole cut against the same attempt scored on every frame (median over clips); commit "
            f"`{d['commit']}` (`benchmarks/experiments/vmaf_subsample.py`, `benchmarks/results/vmaf_subsample.json`):")
    return head + "\n\n" + md_table(["VMAF scored on", "pieces", "mean gap", "mean abs gap", "95th pct abs gap",
                                      "95th pct reading high", "max abs gap", "attempt time vs every frame"],
                                     rows, [False] + [True] * 7)


def vmaf_stride_long_table(d: dict) -> str:
    """Longer strides on long pieces: the gap, whether the recheck window covers it, and the time."""
    t = d["summary"]["cpu_vs_every_frame_median"]
    rows = [[f"{r['frames'][0]}-{r['frames'][1] - 1}" if r["frames"][1] < 10_000 else f"{r['frames'][0]} or more",
             f"every {ordinal(r['every'])} frame", str(r["pieces"]), f"{r['mean_abs_gap']:.2f}",
             f"{r['p95_abs_gap']:.2f}", f"{r['max_reads_high']:+.2f}", str(r["uncovered"]),
             str(r["wider_than_032"]), f"{t[str(r['every'])]:.2f}x"] for r in d["summary"]["rows"]]
    lengths = sorted({p["seconds"] for c in d["clips"] for p in c["pieces"]})
    head = (f"{len(d['clips'])} training and validation clips (first 300 frames each), pieces of "
            f"{' and '.join(f'{x:g}' for x in lengths)} s each encoded as its own segment at CRF "
            f"{', '.join(str(x) for x in d['crfs'])} and scored on every frame; the pieces whose full mean lies "
            "between 90 and 98, gap = sampled mean (`sampled_mean`) - full mean; \"uncovered\": the sample read "
            "higher than the full mean by more than the loop's recheck window at that stride; \"window over 0.32\": "
            "pieces whose window two standard errors wide exceeds 0.32 (a reading near the edge costs a full pass "
            "more often). Time: CPU of one attempt over the whole cut against the same attempt scored on every "
            f"frame (median over clips); commit `{d['commit']}` (`benchmarks/experiments/vmaf_stride_long.py`, "
            "`benchmarks/results/vmaf_stride_long.json`):")
    return head + "\n\n" + md_table(["piece frames", "VMAF scored on", "pieces", "mean abs gap", "95th pct abs gap",
                                      "most reading high", "uncovered", "window over 0.32",
                                      "attempt CPU vs every frame"], rows, [False, False] + [True] * 7)


def codec_svt_tune_table(d: dict, result: str = "codec_svt_tune") -> str:
    """SVT-AV1 settings: bytes at VMAF 94 against jndenc's setting and CPU time, per clip and over the clips."""
    names = [n for n in d["summary"] if n != "jndenc"]
    rows = []
    for c in d["clips"]:
        base = c["settings"]["jndenc"]
        cells = []
        for n in names:
            r = c["settings"][n]
            ok = r["bracketed"] and base["bracketed"]
            cells.append(f"{100 * (r['bytes_at_94'] / base['bytes_at_94'] - 1):+.1f}%" if ok else "-")
        rows.append([f"`{c['clip']}`", ", ".join(str(x) for x in c["crfs"]), *cells])
    s = d["summary"]
    rows.append(["**geometric mean (bytes) / median (CPU)**", "",
                 *[f"{100 * (s[n]['bytes_vs_jndenc_geomean'] - 1):+.1f}% at {s[n]['cpu_vs_jndenc_median']:.2f}x CPU"
                   f" ({s[n]['better_on']} of {s[n]['clips']} fewer)" for n in names]])
    head = (f"SVT-AV1 preset 8 on the first {d['clips'][0]['frames']} frames of {len({c['clip'] for c in d['clips']})} "
            "training and "
            "validation clips, each cut encoded as one segment at four CRFs per setting (jndenc's own settings plus "
            "the one named) and scored on every frame; bytes at VMAF 94 interpolated on log bytes between the two "
            "CRFs around 94, against jndenc's settings (\"-\": the CRFs did not bracket 94 for both); CPU of the "
            f"four encodes against jndenc's, median over clips; commit `{d['commit']}`, one core per process "
            f"(`benchmarks/experiments/codec_svt_tune.py`, `benchmarks/results/{result}.json`):")
    return head + "\n\n" + md_table(["clip", "CRFs", *names], rows, [False, False] + [True] * len(names))


def codec_speeds_table(d: dict) -> str:
    """Each encoder's speed settings against x264 medium's CPU time, the rule's pick and what ships."""
    names = {"libsvtav1": "SVT-AV1 (`-preset`)", "libvpx-vp9": "libvpx-vp9 (`-cpu-used`)",
             "libaom-av1": "libaom-av1 (`-cpu-used`)", "librav1e": "rav1e (`-speed`)",
             "libsvtav1+scm=1": "SVT-AV1 with `scm=1` (not shipped)"}
    rows = [[names.get(k, k), ", ".join(f"{s}: {r:.2f}x" for s, r in e["vs_x264_medium"].items()), str(e["medium"]),
             str(e["shipped"])] for k, e in d["encoders"].items()]
    head = (f"CPU time of one encode of the first {d['frames']} frames of `{d['clip']}` ({d['size'][0]}x"
            f"{d['size'][1]}, a training clip) with jndenc's own arguments at the quality mapped from x264 CRF 23, "
            f"over x264 medium's at CRF 23 ({d['x264_medium_cpu_s']:.2f} s), median of {d['reps']} interleaved runs, "
            f"one core, commit `{d['commit']}` (`benchmarks/codec_speeds.py`, `benchmarks/results/codec_speeds.json`)."
            " The rule: the setting nearest x264 medium's time on the log scale, if one is within a factor of 1.5, "
            "else the fastest one listed:")
    return head + "\n\n" + md_table(["encoder", "time over x264 medium, per setting", "medium by the rule",
                                      "medium as shipped"], rows, [False, False, True, True])


def loop_subsample_table(d: dict) -> str:
    """Balanced with every attempt scored on every frame against every 5th frame with rechecks."""
    rows = []
    for key, what in (("before", "every frame"), ("after", "every 5th frame, rechecked near the lower edge (kept)")):
        r = d[key]
        rows.append([what, f"`{r['commit']}`", str(r["shots"]), f"{r['attempts_per_shot']:.2f}", str(r["rechecks"]),
                     f"{r['encoded_over_output_frames']:.2f}x", f"{r['attempts_s']:.1f} s",
                     f"{r['reading_above_file_max']:+.2f}", f"{100 * r['share_ge_93_5']:.0f}%", *_against_before(r)])
    head = (f"Balanced on {len(d['clips'])} training and validation clips (first {d['frames']} frames each), the "
            "two runs each pinned to its own core (`benchmarks/experiments/loop_subsample.py`, "
            "`benchmarks/results/loop_subsample.json`); VMAF per shot on the finished file (every frame), time over "
            "a plain `-crf 23` x264 encode in the same process; \"loop's reading above the file\": the largest amount "
            "by which the loop's own reading of a kept shot exceeded the finished file's:")
    return head + "\n\n" + md_table(["attempts scored on", "commit", "shots", "attempts per shot", "rechecks",
                                      "frames encoded / output", "attempts", "loop's reading above the file",
                                      ">= 93.5", "bytes vs before", "worst shot", "<= 95.5",
                                      "time vs plain, median / worst"], rows, [False, False] + [True] * 11)


def loop_recheck_table(d: dict, labels: tuple[str, str] = ("every 5th frame, rechecked within 0.32 on either side "
                                                           "of the edge",
                                                           "every 5th frame, rechecked above the edge by up to "
                                                           "0.32 or 2 standard errors"),
                       script: str = "loop_recheck", first_column: str = "readings") -> str:
    """Balanced with two ways of sampling and rechecking its readings (`loop_recheck.py`, `loop_stride.py`)."""
    rows = []
    for key, what in zip(("before", "after"), labels):
        r = d[key]
        rows.append([what, f"`{r['commit']}`", str(r["shots"]), f"{r['attempts_per_shot']:.2f}", str(r["rechecks"]),
                     f"{r['encoded_over_output_frames']:.2f}x", f"{r['attempts_s']:.1f} s",
                     f"{100 * r['share_ge_93_5']:.0f}%", *_against_before(r)])
    head = (f"Balanced on {len(d['clips'])} training and validation clips with more than one shot in their first "
            f"{d['frames']} frames, each run as two processes pinned to one core each "
            f"(`benchmarks/experiments/{script}.py`, `benchmarks/results/{script}.json`); VMAF per shot on "
            "the finished file (every frame), time over a plain `-crf 23` x264 encode in the same process:")
    return head + "\n\n" + md_table([first_column, "commit", "shots", "attempts per shot",
                                      "rechecks", "frames encoded / output", "attempts", ">= 93.5",
                                      "bytes vs before", "worst shot", "<= 95.5", "time vs plain, median / worst"],
                                     rows, [False, False] + [True] * 10)


def dask_spread_table(d: dict) -> str:
    rows = [[str(r["workers"]), f"{r['wall_s']:.1f} s", str(r["shots"]), str(r["pieces_after_first"]),
             str(r["attempts"]), f"{r['bytes']:,}"] for r in d["runs"]]
    clips = d["clip"].split(" + ")
    r = d["runs"][0]
    what = (f"an edited file: the clips {', '.join(f'`{c}`' for c in clips)} one after the other, each fitted into "
            "1920x1080 at 30 fps" if len(clips) > 1 else f"`{clips[0]}`")
    head = (f"`jndenc encode --dask` on the first {d['seconds']:g} s of {what} ({r['shots']} shots and pieces, "
            f"{r['pieces_after_first']} of them later pieces of a long shot), a local Dask cluster of one and of two "
            f"single-thread workers each pinned to its own core, commit `{d['commit']}`: two workers took "
            f"{d['two_over_one']:.2f}x one worker's wall time; outputs byte-identical: "
            f"{'yes' if d['byte_identical'] else 'NO'}.")
    return head + "\n\n" + md_table(["workers", "wall time", "shots and pieces", "later pieces", "attempts",
                                      "bytes"], rows, [True] * 6)


REGIONS: dict[str, Callable[[], str]] = {
    "codec-speeds": _maybe("benchmarks/results/codec_speeds.json", codec_speeds_table, "speed table",
                           "run `benchmarks/codec_speeds.py` on a training clip"),
    "codec-svt-tune2": _maybe("benchmarks/results/codec_svt_tune2.json",
                              lambda d: codec_svt_tune_table(d, "codec_svt_tune2"), "second SVT-AV1 settings study",
                              "run `experiments/codec_svt_tune.py` with the second round's settings"),
    "codec-svt-tune": _maybe("benchmarks/results/codec_svt_tune.json", codec_svt_tune_table, "SVT-AV1 settings study",
                             "run `benchmarks/experiments/codec_svt_tune.py` on training/validation clips"),
    "vmaf-stride-long": _maybe("benchmarks/results/vmaf_stride_long.json", vmaf_stride_long_table,
                               "long-shot stride study",
                               "run `benchmarks/experiments/vmaf_stride_long.py` on training/validation clips"),
    "vmaf-subsample": _maybe("benchmarks/results/vmaf_subsample.json", vmaf_subsample_table, "subsampling study",
                             "run `benchmarks/experiments/vmaf_subsample.py` on training/validation clips"),
    "loop-subsample": _maybe("benchmarks/results/loop_subsample.json", loop_subsample_table,
                             "subsampled-loop experiment", "run `segments.py` on training/validation clips at two "
                             "commits, then `benchmarks/experiments/loop_subsample.py`"),
    "loop-recheck": _maybe("benchmarks/results/loop_recheck.json", loop_recheck_table, "recheck experiment",
                           "run `segments.py` on training/validation clips at two commits, then "
                           "`benchmarks/experiments/loop_recheck.py`"),
    "loop-stride": _maybe("benchmarks/results/loop_stride.json",
                          lambda d: loop_recheck_table(d, ("every 5th frame", "every 3rd frame (kept)"),
                                                       "loop_stride"), "stride experiment",
                          "run `segments.py` on training/validation clips at two commits, then "
                          "`benchmarks/experiments/loop_stride.py`"),
    "loop-secant": _maybe("benchmarks/results/loop_secant.json",
                          lambda d: loop_recheck_table(d, ("no limit", "at most 1.5x the secant's span (kept)"),
                                                       "loop_secant", "a step along a secant"),
                          "secant-limit experiment",
                          "run `segments.py` on training/validation clips at two commits, then "
                          "`benchmarks/experiments/loop_secant.py`"),
    "loop-rise": _maybe("benchmarks/results/loop_rise.json", loop_rise_table, "first-step experiment",
                        "run `segments.py` on training/validation clips at two commits, then "
                        "`benchmarks/experiments/loop_rise.py`"),
    "loop-groups": _maybe("benchmarks/results/loop_groups.json", loop_groups_table, "shared-segment experiment",
                          "run `segments.py` on training/validation clips at two commits, then "
                          "`benchmarks/experiments/loop_groups.py`"),
    "loop-probe-start": _maybe("benchmarks/results/loop_probe_start.json", loop_probe_start_table,
                               "probe-start experiment", "run `segments.py` on training/validation clips at two "
                               "commits, then `benchmarks/experiments/loop_probe_start.py`"),
    "probe-scale": _maybe("benchmarks/results/probe_scale.json", probe_scale_table, "probe-size study",
                          "run `benchmarks/experiments/probe_scale.py` (extract, then --fit)"),
    "loop-returns": _maybe("benchmarks/results/loop_returns.json", loop_returns_table, "cut-back experiment",
                           "run `segments.py` on the edits of `benchmarks/experiments/loop_returns.py build` at two "
                           "commits, then `loop_returns.py compare`"),
    "loop-returns-x265": _maybe("benchmarks/results/loop_returns_x265.json",
                                lambda d: codec_pair_table(d, {"balanced@x265": "x265"},
                                                           ("shots that cut back start from the model's estimate",
                                                            "from the earlier shot's measured aim (kept)"),
                                                           "loop_returns_x265",
                                                           "edits of two training or validation clips each",
                                                           "loop_returns"),
                                "cut-back experiment on x265",
                                "run `segments.py --rows crf23,balanced@x265` on the edits at two commits, then "
                                "`loop_returns.py compare-codecs`"),
    "loop-fast": _maybe("benchmarks/results/loop_fast.json", loop_fast_table, "measured-fast experiment",
                        "run `benchmarks/experiments/loop_fast.py` on training/validation clips"),
    "loop-fast-preset": _maybe("benchmarks/results/loop_fast_preset.json", loop_fast_preset_table,
                               "the faster-preset screen",
                               "`benchmarks/experiments/loop_fast_preset.py` on training/validation clips"),
    "loop-short-sampling": _maybe("benchmarks/results/loop_short_sampling.json", loop_short_sampling_table,
                                  "short-shot sampling experiment", "run "
                                  "`benchmarks/experiments/loop_short_sampling.py` on training/validation clips"),
    "loop-codec-steps": _maybe("benchmarks/results/loop_codec_steps.json", loop_codec_steps_table,
                               "first-step study per encoder", "run `segments.py` with the codec rows on "
                               "training/validation clips, then `benchmarks/experiments/loop_codec_steps.py`"),
    "loop-lead": _maybe("benchmarks/results/loop_lead.json", loop_lead_table, "scored-lead experiment",
                        "run `benchmarks/experiments/loop_lead.py` on training/validation clips"),
    "loop-x265-step": _maybe("benchmarks/results/loop_x265_step.json", loop_x265_step_table,
                             "x265 first-step experiment", "run `benchmarks/experiments/loop_x265_step.py` on "
                             "training/validation clips"),
    "loop-secant-cap": _maybe("benchmarks/results/loop_secant_cap.json", loop_secant_cap_table,
                              "secant-limit replay", "run `benchmarks/experiments/loop_secant_cap.py` on "
                              "training/validation runs of `segments.py`"),
    "loop-file-learning": _maybe("benchmarks/results/loop_file_learning.json", loop_file_learning_table,
                                 "in-file learning replay", "run `benchmarks/experiments/loop_file_learning.py` on "
                                 "training/validation runs of `segments.py`"),
    "loop-start-error": _maybe("benchmarks/results/loop_start_error.json", loop_start_error_table,
                               "start-error replay", "run `benchmarks/experiments/loop_start_error.py` on "
                               "training/validation runs of `segments.py`"),
    "loop-start-shift": _maybe("benchmarks/results/loop_start_shift.json", loop_start_shift_table,
                               "start-shift replay", "run `benchmarks/experiments/loop_start_shift.py` on "
                               "training/validation runs of `segments.py`"),
    "codec-keyint": _maybe("benchmarks/results/codec_keyint.json",
                           lambda d: codec_pair_table(d, {"balanced@av1": "SVT-AV1", "balanced@vp9": "VP9"},
                                                      ("key frames at the encoder's own interval",
                                                       "key frames 250 frames apart, as x264 (kept)"), "codec_keyint"),
                           "key-frame experiment",
                           "run `segments.py` on training/validation clips at two commits, then "
                           "`benchmarks/experiments/codec_keyint.py`"),
    "codec-qm": _maybe("benchmarks/results/codec_qm.json",
                       lambda d: codec_pair_table(d, {"balanced@av1": "SVT-AV1"},
                                                  ("no quantisation matrices (SVT-AV1's default)",
                                                   "enable-qm=1 (kept)"), "codec_qm"),
                       "quantisation-matrix experiment",
                       "run `segments.py` on training/validation clips at two commits, then "
                       "`benchmarks/experiments/codec_qm.py`"),
    "codec-scm": _maybe("benchmarks/results/codec_scm.json",
                        lambda d: codec_pair_table(d, {"balanced@av1": "SVT-AV1"},
                                                   ("screen-content tools where SVT-AV1 detects screen content "
                                                    "(its default, kept)", "scm=1 (not kept)"), "codec_scm"),
                        "screen-content experiment",
                        "run `segments.py` on training/validation clips at two commits, then "
                        "`benchmarks/experiments/codec_scm.py`"),
    "loop-bracket": _maybe("benchmarks/results/loop_bracket.json",
                           lambda d: codec_pair_table(d, {"balanced": "x264", "balanced@x265": "x265",
                                                          "balanced@av1": "SVT-AV1", "balanced@vp9": "VP9"},
                                                      ("a budget of three", "one more where three missed the band "
                                                       "on both sides (kept)"), "loop_bracket"),
                           "one-more-attempt experiment",
                           "run `segments.py` on training/validation clips at two commits, then "
                           "`benchmarks/experiments/loop_bracket.py`"),
    "dask-spread": _maybe("benchmarks/results/dask_spread.json", dask_spread_table, "Dask spread run",
                          "run `dask_spread.py CLIP --out benchmarks/results/dask_spread.json`"),
    "dask-spread-edited": _maybe("benchmarks/results/dask_spread_edited.json", dask_spread_table,
                                 "Dask spread run on an edited file",
                                 "run `dask_spread.py CLIPS... --out benchmarks/results/dask_spread_edited.json`"),
    "loop-first-piece": _maybe("benchmarks/results/loop_first_piece.json", loop_first_piece_table,
                               "first-piece experiment", "run `benchmarks/experiments/loop_first_piece.py` at a92b5d0"),
    "loop-waves": lambda: loop_waves_table(_load("benchmarks/results/loop_waves.json")),
    "batch-learning-reading": _maybe("benchmarks/results/batch_learning.json", batch_learning_reading,
                                     "batch-learning run", "run `batch_learning.py` per series"),
    "codec-starts": _maybe("benchmarks/results/segments_codecs.json", codec_starts_table, "codec run",
                           f"run `segments.py CLIPS --rows {CODEC_ROWS} --out benchmarks/results/segments_codecs.json`"),
    "codec-bytes": _maybe("benchmarks/results/codec_bytes.json", codec_bytes_table, "per-codec bytes run",
                          "run `codec_bytes.py CLIPS --work DIR --out benchmarks/results/codec_bytes.json`"),
    "batch-learning": _maybe("benchmarks/results/batch_learning.json", batch_learning_table, "batch-learning run",
                             "run `batch_learning.py CLIP --out benchmarks/results/batch_learning.json` per series"),
    "margin-signals": _maybe("benchmarks/results/margin_signals.json", margin_signals_table, "margin-signal study",
                             "run `margin_signals.py --out benchmarks/results/margin_signals.json`"),
    "provenance": lambda: provenance_table(_provenance_rows()),
    "without-test": _maybe("benchmarks/results/choices_without_test.json", without_test_table,
                           "choices made again without the test clips",
                           "run `experiments/without_test.py --out benchmarks/results/choices_without_test.json`"),
    "batch-library": _maybe("benchmarks/results/batch_library.json", batch_library_table, "batch library run",
                            "run `experiments/batch_library.py` at the two commits"),
    "batch-sources": _maybe("benchmarks/results/batch_sources.json", batch_sources_table, "batch-sources replay",
                            "run `experiments/batch_sources.py benchmarks/results/batch_series.json`"),
    "batch-slope": _maybe("benchmarks/results/batch_slope.json", batch_slope_table, "batch-learning replay",
                          "run `experiments/batch_slope.py` on `batch_learning.py --runs no_learn` outputs"),
    "loop-band": _maybe("benchmarks/results/loop_band.json", loop_band_table, "band replay",
                        "run `experiments/loop_band.py --out benchmarks/results/loop_band.json`"),
    "uhd-memory": _maybe("benchmarks/results/uhd_memory.json", uhd_memory_table, "2160p attempt memory",
                         "run `experiments/uhd_memory.py CLIPS --out benchmarks/results/uhd_memory.json`"),
    "own-reference": _maybe("benchmarks/results/own_reference.json", own_reference_table,
                            "scorer-decoder measurement",
                            "run `experiments/own_reference.py CLIPS --out benchmarks/results/own_reference.json`"),
    "loop-above-budget": _maybe("benchmarks/results/loop_above_budget.json", loop_above_budget_table,
                                "above-band budget replay",
                                "run `experiments/loop_above_budget.py --out benchmarks/results/loop_above_budget.json`"),
    "frame-features-synth": _maybe("benchmarks/results/frame_features_synth.json",
                                   lambda d: frame_features_table(d, "frame_features_synth"),
                                   "frame-feature study with generated clips",
                                   "run `experiments/frame_features.py fit --train-extra`"),
    "frame-features": _maybe("benchmarks/results/frame_features.json", frame_features_table, "frame-feature study",
                             "run `experiments/frame_features.py fit --out benchmarks/results/frame_features.json`"),
    "content-errors": _maybe("benchmarks/results/content_errors.json", content_errors_table, "content-type cut",
                             "run `content_errors.py --out benchmarks/results/content_errors.json`"),
    "decision-cost": _maybe("benchmarks/results/overhead.json", decision_cost, "overhead run",
                            "run `overhead.py --out benchmarks/results`"),
    "mt3ljnd": _maybe("weights/mt3ljnd_scratch.json",
                      lambda d: mt3ljnd_table(d, _load("weights/model_card_test.json")), "MT_3LJND run",
                      "run `mt3ljnd_scratch.py fit` on a GPU machine"),
    "confidence": _maybe("weights/confidence_cv5.json", confidence_table, "confidence simulation",
                         "run `benchmarks/confidence.py TRIALS_CSV --out weights/confidence_cv5.json`"),
    "model-card-cv5": lambda: model_card_mae(_load("weights/model_card_cv5.json"),
                                             _load_opt("weights/model_card_cv5_cnn.json")),
    "model-card-cv5-originals": lambda: model_card_mae(_load("weights/model_card_cv5.json"),
                                                       _load_opt("weights/model_card_cv5_cnn.json"),
                                                       subset="mae_original_clips"),
    "model-card-calibration": lambda: model_card_calibration(_load("weights/model_card_cv5.json"),
                                                             _load("weights/model_card_test.json")),
    "model-card-range": lambda: model_card_range(_load("weights/model_card_cv5.json"),
                                                 _load("weights/model_card_test.json")),
    "probe-study": _maybe("weights/probe_study.json", probe_study, "probe study",
                          "run `benchmarks/probe_study.py DATASET --cache FILE --out weights/probe_study.json`"),
    "probe-centred": _maybe("weights/probe_study.json", probe_centred, "probe study",
                            "run `benchmarks/probe_study.py DATASET --cache FILE --out weights/probe_study.json`"),
    "probe-refine": _maybe("weights/probe_refine.json", probe_refine, "second-probe evaluation",
                           "run `python -m jndenc.training.probe_refine ... --out weights/probe_refine.json`"),
    "probe-cost": _maybe("weights/probe_cost.json", probe_cost, "probe cost",
                         "run `benchmarks/probe_cost.py CLIP... --out weights/probe_cost.json`"),
    "model-card-test": lambda: model_card_mae(_load("weights/model_card_test.json")),
    "model-card-test-originals": lambda: model_card_mae(_load("weights/model_card_test.json"),
                                                        subset="mae_original_clips"),
    "model-card-labels": lambda: label_stats(_load("weights/model_card_cv5.json")),
    "training-clips": lambda: training_clips(_load("weights/training_clips.json")["clips"],
                                             _load("weights/model_card_cv5.json")["per_shot"]
                                             + (_load("weights/model_card_test.json")["per_shot"]
                                                if "test split" in _load("weights/model_card_test.json")["evaluation"]
                                                and "train and valid" in _load("weights/model_card_cv5.json")
                                                ["evaluation"] else [])),
    "predict-vs-search": _maybe("weights/predict_vs_search.json", lambda d: predict_vs_search(d["runs"]),
                                "predict-vs-search run", "run `predict_vs_search.py CLIP --out DIR` per clip and "
                                "list the JSONs under `runs` in `weights/predict_vs_search.json`"),
    "bdrate": _maybe("benchmarks/results/summary.json",
                     lambda d: bdrate_averages(d, _load_opt("benchmarks/results/run.json")), "BD-rate run",
                     "run `bdrate.py` with `--out benchmarks/results`"),
    "modes": _maybe("benchmarks/results/modes.json", modes_table, "modes run",
                    "run `modes.py CLIPS --out benchmarks/results/modes.json`"),
    "tighten-sim": _maybe("benchmarks/results/tighten_sim.json", tighten_sim, "--tighten replay",
                          "run `tighten_sim.py DATASET --out benchmarks/results/tighten_sim.json`"),
    "codecs-short": _maybe("benchmarks/results/segments_codecs.json", codecs_short, "codec run",
                           f"run `segments.py CLIPS --rows {CODEC_ROWS} --out benchmarks/results/segments_codecs.json`"),
    "vmaf-models": _maybe("benchmarks/results/vmaf_models.json", vmaf_models_table, "VMAF-model run",
                          "run `vmaf_models.py CLIPS --out benchmarks/results/vmaf_models.json` on the test split"),
    "vmaf-models-short": _maybe("benchmarks/results/vmaf_models.json", vmaf_models_short, "VMAF-model run",
                                "run `vmaf_models.py CLIPS --out benchmarks/results/vmaf_models.json`"),
    "batch-library-short": _maybe("benchmarks/results/batch_library.json", batch_library_short, "batch library run",
                                  "run `experiments/batch_library.py` at the two commits"),
    "batch-learning-short": _maybe("benchmarks/results/batch_learning.json", batch_learning_short,
                                   "batch-learning run", "run `batch_learning.py` per series"),
    "bdrate-short": _maybe("benchmarks/results/summary.json",
                           lambda d: bdrate_short(d, _load_opt("benchmarks/results/run.json")), "BD-rate run",
                           "run `bdrate.py` with `--out benchmarks/results`"),
    "default-mode-short": _maybe("benchmarks/results/default_mode/overhead.json", default_mode_short,
                                 "default-mode run", "run `overhead.py --only 720p --modes fast,balanced,thorough`"),
    "default-mode": _maybe("benchmarks/results/default_mode/overhead.json", default_mode_table, "default-mode run",
                           "run `overhead.py --only 720p --modes guided --out benchmarks/results/default_mode`"),
    "trials": _maybe("benchmarks/results/trials.json", trials_table, "trial-window run",
                     "run `trials.py CLIPS --out benchmarks/results/trials.json`"),
    "efforts-short": _maybe("benchmarks/results/segments.json", efforts_short, "effort-level run",
                            "run `segments.py --out benchmarks/results/segments.json` on the test split"),
    "efforts": _maybe("benchmarks/results/segments.json", efforts_table, "effort-level run",
                      "run `segments.py CLIPS --out benchmarks/results/segments.json`"),
    "joins": _maybe("benchmarks/results/joins.json", joins_table, "joins run",
                    "run `joins.py ../shared/clips --out benchmarks/results/joins.json`"),
    "codecs": _maybe("benchmarks/results/segments_codecs.json", efforts_table, "codec run",
                     f"run `segments.py CLIPS --rows {CODEC_ROWS} --out benchmarks/results/segments_codecs.json`"),
    "efforts-reading": _maybe("benchmarks/results/segments.json", efforts_reading, "effort-level run",
                              "run `segments.py CLIPS --out benchmarks/results/segments.json`"),
    "loop-choices": lambda: loop_choices_table(_load("benchmarks/results/loop_shift.json"),
                                               _load("benchmarks/results/loop_interp.json")),
    "sampling": _maybe("benchmarks/results/sampling.json", sampling_table, "sampling run",
                       "run `sampling.py CLIPS --out benchmarks/results/sampling.json`"),
    "overhead": _maybe("benchmarks/results/overhead.json", overhead_report, "overhead run",
                       "run `overhead.py --out benchmarks/results`"),
    "overhead-long": _maybe("benchmarks/results/long_1080p/overhead.json", overhead_report, "2-minute overhead run",
                            "run `overhead.py --only 1080p --seconds 120 --out benchmarks/results/long_1080p`"),
}


# ---------------------------------------------------------------- rewriting docs

def fill(text: str, render: Callable[[str], str]) -> str:
    """``text`` with every region's body replaced by ``render(name)``."""
    return REGION.sub(lambda m: f"{m.group(1)}{render(m.group(2)).rstrip()}\n{m.group(4)}", text)


def render_region(name: str) -> str:
    if name not in REGIONS:
        raise KeyError(f"no renderer for table region {name!r} (known: {', '.join(REGIONS)})")
    return REGIONS[name]()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a doc differs from its JSON")
    args = ap.parse_args(argv)
    stale = []
    for rel in DOCS:
        path = ROOT / rel
        old = path.read_text()
        new = fill(old, render_region)
        if new == old:
            continue
        stale.append(rel)
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), rel, rel + " (from JSON)"))
        else:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(new)
            tmp.replace(path)
            print(f"updated {rel}")
    if args.check and stale:
        print(f"tables.py: {', '.join(stale)} differ from the committed JSON; run python benchmarks/tables.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
