"""`jndenc calibrate CLIPS... --out FILE`: fit the x265 CRF offset table (see `jndenc.calibrate`)."""
from __future__ import annotations

import click

from ..planner import PRESETS
from .common import debug_option
from .options import _floats


@click.command()
@click.argument("clips", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="Calibration JSON to write.")
@click.option("--x264-crfs", callback=_floats, default="18,23,28,33,38", show_default=True,
              help="x264 CRFs to match.")
@click.option("--x265-crfs", callback=_floats, default=None,
              help="x265 CRF grid to interpolate on (default: min-4 .. max+10 in steps of 4).")
@click.option("--preset", type=click.Choice(PRESETS), default="medium", show_default=True)
@click.option("--max-frames", type=click.IntRange(0), default=60, show_default=True,
              help="First N frames of each clip (0 = all).")
@click.option("--threads", type=click.IntRange(0), default=None)
@click.option("-q", "--quiet", is_flag=True)
@debug_option
def calibrate(clips, out, x264_crfs, x265_crfs, preset, max_frames, threads, quiet, debug):
    """Measure the x265 CRF matching x264's VMAF on CLIPS (files or folders) and write the offset table.

    Use the result with `jndenc encode --codec x265 --calibration FILE`.
    """
    from ..calibrate import calibrate as run

    def note(msg: str) -> None:
        if not quiet:
            click.echo(f"calibrate: {msg}", err=True)

    res = run(clips, out, x264_crfs=x264_crfs, x265_crfs=x265_crfs, preset=preset, max_frames=max_frames or None,
              threads=threads, on_encode=note)
    if not quiet:
        click.echo(f"{'x264 CRF':>8} {'x265 offset':>11}")
        for c, o in res["x265_offsets"]:
            click.echo(f"{c:8g} {o:+11.2f}")
        click.echo(f"wrote {out} ({len(res['per_clip_offsets'])} clips, {res['seconds']:.0f}s)")
