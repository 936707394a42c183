"""`jndenc predict IN`: per-shot JND1..3 without encoding."""
from __future__ import annotations

import json

import click

from .common import debug_option
from .options import MODE_HELP, plan_kwargs, plan_options, search_options
from .report import print_shots


@click.command()
@click.argument("src", metavar="IN", type=click.Path(dir_okay=True))
@click.option("--mode", type=click.Choice(["predict", "probe", "guided", "search"]), default="predict",
              show_default=True, help=MODE_HELP)
@plan_options
@search_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "x264-zones", "x265-zones", "ffmpeg-args"]),
              default="table", show_default=True,
              help="x264-zones / x265-zones / ffmpeg-args print what an x264/x265/ffmpeg CLI user pastes.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-q", "--quiet", is_flag=True)
@debug_option
def predict(src, mode, fmt, as_json, quiet, debug, **kw):
    """Predict JND1..3 per shot for IN, and the CRF the planner options give each shot."""
    from ..pipeline import predict as run

    if as_json:
        explicit = click.get_current_context().get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT
        if explicit and fmt != "json":  # --json overrode the format asked for without a word
            raise click.UsageError(f"--json prints the result as JSON, --format {fmt} prints {fmt}: choose one")
        fmt = "json"
    opts = plan_kwargs(kw)
    if fmt == "x265-zones":
        opts["codec"] = "x265"
    elif fmt == "x264-zones" and opts.get("codec", "x264") != "x264":
        # it printed the other encoder's zones under x264's name
        raise click.UsageError(f"--format x264-zones prints x264's zones; for --codec {opts['codec']} use "
                               + ("--format x265-zones" if opts["codec"] == "x265" else "--format json"))
    # every planner option in --help shapes the output: the CRF column / "crf" keys and the zones
    p = run(src, mode=mode, quiet=quiet or fmt == "json", **opts)
    plan = p.plan
    if fmt == "json":
        d = p.to_dict()
        d["zones"] = plan.zones_string()
        click.echo(json.dumps(d))
    elif fmt == "table":
        d = p.to_dict()
        print_shots(d["shots"], p.fps)
        for n in d["notes"]:
            click.echo(f"jndenc: warning: {n}", err=True)
        o = plan.options
        margin = (f"auto ({plan.stats.get('margin_source')}; "
                  f"{min(plan.stats['margins']):g}..{max(plan.stats['margins']):g})"
                  if o["margin"] == "auto" else f"{o['margin']:g}")
        click.echo(f"CRF: JND{o['target_jnd']} - margin {margin}, {o['codec']} {o['preset']}, "
                   f"clamped to {o['min_crf']:g}..{o['max_crf']:g}"
                   + (f"; {len(plan.zones)} zones (--granularity frame)" if o["granularity"] == "frame" else ""))
    elif fmt in ("x264-zones", "x265-zones"):
        click.echo(f"--crf {plan.ffmpeg_output_kwargs()['crf']} --zones {plan.zones_string()}")
    else:
        click.echo(" ".join(plan.ffmpeg_args()))
