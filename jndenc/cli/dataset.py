"""`jndenc dataset build CLIPS_DIR OUT_DIR`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .common import debug_option, JndGroup
from .options import _floats


@click.group(cls=JndGroup)
def dataset():
    """Build proxy-JND training data from a folder of videos."""


@dataset.command()
@click.argument("clips_dirs", metavar="CLIPS_DIR...", nargs=-1, required=True, type=click.Path(exists=True))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--codec", type=click.Choice(["x264", "x265"]), default="x264", show_default=True)
@click.option("--preset", default="medium", show_default=True)
@click.option("--rate-control", type=click.Choice(["crf", "qp"]), default="crf", show_default=True)
@click.option("--metric", type=click.Choice(["vmaf", "psnr", "ssim"]), default="vmaf", show_default=True)
@click.option("--thresholds", callback=_floats, default="94,88,82", show_default=True)
@click.option("--pool", default="mean", show_default=True, help="mean, min, harmonic or pN (p5 = 5th percentile).")
@click.option("--frames-per-shot", type=click.IntRange(1), default=3, show_default=True)
@click.option("--split", callback=_floats, default="70,15,15", show_default=True, help="train,valid,test by clip.")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True, help="Shots labelled in parallel.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--splits-from", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Keep the splits of the clips named in this training_clips.json or dataset.json (the output "
                   "folder's own dataset.json is always kept); other clips are placed by a hash of their name.")
@click.option("--max-shots-per-clip", type=click.IntRange(1), default=12, show_default=True)
@click.option("--max-shot-seconds", type=click.FloatRange(0.5), default=10.0, show_default=True,
              help="Split longer shots into pieces of at most this length; each piece is a training shot.")
@click.option("--trial-seconds", type=click.FloatRange(0), default=2.0, show_default=True,
              help="Trial encodes cover the middle N seconds of each shot (0 = whole shot).")
@click.option("--min-crf", type=click.IntRange(0, 51), default=10, show_default=True)
@click.option("--max-crf", type=click.IntRange(0, 51), default=51, show_default=True)
@click.option("-q", "--quiet", is_flag=True)
@debug_option
def build(clips_dirs, out_dir, codec, preset, rate_control, metric, thresholds, pool, frames_per_shot, split, workers,
          seed, splits_from, max_shots_per_clip, max_shot_seconds, trial_seconds, min_crf, max_crf, quiet, debug):
    """Label every shot of the videos in CLIPS_DIR... and write OUT_DIR/{train,valid,test}."""
    from ..training.dataset import BuildOptions, build as run
    from ..search import SearchOptions

    if len(split) != 3:
        raise click.BadParameter("--split needs three numbers: train,valid,test")
    sopts = SearchOptions(codec=codec, preset=preset, metric=metric, pool=pool, thresholds=thresholds,
                          min_crf=min_crf, max_crf=max_crf, rate_control=rate_control,
                          max_trial_seconds=trial_seconds or None)
    meta = run(clips_dirs, out_dir, BuildOptions(search=sopts, frames_per_shot=frames_per_shot, split=tuple(split),
                                                seed=seed, splits_from=splits_from, workers=workers, max_shots_per_clip=max_shots_per_clip,
                                                max_shot_seconds=max_shot_seconds),
               quiet=quiet)
    if not quiet:
        click.echo(json.dumps(meta["counts"], indent=1))


def _size(size: str) -> tuple[int, int]:
    """``--size`` WxH as (w, h)."""
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"--size must look like 640x360, not {size!r}") from None
    # 0x0 and negative sizes failed inside OpenCV (an internal error); odd ones as FFmpeg's "Conversion failed!"
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise click.BadParameter(f"--size takes an even width and height of 16 or more (4:2:0 video), not {size!r}")
    return w, h


@dataset.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--size", default="384x216", show_default=True, help="WxH of each pseudo-video.")
@click.option("--seconds", type=click.FloatRange(0.5), default=3.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@debug_option
def pseudo(out_dir, size, seconds, seed, debug):
    """Write pan/zoom pseudo-videos made from scikit-image's bundled photos (extra label sources)."""
    from ..training.pseudo import make_pseudo_clips

    for p in make_pseudo_clips(out_dir, _size(size), seconds, seed=seed):
        click.echo(str(p))


@dataset.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--size", default="640x360", show_default=True, help="WxH of each clip.")
@click.option("--seconds", type=click.FloatRange(0.5), default=4.0, show_default=True)
@click.option("--per-kind", type=click.IntRange(1), default=3, show_default=True, help="Clips of each kind.")
@click.option("--seed", type=int, default=0, show_default=True)
@debug_option
def synth(out_dir, size, seconds, per_kind, seed, debug):
    """Write generated clips of the types the real clips hold few of: terminal text, slides, an application
    window, flat 2D animation and a clean rendered scene (extra label sources: they may train, never judge)."""
    from ..training.synth import make_synth_clips

    existed = {p for p in Path(out_dir).glob("synth_*.mkv")} if Path(out_dir).is_dir() else set()
    for p in make_synth_clips(out_dir, _size(size), seconds, per_kind=per_kind, seed=seed):
        # a rerun at another --size listed every clip as if written, each at its old size
        click.echo(f"{p}: kept as it is (remove it to make it again)" if p in existed else str(p))


@dataset.command()
@click.argument("clips_dirs", metavar="CLIPS_DIR...", nargs=-1, required=True, type=click.Path(exists=True))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--derive", "derivations", multiple=True, metavar="KIND:F",
              help="scale:F (resize to F of width and height) or crop:F (centre crop); repeatable. "
                   "Default: scale:0.5, scale:0.25, crop:0.5.")
@click.option("--seconds", type=click.FloatRange(0), default=4.0, show_default=True,
              help="Length of each copy from the start of its clip (0 = whole clip).")
@click.option("--min-side", type=click.IntRange(16), default=120, show_default=True,
              help="Skip a copy whose shorter side would be smaller.")
@debug_option
def derive(clips_dirs, out_dir, derivations, seconds, min_side, debug):
    """Write scaled and cropped lossless copies of clips as extra label sources (see derived.json)."""
    from ..training.dataset import clips_in
    from ..training.derive import DEFAULT_DERIVATIONS, Derivation, derive_clips

    ds = [Derivation.parse(t) for t in derivations] or list(DEFAULT_DERIVATIONS)
    derive_clips(clips_in(clips_dirs), out_dir, ds, seconds or None, min_side, echo=click.echo)
