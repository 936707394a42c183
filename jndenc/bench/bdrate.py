"""BD-rate benchmark: jndenc ladders (target JND 1..3) against a fixed-CRF ladder.

For every clip the source is first cut to its first ``max_frames`` frames into
a lossless x264 (``-qp 0``) file, so every encode and every metric sees the
same frames. Then:

* the fixed-CRF ladder (default 18, 23, 28, 33, 38) and, for each mode
  (predict, probe, guided, search) and margin (default ``auto``: each mode's
  default in `jndenc encode`), the jndenc ladder over the target JND levels
  are encoded through `jndenc.encode` (both with keyframes at the shot cuts,
  so the only difference is the per-shot CRF);
* each encode is measured against the source (VMAF mean / 5th percentile /
  worst shot, PSNR-Y, SSIM; `jndenc.quality.compare`); the rate is the output's
  video stream bitrate (its video packets' bytes over its duration);
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
run resumes where it stopped. The results beside it (results.csv, summary.md/json,
run.json, the RD plots) are the latest run's only: its plots replace those an
earlier run drew for clips it no longer has.

This module holds the per-clip and whole-run orchestration and the command
line; `options` (`BenchOptions`), `cache` (clip subsets, the result cache),
`points` (encodes and analyses), `bd` (BD and matched-CRF numbers), `match`
(the matched worst-shot encodes) and `report` (output files) hold the rest.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn, Sequence

from ..errors import JndencError, UserError
from ..media.clips import list_clips
from ..media.probe import probe
from ..media.ffargs import VMAF_MODELS
from ..media.segments import ENCODER_CHOICES, QUALITY_RANGE, encoder_of
from ..starts import LOOP_ONLY_CODECS
from ..predictor import default_weights_path, no_weights_reason
from ..progress import bar
from ..verify import unmeasurable
from .bd import BD_METHOD, aggregate, ladder_summary
from .cache import select_clips
from .match import match_worst_shot
from ..search import DEFAULT_THRESHOLDS
from .options import BENCH_EFFORTS, BENCH_MODES, BenchOptions, ModeSpec
from .plots import plot_names
from .points import ClipSource, Runner
from .report import json_document, print_table, run_record, write_results

# re-exported: names that were defined here before the split into the modules above
from .bd import bd_pair, matched_crf  # noqa: F401
from .report import CSV_COLUMNS, machine  # noqa: F401


# ---------------------------------------------------------------------------- run
def _ladder_name(mode: str, margin: float | str) -> str:
    return f"jndenc-{mode} m{margin}" if isinstance(margin, str) else f"jndenc-{mode} m{margin:g}"


def _ladder_margins(ms: ModeSpec, opts: BenchOptions) -> tuple[float | str, ...]:
    """The margins a mode runs one ladder each for."""
    # guided measures one level per analysis and aims at the target itself (margin 0), whatever --margins says
    return (0.0,) if ms.mode == "guided" else opts.margins


def _mode_points(ms: ModeSpec, opts: BenchOptions) -> int:
    """The ladder points one mode adds to a clip: one tick of the progress bar each."""
    return len(opts.targets) * (1 if ms.effort else len(_ladder_margins(ms, opts)))


def _clip_points(opts: BenchOptions) -> int:
    """The progress bar's total for one clip: its fixed-CRF points and every mode's."""
    return len(opts.ladder()) + sum(_mode_points(ModeSpec.parse(m), opts) for m in opts.modes)


def run_clip(r: Runner, cs: ClipSource) -> tuple[list[dict], dict]:
    """All points of one clip; returns CSV rows and the per-clip summary."""
    o = r.opts
    base = {"clip": cs.clip.name, "clip_sha256": cs.sha[:16], "width": cs.info["width"], "height": cs.info["height"],
            "fps": round(cs.info["fps"], 3), "frames": cs.info["frames"], "codec": o.codec, "preset": o.preset}
    rows: list[dict] = []
    fixed: dict[float, dict] = {}
    for crf in o.ladder():
        rec = r.fixed_point(cs, float(crf))
        fixed[float(crf)] = rec
        rows.append({**base, "ladder": "fixed-crf", "mode": "crf", "target_jnd": "", "margin": "", "role": "ladder",
                     "analysis_s": 0.0, **rec})
        _tick(r)
    summary: dict = {"clip": cs.clip.name, "shots": len(cs.info["shots"]), "ladders": {}}
    thresholds = tuple(o.thresholds or DEFAULT_THRESHOLDS)
    for spec in o.modes:
        ms = ModeSpec.parse(spec)
        mode = ms.mode
        if ms.effort:
            pts = {t: r.effort_point(cs, mode, t) for t in o.targets}
            for t, rec in pts.items():
                rows.append({**base, "ladder": f"jndenc-{mode}", "mode": mode, "target_jnd": t, "margin": "",
                             "role": "ladder", **rec})
                _tick(r)
            summary["ladders"][f"jndenc-{mode}"] = _summarised(r, cs, fixed, pts, rows, base)
            continue
        ans = {t: r.analysis(cs, mode, t) for t in o.targets} if mode == "guided" else None
        an1 = r.analysis(cs, mode, confidence=ms.confidence) if mode != "guided" else None
        if (an1 is None and ans is None) or (ans is not None and None in ans.values()):
            _tick(r, _mode_points(ms, o))  # a skipped mode's points still count in the bar's total
            continue
        for margin in _ladder_margins(ms, o):
            name = _ladder_name(spec, margin)
            pts = {}
            for t in o.targets:
                an = ans[t] if ans is not None else an1
                plan = r.jnd_plan(an, t, margin)
                rec = (r.tightened(cs, plan, thresholds[min(t, len(thresholds)) - 1]) if ms.tighten
                       else r.point(cs, plan))
                pts[t] = rec
                rows.append({**base, "ladder": name, "mode": spec, "target_jnd": t, "margin": margin,
                             "role": "ladder", "analysis_s": an["analysis_s"],
                             "trial_encodes": an.get("trial_encodes") or 0, **rec})
                _tick(r)
            analysis_s = sum(a["analysis_s"] for a in ans.values()) if ans is not None else an1["analysis_s"]
            if ms.tighten:  # the passes beyond one encode, and every measurement, are part of deciding
                analysis_s += sum(p["extra_s"] for p in pts.values())
            s = _summarised(r, cs, fixed, pts, rows, base, analysis_s)
            if ms.tighten:
                s["corrected_points_kept"] = sum(p.get("kept_pass", 1) > 1 for p in pts.values())
            summary["ladders"][name] = s
    # fixed points that match encodes added: dedupe rows by (ladder, role, crf)
    seen, out = set(), []
    for row in rows:
        k = (row["ladder"], row["target_jnd"], row["margin"], row["crf"], row["role"])
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out, summary


def _summarised(r: Runner, cs: ClipSource, fixed: dict[float, dict], pts: dict[int, dict], rows: list[dict],
                base: dict, analysis_s: float | None = None) -> dict:
    """One ladder's BD numbers against the fixed ladder, its JND1 worst shot, what deciding cost (``analysis_s``;
    an effort ladder's points carry their own) and, with matching on, the fixed CRF of equal worst-shot VMAF
    (its extra encodes join ``rows``)."""
    s = ladder_summary(fixed, pts)
    if 1 in pts:  # what a user of the default (JND1) sees: its worst shot, and what deciding took
        s["jnd1_vmaf_worst_shot"] = pts[1]["vmaf_worst_shot"]
    s["analysis_s"] = round(sum(p["analysis_s"] for p in pts.values()) if analysis_s is None else analysis_s, 3)
    if r.opts.match and 1 in pts:
        lo, hi = QUALITY_RANGE[encoder_of(r.opts.codec, r.opts.encoder)]
        m = match_worst_shot(r, cs, fixed, pts[1], (lo, hi))
        if m is not None:
            for crf, rec in m.pop("extra").items():
                rows.append({**base, "ladder": "fixed-crf", "mode": "crf", "target_jnd": "", "margin": "",
                             "role": "match", "analysis_s": 0.0, **rec})
            s["matched"] = m
    return s


def _tick(r: Runner, n: int = 1) -> None:
    if r.pbar is not None:
        r.pbar.update(n)


def _distinct(clips: Sequence[Path]) -> list[Path]:
    """Each clip once (a folder and a file in it both given), and no two clips of one name: results.csv, the
    summaries and the per-clip plots name a clip by its file name, so two would share one plot and one row label."""
    seen: dict[Path, Path] = {}
    for c in clips:
        seen.setdefault(Path(c).resolve(), Path(c))
    by_name: dict[str, Path] = {}
    for c in seen.values():
        if c.name in by_name:
            raise UserError(f"two clips named {c.name} ({by_name[c.name]}, {c}): the results name clips by file "
                            "name; rename one or run them apart")
        by_name[c.name] = c
    return list(seen.values())


def _check_clips(clips: Sequence[Path]) -> None:
    """Every clip a video VMAF can measure, checked before the first encode: otherwise a bad clip late in a folder
    stops the run after the clips before it were benchmarked, and one too small for libvmaf fails at its first
    measurement as an FFmpeg error."""
    for clip in clips:
        info = probe(clip, count_frames=False)
        why = unmeasurable(info.width, info.height)
        if why:
            raise UserError(f"{clip}: {why}; every benchmark point is measured with VMAF")


def run(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, opts: BenchOptions = BenchOptions()) -> dict:
    """Run the benchmark; writes results.csv, summary.md/json, plots and run.json into ``out``."""
    t0 = time.perf_counter()
    if not str(out).strip():  # wrote into the current folder and said "results in /"
        raise UserError("--out: name a results folder")
    out = Path(out)
    # the BD numbers come after the first clip's encodes, the plots after the last: without the bench extra the
    # run stops here (`jndenc.cli.common` names the extra), not after the encodes
    for extra in ("bjontegaard", "matplotlib"):
        importlib.import_module(extra)
    if opts.codec not in ENCODER_CHOICES:
        raise UserError(f"codec must be one of {', '.join(ENCODER_CHOICES)}, not {opts.codec!r}")
    encoder_of(opts.codec, opts.encoder)
    opts.validate()
    specs = [ModeSpec.parse(m) for m in opts.modes]
    bases = {m.mode for m in specs if not m.effort}
    if opts.codec in LOOP_ONLY_CODECS and (bases or any(m.mode == "fast" for m in specs)):
        raise UserError(f"--codec {opts.codec} runs through the shot loop only: --modes balanced and/or thorough")
    all_clips = _distinct(list_clips(inputs))
    clips = select_clips(all_clips, opts.max_clips)
    plot_names(clips)
    _check_clips(clips)
    efforts = [m.mode for m in specs if m.effort]
    needs_model = bool({"predict", "probe", "guided"} & bases or efforts)  # each effort level starts from it
    if needs_model and opts.weights is None and default_weights_path() is None and (efforts or "search" not in bases):
        # without the model an effort ladder failed after the fixed ladder's encodes, naming `jndenc encode`'s
        # --mode, and predict alone ran nothing to compare and exited 0 (the others are skipped with a note)
        need = [m for m in opts.modes if m != "search"]
        raise UserError(f"{no_weights_reason()}: --modes {','.join(need)} need the JND model (give --weights PATH, "
                        "or --modes search, which runs without it)")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a results folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent that is a file, no permission
        raise UserError(f"--out {out}: cannot make the results folder ({exc.strerror or exc})") from None
    try:
        r = Runner(out, opts)
    except OSError as exc:  # a folder it may not write in: "internal error: PermissionError"
        raise UserError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    if needs_model:
        r.predictor()  # a model that fails to load stops the run here, before any encode
    if "probe" in bases and r.predict_skipped is None:
        r.probe_model()
    rows: list[dict] = []
    per_clip: list[dict] = []
    clip_times = {}
    with bar(len(clips) * _clip_points(opts), "bdrate", opts.quiet, unit="point") as pb:
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
    skipped = [m.mode for m in specs if m.mode != "search"]
    if skipped and r.predict_skipped:
        notes.append(f"{', '.join(skipped)} mode skipped: {r.predict_skipped}")
    if len(clips) < len(all_clips):
        notes.append(f"{len(clips)} of {len(all_clips)} clips (--max-clips {opts.max_clips}); "
                     "use --max-clips 0 for all")
    summary = {"bd_method": BD_METHOD, "clips": len(clips), "ladders": aggregate(per_clip), "per_clip": per_clip,
               "notes": notes}
    run_info = run_record(opts.to_dict(), clips, asdict(r.counters), clip_times, time.perf_counter() - t0, notes)
    try:
        write_results(out, rows, summary, run_info, t0)
    except OSError as exc:  # results.csv a folder, a full disk: the points stay cached for a rerun
        raise UserError(f"--out {out}: cannot write the results ({exc.strerror or exc}); the encodes are cached, "
                        "rerun to write them") from None
    shutil.rmtree(r.work / "enc", ignore_errors=True) if not opts.keep_encodes else None
    for empty in (r.work / "src", r.work):  # the clips' cuts are removed as each clip ends: no empty folders left
        try:
            empty.rmdir()
        except OSError:
            pass
    for n in notes:
        if not opts.quiet:
            print(f"bdrate: note: {n}", file=sys.stderr)
    return {"summary": summary, "run": run_info, "rows": rows}


# ---------------------------------------------------------------------------- command line
def _nums(s: str, kind=float) -> tuple:
    try:
        return tuple(kind(x) for x in s.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {s!r}") from None


def _modes(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split(",") if x.strip())


def _margins(s: str) -> tuple[float | str, ...]:
    return tuple(_margin(x.strip()) for x in s.split(",") if x.strip())


def _margin(x: str) -> float | str:
    try:
        return float(x)
    except ValueError:  # kept as given: BenchOptions.validate refuses it in one line, beside the other options
        return x


class _Parser(argparse.ArgumentParser):
    """A usage mistake in one line, as jndenc's other commands say it (argparse prints its usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


