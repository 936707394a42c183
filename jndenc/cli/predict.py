"""`jndenc predict IN`: per-shot JND1..3 without encoding."""
from __future__ import annotations

import json

import click

from .common import debug_option
from .options import plan_kwargs, plan_options
from .report import print_shots


@click.command()
@click.argument("src", metavar="IN", type=click.Path(dir_okay=True))
@plan_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "x264-zones", "x265-zones", "ffmpeg-args"]),
              default="table", show_default=True,
              help="x264-zones / x265-zones / ffmpeg-args print what an x264/x265/ffmpeg CLI user pastes.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-q", "--quiet", is_flag=True)
@debug_option
def predict(src, fmt, as_json, quiet, debug, **kw):
    """Predict JND1..3 per shot for IN."""
    from ..pipeline import plan as make_plan
    from ..pipeline import predict as run

    if as_json:
        fmt = "json"
    opts = plan_kwargs(kw)
    if fmt in ("table", "json"):
        p = run(src, weights=opts["weights"], sample_every=opts["sample_every"], shot_options=opts["shot_options"],
                quiet=quiet or fmt == "json")
        if fmt == "json":
            click.echo(json.dumps(p.to_dict()))
        else:
            print_shots(p.to_dict()["shots"], p.fps)
        return
    if fmt == "x265-zones":
        opts["codec"] = "x265"
    plan = make_plan(src, mode="predict", quiet=quiet, **opts)
    if fmt in ("x264-zones", "x265-zones"):
        click.echo(f"--crf {plan.ffmpeg_output_kwargs()['crf']} --zones {plan.zones_string()}")
    else:
        click.echo(" ".join(plan.ffmpeg_args()))
