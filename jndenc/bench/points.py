"""Benchmark points: encode a plan and measure it against the source, or recall the cached result.

`Runner` does this for one benchmark output folder; it also runs (or recalls)
each clip's JND analysis once per mode, which every target and margin reuses.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import verify as V
from ..analyze import analyze
from ..encode import encode
from ..errors import JndencError
from ..estimate import load_predictor
from ..media.clips import prepare_source, sha256_file
from ..media.probe import probe
from ..media.quality import compare
from ..estimate import estimate, search_options
from ..guided import GuidedOptions
from ..models.probe import ProbeModel, default_probe_weights
from ..modes import REGISTRY as MODES
from ..pipeline import load_calibration
from ..planner import Plan, PlanOptions, make_plan
from ..planner import fixed_plan as fixed_crf_plan
from ..predictor import default_weights_candidates, default_weights_path
from ..media.decode import count_packets
from ..media.ffargs import VMAF_MODEL
from ..media.runner import run_ffmpeg
from ..media.segments import SegmentCodec, codec_args, encoder_of, encoder_threads
from ..search import DEFAULT_THRESHOLDS
from ..starts import LOOP_ONLY_CODECS
from .cache import CACHE_VERSION, Cache, _key
from .options import BenchOptions


@dataclass
class Counters:
    """New encodes and analyses vs cache hits (reported in run.json)."""

    encodes: int = 0
    encode_hits: int = 0
    analyses: int = 0
    analysis_hits: int = 0


@dataclass
class ClipSource:
    clip: Path
    sha: str
    src: Path | None = None  # the lossless trimmed source (made on demand)
    info: dict = field(default_factory=dict)  # width, height, fps, frames, bit_depth, shots


def worst_shot(vmaf: np.ndarray, shots: Sequence[Sequence[int]]) -> float:
    """Lowest per-shot mean VMAF (frames outside the measured range are ignored)."""
    vals = [float(np.mean(vmaf[a:b])) for a, b in shots if a < len(vmaf)]
    return min(vals) if vals else float("nan")


def measure(enc: Path, src: Path, info: dict, threads: int | None, model: str = VMAF_MODEL) -> dict:
    q = compare(enc, src, size=(info["width"], info["height"]), bit_depth=info["bit_depth"], threads=threads,
                model=model)
    n = len(q.frames["vmaf"])
    if abs(n - info["frames"]) > 1:
        raise JndencError(f"{enc}: VMAF measured {n} frames, source has {info['frames']}")
    return {
        # kept so that --tighten ladders can pool any plan's shots (a few KB a record)
        "vmaf_frames": [round(float(x), 3) for x in q.frames["vmaf"]],
        "vmaf_mean": q.pool("vmaf", "mean"),
        "vmaf_p5": q.pool("vmaf", "p5"),
        "vmaf_worst_shot": worst_shot(q.frames["vmaf"], info["shots"]),
        "psnr_y": q.pool("psnr", "mean"),
        "ssim": q.pool("ssim", "mean"),
    }


class Runner:
    """Runs (or recalls) encodes and analyses for one benchmark output folder."""

    def __init__(self, out: Path, opts: BenchOptions):
        self.out = out
        self.opts = opts
        self.cache = Cache(out / "_cache")
        self.work = out / "_work"
        self.counters = Counters()
        self.notes: list[str] = []
        self._predictor = None
        self._probe_model = None
        self.predict_skipped: str | None = None  # why predict mode was skipped, when it was
        self._calib_key = sha256_file(opts.calibration) if opts.calibration else None
        self.pbar = None

    # -- clip ---------------------------------------------------------------
    def open_clip(self, clip: Path) -> ClipSource:
        sha = sha256_file(clip)
        cs = ClipSource(clip, sha)
        key = _key("clip", CACHE_VERSION, sha, self.opts.max_frames)
        rec = self.cache.get(key)
        if rec is None:
            bit_depth = probe(clip, count_frames=False).bit_depth
            cs.src = self._source_path(cs, bit_depth)
            prepare_source(clip, cs.src, self.opts.max_frames, bit_depth)
            info = probe(cs.src)
            a = analyze(cs.src, None, info=info)
            rec = self.cache.put(key, {"width": info.width, "height": info.height, "fps": info.fps,
                                       "frames": a.frames, "bit_depth": bit_depth,
                                       "shots": [list(s) for s in a.shots]})
        cs.info = rec
        return cs

    def _source_path(self, cs: ClipSource, bit_depth: int) -> Path:
        return self.work / "src" / f"{cs.clip.stem}-{cs.sha[:12]}-{self.opts.max_frames or 'all'}.mkv"

    def ensure_source(self, cs: ClipSource) -> Path:
        if cs.src is None or not cs.src.exists():
            cs.src = self._source_path(cs, cs.info["bit_depth"])
            prepare_source(cs.clip, cs.src, self.opts.max_frames, cs.info["bit_depth"])
        return cs.src

    def release(self, cs: ClipSource) -> None:
        if cs.src is not None:
            cs.src.unlink(missing_ok=True)
            cs.src = None

    @cached_property
    def weights_key(self) -> str | None:
        """What keys the model's results in the cache: the weights file's content, hashed once per run (the default
        weights change when they are retrained, so "default" would not do)."""
        weights = self.opts.weights or default_weights_path()
        return sha256_file(weights) if weights and os.path.isfile(weights) else weights

    # -- JND analysis (once per clip and mode; every target/margin reuses it) --
    def predictor(self):
        """The JND model, loaded once; None when predict mode is skipped.

        Only a missing default weights file skips predict mode (a checkout or
        install without shipped weights can still run the search ladder).
        Weights that exist, or were named, and fail to load are an error: a
        benchmark must not quietly report fewer ladders than it was asked for.
        """
        if self._predictor is None and self.predict_skipped is None:
            if self.opts.weights is None and default_weights_path() is None:
                tried = ", ".join(map(str, default_weights_candidates()))
                self.predict_skipped = f"no JND model (no default weights file: {tried})"
                return None
            try:
                self._predictor = load_predictor(self.opts.weights)
            except JndencError:
                raise  # already one line naming the file
            except Exception as exc:  # Keras raises anything from ValueError to zipfile.BadZipFile
                weights = self.opts.weights or default_weights_path()
                raise JndencError(f"predict mode: cannot load the JND model {weights} "
                                  f"({type(exc).__name__}: {exc})") from exc
        return self._predictor

    def probe_model(self) -> ProbeModel:
        """The shipped probe model, loaded once (probe mode)."""
        if self._probe_model is None:
            if default_probe_weights() is None:
                raise JndencError("probe mode: no probe model weights are installed")
            self._probe_model = ProbeModel.load(None)
        return self._probe_model

    def analysis(self, cs: ClipSource, mode: str, target: int = 1, confidence: float | None = None) -> dict | None:
        """Per-shot JND estimates of the clip by ``mode`` (`jndenc.estimate`), cached.

        Predict, probe and search estimate every level at once; guided measures only ``target``,
        so it has one analysis per level. Predict and probe records keep each shot's calibrated
        margin at ``confidence`` (default: `jndenc encode`'s; what ``margin="auto"`` plans with).
        """
        thresholds = tuple(self.opts.thresholds or DEFAULT_THRESHOLDS)
        wkey = self.weights_key
        pkey = None
        if mode == "probe":
            pw = default_probe_weights()
            pkey = sha256_file(pw) if pw else None
        key = _key("analysis", CACHE_VERSION, cs.sha, self.opts.max_frames, mode, self.opts.codec, self.opts.preset,
                   thresholds if mode != "predict" else None, wkey if mode != "search" else None,
                   target if mode == "guided" else None, "margins", pkey,
                   *(("confidence", confidence) if confidence is not None else ()))
        rec = self.cache.get(key)
        if rec is not None:
            self.counters.analysis_hits += 1
            return rec
        kw = {}
        if mode != "search":
            pred = self.predictor()
            if pred is None:
                return None
            kw["predictor"] = pred
        if mode == "probe":
            kw["probe_model"] = self.probe_model()
        src = self.ensure_source(cs)
        sopts = search_options(self.opts.codec, self.opts.preset, thresholds,
                               trial_seconds=MODES[mode].trial_seconds)
        est = estimate(src, mode, search_options=sopts, guided_options=GuidedOptions(target_jnd=target), **kw)
        self.counters.analyses += 1
        rec = {"mode": mode, "model": est.model, "frames": est.frames, "fps": est.fps,
               "shots": [list(r) for r in est.ranges], "jnd": [s.to_dict()["jnd"] for s in est.shots],
               "analysis_s": round(est.seconds, 3), "trial_encodes": est.trial_encodes,
               "shot_times": est.shot_times()}
        if MODES[mode].margin == "auto":
            conf = PlanOptions().confidence if confidence is None else confidence
            margins, why, calibrated = est.auto_margins(conf)
            rec["auto_margins"] = {"margins": [round(float(m), 4) for m in margins], "source": why,
                                   "calibrated": calibrated, "confidence": conf}
        if mode == "probe":
            rec["probe_seconds"] = est.stats.get("probe_seconds")
            rec["second_probes"] = sum("second" in p for p in est.stats.get("probe") or [])
        return self.cache.put(key, rec)

    # -- encodes -------------------------------------------------------------
    def _plan_options(self, **kw):
        return PlanOptions(codec=self.opts.codec, preset=self.opts.preset,
                           x265_offsets=load_calibration(None if self.opts.codec in LOOP_ONLY_CODECS
                                                         else self.opts.calibration), **kw).validate()

    def fixed_plan(self, cs: ClipSource, crf: float) -> Plan:
        i = cs.info
        return fixed_crf_plan([tuple(s) for s in i["shots"]], crf, i["frames"], i["fps"], self._plan_options())

    def jnd_plan(self, an: dict, target: int, margin: float | str) -> Plan:
        """The plan for one jndenc point; ``margin="auto"`` is the mode's default in `jndenc encode`."""
        shot_margins, calibrated = None, False
        if margin == "auto":
            margin = MODES[an["mode"]].margin if an["mode"] in MODES else 1.0
            if margin == "auto":
                am = an["auto_margins"]
                shot_margins, calibrated = am["margins"], am["calibrated"]
        # guided CRFs sit on half steps where the curve is steep
        opts = self._plan_options(target_jnd=target, margin=margin, crf_step=0.5 if an["mode"] == "guided" else 1.0)
        jnd = [[np.nan if x is None else x for x in j] for j in an["jnd"]]
        return make_plan([tuple(s) for s in an["shots"]], jnd, an["frames"], an["fps"], opts, mode=an["mode"],
                         model=an["model"], shot_times=an.get("shot_times"), shot_margins=shot_margins,
                         calibrated=calibrated)

    def tightened(self, cs: ClipSource, plan, target_vmaf: float) -> dict:
        """``plan`` as `jndenc encode --tighten` ends it (`jndenc.verify.corrective_passes`: encoded and measured,
        corrected once, settled once where that left a shot below the tolerance; the best pass kept). The record
        says how many passes ran, which was kept, and what the passes before the kept one's encode cost."""
        ranges = [(s.start_frame, s.end_frame) for s in plan.shots]
        recs = []

        def run(p) -> tuple[list, int]:
            rec = self.point(cs, p, frames=True)
            recs.append(rec)
            return V.shot_quality(np.asarray(rec["vmaf_frames"]), ranges), rec["bytes"]

        q, nbytes = run(plan)
        passes = V.corrective_passes(V.Pass(plan, q, nbytes, {}), target_vmaf, run, tighten=True)
        best = V.best_pass(passes, target_vmaf)
        # what deciding cost beyond one encode: every measurement and every encode but one
        spent = sum(r["encode_s"] + r.get("measure_s", 0.0) for r in recs[:-1]) + recs[-1].get("measure_s", 0.0)
        return dict(recs[best], passes=len(passes), kept_pass=best + 1, first_pass_bytes=recs[0]["bytes"],
                    extra_s=round(spent, 3))

    def fixed_point(self, cs: ClipSource, crf: float) -> dict:
        """One point of the fixed-CRF ladder: x264/x265 through a plan (keyframes at the cuts, as jndenc's own
        one-pass encodes); AV1 and VP9, which have no one-pass path in jndenc, as a plain whole-file encode."""
        if self.opts.codec not in LOOP_ONLY_CODECS:
            return self.point(cs, self.fixed_plan(cs, crf))
        i = cs.info
        codec = SegmentCodec(self.opts.codec, self.opts.preset, self.opts.threads or encoder_threads(i["width"],
                                                                                                  i["height"]),
                             i["bit_depth"], encoder_of(self.opts.codec, self.opts.encoder))
        args = ["-map", "0:V:0", *codec_args(codec, crf)]
        return self._measured(cs, _key("plain", CACHE_VERSION, cs.sha, self.opts.max_frames, args), ".mkv",
                              f"crf {crf:g}", lambda src, dst: run_ffmpeg(["-i", str(src), *args, str(dst)],
                                                                         what=f"{codec.name} at {crf:g}"),
                              {"crf": float(crf), "crf_min": float(crf), "crf_max": float(crf)})

    def effort_point(self, cs: ClipSource, effort: str, target: int) -> dict:
        """`jndenc encode --effort EFFORT --target-jnd TARGET` (with the bench's codec, encoder and preset) measured
        like every other point; ``analysis_s`` is what deciding cost beyond one encode: the analysis and the
        attempts after each shot's first."""
        kw = {"effort": effort, "target_jnd": target, "codec": self.opts.codec, "preset": self.opts.preset,
              "encoder": self.opts.encoder}
        if self.opts.vmaf_model != VMAF_MODEL and effort != "fast":  # fast measures nothing: it aims as it plans
            kw["vmaf_model"] = self.opts.vmaf_model
        # the fixed ladder's container: x264/x265 points are .mp4, whose overhead over .mkv is a percent or two of a
        # small clip's bytes, enough to tilt a BD-rate (keyed, so points muxed before into .mkv are not recalled)
        suffix = ".mkv" if self.opts.codec in LOOP_ONLY_CODECS else ".mp4"
        key = _key("effort", CACHE_VERSION, cs.sha, self.opts.max_frames, sorted(kw.items(), key=str),
                   self.weights_key, *([self._calib_key] if self._calib_key else []),
                   *([suffix] if suffix != ".mkv" else []))
        kw["calibration"] = self.opts.calibration
        got: dict = {}

        def run(src: Path, dst: Path) -> None:
            r = encode(src, dst, overwrite=True, quiet=True, validate=False, jobs=1, weights=self.opts.weights,
                       **{k: v for k, v in kw.items() if v is not None})
            crfs = [s.crf for s in r.plan.shots]
            cost = r.cost or {}
            extra = sum(cost.get(k, {}).get("wall_s", 0.0) for k in ("analysis", "extra_attempts", "join"))
            got.update({"crf": float(np.median(crfs)), "crf_min": min(crfs), "crf_max": max(crfs),
                        "analysis_s": round(extra if r.loop is not None else r.timings["analysis_s"], 3),
                        "attempts_per_shot": r.loop.summary()["attempts_per_shot"] if r.loop else 1.0,
                        "total_s": r.timings["total_s"]})
        return self._measured(cs, key, suffix, f"{effort} jnd{target}", run, got)

    def _measured(self, cs: ClipSource, key: str, suffix: str, what: str, run, extra: dict,
                  usable=lambda rec: True) -> dict:
        """``run(src, dst)`` encoded and measured as a point, or recalled from the cache where ``usable``;
        ``extra`` (filled by ``run`` where it learns it) joins the record. Measured with another VMAF model than
        the default, the record is another (the default's keys stay those of runs made before the choice)."""
        if self.opts.vmaf_model != VMAF_MODEL:
            key = _key(key, self.opts.vmaf_model)
        rec = self.cache.get(key)
        if rec is not None and usable(rec):
            self.counters.encode_hits += 1
            return dict(rec, cached=True)
        src = self.ensure_source(cs)
        enc_dir = self.work / "enc"
        enc_dir.mkdir(parents=True, exist_ok=True)
        dst = enc_dir / f"{key}{suffix}"
        if self.pbar is not None:
            self.pbar.set_postfix_str(f"{cs.clip.name} {what}")
        t0 = time.perf_counter()
        run(src, dst)
        encode_s = time.perf_counter() - t0
        tm = time.perf_counter()
        m = measure(dst, src, cs.info, self.opts.threads, self.opts.vmaf_model)
        m["measure_s"] = round(time.perf_counter() - tm, 3)
        # the video stream's bytes, not the file's: containers differ in overhead (Matroska's is smaller than
        # MP4's by a share that grows on short clips), and a ladder must not win by its container
        size = count_packets(dst).bytes
        dur = cs.info["frames"] / cs.info["fps"]
        rec = {"bytes": size, "bitrate_kbps": size * 8 / 1000 / dur, "encode_s": round(encode_s, 3), **extra, **m}
        if not self.opts.keep_encodes:
            dst.unlink(missing_ok=True)
        self.counters.encodes += 1
        self.cache.put(key, rec)
        return dict(rec, cached=False)

    def point(self, cs: ClipSource, plan, frames: bool = False) -> dict:
        """Encode ``plan`` and measure it, or recall the cached result; ``frames``: the record must have the
        per-frame VMAF (records cached before it was kept are measured again)."""
        # x264's output (and every timing) changes with its thread count: --threads is an encoder argument too
        key = _key("encode", CACHE_VERSION, cs.sha, self.opts.max_frames, plan.ffmpeg_args(self.opts.threads))
        crfs = [z.crf for z in plan.zones]
        got = {"crf": plan.base_crf, "crf_min": min(crfs), "crf_max": max(crfs)}

        def run(src: Path, dst: Path) -> None:
            res = encode(src, dst, plan=plan, overwrite=True, quiet=True, threads=self.opts.threads, validate=False)
            got["encode_s"] = res.timings["encode_s"]
        return self._measured(cs, key, ".mp4", f"crf {plan.base_crf:g}", run, got,
                              usable=lambda rec: not frames or "vmaf_frames" in rec)
