"""`jndenc calibrate CLIPS... --out FILE [--codec x265|av1|vp9]`: fit where an encoder's scale sits against x264's
(see `jndenc.calibrate`)."""
from __future__ import annotations

import click

from ..media.segments import ENCODER_CHOICES
from ..planner import PRESETS
from .common import debug_option
from .options import _floats


@click.command()
@click.argument("clips", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="Calibration JSON to write.")
@click.option("--codec", type=click.Choice(["x265", "av1", "vp9"]), default="x265", show_default=True,
              help="x265: an offset table for the planner; av1, vp9: the line that moves the model's x264 "
                   "estimate to the encoder's scale for the shot loop's first attempt.")
@click.option("--encoder", type=click.Choice(ENCODER_CHOICES["av1"]), default=None,
              help="--codec av1's encoder [default: libsvtav1].")
@click.option("--x264-crfs", callback=_floats, default=None,
              help="x264 CRFs to match [default: x265 18,23,28,33,38; av1/vp9 14..42 in steps of 4].")
@click.option("--codec-crfs", "--x265-crfs", "codec_crfs", callback=_floats, default=None,
              help="The other encoder's CRF grid to interpolate on [default: x265 min-4 .. max+10 in steps of 4; "
                   "av1/vp9 16..58 in steps of 6].")
@click.option("--preset", type=click.Choice(PRESETS), default="medium", show_default=True,
              help="x264's name; AV1 and VP9 run at the speed `jndenc encode` maps it to.")
@click.option("--max-frames", type=click.IntRange(0), default=None,
              help="First N frames of each clip (0 = all) [default: x265 60, av1/vp9 120].")
@click.option("--threads", type=click.IntRange(0), default=None)
@click.option("-q", "--quiet", is_flag=True)
@debug_option
def calibrate(clips, out, codec, encoder, x264_crfs, codec_crfs, preset, max_frames, threads, quiet, debug):
    """Measure which CRF of another encoder gives x264's VMAF on CLIPS (files or folders) and write the fit.

    Use the result with `jndenc encode --codec CODEC --calibration FILE` (and `jndenc bench bdrate`). Measure on
    clips like the ones you will encode; the shipped AV1 and VP9 lines come from seven training clips.
    """
    from ..calibrate import calibrate as run, calibrate_scale, grids
    from ..media.clips import list_clips
    from ..output import check_not_an_input
    from ..progress import bar

    if encoder and codec != "av1":
        raise click.UsageError(f"--encoder picks an AV1 encoder; --codec {codec} has one")
    listed = list_clips(clips)
    check_not_an_input(out, listed, "-o")
    # each fit's own default for the frames where none is given
    frames = {} if max_frames is None else {"max_frames": max_frames or None}
    total = len(listed) * sum(map(len, grids(codec, encoder, x264_crfs, codec_crfs).values()))
    with bar(total, f"calibrating {codec}", quiet, unit="encode") as pb:  # x265's grid may grow: a floor
        def step(msg: str) -> None:
            pb.set_postfix_str(msg)
            pb.update(1)

        if codec == "x265":
            res = run(clips, out, x264_crfs=x264_crfs, x265_crfs=codec_crfs, preset=preset,
                      threads=threads, on_encode=step, **frames)
        else:
            res = calibrate_scale(clips, out, codec=codec, encoder=encoder, preset=preset, x264_crfs=x264_crfs,
                                  codec_crfs=codec_crfs, on_encode=step, **frames)
    if not quiet:
        _print(res, out)


def _print(res: dict, out) -> None:
    if "x264_to_codec" in res:
        a, b = res["x264_to_codec"]
        click.echo(f"{res['key']} CRF = {a:+.2f} + {b:.3f} x x264 CRF ({res['points']} points, mean error of "
                   f"the line {res['mae_of_fit']:.2f})")
        click.echo(f"wrote {out} ({len(res['clips'])} clips, {res['seconds']:.0f}s)")
        return
    click.echo(f"{'x264 CRF':>8} {'x265 offset':>11}")
    for c, o in res["x265_offsets"]:
        click.echo(f"{c:8g} {o:+11.2f}")
    click.echo(f"wrote {out} ({len(res['per_clip_offsets'])} clips, {res['seconds']:.0f}s)")
