"""Option groups shared by several commands (encode, predict, batch, demo)."""
from __future__ import annotations

import click

from ..analyze import ShotOptions
from ..media.shots import DETECTORS
from ..modes import HELP, NAMES  # noqa: F401 - NAMES: the CLI's mode choices
from ..options import PLAN_KEYS, Aim, Codec, Expert, Trials
from ..planner import PRESETS

def _floats(ctx, param, value):
    if value is None:
        return None
    try:
        vals = tuple(float(x) for x in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None
    return vals


MODE_HELP = HELP


def _margin(ctx, param, value):
    if value is None or value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"expected a number of CRF steps or 'auto', got {value!r}") from None


def plan_options(f):
    """Planner knobs: level, margin, clamps, codec, preset, granularity, calibration."""
    for dec in reversed([
        click.option("--codec", type=click.Choice(["x264", "x265", "av1", "vp9"]), default=Codec.codec,
                     show_default=True,
                     help="av1 (SVT-AV1) and vp9 (libvpx) run through the shot loop (balanced, thorough) only."),
        click.option("--preset", type=click.Choice(PRESETS), default=Codec.preset, show_default=True),
        click.option("--target-jnd", type=click.IntRange(1, 3), default=Aim.target_jnd, show_default=True,
                     help="1 = visually lossless for most viewers; 2, 3 = coarser."),
        click.option("--margin", callback=_margin, default=None, metavar="STEPS|auto",
                     help="CRF steps toward better quality than the JND threshold, or auto: what keeps "
                          "--confidence of unseen shots at or under their threshold (the model's measured error) "
                          "[default: predict/probe auto, guided 0, search 1]. In balanced and thorough it moves "
                          "only each shot's first attempt (the loop aims every shot at the target)."),
        click.option("--confidence", type=click.FloatRange(0.5, 0.99), default=None,
                     help="--margin auto: the share of unseen shots kept at or under their JND (the shipped models "
                          "are calibrated from 0.5 to 0.95; lower: fewer bytes, more visible shots) [default: 0.9; "
                          "with --tighten, which measures and corrects the output: predict 0.7, probe 0.5]."),
        click.option("--min-crf", type=click.FloatRange(0, 51), default=Codec.min_crf, show_default=True,
                     help="On x264's CRF scale; with --codec av1 or vp9 mapped to the encoder's own, as the "
                          "model's estimates are."),
        click.option("--max-crf", type=click.FloatRange(0, 51), default=Codec.max_crf, show_default=True,
                     help="On x264's CRF scale; with --codec av1 or vp9 mapped to the encoder's own, as the "
                          "model's estimates are."),
        click.option("--granularity", type=click.Choice(["shot", "frame"]), default=Expert.granularity,
                     show_default=True),
        click.option("--calibration", type=click.Path(dir_okay=False), default=None,
                     help="`jndenc calibrate`'s file for --codec: x265's offset table, or the AV1/VP9 line "
                          "that moves the model's x264 estimate to that encoder's scale."),
        click.option("--weights", type=click.Path(dir_okay=False), default=None,
                     help="Model weights (.keras/.h5 with sidecar JSON); default: shipped weights."),
        click.option("--sample-every", type=click.IntRange(1), default=None,
                     help="Predict on every Nth frame (default: two per second)."),
        click.option("--max-shot-seconds", type=click.FloatRange(0.5), default=ShotOptions.max_shot_seconds,
                     show_default=True, help="Split longer shots so rate control can adapt."),
        click.option("--detector", type=click.Choice(DETECTORS), default=ShotOptions.detector, show_default=True,
                     help="Shot detector (benchmarks/shots.json compares them)."),
        click.option("--scene-threshold", type=float, default=None,
                     help="Content score (mean HSV difference, 0-255) a cut must reach [default: the detector's own: "
                          "27; scenedetect-adaptive: 15]."),
    ]):
        f = dec(f)
    return f


def search_options(f):
    for dec in reversed([
        click.option("--thresholds", callback=_floats, default=",".join(f"{x:g}" for x in Trials.thresholds),
                     show_default=True, help="Metric thresholds T1,T2,T3 defining JND1..3 in search mode."),
        click.option("--metric", type=click.Choice(["vmaf", "psnr", "ssim"]), default=Trials.metric, show_default=True),
        click.option("--pool", default=Trials.pool, show_default=True, help="mean, min, harmonic or pN (e.g. p5)."),
        click.option("--workers", type=click.IntRange(1), default=Trials.workers, show_default=True,
                     help="Shots searched in parallel."),
        click.option("--trial-seconds", type=click.FloatRange(0), default=None,
                     help="Trial-encode only the middle N s of longer shots (0 = whole shot) "
                          "[default: search 0, guided 4]."),
        click.option("--crf-step", type=click.FloatRange(0.1, 6), default=Trials.crf_step, show_default=True,
                     help="Guided mode: stop when the target is bracketed this finely (fractional CRF allowed; "
                          "a steep step gets one half step)."),
        click.option("--max-trials", type=click.IntRange(1), default=Trials.max_trials, show_default=True,
                     help="Guided mode: trial encodes per shot at most."),
        click.option("--guided-start", type=click.Choice(["auto", "model", "probe"]), default=Trials.guided_start,
                     show_default=True,
                     help="Guided mode's first CRF: the model's, or the probe-mode estimate (auto: probe when "
                          "probe weights are shipped)."),
        click.option("--trial-cache", type=click.Path(file_okay=False), default=None,
                     help="Guided mode: folder of cached trials [default: $JNDENC_CACHE_DIR or ~/.cache/jndenc]; "
                          "'' disables."),
    ]):
        f = dec(f)
    return f


def plan_kwargs(kw: dict) -> dict:
    """CLI keyword names -> `jndenc.plan` keyword arguments: the planner's own names (`jndenc.options.PLAN_KEYS`)
    as they come, the shot detector's three flags as one `ShotOptions`."""
    out = {k: kw.pop(k) for k in PLAN_KEYS if k in kw}
    out["shot_options"] = ShotOptions(threshold=kw.pop("scene_threshold", ShotOptions.threshold),
                                      detector=kw.pop("detector", ShotOptions.detector),
                                      max_shot_seconds=kw.pop("max_shot_seconds", ShotOptions.max_shot_seconds))
    return out
