"""`jndenc encode`: the options checked, then the path that runs them: the measured shot loop (`jndenc.measured`)
or one FFmpeg pass of a plan made here or loaded (`jndenc.one_pass`).

On either path the output appears only when it is complete and checked: FFmpeg writes a
hidden temp file beside the destination, its frame count (video packets,
demuxed) is compared with the plan and its last GOP decoded (``validate="full"``
decodes every frame instead), and only then is it renamed over the
destination. Any failure or interrupt removes the temp file.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import modes, starts
from .effort import Effort, chosen
from .errors import UserError
from .measured import encode_measured
from .one_pass import encode_one_pass, one_pass_effort
from .options import EncodeOptions, Trials
from .result import EncodeResult
from .output import check_container, check_frame_size, check_paths, check_side_file
from .output import target_vmaf as target_vmaf_of

target_vmaf = target_vmaf_of  # the public name (`jndenc.encode.target_vmaf`)
from .media import enc_params
from .media.enc_check import try_options
from .media.ffargs import VMAF_MODEL
from .media.segments import encoder_of
from .pipeline import plan as make_plan_for
from .planner import Plan
from .resume import remove_orphans, remove_stale
from .search import check_pool, check_thresholds
from .shotloop import Phase
from . import verify as V
from .media.probe import VideoInfo, probe



def encode(src: str | os.PathLike, dst: str | os.PathLike, options: EncodeOptions | None = None,
           **kwargs) -> EncodeResult:
    """Encode ``src`` to ``dst`` with per-shot JND-guided CRF.

    ``options`` (`jndenc.options.EncodeOptions`), or the same as flat keywords (``effort="thorough"``,
    ``codec="av1"``, ``target_vmaf=92``...; `EncodeOptions.from_kwargs` says which group each belongs to).

    The effort level (`jndenc.effort`: fast, balanced, thorough) is the user's knob; without it, and without an
    expert's mode, crf, plan, ensure/tighten or frame granularity, it is balanced: every shot encoded as its own
    segment, measured, and re-encoded where it missed the band around the target (``target_vmaf``, or the VMAF of
    ``target_jnd``); ``jobs`` shots at once, encoded by the loop or probed by fast (default: the available cores
    as far as the free memory holds them; the output does not depend on it);
    ``dask`` (a scheduler address) runs them on its workers (the input and the output's folder at the same
    paths there) and joins them here; ``start_offset`` (x264 CRF) moves the first attempts from the model's
    estimate, or a ``learner`` (`jndenc.learn.StartLearner`) supplies it and learns this file's shots.
    ``encoder`` picks the FFmpeg encoder of ``codec`` where it has several (av1: libsvtav1, the default,
    libaom-av1 or librav1e; `jndenc.media.segments.ENCODER_CHOICES`).

    The expert's one-pass paths: a ``mode`` or ``crf`` planned by `jndenc.plan`, or a ``plan`` (object or JSON
    path) replayed instead of analysing. ``verify`` (default: on in guided and search modes) measures the
    output's VMAF per shot against ``src`` in one pass; ``ensure`` re-encodes once, at a lower CRF, the shots
    that missed the target by more than 0.5 VMAF; ``tighten`` (implies ``ensure``) also raises, in that
    re-encode, the CRF of shots measured above the target (by their headroom), re-encodes once more only where
    that left a shot below the tolerance (raised shots back to their CRF, misses lower), and keeps the pass with
    the fewest shots below the tolerance, then the fewest bytes (`jndenc.verify.corrective_passes`); with
    ``tighten`` the margin's ``confidence`` defaults to the mode's `jndenc.verify.TIGHTEN_CONFIDENCE`.

    ``compare_crf`` then encodes ``src`` once more the plain way at that CRF (a temp file, deleted) and reports
    bytes, time and, with ``verify``, per-shot VMAF beside jndenc's (`jndenc.reference`).
    """
    if options is not None and kwargs:
        raise TypeError("encode() takes options or keyword arguments, not both")
    if options is not None and not isinstance(options, EncodeOptions):
        # a dict of the keywords is the likely mistake; left alone it failed as "'dict' object has no attribute"
        raise TypeError(f"options takes a jndenc.EncodeOptions (or pass the keywords: encode(src, dst, **options); "
                        f"EncodeOptions.from_kwargs builds one), not {type(options).__name__}")
    o = options if options is not None else EncodeOptions.from_kwargs(**kwargs)
    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    check_paths(src, dst, o.outputs.overwrite)
    if o.outputs.plan_out is not None:
        check_side_file(o.outputs.plan_out, "--plan-out")
    o, effort = checked(o)
    check_container(dst, o.codec.codec)
    if o.work.dask is not None:
        from .cluster import check_reachable

        check_reachable(o.work.dask)
    r = _measured(src, dst, effort, o) if effort is not None and effort.loop is not None else \
        _one_pass(src, dst, o, effort, t0)
    remove_stale(dst)  # what a stopped `--resume` run left for this output is of no use once it is written
    remove_orphans(dst.parent)  # and what a killed run left beside it
    return r


def _one_pass(src: Path, dst: Path, o: EncodeOptions, effort: Effort | None, t0: float,
              info: VideoInfo | None = None) -> EncodeResult:
    """fast, or an expert path (`--mode`, `--crf`, `--plan`, ...): one planned pass (`jndenc.one_pass`); ``info``:
    the input already probed and checked (a measured effort's fallback)."""
    if info is None:
        info = probe(src)
        _check_for_input(src, info, o)
    fallback = None
    if effort is not None:
        effort, fallback = one_pass_effort(effort, info, custom_model=o.analysis.weights is not None)
    if o.expert.mode is None:  # the effort's own estimate (fast: probe mode), else the frame model's
        o = o.with_(mode=effort.mode if effort is not None and effort.mode else "predict")
    if effort is not None and o.expert.confidence is None:
        o = o.with_(confidence=effort.confidence)
    if o.expert.tighten:
        o = o.with_(ensure=True)
    plan = _plan_of(src, info, o)
    r = encode_one_pass(src, dst, info, plan, o, t0=t0, effort=effort)
    if o.expert.plan is not None:
        r.notes.extend(replay_notes(plan, src, info))
    m = o.expert.margin
    if isinstance(m, (int, float)) and m < 0:  # allowed (an expert's trade), but not the product's promise
        r.notes.append(f"--margin {m:g} plans every shot above its estimated JND: expect shots below the target")
    if fallback:
        r.notes.append(fallback)
    if effort is not None and r.quality is None:
        # the effort's --json says what its per-shot quality rests on, as the measured efforts' do
        margin = (f"a margin meant to keep {o.expert.confidence:g} of shots at or above the target"
                  if m in (None, "auto") else f"a margin of {float(m):g} CRF")
        r.notes.append(f"the output was not measured: each shot's CRF is {o.expert.mode} mode's estimate less "
                       f"{margin}; --verify measures every shot")
    return r


def _measured(src: Path, dst: Path, eff: Effort, o: EncodeOptions) -> EncodeResult:
    """A measured effort level (`jndenc.measured`), or the fast one where libvmaf cannot measure the frames: the
    choice needs the probe, so it is made here, and the measured path's clocks start before it."""
    t0 = time.perf_counter()
    analysis = Phase()
    info = probe(src)
    _check_for_input(src, info, o)
    why = V.unmeasurable(info.width, info.height)
    if why:
        o, fast = checked(o.with_(effort="fast", jobs=None, dask=None, resume=False, target_vmaf=None,
                                  start_offset=None, learner=None,
                                  vmaf_model=VMAF_MODEL))
        r = _one_pass(src, dst, o, fast, t0, info)
        r.notes.append(f"{why}: encoded at --effort fast instead of {eff.name}, nothing measured")
        return r
    return encode_measured(src, dst, info, eff, o, t0=t0, analysis=analysis)


def _check_for_input(src: Path, info: VideoInfo, o: EncodeOptions) -> None:
    """What the probe lets us check before any work: the frame size, and the user's encoder options tried in the
    input's own format (`jndenc.media.enc_check`)."""
    check_frame_size(src, info, o.codec.encoder)
    try_options(enc_params.parse(o.codec.enc), o.codec.encoder, info.bit_depth)


def checked(o: EncodeOptions) -> tuple[EncodeOptions, Effort | None]:
    """The options with the encoder resolved, and the effort level they run; a `UserError` for any combination
    that cannot run, whatever the input (a batch asks once, before its first file)."""
    effort = chosen(o.work.effort, o.expert.chosen())
    o = o.with_(encoder=encoder_of(o.codec.codec, o.codec.encoder))
    enc = enc_params.parse(o.codec.enc)
    enc_params.check_for(enc, o.codec.encoder)
    try_options(enc, o.codec.encoder)
    if o.codec.calibration is not None and o.codec.codec in starts.LOOP_ONLY_CODECS:
        starts.codec_scale(o.codec.codec, o.codec.encoder, o.codec.calibration)
    if effort is None or effort.loop is None:
        _one_pass_allowed(o)
    if o.aim.vmaf_model != VMAF_MODEL:
        from .media.quality import require_model

        require_model(o.aim.vmaf_model)  # said once, before any work (the default's libvmaf is checked where used)
    check_thresholds(o.trials.thresholds, o.trials.metric)
    check_pool(o.trials.pool)
    _trial_options_allowed(o)
    if (o.expert.ensure or o.expert.tighten) and o.outputs.verify is False:
        raise UserError("--ensure and --tighten measure the output: they cannot run with --no-verify")
    return o, effort


# the trial modes' own options (`jndenc.options.Trials`) by their command-line names: no other path reads them, so
# one set elsewhere changed nothing unsaid (--thresholds 90,80,70 left balanced's band at the JND1 level's)
_TRIAL_FLAGS = {"thresholds": "--thresholds", "metric": "--metric", "pool": "--pool", "workers": "--workers",
                "trial_seconds": "--trial-seconds", "crf_step": "--crf-step", "max_trials": "--max-trials",
                "guided_start": "--guided-start"}
_GUIDED_ONLY = ("crf_step", "max_trials", "guided_start")


def _trial_options_allowed(o: EncodeOptions) -> None:
    """Refuse a trial mode's option (changed from its default) where no trial mode runs, and guided's own
    elsewhere than in guided mode."""
    mode = o.expert.mode
    try:
        trials = mode is not None and modes.mode(mode).measures
    except UserError:
        return  # a name that is no mode (a batch row's "crf"): the path that reads it says so
    default = Trials()
    for name, flag in _TRIAL_FLAGS.items():
        given, usual = getattr(o.trials, name), getattr(default, name)
        if name == "thresholds":
            given, usual = tuple(map(float, given)), tuple(map(float, usual))
        if given == usual:
            continue
        if not trials:
            raise UserError(f"{flag} sets the trial encodes of --mode guided or search; this encode runs none"
                            + (" (aim the shot loop with --target-vmaf)" if name == "thresholds" else ""))
        if mode != "guided" and name in _GUIDED_ONLY:
            raise UserError(f"{flag} sets guided mode's trials; --mode {mode} does not read it")


def _one_pass_allowed(o: EncodeOptions) -> None:
    """What only the shot loop does, refused on a one-pass path in one line."""
    if o.work.dask is not None:
        raise UserError("--dask spreads the shot loop (balanced or thorough) over a cluster; this encode runs no loop")
    if o.work.start_offset is not None or o.work.learner is not None:
        raise UserError("a start offset or learner corrects the first attempts of a measured effort (balanced or "
                        "thorough); this encode measures nothing")
    if o.work.resume:
        raise UserError("--resume takes up the shot loop's finished shots (balanced or thorough); this encode is one "
                        "pass, with nothing to take up")
    if o.aim.target_vmaf is not None:
        raise UserError("--target-vmaf needs a measured effort (balanced or thorough); the one-pass modes aim at "
                        "--target-jnd")
    if o.aim.vmaf_model != VMAF_MODEL:
        _one_pass_model_allowed(o)
    if o.codec.codec in starts.LOOP_ONLY_CODECS:
        raise UserError(f"--codec {o.codec.codec} has no per-shot zones in FFmpeg: it runs through the "
                        "shot loop (--effort balanced or thorough) only")


def _one_pass_model_allowed(o: EncodeOptions) -> None:
    """Another libvmaf model on a one-pass path: its plan is made in the default model either way, so the model can
    only be the one `--verify` (and `--compare-crf` with it) measures the finished file in; whatever would decide
    or correct in one model and aim in another is refused (whether libvmaf loads it: `checked`, for every path)."""
    model = o.aim.vmaf_model
    mode = o.expert.mode
    if mode is not None and modes.mode(mode).measures:
        raise UserError(f"--vmaf-model {model}: --mode {mode} measures its trials in {VMAF_MODEL}; a measured "
                        "effort (balanced or thorough) aims every shot in the model asked for")
    if o.expert.ensure or o.expert.tighten:
        raise UserError(f"--vmaf-model {model}: --ensure and --tighten correct toward targets made in {VMAF_MODEL}; "
                        "a measured effort (balanced or thorough) aims every shot in the model asked for")
    if o.outputs.verify is not True:
        raise UserError(f"--vmaf-model {model} needs a measured effort (balanced or thorough), or --verify to "
                        f"measure this one-pass encode in it (its estimates are made in {VMAF_MODEL})")


def replay_notes(plan: Plan, src: Path, info: VideoInfo) -> list[str]:
    """What a replayed plan does not know about ``src``: a plan is checked against the input's frame count only,
    so one made for another file of the same length (a proxy, a renamed copy, or a mistake) is said, not refused."""
    notes = []
    if plan.input and Path(plan.input).name != src.name:
        notes.append(f"the plan was made for {plan.input}, not {src}: its shots and CRFs were replayed by frame "
                     "number")
    if info.fps and plan.fps and abs(plan.fps - info.fps) > 0.01 * info.fps:
        notes.append(f"the plan was made at {plan.fps:g} fps, the input runs at {info.fps:g} fps")
    return notes


def _plan_of(src: Path, info: VideoInfo, o: EncodeOptions) -> Plan:
    """The one-pass paths' plan: a saved plan (object or JSON path) checked against the input, or a new one."""
    plan = o.expert.plan
    if o.expert.tighten and plan is None and o.expert.confidence is None:
        # the correction measures every shot, so the plan starts nearer the estimate (benchmarks/tighten_sim.py)
        conf = V.TIGHTEN_CONFIDENCE.get(o.expert.mode or "predict")
        if conf is not None:
            o = o.with_(confidence=conf)
    if plan is not None:
        if not isinstance(plan, Plan):
            try:
                plan = Plan.from_dict(json.loads(Path(plan).read_text()))
            except (OSError, ValueError) as exc:
                raise UserError(f"{plan}: cannot read plan ({exc})") from None
        if info.frames_exact:
            plan.validate(frames=info.frames)
        return plan
    # --jobs bounds the probes as it bounds the loop's shots (a batch runs its files one shot at a time each)
    return make_plan_for(src, info=info, quiet=o.outputs.quiet, jobs=o.work.jobs, **o.plan_kwargs())