def parser() -> argparse.ArgumentParser:
    d = BenchOptions()
    p = _Parser(
        prog="bdrate", description="BD-rate of jndenc (target JND 1..3) vs a fixed-CRF ladder, with plots.",
        epilog="Defaults keep a run on ../shared/clips to ~20-30 min on 2 cores "
               f"({d.max_clips} clips, first {d.max_frames} frames). Full run: --max-clips 0 --max-frames 0.")
    p.add_argument("inputs", nargs="+", metavar="CLIP_OR_DIR")
    p.add_argument("--out", required=True,
                   help="results folder: results.csv, summary.md, summary.json, run.json, rd_overall.png and one "
                        "rd_<clip>.png per clip (the clip's name without its extension, or with it where two clips "
                        "share a stem or the stem is 'overall'), all of the latest run only (a rerun removes the RD "
                        "plots an earlier run left for clips it no longer has, nothing else); _cache/ keeps every "
                        "encode and analysis for reruns, _work/ the encodes --keep-encodes keeps")
    p.add_argument("--crf-ladder", type=_nums, default=None,
                   help="fixed CRFs on the encoder's own scale (default 18,23,28,33,38 for x264/x265, mapped to AV1's "
                        "and VP9's scale through the shipped calibration)")
    p.add_argument("--targets", type=lambda s: _nums(s, int), default=d.targets, help="target JND levels (1,2,3)")
    p.add_argument("--margins", type=_margins, default=d.margins,
                   help="jndenc margins, one ladder each: CRF steps or 'auto' (each mode's default in `jndenc encode`: "
                        "predict/probe calibrated per shot, search 1, guided 0) [auto]")
    p.add_argument("--codec", choices=list(ENCODER_CHOICES), default=d.codec,
                   help="av1 and vp9: effort ladders only (--modes balanced,thorough); their fixed ladder is a plain "
                        "whole-file encode per CRF")
    p.add_argument("--encoder", choices=ENCODER_CHOICES["av1"], default=None, help="--codec av1's encoder")
    p.add_argument("--preset", default=d.preset)
    p.add_argument("--modes", type=_modes, default=d.modes,
                   help=",".join(BENCH_MODES + BENCH_EFFORTS) + "; MODE@P: predict/probe at --confidence P; "
                   "MODE+tighten: each point encoded, measured and re-encoded once as `jndenc encode --tighten`; an "
                   "effort level: `jndenc encode --effort E --target-jnd T` per point")
    p.add_argument("--max-frames", type=int, default=d.max_frames, help="first N frames per clip; 0 = all")
    p.add_argument("--max-clips", type=int, default=d.max_clips, help="evenly spread subset; 0 = all")
    p.add_argument("--thresholds", type=_nums, default=None, help="search-mode VMAF thresholds T1,T2,T3")
    p.add_argument("--weights", default=None, help="model weights for predict mode")
    p.add_argument("--calibration", default=None, help="`jndenc calibrate` file: x265 offsets, or the AV1/VP9 scale")
    p.add_argument("--vmaf-model", choices=VMAF_MODELS, default=d.vmaf_model,
                   help="the libvmaf model every point is measured with (BD-rate VMAF, worst shots) and the effort "
                        "levels aim in; the one-pass modes still plan in the default model")
    p.add_argument("--no-match", action="store_true", help="skip the matched worst-shot quality encodes")
    p.add_argument("--threads", type=int, default=None,
                   help="encoder threads of the fixed ladder and the one-pass modes (the effort levels' segments "
                        "take theirs from the resolution, so their output never depends on it)")
    p.add_argument("--keep-encodes", action="store_true", help="keep encoded files in OUT/_work/enc")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout: summary.json's per-clip and average numbers, every point "
                        "of results.csv (bytes, VMAF, analysis seconds) and the run's cache counters and timings")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def options_from_args(a: argparse.Namespace) -> BenchOptions:
    if not a.modes:  # the fixed ladder alone has nothing to compare: a slip such as `--modes ,`, not a request
        raise UserError(f"--modes: no mode given; one or more of {', '.join(BENCH_MODES + BENCH_EFFORTS)}")
    return BenchOptions(crf_ladder=None if a.crf_ladder is None else tuple(a.crf_ladder),
                        targets=tuple(a.targets), margins=tuple(a.margins), codec=a.codec, encoder=a.encoder,
                        preset=a.preset, modes=tuple(a.modes), max_frames=a.max_frames or None,
                        max_clips=a.max_clips or None, thresholds=a.thresholds, weights=a.weights,
                        calibration=a.calibration, match=not a.no_match, threads=a.threads,
                        keep_encodes=a.keep_encodes, quiet=a.quiet or a.json, vmaf_model=a.vmaf_model)


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
    if a.json:
        print(json.dumps(json_document(res, a.out)))
    elif not a.quiet:
        print_table(res["summary"])
        print(f"results in {a.out}/ (summary.md, results.csv, summary.json, rd_*.png, run.json)")
    return 0
